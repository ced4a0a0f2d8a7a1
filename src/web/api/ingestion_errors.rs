//! `GET /api/v1/ingestion-errors`: the kept rejected items (newest state of their reasons).
//! `POST /api/v1/ingestion-errors/replay`: run them through ingestion again, after a fix of the
//! reference data; body `{"ids": [..]}` or empty for every unresolved one.

use std::sync::Arc;

use rocket::{State, get, post, routes, serde::json::Json};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::db::{entities::ingestion_error, repo};
use crate::error::AppError;
use crate::ingestion::{Ingestor, replay, responses::ResponseImporter};
use crate::web::guards::ApiClient;

#[derive(Serialize)]
pub struct ErrorList {
    pub items: Vec<ingestion_error::Model>,
    /// Pass as `after_id` for the next page; absent on the last page.
    pub next_after_id: Option<i64>,
}

#[get("/api/v1/ingestion-errors?<include_resolved>&<source>&<after_id>&<limit>")]
async fn list(
    _client: ApiClient,
    db: &State<DatabaseConnection>,
    include_resolved: Option<bool>,
    source: Option<String>,
    after_id: Option<i64>,
    limit: Option<u64>,
) -> Result<Json<ErrorList>, AppError> {
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    let filter = repo::ingestion_errors::ErrorFilter {
        include_resolved: include_resolved.unwrap_or(false),
        source,
        after_id,
        limit,
    };
    let items = repo::ingestion_errors::list(db.inner(), &filter).await?;
    let next_after_id = if items.len() as u64 == limit { items.last().map(|e| e.id) } else { None };
    Ok(Json(ErrorList { items, next_after_id }))
}

#[derive(Deserialize, Default)]
pub struct ReplayRequest {
    #[serde(default)]
    pub ids: Vec<i64>,
}

#[derive(Serialize)]
pub struct ReplayResponse {
    pub results: Vec<replay::ReplayResult>,
}

#[post("/api/v1/ingestion-errors/replay", data = "<body>")]
async fn replay_errors(
    client: ApiClient,
    db: &State<DatabaseConnection>,
    settings: &State<Arc<Settings>>,
    body: Option<Json<ReplayRequest>>,
) -> Result<Json<ReplayResponse>, AppError> {
    let ids = body.map(|b| b.into_inner().ids).unwrap_or_default();
    let ingestor = Ingestor::new(db.inner(), settings.contact_hasher(), settings.ingestion.unknown_directions)
        .await?
        .without_keeping_rejects();
    let importer = ResponseImporter::new(db.inner(), settings.time_zone, settings.ingestion.unknown_directions)
        .await?
        .without_keeping_rejects();
    let results = replay::replay(db.inner(), ingestor, importer, &ids).await?;
    repo::audit::record(
        db.inner(),
        &client.actor(),
        "ingestion_errors.replay",
        None,
        Some(serde_json::json!({"count": results.len()})),
    )
    .await?;
    Ok(Json(ReplayResponse { results }))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![list, replay_errors]
}
