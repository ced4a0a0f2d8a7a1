// Reference values are kept exactly as R prints them (17 significant digits).
#![allow(clippy::excessive_precision)]

//! Hand-computed cases, edge cases, reference values from R's survey package (4.1-1, Debian's
//! r-cran-survey; script in tests/reference/survey_reference.R), and a coverage simulation.

use super::*;
use crate::stats::compare::compare;
use crate::stats::design::Design;

/// (direction, channel, month, stratum, score, weight) — the data of
/// tests/reference/survey_reference.csv, 30 responses in 5 strata, one of them lonely.
const ROWS: [(&str, &str, &str, &str, u8, f64); 30] = [
    ("TP", "phone", "2022-01", "TP:phone", 9, 4.0),
    ("TP", "phone", "2022-02", "TP:phone", 10, 4.0),
    ("TP", "phone", "2022-01", "TP:phone", 8, 4.0),
    ("TP", "phone", "2022-02", "TP:phone", 7, 4.0),
    ("TP", "phone", "2022-01", "TP:phone", 10, 4.0),
    ("TP", "phone", "2022-02", "TP:phone", 9, 4.0),
    ("TP", "phone", "2022-01", "TP:phone", 6, 5.0),
    ("TP", "phone", "2022-02", "TP:phone", 10, 5.0),
    ("TP", "phone", "2022-01", "TP:phone", 9, 5.0),
    ("TP", "phone", "2022-02", "TP:phone", 8, 5.0),
    ("TP", "email", "2022-01", "TP:email", 10, 2.5),
    ("TP", "email", "2022-02", "TP:email", 9, 2.5),
    ("TP", "email", "2022-01", "TP:email", 3, 2.5),
    ("TP", "email", "2022-02", "TP:email", 8, 2.5),
    ("TP", "email", "2022-01", "TP:email", 9, 2.5),
    ("ENV", "phone", "2022-01", "ENV:phone", 7, 6.0),
    ("ENV", "phone", "2022-02", "ENV:phone", 8, 6.0),
    ("ENV", "phone", "2022-01", "ENV:phone", 9, 6.0),
    ("ENV", "phone", "2022-02", "ENV:phone", 10, 6.0),
    ("ENV", "phone", "2022-01", "ENV:phone", 5, 6.0),
    ("ENV", "phone", "2022-02", "ENV:phone", 9, 6.0),
    ("ENV", "phone", "2022-01", "ENV:phone", 8, 6.0),
    ("ENV", "web_form", "2022-01", "ENV:web_form", 10, 1.5),
    ("ENV", "web_form", "2022-02", "ENV:web_form", 10, 1.5),
    ("ENV", "web_form", "2022-01", "ENV:web_form", 9, 1.5),
    ("ENV", "web_form", "2022-02", "ENV:web_form", 2, 1.5),
    ("ENV", "web_form", "2022-01", "ENV:web_form", 8, 1.5),
    ("ENV", "web_form", "2022-02", "ENV:web_form", 9, 1.5),
    ("ENV", "web_form", "2022-01", "ENV:web_form", 7, 1.5),
    ("SEC", "counter", "2022-02", "SEC:counter", 4, 12.0),
];

/// Aggregate raw responses into cells, as the database's GROUP BY does.
pub fn cells_of(rows: &[(&str, &str, &str, &str, u8, f64)]) -> Vec<Cell> {
    let mut cells: BTreeMap<(String, String, String, String, u8), Cell> = BTreeMap::new();
    for &(direction, channel, month, stratum, score, weight) in rows {
        let cell =
            cells.entry((direction.into(), channel.into(), month.into(), stratum.into(), score)).or_insert_with(|| {
                Cell {
                    direction: direction.into(),
                    channel: channel.into(),
                    month: month.into(),
                    class_month: String::new(),
                    stratum: stratum.into(),
                    score,
                    count: 0,
                    sum_w: 0.0,
                    sum_w2: 0.0,
                }
            });
        cell.count += 1;
        cell.sum_w += weight;
        cell.sum_w2 += weight * weight;
    }
    cells.into_values().collect()
}

