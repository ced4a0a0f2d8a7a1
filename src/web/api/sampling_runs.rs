//! `GET /api/v1/sampling-runs?limit=20`: recent runs, newest first, with seed, parameters,
//! per-stratum figures and exclusions (the audit trail of the design). No personal data.

use rocket::{State, get, routes, serde::json::Json};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::db::{entities::sampling_run, repo};
use crate::error::AppError;
use crate::web::guards::ApiClient;

#[derive(Serialize)]
pub struct RunList {
    pub items: Vec<RunView>,
}

/// A run as the API shows it: the seed as the unsigned number that replays it.
#[derive(Serialize)]
pub struct RunView {
    #[serde(flatten)]
    pub run: sampling_run::Model,
    pub seed_u64: u64,
}

#[get("/api/v1/sampling-runs?<limit>")]
async fn list(
    _client: ApiClient,
    db: &State<DatabaseConnection>,
    limit: Option<u64>,
) -> Result<Json<RunList>, AppError> {
    let runs = repo::sampling::recent_runs(db.inner(), limit.unwrap_or(20).clamp(1, 500)).await?;
    Ok(Json(RunList { items: runs.into_iter().map(|run| RunView { seed_u64: run.seed as u64, run }).collect() }))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![list]
}
