//! The delivery outbox: claiming due messages under a lease, recording what became of them, and
//! the invitation states that follow (sent, expired, failed, opted out).
//!
//! Invitation states: `pending` (not yet sent), `sent`, `answered`, `expired`, `failed`,
//! `opted_out`. Outbox states: `pending`, `sending` (claimed until `lease_until`), `sent`,
//! `failed`, `cancelled`. Kinds: `invitation`, `reminder`.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};

use crate::db::sql::{Params, to_json};

/// States in which an invitation may still be sent something.
const OPEN_STATES: &str = "('pending', 'sent')";

/// `column IN (ids)`, the ids bound as one JSON array.
fn in_ids(params: &mut Params, backend: DbBackend, column: &str, ids: &[i64]) -> Result<String, DbErr> {
    let ids = params.bind(to_json(ids)?);
    Ok(if backend == DbBackend::Postgres {
        format!("{column} IN (SELECT value::bigint FROM jsonb_array_elements_text({ids}::jsonb))")
    } else {
        format!("{column} IN (SELECT value FROM json_each({ids}))")
    })
}

/// A message a dispatcher holds.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Claimed {
    pub id: i64,
    pub invitation_id: i64,
    pub kind: String,
    /// Including this one.
    pub attempts: i32,
    /// A link stored by a version before derived tokens (its row predates migration 14).
    pub survey_link: Option<String>,
}

/// Claim up to `limit` due messages — pending ones whose time has come, and ones whose
/// dispatcher's lease ran out — until `lease_until`, counting the attempt. Two dispatchers never
/// claim the same message: on PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED` (a second
/// dispatcher takes the next ones); on SQLite the statement runs alone (one writer at a time).
pub async fn claim(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Claimed>, DbErr> {
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let lease = params.bind(lease_until);
    let (due, expired) = (params.bind(now), params.bind(now));
    let limit = params.bind(i64::from(limit));
    let lock = if backend == DbBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE outbox SET state = 'sending', lease_until = {lease}, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox \
           WHERE (state = 'pending' AND next_attempt_at <= {due}) OR (state = 'sending' AND lease_until < {expired}) \
           ORDER BY next_attempt_at, id LIMIT {limit} {lock}) \
         RETURNING id, invitation_id, kind, attempts, survey_link"
    );
    let mut claimed = Claimed::find_by_statement(params.statement(sql)).all(db).await?;
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// What a message needs from its invitation and request.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MessageContext {
    pub invitation_id: i64,
    pub state: String,
    pub locale: String,
    pub token_hash: String,
    pub token_salt: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub crm_id: String,
    pub service_name: Option<String>,
    pub service_code: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub opted_out: bool,
}

pub async fn contexts(db: &impl ConnectionTrait, invitation_ids: &[i64]) -> Result<Vec<MessageContext>, DbErr> {
    if invitation_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let filter = in_ids(&mut params, backend, "i.id", invitation_ids)?;
    let sql = format!(
        "SELECT i.id AS invitation_id, i.state, i.locale, i.token_hash, i.token_salt, i.sent_at, i.expires_at, \
         r.crm_id, r.service_name, r.service_code, r.contact_email, r.contact_phone, \
         (r.contact_hash IS NOT NULL AND EXISTS (SELECT 1 FROM opt_outs o WHERE o.contact_hash = r.contact_hash)) \
         AS opted_out \
         FROM invitations i JOIN service_requests r ON r.id = i.service_request_id WHERE {filter}"
    );
    MessageContext::find_by_statement(params.statement(sql)).all(db).await
}

/// What became of a claimed message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent,
    /// A temporary failure: try again at that time.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    /// A permanent failure (or the last attempt): the message, and for a first invitation the
    /// invitation, fail.
    Failed {
        error: String,
    },
    /// Nothing to send any more (the invitation was answered, expired or opted out).
    Cancelled {
        reason: String,
    },
}

