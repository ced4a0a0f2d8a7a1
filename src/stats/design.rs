//! Design-based (weighted) and simple (unweighted) moments of a variable y = f(score) over a
//! domain, computed exactly from cells.
//!
//! **Weighted.** Stratified design, sampling with replacement within strata, no finite
//! population correction; weights w = 1/π. Hájek mean ȳ_D = Σ_D w·y / Σ_D w. Linearised values
//! (Woodruff 1971; Särndal et al. 1992, §5.5) z_i = w_i·(y_i − ȳ_D)/Ŵ_D inside the domain D and
//! 0 outside; variance
//!
//!   V(ȳ_D) = Σ_h n_h/(n_h − 1) · Σ_{i∈h} (z_i − z̄_h)²
//!          = Σ_h n_h/(n_h − 1) · (Σ_{i∈h} z_i² − (Σ_{i∈h} z_i)²/n_h),
//!
//! with n_h the respondents of stratum h in the whole design. Per cell of score s:
//! Σ z_i = Σw·(y_s − ȳ)/Ŵ and Σ z_i² = Σw²·(y_s − ȳ)²/Ŵ², so cells suffice. A stratum with a
//! single respondent contributes z_i² (centred on the overall mean of z, which is 0), without the
//! n/(n−1) factor — R's `survey.lonely.psu = "adjust"`. Degrees of freedom: n − H (`degf`).
//!
//! **Unweighted.** Sample mean and variance s² = (Σy² − n·ȳ²)/(n − 1).

use std::collections::{BTreeMap, HashMap};

use super::cells::Cell;

/// A variable measured on each response, as a function of its 0–10 score.
pub type Variable = fn(u8) -> f64;

pub fn score(s: u8) -> f64 {
    f64::from(s)
}
/// Satisfied: 8 to 10.
pub fn satisfied(s: u8) -> f64 {
    f64::from(u8::from(s >= 8))
}
/// Top two boxes: 9 or 10 (promoters).
pub fn top2(s: u8) -> f64 {
    f64::from(u8::from(s >= 9))
}
/// Detractors: 0 to 6.
pub fn detractor(s: u8) -> f64 {
    f64::from(u8::from(s <= 6))
}
/// Promoter minus detractor: its mean is the net-promoter index / 100.
pub fn net_promoter(s: u8) -> f64 {
    top2(s) - detractor(s)
}

/// The whole design: strata sizes over every cell of the period.
pub struct Design<'a> {
    cells: &'a [Cell],
    stratum_sizes: HashMap<&'a str, u64>,
    pub n: u64,
}

/// Moments of y over a domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: u64,
    /// Σw over the domain (the estimated number of requests it represents).
    pub sum_w: f64,
    /// Σw² over the domain (for Kish's effective sample size).
    pub sum_w2: f64,
    pub mean: Option<f64>,
    /// Variance of the *estimator* of the mean (squared standard error).
    pub variance: Option<f64>,
}

impl<'a> Design<'a> {
    pub fn new(cells: &'a [Cell]) -> Design<'a> {
        let mut stratum_sizes: HashMap<&str, u64> = HashMap::new();
        for cell in cells {
            *stratum_sizes.entry(cell.stratum.as_str()).or_default() += cell.count;
        }
        let n = stratum_sizes.values().sum();
        Design { cells, stratum_sizes, n }
    }

    pub fn strata(&self) -> usize {
        self.stratum_sizes.values().filter(|n| **n > 0).count()
    }

    /// Design degrees of freedom n − H, the same for every domain (`degf(design)`).
    pub fn df(&self) -> f64 {
        self.n as f64 - self.strata() as f64
    }

    fn domain(&self, in_domain: &dyn Fn(&Cell) -> bool) -> Vec<&'a Cell> {
        self.cells.iter().filter(|c| in_domain(c)).collect()
    }

