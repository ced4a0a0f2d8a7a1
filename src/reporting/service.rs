use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

use super::period;
use crate::config::Settings;
use crate::db::repo::{self, cells::ScoreColumn};
use crate::domain::{Channel, Month};
use crate::stats::{self, Estimate, GroupBy, Options};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error("database error")]
    Db(#[from] DbErr),
}

/// A request for figures as it arrives (query string or command line), before validation.
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    pub by: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub weighted: Option<bool>,
    pub confidence: Option<f64>,
    pub min_n: Option<u64>,
    pub direction: Option<String>,
    pub channel: Option<String>,
}

/// The shape of `GET /api/v1/stats` and `stats --format json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatsResponse {
    pub weighted: bool,
    pub confidence_level: f64,
    pub min_n: u64,
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub overall: Estimate,
    pub groups: Vec<stats::estimate::GroupEstimate>,
}

pub(crate) struct Validated {
    pub options: Options,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

pub(crate) async fn validate(
    db: &impl ConnectionTrait,
    settings: &Settings,
    query: &StatsQuery,
) -> Result<Validated, ReportError> {
    let by = GroupBy::parse(query.by.as_deref().unwrap_or("")).map_err(ReportError::Invalid)?;
    let from =
        query.from.as_deref().map(|raw| period::parse_date("from", raw)).transpose().map_err(ReportError::Invalid)?;
    let to = query.to.as_deref().map(|raw| period::parse_date("to", raw)).transpose().map_err(ReportError::Invalid)?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ReportError::Invalid(format!("from ({f}) is after to ({t})")));
    }
    let confidence = query.confidence.unwrap_or(settings.stats.confidence);
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(ReportError::Invalid(format!("confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")));
    }
    if let Some(code) = &query.direction
        && repo::directions::find_by_code(db, code).await?.is_none()
    {
        return Err(ReportError::Invalid(format!("unknown direction code {code:?}")));
    }
    if let Some(code) = &query.channel
        && Channel::parse(code).is_none()
    {
        return Err(ReportError::Invalid(format!("unknown channel {code:?}; expected one of {}", Channel::expected())));
    }
    let options = Options {
        by,
        weighted: query.weighted.unwrap_or(true),
        confidence,
        min_n: query.min_n.unwrap_or(settings.stats.min_n),
        direction: query.direction.clone(),
        channel: query.channel.clone(),
    };
    Ok(Validated { options, from, to })
}

/// Whole calendar months: `from` on a 1st (or open), `to` on a month's last day (or open).
fn whole_months(from: Option<NaiveDate>, to: Option<NaiveDate>) -> bool {
    from.is_none_or(|d| d.day() == 1) && to.is_none_or(|d| d.succ_opt().is_some_and(|next| next.day() == 1))
}

/// Cells for a validated period, with month labels when the breakdown needs them. Periods of
/// whole months (the usual report) come from the monthly roll-up; any other period is computed
/// from `responses` directly. Both give the same cells.
pub(crate) async fn period_cells(
    db: &impl ConnectionTrait,
    zone: Tz,
    needs_months: bool,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    score: ScoreColumn,
) -> Result<Vec<stats::Cell>, DbErr> {
    if matches!(score, ScoreColumn::Overall) && whole_months(from, to) {
        let label = |d: NaiveDate| Month::containing(d).label();
        return repo::cells::rollup_cells(db, from.map(label).as_deref(), to.map(label).as_deref(), needs_months).await;
    }
    direct_cells(db, zone, needs_months, from, to, score).await
}

/// Cells computed from `responses` (any period, any score column).
pub(crate) async fn direct_cells(
    db: &impl ConnectionTrait,
    zone: Tz,
    needs_months: bool,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    score: ScoreColumn,
) -> Result<Vec<stats::Cell>, DbErr> {
    let (start, end) = period::bounds(from, to, zone);
    let months = if needs_months {
        let (first, last) = match (from, to) {
            (Some(f), Some(t)) => (Some(f), Some(t)),
            _ => {
                let (first, last) = repo::cells::submission_span(db).await?;
                (
                    from.or(first.map(|d| d.with_timezone(&zone).date_naive())),
                    to.or(last.map(|d| d.with_timezone(&zone).date_naive())),
                )
            }
        };
        match (first, last) {
            (Some(first), Some(last)) => period::months(first, last, zone),
            _ => Vec::new(),
        }
    } else {
        Vec::new()
    };
    repo::cells::cells(db, start, end, &months, score).await
}

fn needs_months(by: GroupBy) -> bool {
    matches!(by, GroupBy::Month | GroupBy::DirectionMonth | GroupBy::ChannelMonth)
}

/// The figures for a query: the API and the CLI both call this.
pub async fn stats(
    db: &impl ConnectionTrait,
    settings: &Settings,
    query: &StatsQuery,
) -> Result<StatsResponse, ReportError> {
    let Validated { options, from, to } = validate(db, settings, query).await?;
    let cells = period_cells(db, settings.time_zone, needs_months(options.by), from, to, ScoreColumn::Overall).await?;
    let report = stats::estimate(&cells, &options);
    Ok(StatsResponse {
        weighted: report.weighted,
        confidence_level: report.confidence_level,
        min_n: report.min_n,
        from: from.map(|d| d.to_string()),
        to: to.map(|d| d.to_string()),
        by: query.by.clone().filter(|b| !b.trim().is_empty()),
        overall: report.overall,
        groups: report.groups,
    })
}
