// Reference values are kept exactly as R prints them (17 significant digits).
#![allow(clippy::excessive_precision)]

//! Reference values from R's survey package (4.1-1, Debian's r-cran-survey; script, data and
//! output in tests/reference/adjust_reference.*), hand-worked collapsing cases, and a simulation.

use std::collections::BTreeMap;

use super::*;
use crate::stats::{GroupBy, Options, estimate, estimate_adjusted};

/// Cells (month = class month = month of closing) from respondent rows
/// (direction, channel, month, score, weight).
fn cells_of(rows: &[(String, String, String, u8, f64)]) -> Vec<Cell> {
    let mut cells: BTreeMap<(String, String, String, u8), Cell> = BTreeMap::new();
    for (direction, channel, month, score, weight) in rows {
        let cell = cells.entry((direction.clone(), channel.clone(), month.clone(), *score)).or_insert_with(|| Cell {
            direction: direction.clone(),
            channel: channel.clone(),
            month: month.clone(),
            class_month: month.clone(),
            stratum: format!("{direction}:{channel}"),
            score: *score,
            ..Cell::default()
        });
        cell.count += 1;
        cell.sum_w += weight;
        cell.sum_w2 += weight * weight;
    }
    cells.into_values().collect()
}

fn reference() -> (Vec<Cell>, Vec<FrameCount>) {
    let rows: Vec<(String, String, String, u8, f64)> = include_str!("../../../tests/reference/adjust_reference.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[4].parse().unwrap(), f[5].parse().unwrap())
        })
        .collect();
    let frame = include_str!("../../../tests/reference/adjust_frame.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            FrameCount {
                direction: f[0].into(),
                channel: f[1].into(),
                month: f[2].into(),
                requests: f[3].parse().unwrap(),
            }
        })
        .collect();
    (cells_of(&rows), frame)
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a value");
    assert!(((actual - expected) / expected).abs() < 1e-9, "{actual} vs {expected}");
}

fn options(by: GroupBy) -> Options {
    Options { by, weighted: true, confidence: 0.95, min_n: 0, direction: None, channel: None }
}

#[test]
fn equals_r_post_stratify_on_unequal_response_rates() {
    let (cells, frame) = reference();
    // The smallest class has 6 respondents: nothing is collapsed, as in R.
    let adjusted = adjust(&cells, &ClassTally::of_cells(&cells), &frame, 5);
    assert!(adjusted.classes.iter().all(|c| !c.collapsed && c.factor.is_some()));
    let total: f64 = adjusted.cells.iter().map(|c| c.sum_w).sum();
    assert!((total - 4832.0).abs() < 1e-9, "the adjusted weights add up to the frame: {total}");

    let design = estimate(&cells, &options(GroupBy::None)).overall;
    close(design.mean, 8.0809061488673137);
    close(design.std_error, 0.075586741646954031);

    let report = estimate_adjusted(&adjusted, &options(GroupBy::None));
    let overall = &report.overall;
    assert_eq!((overall.n, overall.df), (759, Some(755.0)));
    close(overall.mean, 7.6806808759887453);
    close(overall.std_error, 0.13148346016534673);
    close(overall.satisfied.estimate, 0.59041100588077344);
    close(overall.satisfied.std_error, 0.032932927774281931);
    close(overall.nps.estimate, 12.499741214075852);
    close(overall.nps.std_error, 5.2638071136882756);
    close(overall.weight_total, 4832.0);
    assert_eq!(overall.weighting, "adjusted");
    close(overall.design_effect, 4.3267888196794937);
    close(estimate(&cells, &options(GroupBy::None)).overall.design_effect, 2.3926267539429955);

    for (by, means, errors) in [
        (GroupBy::Direction, [7.71042196199096, 7.6575099857160334], [0.13394971824986726, 0.20935164287676344]),
        (GroupBy::Channel, [8.4882169154530107, 6.8348210922787196], [0.056490734565231286, 0.26262335025805278]),
        (GroupBy::Month, [7.7315948671382824, 7.6134313679862355], [0.15935224904755835, 0.22094461471091337]),
    ] {
        let groups = estimate_adjusted(&adjusted, &options(by)).groups;
        assert_eq!(groups.len(), 2, "{by:?}");
        for ((group, mean), se) in groups.iter().zip(means).zip(errors) {
            close(group.estimate.mean, mean);
            close(group.estimate.std_error, se);
        }
    }
}

