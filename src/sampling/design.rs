//! The sampling design, as pure functions: stratum rates and the Poisson draw.
//!
//! **Stratified Poisson sampling.** Each eligible request *i* in stratum *h* (direction ×
//! channel) is drawn independently with probability π_h, the stratum's rate; its design weight is
//! w_i = 1/π_h (Särndal, Swensson & Wretman, *Model Assisted Survey Sampling*, 1992, §3.5).
//!
//! **The draw.** Each request gets its own uniform number u_i = U(seed, request id), the first 53
//! bits of SHA-256(seed ‖ id) scaled to [0, 1), and is sampled iff u_i < π_h. SHA-256 outputs are
//! uniform and independent across inputs, so the draws are independent Bernoulli(π_h) trials;
//! and because u_i depends only on the run's seed and the request, replaying a run's seed on the
//! same requests gives the same sample whatever the order they are read in (a "permanent random
//! number" design, Ohlsson 1995). The seed itself comes from `rand`'s OS-seeded generator.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::SamplingSettings;

/// u_i in [0, 1) for request `id` under `seed`.
pub fn uniform(seed: u64, id: i64) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update(id.to_le_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// Where a stratum's rate came from, recorded with each run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    Default,
    Direction,
    Channel,
    Stratum,
    Adaptive,
}

/// What the adaptive rule needs to know about a stratum's recent history.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StratumHistory {
    /// Eligible requests per month, from the recent runs' records.
    pub eligible_per_month: Option<f64>,
    /// Invitations of the lookback period old enough to have been answered.
    pub invitations: u64,
    /// How many of those got a response.
    pub responses: u64,
}

/// Invitations below this count give too noisy a response rate; the assumed one is used.
pub const MIN_INVITATIONS_FOR_RESPONSE_RATE: u64 = 20;

/// The rate of a stratum: the most specific configured override, or, with a monthly target, the
/// rate expected to produce it: π_h = target / (N_h × RR_h), clamped to [min_rate, 1], where N_h
/// is the stratum's eligible requests per month and RR_h its observed response rate.
pub fn stratum_rate(
    settings: &SamplingSettings,
    direction: &str,
    channel: &str,
    history: Option<&StratumHistory>,
) -> (f64, RateSource) {
    let stratum = stratum_label(direction, channel);
    if let Some(rate) = settings.stratum_rates.get(&stratum) {
        return (*rate, RateSource::Stratum);
    }
    if let (Some(target), Some(history)) = (settings.monthly_target, history)
        && let Some(volume) = history.eligible_per_month.filter(|v| *v > 0.0)
    {
        let response_rate = if history.invitations >= MIN_INVITATIONS_FOR_RESPONSE_RATE && history.responses > 0 {
            history.responses as f64 / history.invitations as f64
        } else {
            settings.assumed_response_rate
        };
        let rate = f64::from(target) / (volume * response_rate);
        return (rate.clamp(settings.min_rate, 1.0), RateSource::Adaptive);
    }
    if let Some(rate) = settings.channel_rates.get(channel) {
        return (*rate, RateSource::Channel);
    }
    if let Some(rate) = settings.direction_rates.get(direction) {
        return (*rate, RateSource::Direction);
    }
    (settings.default_rate, RateSource::Default)
}

/// "TP:phone": the stratum of a request, as stored on invitations and responses.
pub fn stratum_label(direction: &str, channel: &str) -> String {
    format!("{direction}:{channel}")
}

/// Per-stratum figures of a run, as stored in `sampling_runs.strata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct StratumCounts {
    pub stratum: String,
    pub direction: String,
    pub channel: String,
    /// The ids behind `direction` and `channel`, for writing; not part of the record.
    #[serde(skip)]
    pub direction_id: i64,
    #[serde(skip)]
    pub channel_id: i64,
    /// Requests in the window not decided before (whatever their eligibility).
    pub population: u64,
    pub eligible: u64,
    pub sampled: u64,
    pub rate: f64,
    pub rate_source: String,
    /// Exclusions by reason within this stratum.
    pub excluded: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn settings() -> SamplingSettings {
        Settings::default().sampling
    }

    #[test]
    fn uniforms_are_reproducible_in_range_and_seed_dependent() {
        assert_eq!(uniform(42, 7), uniform(42, 7));
        assert_ne!(uniform(42, 7), uniform(43, 7));
        assert_ne!(uniform(42, 7), uniform(42, 8));
        for id in 0..10_000 {
            let u = uniform(9, id);
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn uniforms_are_uniform() {
        // Kolmogorov–Smirnov over 100,000 draws: the 99.9 % critical value is 1.95/√n ≈ 0.00617.
        let n = 100_000;
        let mut draws: Vec<f64> = (0..n).map(|id| uniform(2026, id)).collect();
        draws.sort_by(f64::total_cmp);
        let d = draws
            .iter()
            .enumerate()
            .map(|(i, u)| ((i + 1) as f64 / n as f64 - u).abs().max((u - i as f64 / n as f64).abs()))
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (n as f64).sqrt(), "KS distance {d}");
    }

    #[test]
    fn the_most_specific_override_wins() {
        let mut s = settings();
        s.direction_rates.insert("TP".into(), 0.1);
        s.channel_rates.insert("counter".into(), 0.9);
        s.stratum_rates.insert("TP:email".into(), 0.5);
        assert_eq!(stratum_rate(&s, "TP", "email", None), (0.5, RateSource::Stratum));
        assert_eq!(stratum_rate(&s, "TP", "counter", None), (0.9, RateSource::Channel));
        assert_eq!(stratum_rate(&s, "TP", "phone", None), (0.1, RateSource::Direction));
        assert_eq!(stratum_rate(&s, "ENV", "phone", None), (0.25, RateSource::Default));
    }

    #[test]
    fn adaptive_rate_reaches_for_the_target() {
        let mut s = settings();
        s.monthly_target = Some(30);
        // 1,000 eligible a month answering at 20 %: 30 / (1000 × 0.2) = 0.15.
        let busy = StratumHistory { eligible_per_month: Some(1000.0), invitations: 500, responses: 100 };
        let (rate, source) = stratum_rate(&s, "TP", "phone", Some(&busy));
        assert!((rate - 0.15).abs() < 1e-12 && source == RateSource::Adaptive);
        // A lower response rate asks more people.
        let shy = StratumHistory { responses: 50, ..busy };
        assert!((stratum_rate(&s, "TP", "phone", Some(&shy)).0 - 0.3).abs() < 1e-12);
        // A small stratum (social media) is asked in full; a huge one never below the floor.
        let small = StratumHistory { eligible_per_month: Some(40.0), invitations: 30, responses: 9 };
        assert_eq!(stratum_rate(&s, "COM", "social_media", Some(&small)).0, 1.0);
        let huge = StratumHistory { eligible_per_month: Some(1e7), invitations: 1000, responses: 300 };
        assert_eq!(stratum_rate(&s, "TP", "phone", Some(&huge)).0, s.min_rate);
        // Too few invitations: the assumed response rate (0.3): 30 / (200 × 0.3) = 0.5.
        let young = StratumHistory { eligible_per_month: Some(200.0), invitations: 5, responses: 4 };
        assert!((stratum_rate(&s, "URB", "email", Some(&young)).0 - 0.5).abs() < 1e-12);
        // No history at all: the configured rate.
        assert_eq!(stratum_rate(&s, "URB", "email", None), (0.25, RateSource::Default));
    }
}
