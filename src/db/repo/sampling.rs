//! Queries of the sampling job: the frame, the exclusion sets, the history behind adaptive
//! rates, and the batch writes (invitations, outbox rows, decision marks).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    StreamTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use serde::Serialize;

use crate::db::entities::{invitation, opt_out, response, sampling_decision, sampling_run, service_request};
use crate::db::sql::{JsonRows, Params, to_json};
use crate::domain::{ContactKey, RequestStatus, RunStatus, contact::contact_key};

/// A request in the run's window that no earlier run decided. Kept small: a run over a
/// million requests holds a million of these.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    pub direction_id: i64,
    pub channel_id: i64,
    /// Anything the CRM reports that we do not know counts as open: not decided now.
    pub status: RequestStatus,
    /// Its service code is on the exclusion list.
    pub excluded_service: bool,
    pub has_email: bool,
    pub has_phone: bool,
    pub contact: Option<ContactKey>,
    pub closed_at: DateTime<Utc>,
}

/// Requests closed in `[from, to]`, not decided by an earlier run and without an invitation,
/// streamed in no particular order (the rules and the draw do not depend on it): one query, no
/// sort, and only the compact candidates are kept in memory.
pub async fn candidates<C>(
    db: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    excluded_service_codes: &HashSet<String>,
) -> Result<Vec<Candidate>, DbErr>
where
    C: ConnectionTrait + StreamTrait,
{
    use service_request::Column as C;
    let invited = Query::select()
        .expr(Expr::cust("1"))
        .from(invitation::Entity)
        .and_where(
            Expr::col((invitation::Entity, invitation::Column::ServiceRequestId))
                .equals((service_request::Entity, C::Id)),
        )
        .take();
    let decided = Query::select()
        .expr(Expr::cust("1"))
        .from(sampling_decision::Entity)
        .and_where(
            Expr::col((sampling_decision::Entity, sampling_decision::Column::ServiceRequestId))
                .equals((service_request::Entity, C::Id)),
        )
        .take();
    // Read by position below: keep this column order.
    let query = Query::select()
        .columns([C::Id, C::DirectionId, C::ChannelId, C::Status, C::ServiceCode, C::ContactHash, C::ClosedAt])
        .expr(Expr::col(C::ContactEmail).is_not_null())
        .expr(Expr::col(C::ContactPhone).is_not_null())
        .from(service_request::Entity)
        .and_where(Expr::col(C::ClosedAt).gte(from))
        .and_where(Expr::col(C::ClosedAt).lte(to))
        .and_where(Expr::exists(decided).not())
        .and_where(Expr::exists(invited).not())
        .take();
    let statement = ConnectionTrait::get_database_backend(db).build(&query);
    let rows = db.stream_raw(statement).await?;
    let mut rows = std::pin::pin!(rows);
    let mut candidates = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let service_code: Option<String> = row.try_get_by_index(4)?;
        let contact_hash: Option<String> = row.try_get_by_index(5)?;
        let status: String = row.try_get_by_index(3)?;
        candidates.push(Candidate {
            id: row.try_get_by_index(0)?,
            direction_id: row.try_get_by_index(1)?,
            channel_id: row.try_get_by_index(2)?,
            status: RequestStatus::parse(&status).unwrap_or(RequestStatus::Open),
            excluded_service: service_code.is_some_and(|code| excluded_service_codes.contains(&code)),
            contact: contact_hash.as_deref().map(contact_key),
            closed_at: row.try_get_by_index(6)?,
            has_email: row.try_get_by_index(7)?,
            has_phone: row.try_get_by_index(8)?,
        });
    }
    Ok(candidates)
}

pub async fn opted_out_hashes(db: &impl ConnectionTrait) -> Result<HashSet<ContactKey>, DbErr> {
    Ok(opt_out::Entity::find().all(db).await?.into_iter().map(|o| contact_key(&o.contact_hash)).collect())
}

#[derive(Debug, FromQueryResult)]
struct HashRow {
    contact_hash: String,
}