fn cell(direction: &str, channel: &str, month: &str, score: u8, count: u64, w: f64) -> Cell {
    Cell {
        direction: direction.into(),
        channel: channel.into(),
        month: month.into(),
        class_month: month.into(),
        stratum: format!("{direction}:{channel}"),
        score,
        count,
        sum_w: w * count as f64,
        sum_w2: w * w * count as f64,
    }
}

fn frame(direction: &str, channel: &str, month: &str, requests: u64) -> FrameCount {
    FrameCount { direction: direction.into(), channel: channel.into(), month: month.into(), requests }
}

/// Worked by hand: TP phone has 1 respondent in January (w = 10), TP e-mail 9 (w = 2); the
/// frame has 120 phone and 30 e-mail requests. With at least 5 respondents a class, January's
/// TP channels are taken together: factor (120 + 30)/(10 + 18) = 150/28 for all ten.
/// ENV e-mail has requests but no respondent in January and none in the quarter's other
/// month with a frame: it goes to ENV's quarter, where February's six web-form respondents are.
#[test]
fn sparse_classes_are_collapsed_by_direction_then_quarter() {
    let cells = vec![
        cell("TP", "phone", "2026-01", 8, 1, 10.0),
        cell("TP", "email", "2026-01", 9, 9, 2.0),
        cell("ENV", "web_form", "2026-02", 7, 6, 3.0),
    ];
    let frame = vec![
        frame("TP", "phone", "2026-01", 120),
        frame("TP", "email", "2026-01", 30),
        frame("ENV", "email", "2026-01", 40),
        frame("ENV", "web_form", "2026-02", 20),
    ];
    let adjusted = adjust(&cells, &ClassTally::of_cells(&cells), &frame, 5);
    let tp = adjusted.classes.iter().find(|c| c.class.direction == "TP").unwrap();
    assert_eq!(tp.class, ClassKey { direction: "TP".into(), channel: None, period: "2026-01".into() });
    assert_eq!((tp.respondents, tp.requests, tp.design_weight), (10, 150, 28.0));
    assert_eq!(tp.factor, Some(150.0 / 28.0));
    assert!(tp.collapsed);
    let env = adjusted.classes.iter().find(|c| c.class.direction == "ENV").unwrap();
    assert_eq!(env.class, ClassKey { direction: "ENV".into(), channel: None, period: "2026-Q1".into() });
    assert_eq!((env.respondents, env.requests, env.design_weight), (6, 60, 18.0));
    assert_eq!(adjusted.classes.len(), 2);
    // Every request is represented: the adjusted weights add up to the frame.
    let total: f64 = adjusted.cells.iter().map(|c| c.sum_w).sum();
    assert!((total - 210.0).abs() < 1e-12, "{total}");
    assert_eq!(adjusted.cells[0].sum_w, 10.0 * 150.0 / 28.0);
    let factor = 150.0 / 28.0;
    assert_eq!(adjusted.cells[0].sum_w2, 100.0 * (factor * factor), "Σw² scales by the square");
}

