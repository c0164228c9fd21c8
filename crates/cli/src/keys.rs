//! `tongdang keys status|rotate|rewrap`: the envelope keys of a database.

use anyhow::Context;
use clap::Subcommand;
use comfy_table::Table;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Duration;
use tongdang_protection::{KeyProvider, LocalMasterKey, Suite};
use tongdang_store::{AuditEvent, Location, Store};

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// The keys: id, purpose, suite, state, master key fingerprint.
    Status,
    /// Introduce a new data key and re-seal every value with it, online. Servers on the same
    /// database load the new key within 10 s, so the key is introduced, then activated, then
    /// used to re-seal, with a wait between (`--reload-wait`).
    Rotate {
        /// The new key's suite (default: --cipher-suite).
        #[arg(long, value_parser = crate::parse_suite)]
        suite: Option<Suite>,
        /// Seconds to wait for servers to load the new key before each step.
        #[arg(long, default_value_t = 12)]
        reload_wait: u64,
        /// Only introduce and activate the key; leave re-sealing to a later `rotate --reseal-only`.
        #[arg(long)]
        no_reseal: bool,
        /// Only re-seal values not sealed with the active key.
        #[arg(long, conflicts_with = "no_reseal")]
        reseal_only: bool,
    },
    /// Wrap every key under a new master key (the data is not touched). Start the servers with
    /// the new key afterwards.
    Rewrap {
        /// File with the new master key (64 hex characters); created if it does not exist.
        #[arg(long)]
        new_master_key_file: PathBuf,
    },
}

pub(crate) async fn run(location: &Location, cmd: &KeysCommand) -> anyhow::Result<()> {
    let store = crate::open(location).await?;
    match cmd {
        KeysCommand::Status => {
            let mut table = Table::new();
            table.set_header(["id", "purpose", "suite", "state", "master key"]);
            for k in store.protection_keys().await? {
                table.add_row([
                    k.id.to_string(),
                    k.purpose.code().into(),
                    k.suite.code().into(),
                    k.state.code().into(),
                    k.master,
                ]);
            }
            println!("{table}");
        }
        KeysCommand::Rotate { suite, reload_wait, no_reseal, reseal_only } => {
            let wait = Duration::from_secs(*reload_wait);
            if !reseal_only {
                let id = store.add_data_key(*suite).await?;
                eprintln!("data key {id} introduced; waiting {} s for servers to load it", wait.as_secs());
                tokio::time::sleep(wait).await;
                store.activate_key(id).await?;
                eprintln!("data key {id} active; waiting {} s for servers to seal with it", wait.as_secs());
                tokio::time::sleep(wait).await;
                let mut e = AuditEvent::new("admin.keys.rotate", "cli:keys-rotate", "ok");
                e.detail = serde_json::json!({ "data_key": id }).to_string();
                store.append_events(&[e]).await?;
            }
            if !no_reseal {
                let bar = ProgressBar::new_spinner();
                bar.set_style(ProgressStyle::with_template("{spinner} 重新加密 {msg} [{elapsed}]").context("progress template")?);
                bar.enable_steady_tick(Duration::from_millis(200));
                let total = store.reseal(|table, done| bar.set_message(format!("{table:?}: {done}"))).await?;
                bar.finish_and_clear();
                eprintln!("re-sealed {total} values with data key {}", store.keyring().active_key());
            }
        }
        KeysCommand::Rewrap { new_master_key_file } => {
            let next = if new_master_key_file.exists() {
                LocalMasterKey::from_file(new_master_key_file)?
            } else {
                let k = LocalMasterKey::generate();
                k.write_new_file(new_master_key_file)
                    .with_context(|| format!("cannot write {}", new_master_key_file.display()))?;
                k
            };
            let n = store.rewrap(&next).await?;
            let mut e = AuditEvent::new("admin.keys.rewrap", "cli:keys-rewrap", "ok");
            e.detail = serde_json::json!({ "master": next.fingerprint(), "keys": n }).to_string();
            store.append_events(&[e]).await?;
            eprintln!(
                "{n} keys now wrapped by master key {}; start the servers with --master-key-file {}",
                next.fingerprint(),
                new_master_key_file.display()
            );
        }
    }
    Ok(())
}
