//! Accounts service: dashboard users and API keys. Called by the CLI today and by the admin
//! pages later; returns domain outcomes, never HTTP.
//!
//! argon2id costs tens of milliseconds of CPU by design: every hash and verification runs on
//! the blocking thread pool (`spawn_blocking`), never on the async workers that serve requests.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use crate::auth::{api_key, password};
use crate::db::{self, entities, repo};
use crate::domain::{Email, Role};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a user with the e-mail address {0} already exists")]
    DuplicateEmail(Email),
    #[error("unknown direction code {code:?}; {known}")]
    UnknownDirection { code: String, known: String },
    #[error("only an analyst or a viewer can be limited to one direction; an admin sees all")]
    ScopedAdmin,
    #[error("the API key name must not be empty")]
    EmptyKeyName,
    #[error("unknown API key scope {0:?}; expected all, ingest or read")]
    UnknownScope(String),
    #[error("no user with the e-mail address {0}")]
    UnknownUser(String),
    #[error("no active API key with the prefix {0:?}")]
    UnknownKey(String),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error("the password hashing task failed")]
    Blocking(#[from] tokio::task::JoinError),
    #[error("database error")]
    Db(#[from] DbErr),
}

pub struct NewUser {
    pub email: Email,
    pub password: String,
    pub role: Role,
    pub direction_code: Option<String>,
}

/// Create a dashboard user with an argon2id password hash; records it in the audit log.
pub async fn create_user<C>(
    db: &C,
    new_user: NewUser,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<entities::user::Model, AccountError>
where
    C: ConnectionTrait + TransactionTrait,
{
    password::check_strength(&new_user.password)?;
    if new_user.role == Role::Admin && new_user.direction_code.is_some() {
        return Err(AccountError::ScopedAdmin);
    }
    let direction_id = match &new_user.direction_code {
        None => None,
        Some(code) => Some(resolve_direction(db, code).await?),
    };
    // Hashing takes a noticeable moment: do it before opening the transaction.
    let clear = new_user.password.clone();
    let password_hash = tokio::task::spawn_blocking(move || password::hash(&clear)).await??;
    let txn = crate::db::begin_write(db).await?;
    let row = repo::users::NewUserRow {
        email: &new_user.email,
        password_hash,
        role: new_user.role,
        direction_id,
        created_at: now,
    };
    let user = match repo::users::insert(&txn, row).await {
        Ok(user) => user,
        Err(err) if db::is_unique_violation(&err) => {
            return Err(AccountError::DuplicateEmail(new_user.email));
        }
        Err(err) => return Err(err.into()),
    };
    repo::audit::record(
        &txn,
        now,
        actor,
        "user.create",
        Some(format!("user:{}", user.id)),
        Some(serde_json::json!({"role": user.role, "direction": new_user.direction_code})),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

async fn resolve_direction(db: &impl ConnectionTrait, code: &str) -> Result<i64, AccountError> {
    if let Some(direction) = repo::directions::find_by_code(db, code).await? {
        return Ok(direction.id);
    }
    let codes: Vec<String> = repo::directions::list(db).await?.into_iter().map(|d| d.code).collect();
    let known = if codes.is_empty() {
        "no direction is registered yet (ingestion registers them, or use `satisfaction direction add`)".to_owned()
    } else {
        format!("known directions: {}", codes.join(", "))
    };
    Err(AccountError::UnknownDirection { code: code.to_owned(), known })
}

/// Create an API key that may do everything. Returns the stored row and the clear key, which
/// must be shown once.
pub async fn create_api_key<C>(
    db: &C,
    name: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(entities::api_key::Model, String), AccountError>
where
    C: ConnectionTrait + TransactionTrait,
{
    create_scoped_api_key(db, name, "all", actor, now).await
}

/// Create an API key limited to `scope`: `all`, `ingest` (sending requests only) or `read` (the
/// statistics only).
pub async fn create_scoped_api_key<C>(
    db: &C,
    name: &str,
    scope: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(entities::api_key::Model, String), AccountError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = name.trim();
    if name.is_empty() {
        return Err(AccountError::EmptyKeyName);
    }
    if !matches!(scope, "all" | "ingest" | "read") {
        return Err(AccountError::UnknownScope(scope.to_owned()));
    }
    let key = tokio::task::spawn_blocking(api_key::generate).await??;
    let txn = crate::db::begin_write(db).await?;
    let row = repo::api_keys::insert(&txn, name, &key.prefix, key.hash, scope, now).await?;
    repo::audit::record(
        &txn,
        now,
        actor,
        "api_key.create",
        Some(format!("api_key:{}", row.id)),
        Some(serde_json::json!({"name": name, "scope": scope})),
    )
    .await?;
    txn.commit().await?;
    Ok((row, key.clear))
}

/// The key row if `presented` is a valid, unrevoked key. Marks it as used (to the minute).
pub async fn authenticate_api_key(
    db: &impl ConnectionTrait,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Option<entities::api_key::Model>, AccountError> {
    let Some((prefix, secret)) = api_key::parse(presented) else {
        return Ok(None);
    };
    // Every refusal costs one argon2id verification, whether the prefix exists or not and
    // whether the key was verified before: the time of an answer tells nothing of which keys
    // exist. Only a right key already verified in this process is answered without one.
    let Some(row) = repo::api_keys::find_active_by_prefix(db, prefix).await? else {
        let secret = secret.to_owned();
        tokio::task::spawn_blocking(move || api_key::verify_against_nothing(&secret)).await?;
        return Ok(None);
    };
    let valid = match api_key::verify_remembered(secret, &row.key_hash) {
        Some(true) => true,
        Some(false) => {
            let (secret, stored) = (secret.to_owned(), row.key_hash.clone());
            tokio::task::spawn_blocking(move || password::verify(&secret, &stored)).await?
        }
        None => {
            let (secret, stored) = (secret.to_owned(), row.key_hash.clone());
            tokio::task::spawn_blocking(move || api_key::verify(&secret, &stored)).await?
        }
    };
    if !valid {
        return Ok(None);
    }
    // Last use to the minute: not a database write on every call of a busy client.
    if row.last_used_at.is_none_or(|used| now - used >= chrono::Duration::minutes(1)) {
        repo::api_keys::touch(db, row.id, now).await?;
    }
    Ok(Some(row))
}

/// Register a direction (department) by hand, with its names in both languages.
pub async fn add_direction(
    db: &impl ConnectionTrait,
    code: &str,
    name_fr: &str,
    name_en: &str,
    now: DateTime<Utc>,
) -> Result<entities::direction::Model, DbErr> {
    repo::directions::insert(db, code.trim(), name_fr.trim(), name_en.trim(), now).await
}

/// Disable a user: they can no longer log in, and every session of theirs ends at once.
pub async fn disable_user<C>(db: &C, email: &str, actor: &str, now: DateTime<Utc>) -> Result<(), AccountError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let user =
        repo::users::find_by_email(db, email).await?.ok_or_else(|| AccountError::UnknownUser(email.to_owned()))?;
    let txn = crate::db::begin_write(db).await?;
    repo::users::set_active(&txn, user.id, false).await?;
    let ended = crate::sessions::end_all(&txn, user.id, now).await?;
    repo::audit::record(
        &txn,
        now,
        actor,
        "user.disable",
        Some(format!("user:{}", user.id)),
        Some(serde_json::json!({"sessions_ended": ended})),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Set a user's password (checked for strength, hashed with argon2id off the async workers);
/// every session of theirs ends.
pub async fn set_password<C>(
    db: &C,
    email: &str,
    new_password: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError>
where
    C: ConnectionTrait + TransactionTrait,
{
    password::check_strength(new_password)?;
    let user =
        repo::users::find_by_email(db, email).await?.ok_or_else(|| AccountError::UnknownUser(email.to_owned()))?;
    let clear = new_password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || password::hash(&clear)).await??;
    let txn = crate::db::begin_write(db).await?;
    repo::users::set_password_hash(&txn, user.id, password_hash).await?;
    crate::sessions::end_all(&txn, user.id, now).await?;
    repo::audit::record(&txn, now, actor, "user.set_password", Some(format!("user:{}", user.id)), None).await?;
    txn.commit().await?;
    Ok(())
}

/// Revoke the active API key with this public prefix.
pub async fn revoke_api_key<C>(db: &C, prefix: &str, actor: &str, now: DateTime<Utc>) -> Result<(), AccountError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let key = repo::api_keys::find_active_by_prefix(db, prefix.trim())
        .await?
        .ok_or_else(|| AccountError::UnknownKey(prefix.to_owned()))?;
    let txn = crate::db::begin_write(db).await?;
    repo::api_keys::revoke(&txn, key.id, now).await?;
    repo::audit::record(&txn, now, actor, "api_key.revoke", Some(format!("api_key:{}", key.id)), None).await?;
    txn.commit().await?;
    Ok(())
}

/// Change a user's role and direction scope (an administrator sees every direction).
pub async fn set_role<C>(
    db: &C,
    user_id: i64,
    role: Role,
    direction_code: Option<String>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError>
where
    C: ConnectionTrait + TransactionTrait,
{
    if role == Role::Admin && direction_code.is_some() {
        return Err(AccountError::ScopedAdmin);
    }
    let direction_id = match &direction_code {
        None => None,
        Some(code) => Some(resolve_direction(db, code).await?),
    };
    let txn = crate::db::begin_write(db).await?;
    repo::users::set_role(&txn, user_id, role, direction_id).await?;
    // A changed role or scope takes effect at once: the user logs in again.
    crate::sessions::end_all(&txn, user_id, now).await?;
    repo::audit::record(
        &txn,
        now,
        actor,
        "user.set_role",
        Some(format!("user:{user_id}")),
        Some(serde_json::json!({"role": role.as_str(), "direction": direction_code})),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Give a user a new random password, returned to be shown once; their sessions end.
pub async fn reset_password<C>(db: &C, user_id: i64, actor: &str, now: DateTime<Utc>) -> Result<String, AccountError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let user = repo::users::find(db, user_id).await?.ok_or_else(|| AccountError::UnknownUser(format!("#{user_id}")))?;
    // 16 random bytes as 32 hex digits: strong, and easy to type once.
    let generated = hex::encode(rand::random::<[u8; 16]>());
    set_password(db, &user.email, &generated, actor, now).await?;
    Ok(generated)
}
