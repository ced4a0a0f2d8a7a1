//! Entity for the `sampling_runs` table (schema in migrations/).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "sampling_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub as_of: DateTimeUtc,
    /// The u64 seed, stored bit-for-bit (`seed as i64`); in JSON, the u64 as a decimal string,
    /// exact in every JSON client (numbers above 2^53 are not).
    #[serde(serialize_with = "seed_as_decimal")]
    pub seed: i64,
    pub dry_run: bool,
    pub status: String,
    pub parameters: Json,
    pub population_count: i64,
    pub eligible_count: i64,
    pub sampled_count: i64,
    pub exclusions: Json,
    pub strata: Json,
    pub error: Option<String>,
}

fn seed_as_decimal<S: serde::Serializer>(seed: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&(*seed as u64).to_string())
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
