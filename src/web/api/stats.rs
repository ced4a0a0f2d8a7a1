//! `GET /api/v1/stats` and its companions (`/compare`, `/drivers`, `/response-rates`): the score
//! with its confidence interval, overall and by group. The query string they share is parsed
//! once, by `CommonParams`; a bad value is a 400 naming the parameter.

use rocket::{State, get, routes, serde::json::Json};

use crate::jobs::Jobs;
use crate::reporting::{
    self, ReportError, StatsQuery, StatsResponse,
    analysis::{self, CompareQuery, CompareResponse, DriversResponse, ResponseRates},
};
use crate::web::api::KnownQuery;
use crate::web::error::AppError;
use crate::web::guards::Reader;

/// The parameters of `CommonParams`.
const COMMON: [&str; 9] = ["by", "from", "to", "weighted", "weighting", "confidence", "min_n", "direction", "channel"];

fn parse<T: std::str::FromStr>(name: &str, raw: Option<&str>, expected: &str) -> Result<Option<T>, ReportError> {
    raw.map(|value| {
        value.trim().parse::<T>().map_err(|_| ReportError::Invalid(format!("{name} must be {expected}, got {value:?}")))
    })
    .transpose()
}

/// The query string common to the statistics endpoints.
#[derive(rocket::FromForm, Default)]
pub struct CommonParams<'r> {
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
    weighted: Option<&'r str>,
    weighting: Option<String>,
    confidence: Option<&'r str>,
    min_n: Option<&'r str>,
    direction: Option<String>,
    channel: Option<String>,
}

impl CommonParams<'_> {
    fn into_query(self) -> Result<StatsQuery, ReportError> {
        Ok(StatsQuery {
            by: self.by,
            from: self.from,
            to: self.to,
            weighted: parse("weighted", self.weighted, "true or false")?,
            weighting: self.weighting,
            confidence: parse("confidence", self.confidence, "a number such as 0.95")?,
            min_n: parse("min_n", self.min_n, "a whole number")?,
            direction: self.direction,
            channel: self.channel,
        })
    }
}

/// JSON by default; `format=csv` gives the same figures as CSV for a spreadsheet — French (`;`
/// and a decimal comma) unless `locale=en`.
#[get("/api/v1/stats?<format>&<locale>&<common..>")]
async fn get_stats(
    reader: Reader,
    jobs: &State<Jobs>,
    known: KnownQuery,
    format: Option<&str>,
    locale: Option<&str>,
    common: CommonParams<'_>,
) -> Result<rocket::Either<Json<StatsResponse>, crate::web::dashboard::CsvFile>, AppError> {
    known.only(&[&COMMON[..], &["format", "locale"]].concat())?;
    let response = reporting::stats(&jobs.db, &jobs.settings, &reader.scope, &common.into_query()?).await?;
    match format.map(str::trim) {
        None | Some("") | Some("json") => Ok(rocket::Either::Left(Json(response))),
        Some("csv") => {
            let locale = match locale.map(str::trim) {
                None | Some("") => crate::domain::Locale::Fr,
                Some(raw) => crate::domain::Locale::parse(raw)
                    .ok_or_else(|| ReportError::Invalid(format!("locale must be fr or en, got {raw:?}")))?,
            };
            let body = crate::reporting::export::to_csv_for(&response, locale)
                .map_err(|e| sea_orm::DbErr::Custom(format!("cannot write the CSV: {e}")))?;
            Ok(rocket::Either::Right(crate::web::dashboard::CsvFile::new("satisfaction.csv", body)))
        }
        Some(other) => Err(ReportError::Invalid(format!("format must be json or csv, got {other:?}")).into()),
    }
}

/// `a_from, a_to, b_from, b_to`: two periods; or `by`: each group against the rest (Holm).
#[allow(clippy::too_many_arguments)]
#[get("/api/v1/stats/compare?<a_from>&<a_to>&<b_from>&<b_to>&<common..>")]
async fn get_compare(
    reader: Reader,
    jobs: &State<Jobs>,
    known: KnownQuery,
    a_from: Option<String>,
    a_to: Option<String>,
    b_from: Option<String>,
    b_to: Option<String>,
    common: CommonParams<'_>,
) -> Result<Json<CompareResponse>, AppError> {
    known.only(&[&COMMON[..], &["a_from", "a_to", "b_from", "b_to"]].concat())?;
    let query = CompareQuery { a_from, a_to, b_from, b_to, common: common.into_query()? };
    Ok(Json(analysis::compare(&jobs.db, &jobs.settings, &reader.scope, &query).await?))
}

#[get("/api/v1/stats/drivers?<common..>")]
async fn get_drivers(
    reader: Reader,
    jobs: &State<Jobs>,
    known: KnownQuery,
    common: CommonParams<'_>,
) -> Result<Json<DriversResponse>, AppError> {
    known.only(&COMMON)?;
    Ok(Json(analysis::drivers(&jobs.db, &jobs.settings, &reader.scope, &common.into_query()?).await?))
}

#[get("/api/v1/stats/response-rates?<common..>")]
async fn get_response_rates(
    reader: Reader,
    jobs: &State<Jobs>,
    known: KnownQuery,
    common: CommonParams<'_>,
) -> Result<Json<ResponseRates>, AppError> {
    known.only(&COMMON)?;
    Ok(Json(analysis::response_rates(&jobs.db, &jobs.settings, &reader.scope, &common.into_query()?).await?))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![get_stats, get_compare, get_drivers, get_response_rates]
}