fn options(by: GroupBy, weighted: bool) -> Options {
    Options { by, weighted, confidence: 0.95, min_n: 0, direction: None, channel: None }
}

#[track_caller]
fn assert_rel(actual: Option<f64>, expected: f64, tolerance: f64) {
    let actual = actual.expect("a value");
    let scale = expected.abs().max(1e-300);
    assert!(
        ((actual - expected) / scale).abs() < tolerance || (actual - expected).abs() < 1e-15,
        "{actual} vs {expected}"
    );
}

const R: f64 = 1e-9;

#[test]
fn weighted_figures_match_r_survey() {
    let report = estimate(&cells_of(&ROWS), &options(GroupBy::None, true));
    let o = &report.overall;
    assert_eq!(o.n, 30);
    assert_eq!(o.df, Some(25.0), "degf = 30 − 5 strata");
    assert_rel(o.mean, 7.7768595041322319, R);
    assert_rel(o.std_error, 0.4863762190310999, R);
    assert_rel(o.ci_low, 6.7751489298953, R);
    assert_rel(o.ci_high, 8.7785700783691638, R);
    // svyciprop(method = "logit"); R's GLM converges to ~1e-10, hence 1e-8 on these.
    assert_rel(o.satisfied.estimate, 0.68181818179039466, 1e-8);
    assert_rel(o.satisfied.std_error, 0.10863219919080087, 1e-8);
    assert_rel(o.satisfied.ci_low, 0.43311360495370255, 1e-8);
    assert_rel(o.satisfied.ci_high, 0.85734838639802369, 1e-8);
    assert_rel(o.top2.estimate, 0.47520661158169625, 1e-8);
    assert_rel(o.top2.std_error, 0.10806347574411747, 1e-8);
    assert_rel(o.top2.ci_low, 0.27057782683427556, 1e-8);
    assert_rel(o.top2.ci_high, 0.68851437117882497, 1e-8);
    assert_rel(o.detractors.estimate, 0.22314049616520271, 1e-8);
    assert_rel(o.detractors.std_error, 0.10290856317846757, 1e-8);
    assert_rel(o.detractors.ci_low, 0.077980797465511634, 1e-8);
    assert_rel(o.detractors.ci_high, 0.49379722103822093, 1e-8);
    assert_rel(o.nps.estimate, 25.206611570247933, R);
    assert_rel(o.nps.std_error, 18.700578255479648, R);
}

