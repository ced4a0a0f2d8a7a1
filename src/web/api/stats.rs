//! `GET /api/v1/stats`: the score with its confidence interval, overall and by group.

use std::sync::Arc;

use rocket::{State, get, http::Status, routes, serde::json::Json};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::error::AppError;
use crate::reporting::{
    self, ReportError, StatsQuery, StatsResponse,
    analysis::{self, CompareQuery, CompareResponse, DriversResponse, ResponseRates},
};
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

/// The query string common to the statistics endpoints.
#[derive(rocket::FromForm, Default)]
pub struct CommonParams<'r> {
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
    weighted: Option<&'r str>,
    confidence: Option<&'r str>,
    min_n: Option<&'r str>,
    direction: Option<String>,
    channel: Option<String>,
}

impl CommonParams<'_> {
    fn into_query(self) -> Result<StatsQuery, AppError> {
        Ok(StatsQuery {
            by: self.by,
            from: self.from,
            to: self.to,
            weighted: parse("weighted", self.weighted, "true or false")?,
            confidence: parse("confidence", self.confidence, "a number such as 0.95")?,
            min_n: parse("min_n", self.min_n, "a whole number")?,
            direction: self.direction,
            channel: self.channel,
        })
    }
}

/// `a_from, a_to, b_from, b_to`: two periods; or `by`: each group against the rest (Holm).
#[allow(clippy::too_many_arguments)]
#[get("/api/v1/stats/compare?<a_from>&<a_to>&<b_from>&<b_to>&<common..>")]
async fn get_compare(
    _client: ApiClient,
    db: &State<DatabaseConnection>,
    settings: &State<Arc<Settings>>,
    a_from: Option<String>,
    a_to: Option<String>,
    b_from: Option<String>,
    b_to: Option<String>,
    common: CommonParams<'_>,
) -> Result<Json<CompareResponse>, AppError> {
    let query = CompareQuery { a_from, a_to, b_from, b_to, common: common.into_query()? };
    Ok(Json(analysis::compare(db.inner(), settings.inner(), &query).await?))
}

#[get("/api/v1/stats/drivers?<common..>")]
async fn get_drivers(
    _client: ApiClient,
    db: &State<DatabaseConnection>,
    settings: &State<Arc<Settings>>,
    common: CommonParams<'_>,
) -> Result<Json<DriversResponse>, AppError> {
    Ok(Json(analysis::drivers(db.inner(), settings.inner(), &common.into_query()?).await?))
}

#[get("/api/v1/stats/response-rates?<common..>")]
async fn get_response_rates(
    _client: ApiClient,
    db: &State<DatabaseConnection>,
    settings: &State<Arc<Settings>>,
    common: CommonParams<'_>,
) -> Result<Json<ResponseRates>, AppError> {
    Ok(Json(analysis::response_rates(db.inner(), settings.inner(), &common.into_query()?).await?))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![get_stats, get_compare, get_drivers, get_response_rates]
}
