//! Entity for the `service_requests` table (schema in migrations/).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "service_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub crm_id: String,
    pub direction_id: i64,
    pub channel_id: i64,
    pub service_code: Option<String>,
    pub service_name: Option<String>,
    pub status: String,
    pub requested_at: Option<DateTimeUtc>,
    pub crm_updated_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_hash: Option<String>,
    pub locale: String,
    pub source: String,
    pub personal_data_purged_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
