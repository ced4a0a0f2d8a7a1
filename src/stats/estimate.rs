//! Estimates for the whole sample and per group: mean, proportions, net-promoter index, each
//! with its standard error and confidence interval, suppressed below `min_n`.
//!
//! Intervals:
//! - mean: ȳ ± t(df, 1−α/2)·SE, df = n − 1 unweighted, n − H weighted;
//! - proportion, unweighted: Wilson score interval without continuity correction (Wilson 1927;
//!   Agresti & Coull 1998), SE = √(p(1−p)/n);
//! - proportion, weighted: logit interval, expit(logit p̂ ± t(df)·SE/(p̂(1−p̂))), as
//!   `svyciprop(method = "logit")` (Korn & Graubard 1998). At p̂ = 0 or 1 the logit interval does
//!   not exist; the Wilson interval with Kish's effective sample size (Σw)²/Σw² is given instead;
//! - net-promoter index NPS = 100·(p₉₋₁₀ − p₀₋₆): unweighted SE from the multinomial,
//!   100·√((p₉₋₁₀ + p₀₋₆ − (p₉₋₁₀ − p₀₋₆)²)/n); weighted, the linearised variance of the mean of
//!   y = 1{9–10} − 1{0–6} (the difference of two ratios with one denominator); interval
//!   NPS ± t(df)·SE.
//!
//! A standard error that does not exist (n = 1) is `None`, never NaN.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cells::{Cell, GroupBy, GroupKey};
use super::design::{self, Design, Moments};
use super::quantiles;

