//! Accounts and sign-in: Argon2id passwords, lock-out after repeated failure, sessions (web
//! cookies with a CSRF token, or bearer tokens for APIs) stored only as SHA-256 hashes.

use crate::channels::SmsGateway;
use crate::credential::hash_key;
use rand::RngExt;
use std::sync::Arc;
use tongdang_core::{PersonId, Role, Scope, Timestamp};
use tongdang_protection::password;
use tongdang_store::{AccountRecord, AuditEvent, SessionRecord, Store, StoreError};

/// The prefix of session tokens (web cookies and API bearer tokens).
pub const SESSION_PREFIX: &str = "tds_";
/// Failed sign-ins before an account locks.
pub const MAX_FAILURES: i64 = 5;
/// How long a lock lasts.
pub const LOCK_SECONDS: i64 = 15 * 60;
/// How long a web session lasts.
pub const WEB_SESSION_SECONDS: i64 = 8 * 3600;
/// How long an API token lasts.
pub const API_TOKEN_SECONDS: i64 = 3600;
/// The longest sign-in name.
pub const MAX_LOGIN: usize = 64;

/// Why a sign-in failed. Unknown names and wrong passwords read the same.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong name or password (or a disabled account).
    #[error("the sign-in name or password is wrong")]
    Rejected,
    /// Locked after repeated failures.
    #[error("the account is locked after repeated failures; try again in {0} s")]
    Locked(i64),
    /// Input outside the limits.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A signed-in person, as the policy needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Account id.
    pub account: i64,
    /// Name shown.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Institution.
    pub institution: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// A resident's person.
    pub person: Option<PersonId>,
    /// When a resident last passed face verification.
    pub face_verified_at: Option<Timestamp>,
}

impl Principal {
    fn of(a: &AccountRecord) -> Principal {
        Principal {
            account: a.id,
            display_name: a.display_name.clone(),
            role: a.role,
            institution: a.institution.clone(),
            department: a.department.clone(),
            person: a.person,
            face_verified_at: a.face_verified_at,
        }
    }

    /// What an account of this role may do through the API.
    pub fn scopes(&self) -> Vec<Scope> {
        match self.role {
            Role::Resident | Role::Clinician => vec![Scope::Read],
            Role::ProvincialOperator => vec![Scope::Mpi],
            _ => Vec::new(),
        }
    }

    /// The actor in the audit trail.
    pub fn actor(&self) -> String {
        format!("account:{}", self.account)
    }
}

/// A new session: the token (shown once) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The secret token.
    pub token: String,
    /// The CSRF token forms and unsafe requests must echo (hex).
    pub csrf: String,
    /// When it expires.
    pub expires_at: Timestamp,
    /// Who.
    pub principal: Principal,
}

/// Sign-in and sessions over the store.
pub struct Accounts {
    store: Arc<dyn Store>,
    /// A hash verified when the name is unknown, so both cases take the same time.
    decoy: String,
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{SESSION_PREFIX}{}", data_encoding::BASE32_NOPAD.encode(&bytes).to_ascii_lowercase())
}

impl Accounts {
    /// Accounts kept in `store`.
    pub fn new(store: Arc<dyn Store>) -> Accounts {
        Accounts { store, decoy: password::hash("decoy password for timing").expect("a fixed valid password") }
    }

