use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

use super::period;
use crate::config::Settings;
use crate::db::repo::{
    self,
    cells::{ItemCell, Rollup, ScoreColumn},
};
use crate::domain::{Channel, Driver, Month};
use crate::stats::{self, Estimate, GroupBy, Options, drivers::MomentCell};

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

/// How a period is read from the roll-ups: its whole months from the monthly one, the days at
/// either end from the daily one.
#[derive(Debug, PartialEq)]
pub(crate) struct Plan {
    /// The whole months, first and last (`None`: open-ended); absent when there is none.
    pub months: Option<(Option<Month>, Option<Month>)>,
    /// Runs of days, first and last inclusive.
    pub days: Vec<(NaiveDate, NaiveDate)>,
}

impl Plan {
    pub(crate) fn of(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Plan {
        let last_of = |month: Month| month.next().first_day().pred_opt().expect("a day before");
        let mut days = Vec::new();
        let first_month = match from {
            None => None,
            Some(f) if f.day() == 1 => Some(Month::containing(f)),
            Some(f) => {
                let month = Month::containing(f);
                days.push((f, to.map_or(last_of(month), |t| t.min(last_of(month)))));
                Some(month.next())
            }
        };
        let last_month = match to {
            None => None,
            Some(t) if t == last_of(Month::containing(t)) => Some(Month::containing(t)),
            Some(t) => {
                let month = Month::containing(t);
                // Already read with the first days when the period starts in the same month.
                if from.is_none_or(|f| Month::containing(f) != month || f.day() == 1) {
                    days.push((from.map_or(month.first_day(), |f| f.max(month.first_day())), t));
                }
                Some(Month::containing(month.first_day().pred_opt().expect("a day before")))
            }
        };
        let months = match (first_month, last_month) {
            (Some(first), Some(last)) if first > last => None,
            bounds => Some(bounds),
        };
        Plan { months, days }
    }
}

/// Cells of an item (the overall score or a driver) for a validated period, with month labels
/// when the breakdown needs them, from the roll-ups: whole months from the monthly one, the days
/// at either end from the daily one — a few thousand rows whatever the period. They are the
/// cells a scan of `responses` gives (tested).
pub async fn period_cells(
    db: &impl ConnectionTrait,
    needs_months: bool,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    item: ScoreColumn,
) -> Result<Vec<stats::Cell>, DbErr> {
    let plan = Plan::of(from, to);
    let mut cells = Vec::new();
    if let Some((first, last)) = plan.months {
        let (first, last) = (first.map(Month::label), last.map(Month::label));
        cells.extend(repo::cells::rollup_cells(db, item, first.as_deref(), last.as_deref(), needs_months).await?);
    }
    for (first, last) in plan.days {
        let (first, last) = (day_label(first), day_label(last));
        cells.extend(repo::cells::daily_cells(db, item, &first, &last, needs_months).await?);
    }
    Ok(merge(cells))
}

fn day_label(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The roll-up cells of several items for a period (whole months from the monthly roll-up,
/// the days at either end from the daily one), cells of the same key added together.
pub async fn period_items(
    db: &impl ConnectionTrait,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    items: &[ScoreColumn],
) -> Result<Vec<ItemCell>, DbErr> {
    let plan = Plan::of(from, to);
    let mut cells = Vec::new();
    if let Some((first, last)) = plan.months {
        let (first, last) = (first.map(Month::label), last.map(Month::label));
        cells
            .extend(repo::cells::rolled_up_items(db, Rollup::Monthly, items, first.as_deref(), last.as_deref()).await?);
    }
    for (first, last) in plan.days {
        let (first, last) = (day_label(first), day_label(last));
        cells.extend(repo::cells::rolled_up_items(db, Rollup::Daily, items, Some(&first), Some(&last)).await?);
    }
    let key = |c: &ItemCell| (c.item.label(), c.direction.clone(), c.channel.clone(), c.stratum.clone(), c.score);
    cells.sort_by_key(key);
    let mut merged: Vec<ItemCell> = Vec::with_capacity(cells.len());
    for cell in cells {
        match merged.last_mut() {
            Some(last) if key(last) == key(&cell) => last.sums.add(&cell.sums),
            _ => merged.push(cell),
        }
    }
    Ok(merged)
}

/// One item's score cells, as the estimator takes them.
pub fn score_cells(cells: &[ItemCell], item: ScoreColumn) -> Vec<stats::Cell> {
    cells
        .iter()
        .filter(|c| c.item == item)
        .map(|c| stats::Cell {
            direction: c.direction.clone(),
            channel: c.channel.clone(),
            month: String::new(),
            stratum: c.stratum.clone(),
            score: c.score,
            count: c.sums.n as u64,
            sum_w: c.sums.sum_w,
            sum_w2: c.sums.sum_w2,
        })
        .collect()
}

/// One driver's moment cells (per direction, channel and driver score: the strata added
/// together), for its correlation with the overall score.
pub fn moment_cells(cells: &[ItemCell], driver: Driver) -> Vec<MomentCell> {
    let mut by_key: std::collections::BTreeMap<(String, String, u8), MomentCell> = std::collections::BTreeMap::new();
    for c in cells.iter().filter(|c| c.item == ScoreColumn::Driver(driver)) {
        by_key
            .entry((c.direction.clone(), c.channel.clone(), c.score))
            .or_insert_with(|| MomentCell {
                direction: c.direction.clone(),
                channel: c.channel.clone(),
                driver: c.score,
                ..MomentCell::default()
            })
            .sums
            .add(&c.sums);
    }
    by_key.into_values().collect()
}

/// Cells of the same key (from a month and from days of the same group) added together, in key
/// order.
fn merge(mut cells: Vec<stats::Cell>) -> Vec<stats::Cell> {
    let key = |c: &stats::Cell| (c.direction.clone(), c.channel.clone(), c.month.clone(), c.stratum.clone(), c.score);
    cells.sort_by_key(key);
    let mut merged: Vec<stats::Cell> = Vec::with_capacity(cells.len());
    for cell in cells {
        match merged.last_mut() {
            Some(last) if key(last) == key(&cell) => {
                last.count += cell.count;
                last.sum_w += cell.sum_w;
                last.sum_w2 += cell.sum_w2;
            }
            _ => merged.push(cell),
        }
    }
    merged
}

/// Cells computed from `responses` (any period, any score column).
pub async fn direct_cells(
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
    let cells = period_cells(db, needs_months(options.by), from, to, ScoreColumn::Overall).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    fn m(raw: &str) -> Option<Month> {
        Month::parse(raw)
    }

    #[test]
    fn a_period_is_whole_months_and_edge_days() {
        assert_eq!(Plan::of(None, None), Plan { months: Some((None, None)), days: vec![] });
        assert_eq!(
            Plan::of(Some(d("2026-01-01")), Some(d("2026-03-31"))),
            Plan { months: Some((m("2026-01"), m("2026-03"))), days: vec![] }
        );
        assert_eq!(
            Plan::of(Some(d("2026-01-15")), Some(d("2026-04-10"))),
            Plan {
                months: Some((m("2026-02"), m("2026-03"))),
                days: vec![(d("2026-01-15"), d("2026-01-31")), (d("2026-04-01"), d("2026-04-10"))]
            }
        );
        // Within one month, and a single day.
        assert_eq!(
            Plan::of(Some(d("2026-02-03")), Some(d("2026-02-20"))),
            Plan { months: None, days: vec![(d("2026-02-03"), d("2026-02-20"))] }
        );
        assert_eq!(
            Plan::of(Some(d("2026-02-03")), Some(d("2026-02-03"))),
            Plan { months: None, days: vec![(d("2026-02-03"), d("2026-02-03"))] }
        );
        // From mid-month to a month's end; from a 1st to mid-month; open ends.
        assert_eq!(
            Plan::of(Some(d("2026-02-10")), Some(d("2026-03-31"))),
            Plan { months: Some((m("2026-03"), m("2026-03"))), days: vec![(d("2026-02-10"), d("2026-02-28"))] }
        );
        assert_eq!(
            Plan::of(Some(d("2026-02-01")), Some(d("2026-02-10"))),
            Plan { months: None, days: vec![(d("2026-02-01"), d("2026-02-10"))] }
        );
        assert_eq!(
            Plan::of(Some(d("2026-02-10")), None),
            Plan { months: Some((m("2026-03"), None)), days: vec![(d("2026-02-10"), d("2026-02-28"))] }
        );
        assert_eq!(
            Plan::of(None, Some(d("2026-02-10"))),
            Plan { months: Some((None, m("2026-01"))), days: vec![(d("2026-02-01"), d("2026-02-10"))] }
        );
    }
}
