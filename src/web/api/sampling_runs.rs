//! `GET /api/v1/sampling-runs?limit=20`: recent runs, newest first, with seed (a decimal string,
//! exact in every JSON client, as `sample --seed` takes it), parameters, per-stratum figures and
//! exclusions (the audit trail of the design). No personal data.

use rocket::{State, get, routes, serde::json::Json};
use serde::Serialize;

use crate::db::{entities::sampling_run, repo};
use crate::jobs::Jobs;
use crate::web::api::KnownQuery;
use crate::web::error::AppError;
use crate::web::guards::Operator;

#[derive(Serialize)]
pub struct RunList {
    pub items: Vec<sampling_run::Model>,
}

#[get("/api/v1/sampling-runs?<limit>")]
async fn list(
    _operator: Operator,
    jobs: &State<Jobs>,
    known: KnownQuery,
    limit: Option<u64>,
) -> Result<Json<RunList>, AppError> {
    known.only(&["limit"])?;
    let items = repo::sampling::recent_runs(&jobs.db, limit.unwrap_or(20).clamp(1, 500)).await?;
    Ok(Json(RunList { items }))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![list]
}