    /// Create an account.
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        &self,
        login: &str,
        display_name: &str,
        secret: &str,
        role: Role,
        institution: Option<&str>,
        department: Option<&str>,
        person: Option<PersonId>,
    ) -> Result<i64, SignInError> {
        let login = login.trim();
        if login.is_empty() || login.chars().count() > MAX_LOGIN || login.chars().any(char::is_control) {
            return Err(SignInError::Invalid(format!("a sign-in name has 1 to {MAX_LOGIN} printable characters")));
        }
        let hash = password::hash(secret).map_err(|e| SignInError::Invalid(e.to_string()))?;
        let account = AccountRecord {
            id: 0,
            login: login.to_string(),
            display_name: display_name.to_string(),
            role,
            institution: institution.map(str::to_string),
            department: department.map(str::to_string),
            person,
            password_hash: hash,
            failed_attempts: 0,
            locked_until: None,
            created_at: Timestamp::now(),
            disabled_at: None,
            face_verified_at: None,
            sealed: Vec::new(),
        };
        let id = self.store.insert_account(&account).await?;
        let mut e = AuditEvent::new("admin.account.create", "cli", "ok");
        e.detail = serde_json::json!({ "account": id, "role": role.code() }).to_string();
        self.store.append_events(&[e]).await?;
        Ok(id)
    }

    /// Check a name and password and open a session (`web` or `api`).
    pub async fn sign_in(&self, login: &str, secret: &str, kind: &str) -> Result<NewSession, SignInError> {
        if login.chars().count() > MAX_LOGIN || secret.len() > password::MAX_LEN {
            return Err(SignInError::Invalid(format!(
                "a sign-in name has at most {MAX_LOGIN} characters and a password at most {} bytes",
                password::MAX_LEN
            )));
        }
        let now = Timestamp::now();
        let Some(account) = self.store.account_by_login(login.trim()).await? else {
            // The same work as a real check, so timing does not tell which names exist.
            let _ = check_password(secret, &self.decoy).await;
            self.audit("auth.sign-in", None, "failed", "unknown-or-wrong").await?;
            return Err(SignInError::Rejected);
        };
        if let Some(until) = account.locked_until.filter(|u| u.0 > now.0) {
            self.audit("auth.sign-in", Some(account.id), "refused", "locked").await?;
            return Err(SignInError::Locked((until.0 - now.0) / 1_000_000 + 1));
        }
        if account.locked_until.is_some() {
            // The lock ran out: failures count again from zero, so one more wrong password does
            // not lock the account for another round.
            self.store.record_sign_in(account.id, true, MAX_FAILURES, now).await?;
        }
        if account.disabled_at.is_some() || !check_password(secret, &account.password_hash).await {
            let lock_until = Timestamp(now.0 + LOCK_SECONDS * 1_000_000);
            let lock = self.store.record_sign_in(account.id, false, MAX_FAILURES, lock_until).await?;
            let locked = lock.is_some_and(|l| l.0 > now.0);
            self.audit("auth.sign-in", Some(account.id), "failed", if locked { "locked-now" } else { "wrong-password" }).await?;
            return if locked { Err(SignInError::Locked(LOCK_SECONDS)) } else { Err(SignInError::Rejected) };
        }
        self.store.record_sign_in(account.id, true, MAX_FAILURES, now).await?;
        self.open_session(&account, kind, now, "password").await
    }

    /// Send a resident a sign-in code by SMS to their phone (their sign-in name). The answer is
    /// the same — and costs the same hashing — whether or not such a resident exists, is locked,
    /// asked a minute ago or used up the day's codes, so it tells nobody who has an account.
    pub async fn send_code(&self, login: &str, sms: &dyn SmsGateway) -> Result<(), SignInError> {
        let login = login.trim();
        if !login.bytes().all(|b| b.is_ascii_digit()) || !(5..=15).contains(&login.len()) {
            return Err(SignInError::Invalid("a phone number has 5 to 15 digits".into()));
        }
        let now = Timestamp::now();
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let hash = hash_code(&code).await?;
        let account = self.store.account_by_login(login).await?.filter(|a| a.role == Role::Resident && a.disabled_at.is_none());
        let Some(account) = account else {
            self.audit("auth.sign-in-code", None, "refused", "unknown").await?;
            return Ok(());
        };
        let expires = Timestamp(now.0 + CODE_SECONDS * 1_000_000);
        let resend_after = Timestamp(now.0 - RESEND_SECONDS * 1_000_000);
        if !self.store.put_sign_in_code(account.id, &hash, now, expires, resend_after, now.cst_day(), CODES_PER_DAY).await? {
            self.audit("auth.sign-in-code", Some(account.id), "refused", "too-soon-or-day-cap").await?;
            return Ok(());
        }
        let text = format!("【通档】登录验证码{code}，{}分钟内有效。请勿将验证码告诉他人。", CODE_SECONDS / 60);
        let sent = sms.send(login, &text).await.is_ok();
        self.audit(
            "auth.sign-in-code",
            Some(account.id),
            if sent { "ok" } else { "failed" },
            if sent { "sent" } else { "sms-not-sent" },
        )
        .await?;
        Ok(())
    }

    /// Sign a resident in with the code sent to their phone. A code is good for
    /// [`CODE_ATTEMPTS`] tries and one success; wrong codes spend it, never lock the account
    /// (so knowing someone's number is not enough to lock them out).
    pub async fn sign_in_with_code(&self, login: &str, code: &str, kind: &str) -> Result<NewSession, SignInError> {
        if login.chars().count() > MAX_LOGIN || code.len() > 12 {
            return Err(SignInError::Invalid("a sign-in code has 6 digits".into()));
        }
        let now = Timestamp::now();
        let account =
            self.store.account_by_login(login.trim()).await?.filter(|a| a.role == Role::Resident && a.disabled_at.is_none());
        // Each attempt takes one try of the code before it is checked: parallel guesses each
        // spend one, whatever the timing.
        let claimed = match &account {
            Some(a) => self.store.claim_sign_in_code(a.id, now, CODE_ATTEMPTS).await?,
            None => None,
        };
        let good = match (&account, &claimed) {
            (Some(a), Some(hash)) => check_password(code.trim(), hash).await && self.store.use_sign_in_code(a.id, hash).await?,
            _ => {
                // The same work as a real check, so timing does not tell which numbers exist.
                let _ = check_password(code, &self.decoy).await;
                false
            }
        };
        let Some(account) = account.filter(|_| good) else {
            self.audit("auth.sign-in", None, "failed", "unknown-or-wrong-code").await?;
            return Err(SignInError::Rejected);
        };
        self.open_session(&account, kind, now, "sms-code").await
    }

    async fn open_session(
        &self,
        account: &AccountRecord,
        kind: &str,
        now: Timestamp,
        how: &str,
    ) -> Result<NewSession, SignInError> {
        let token = random_token();
        let csrf: [u8; 32] = rand::rng().random();
        let seconds = if kind == "web" { WEB_SESSION_SECONDS } else { API_TOKEN_SECONDS };
        let expires_at = Timestamp(now.0 + seconds * 1_000_000);
        self.store
            .insert_session(&SessionRecord {
                token_hash: hash_key(&token),
                account: account.id,
                kind: if kind == "web" { "web".into() } else { "api".into() },
                csrf: csrf.to_vec(),
                created_at: now,
                expires_at,
                revoked_at: None,
            })
            .await?;
        self.audit("auth.sign-in", Some(account.id), "ok", &format!("{kind}/{how}")).await?;
        Ok(NewSession { token, csrf: data_encoding::HEXLOWER.encode(&csrf), expires_at, principal: Principal::of(account) })
    }

    /// The principal behind a live session token, with its kind and CSRF token (hex).
    pub async fn session(&self, token: &str) -> Result<Option<(Principal, String, String)>, StoreError> {
        if !token.starts_with(SESSION_PREFIX) || token.len() > 100 {
            return Ok(None);
        }
        let Some(s) = self.store.session(&hash_key(token)).await? else { return Ok(None) };
        if s.revoked_at.is_some() || s.expires_at.0 <= Timestamp::now().0 {
            return Ok(None);
        }
        let Some(a) = self.store.account(s.account).await? else { return Ok(None) };
        if a.disabled_at.is_some() {
            return Ok(None);
        }
        Ok(Some((Principal::of(&a), s.kind, data_encoding::HEXLOWER.encode(&s.csrf))))
    }

    /// End a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), StoreError> {
        self.store.revoke_session(&hash_key(token)).await
    }

    async fn audit(&self, kind: &str, account: Option<i64>, outcome: &str, why: &str) -> Result<(), StoreError> {
        let actor = account.map_or("anonymous".to_string(), |a| format!("account:{a}"));
        let mut e = AuditEvent::new(kind, &actor, outcome);
        e.detail = serde_json::json!({ "detail": why }).to_string();
        self.store.append_events(&[e]).await.map(|_| ())
    }
}

/// How long a sign-in code is good for, seconds.
pub const CODE_SECONDS: i64 = 300;
/// How long before another code may be sent, seconds.
pub const RESEND_SECONDS: i64 = 60;
/// How many codes a number may be sent in a day (CST).
pub const CODES_PER_DAY: i32 = 10;
/// How many tries a code is good for.
pub const CODE_ATTEMPTS: i32 = 3;

/// A code is kept as an Argon2id hash: six digits are a million guesses, each tens of
/// milliseconds, and the code dies in five minutes.
async fn hash_code(code: &str) -> Result<String, SignInError> {
    let code = code.to_string();
    tokio::task::spawn_blocking(move || password::hash_code(&code))
        .await
        .map_err(|e| SignInError::Invalid(e.to_string()))?
        .map_err(|e| SignInError::Invalid(e.to_string()))
}

/// Argon2id costs ~20 MB and tens of milliseconds: it runs on the blocking pool, never on the
/// threads that serve requests.
async fn check_password(secret: &str, hash: &str) -> bool {
    let (secret, hash) = (secret.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || password::verify(&secret, &hash)).await.unwrap_or(false)
}

/// Compare two secrets without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
