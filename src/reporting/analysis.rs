//! Comparisons, drivers and response rates: the other questions management asks.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use serde::Serialize;

use super::period;
use super::service::{
    ReportError, Scope, StatsQuery, Validated, Weighting, adjusted, moment_cells, period_cells, period_items,
    score_cells, split_for, validate,
};
use crate::config::Settings;
use crate::db::{
    repo,
    repo::cells::{ScoreColumn, Split},
};
use crate::domain::Driver;
use crate::stats::{self, Cell, GroupBy, compare::Comparison, design::Design};

/// Two periods, `a` and `b`, compared on the mean overall score (same filters for both).
#[derive(Debug, Clone, Default)]
pub struct CompareQuery {
    pub a_from: Option<String>,
    pub a_to: Option<String>,
    pub b_from: Option<String>,
    pub b_to: Option<String>,
    /// Instead of periods: each group of `by` against the rest of the city.
    pub common: StatsQuery,
}

#[derive(Debug, Serialize)]
pub struct PeriodComparison {
    pub weighting: Weighting,
    pub weighted: bool,
    pub confidence_level: f64,
    pub method: &'static str,
    pub a: (String, String),
    pub b: (String, String),
    #[serde(flatten)]
    pub comparison: Comparison,
}

#[derive(Debug, Serialize)]
pub struct GroupComparison {
    pub direction: Option<String>,
    pub channel: Option<String>,
    pub month: Option<String>,
    #[serde(flatten)]
    pub comparison: Comparison,
    /// Holm-adjusted p-value over all the groups compared.
    pub p_holm: Option<f64>,
    /// The group differs from the rest at the chosen level, after Holm's correction.
    pub differs: bool,
}

#[derive(Debug, Serialize)]
pub struct GroupsComparison {
    pub weighting: Weighting,
    pub weighted: bool,
    pub confidence_level: f64,
    pub method: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub groups: Vec<GroupComparison>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum CompareResponse {
    Periods(PeriodComparison),
    Groups(GroupsComparison),
}

fn method(weighting: Weighting) -> &'static str {
    match weighting {
        Weighting::Adjusted => {
            "design-based t test, weights adjusted to the frame (linearisation, post-stratified, df = n − strata)"
        }
        Weighting::Design => "design-based t test (linearisation, df = n − strata)",
        Weighting::Unweighted => "Welch's t test",
    }
}