#[test]
fn weighted_domains_match_svyby() {
    let cells = cells_of(&ROWS);
    let by_direction = estimate(&cells, &options(GroupBy::Direction, true));
    let expected = [
        ("ENV", 7.9714285714285706, 0.53706179732844517),
        ("SEC", 4.0, 0.0),
        ("TP", 8.3982300884955752, 0.44126694091348151),
    ];
    for (group, (direction, mean, se)) in by_direction.groups.iter().zip(expected) {
        assert_eq!(group.direction.as_deref(), Some(direction));
        assert_eq!((group.channel.as_deref(), group.month.as_deref()), (None, None));
        assert_rel(group.estimate.mean, mean, R);
        assert_rel(group.estimate.std_error, se, R);
        assert_eq!(group.estimate.df, Some(25.0), "design df for every group");
    }
    let env = &by_direction.groups[0].estimate;
    assert_rel(env.satisfied.ci_low, 0.35012458622306558, 1e-8);
    assert_rel(env.satisfied.ci_high, 0.92063988806477803, 1e-8);
    assert_rel(env.nps.estimate, 31.428571428571427, R);
    assert_rel(env.nps.std_error, 23.618279557404275, R);
    let tp = &by_direction.groups[2].estimate;
    assert_rel(tp.satisfied.std_error, 0.11508889051151303, 1e-8);
    assert_rel(tp.satisfied.ci_low, 0.47556258178319266, 1e-8);
    assert_rel(tp.satisfied.ci_high, 0.94408895914345459, 1e-8);
    assert_rel(tp.nps.std_error, 20.525330185289743, R);

    let by_channel = estimate(&cells, &options(GroupBy::Channel, true));
    let expected = [
        ("counter", 4.0, 0.0),
        ("email", 7.8, 1.2409673645990857),
        ("phone", 8.2906976744186043, 0.37706819836423694),
        ("web_form", 7.8571428571428577, 1.0562415720389922),
    ];
    for (group, (channel, mean, se)) in by_channel.groups.iter().zip(expected) {
        assert_eq!(group.channel.as_deref(), Some(channel));
        assert_rel(group.estimate.mean, mean, R);
        assert_rel(group.estimate.std_error, se, R);
    }

    let by_both = estimate(&cells, &options(GroupBy::DirectionChannel, true));
    let means: Vec<f64> = by_both.groups.iter().map(|g| g.estimate.mean.unwrap()).collect();
    // svyby orders by channel first; ours by direction: ENV.phone, ENV.web_form, SEC.counter, TP.email, TP.phone.
    let expected = [8.0, 7.8571428571428577, 4.0, 7.8, 8.5681818181818183];
    let ses = [0.61721339984836776, 1.0562415720389922, 0.0, 1.2409673645990857, 0.4449470230136503];
    for ((group, mean), se) in by_both.groups.iter().zip(expected).zip(ses) {
        assert_rel(group.estimate.mean, mean, R);
        assert_rel(group.estimate.std_error, se, R);
    }
    assert_eq!(means.len(), 5);

    let by_month = estimate(&cells, &options(GroupBy::Month, true));
    assert_rel(by_month.groups[0].estimate.mean, 7.7815126050420167, R);
    assert_rel(by_month.groups[0].estimate.std_error, 0.49223445585596037, R);
    assert_rel(by_month.groups[1].estimate.mean, 7.7723577235772359, R);
    assert_rel(by_month.groups[1].estimate.std_error, 0.82256447929273324, R);
}

#[test]
fn weighted_differences_match_svycontrast_with_covariance() {
    let cells = cells_of(&ROWS);
    // svycontrast(svyby(~score, ~month, design, svymean, covmat = TRUE), `2022-01` - `2022-02`)
    let months = compare(&Design::new(&cells), &|c| c.month == "2022-01", &|c| c.month == "2022-02", true, 0.95);
    assert_rel(months.difference, 0.0091548814647808285, R);
    assert_rel(months.std_error, 0.95220301059246348, R);
    assert_eq!(months.df, Some(25.0));
    let directions = compare(&Design::new(&cells), &|c| c.direction == "TP", &|c| c.direction == "ENV", true, 0.95);
    assert_rel(directions.difference, 0.42680151706700453, R);
    assert_rel(directions.std_error, 0.69509127982790997, R);
}

#[test]
fn unweighted_figures_match_r() {
    let cells = cells_of(&ROWS);
    let o = estimate(&cells, &options(GroupBy::None, false)).overall;
    // t.test(score): mean 8, 95 % interval.
    assert_rel(o.mean, 8.0, R);
    assert_rel(o.ci_low, 7.209404881817651, R);
    assert_rel(o.ci_high, 8.7905951181823507, R);
    assert_eq!(o.df, Some(29.0));
    // prop.test(x, n, correct = FALSE)$conf.int is the Wilson interval.
    assert_rel(o.satisfied.ci_low, 0.55552038304811113, R);
    assert_rel(o.satisfied.ci_high, 0.85817336680403666, R);
    assert_eq!(o.weight_total, None);
    // Welch: t.test(TP, ENV)
    let welch = compare(&Design::new(&cells), &|c| c.direction == "TP", &|c| c.direction == "ENV", false, 0.95);
    assert_rel(welch.t, 0.53116621386113327, R);
    assert_rel(welch.df, 25.664968430413296, R);
    assert_rel(welch.p_value, 0.59987085969778198, 1e-8);
    assert_rel(welch.ci_low, -1.1625985750826386, R);
    assert_rel(welch.ci_high, 1.9721223846064491, R);
}