/// Record the outcomes of a batch in one transaction's worth of statements: the messages sent
/// (set-based: a batch of hundreds costs a few statements), their invitations `sent` with their
/// expiry and their reminder scheduled, or reminded; retries, failures and cancellations row by
/// row (rare). A message whose lease was taken over meanwhile (`state` no longer `sending`) is
/// left to its new holder.
pub async fn record(
    db: &impl ConnectionTrait,
    outcomes: &[(Claimed, Outcome)],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    reminder_at: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let sent: Vec<&Claimed> = outcomes.iter().filter(|(_, o)| *o == Outcome::Sent).map(|(c, _)| c).collect();
    if !sent.is_empty() {
        let ids: Vec<i64> = sent.iter().map(|c| c.id).collect();
        let mut params = Params::new(backend);
        let at = params.bind(now);
        let filter = in_ids(&mut params, backend, "id", &ids)?;
        db.execute_raw(params.statement(format!(
            "UPDATE outbox SET state = 'sent', sent_at = {at}, lease_until = NULL, survey_link = NULL, \
             last_error = NULL WHERE {filter}"
        )))
        .await?;
        let first: Vec<i64> = sent.iter().filter(|c| c.kind == "invitation").map(|c| c.invitation_id).collect();
        if !first.is_empty() {
            let mut params = Params::new(backend);
            let (at, expires) = (params.bind(now), params.bind(expires_at));
            let filter = in_ids(&mut params, backend, "id", &first)?;
            db.execute_raw(params.statement(format!(
                "UPDATE invitations SET state = 'sent', sent_at = {at}, expires_at = {expires} \
                 WHERE {filter} AND state = 'pending'"
            )))
            .await?;
            if let Some(reminder_at) = reminder_at {
                let mut params = Params::new(backend);
                let (next, created) = (params.bind(reminder_at), params.bind(now));
                let filter = in_ids(&mut params, backend, "id", &first)?;
                db.execute_raw(params.statement(format!(
                    "INSERT INTO outbox (invitation_id, kind, state, attempts, next_attempt_at, created_at) \
                     SELECT id, 'reminder', 'pending', 0, {next}, {created} FROM invitations \
                     WHERE {filter} AND state = 'sent' ON CONFLICT (invitation_id, kind) DO NOTHING"
                )))
                .await?;
            }
        }
        let reminded: Vec<i64> = sent.iter().filter(|c| c.kind == "reminder").map(|c| c.invitation_id).collect();
        if !reminded.is_empty() {
            let mut params = Params::new(backend);
            let at = params.bind(now);
            let filter = in_ids(&mut params, backend, "id", &reminded)?;
            db.execute_raw(params.statement(format!("UPDATE invitations SET reminded_at = {at} WHERE {filter}")))
                .await?;
        }
    }
    for (claimed, outcome) in outcomes {
        let mut params = Params::new(backend);
        let sql = match outcome {
            Outcome::Sent => continue,
            Outcome::Retry { error, at } => format!(
                "UPDATE outbox SET state = 'pending', next_attempt_at = {}, last_error = {}, lease_until = NULL \
                 WHERE id = {} AND state = 'sending'",
                params.bind(*at),
                params.bind(error.clone()),
                params.bind(claimed.id)
            ),
            Outcome::Failed { error } => format!(
                "UPDATE outbox SET state = 'failed', last_error = {}, lease_until = NULL, survey_link = NULL \
                 WHERE id = {} AND state = 'sending'",
                params.bind(error.clone()),
                params.bind(claimed.id)
            ),
            Outcome::Cancelled { reason } => format!(
                "UPDATE outbox SET state = 'cancelled', last_error = {}, lease_until = NULL, survey_link = NULL \
                 WHERE id = {} AND state = 'sending'",
                params.bind(reason.clone()),
                params.bind(claimed.id)
            ),
        };
        db.execute_raw(params.statement(sql)).await?;
        if matches!(outcome, Outcome::Failed { .. }) && claimed.kind == "invitation" {
            end_invitations(db, &[claimed.invitation_id], "failed").await?;
        }
    }
    Ok(())
}

