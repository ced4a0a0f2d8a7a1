//! `GET /api/v1/ingestion-errors`: the kept rejected items (newest state of their reasons).
//! `POST /api/v1/ingestion-errors/replay`: run them through ingestion again, after a fix of the
//! reference data; body `{"ids": [..]}` or empty for every unresolved one.

use rocket::{State, get, post, routes, serde::json::Json};
use serde::{Deserialize, Serialize};

use crate::db::{entities::ingestion_error, repo};
use crate::jobs::{Jobs, ReplayReport};
use crate::web::api::KnownQuery;
use crate::web::error::AppError;
use crate::web::guards::Operator;

#[derive(Serialize)]
pub struct ErrorList {
    pub items: Vec<ingestion_error::Model>,
    /// Pass as `after_id` for the next page; absent on the last page.
    pub next_after_id: Option<i64>,
}

#[get("/api/v1/ingestion-errors?<include_resolved>&<source>&<after_id>&<limit>")]
async fn list(
    _operator: Operator,
    jobs: &State<Jobs>,
    known: KnownQuery,
    include_resolved: Option<bool>,
    source: Option<String>,
    after_id: Option<i64>,
    limit: Option<u64>,
) -> Result<Json<ErrorList>, AppError> {
    known.only(&["include_resolved", "source", "after_id", "limit"])?;
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    let filter = repo::ingestion_errors::ErrorFilter {
        include_resolved: include_resolved.unwrap_or(false),
        source,
        after_id,
        limit,
    };
    let items = repo::ingestion_errors::list(&jobs.db, &filter).await?;
    let next_after_id = if items.len() as u64 == limit { items.last().map(|e| e.id) } else { None };
    Ok(Json(ErrorList { items, next_after_id }))
}

#[derive(Deserialize, Default)]
pub struct ReplayRequest {
    #[serde(default)]
    pub ids: Vec<i64>,
}

#[post("/api/v1/ingestion-errors/replay", data = "<body>")]
async fn replay_errors(
    operator: Operator,
    jobs: &State<Jobs>,
    known: KnownQuery,
    body: Option<Json<ReplayRequest>>,
) -> Result<Json<ReplayReport>, AppError> {
    known.only(&[])?;
    let ids = body.map(|b| b.into_inner().ids).unwrap_or_default();
    Ok(Json(jobs.replay(&operator.actor, &ids).await?))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![list, replay_errors]
}
