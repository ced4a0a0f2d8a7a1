//! Entity for the `sampling_decisions` table (schema in migrations/).

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// The run that decided a request (sampled or not). One row per request, ever.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "sampling_decisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_request_id: i64,
    pub sampling_run_id: i64,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
