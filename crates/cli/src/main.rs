//! `tongdang`: one binary for the whole system. Every command that touches data takes
//! `--data-dir DIR` (embedded SQLite, the default) or `--database-url postgres://…`.

mod account;
mod demo;
mod import;
mod institution;
mod keys;
mod ledger;
mod mpi;
mod synth;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tongdang_protection::{LocalMasterKey, Suite};
use tongdang_store::{Location, ProtectedStore, Protection};

// Ingest allocates and frees many small JSON nodes; glibc's malloc took a quarter of the
// profile, mimalloc a fraction of that (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "tongdang", version, about = "通档 — the Guangdong health-record exchange")]
struct Cli {
    /// Data directory of the embedded database.
    #[arg(long, global = true, env = "TONGDANG_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…); overrides --data-dir.
    #[arg(long, global = true, env = "TONGDANG_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// File holding the 64-hex-character master key that wraps the data keys. Default with
    /// --data-dir: DIR/master.key, created with the database (keep a copy elsewhere).
    #[arg(long, global = true, env = "TONGDANG_MASTER_KEY_FILE", value_name = "FILE")]
    master_key_file: Option<PathBuf>,
    /// Cipher suite of keys created from now on: aes-256-gcm (default) or sm4-gcm (国密: SM4-GCM,
    /// HMAC-SM3, SM2 checkpoint signatures).
    #[arg(long, global = true, env = "TONGDANG_CIPHER_SUITE", value_name = "SUITE", default_value = "aes-256-gcm", value_parser = parse_suite)]
    cipher_suite: Suite,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Fill an empty data directory with a synthetic Guangdong province and serve it.
    Demo(demo::DemoArgs),
    /// Load FHIR R4 NDJSON files and Bundle JSON files for an institution.
    Import(import::ImportArgs),
    /// The registry of institutions and their API keys.
    #[command(subcommand)]
    Institution(institution::InstitutionCommand),
    /// Accounts of residents, clinicians, administrators, operators and auditors.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// The patient index: links and reviews as CSV, figures, EM estimation, re-indexing.
    #[command(subcommand)]
    Mpi(mpi::MpiCommand),
    /// Write synthetic FHIR R4 NDJSON for one institution (load tests, benchmarks).
    Synth(synth::SynthArgs),
    /// The envelope keys: status, rotation (re-sealing online), re-wrapping under a new master key.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The tamper-evident ledger: sign a checkpoint now.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Recompute the ledger and every stored entry's leaf and name the first mismatch; or, with
    /// --checkpoint FILE, prove that an old checkpoint is a prefix of today's log.
    Verify(ledger::VerifyArgs),
}

impl Cli {
    fn location(&self, default_dir: &str) -> anyhow::Result<Location> {
        if let Some(url) = &self.database_url {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                return Ok(Location::Postgres(url.clone()));
            }
            bail!("--database-url must be a postgres:// URL (the embedded database is chosen with --data-dir)");
        }
        Ok(Location::DataDir(self.data_dir.clone().unwrap_or_else(|| PathBuf::from(default_dir))))
    }
}

fn parse_suite(s: &str) -> Result<Suite, String> {
    Suite::parse(s).ok_or_else(|| format!("unknown cipher suite {s:?}: use aes-256-gcm or sm4-gcm"))
}

/// How the master key and suite were given, for every command that opens the store.
static KEY_OPTIONS: std::sync::OnceLock<(Option<PathBuf>, Suite)> = std::sync::OnceLock::new();

/// The master key: `TONGDANG_MASTER_KEY` (hex), else `--master-key-file`, else the data
/// directory's `master.key`, created when the directory holds no database yet.
pub(crate) fn master_key(location: &Location) -> anyhow::Result<LocalMasterKey> {
    if let Ok(hex) = std::env::var("TONGDANG_MASTER_KEY") {
        return LocalMasterKey::parse(&hex).context("TONGDANG_MASTER_KEY");
    }
    let file = KEY_OPTIONS.get().and_then(|(f, _)| f.clone());
    match (file, location) {
        (Some(f), _) => Ok(LocalMasterKey::from_file(&f)?),
        (None, Location::DataDir(dir)) => {
            let path = dir.join("master.key");
            if path.exists() {
                return Ok(LocalMasterKey::from_file(&path)?);
            }
            if tongdang_store::sqlite_path(dir).exists() {
                bail!("{} has a database but no master.key: give --master-key-file or TONGDANG_MASTER_KEY", dir.display());
            }
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let key = LocalMasterKey::generate();
            key.write_new_file(&path).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("tongdang: created a master key in {} — keep a copy apart from the data", path.display());
            Ok(key)
        }
        (None, Location::Postgres(_)) => bail!("PostgreSQL needs a master key: give --master-key-file or TONGDANG_MASTER_KEY"),
    }
}

