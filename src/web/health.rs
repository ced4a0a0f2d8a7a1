//! `GET /health`: 200 when the database answers, 503 when it does not. For load balancers and
//! uptime checks; says nothing secret.

use std::time::Duration;

use rocket::{State, get, http::Status, routes, serde::json::Json};
use serde::Serialize;

use crate::jobs::Jobs;

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    database: &'static str,
    version: &'static str,
}

const PING_TIMEOUT: Duration = Duration::from_secs(3);

#[get("/health")]
async fn health(jobs: &State<Jobs>) -> (Status, Json<Health>) {
    let db = &jobs.db;
    let database = crate::db::backend_name(db);
    let reachable = matches!(tokio::time::timeout(PING_TIMEOUT, db.ping()).await, Ok(Ok(())));
    if !reachable {
        tracing::warn!(database, "health check: database unreachable");
    }
    let (status, word) = if reachable { (Status::Ok, "ok") } else { (Status::ServiceUnavailable, "unavailable") };
    (status, Json(Health { status: word, database, version: env!("CARGO_PKG_VERSION") }))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![health]
}
