//! Entity for the `responses` table (schema in migrations/).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub invitation_id: Option<i64>,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub questionnaire_version: Option<i32>,
    pub overall_score: i16,
    pub score_timeliness: Option<i16>,
    pub score_courtesy: Option<i16>,
    pub score_competence: Option<i16>,
    pub score_clarity: Option<i16>,
    pub score_fairness: Option<i16>,
    pub answers: Option<Json>,
    pub comment: Option<String>,
    pub follow_up_requested: bool,
    pub completion: String,
    pub source: String,
    pub submitted_at: DateTimeUtc,
    pub direction_id: i64,
    pub channel_id: i64,
    pub stratum: String,
    pub weight: f64,
    /// When the request the response is about closed: with the stratum, its weighting class
    /// (`None`: imported from an earlier tool, no frame on the platform).
    pub request_closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