    /// Hájek mean of y over the domain and the linearised variance of that mean.
    pub fn weighted(&self, in_domain: &dyn Fn(&Cell) -> bool, y: Variable) -> Moments {
        let domain = self.domain(in_domain);
        let n = domain.iter().map(|c| c.count).sum();
        let sum_w: f64 = domain.iter().map(|c| c.sum_w).sum();
        let sum_w2: f64 = domain.iter().map(|c| c.sum_w2).sum();
        if n == 0 || sum_w <= 0.0 {
            return Moments { n, sum_w, sum_w2, mean: None, variance: None };
        }
        let mean = domain.iter().map(|c| c.sum_w * y(c.score)).sum::<f64>() / sum_w;
        let sums = self.linearised_sums(&domain, y, mean, sum_w);
        Moments { n, sum_w, sum_w2, mean: Some(mean), variance: Some(self.stratified_variance(&sums)) }
    }

    /// Per stratum (Σz, Σz²) of the linearised values of a domain mean.
    /// A BTreeMap, not a HashMap: the same cells must sum in the same order in every process,
    /// so that the API and the CLI print identical digits.
    fn linearised_sums(
        &self,
        domain: &[&'a Cell],
        y: Variable,
        mean: f64,
        sum_w: f64,
    ) -> BTreeMap<&'a str, (f64, f64)> {
        let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for cell in domain {
            let deviation = (y(cell.score) - mean) / sum_w;
            let entry = sums.entry(cell.stratum.as_str()).or_default();
            entry.0 += cell.sum_w * deviation;
            entry.1 += cell.sum_w2 * deviation * deviation;
        }
        sums
    }

    fn stratified_variance(&self, sums: &BTreeMap<&'a str, (f64, f64)>) -> f64 {
        sums.iter()
            .map(|(stratum, (s1, s2))| {
                let n_h = self.stratum_sizes.get(stratum).copied().unwrap_or(0) as f64;
                if n_h > 1.0 { n_h / (n_h - 1.0) * (s2 - s1 * s1 / n_h) } else { *s2 }
            })
            .sum::<f64>()
            .max(0.0)
    }

    /// ȳ_A − ȳ_B for two disjoint domains and the variance of that difference: the
    /// linearised values are z_A − z_B (no response is in both, so no cross products).
    pub fn weighted_difference(
        &self,
        a: &dyn Fn(&Cell) -> bool,
        b: &dyn Fn(&Cell) -> bool,
        y: Variable,
    ) -> Option<(f64, f64)> {
        let (da, db) = (self.domain(a), self.domain(b));
        let (wa, wb): (f64, f64) = (da.iter().map(|c| c.sum_w).sum(), db.iter().map(|c| c.sum_w).sum());
        if wa <= 0.0 || wb <= 0.0 {
            return None;
        }
        let mean_a = da.iter().map(|c| c.sum_w * y(c.score)).sum::<f64>() / wa;
        let mean_b = db.iter().map(|c| c.sum_w * y(c.score)).sum::<f64>() / wb;
        let mut sums = self.linearised_sums(&da, y, mean_a, wa);
        for (stratum, (s1, s2)) in self.linearised_sums(&db, y, mean_b, wb) {
            let entry = sums.entry(stratum).or_default();
            entry.0 -= s1;
            entry.1 += s2;
        }
        Some((mean_a - mean_b, self.stratified_variance(&sums)))
    }

    /// Unweighted mean of y and the variance of that mean, s²/n.
    pub fn unweighted(&self, in_domain: &dyn Fn(&Cell) -> bool, y: Variable) -> Moments {
        let domain = self.domain(in_domain);
        let n: u64 = domain.iter().map(|c| c.count).sum();
        let sum_w: f64 = domain.iter().map(|c| c.sum_w).sum();
        let sum_w2: f64 = domain.iter().map(|c| c.sum_w2).sum();
        if n == 0 {
            return Moments { n, sum_w, sum_w2, mean: None, variance: None };
        }
        let nf = n as f64;
        let total: f64 = domain.iter().map(|c| c.count as f64 * y(c.score)).sum();
        let squares: f64 = domain.iter().map(|c| c.count as f64 * y(c.score).powi(2)).sum();
        let mean = total / nf;
        let variance = (n > 1).then(|| ((squares - nf * mean * mean) / (nf - 1.0)).max(0.0) / nf);
        Moments { n, sum_w, sum_w2, mean: Some(mean), variance }
    }
}