#[test]
fn a_tiny_unweighted_sample_worked_on_paper() {
    // Scores 10, 8, 6: mean 8, s² = (4 + 0 + 4)/2 = 4, SE = √(4/3), t(2) = 4.3026527297494619.
    let cells = cells_of(&[
        ("TP", "phone", "2022-01", "s", 10, 1.0),
        ("TP", "phone", "2022-01", "s", 8, 1.0),
        ("TP", "phone", "2022-01", "s", 6, 1.0),
    ]);
    let o = estimate(&cells, &options(GroupBy::None, false)).overall;
    let se = (4.0f64 / 3.0).sqrt();
    assert_rel(o.mean, 8.0, 1e-12);
    assert_rel(o.std_error, se, 1e-12);
    assert_rel(o.ci_low, 8.0 - 4.3026527297494619 * se, 1e-12);
    // Satisfied 2/3; promoters 1/3, detractors 1/3: NPS 0, SE 100·√((1/3 + 1/3 − 0)/3) = 100·√2/3.
    assert_rel(o.satisfied.estimate, 2.0 / 3.0, 1e-12);
    assert_rel(o.nps.estimate.map(|v| v + 1.0), 1.0, 1e-12);
    assert_rel(o.nps.std_error, 100.0 * 2f64.sqrt() / 3.0, 1e-12);
    // Wilson by hand, z = 1.959963984540054, p = 2/3, n = 3.
    let z = 1.959963984540054f64;
    let centre = (2.0 / 3.0 + z * z / 6.0) / (1.0 + z * z / 3.0);
    let half = z / (1.0 + z * z / 3.0) * ((2.0 / 9.0) / 3.0 + z * z / 36.0).sqrt();
    assert_rel(o.satisfied.ci_low, centre - half, 1e-12);
    assert_rel(o.satisfied.ci_high, centre + half, 1e-12);
}

#[test]
fn a_tiny_weighted_sample_worked_on_paper() {
    // Stratum A: 10 (w 1), 6 (w 1); stratum B: 8 (w 2), 4 (w 2). Ŵ = 6, ȳ = 40/6.
    // z: 5/9, −1/9 | 4/9, −8/9. A: 2·(2/9) = 4/9; B: 2·(8/9) = 16/9. V = 20/9; df = 4 − 2.
    let cells = cells_of(&[
        ("D", "phone", "m", "A", 10, 1.0),
        ("D", "phone", "m", "A", 6, 1.0),
        ("D", "phone", "m", "B", 8, 2.0),
        ("D", "phone", "m", "B", 4, 2.0),
    ]);
    let o = estimate(&cells, &options(GroupBy::None, true)).overall;
    assert_rel(o.mean, 40.0 / 6.0, 1e-12);
    assert_rel(o.std_error, (20.0f64 / 9.0).sqrt(), 1e-12);
    assert_eq!(o.df, Some(2.0));
    assert_rel(o.weight_total, 6.0, 1e-12);
}

#[test]
fn unit_weights_in_one_stratum_give_the_unweighted_mean_figures() {
    let rows: Vec<_> = ROWS.iter().map(|r| (r.0, r.1, r.2, "one", r.4, 1.0)).collect();
    let cells = cells_of(&rows);
    let weighted = estimate(&cells, &options(GroupBy::Direction, true));
    let unweighted = estimate(&cells, &options(GroupBy::Direction, false));
    assert_rel(weighted.overall.mean, unweighted.overall.mean.unwrap(), 1e-12);
    assert_rel(weighted.overall.std_error, unweighted.overall.std_error.unwrap(), 1e-12);
    assert_eq!(weighted.overall.df, unweighted.overall.df);
    assert_rel(weighted.overall.ci_low, unweighted.overall.ci_low.unwrap(), 1e-12);
    assert_rel(Some(weighted.groups[0].mean_or()), unweighted.groups[0].mean_or(), 1e-12);
}

