//! Queries of the sampling job: the frame, the exclusion sets, the history behind adaptive
//! rates, and the batch writes (invitations, outbox rows, decision marks).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict, Order, Query},
};

use crate::db::entities::{invitation, opt_out, outbox, response, sampling_decision, sampling_run, service_request};
use crate::sampling::eligibility::{Candidate, ContactKey, Status, contact_key};

#[derive(Debug, FromQueryResult)]
struct CandidateRow {
    id: i64,
    direction_id: i64,
    channel_id: i64,
    status: String,
    service_code: Option<String>,
    has_email: bool,
    has_phone: bool,
    contact_hash: Option<String>,
    closed_at: DateTime<Utc>,
}

/// Where a page of candidates ends: the next page starts after it.
#[derive(Debug, Clone, Copy)]
pub struct PageMark {
    pub closed_at: DateTime<Utc>,
    pub id: i64,
}

/// Requests closed in `[from, to]`, not decided by an earlier run and without an invitation,
/// `limit` at a time in (closed_at, id) order after `after`: keyset paging along the
/// (closed_at, id) index, so memory stays flat and no page sorts the table.
pub async fn candidates_page(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<PageMark>,
    limit: u64,
    excluded_service_codes: &HashSet<String>,
) -> Result<Vec<Candidate>, DbErr> {
    use service_request::Column as C;
    let invited = Query::select()
        .expr(Expr::val(1))
        .from(invitation::Entity)
        .and_where(
            Expr::col((invitation::Entity, invitation::Column::ServiceRequestId))
                .equals((service_request::Entity, C::Id)),
        )
        .take();
    let decided = Query::select()
        .expr(Expr::val(1))
        .from(sampling_decision::Entity)
        .and_where(
            Expr::col((sampling_decision::Entity, sampling_decision::Column::ServiceRequestId))
                .equals((service_request::Entity, C::Id)),
        )
        .take();
    let mut query = Query::select();
    query
        .columns([C::Id, C::DirectionId, C::ChannelId, C::Status, C::ServiceCode, C::ContactHash, C::ClosedAt])
        .expr_as(Expr::col(C::ContactEmail).is_not_null(), "has_email")
        .expr_as(Expr::col(C::ContactPhone).is_not_null(), "has_phone")
        .from(service_request::Entity)
        .and_where(Expr::exists(decided).not())
        .and_where(Expr::col(C::ClosedAt).gte(from))
        .and_where(Expr::col(C::ClosedAt).lte(to))
        .and_where(Expr::exists(invited).not())
        .order_by(C::ClosedAt, Order::Asc)
        .order_by(C::Id, Order::Asc)
        .limit(limit);
    if let Some(mark) = after {
        // A row comparison, which both databases turn into an index range; the equivalent
        // "a > x OR (a = x AND b > y)" makes PostgreSQL scan from the window's start every page.
        query.and_where(
            Expr::tuple([Expr::col(C::ClosedAt), Expr::col(C::Id)])
                .gt(Expr::tuple([Expr::val(mark.closed_at), Expr::val(mark.id)])),
        );
    }
    let statement = db.get_database_backend().build(&query);
    let rows = CandidateRow::find_by_statement(statement).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| Candidate {
            id: r.id,
            direction_id: r.direction_id,
            channel_id: r.channel_id,
            status: Status::of(&r.status),
            excluded_service: r.service_code.is_some_and(|code| excluded_service_codes.contains(&code)),
            has_email: r.has_email,
            has_phone: r.has_phone,
            contact: r.contact_hash.as_deref().map(contact_key),
            closed_at: r.closed_at,
        })
        .collect())
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
        .filter(sampling_run::Column::Status.eq("completed"))
        .order_by_asc(sampling_run::Column::StartedAt)
        .all(db)
        .await
}

pub async fn recent_runs(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<sampling_run::Model>, DbErr> {
    sampling_run::Entity::find().order_by_desc(sampling_run::Column::Id).limit(limit).all(db).await
}

pub async fn insert_run(
    db: &impl ConnectionTrait,
    run: sampling_run::ActiveModel,
) -> Result<sampling_run::Model, DbErr> {
    run.insert(db).await
}

pub async fn update_run(
    db: &impl ConnectionTrait,
    run: sampling_run::ActiveModel,
) -> Result<sampling_run::Model, DbErr> {
    run.update(db).await
}

/// One sampled request ready to be written.
pub struct NewInvitation {
    pub service_request_id: i64,
    pub direction_id: i64,
    pub channel_id: i64,
    pub stratum: String,
    pub inclusion_probability: f64,
    pub token_hash: String,
    pub survey_link: String,
    pub locale: String,
}

/// Write a batch: invitations (a request already invited is skipped, never duplicated), their
/// outbox rows, and the decision mark on every request of the batch. Call inside a transaction.
/// Returns how many invitations were created.
pub async fn write_batch(
    db: &impl ConnectionTrait,
    run_id: i64,
    invitations: Vec<NewInvitation>,
    decided_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut links: HashMap<i64, String> = HashMap::new();
    let sampled_ids: Vec<i64> = invitations.iter().map(|i| i.service_request_id).collect();
    let rows: Vec<invitation::ActiveModel> = invitations
        .into_iter()
        .map(|i| {
            links.insert(i.service_request_id, i.survey_link);
            invitation::ActiveModel {
                service_request_id: Set(i.service_request_id),
                sampling_run_id: Set(Some(run_id)),
                token_hash: Set(i.token_hash),
                direction_id: Set(i.direction_id),
                channel_id: Set(i.channel_id),
                stratum: Set(i.stratum),
                inclusion_probability: Set(i.inclusion_probability),
                state: Set("pending".into()),
                locale: Set(i.locale),
                created_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    let mut created = 0;
    if !rows.is_empty() {
        invitation::Entity::insert_many(rows)
            .on_conflict(OnConflict::column(invitation::Column::ServiceRequestId).do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
        let mine = invitation::Entity::find()
            .filter(invitation::Column::SamplingRunId.eq(run_id))
            .filter(invitation::Column::ServiceRequestId.is_in(sampled_ids))
            .all(db)
            .await?;
        created = mine.len() as u64;
        let messages: Vec<outbox::ActiveModel> = mine
            .into_iter()
            .map(|inv| outbox::ActiveModel {
                invitation_id: Set(inv.id),
                kind: Set("invitation".into()),
                state: Set("pending".into()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                survey_link: Set(links.remove(&inv.service_request_id)),
                created_at: Set(now),
                ..Default::default()
            })
            .collect();
        if !messages.is_empty() {
            outbox::Entity::insert_many(messages).exec_without_returning(db).await?;
        }
    }
    if !decided_ids.is_empty() {
        let marks = decided_ids.iter().map(|&id| sampling_decision::ActiveModel {
            service_request_id: Set(id),
            sampling_run_id: Set(run_id),
            decided_at: Set(now),
        });
        sampling_decision::Entity::insert_many(marks)
            .on_conflict(OnConflict::column(sampling_decision::Column::ServiceRequestId).do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
    }
    Ok(created)
}

/// Locales of the given requests (for the invitation's language).
pub async fn locales(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(service_request::Entity::find()
        .select_only()
        .column(service_request::Column::Id)
        .column(service_request::Column::Locale)
        .filter(service_request::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}
