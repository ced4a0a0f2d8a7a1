//! Comparing two disjoint domains (two periods, or a group against the rest of the city).
//!
//! - Unweighted: Welch's t test (Welch 1947): SE = √(s²_A/n_A + s²_B/n_B), Welch–Satterthwaite
//!   df = (v_A + v_B)² / (v_A²/(n_A−1) + v_B²/(n_B−1)) with v = s²/n.
//! - Weighted: the design-based variance of ȳ_A − ȳ_B from the linearised values z_A − z_B
//!   (the two domain estimates' covariance is included through the shared strata), df = n − H,
//!   as `svycontrast(svyby(...))` / `svyttest` in R's survey package.
//! - Many comparisons at once: Holm's step-down correction (Holm 1979) of the p-values.

use serde::Serialize;

use super::cells::Cell;
use super::design::{self, Design};
use super::quantiles;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub n_a: u64,
    pub n_b: u64,
    pub mean_a: Option<f64>,
    pub mean_b: Option<f64>,
    /// mean_a − mean_b
    pub difference: Option<f64>,
    pub std_error: Option<f64>,
    pub df: Option<f64>,
    pub t: Option<f64>,
    pub p_value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// Compare the domains `a` and `b` of `design` (the whole period's cells, with design or
/// adjusted weights).
pub fn compare(
    design: &Design<'_>,
    a: &dyn Fn(&Cell) -> bool,
    b: &dyn Fn(&Cell) -> bool,
    weighted: bool,
    confidence: f64,
) -> Comparison {
    let (ma, mb) = if weighted {
        (design.weighted(a, design::score), design.weighted(b, design::score))
    } else {
        (design.unweighted(a, design::score), design.unweighted(b, design::score))
    };
    let (difference, variance, df) = if weighted {
        match design.weighted_difference(a, b, design::score) {
            Some((d, v)) => (Some(d), Some(v), Some(design.df()).filter(|df| *df >= 1.0)),
            None => (None, None, None),
        }
    } else {
        match (ma.mean, mb.mean, ma.variance, mb.variance) {
            (Some(x), Some(y), Some(va), Some(vb)) => {
                let welch = (va + vb).powi(2) / (va * va / (ma.n as f64 - 1.0) + vb * vb / (mb.n as f64 - 1.0));
                (Some(x - y), Some(va + vb), welch.is_finite().then_some(welch))
            }
            (Some(x), Some(y), _, _) => (Some(x - y), None, None),
            _ => (None, None, None),
        }
    };
    let std_error = variance.map(f64::sqrt).filter(|se| *se > 0.0);
    let t = match (difference, std_error) {
        (Some(d), Some(se)) => Some(d / se),
        _ => None,
    };
    let p_value = match (t, df) {
        (Some(t), Some(df)) => quantiles::two_sided_p(t, df),
        _ => None,
    };
    let q = df.and_then(|df| quantiles::student_t(confidence, df));
    let (ci_low, ci_high) = match (difference, std_error, q) {
        (Some(d), Some(se), Some(q)) => (Some(d - q * se), Some(d + q * se)),
        _ => (None, None),
    };
    Comparison {
        n_a: ma.n,
        n_b: mb.n,
        mean_a: ma.mean,
        mean_b: mb.mean,
        difference,
        std_error,
        df,
        t,
        p_value,
        ci_low,
        ci_high,
    }
}

/// Holm-adjusted p-values, in the input order: sort ascending, p̃_(i) = max_{j≤i} min(1, (m−j+1)·p_(j)).
pub fn holm(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..p_values.len()).filter(|&i| p_values[i].is_some()).collect();
    order.sort_by(|&i, &j| p_values[i].unwrap_or(1.0).total_cmp(&p_values[j].unwrap_or(1.0)));
    let m = order.len();
    let mut adjusted = vec![None; p_values.len()];
    let mut running: f64 = 0.0;
    for (rank, &index) in order.iter().enumerate() {
        let value = ((m - rank) as f64 * p_values[index].unwrap_or(1.0)).min(1.0);
        running = running.max(value);
        adjusted[index] = Some(running);
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_matches_r_p_adjust() {
        // p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02
        let adjusted = holm(&[Some(0.01), Some(0.04), Some(0.03), Some(0.005), None]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a.unwrap() - e).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(adjusted[4], None);
    }
}
