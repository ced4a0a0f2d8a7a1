//! Logging in and out of the dashboard and the operations pages: sessions, lock-outs after
//! repeated failures, and the audit trail of each. No HTTP here: the web layer keeps the session
//! token in an encrypted cookie and asks `authenticate` on each request.
//!
//! - A login checks the lock-outs first (the account: `auth.max_failures_per_account` failures
//!   within `auth.lockout_minutes`; the client address: `auth.max_failures_per_address`), then the
//!   password with argon2id on the blocking pool. An unknown e-mail is verified against a dummy
//!   hash, so that it costs the same time and gets the same answer as a wrong password.
//! - A session is a random 256-bit token; the database keeps its SHA-256. It ends on logout, when
//!   its user is disabled (every session of the user), after `auth.session_idle_minutes` unused,
//!   and `auth.session_max_hours` after the login whatever its use. Each login makes a new token
//!   (no fixation).

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, TransactionSession, TransactionTrait};
use sha2::{Digest, Sha256};

use crate::auth::password;
use crate::config::AuthSettings;
use crate::db::{repo, sql::Params};
use crate::domain::Role;

/// Who is logged in.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionUser {
    pub session_id: i64,
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    /// The direction a scoped user sees (its code), if any.
    pub direction: Option<String>,
}

impl SessionUser {
    /// How this user appears in the audit log.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong e-mail or password (the same for both).
    #[error("wrong e-mail address or password")]
    Refused,
    /// Too many failures for this account or from this address: try again later.
    #[error("too many failed attempts; try again in {minutes} minutes")]
    Locked { minutes: u32 },
    #[error("the password check failed")]
    Blocking(#[from] tokio::task::JoinError),
    #[error("database error")]
    Db(#[from] DbErr),
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A hash to verify against when the e-mail is unknown (made once, on first use).
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| password::hash("no such user, same cost").expect("hashing a constant"))
}

#[derive(Debug, FromQueryResult)]
struct Account {
    id: i64,
    password_hash: String,
    role: String,
    active: bool,
    direction: Option<String>,
}

async fn account(db: &impl ConnectionTrait, email: &str) -> Result<Option<Account>, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "SELECT u.id, u.password_hash, u.role, u.active, d.code AS direction FROM users u \
         LEFT JOIN directions d ON d.id = u.direction_id WHERE lower(u.email) = {}",
        params.bind(email.trim().to_lowercase())
    );
    Account::find_by_statement(params.statement(sql)).one(db).await
}

async fn failures(db: &impl ConnectionTrait, kind: &str, subject: &str, since: DateTime<Utc>) -> Result<u32, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "SELECT COUNT(*) FROM login_failures WHERE kind = {} AND subject = {} AND at > {}",
        params.bind(kind),
        params.bind(subject),
        params.bind(since)
    );
    let row = db.query_one_raw(params.statement(sql)).await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0) as u32)
}

/// Log in: a new session token (to give the browser) and who it is, or why not.
pub async fn login<C>(
    db: &C,
    settings: &AuthSettings,
    email: &str,
    password: &str,
    address: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(String, SessionUser), LoginError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let account_key = email.trim().to_lowercase();
    let address_key = address.unwrap_or("unknown").to_owned();
    let window = now - Duration::minutes(i64::from(settings.lockout_minutes));
    let locked = failures(db, "account", &account_key, window).await? >= settings.max_failures_per_account
        || failures(db, "address", &address_key, window).await? >= settings.max_failures_per_address;
    let found = account(db, &account_key).await?;
    // The password is checked even when locked or unknown: every refusal costs the same.
    let stored = found.as_ref().map_or_else(|| dummy_hash().to_owned(), |a| a.password_hash.clone());
    let clear = password.to_owned();
    let verified = tokio::task::spawn_blocking(move || password::verify(&clear, &stored)).await?;
    let details = serde_json::json!({ "email": account_key, "address": address_key });
    if locked {
        repo::audit::record(db, now, "anonymous", "login.locked", None, Some(details)).await?;
        return Err(LoginError::Locked { minutes: settings.lockout_minutes });
    }
    let account = match found {
        Some(account) if verified && account.active => account,
        _ => {
            let txn = crate::db::begin_write(db).await?;
            for (kind, subject) in [("account", &account_key), ("address", &address_key)] {
                let mut params = Params::new(txn.get_database_backend());
                let sql = format!(
                    "INSERT INTO login_failures (kind, subject, at) VALUES ({}, {}, {})",
                    params.bind(kind),
                    params.bind(subject.as_str()),
                    params.bind(now)
                );
                txn.execute_raw(params.statement(sql)).await?;
            }
            repo::audit::record(&txn, now, "anonymous", "login.failure", None, Some(details.clone())).await?;
            let now_locked = failures(&txn, "account", &account_key, window).await?
                >= settings.max_failures_per_account
                || failures(&txn, "address", &address_key, window).await? >= settings.max_failures_per_address;
            if now_locked {
                repo::audit::record(&txn, now, "anonymous", "login.lockout", None, Some(details)).await?;
            }
            txn.commit().await?;
            return Err(LoginError::Refused);
        }
    };
    let token = hex::encode(rand::random::<[u8; 32]>());
    let expires = now + Duration::hours(i64::from(settings.session_max_hours));
    let txn = crate::db::begin_write(db).await?;
    let mut params = Params::new(txn.get_database_backend());
    let sql = format!(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, address) \
         VALUES ({}, {}, {}, {}, {}, {}) RETURNING id",
        params.bind(hash(&token)),
        params.bind(account.id),
        params.bind(now),
        params.bind(now),
        params.bind(expires),
        params.bind(address_key.clone())
    );
    let session_id: i64 = txn
        .query_one_raw(params.statement(sql))
        .await?
        .ok_or_else(|| DbErr::Custom("no session id".into()))?
        .try_get_by_index(0)?;
    let mut params = Params::new(txn.get_database_backend());
    let sql = format!("UPDATE users SET last_login_at = {} WHERE id = {}", params.bind(now), params.bind(account.id));
    txn.execute_raw(params.statement(sql)).await?;
    let actor = format!("user:{}", account.id);
    repo::audit::record(&txn, now, &actor, "login.success", None, Some(serde_json::json!({ "address": address_key })))
        .await?;
    txn.commit().await?;
    let role: Role = account.role.parse().map_err(|e| DbErr::Custom(format!("{e}")))?;
    Ok((token, SessionUser { session_id, user_id: account.id, email: account_key, role, direction: account.direction }))
}

