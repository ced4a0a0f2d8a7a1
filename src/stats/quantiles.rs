//! Distribution quantiles (statrs).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The two-sided quantile t(df, 1 − α/2) for a confidence level 1 − α; `None` for df < 1.
pub fn student_t(confidence: f64, df: f64) -> Option<f64> {
    if df.is_nan() || df < 1.0 || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(t.inverse_cdf(1.0 - (1.0 - confidence) / 2.0))
}

/// The two-sided standard normal quantile z(1 − α/2).
pub fn normal(confidence: f64) -> f64 {
    Normal::standard().inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom.
pub fn two_sided_p(t: f64, df: f64) -> Option<f64> {
    if df.is_nan() || df < 1.0 || !t.is_finite() {
        return None;
    }
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(2.0 * (1.0 - dist.cdf(t.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        ((a - b) / b).abs() < 1e-9
    }

    #[test]
    fn published_table_values() {
        // qt(0.975, c(1, 9, 30)) and qnorm(0.975) in R.
        assert!(close(student_t(0.95, 1.0).unwrap(), 12.706204736174698));
        assert!(close(student_t(0.95, 9.0).unwrap(), 2.2621571627982036));
        assert!(close(student_t(0.95, 30.0).unwrap(), 2.0422724563012373));
        assert!(close(normal(0.95), 1.959963984540054));
        assert!(close(two_sided_p(2.2621571627982036, 9.0).unwrap(), 0.05));
        assert_eq!(student_t(0.95, 0.0), None);
    }
}
