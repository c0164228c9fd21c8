//! `tongdang`: one binary for the whole system. Every command that touches data takes
//! `--data-dir DIR` (embedded SQLite, the default) or `--database-url postgres://…`.

mod account;
mod demo;
mod import;
mod institution;
mod keys;
mod ledger;
mod mpi;
mod report;
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
    /// An evaluation report for a month (HTML or PDF, in Chinese): scores of cities and
    /// institutions from upload quality and problem handling, ranked, with charts.
    Report(report::ReportArgs),
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
        Command::Report(args) => {
            init_logging("warn");
            report::run(&cli.location("./tongdang-data")?, args).await
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
    /// The SMS gateway's URL (token in TONGDANG_SMS_TOKEN); without it, the SMS simulator.
    #[arg(long, value_name = "URL")]
    sms_gateway: Option<String>,
    /// The app push service's URL (token in TONGDANG_APP_PUSH_TOKEN); without it, the app simulator.
    #[arg(long, value_name = "URL")]
    app_push: Option<String>,
    /// The police face verification service's URL (token in TONGDANG_FACE_TOKEN); without it,
    /// the police simulator.
    #[arg(long, value_name = "URL")]
    face_verification: Option<String>,
    /// The police simulator's registry of test faces: JSON [{"id_number" | "id_sha256",
    /// "photo_sha256" | "hangs": true}] (id_sha256: SHA-256 of the upper-case ID number, hex).
    #[arg(long, value_name = "FILE")]
    pub(crate) face_registry: Option<PathBuf>,
    /// Use the local simulators of the SMS gateway, app push and police face verification for
    /// every channel not given a URL (the demo does). Without it, such channels fail with
    /// "not configured", and no simulated outbox is served.
    #[arg(long)]
    pub(crate) simulate_channels: bool,
    /// Do not tell residents of each institution's first read of their record.
    #[arg(long)]
    no_first_read_notice: bool,
    /// Hours an SMS-code grant lasts.
    #[arg(long, default_value_t = 24)]
    sms_grant_hours: i64,
    /// Hours an emergency access lasts at most.
    #[arg(long, default_value_t = 72)]
    emergency_hours: i64,
}

/// One test identity of the police simulator.
#[derive(serde::Deserialize)]
struct FaceEnrolment {
    #[serde(default)]
    id_number: Option<String>,
    #[serde(default)]
    id_sha256: Option<String>,
    #[serde(default)]
    photo_sha256: Option<String>,
    #[serde(default)]
    hangs: bool,
}

/// The adapters and defaults of authorized access from the command line.
fn access(args: &ServeArgs) -> anyhow::Result<tongdang_server::Access> {
    use tongdang_access::channels::{Endpoint, HttpAppPush, HttpFaceVerifier, HttpSmsGateway, PoliceSimulator};
    let endpoint = |url: &str, token: &str, secs: u64| Endpoint {
        url: url.to_string(),
        token: std::env::var(token).ok(),
        timeout: std::time::Duration::from_secs(secs),
    };
    let mut access = tongdang_server::Access::default();
    if !args.simulate_channels {
        access.channels = tongdang_access::channels::Channels::unconfigured();
    }
    if let Some(url) = &args.sms_gateway {
        access.channels.sms = Arc::new(HttpSmsGateway::new(endpoint(url, "TONGDANG_SMS_TOKEN", 10)));
        access.channels.sms_simulator = None;
    }
    if let Some(url) = &args.app_push {
        access.channels.app = Arc::new(HttpAppPush::new(endpoint(url, "TONGDANG_APP_PUSH_TOKEN", 10)));
        access.channels.app_simulator = None;
    }
    if let Some(url) = &args.face_verification {
        access.channels.face = Arc::new(HttpFaceVerifier::new(endpoint(url, "TONGDANG_FACE_TOKEN", 15)));
        access.channels.police_simulator = None;
    } else if let (Some(f), true) = (&args.face_registry, args.simulate_channels) {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let list: Vec<FaceEnrolment> =
            serde_json::from_str(&text).with_context(|| format!("{} is not a face registry", f.display()))?;
        let police = PoliceSimulator::default();
        for e in list {
            let key = match (&e.id_number, &e.id_sha256) {
                (Some(n), _) => PoliceSimulator::id_key(n),
                (None, Some(h)) => h.clone(),
                (None, None) => {
                    return Err(anyhow::anyhow!("an enrolment in {} has neither id_number nor id_sha256", f.display()));
                }
            };
            match (e.hangs, e.photo_sha256) {
                (true, _) => police.enrol_hanging(&key),
                (false, Some(hex)) => {
                    let digest = data_encoding::HEXLOWER_PERMISSIVE
                        .decode(hex.as_bytes())
                        .ok()
                        .and_then(|d| <[u8; 32]>::try_from(d).ok())
                        .ok_or_else(|| anyhow::anyhow!("photo_sha256 in {} is not 64 hex digits", f.display()))?;
                    police.enrol_digest(&key, digest);
                }
                (false, None) => {
                    return Err(anyhow::anyhow!("an enrolment in {} has neither photo_sha256 nor hangs", f.display()));
                }
            }
        }
        let police = Arc::new(police);
        access.channels.face = police.clone();
        access.channels.police_simulator = Some(police);
    }
    let simulated: Vec<&str> = [
        access.channels.sms_simulator.as_ref().map(|_| "SMS"),
        access.channels.app_simulator.as_ref().map(|_| "app push"),
        access.channels.police_simulator.as_ref().map(|_| "face verification"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !simulated.is_empty() {
        tracing::warn!(channels = simulated.join(", "), "simulated external systems: nothing leaves this machine");
    }
    if args.face_registry.is_some() && !args.simulate_channels {
        return Err(anyhow::anyhow!("--face-registry is the police simulator's: give --simulate-channels too"));
    }
    access.notify.first_read = !args.no_first_read_notice;
    if !(1..=24 * 30).contains(&args.sms_grant_hours) || !(1..=24 * 7).contains(&args.emergency_hours) {
        return Err(anyhow::anyhow!("--sms-grant-hours is 1 to 720 and --emergency-hours 1 to 168"));
    }
    access.grants.sms_hours = args.sms_grant_hours;
    access.grants.emergency_hours = args.emergency_hours;
    Ok(access)
}

/// Serve the store.
pub(crate) async fn serve(store: Arc<ProtectedStore>, args: &ServeArgs) -> anyhow::Result<()> {
    let mut state = tongdang_server::AppState::with_access(store.clone(), access(args)?);
    if let Some(f) = &args.masking_policy {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let policy = tongdang_protection::mask::MaskPolicy::with_overrides(&text).map_err(anyhow::Error::msg)?;
        state.reader.set_masking(policy);
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