/// End invitations still open (`state` in pending, sent) with `state`: their salt is erased (no
/// link can be rebuilt) and their pending messages cancelled. Returns how many ended.
pub async fn end_invitations(db: &impl ConnectionTrait, invitation_ids: &[i64], state: &str) -> Result<u64, DbErr> {
    if invitation_ids.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let new_state = params.bind(state);
    let filter = in_ids(&mut params, backend, "id", invitation_ids)?;
    let sql = format!(
        "UPDATE invitations SET state = {new_state}, token_salt = NULL WHERE {filter} AND state IN {OPEN_STATES} \
         RETURNING id"
    );
    let ended = ended_ids(db, params.statement(sql)).await?;
    cancel_pending_of(db, &ended).await?;
    Ok(ended.len() as u64)
}

/// The ids an `UPDATE … RETURNING id` ended.
async fn ended_ids(db: &impl ConnectionTrait, statement: Statement) -> Result<Vec<i64>, DbErr> {
    db.query_all_raw(statement).await?.iter().map(|row| row.try_get_by_index::<i64>(0)).collect()
}

/// Mark an invitation answered at `at`: it ends (its salt erased, its pending reminder cancelled).
pub async fn answered(db: &impl ConnectionTrait, invitation_id: i64, at: DateTime<Utc>) -> Result<(), DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "UPDATE invitations SET state = 'answered', responded_at = {}, token_salt = NULL \
         WHERE id = {} AND state IN {OPEN_STATES}",
        params.bind(at),
        params.bind(invitation_id)
    );
    db.execute_raw(params.statement(sql)).await?;
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "UPDATE outbox SET state = 'cancelled', last_error = 'the invitation has ended', survey_link = NULL \
         WHERE invitation_id = {} AND state = 'pending'",
        params.bind(invitation_id)
    );
    db.execute_raw(params.statement(sql)).await?;
    Ok(())
}

/// Expire the sent invitations whose time is over; returns how many.
pub async fn expire(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let at = params.bind(now);
    let sql = format!(
        "UPDATE invitations SET state = 'expired', token_salt = NULL WHERE state = 'sent' AND expires_at <= {at} \
         RETURNING id"
    );
    let expired = ended_ids(db, params.statement(sql)).await?;
    cancel_pending_of(db, &expired).await?;
    Ok(expired.len() as u64)
}

/// Cancel the pending messages of invitations that have ended (through the outbox's index on
/// `invitation_id`: an answer costs a look-up, not a scan); returns how many.
pub async fn cancel_pending_of(db: &impl ConnectionTrait, invitation_ids: &[i64]) -> Result<u64, DbErr> {
    if invitation_ids.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let filter = in_ids(&mut params, backend, "invitation_id", invitation_ids)?;
    let sql = format!(
        "UPDATE outbox SET state = 'cancelled', last_error = 'the invitation has ended', survey_link = NULL \
         WHERE state = 'pending' AND {filter}"
    );
    Ok(db.execute_raw(params.statement(sql)).await?.rows_affected())
}

/// Record an opt-out of `contact_hash` (idempotent) and end every open invitation of that contact;
/// returns whether the opt-out is new.
pub async fn opt_out(
    db: &impl ConnectionTrait,
    contact_hash: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let sql = format!(
        "INSERT INTO opt_outs (contact_hash, source, created_at) VALUES ({}, {}, {}) \
         ON CONFLICT (contact_hash) DO NOTHING",
        params.bind(contact_hash),
        params.bind(source),
        params.bind(now)
    );
    let new = db.execute_raw(params.statement(sql)).await?.rows_affected() > 0;
    let mut params = Params::new(backend);
    let hash = params.bind(contact_hash);
    // From the open invitations (few, by their state index) to their requests by id: requests are
    // not indexed by contact hash (migration 17).
    let sql = format!(
        "UPDATE invitations SET state = 'opted_out', token_salt = NULL WHERE state IN {OPEN_STATES} \
         AND EXISTS (SELECT 1 FROM service_requests r WHERE r.id = invitations.service_request_id \
         AND r.contact_hash = {hash}) RETURNING id"
    );
    let ended = ended_ids(db, params.statement(sql)).await?;
    cancel_pending_of(db, &ended).await?;
    Ok(new)
}

/// The invitation a survey token's hash belongs to, with its request's contact hash.
#[derive(Debug, Clone, FromQueryResult)]
pub struct TokenOwner {
    pub invitation_id: i64,
    pub state: String,
    pub locale: String,
    pub contact_hash: Option<String>,
}

