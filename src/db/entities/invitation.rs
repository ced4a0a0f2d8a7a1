//! Entity for the `invitations` table (schema in migrations/).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub service_request_id: i64,
    pub sampling_run_id: Option<i64>,
    #[sea_orm(unique)]
    #[serde(skip)]
    pub token_hash: String,
    pub direction_id: i64,
    pub channel_id: i64,
    pub stratum: String,
    pub inclusion_probability: f64,
    pub state: String,
    pub locale: String,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub reminded_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub responded_at: Option<DateTimeUtc>,
    /// What the survey token is derived from (`SurveyToken::derive`); erased when the invitation ends.
    pub token_salt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
