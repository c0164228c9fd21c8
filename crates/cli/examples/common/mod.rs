//! What the benchmark examples share: opening a store from `DIR` or a PostgreSQL URL, serving it.

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

/// Serve `store` on a free loopback port (background tasks included); its base URL once it answers.
#[allow(dead_code)] // each example compiles this module; not every one serves
pub async fn serve(store: Arc<ProtectedStore>) -> anyhow::Result<String> {
    let state = Arc::new(tongdang_server::AppState::new(store));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    let options =
        tongdang_server::ServeOptions { listen: addr, tls: None, checkpoint_interval: std::time::Duration::from_secs(3600) };
    tokio::spawn(tongdang_server::serve(state, options));
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder().no_proxy().build()?;
    for _ in 0..50 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return Ok(base);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server did not answer on {base}")
}
