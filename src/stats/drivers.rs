//! Drivers: how strongly each 0–10 driver item (timeliness, courtesy, ...) moves with the
//! overall score. Pearson's r from joint cells (driver score × overall score), weighted by the
//! design weights when asked, with a Fisher-z interval:
//! tanh(atanh(r) ± z(1−α/2)/√(n − 3)) (Fisher 1921), n being the number of responses, or
//! Kish's effective sample size (Σw)²/Σw² for weighted figures.

use serde::Serialize;

use super::quantiles;

/// Responses sharing a driver score and an overall score.
#[derive(Debug, Clone, PartialEq)]
pub struct JointCell {
    pub direction: String,
    pub channel: String,
    pub driver: u8,
    pub overall: u8,
    pub count: u64,
    pub sum_w: f64,
    pub sum_w2: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Correlation {
    pub r: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The sample size the interval rests on (effective size when weighted).
    pub n: f64,
}

pub fn correlation(cells: &[JointCell], weighted: bool, confidence: f64) -> Correlation {
    let weight = |c: &JointCell| if weighted { c.sum_w } else { c.count as f64 };
    let total: f64 = cells.iter().map(weight).sum();
    let n = if weighted {
        let sum_w2: f64 = cells.iter().map(|c| c.sum_w2).sum();
        if sum_w2 > 0.0 { total * total / sum_w2 } else { 0.0 }
    } else {
        total
    };
    if total <= 0.0 {
        return Correlation { n, ..Default::default() };
    }
    let mean_x = cells.iter().map(|c| weight(c) * f64::from(c.driver)).sum::<f64>() / total;
    let mean_y = cells.iter().map(|c| weight(c) * f64::from(c.overall)).sum::<f64>() / total;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for c in cells {
        let (dx, dy) = (f64::from(c.driver) - mean_x, f64::from(c.overall) - mean_y);
        sxx += weight(c) * dx * dx;
        syy += weight(c) * dy * dy;
        sxy += weight(c) * dx * dy;
    }
    if sxx <= 0.0 || syy <= 0.0 {
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

    fn cell(driver: u8, overall: u8, count: u64, w: f64) -> JointCell {
        JointCell {
            direction: "D".into(),
            channel: "c".into(),
            driver,
            overall,
            count,
            sum_w: w * count as f64,
            sum_w2: w * w * count as f64,
        }
    }

    #[test]
    fn matches_r_cor_test() {
        // x = c(2,4,6,8,10,9,7), y = c(3,5,5,9,10,10,6):
        // cor.test(x, y) → r = 0.94263690504093034, 95 % CI 0.65340537159056655 0.99171549244173784
        let xs = [2u8, 4, 6, 8, 10, 9, 7];
        let ys = [3u8, 5, 5, 9, 10, 10, 6];
        let cells: Vec<JointCell> = xs.iter().zip(ys).map(|(&x, y)| cell(x, y, 1, 1.0)).collect();
        let c = correlation(&cells, false, 0.95);
        assert!((c.r.unwrap() - 0.94263690504093034).abs() < 1e-12, "{c:?}");
        assert!((c.ci_low.unwrap() - 0.65340537159056655).abs() < 1e-9, "{c:?}");
        assert!((c.ci_high.unwrap() - 0.99171549244173784).abs() < 1e-9, "{c:?}");
        // Equal weights change nothing but the (effective) n stays the same.
        let weighted: Vec<JointCell> = xs.iter().zip(ys).map(|(&x, y)| cell(x, y, 1, 3.0)).collect();
        let w = correlation(&weighted, true, 0.95);
        assert!((w.r.unwrap() - c.r.unwrap()).abs() < 1e-12 && (w.n - 7.0).abs() < 1e-12);
    }

    #[test]
    fn no_spread_no_correlation() {
        let c = correlation(&[cell(8, 9, 5, 1.0), cell(8, 7, 5, 1.0)], false, 0.95);
        assert_eq!(c.r, None);
        assert_eq!(correlation(&[], true, 0.95).r, None);
    }
}