impl GroupEstimate {
    fn mean_or(&self) -> f64 {
        self.estimate.mean.unwrap_or(f64::NAN)
    }
}

#[test]
fn edge_cases_never_give_nan() {
    // Everyone gave 8: no spread, SE 0, a degenerate but finite interval.
    let rows: Vec<_> = ROWS.iter().map(|r| (r.0, r.1, r.2, r.3, 8, r.5)).collect();
    let same = estimate(&cells_of(&rows), &options(GroupBy::None, true)).overall;
    assert_eq!((same.mean, same.std_error), (Some(8.0), Some(0.0)));
    assert_eq!(same.satisfied.estimate, Some(1.0));
    let (low, high) = (same.satisfied.ci_low.unwrap(), same.satisfied.ci_high.unwrap());
    assert!(low > 0.8 && low < 1.0 && high == 1.0, "Wilson–Kish at the boundary: [{low}, {high}]");

    // One response: a mean, no standard error, no interval.
    let one = cells_of(&[("TP", "phone", "2022-01", "s", 9, 3.0)]);
    for weighted in [false, true] {
        let o = estimate(&one, &options(GroupBy::None, weighted)).overall;
        assert_eq!(o.mean, Some(9.0));
        assert!(o.ci_low.is_none() && o.ci_high.is_none(), "{o:?}");
        assert!(o.std_error.is_none_or(|se| se.is_finite()));
        let json = serde_json::to_string(&o).unwrap();
        assert!(!json.contains("NaN") && !json.contains("inf"), "{json}");
    }

    // An empty domain (a direction without responses).
    let mut opts = options(GroupBy::Channel, true);
    opts.direction = Some("URB".into());
    let empty = estimate(&cells_of(&ROWS), &opts);
    assert_eq!(empty.overall.n, 0);
    assert_eq!(empty.overall.mean, None);
    assert!(empty.groups.is_empty());
}

#[test]
fn small_cells_are_suppressed_with_their_count() {
    let mut opts = options(GroupBy::Direction, true);
    opts.min_n = 10;
    let report = estimate(&cells_of(&ROWS), &opts);
    let sec = report.groups.iter().find(|g| g.direction.as_deref() == Some("SEC")).unwrap();
    assert_eq!(sec.estimate.n, 1);
    assert!(sec.estimate.suppressed);
    assert_eq!(
        (sec.estimate.mean, sec.estimate.std_error, sec.estimate.satisfied.estimate, sec.estimate.nps.estimate),
        (None, None, None, None)
    );
    let tp = report.groups.iter().find(|g| g.direction.as_deref() == Some("TP")).unwrap();
    assert!(!tp.estimate.suppressed && tp.estimate.mean.is_some());
}

#[test]
fn filters_are_domains_of_the_whole_design() {
    let mut opts = options(GroupBy::None, true);
    opts.direction = Some("TP".into());
    let tp = estimate(&cells_of(&ROWS), &opts).overall;
    assert_rel(tp.mean, 8.3982300884955752, R);
    assert_rel(tp.std_error, 0.44126694091348151, R);
    assert_eq!(tp.df, Some(25.0));
}