/// Worked by hand, one direction-month with a class of 5 respondents at least: phone (40
/// respondents, w = 2, 800 requests) and web form (20, w = 1, 100) suffice; the counter (1
/// respondent, w = 1, 4 requests) and the portal (no respondent, 3 requests) are pooled, the pool
/// (1 respondent) is still too small and joins the smaller sufficient channel, the web form:
/// factor (100 + 4 + 3)/(20 + 1) = 107/21. Phone keeps its own: 800/80 = 10. In ENV, social
/// media (3 respondents, w = 1, 30 requests) and counter (2, w = 1, 10) pool to 5, enough on
/// their own beside the phone (6, w = 1, 60): factors 40/5 and 10.
#[test]
fn sparse_channels_are_pooled_before_the_month_is_taken_whole() {
    let cells = vec![
        cell("TP", "phone", "2026-01", 8, 40, 2.0),
        cell("TP", "web_form", "2026-01", 9, 20, 1.0),
        cell("TP", "counter", "2026-01", 7, 1, 1.0),
        cell("ENV", "phone", "2026-01", 8, 6, 1.0),
        cell("ENV", "social_media", "2026-01", 6, 3, 1.0),
        cell("ENV", "counter", "2026-01", 9, 2, 1.0),
    ];
    let frame = vec![
        frame("TP", "phone", "2026-01", 800),
        frame("TP", "web_form", "2026-01", 100),
        frame("TP", "counter", "2026-01", 4),
        frame("TP", "portal", "2026-01", 3),
        frame("ENV", "phone", "2026-01", 60),
        frame("ENV", "social_media", "2026-01", 30),
        frame("ENV", "counter", "2026-01", 10),
    ];
    let adjusted = adjust(&cells, &ClassTally::of_cells(&cells), &frame, 5);
    let class = |direction: &str, channel: &str| {
        adjusted
            .classes
            .iter()
            .find(|c| c.class.direction == direction && c.class.channel.as_deref() == Some(channel))
            .unwrap_or_else(|| panic!("{direction} {channel}: {:?}", adjusted.classes))
    };
    let phone = class("TP", "phone");
    assert_eq!((phone.factor, phone.collapsed), (Some(10.0), false));
    let web = class("TP", "web_form+counter+portal");
    assert_eq!((web.respondents, web.requests, web.design_weight), (21, 107, 21.0));
    assert_eq!((web.factor, web.collapsed), (Some(107.0 / 21.0), true));
    let pooled = class("ENV", "counter+social_media");
    assert_eq!((pooled.respondents, pooled.requests, pooled.factor), (5, 40, Some(8.0)));
    assert_eq!(class("ENV", "phone").factor, Some(10.0));
    assert_eq!(adjusted.classes.len(), 4);
    let total: f64 = adjusted.cells.iter().map(|c| c.sum_w).sum();
    assert!((total - 1007.0).abs() < 1e-9, "every request represented: {total}");
    assert_eq!(adjusted.cells[2].sum_w, 107.0 / 21.0, "the counter's respondent takes the web form's factor");
}

/// A class with respondents and no frame count (or a frame with no respondent anywhere near):
/// its respondents keep their weights, the unrepresented requests are reported; responses with
/// no class (imported from an earlier tool) keep theirs.
#[test]
fn classes_without_frame_or_respondents_are_reported_not_invented() {
    let mut cells = vec![cell("TP", "phone", "2026-01", 8, 6, 4.0), cell("URB", "phone", "2026-01", 9, 3, 5.0)];
    cells[1].class_month.clear();
    let frame = vec![frame("SEC", "phone", "2026-03", 25)];
    let adjusted = adjust(&cells, &ClassTally::of_cells(&cells), &frame, 5);
    assert_eq!(adjusted.cells, cells, "nothing to scale");
    assert_eq!(adjusted.class_of, vec![None, None]);
    let sec = adjusted.classes.iter().find(|c| c.class.direction == "SEC").unwrap();
    assert_eq!((sec.respondents, sec.requests, sec.factor), (0, 25, None));
    let tp = adjusted.classes.iter().find(|c| c.class.direction == "TP").unwrap();
    assert_eq!((tp.respondents, tp.requests, tp.factor), (6, 0, None));
}

/// A report of part of a class's respondents (a period that ends before the late answers) scales
/// them by the factor of the whole class, so a response's adjusted weight is the same in every
/// report: TP phone in January, 10 respondents of w = 10 over all, 400 requests: factor 4, also
/// for the 3 of them in the period.
#[test]
fn the_factor_is_the_whole_class_s_whatever_the_period() {
    let period = vec![cell("TP", "phone", "2026-01", 8, 3, 10.0)];
    let everyone = vec![cell("TP", "phone", "2026-01", 8, 3, 10.0), cell("TP", "phone", "2026-01", 5, 7, 10.0)];
    let frame = vec![frame("TP", "phone", "2026-01", 400)];
    let adjusted = adjust(&period, &ClassTally::of_cells(&everyone), &frame, 5);
    assert_eq!(adjusted.classes[0].factor, Some(4.0));
    assert_eq!((adjusted.cells[0].sum_w, adjusted.cells[0].sum_w2), (120.0, 3.0 * 1600.0));
    assert_eq!(adjusted.class_of, vec![Some(0)]);
}

/// Equal response rates everywhere (a half of the sampled answered, so every factor is 2):
/// the adjusted estimate is the design estimate, to the last bit.
#[test]
fn equal_response_rates_change_nothing_in_the_estimate() {
    // Sampling at 1/4 and 1/10; half of the sampled answer: Σw = N/2 in every class.
    let cells = vec![
        cell("TP", "phone", "2026-01", 6, 5, 10.0),
        cell("TP", "phone", "2026-01", 9, 5, 10.0),
        cell("TP", "email", "2026-01", 10, 12, 4.0),
        cell("TP", "email", "2026-01", 7, 13, 4.0),
    ];
    let frame = vec![frame("TP", "phone", "2026-01", 200), frame("TP", "email", "2026-01", 200)];
    let adjusted = adjust(&cells, &ClassTally::of_cells(&cells), &frame, 5);
    assert!(adjusted.classes.iter().all(|c| c.factor == Some(2.0)));
    let design = estimate(&cells, &options(GroupBy::None)).overall;
    let adjusted = estimate_adjusted(&adjusted, &options(GroupBy::None)).overall;
    assert_eq!(adjusted.mean.map(f64::to_bits), design.mean.map(f64::to_bits));
    assert_eq!(adjusted.satisfied.estimate.map(f64::to_bits), design.satisfied.estimate.map(f64::to_bits));
}