/// Contact hashes invited since `since` (the quarantine rule; hashes survive the purge).
pub async fn recently_invited_hashes(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<HashSet<ContactKey>, DbErr> {
    let query = Query::select()
        .distinct()
        .column((service_request::Entity, service_request::Column::ContactHash))
        .from(invitation::Entity)
        .inner_join(
            service_request::Entity,
            Expr::col((service_request::Entity, service_request::Column::Id))
                .equals((invitation::Entity, invitation::Column::ServiceRequestId)),
        )
        .and_where(Expr::col((invitation::Entity, invitation::Column::CreatedAt)).gte(since))
        .and_where(Expr::col((service_request::Entity, service_request::Column::ContactHash)).is_not_null())
        .take();
    let statement = db.get_database_backend().build(&query);
    Ok(HashRow::find_by_statement(statement).all(db).await?.into_iter().map(|r| contact_key(&r.contact_hash)).collect())
}

#[derive(Debug, FromQueryResult)]
struct StratumCount {
    stratum: String,
    n: i64,
}

/// Per stratum: (invitations created in `[from, to]`, how many of them got a response).
pub async fn invitations_and_responses(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<String, (u64, u64)>, DbErr> {
    use invitation::Column as I;
    let invitations = Query::select()
        .column(I::Stratum)
        .expr_as(Expr::col(I::Id).count(), "n")
        .from(invitation::Entity)
        .and_where(Expr::col(I::CreatedAt).gte(from))
        .and_where(Expr::col(I::CreatedAt).lte(to))
        .group_by_col(I::Stratum)
        .take();
    let responses = Query::select()
        .column((invitation::Entity, I::Stratum))
        .expr_as(Expr::col((response::Entity, response::Column::Id)).count(), "n")
        .from(response::Entity)
        .inner_join(
            invitation::Entity,
            Expr::col((invitation::Entity, I::Id)).equals((response::Entity, response::Column::InvitationId)),
        )
        .and_where(Expr::col((invitation::Entity, I::CreatedAt)).gte(from))
        .and_where(Expr::col((invitation::Entity, I::CreatedAt)).lte(to))
        .group_by_col((invitation::Entity, I::Stratum))
        .take();
    let backend = db.get_database_backend();
    let mut out: HashMap<String, (u64, u64)> = HashMap::new();
    for row in StratumCount::find_by_statement(backend.build(&invitations)).all(db).await? {
        out.entry(row.stratum).or_default().0 = row.n as u64;
    }
    for row in StratumCount::find_by_statement(backend.build(&responses)).all(db).await? {
        out.entry(row.stratum).or_default().1 = row.n as u64;
    }
    Ok(out)
}

/// Completed, real runs started since `since`, oldest first.
pub async fn completed_runs_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<sampling_run::Model>, DbErr> {
    sampling_run::Entity::find()
        .filter(sampling_run::Column::StartedAt.gte(since))
        .filter(sampling_run::Column::DryRun.eq(false))
        .filter(sampling_run::Column::Status.eq(RunStatus::Completed.as_str()))
        .order_by_asc(sampling_run::Column::StartedAt)
        .all(db)
        .await
}

pub async fn recent_runs(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<sampling_run::Model>, DbErr> {
    sampling_run::Entity::find().order_by_desc(sampling_run::Column::Id).limit(limit).all(db).await
}

/// Closed requests of a channel, and how many of them can never be sampled for want of a usable
/// contact (the contact hash outlives the purge, so purged requests still count as reachable).
#[derive(Debug, FromQueryResult)]
pub struct ChannelCoverage {
    pub channel: String,
    pub closed: i64,
    pub without_contact: i64,
}

/// The frame's coverage, channel by channel (the operations page's table).
pub async fn frame_coverage(db: &impl ConnectionTrait) -> Result<Vec<ChannelCoverage>, DbErr> {
    let sql = "SELECT c.code AS channel, COUNT(*) AS closed, \
               SUM(CASE WHEN r.contact_hash IS NULL THEN 1 ELSE 0 END) AS without_contact \
               FROM service_requests r JOIN channels c ON c.id = r.channel_id WHERE r.status = 'closed' \
               GROUP BY c.code ORDER BY c.code";
    ChannelCoverage::find_by_statement(sea_orm::Statement::from_string(db.get_database_backend(), sql)).all(db).await
}

/// A run as it starts: what it will be audited by.
pub struct NewRun {
    pub started_at: DateTime<Utc>,
    pub as_of: DateTime<Utc>,
    pub seed: u64,
    pub dry_run: bool,
    pub parameters: serde_json::Value,
}

/// Record a run as running; returns its id.
pub async fn start_run(db: &impl ConnectionTrait, run: NewRun) -> Result<i64, DbErr> {
    let row = sampling_run::ActiveModel {
        started_at: Set(run.started_at),
        as_of: Set(run.as_of),
        // Stored bit-for-bit: the column is a signed 64-bit integer.
        seed: Set(run.seed as i64),
        dry_run: Set(run.dry_run),
        status: Set(RunStatus::Running.as_str().into()),
        parameters: Set(run.parameters),
        exclusions: Set(serde_json::json!({})),
        strata: Set(serde_json::json!([])),
        ..Default::default()
    };
    Ok(row.insert(db).await?.id)
}

/// What a finished run found.
pub struct RunTotals {
    pub status: RunStatus,
    pub population: u64,
    pub eligible: u64,
    pub sampled: u64,
    pub exclusions: serde_json::Value,
    pub strata: serde_json::Value,
}

pub async fn finish_run(
    db: &impl ConnectionTrait,
    id: i64,
    finished_at: DateTime<Utc>,
    totals: RunTotals,
) -> Result<(), DbErr> {
    sampling_run::ActiveModel {
        id: Set(id),
        finished_at: Set(Some(finished_at)),
        status: Set(totals.status.as_str().into()),
        population_count: Set(totals.population as i64),
        eligible_count: Set(totals.eligible as i64),
        sampled_count: Set(totals.sampled as i64),
        exclusions: Set(totals.exclusions),
        strata: Set(totals.strata),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Record that a run failed, and why.
pub async fn fail_run(db: &impl ConnectionTrait, id: i64, at: DateTime<Utc>, error: String) -> Result<(), DbErr> {
    sampling_run::ActiveModel {
        id: Set(id),
        finished_at: Set(Some(at)),
        status: Set(RunStatus::Failed.as_str().into()),
        error: Set(Some(error)),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// A stratum as the invitations of a batch refer to it (by its index in the run).
pub struct BatchStratum<'a> {
    pub index: u32,
    pub direction_id: i64,
    pub channel_id: i64,
    pub label: &'a str,
    pub inclusion_probability: f64,
}

/// One sampled request ready to be written; its stratum by index into the batch's strata.
#[derive(Serialize)]
pub struct NewInvitation {
    #[serde(rename = "id")]
    pub service_request_id: i64,
    pub stratum: u32,
    pub token_hash: String,
    /// What the token is derived from (the link itself is stored nowhere).
    pub token_salt: String,
}

/// Write a batch: its invitations (a request already invited is skipped, never duplicated), their
/// outbox rows, and the decision mark of every request of the batch. Call inside a transaction.
/// Returns how many invitations were created.
///
/// Three set-based statements whatever the batch size: the rows travel as one JSON parameter
/// each, read back by the database (`json_each` on SQLite, `jsonb_to_recordset` on PostgreSQL).
/// The strata, and with them the inclusion probabilities, are bound as typed parameters, so no
/// probability goes through a decimal text. A decision already recorded (a second run despite
/// the lease) fails the batch rather than pass unnoticed.
pub async fn write_batch(
    db: &impl ConnectionTrait,
    run_id: i64,
    strata: &[BatchStratum<'_>],
    invitations: &[NewInvitation],
    decided_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut created = 0;
    if !invitations.is_empty() {
        let created_ids = insert_invitations(db, run_id, strata, invitations, now).await?;
        created = created_ids.len() as u64;
        insert_outbox_messages(db, &created_ids, now).await?;
    }
    if !decided_ids.is_empty() {
        insert_decisions(db, run_id, decided_ids, now).await?;
    }
    Ok(created)
}

/// Inserts the invitations; returns (invitation id, request id) of those created (a request
/// already invited is skipped).
async fn insert_invitations(
    db: &impl ConnectionTrait,
    run_id: i64,
    strata: &[BatchStratum<'_>],
    invitations: &[NewInvitation],
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let strata_values: Vec<String> = strata
        .iter()
        .map(|s| {
            let values = [
                params.bind(i64::from(s.index)),
                params.bind(s.direction_id),
                params.bind(s.channel_id),
                params.bind(s.label),
                params.bind(s.inclusion_probability),
            ];
            if backend == DbBackend::Postgres {
                // VALUES gives its columns no types of its own.
                let [index, direction, channel, label, probability] = values;
                format!(
                    "({index}::bigint, {direction}::bigint, {channel}::bigint, {label}::text, {probability}::float8)"
                )
            } else {
                format!("({})", values.join(", "))
            }
        })
        .collect();
    let (run, at) = (params.bind(run_id), params.bind(now));
    let rows = JsonRows::new(
        backend,
        params.bind(to_json(invitations)?),
        &[("id", "bigint"), ("stratum", "bigint"), ("token_hash", "text"), ("token_salt", "text")],
    );
    let (id, stratum, token_hash, token_salt) =
        (rows.column("id"), rows.column("stratum"), rows.column("token_hash"), rows.column("token_salt"));
    let sql = format!(
        "WITH strata (k, direction_id, channel_id, stratum, inclusion_probability) AS (VALUES {strata}) \
         INSERT INTO invitations (service_request_id, sampling_run_id, token_hash, direction_id, channel_id, \
         stratum, inclusion_probability, state, locale, created_at, token_salt) \
         SELECT {id}, {run}, {token_hash}, s.direction_id, s.channel_id, s.stratum, s.inclusion_probability, \
         'pending', r.locale, {at}, {token_salt} \
         FROM {source} JOIN strata AS s ON s.k = {stratum} JOIN service_requests AS r ON r.id = {id} \
         WHERE true ON CONFLICT (service_request_id) DO NOTHING \
         RETURNING id, service_request_id",
        strata = strata_values.join(", "),
        source = rows.source,
    );
    let created = db.query_all_raw(params.statement(sql)).await?;
    created.iter().map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?))).collect()
}

/// One outbox message per created invitation (its link is derived at sending).
async fn insert_outbox_messages(
    db: &impl ConnectionTrait,
    created: &[(i64, i64)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    #[derive(Serialize)]
    struct Message {
        invitation_id: i64,
    }
    let messages: Vec<Message> = created.iter().map(|&(invitation_id, _)| Message { invitation_id }).collect();
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    // Bound once per use: SQLite's `?` cannot be referred to twice.
    let (next_attempt_at, created_at) = (params.bind(now), params.bind(now));
    let rows = JsonRows::new(backend, params.bind(to_json(&messages)?), &[("invitation_id", "bigint")]);
    let sql = format!(
        "INSERT INTO outbox (invitation_id, kind, state, attempts, next_attempt_at, created_at) \
         SELECT {}, 'invitation', 'pending', 0, {next_attempt_at}, {created_at} FROM {}",
        rows.column("invitation_id"),
        rows.source
    );
    db.execute_raw(params.statement(sql)).await?;
    Ok(())
}

/// The decision marks, in one statement; a request decided before makes it fail.
async fn insert_decisions(
    db: &impl ConnectionTrait,
    run_id: i64,
    decided_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let (run, at, ids) = (params.bind(run_id), params.bind(now), params.bind(to_json(decided_ids)?));
    let select = if backend == DbBackend::Postgres {
        format!("SELECT value::bigint, {run}, {at} FROM jsonb_array_elements_text({ids}::jsonb)")
    } else {
        format!("SELECT value, {run}, {at} FROM json_each({ids})")
    };
    let sql = format!("INSERT INTO sampling_decisions (service_request_id, sampling_run_id, decided_at) {select}");
    db.execute_raw(params.statement(sql)).await?;
    Ok(())
}

/// Refresh PostgreSQL's statistics of `invitations` while a run fills it (a no-op on SQLite,
/// which keeps no plans across statements this way).
///
/// Why during a run: PostgreSQL checks each outbox row's foreign key with a per-connection cached
/// plan. Planned while `invitations` was nearly empty, that plan is a sequential scan, and it is
/// kept as the table grows: a first run creating 80,000 invitations then spent 1 ms per outbox
/// row (150 s in all). `ANALYZE` invalidates the cached plans, which are then made again for the
/// table's real size (an index lookup). It takes no lock that blocks reads or writes.
pub async fn refresh_planner_statistics(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE invitations").await?;
    }
    Ok(())
}