#[derive(Debug, Clone)]
pub struct Options {
    pub by: GroupBy,
    pub weighted: bool,
    /// 0.95 for 95 % intervals.
    pub confidence: f64,
    /// Cells with fewer responses are suppressed.
    pub min_n: u64,
    /// Domain filters (the design stays the whole period).
    pub direction: Option<String>,
    pub channel: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Proportion {
    pub estimate: Option<f64>,
    pub std_error: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Nps {
    pub estimate: Option<f64>,
    pub std_error: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Estimate {
    pub n: u64,
    pub suppressed: bool,
    pub mean: Option<f64>,
    pub std_error: Option<f64>,
    /// Degrees of freedom of the mean's interval.
    pub df: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub satisfied: Proportion,
    pub top2: Proportion,
    pub detractors: Proportion,
    pub nps: Nps,
    /// Σw: the number of closed requests the domain represents (weighted only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_total: Option<f64>,
    /// The weights the figures rest on: `adjusted` (design weights adjusted to the frame),
    /// `design` (1/π as sampled, or as imported), `mixed` (both: some responses have no frame)
    /// or `unweighted`.
    pub weighting: &'static str,
    /// The design effect of the mean (weighted only; see `Design::design_effect`), given for the
    /// whole, not per group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design_effect: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupEstimate {
    pub direction: Option<String>,
    pub channel: Option<String>,
    pub month: Option<String>,
    #[serde(flatten)]
    pub estimate: Estimate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub weighted: bool,
    pub confidence_level: f64,
    pub min_n: u64,
    pub overall: Estimate,
    pub groups: Vec<GroupEstimate>,
}

/// Estimates for the filtered whole and for each group of `options.by`, groups in key order.
pub fn estimate(cells: &[Cell], options: &Options) -> StatsReport {
    estimate_in(&Design::new(cells), cells, options)
}

/// As `estimate`, with weights adjusted to the frame (`adjust`): the adjusted cells, and the
/// variance of a post-stratified design.
pub fn estimate_adjusted(adjusted: &super::adjust::Adjusted, options: &Options) -> StatsReport {
    let design = Design::post_stratified(&adjusted.cells, &adjusted.class_of);
    estimate_in(&design, &adjusted.cells, options)
}

fn estimate_in(design: &Design<'_>, cells: &[Cell], options: &Options) -> StatsReport {
    let filter = |c: &Cell| {
        options.direction.as_ref().is_none_or(|d| &c.direction == d)
            && options.channel.as_ref().is_none_or(|ch| &c.channel == ch)
    };
    let mut overall = domain_estimate(design, &filter, options);
    if options.weighted && !overall.suppressed {
        overall.design_effect = design.design_effect(&filter, design::score);
    }
    let mut keys: BTreeMap<GroupKey, ()> = BTreeMap::new();
    if options.by != GroupBy::None {
        for cell in cells.iter().filter(|c| filter(c)) {
            keys.insert(options.by.key(cell), ());
        }
    }
    let groups = keys
        .into_keys()
        .map(|key| {
            let in_group = |c: &Cell| filter(c) && options.by.matches(c, &key);
            let estimate = domain_estimate(design, &in_group, options);
            GroupEstimate { direction: key.direction, channel: key.channel, month: key.month, estimate }
        })
        .collect();
    StatsReport {
        weighted: options.weighted,
        confidence_level: options.confidence,
        min_n: options.min_n,
        overall,
        groups,
    }
}

fn domain_estimate(design: &Design<'_>, in_domain: &dyn Fn(&Cell) -> bool, options: &Options) -> Estimate {
    let moments = |y| if options.weighted { design.weighted(in_domain, y) } else { design.unweighted(in_domain, y) };
    let mean = moments(design::score);
    let n = mean.n;
    let weighting = if options.weighted { design.weighting(in_domain) } else { "unweighted" };
    if n < options.min_n.max(1) {
        return Estimate { n, suppressed: n < options.min_n, weighting, ..Default::default() };
    }
    let df = if options.weighted { design.df() } else { n as f64 - 1.0 };
    let t = quantiles::student_t(options.confidence, df);
    let std_error = mean.variance.map(f64::sqrt);
    let (ci_low, ci_high) = symmetric(mean.mean, std_error, t);
    let proportion = |y| {
        let m = moments(y);
        if options.weighted {
            logit_interval(&m, t, options.confidence)
        } else {
            wilson_interval(&m, options.confidence)
        }
    };
    let nps = if options.weighted {
        let m = design.weighted(in_domain, design::net_promoter);
        let se = m.variance.map(|v| 100.0 * v.sqrt());
        let estimate = m.mean.map(|p| 100.0 * p);
        let (low, high) = symmetric(estimate, se, t);
        Nps { estimate, std_error: se, ci_low: low, ci_high: high }
    } else {
        let promoters = design.unweighted(in_domain, design::top2).mean.unwrap_or(0.0);
        let detractors = design.unweighted(in_domain, design::detractor).mean.unwrap_or(0.0);
        let estimate = Some(100.0 * (promoters - detractors));
        let se = (n > 1)
            .then(|| 100.0 * ((promoters + detractors - (promoters - detractors).powi(2)) / n as f64).max(0.0).sqrt());
        let (low, high) = symmetric(estimate, se, t);
        Nps { estimate, std_error: se, ci_low: low, ci_high: high }
    };
    Estimate {
        n,
        suppressed: false,
        mean: mean.mean,
        std_error,
        df: (df >= 1.0).then_some(df),
        ci_low,
        ci_high,
        satisfied: proportion(design::satisfied),
        top2: proportion(design::top2),
        detractors: proportion(design::detractor),
        nps,
        weight_total: options.weighted.then_some(mean.sum_w),
        weighting,
        design_effect: None,
    }
}

fn symmetric(estimate: Option<f64>, se: Option<f64>, t: Option<f64>) -> (Option<f64>, Option<f64>) {
    match (estimate, se, t) {
        (Some(e), Some(se), Some(t)) => (Some(e - t * se), Some(e + t * se)),
        _ => (None, None),
    }
}

/// Wilson score interval for a proportion p over n: centre (p + z²/2n)/(1 + z²/n),
/// half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²).
pub fn wilson(p: f64, n: f64, z: f64) -> (f64, f64) {
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

fn wilson_interval(m: &Moments, confidence: f64) -> Proportion {
    let Some(p) = m.mean else { return Proportion::default() };
    let n = m.n as f64;
    let (low, high) = wilson(p, n, quantiles::normal(confidence));
    Proportion {
        estimate: Some(p),
        std_error: Some((p * (1.0 - p) / n).sqrt()),
        ci_low: Some(low),
        ci_high: Some(high),
    }
}

fn logit_interval(m: &Moments, t: Option<f64>, confidence: f64) -> Proportion {
    let Some(p) = m.mean else { return Proportion::default() };
    let se = m.variance.map(f64::sqrt);
    if p <= 0.0 || p >= 1.0 {
        // No logit interval at the boundary: Wilson with Kish's effective sample size.
        let n_eff = if m.sum_w2 > 0.0 { m.sum_w * m.sum_w / m.sum_w2 } else { m.n as f64 };
        let (low, high) = wilson(p, n_eff, quantiles::normal(confidence));
        return Proportion { estimate: Some(p), std_error: se, ci_low: Some(low), ci_high: Some(high) };
    }
    let (low, high) = match (se, t) {
        (Some(se), Some(t)) => {
            let eta = (p / (1.0 - p)).ln();
            let half = t * se / (p * (1.0 - p));
            let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
            (Some(expit(eta - half)), Some(expit(eta + half)))
        }
        _ => (None, None),
    };
    Proportion { estimate: Some(p), std_error: se, ci_low: low, ci_high: high }
}

#[cfg(test)]
mod tests;
