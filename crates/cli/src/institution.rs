//! `tongdang institution add|list|key`.

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use comfy_table::Table;
use tongdang_access::credential::new_key;
use tongdang_core::{City, ConnectionMode, Institution, InstitutionCode, InstitutionKind, Level, Ownership, Scope};
use tongdang_store::Location;
use tongdang_store::Store;

#[derive(Subcommand)]
pub(crate) enum InstitutionCommand {
    /// Register an institution, or update its registration.
    Add {
        /// 统一社会信用代码 or the registration number of its licence.
        code: String,
        /// Registered name.
        #[arg(long)]
        name: String,
        /// City (广州市 or guangzhou).
        #[arg(long, default_value = "广州市")]
        city: City,
        /// Grade: tertiary_a (三级甲等), tertiary, secondary, primary.
        #[arg(long, default_value = "secondary")]
        level: Level,
        /// public or private.
        #[arg(long, default_value = "public")]
        ownership: Ownership,
        /// hospital, public_health, blood_centre, exam_centre, booking_platform, provincial_platform.
        #[arg(long, default_value = "hospital")]
        kind: InstitutionKind,
        /// direct or via_city_platform.
        #[arg(long, default_value = "direct")]
        connection: ConnectionMode,
    },
    /// List institutions.
    List {
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Issue a new API key (printed alone on standard output, once) and revoke the old ones.
    Key {
        /// Institution code.
        code: String,
        /// Comma-separated scopes: submit, read.
        #[arg(long, default_value = "submit,read", value_delimiter = ',')]
        scopes: Vec<Scope>,
        /// Keep the institution's earlier keys valid (for a rotation with overlap).
        #[arg(long)]
        keep_old: bool,
    },
}

pub(crate) async fn run(location: &Location, cmd: &InstitutionCommand) -> anyhow::Result<()> {
    let store = crate::open(location).await?;
    match cmd {
        InstitutionCommand::Add { code, name, city, level, ownership, kind, connection } => {
            let code = InstitutionCode::new(code).map_err(|e| anyhow!("{e}"))?;
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let inst = Institution {
                code,
                name: name.trim().to_string(),
                city: *city,
                level: *level,
                ownership: *ownership,
                kind: *kind,
                connection: *connection,
            };
            store.upsert_institution(&inst).await.context("cannot register the institution")?;
            eprintln!("registered {} {}", inst.code, inst.name);
        }
        InstitutionCommand::List { format } => {
            let list = store.institutions().await?;
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&list)?),
                "csv" => {
                    println!("code,name,city,level,ownership,kind,connection");
                    for i in list {
                        println!(
                            "{},{},{},{},{},{},{}",
                            i.code,
                            i.name.replace(',', " "),
                            i.city,
                            i.level,
                            i.ownership,
                            i.kind,
                            i.connection
                        );
                    }
                }
                "table" => {
                    let mut t = Table::new();
                    t.set_header(["代码 code", "名称 name", "城市 city", "等级 level", "性质", "类型 kind", "接入 connection"]);
                    for i in list {
                        t.add_row([
                            i.code.to_string(),
                            i.name,
                            i.city.label_zh().into(),
                            i.level.label_zh().into(),
                            i.ownership.label_zh().into(),
                            i.kind.label_zh().into(),
                            i.connection.label_zh().into(),
                        ]);
                    }
                    println!("{t}");
                }
                other => bail!("unknown format '{other}' (table, csv or json)"),
            }
        }
        InstitutionCommand::Key { code, scopes, keep_old } => {
            let code = InstitutionCode::new(code).map_err(|e| anyhow!("{e}"))?;
            let key = issue_key(&*store, &code, scopes, !keep_old).await?;
            println!("{key}");
        }
    }
    Ok(())
}

/// Issue a key for a registered institution; returns the secret.
pub(crate) async fn issue_key(
    store: &dyn tongdang_store::Store,
    code: &InstitutionCode,
    scopes: &[Scope],
    revoke_others: bool,
) -> anyhow::Result<String> {
    if store.institution(code).await?.is_none() {
        bail!("institution {code} is not registered (tongdang institution add {code} --name …)");
    }
    if scopes.is_empty() {
        bail!("a key needs at least one scope (submit, read)");
    }
    let (key, record) = new_key(code.as_str(), scopes);
    store.insert_api_key(&record, revoke_others).await.context("cannot store the key")?;
    Ok(key)
}
