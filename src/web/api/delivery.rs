//! `GET /api/v1/delivery`: the outbox by kind and state, the oldest message waiting, failures by
//! reason, and messages sent per day (city time zone). No personal data.

use rocket::{State, get, routes, serde::json::Json};

use crate::db::repo;
use crate::jobs::Jobs;
use crate::web::api::KnownQuery;
use crate::web::error::AppError;
use crate::web::guards::Operator;

#[get("/api/v1/delivery")]
async fn figures(
    _operator: Operator,
    jobs: &State<Jobs>,
    known: KnownQuery,
) -> Result<Json<repo::outbox::DeliveryFigures>, AppError> {
    known.only(&[])?;
    Ok(Json(repo::outbox::figures(&jobs.db, jobs.settings.time_zone, jobs.clock.now()).await?))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![figures]
}
