use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::db::entities::ingestion_error;

pub struct NewIngestionError {
    pub source: String,
    pub crm_id: Option<String>,
    pub line_number: Option<i64>,
    pub raw_payload: String,
    pub reasons: serde_json::Value,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, row: NewIngestionError) -> Result<ingestion_error::Model, DbErr> {
    ingestion_error::ActiveModel {
        source: Set(row.source),
        crm_id: Set(row.crm_id),
        line_number: Set(row.line_number),
        raw_payload: Set(row.raw_payload),
        reasons: Set(row.reasons),
        received_at: Set(row.received_at),
        replay_count: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await
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
