//! What the benchmark examples share: opening a store from `DIR` or a PostgreSQL URL.

use std::sync::Arc;
use tongdang_protection::{LocalMasterKey, Suite};
use tongdang_store::{Location, ProtectedStore, Protection};

/// Open `target` (a data directory or `postgres://…`) with the master key in
/// `TONGDANG_MASTER_KEY`, else `DIR/master.key` (created with a new directory, so the store can
/// be opened again), else a fresh one for PostgreSQL.
pub async fn open_store(target: &str) -> anyhow::Result<Arc<ProtectedStore>> {
    let location =
        if target.starts_with("postgres") { Location::Postgres(target.to_string()) } else { Location::DataDir(target.into()) };
    let master = match (std::env::var("TONGDANG_MASTER_KEY"), &location) {
        (Ok(hex), _) => LocalMasterKey::parse(&hex)?,
        (Err(_), Location::DataDir(d)) if d.join("master.key").exists() => LocalMasterKey::from_file(&d.join("master.key"))?,
        (Err(_), Location::DataDir(d)) => {
            std::fs::create_dir_all(d)?;
            let k = LocalMasterKey::generate();
            k.write_new_file(&d.join("master.key"))?;
            k
        }
        (Err(_), Location::Postgres(_)) => LocalMasterKey::generate(),
    };
    let protection =
        Protection { provider: Arc::new(master), suite: Suite::Aes256Gcm, origin: tongdang_store::DEFAULT_ORIGIN.into() };
    Ok(tongdang_store::open(&location, protection).await?)
}