#[derive(Debug, FromQueryResult)]
struct SessionRow {
    session_id: i64,
    user_id: i64,
    email: String,
    role: String,
    active: bool,
    direction: Option<String>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

/// Who holds `token`, if its session is still on: not ended, its user active, used within the
/// idle time, before its end. A use more than a minute after the last one is recorded.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    settings: &AuthSettings,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionUser>, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "SELECT s.id AS session_id, u.id AS user_id, u.email, u.role, u.active, d.code AS direction, \
         s.last_seen_at, s.expires_at, s.ended_at FROM sessions s JOIN users u ON u.id = s.user_id \
         LEFT JOIN directions d ON d.id = u.direction_id WHERE s.token_hash = {}",
        params.bind(hash(token))
    );
    let Some(row) = SessionRow::find_by_statement(params.statement(sql)).one(db).await? else { return Ok(None) };
    let idle = Duration::minutes(i64::from(settings.session_idle_minutes));
    if row.ended_at.is_some() || !row.active || now >= row.expires_at || now - row.last_seen_at >= idle {
        return Ok(None);
    }
    if now - row.last_seen_at >= Duration::minutes(1) {
        let mut params = Params::new(db.get_database_backend());
        let sql = format!(
            "UPDATE sessions SET last_seen_at = {} WHERE id = {}",
            params.bind(now),
            params.bind(row.session_id)
        );
        db.execute_raw(params.statement(sql)).await?;
    }
    let Ok(role) = row.role.parse() else { return Ok(None) };
    Ok(Some(SessionUser {
        session_id: row.session_id,
        user_id: row.user_id,
        email: row.email,
        role,
        direction: row.direction,
    }))
}

/// End a session (logout).
pub async fn logout(db: &impl ConnectionTrait, user: &SessionUser, now: DateTime<Utc>) -> Result<(), DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "UPDATE sessions SET ended_at = {} WHERE id = {} AND ended_at IS NULL",
        params.bind(now),
        params.bind(user.session_id)
    );
    db.execute_raw(params.statement(sql)).await?;
    repo::audit::record(db, now, &user.actor(), "logout", None, None).await
}

/// End every session of a user (disabled, or their password changed); returns how many.
pub async fn end_all(db: &impl ConnectionTrait, user_id: i64, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "UPDATE sessions SET ended_at = {} WHERE user_id = {} AND ended_at IS NULL",
        params.bind(now),
        params.bind(user_id)
    );
    Ok(db.execute_raw(params.statement(sql)).await?.rows_affected())
}

/// The form token of a session's forms: HMAC(key, "session-form:" ‖ session token).
pub fn form_token(key: &[u8], session_token: &str) -> String {
    crate::domain::survey_token::form_token(key, "session-form", session_token)
}

pub fn form_token_matches(key: &[u8], session_token: &str, given: &str) -> bool {
    crate::domain::survey_token::form_token_matches(key, "session-form", session_token, given)
}