/// Compare domains of the period's cells under a weighting: `compare` gets the design, with
/// the weights adjusted to the frame when asked.
async fn with_design<T>(
    db: &impl ConnectionTrait,
    settings: &Settings,
    weighting: Weighting,
    cells: Vec<Cell>,
    compare: impl FnOnce(&Design<'_>, &[Cell]) -> T,
) -> Result<T, ReportError> {
    if weighting == Weighting::Adjusted {
        let adjusted = adjusted(db, settings, &cells).await?;
        Ok(compare(&Design::post_stratified(&adjusted.cells, &adjusted.class_of), &adjusted.cells))
    } else {
        Ok(compare(&Design::new(&cells), &cells))
    }
}

pub async fn compare(
    db: &impl ConnectionTrait,
    settings: &Settings,
    scope: &Scope,
    query: &CompareQuery,
) -> Result<CompareResponse, ReportError> {
    let Validated { options, weighting, from, to } = validate(db, settings, scope, &query.common).await?;
    let weighting = weighting.unwrap_or(Weighting::Adjusted);
    let split = split_for(options.by, weighting);
    let in_filter = |c: &Cell| {
        options.direction.as_ref().is_none_or(|d| &c.direction == d)
            && options.channel.as_ref().is_none_or(|ch| &c.channel == ch)
    };
    let date = |field: &str, raw: &Option<String>| -> Result<Option<NaiveDate>, ReportError> {
        raw.as_deref().map(|r| period::parse_date(field, r)).transpose().map_err(ReportError::Invalid)
    };
    let periods = (
        date("a_from", &query.a_from)?,
        date("a_to", &query.a_to)?,
        date("b_from", &query.b_from)?,
        date("b_to", &query.b_to)?,
    );
    match periods {
        (Some(a_from), Some(a_to), Some(b_from), Some(b_to)) => {
            if a_from > a_to || b_from > b_to {
                return Err(ReportError::Invalid("each period must end on or after its start".into()));
            }
            if a_from <= b_to && b_from <= a_to {
                return Err(ReportError::Invalid("the two periods overlap; compare disjoint periods".into()));
            }
            // The design is both periods together; each is a domain, labelled in `month`.
            let split = Split { months: false, ..split };
            let mut cells = period_cells(db, split, Some(a_from), Some(a_to), ScoreColumn::Overall).await?;
            cells.iter_mut().for_each(|c| c.month = "a".into());
            let mut b = period_cells(db, split, Some(b_from), Some(b_to), ScoreColumn::Overall).await?;
            b.iter_mut().for_each(|c| c.month = "b".into());
            cells.extend(b);
            let comparison = with_design(db, settings, weighting, cells, |design, _| {
                stats::compare::compare(
                    design,
                    &|c| in_filter(c) && c.month == "a",
                    &|c| in_filter(c) && c.month == "b",
                    options.weighted,
                    options.confidence,
                )
            })
            .await?;
            Ok(CompareResponse::Periods(PeriodComparison {
                weighting,
                weighted: options.weighted,
                confidence_level: options.confidence,
                method: method(weighting),
                a: (a_from.to_string(), a_to.to_string()),
                b: (b_from.to_string(), b_to.to_string()),
                comparison,
            }))
        }
        (None, None, None, None) => {
            if options.by == GroupBy::None {
                return Err(ReportError::Invalid("give two periods (a_from, a_to, b_from, b_to) or a breakdown (by) to compare each group with the rest".into()));
            }
            let cells = period_cells(db, split, from, to, ScoreColumn::Overall).await?;
            let comparisons: Vec<(stats::GroupKey, Comparison)> =
                with_design(db, settings, weighting, cells, |design, cells| {
                    let mut keys: Vec<stats::GroupKey> =
                        cells.iter().filter(|c| in_filter(c)).map(|c| options.by.key(c)).collect();
                    keys.sort();
                    keys.dedup();
                    keys.into_iter()
                        .map(|key| {
                            let by = options.by;
                            let comparison = stats::compare::compare(
                                design,
                                &|c| in_filter(c) && by.matches(c, &key),
                                &|c| in_filter(c) && !by.matches(c, &key),
                                options.weighted,
                                options.confidence,
                            );
                            (key, comparison)
                        })
                        .collect()
                })
                .await?;
            let adjusted = stats::compare::holm(&comparisons.iter().map(|(_, c)| c.p_value).collect::<Vec<_>>());
            let alpha = 1.0 - options.confidence;
            let groups = comparisons
                .into_iter()
                .zip(adjusted)
                .map(|((key, comparison), p_holm)| GroupComparison {
                    direction: key.direction,
                    channel: key.channel,
                    month: key.month,
                    comparison,
                    p_holm,
                    differs: p_holm.is_some_and(|p| p < alpha),
                })
                .collect();
            Ok(CompareResponse::Groups(GroupsComparison {
                weighting,
                weighted: options.weighted,
                confidence_level: options.confidence,
                method: method(weighting),
                from: from.map(|d| d.to_string()),
                to: to.map(|d| d.to_string()),
                groups,
            }))
        }
        _ => Err(ReportError::Invalid("a period comparison needs all of a_from, a_to, b_from and b_to".into())),
    }
}

#[derive(Debug, Serialize)]
pub struct DriverFigures {
    pub driver: &'static str,
    pub n: u64,
    pub suppressed: bool,
    pub mean: Option<f64>,
    pub std_error: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Pearson's r with the overall score, Fisher-z interval.
    pub correlation: stats::drivers::Correlation,
}

#[derive(Debug, Serialize)]
pub struct DriversResponse {
    pub weighting: Weighting,
    pub weighted: bool,
    pub confidence_level: f64,
    pub min_n: u64,
    pub from: Option<String>,
    pub to: Option<String>,
    pub drivers: Vec<DriverFigures>,
}

pub async fn drivers(
    db: &impl ConnectionTrait,
    settings: &Settings,
    scope: &Scope,
    query: &StatsQuery,
) -> Result<DriversResponse, ReportError> {
    let Validated { mut options, weighting, from, to } = validate(db, settings, scope, query).await?;
    if weighting == Some(Weighting::Adjusted) {
        return Err(ReportError::Invalid(
            "the drivers are given with design weights or unweighted (weighting=design or unweighted); \
             the nonresponse adjustment applies to the overall score"
                .into(),
        ));
    }
    let weighting = weighting.unwrap_or(Weighting::Design);
    options.by = GroupBy::None;
    let mut figures = Vec::new();
    let in_filter = |direction: &String, channel: &String| {
        options.direction.as_ref().is_none_or(|d| direction == d)
            && options.channel.as_ref().is_none_or(|c| channel == c)
    };
    let items: Vec<ScoreColumn> = Driver::ALL.into_iter().map(ScoreColumn::Driver).collect();
    let cells = period_items(db, from, to, &items).await?;
    for driver in Driver::ALL {
        let name = driver.as_str();
        let estimate = stats::estimate(&score_cells(&cells, ScoreColumn::Driver(driver)), &options).overall;
        let moments: Vec<_> =
            moment_cells(&cells, driver).into_iter().filter(|c| in_filter(&c.direction, &c.channel)).collect();
        let correlation = if estimate.suppressed {
            stats::drivers::Correlation::default()
        } else {
            stats::drivers::correlation(&moments, options.weighted, options.confidence)
        };
        figures.push(DriverFigures {
            driver: name,
            n: estimate.n,
            suppressed: estimate.suppressed,
            mean: estimate.mean,
            std_error: estimate.std_error,
            ci_low: estimate.ci_low,
            ci_high: estimate.ci_high,
            correlation,
        });
    }
    Ok(DriversResponse {
        weighting,
        weighted: options.weighted,
        confidence_level: options.confidence,
        min_n: options.min_n,
        from: from.map(|d| d.to_string()),
        to: to.map(|d| d.to_string()),
        drivers: figures,
    })
}

#[derive(Debug, Serialize)]
pub struct StratumRate {
    pub stratum: String,
    pub invitations: u64,
    pub complete: u64,
    pub partial: u64,
    pub rr1: Option<f64>,
    pub rr2: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ResponseRates {
    pub from: Option<String>,
    pub to: Option<String>,
    pub definitions: Definitions,
    pub overall: StratumRate,
    pub strata: Vec<StratumRate>,
}

#[derive(Debug, Serialize)]
pub struct Definitions {
    pub rr1: &'static str,
    pub rr2: &'static str,
    pub invitations: &'static str,
}

fn rates(stratum: String, invitations: u64, complete: u64, partial: u64) -> StratumRate {
    let share = |k: u64| (invitations > 0).then(|| k as f64 / invitations as f64);
    StratumRate { stratum, invitations, complete, partial, rr1: share(complete), rr2: share(complete + partial) }
}

/// AAPOR Standard Definitions (10th ed., 2023): RR1 = I/(I+P+R+NC+O+UH+UO) and
/// RR2 = (I+P)/(I+P+R+NC+O+UH+UO). Every invitation sent counts in the denominator (no case is
/// known to be ineligible once sampled), so RR1 = complete / sent, RR2 = (complete+partial) / sent.
pub async fn response_rates(
    db: &impl ConnectionTrait,
    settings: &Settings,
    scope: &Scope,
    query: &StatsQuery,
) -> Result<ResponseRates, ReportError> {
    let Validated { from, to, options, .. } = validate(db, settings, scope, query).await?;
    let (start, end) = period::bounds(from, to, settings.time_zone);
    let rows = repo::cells::response_counts(db, start, end, options.direction.as_deref()).await?;
    let (sent, complete, partial) = rows.iter().fold((0, 0, 0), |acc, r| (acc.0 + r.1, acc.1 + r.2, acc.2 + r.3));
    Ok(ResponseRates {
        from: from.map(|d| d.to_string()),
        to: to.map(|d| d.to_string()),
        definitions: Definitions {
            rr1: "AAPOR RR1: complete responses / invitations sent (I / (I+P+R+NC+O+UH+UO))",
            rr2: "AAPOR RR2: complete and partial responses / invitations sent ((I+P) / (I+P+R+NC+O+UH+UO))",
            invitations: "invitations sent in the period (by date sent, city time zone); all are eligible sample cases",
        },
        overall: rates("overall".into(), sent, complete, partial),
        strata: rows.into_iter().map(|(s, n, c, p)| rates(s, n, c, p)).collect(),
    })
}