/// A population whose strata differ both in mean score and in response rate (phone callers
/// score lower and answer less): over 1,000 samples the adjusted estimate's average lies within
/// two Monte Carlo standard errors of the true mean and the design-only estimate's does not (it
/// leans toward the strata that answer), and the adjusted 95 % intervals hold the truth 93–97 %
/// of the time.
#[test]
fn the_adjustment_removes_the_nonresponse_bias_in_a_simulation() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(2026);
    // (direction, channel, requests a month, mean score, sampling rate, response rate)
    let strata: [(&str, &str, usize, f64, f64, f64); 4] = [
        ("TP", "phone", 6_000, 7.0, 0.04, 0.15),
        ("TP", "email", 1_500, 8.8, 0.10, 0.60),
        ("ENV", "phone", 3_000, 7.6, 0.05, 0.20),
        ("ENV", "email", 1_000, 9.0, 0.15, 0.55),
    ];
    let months = ["2026-01", "2026-02"];
    let mut population: Vec<(usize, &str, u8)> = Vec::new();
    let mut frame_counts = Vec::new();
    for (s, (direction, channel, size, centre, _, _)) in strata.iter().enumerate() {
        for month in months {
            for _ in 0..*size {
                let noise: f64 = (0..4).map(|_| rng.random::<f64>()).sum::<f64>() - 2.0;
                population.push((s, month, (centre + 2.5 * noise).round().clamp(0.0, 10.0) as u8));
            }
            frame_counts.push(frame(direction, channel, month, *size as u64));
        }
    }
    let truth = population.iter().map(|p| f64::from(p.2)).sum::<f64>() / population.len() as f64;
    let reps = 1000;
    let (mut adjusted_sum, mut adjusted_sq, mut design_sum, mut design_sq, mut covered) = (0.0, 0.0, 0.0, 0.0, 0);
    for _ in 0..reps {
        let rows: Vec<(String, String, String, u8, f64)> = population
            .iter()
            .filter(|(s, _, _)| rng.random::<f64>() < strata[*s].4 && rng.random::<f64>() < strata[*s].5)
            .map(|&(s, month, score)| (strata[s].0.into(), strata[s].1.into(), month.into(), score, 1.0 / strata[s].4))
            .collect();
        let cells = cells_of(&rows);
        let design = estimate(&cells, &options(GroupBy::None)).overall.mean.unwrap();
        let adjusted = estimate_adjusted(
            &adjust(&cells, &ClassTally::of_cells(&cells), &frame_counts, 5),
            &options(GroupBy::None),
        )
        .overall;
        let mean = adjusted.mean.unwrap();
        (adjusted_sum, adjusted_sq) = (adjusted_sum + mean, adjusted_sq + mean * mean);
        (design_sum, design_sq) = (design_sum + design, design_sq + design * design);
        if adjusted.ci_low.unwrap() <= truth && truth <= adjusted.ci_high.unwrap() {
            covered += 1;
        }
    }
    let r = f64::from(reps);
    let monte_carlo = |sum: f64, sq: f64| (sum / r, ((sq / r - (sum / r).powi(2)) * r / (r - 1.0)).sqrt() / r.sqrt());
    let (adjusted_average, adjusted_mc) = monte_carlo(adjusted_sum, adjusted_sq);
    let (design_average, design_mc) = monte_carlo(design_sum, design_sq);
    assert!(
        (adjusted_average - truth).abs() < 2.0 * adjusted_mc,
        "adjusted {adjusted_average} ± {adjusted_mc} vs {truth}"
    );
    assert!((design_average - truth).abs() > 2.0 * design_mc, "design-only {design_average} ± {design_mc} vs {truth}");
    let coverage = f64::from(covered) / r;
    assert!((0.93..=0.97).contains(&coverage), "adjusted coverage {coverage}");
}
