//! Drivers: how strongly each 0–10 driver item (timeliness, courtesy, ...) moves with the
//! overall score. Pearson's r, weighted by the design weights when asked, with a Fisher-z
//! interval: tanh(atanh(r) ± z(1−α/2)/√(n − 3)) (Fisher 1921), n being the number of responses,
//! or Kish's effective sample size (Σw)²/Σw² for weighted figures.
//!
//! r comes from moment cells: the responses sharing a driver score x, with the sums of their
//! overall scores y (Σy, Σy², and Σwy, Σwy² weighted). With W the cell's weight (its count, or
//! Σw), Y its Σy (or Σwy) and Y₂ its Σy² (or Σwy²), over all cells:
//! x̄ = ΣWx/ΣW, ȳ = ΣY/ΣW, Sxx = ΣW(x − x̄)², Sxy = Σ(x − x̄)(Y − ȳW),
//! Syy = Σ(Y₂ − 2ȳY + ȳ²W), r = Sxy/√(Sxx·Syy) — the weighted Pearson formula with the sums
//! over responses gathered per cell (each cell's Syy term is Σw(y − ȳ)² of its responses).

use serde::Serialize;

use super::cells::Sums;
use super::quantiles;

/// Responses of one (direction, channel) sharing a driver score, with the sums of their overall
/// scores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MomentCell {
    pub direction: String,
    pub channel: String,
    pub driver: u8,
    pub sums: Sums,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Correlation {
    pub r: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The sample size the interval rests on (effective size when weighted).
    pub n: f64,
}

pub fn correlation(cells: &[MomentCell], weighted: bool, confidence: f64) -> Correlation {
    // (W, Y, Y₂) of a cell, as the weighting asks.
    let sums = |c: &MomentCell| {
        let s = &c.sums;
        if weighted { (s.sum_w, s.sum_wy, s.sum_wy2) } else { (s.n as f64, s.sum_y, s.sum_y2) }
    };
    let total: f64 = cells.iter().map(|c| sums(c).0).sum();
    let n = if weighted {
        let sum_w2: f64 = cells.iter().map(|c| c.sums.sum_w2).sum();
        if sum_w2 > 0.0 { total * total / sum_w2 } else { 0.0 }
    } else {
        total
    };
    if total <= 0.0 {
        return Correlation { n, ..Default::default() };
    }
    let mean_x = cells.iter().map(|c| sums(c).0 * f64::from(c.driver)).sum::<f64>() / total;
    let mean_y = cells.iter().map(|c| sums(c).1).sum::<f64>() / total;
    let (mut sxx, mut syy, mut sxy, mut scale_x, mut scale_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for c in cells {
        let (w, y, y2) = sums(c);
        let dx = f64::from(c.driver) - mean_x;
        sxx += w * dx * dx;
        sxy += dx * (y - mean_y * w);
        syy += y2 - 2.0 * mean_y * y + mean_y * mean_y * w;
        scale_x += w * f64::from(c.driver) * f64::from(c.driver);
        scale_y += y2;
    }
    // No spread, up to the rounding of sums that should cancel exactly.
    if sxx <= 1e-12 * scale_x || syy <= 1e-12 * scale_y {
        return Correlation { n, ..Default::default() };
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    let (ci_low, ci_high) = if n > 3.0 && r.abs() < 1.0 {
        let half = quantiles::normal(confidence) / (n - 3.0).sqrt();
        (Some((r.atanh() - half).tanh()), Some((r.atanh() + half).tanh()))
    } else {
        (None, None)
    };
    Correlation { r: Some(r), ci_low, ci_high, n }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    /// `count` responses of weight `w` scoring `driver` and `overall`.
    fn cell(driver: u8, overall: u8, count: u64, w: f64) -> MomentCell {
        MomentCell { direction: "D".into(), channel: "c".into(), driver, sums: Sums::of_many(count, w, overall) }
    }

    #[test]
    fn matches_r_cor_test() {
        // x = c(2,4,6,8,10,9,7), y = c(3,5,5,9,10,10,6):
        // cor.test(x, y) → r = 0.94263690504093034, 95 % CI 0.65340537159056655 0.99171549244173784
        let xs = [2u8, 4, 6, 8, 10, 9, 7];
        let ys = [3u8, 5, 5, 9, 10, 10, 6];
        let cells: Vec<MomentCell> = xs.iter().zip(ys).map(|(&x, y)| cell(x, y, 1, 1.0)).collect();
        let c = correlation(&cells, false, 0.95);
        assert!((c.r.unwrap() - 0.94263690504093034).abs() < 1e-12, "{c:?}");
        assert!((c.ci_low.unwrap() - 0.65340537159056655).abs() < 1e-9, "{c:?}");
        assert!((c.ci_high.unwrap() - 0.99171549244173784).abs() < 1e-9, "{c:?}");
        // Equal weights change nothing but the (effective) n stays the same.
        let weighted: Vec<MomentCell> = xs.iter().zip(ys).map(|(&x, y)| cell(x, y, 1, 3.0)).collect();
        let w = correlation(&weighted, true, 0.95);
        assert!((w.r.unwrap() - c.r.unwrap()).abs() < 1e-12 && (w.n - 7.0).abs() < 1e-12);
    }

    /// The weighted Pearson r of (x, y, w), computed in exact fractions and rounded once:
    /// 0.9038240203317234; Kish's n = (Σw)²/Σw² = 7.485029940119761. One cell per response or
    /// the responses gathered per driver score: the same r.
    #[test]
    fn weighted_r_from_cells_gathered_per_driver_score() {
        let xs = [2u8, 4, 6, 8, 10, 9, 7, 8, 8, 10];
        let ys = [3u8, 5, 5, 9, 10, 10, 6, 7, 9, 9];
        let ws = [1.5, 2.0, 2.0, 4.0, 1.0, 3.0, 2.5, 1.0, 6.0, 2.0];
        let single: Vec<MomentCell> = (0..10).map(|i| cell(xs[i], ys[i], 1, ws[i])).collect();
        let mut gathered: Vec<MomentCell> = Vec::new();
        for c in &single {
            match gathered.iter_mut().find(|g| g.driver == c.driver) {
                Some(g) => g.sums.add(&c.sums),
                None => gathered.push(c.clone()),
            }
        }
        assert_eq!(gathered.len(), 7);
        for cells in [&single, &gathered] {
            let c = correlation(cells, true, 0.95);
            assert!((c.r.unwrap() - 0.9038240203317234).abs() < 1e-12, "{c:?}");
            assert!((c.n - 7.485029940119761).abs() < 1e-12, "{c:?}");
        }
    }

    #[test]
    fn no_spread_no_correlation() {
        let c = correlation(&[cell(8, 9, 5, 1.0), cell(8, 7, 5, 1.0)], false, 0.95);
        assert_eq!(c.r, None);
        assert_eq!(correlation(&[], true, 0.95).r, None);
        // All overall scores equal, weights whose sums do not cancel exactly.
        let flat: Vec<MomentCell> = (0..30).map(|i| cell(i % 11, 9, 1, 1.0 / (0.3 + f64::from(i)))).collect();
        assert_eq!(correlation(&flat, true, 0.95).r, None);
    }
}
