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
//! **Post-stratified** (`Design::post_stratified`: the weights adjusted to known class totals,
//! see `adjust`). The linearised values are first residualised within each weighting class g,
//! as R's `svyrecvar` does for a design from `postStratify()`:
//! r_i = z_i − w_i·m_g, with m_g = Σ_{i∈g} w_i·d_i / Σ_{i∈g} w_i and d_i = z_i/w_i (the class's
//! weighted mean of d over *all* its respondents, those outside the domain counting d = 0), then
//! V = Σ_h n_h/(n_h − 1)·Σ_{i∈h}(r_i − r̄_h)² as above. Per cell: Σr = Σw·(d − m_g),
//! Σr² = Σw²·(d − m_g)². Degrees of freedom stay n − H (`degf` of the post-stratified design).
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
    /// Post-stratified: each cell's weighting class (`None`: its weights were not adjusted),
    /// and each class's Σw.
    classes: Option<(&'a [Option<usize>], Vec<f64>)>,
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
        Design { cells, stratum_sizes, n, classes: None }
    }

    /// A design whose weights were adjusted to known totals of weighting classes: `class_of[i]`
    /// is the class of `cells[i]` (`None`: not adjusted), classes numbered from 0.
    pub fn post_stratified(cells: &'a [Cell], class_of: &'a [Option<usize>]) -> Design<'a> {
        assert_eq!(cells.len(), class_of.len(), "a class (or none) per cell");
        let count = class_of.iter().flatten().map(|g| g + 1).max().unwrap_or(0);
        let mut class_weight = vec![0.0; count];
        for (cell, class) in cells.iter().zip(class_of) {
            if let Some(g) = class {
                class_weight[*g] += cell.sum_w;
            }
        }
        Design { classes: Some((class_of, class_weight)), ..Design::new(cells) }
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
        let deviation = |c: &Cell| if in_domain(c) { (y(c.score) - mean) / sum_w } else { 0.0 };
        let sums = self.linearised_sums(&domain, &deviation);
        Moments { n, sum_w, sum_w2, mean: Some(mean), variance: Some(self.stratified_variance(&sums)) }
    }

    /// Per stratum (Σz, Σz²) of the linearised values z = w·d of an estimator, d being
    /// `deviation` of a cell's responses (0 outside `domain`); residualised within the weighting
    /// classes when the design is post-stratified.
    /// A BTreeMap, not a HashMap: the same cells must sum in the same order in every process,
    /// so that the API and the CLI print identical digits.
    fn linearised_sums(&self, domain: &[&'a Cell], deviation: &dyn Fn(&Cell) -> f64) -> BTreeMap<&'a str, (f64, f64)> {
        let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        let mut add = |cell: &'a Cell, d: f64| {
            if d != 0.0 {
                let entry = sums.entry(cell.stratum.as_str()).or_default();
                entry.0 += cell.sum_w * d;
                entry.1 += cell.sum_w2 * d * d;
            }
        };
        let Some((class_of, weight)) = self.classes.as_ref() else {
            // Outside the domain z = 0: only the domain's cells count.
            domain.iter().for_each(|cell| add(cell, deviation(cell)));
            return sums;
        };
        // Post-stratified: every cell of a class moves with its class mean, in the domain or not.
        let mut means = vec![0.0; weight.len()];
        for (cell, class) in self.cells.iter().zip(class_of.iter()) {
            if let Some(g) = class {
                means[*g] += cell.sum_w * deviation(cell);
            }
        }
        means.iter_mut().zip(weight).for_each(|(m, w)| *m = if *w > 0.0 { *m / w } else { 0.0 });
        for (cell, class) in self.cells.iter().zip(class_of.iter()) {
            add(cell, deviation(cell) - class.map_or(0.0, |g| means[g]));
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

    /// Which weights the domain's cells carry: `adjusted` when every cell's were adjusted to the
    /// frame, `design` when none was (or the design is not post-stratified), `mixed` otherwise.
    pub fn weighting(&self, in_domain: &dyn Fn(&Cell) -> bool) -> &'static str {
        let Some((class_of, _)) = self.classes.as_ref() else { return "design" };
        let (mut adjusted, mut kept) = (false, false);
        for (cell, class) in self.cells.iter().zip(class_of.iter()) {
            if in_domain(cell) {
                if class.is_some() { adjusted = true } else { kept = true }
            }
        }
        match (adjusted, kept) {
            (true, false) => "adjusted",
            (true, true) => "mixed",
            _ => "design",
        }
    }

    /// The design effect of the weighted mean of y over the domain: its variance over that of
    /// the mean of a simple random sample without replacement of the same size from a population
    /// of N̂ = Σw, V / ((1 − n/N̂)·S²/n), with S² = n/(n − 1)·Σw(y − ȳ)²/Σw — Kish (1965, §8.2),
    /// as R's `svymean(…, deff = TRUE)` computes it. `None` when it does not exist (n < 2, no
    /// spread, or N̂ ≤ n).
    pub fn design_effect(&self, in_domain: &dyn Fn(&Cell) -> bool, y: Variable) -> Option<f64> {
        let moments = self.weighted(in_domain, y);
        let (mean, variance) = (moments.mean?, moments.variance?);
        let (n, total) = (moments.n as f64, moments.sum_w);
        if n < 2.0 || total <= n {
            return None;
        }
        let spread: f64 = self.domain(in_domain).iter().map(|c| c.sum_w * (y(c.score) - mean).powi(2)).sum();
        let population_variance = n / (n - 1.0) * spread / total;
        let srs = (1.0 - n / total) * population_variance / n;
        (srs > 0.0).then(|| variance / srs)
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
        // No response is in both domains: z = z_A − z_B, cell by cell.
        let deviation = |c: &Cell| {
            if a(c) {
                (y(c.score) - mean_a) / wa
            } else if b(c) {
                -(y(c.score) - mean_b) / wb
            } else {
                0.0
            }
        };
        let both: Vec<&Cell> = da.iter().chain(db.iter()).copied().collect();
        let sums = self.linearised_sums(&both, &deviation);
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