pub async fn find_by_token_hash(db: &impl ConnectionTrait, token_hash: &str) -> Result<Option<TokenOwner>, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "SELECT i.id AS invitation_id, i.state, i.locale, r.contact_hash FROM invitations i \
         JOIN service_requests r ON r.id = i.service_request_id WHERE i.token_hash = {}",
        params.bind(token_hash)
    );
    TokenOwner::find_by_statement(params.statement(sql)).one(db).await
}

/// What `GET /api/v1/delivery` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryFigures {
    /// Messages by kind and state.
    pub messages: Vec<KindStateCount>,
    /// The longest-waiting due message: when it was due, and for how many seconds it has waited.
    pub oldest_due_at: Option<DateTime<Utc>>,
    pub oldest_due_seconds: Option<i64>,
    /// Failed messages by reason (the error up to its first colon: "SMTP 550", "webhook answered
    /// 404 Not Found", …).
    pub failures: Vec<ReasonCount>,
    /// Messages sent per city day over the last 30 days.
    pub sent_per_day: Vec<DayCount>,
}

#[derive(Debug, Clone, serde::Serialize, FromQueryResult)]
pub struct KindStateCount {
    pub kind: String,
    pub state: String,
    pub count: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: i64,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DayCount {
    pub day: String,
    pub invitations: i64,
    pub reminders: i64,
}

pub async fn figures(
    db: &impl ConnectionTrait,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<DeliveryFigures, DbErr> {
    let backend = db.get_database_backend();
    let messages = KindStateCount::find_by_statement(Statement::from_string(
        backend,
        "SELECT kind, state, COUNT(*) AS count FROM outbox GROUP BY kind, state ORDER BY kind, state",
    ))
    .all(db)
    .await?;

    #[derive(FromQueryResult)]
    struct Oldest {
        due: Option<DateTime<Utc>>,
    }
    let mut params = Params::new(backend);
    let sql = format!(
        "SELECT MIN(next_attempt_at) AS due FROM outbox WHERE state = 'pending' AND next_attempt_at <= {}",
        params.bind(now)
    );
    let oldest = Oldest::find_by_statement(params.statement(sql)).one(db).await?.and_then(|o| o.due);

    #[derive(FromQueryResult)]
    struct Failure {
        last_error: Option<String>,
        count: i64,
    }
    let failures = Failure::find_by_statement(Statement::from_string(
        backend,
        "SELECT last_error, COUNT(*) AS count FROM outbox WHERE state = 'failed' GROUP BY last_error",
    ))
    .all(db)
    .await?;
    let mut reasons: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for failure in failures {
        let text = failure.last_error.unwrap_or_default();
        let reason = text.split(':').next().unwrap_or("").trim().to_owned();
        *reasons.entry(if reason.is_empty() { "unknown".into() } else { reason }).or_default() += failure.count;
    }

    #[derive(FromQueryResult)]
    struct Sent {
        kind: String,
        sent_at: Option<DateTime<Utc>>,
    }
    let mut params = Params::new(backend);
    let sql = format!(
        "SELECT kind, sent_at FROM outbox WHERE state = 'sent' AND sent_at >= {}",
        params.bind(now - chrono::Duration::days(30))
    );
    let mut days: std::collections::BTreeMap<String, DayCount> = std::collections::BTreeMap::new();
    for sent in Sent::find_by_statement(params.statement(sql)).all(db).await? {
        let Some(at) = sent.sent_at else { continue };
        let day = at.with_timezone(&zone).date_naive().to_string();
        let entry = days.entry(day.clone()).or_insert_with(|| DayCount { day, ..DayCount::default() });
        if sent.kind == "reminder" { entry.reminders += 1 } else { entry.invitations += 1 }
    }
    Ok(DeliveryFigures {
        messages,
        oldest_due_at: oldest,
        oldest_due_seconds: oldest.map(|at| (now - at).num_seconds()),
        failures: reasons.into_iter().map(|(reason, count)| ReasonCount { reason, count }).collect(),
        sent_per_day: days.into_values().collect(),
    })
}
