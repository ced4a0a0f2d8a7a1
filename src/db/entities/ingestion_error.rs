//! Entity for the `ingestion_errors` table (schema in migrations/).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ingestion_errors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub source: String,
    pub crm_id: Option<String>,
    pub line_number: Option<i64>,
    pub raw_payload: String,
    pub reasons: Json,
    pub received_at: DateTimeUtc,
    pub replay_count: i32,
    pub resolved_at: Option<DateTimeUtc>,
    /// SHA-256 of (source, id, payload): one row per distinct rejected item (none before migration 9).
    #[serde(skip)]
    pub fingerprint: Option<String>,
    /// How many times this same item was received and rejected.
    pub seen_count: i32,
    pub last_seen_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
