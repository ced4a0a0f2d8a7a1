use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

use super::period;
use crate::config::Settings;
use crate::db::repo::{
    self,
    cells::{ItemCell, MonthBoundary, Rollup, ScoreColumn, Split},
};
use crate::domain::{Channel, Driver, Month};
use crate::stats::{
    self, Estimate, GroupBy, Options,
    adjust::{Adjusted, ClassReport, FrameCount},
    drivers::MomentCell,
};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    /// A scoped caller asking for another direction's figures.
    #[error("{0}")]
    Forbidden(String),
    #[error("database error")]
    Db(#[from] DbErr),
}

/// Which directions a caller's figures may cover: every one, or a scoped user's own (the scope
/// comes from who is asking — their account —, never from the query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Only this direction (its code).
    Direction(String),
}

impl Scope {
    /// The direction filter a query gets under this scope: a scoped caller asking for another
    /// direction is refused; one asking for none gets theirs.
    fn restrict(&self, asked: &Option<String>) -> Result<Option<String>, ReportError> {
        match (self, asked) {
            (Scope::All, asked) => Ok(asked.clone()),
            (Scope::Direction(own), Some(asked)) if asked != own => {
                Err(ReportError::Forbidden(format!("your account sees direction {own} only, not {asked}")))
            }
            (Scope::Direction(own), _) => Ok(Some(own.clone())),
        }
    }
}

/// A request for figures as it arrives (query string or command line), before validation.
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    pub by: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub weighted: Option<bool>,
    /// `adjusted`, `design` or `unweighted` (`weighted=false` is `unweighted`).
    pub weighting: Option<String>,
    pub confidence: Option<f64>,
    pub min_n: Option<u64>,
    pub direction: Option<String>,
    pub channel: Option<String>,
}

/// The weights estimates rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weighting {
    /// Design weights adjusted for nonresponse to the frame of closed requests (`stats::adjust`).
    Adjusted,
    /// Design weights 1/π only.
    Design,
    Unweighted,
}

impl Weighting {
    pub fn parse(raw: &str) -> Result<Weighting, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "adjusted" => Ok(Weighting::Adjusted),
            "design" => Ok(Weighting::Design),
            "unweighted" => Ok(Weighting::Unweighted),
            _ => Err(format!("unknown weighting {raw:?}; expected adjusted, design or unweighted")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Weighting::Adjusted => "adjusted",
            Weighting::Design => "design",
            Weighting::Unweighted => "unweighted",
        }
    }
}

/// One sampling stratum's respondents in the period, and what the weighting did to them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StratumWeighting {
    pub stratum: String,
    pub direction: String,
    pub channel: String,
    pub respondents: u64,
    /// Invitations of the stratum sent in the period, and AAPOR RR2 over them.
    pub invitations_sent: u64,
    pub response_rate: Option<f64>,
    /// Σw of the design weights.
    pub design_weight: f64,
    /// Σw of the weights used (adjusted or design).
    pub weight: f64,
    /// weight / design_weight: the stratum's average nonresponse adjustment.
    pub adjustment_factor: Option<f64>,
    /// Kish's effective sample size (Σw)²/Σw² of the weights used.
    pub effective_n: Option<f64>,
    pub weighting: &'static str,
}

/// What the nonresponse adjustment did for the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AdjustmentSummary {
    pub min_class_respondents: u64,
    /// Weighting classes of the period's respondents.
    pub classes: usize,
    /// Those formed by collapsing sparse classes (a direction's channels over a month, or its
    /// quarter), with their respondents, requests and factor.
    pub collapsed: Vec<ClassReport>,
    /// Respondents whose weights were kept: no frame (imported from an earlier tool) or no
    /// frame count for their class.
    pub respondents_not_adjusted: u64,
    /// Closed requests of the period's months in classes without any respondent, even after
    /// collapsing: the estimates do not stand for them.
    pub requests_not_represented: u64,
}

/// The shape of `GET /api/v1/stats` and `stats --format json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatsResponse {
    pub weighting: Weighting,
    pub weighted: bool,
    pub confidence_level: f64,
    pub min_n: u64,
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub overall: Estimate,
    pub groups: Vec<stats::estimate::GroupEstimate>,
    /// Per sampling stratum (weighted only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub strata: Vec<StratumWeighting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjustment: Option<AdjustmentSummary>,
}

