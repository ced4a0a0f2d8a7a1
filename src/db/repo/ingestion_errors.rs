use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::db::entities::ingestion_error;
use crate::db::sql::Params;

pub struct NewIngestionError {
    pub source: String,
    pub crm_id: Option<String>,
    pub line_number: Option<i64>,
    pub raw_payload: String,
    pub reasons: serde_json::Value,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// Keep a rejected item; returns its row's id. The same item (source, id and payload) received
/// again is the same row: its sighting is counted, its reasons refreshed, and it is open again
/// if a replay had resolved it. One atomic statement, so concurrent senders agree.
pub async fn keep(db: &impl ConnectionTrait, row: NewIngestionError) -> Result<i64, DbErr> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [row.source.as_str(), row.crm_id.as_deref().unwrap_or(""), row.raw_payload.as_str()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let fingerprint = hex::encode(hasher.finalize());
    let mut params = Params::new(db.get_database_backend());
    let values = [
        params.bind(row.source),
        params.bind(row.crm_id),
        params.bind(row.line_number),
        params.bind(row.raw_payload),
        params.bind(row.reasons),
        params.bind(row.received_at),
        params.bind(fingerprint),
        params.bind(row.received_at),
    ];
    let sql = format!(
        "INSERT INTO ingestion_errors (source, crm_id, line_number, raw_payload, reasons, received_at, fingerprint, \
         last_seen_at, replay_count, seen_count) VALUES ({}, 0, 1) \
         ON CONFLICT (fingerprint) DO UPDATE SET seen_count = ingestion_errors.seen_count + 1, \
         last_seen_at = excluded.last_seen_at, reasons = excluded.reasons, line_number = excluded.line_number, \
         resolved_at = NULL \
         RETURNING id",
        values.join(", ")
    );
    let stored = db.query_one_raw(params.statement(sql)).await?.ok_or_else(|| DbErr::RecordNotInserted)?;
    stored.try_get_by_index(0)
}

pub struct ErrorFilter {
    pub include_resolved: bool,
    pub source: Option<String>,
    pub after_id: Option<i64>,
    pub limit: u64,
}

pub async fn list(db: &impl ConnectionTrait, filter: &ErrorFilter) -> Result<Vec<ingestion_error::Model>, DbErr> {
    let mut query = ingestion_error::Entity::find().order_by_asc(ingestion_error::Column::Id);
    if !filter.include_resolved {
        query = query.filter(ingestion_error::Column::ResolvedAt.is_null());
    }
    if let Some(source) = &filter.source {
        query = query.filter(ingestion_error::Column::Source.eq(source.as_str()));
    }
    if let Some(after) = filter.after_id {
        query = query.filter(ingestion_error::Column::Id.gt(after));
    }
    query.limit(filter.limit).all(db).await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<ingestion_error::Model>, DbErr> {
    ingestion_error::Entity::find_by_id(id).one(db).await
}

pub async fn mark_replayed(
    db: &impl ConnectionTrait,
    row: ingestion_error::Model,
    outcome: Result<(), serde_json::Value>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<ingestion_error::Model, DbErr> {
    let replays = row.replay_count + 1;
    let mut active: ingestion_error::ActiveModel = row.into();
    active.replay_count = Set(replays);
    match outcome {
        Ok(()) => active.resolved_at = Set(Some(at)),
        Err(reasons) => active.reasons = Set(reasons),
    }
    active.update(db).await
}
