//! `tongdang account add|list`: accounts of people who sign in.

use anyhow::{Context, bail};
use clap::Subcommand;
use comfy_table::Table;
use std::sync::Arc;
use tongdang_access::signin::Accounts;
use tongdang_core::{PersonId, Role};
use tongdang_store::{Location, ProtectedStore, Store, StoreError};

#[derive(Subcommand)]
pub(crate) enum AccountCommand {
    /// Create an account. The password comes from TONGDANG_PASSWORD, or is generated and printed.
    Add {
        /// Sign-in name (a resident's phone number, a staff id…).
        login: String,
        /// resident, clinician, institution-admin, city-operator, provincial-operator, auditor.
        #[arg(long)]
        role: Role,
        /// Name shown on pages.
        #[arg(long, default_value = "")]
        name: String,
        /// Institution code (clinicians, institution administrators).
        #[arg(long)]
        institution: Option<String>,
        /// Department (clinicians).
        #[arg(long)]
        department: Option<String>,
        /// The resident's person id.
        #[arg(long)]
        person: Option<i64>,
    },
    /// List accounts (sign-in names are shown to operators of the CLI only).
    List,
}

fn generated_password() -> String {
    tongdang_access::credential::generate_key().trim_start_matches(tongdang_access::credential::KEY_PREFIX)[..20].to_string()
}

pub(crate) async fn run(location: &Location, cmd: &AccountCommand) -> anyhow::Result<()> {
    let store = crate::open(location).await?;
    let accounts = Accounts::new(store.clone());
    match cmd {
        AccountCommand::Add { login, role, name, institution, department, person } => {
            match role {
                Role::InstitutionSystem => bail!("institution systems use API keys: tongdang institution key CODE"),
                Role::Clinician | Role::InstitutionAdmin if institution.is_none() => {
                    bail!("a {} belongs to an institution: --institution CODE", role.code())
                }
                Role::Resident if person.is_none() => bail!("a resident's account names their person: --person ID"),
                _ => {}
            }
            let (password, generated) = match std::env::var("TONGDANG_PASSWORD") {
                Ok(p) => (p, false),
                Err(_) => (generated_password(), true),
            };
            let id = accounts
                .create(login, name, &password, *role, institution.as_deref(), department.as_deref(), person.map(PersonId))
                .await
                .context("cannot create the account")?;
            eprintln!("account {id} created ({})", role.label_zh());
            if generated {
                println!("{password}");
            }
        }
        AccountCommand::List => {
            let mut table = Table::new();
            table.set_header(["id", "login", "name", "role", "institution", "department", "person", "locked"]);
            for a in store.accounts(0, 10_000).await? {
                table.add_row([
                    a.id.to_string(),
                    a.login,
                    a.display_name,
                    a.role.label_zh().to_string(),
                    a.institution.unwrap_or_default(),
                    a.department.unwrap_or_default(),
                    a.person.map(|p| p.0.to_string()).unwrap_or_default(),
                    a.locked_until.map(|t| t.to_rfc3339_cst()).unwrap_or_default(),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(())
}

/// A demo account: role, login, name, institution, department, person.
type DemoAccount<'a> = (Role, String, &'a str, Option<&'a str>, Option<&'a str>, Option<PersonId>);

/// One account per role for the demo (created once; the passwords are the demo's, printed).
pub(crate) async fn demo_accounts(
    store: &Arc<ProtectedStore>,
    hospital: &tongdang_core::InstitutionCode,
    resident: Option<(&str, PersonId)>,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let accounts = Accounts::new(store.clone());
    let h = Some(hospital.as_str());
    let mut wanted: Vec<DemoAccount> = vec![
        (Role::Clinician, "doctor01".into(), "演示医生", h, Some("全科医学科"), None),
        (Role::InstitutionAdmin, "hospital-admin".into(), "演示机构管理员", h, None, None),
        (Role::CityOperator, "gz-operator".into(), "广州市运营", Some("GZ-CITY-PLATFORM"), None, None),
        (Role::ProvincialOperator, "gd-operator".into(), "省平台运营", Some("GD-PLATFORM"), None, None),
        (Role::Auditor, "auditor01".into(), "审计员", None, None, None),
    ];
    if let Some((phone, person)) = resident {
        wanted.insert(0, (Role::Resident, phone.to_string(), "演示居民", None, None, Some(person)));
    }
    let mut out = Vec::new();
    for (role, login, name, institution, department, person) in wanted {
        let password = format!("demo-{}-2024", role.code());
        match accounts.create(&login, name, &password, role, institution, department, person).await {
            Ok(_) | Err(tongdang_access::signin::SignInError::Store(StoreError::Conflict(_))) => {}
            Err(e) => return Err(e).context("cannot create the demo accounts"),
        }
        out.push((role.label_zh().to_string(), login, password));
    }
    Ok(out)
}