pub(crate) struct Validated {
    pub options: Options,
    /// As asked (`None`: the endpoint's default).
    pub weighting: Option<Weighting>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

pub(crate) async fn validate(
    db: &impl ConnectionTrait,
    settings: &Settings,
    scope: &Scope,
    query: &StatsQuery,
) -> Result<Validated, ReportError> {
    let direction = scope.restrict(&query.direction)?;
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
    if let Some(code) = &direction
        && repo::directions::find_by_code(db, code).await?.is_none()
    {
        return Err(ReportError::Invalid(format!("unknown direction code {code:?}")));
    }
    if let Some(code) = &query.channel
        && Channel::parse(code).is_none()
    {
        return Err(ReportError::Invalid(format!("unknown channel {code:?}; expected one of {}", Channel::expected())));
    }
    let weighting = match query.weighting.as_deref().map(str::trim).filter(|raw| !raw.is_empty()) {
        None => (query.weighted == Some(false)).then_some(Weighting::Unweighted),
        Some(raw) => {
            let weighting = Weighting::parse(raw).map_err(ReportError::Invalid)?;
            if query.weighted == Some(false) && weighting != Weighting::Unweighted {
                return Err(ReportError::Invalid(format!(
                    "weighted=false contradicts weighting={raw}; give one of them"
                )));
            }
            Some(weighting)
        }
    };
    let options = Options {
        by,
        weighted: weighting != Some(Weighting::Unweighted),
        confidence,
        min_n: query.min_n.unwrap_or(settings.stats.min_n),
        direction,
        channel: query.channel.clone(),
    };
    Ok(Validated { options, weighting, from, to })
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
    split: Split,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    item: ScoreColumn,
) -> Result<Vec<stats::Cell>, DbErr> {
    let plan = Plan::of(from, to);
    let mut cells = Vec::new();
    if let Some((first, last)) = plan.months {
        let (first, last) = (first.map(Month::label), last.map(Month::label));
        cells.extend(repo::cells::rollup_cells(db, item, first.as_deref(), last.as_deref(), split).await?);
    }
    for (first, last) in plan.days {
        let (first, last) = (day_label(first), day_label(last));
        cells.extend(repo::cells::daily_cells(db, item, &first, &last, split).await?);
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
            class_month: String::new(),
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
    let key = |c: &stats::Cell| {
        (c.direction.clone(), c.channel.clone(), c.month.clone(), c.class_month.clone(), c.stratum.clone(), c.score)
    };
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
    split: Split,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    score: ScoreColumn,
) -> Result<Vec<stats::Cell>, DbErr> {
    let (start, end) = period::bounds(from, to, zone);
    let class_months = if split.classes {
        Some(match repo::cells::closing_span(db, start, end).await? {
            (Some(first), Some(last)) => MonthBoundary::spanning(first, last, zone),
            _ => Vec::new(),
        })
    } else {
        None
    };
    let months = if split.months {
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
    repo::cells::cells(db, start, end, &months, class_months.as_deref(), score).await
}

/// How cells must be split for a breakdown and a weighting.
pub(crate) fn split_for(by: GroupBy, weighting: Weighting) -> Split {
    Split {
        months: matches!(by, GroupBy::Month | GroupBy::DirectionMonth | GroupBy::ChannelMonth),
        classes: weighting == Weighting::Adjusted,
    }
}

/// The period's cells (split by class month) adjusted to the frame: each class's factor from
/// every respondent it has (the monthly roll-up) and its closed requests (the frame counts).
pub(crate) async fn adjusted(
    db: &impl ConnectionTrait,
    settings: &Settings,
    cells: &[stats::Cell],
) -> Result<Adjusted, DbErr> {
    let tallies = repo::cells::class_tallies(db).await?;
    let frame: Vec<FrameCount> = repo::frame::counts(db, None, None)
        .await?
        .into_iter()
        .map(|(direction, channel, month, requests)| FrameCount { direction, channel, month, requests })
        .collect();
    Ok(stats::adjust::adjust(cells, &tallies, &frame, settings.stats.min_class_respondents))
}

/// Per stratum of the filtered period: respondents, response rate, design and used weights,
/// the average adjustment factor and Kish's effective sample size.
async fn strata_figures(
    db: &impl ConnectionTrait,
    settings: &Settings,
    validated: &Validated,
    design_cells: &[stats::Cell],
    used: Option<&Adjusted>,
) -> Result<Vec<StratumWeighting>, DbErr> {
    let options = &validated.options;
    let (start, end) = period::bounds(validated.from, validated.to, settings.time_zone);
    let invitations: std::collections::HashMap<String, (u64, u64)> =
        repo::cells::response_counts(db, start, end, validated.options.direction.as_deref())
            .await?
            .into_iter()
            .map(|(stratum, sent, complete, partial)| (stratum, (sent, complete + partial)))
            .collect();
    let mut strata: std::collections::BTreeMap<(String, String, String), StratumWeighting> =
        std::collections::BTreeMap::new();
    let used_cells = used.map(|a| a.cells.as_slice()).unwrap_or(design_cells);
    for (i, (cell, used_cell)) in design_cells.iter().zip(used_cells).enumerate() {
        let in_filter = options.direction.as_ref().is_none_or(|d| &cell.direction == d)
            && options.channel.as_ref().is_none_or(|c| &cell.channel == c);
        if !in_filter {
            continue;
        }
        let key = (cell.direction.clone(), cell.channel.clone(), cell.stratum.clone());
        let row = strata.entry(key).or_insert_with(|| {
            let (sent, answered) = invitations.get(&cell.stratum).copied().unwrap_or_default();
            StratumWeighting {
                stratum: cell.stratum.clone(),
                direction: cell.direction.clone(),
                channel: cell.channel.clone(),
                respondents: 0,
                invitations_sent: sent,
                response_rate: (sent > 0).then(|| answered as f64 / sent as f64),
                design_weight: 0.0,
                weight: 0.0,
                adjustment_factor: None,
                effective_n: None,
                weighting: "",
            }
        });
        row.respondents += cell.count;
        row.design_weight += cell.sum_w;
        row.weight += used_cell.sum_w;
        // Σw² of the used weights, kept in effective_n until the end.
        *row.effective_n.get_or_insert(0.0) += used_cell.sum_w2;
        let adjusted = used.is_some_and(|a| a.class_of[i].is_some());
        row.weighting = match (row.weighting, adjusted) {
            ("", true) | ("adjusted", true) => "adjusted",
            ("", false) | ("design", false) => "design",
            _ => "mixed",
        };
    }
    Ok(strata
        .into_values()
        .map(|mut row| {
            let sum_w2 = row.effective_n.unwrap_or(0.0);
            row.effective_n = (sum_w2 > 0.0).then(|| row.weight * row.weight / sum_w2);
            row.adjustment_factor = (used.is_some() && row.design_weight > 0.0).then(|| row.weight / row.design_weight);
            row
        })
        .collect())
}

/// The adjustment's report for the period: its classes, those collapsed, the respondents it
/// left alone and the requests it could not represent.
fn adjustment_summary(
    settings: &Settings,
    validated: &Validated,
    cells: &[stats::Cell],
    adjusted: &Adjusted,
) -> AdjustmentSummary {
    let used: std::collections::BTreeSet<usize> = adjusted.class_of.iter().flatten().copied().collect();
    let respondents_not_adjusted =
        cells.iter().zip(&adjusted.class_of).filter(|(_, class)| class.is_none()).map(|(c, _)| c.count).sum();
    let in_period = |label: &str| {
        let month = |day: Option<NaiveDate>| day.map(|d| Month::containing(d).label());
        let (first, last) = (month(validated.from), month(validated.to));
        // A quarter's label ("2026-Q1") sorts after its year's months: compare its year only.
        let key = if label.contains('Q') { &label[..4] } else { label };
        first.is_none_or(|f| key >= &f[..key.len()]) && last.is_none_or(|l| key <= &l[..key.len()])
    };
    AdjustmentSummary {
        min_class_respondents: settings.stats.min_class_respondents,
        classes: used.len(),
        collapsed: used.iter().map(|&g| &adjusted.classes[g]).filter(|c| c.collapsed).cloned().collect(),
        respondents_not_adjusted,
        requests_not_represented: adjusted
            .classes
            .iter()
            .filter(|c| c.respondents == 0 && in_period(&c.class.period))
            .map(|c| c.requests)
            .sum(),
    }
}

/// The figures for a query: the API and the CLI both call this.
pub async fn stats(
    db: &impl ConnectionTrait,
    settings: &Settings,
    scope: &Scope,
    query: &StatsQuery,
) -> Result<StatsResponse, ReportError> {
    let validated = validate(db, settings, scope, query).await?;
    let (options, from, to) = (&validated.options, validated.from, validated.to);
    let weighting = validated.weighting.unwrap_or(Weighting::Adjusted);
    let cells = period_cells(db, split_for(options.by, weighting), from, to, ScoreColumn::Overall).await?;
    let (report, strata, adjustment) = match weighting {
        Weighting::Adjusted => {
            let adjusted = adjusted(db, settings, &cells).await?;
            let strata = strata_figures(db, settings, &validated, &cells, Some(&adjusted)).await?;
            let summary = adjustment_summary(settings, &validated, &cells, &adjusted);
            (stats::estimate_adjusted(&adjusted, options), strata, Some(summary))
        }
        Weighting::Design => {
            (stats::estimate(&cells, options), strata_figures(db, settings, &validated, &cells, None).await?, None)
        }
        Weighting::Unweighted => (stats::estimate(&cells, options), Vec::new(), None),
    };
    Ok(StatsResponse {
        weighting,
        weighted: report.weighted,
        confidence_level: report.confidence_level,
        min_n: report.min_n,
        from: from.map(|d| d.to_string()),
        to: to.map(|d| d.to_string()),
        by: query.by.clone().filter(|b| !b.trim().is_empty()),
        overall: report.overall,
        groups: report.groups,
        strata,
        adjustment,
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