/// Open the store named by the command line.
async fn open(location: &Location) -> anyhow::Result<Arc<ProtectedStore>> {
    let what = match location {
        Location::DataDir(d) => format!("the database in {}", d.display()),
        Location::Postgres(_) => "the PostgreSQL database".to_string(),
    };
    let master = master_key(location)?;
    let suite = KEY_OPTIONS.get().map_or(Suite::Aes256Gcm, |(_, s)| *s);
    let protection = Protection { provider: Arc::new(master), suite, origin: tongdang_store::DEFAULT_ORIGIN.to_string() };
    tongdang_store::open(location, protection).await.with_context(|| format!("cannot open {what}"))
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TONGDANG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    let result = runtime.map_err(anyhow::Error::from).and_then(|rt| rt.block_on(run(cli)));
    if let Err(e) = result {
        eprintln!("tongdang: {}", format!("{e:#}").replace('\n', " "));
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let _ = KEY_OPTIONS.set((cli.master_key_file.clone(), cli.cipher_suite));
    match &cli.command {
        Command::Serve(args) => {
            init_logging("info");
            let store = open(&cli.location("./tongdang-data")?).await?;
            serve(store, args).await
        }
        Command::Account(cmd) => {
            init_logging("warn");
            account::run(&cli.location("./tongdang-data")?, cmd).await
        }
        Command::Demo(args) => {
            init_logging("warn");
            demo::run(&cli.location("./tongdang-demo")?, args).await
        }
        Command::Import(args) => {
            init_logging("warn");
            import::run(&cli.location("./tongdang-data")?, args).await
        }
        Command::Synth(args) => synth::run(args),
        Command::Mpi(cmd) => {
            init_logging("warn");
            mpi::run(&cli.location("./tongdang-data")?, cmd).await
        }
        Command::Institution(cmd) => {
            init_logging("warn");
            institution::run(&cli.location("./tongdang-data")?, cmd).await
        }
        Command::Keys(cmd) => {
            init_logging("warn");
            keys::run(&cli.location("./tongdang-data")?, cmd).await
        }
        Command::Ledger(cmd) => {
            init_logging("warn");
            ledger::run(&cli.location("./tongdang-data")?, cmd).await
        }
        Command::Verify(args) => {
            init_logging("warn");
            ledger::run_verify(&cli.location("./tongdang-data")?, args).await
        }
    }
}

/// How to serve.
#[derive(clap::Args, Clone)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Seconds between signed ledger checkpoints (when the log grew).
    #[arg(long, default_value_t = 60)]
    checkpoint_interval: u64,
    /// Requests a minute each institution may make (bursts of half that); 0: unlimited.
    #[arg(long, default_value_t = tongdang_server::DEFAULT_QUOTA_PER_MINUTE)]
    quota_per_minute: u32,
    /// JSON file overriding the masking policy: {"role": {"field": "rule"}} (see docs/protection.md).
    #[arg(long, value_name = "FILE")]
    masking_policy: Option<PathBuf>,
}

/// Serve the store.
pub(crate) async fn serve(store: Arc<ProtectedStore>, args: &ServeArgs) -> anyhow::Result<()> {
    let mut state = tongdang_server::AppState::new(store.clone());
    if let Some(f) = &args.masking_policy {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let policy = tongdang_protection::mask::MaskPolicy::with_overrides(&text).map_err(anyhow::Error::msg)?;
        state.reader = tongdang_access::RecordReader::new(store.clone(), tongdang_access::Policy).with_masking(policy);
    }
    state.quotas = tongdang_server::Quotas::new(args.quota_per_minute, (args.quota_per_minute / 2).max(1));
    state.tls = args.tls_cert.is_some();
    let state = Arc::new(state);
    state.ingestor.reload_parameters().await.context("cannot read the matching parameters")?;
    let listen = args.listen;
    tracing::info!(%listen, tls = state.tls, "serving");
    let options = tongdang_server::ServeOptions {
        listen,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        checkpoint_interval: std::time::Duration::from_secs(args.checkpoint_interval.max(1)),
    };
    tongdang_server::serve(state, options).await.with_context(|| format!("cannot serve on {listen}"))
}