/// Coverage: over many samples from a known population, the 95 % interval holds the true mean
/// 93–97 % of the time (binomial sd of the rate over 1,000 samples ≈ 0.7 points).
#[test]
fn intervals_cover_the_true_mean_about_95_percent_of_the_time() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(311);
    // A population of 20,000 closed requests in 4 strata with different score distributions.
    let strata: [(&str, usize, f64); 4] =
        [("TP:phone", 10_000, 8.6), ("TP:email", 4_000, 7.2), ("ENV:phone", 5_000, 8.1), ("SEC:counter", 1_000, 5.5)];
    let mut population: Vec<(&str, u8)> = Vec::new();
    for (stratum, size, centre) in strata {
        for _ in 0..size {
            let noise: f64 = (0..4).map(|_| rng.random::<f64>()).sum::<f64>() - 2.0;
            population.push((stratum, (centre + 2.5 * noise).round().clamp(0.0, 10.0) as u8));
        }
    }
    let true_mean = population.iter().map(|p| f64::from(p.1)).sum::<f64>() / population.len() as f64;
    let rates = |s: &str| match s {
        "TP:phone" => 0.01,
        "TP:email" => 0.03,
        "ENV:phone" => 0.02,
        _ => 0.08,
    };
    let (mut covered_weighted, mut covered_simple, reps) = (0, 0, 1000);
    for _ in 0..reps {
        let rows: Vec<_> = population
            .iter()
            .filter(|(s, _)| rng.random::<f64>() < rates(s))
            .map(|&(s, score)| ("D", "phone", "m", s, score, 1.0 / rates(s)))
            .collect();
        let o = estimate(&cells_of(&rows), &options(GroupBy::None, true)).overall;
        if o.ci_low.unwrap() <= true_mean && true_mean <= o.ci_high.unwrap() {
            covered_weighted += 1;
        }
        // Simple random sample of 150 for the unweighted interval.
        let srs: Vec<_> = (0..150)
            .map(|_| population[rng.random_range(0..population.len())])
            .map(|(s, score)| ("D", "phone", "m", s, score, 1.0))
            .collect();
        let u = estimate(&cells_of(&srs), &options(GroupBy::None, false)).overall;
        if u.ci_low.unwrap() <= true_mean && true_mean <= u.ci_high.unwrap() {
            covered_simple += 1;
        }
    }
    let (w, s) = (covered_weighted as f64 / reps as f64, covered_simple as f64 / reps as f64);
    assert!((0.93..=0.97).contains(&w), "weighted coverage {w}");
    assert!((0.93..=0.97).contains(&s), "unweighted coverage {s}");
}

#[test]
fn the_design_counts_strata_over_the_whole_period() {
    let cells = cells_of(&ROWS);
    let design = Design::new(&cells);
    assert_eq!((design.n, design.strata()), (30, 5));
}

/// A million responses: the interval's width is 2·t(df)·SE with t from R's `qt` for df = 10⁶
/// (statrs' quantile made it 1e-4 narrower). Unweighted, and weighted with equal weights in one
/// stratum, where the linearised SE reduces to s/√n by hand: Σ(z − z̄)² with z = (y − ȳ)/n.
#[test]
fn a_million_responses_get_the_exact_t_interval() {
    let counts: [(u8, u64); 4] = [(10, 400_001), (9, 300_000), (8, 200_000), (5, 100_000)];
    let n: u64 = counts.iter().map(|c| c.1).sum();
    assert_eq!(n, 1_000_001);
    let cells: Vec<Cell> = counts
        .iter()
        .map(|&(score, count)| Cell {
            direction: "TP".into(),
            channel: "phone".into(),
            month: "2026-11".into(),
            class_month: String::new(),
            stratum: "TP:phone".into(),
            score,
            count,
            sum_w: 2.5 * count as f64,
            sum_w2: 6.25 * count as f64,
        })
        .collect();
    // By hand: the mean, then s² = Σ count·(y − ȳ)² / (n − 1).
    let total: f64 = counts.iter().map(|&(y, c)| f64::from(y) * c as f64).sum();
    let mean = total / n as f64;
    let ss: f64 = counts.iter().map(|&(y, c)| c as f64 * (f64::from(y) - mean).powi(2)).sum();
    let se = (ss / (n - 1) as f64 / n as f64).sqrt();
    let qt = 1.959966356814107; // qt(0.975, 1e6) in R
    for weighted in [false, true] {
        let report = estimate(&cells, &options(GroupBy::None, weighted));
        let overall = report.overall;
        assert_eq!(overall.df, Some(1_000_000.0), "weighted: {weighted}");
        let width = overall.ci_high.unwrap() - overall.ci_low.unwrap();
        let expected = 2.0 * qt * se;
        assert!(((width - expected) / expected).abs() < 1e-9, "weighted {weighted}: {width} against {expected}");
        assert!((overall.mean.unwrap() - mean).abs() < 1e-12);
    }
}
