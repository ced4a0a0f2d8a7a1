//! `GET /api/v1/stats`: the score with its confidence interval, overall and by group.

use std::sync::Arc;

use rocket::{State, get, http::Status, routes, serde::json::Json};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::error::AppError;
use crate::reporting::{self, ReportError, StatsQuery, StatsResponse};
use crate::web::guards::ApiClient;

impl From<ReportError> for AppError {
    fn from(err: ReportError) -> AppError {
        match err {
            ReportError::Invalid(message) => {
                AppError::Client { status: Status::BadRequest, code: "invalid_parameter", message }
            }
            ReportError::Db(err) => AppError::Db(err),
        }
    }
}

fn parse<T: std::str::FromStr>(name: &str, raw: Option<&str>, expected: &str) -> Result<Option<T>, AppError> {
    raw.map(|value| {
        value.trim().parse::<T>().map_err(|_| AppError::Client {
            status: Status::BadRequest,
            code: "invalid_parameter",
            message: format!("{name} must be {expected}, got {value:?}"),
        })
    })
    .transpose()
}

#[allow(clippy::too_many_arguments)]
#[get("/api/v1/stats?<by>&<from>&<to>&<weighted>&<confidence>&<min_n>&<direction>&<channel>")]
async fn get_stats(
    _client: ApiClient,
    db: &State<DatabaseConnection>,
    settings: &State<Arc<Settings>>,
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
    weighted: Option<&str>,
    confidence: Option<&str>,
    min_n: Option<&str>,
    direction: Option<String>,
    channel: Option<String>,
) -> Result<Json<StatsResponse>, AppError> {
    let query = StatsQuery {
        by,
        from,
        to,
        weighted: parse("weighted", weighted, "true or false")?,
        confidence: parse("confidence", confidence, "a number such as 0.95")?,
        min_n: parse("min_n", min_n, "a whole number")?,
        direction,
        channel,
    };
    Ok(Json(reporting::stats(db.inner(), settings.inner(), &query).await?))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![get_stats]
}
