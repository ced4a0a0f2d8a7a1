// Reference values are kept exactly as R prints them (17 significant digits).
#![allow(clippy::excessive_precision)]

//! The nonresponse adjustment through the product, on both databases: the requests of
//! tests/reference/adjust_frame.csv closed in their months, the respondents of
//! adjust_reference.csv stored as the survey stores them (each with its request's closing
//! instant), then `GET /api/v1/stats` and `satisfaction stats` give R's `postStratify()` figures.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rocket::http::Status;
use sea_orm::TransactionTrait;
use serde_json::Value;

use crate::cli::{satisfaction, stderr};
use crate::factories::{Reference, RequestRow, insert_requests, response_row};
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_databases;
use satisfaction::db::repo::cells::{ScoreColumn, Split};

fn close(value: &Value, expected: f64) {
    let actual = value.as_f64().unwrap_or_else(|| panic!("{value} is not a number"));
    assert!(((actual - expected) / expected).abs() < 1e-9, "{actual} vs {expected}");
}

/// When the `i`-th request of a class closed: between the 1st and the 20th of its month, in the
/// afternoon (Toronto time), so that its answer, a few days later, falls in the same month.
fn closing(month: &str, i: usize) -> DateTime<Utc> {
    let first: NaiveDate = format!("{month}-01").parse().unwrap();
    let day = first + Duration::days((i % 20) as i64);
    day.and_hms_opt(18, 0, 0).unwrap().and_utc() + Duration::minutes(i as i64 / 20)
}

/// The reference city: its requests, its frame, and its respondents stored through
/// `responses::store`, with a configuration of the caller's.
async fn reference_city(backend: Backend, min_class_respondents: u64) -> (TestApp, String) {
    let app =
        spawn_app_with(backend, |figment| figment.merge(("stats.min_class_respondents", min_class_respondents))).await;
    let zone = app.jobs.settings.time_zone;
    let reference = Reference::with_directions(&app.db, &["TP", "ENV"]).await;
    let channel = |code: &str| -> &'static str {
        match code {
            "phone" => "phone",
            "email" => "email",
            other => panic!("no channel {other} in the reference"),
        }
    };
    let direction = |code: &str| -> &'static str {
        match code {
            "TP" => "TP",
            "ENV" => "ENV",
            other => panic!("no direction {other} in the reference"),
        }
    };
    let mut requests = Vec::new();
    for line in include_str!("../reference/adjust_frame.csv").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let count: usize = f[3].parse().unwrap();
        for i in 0..count {
            let mut row = RequestRow::closed(&format!("{}-{}-{}-{i}", f[0], f[1], f[2]), closing(f[2], i));
            (row.direction, row.channel) = (direction(f[0]), channel(f[1]));
            requests.push(row);
        }
    }
    insert_requests(&app.db, &reference, &requests).await;
    satisfaction::frame::rebuild(&app.db, zone).await.unwrap();

    // Each respondent answers about the next request of its class, three days after it closed.
    let mut next: HashMap<(String, String, String), usize> = HashMap::new();
    let mut responses = Vec::new();
    for line in include_str!("../reference/adjust_reference.csv").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let i = next.entry((f[0].into(), f[1].into(), f[2].into())).or_default();
        let closed = closing(f[2], *i);
        *i += 1;
        let mut row = response_row(
            reference.direction(f[0]),
            reference.channel(f[1]),
            f[3],
            f[4].parse().unwrap(),
            f[5].parse().unwrap(),
            closed + Duration::days(3),
        );
        row.request_closed_at = Some(closed);
        responses.push(row);
    }
    let txn = app.db.begin().await.unwrap();
    satisfaction::responses::store::insert_many(&txn, zone, responses).await.unwrap();
    txn.commit().await.unwrap();
    let key = app.api_key().await;
    (app, key)
}

async fn adjusted_figures_equal_r_post_stratify(backend: Backend) {
    let (app, key) = reference_city(backend, 5).await;
    let (status, api) = app.get_json(&key, "/api/v1/stats?min_n=0").await;
    assert_eq!(status, Status::Ok, "{api}");
    assert_eq!(api["weighting"], "adjusted", "the default");
    let overall = &api["overall"];
    assert_eq!((overall["n"].as_u64(), overall["df"].as_f64()), (Some(759), Some(755.0)));
    assert_eq!(overall["weighting"], "adjusted");
    close(&overall["weight_total"], 4832.0);
    close(&overall["mean"], 7.6806808759887453);
    close(&overall["std_error"], 0.13148346016534673);
    close(&overall["satisfied"]["estimate"], 0.59041100588077344);
    close(&overall["satisfied"]["std_error"], 0.032932927774281931);
    close(&overall["nps"]["estimate"], 12.499741214075852);
    close(&overall["nps"]["std_error"], 5.2638071136882756);
    close(&overall["design_effect"], 4.3267888196794937);
    for (by, means, errors) in [
        ("direction", [7.71042196199096, 7.6575099857160334], [0.13394971824986726, 0.20935164287676344]),
        ("channel", [8.4882169154530107, 6.8348210922787196], [0.056490734565231286, 0.26262335025805278]),
        ("month", [7.7315948671382824, 7.6134313679862355], [0.15935224904755835, 0.22094461471091337]),
    ] {
        let (status, body) = app.get_json(&key, &format!("/api/v1/stats?min_n=0&by={by}")).await;
        assert_eq!(status, Status::Ok, "{body}");
        let groups = body["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2, "{by}");
        for ((group, mean), se) in groups.iter().zip(means).zip(errors) {
            close(&group["mean"], mean);
            close(&group["std_error"], se);
            assert_eq!(group["weighting"], "adjusted");
        }
    }

    // Per stratum: every request of the stratum represented, its factor N/Σw, and Kish's n of
    // its adjusted weights, (Σ_m N_m)² / Σ_m N_m²/n_m (one weight per class month).
    let mut requests: HashMap<(String, String), f64> = HashMap::new();
    for line in include_str!("../reference/adjust_frame.csv").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        requests.insert((format!("{}:{}", f[0], f[1]), f[2].into()), f[3].parse().unwrap());
    }
    let mut respondents: HashMap<(String, String), f64> = HashMap::new();
    for line in include_str!("../reference/adjust_reference.csv").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        *respondents.entry((f[3].into(), f[2].into())).or_default() += 1.0;
    }
    let strata = api["strata"].as_array().unwrap();
    assert_eq!(strata.len(), 4);
    for stratum in strata {
        let name = stratum["stratum"].as_str().unwrap();
        let months: Vec<(f64, f64)> =
            requests.iter().filter(|((s, _), _)| s == name).map(|(key, n)| (*n, respondents[key])).collect();
        let total: f64 = months.iter().map(|(n, _)| n).sum();
        close(&stratum["weight"], total);
        close(&stratum["adjustment_factor"], total / stratum["design_weight"].as_f64().unwrap());
        close(&stratum["effective_n"], total * total / months.iter().map(|(n, r)| n * n / r).sum::<f64>());
        assert_eq!(stratum["weighting"], "adjusted");
    }
    let adjustment = &api["adjustment"];
    assert_eq!(adjustment["classes"], 8);
    assert_eq!(adjustment["collapsed"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        (adjustment["respondents_not_adjusted"].as_u64(), adjustment["requests_not_represented"].as_u64()),
        (Some(0), Some(0))
    );

    // Design weights only, as asked: R's design figures.
    let (status, design) = app.get_json(&key, "/api/v1/stats?min_n=0&weighting=design").await;
    assert_eq!(status, Status::Ok, "{design}");
    assert_eq!(
        (design["weighting"].as_str(), design["overall"]["weighting"].as_str()),
        (Some("design"), Some("design"))
    );
    close(&design["overall"]["mean"], 8.0809061488673137);
    close(&design["overall"]["std_error"], 0.075586741646954031);
    close(&design["overall"]["design_effect"], 2.3926267539429955);
    assert!(design.get("adjustment").is_none());

    // The CLI gives the same document, digit for digit.
    for (query, args) in [
        ("/api/v1/stats?min_n=0&by=channel", vec!["--by", "channel"]),
        ("/api/v1/stats?min_n=0&weighting=design", vec!["--weighting", "design"]),
    ] {
        let (_, api) = app.get_json(&key, query).await;
        let mut all = vec!["stats", "--min-n", "0", "--format", "json"];
        all.extend(args);
        let output = satisfaction(Some(&app.database.url), &all, None);
        assert!(output.status.success(), "{}", stderr(&output));
        let cli: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(cli, api, "{query}");
    }

    let output = satisfaction(Some(&app.database.url), &["stats", "--format", "table", "--locale", "fr"], None);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("ajustée pour la non-réponse ; effet de plan 4,33"), "{table}");

    // The roll-ups hold the cells a scan of `responses` gives, split by class month, for any
    // period; so the adjusted figures are the same read either way.
    let zone = app.jobs.settings.time_zone;
    let date = |raw: &str| Some(raw.parse::<NaiveDate>().unwrap());
    use satisfaction::reporting::service::{direct_cells, period_cells};
    for (from, to) in [(None, None), (date("2026-01-10"), date("2026-02-17")), (date("2026-02-01"), date("2026-02-28"))]
    {
        for months in [false, true] {
            let split = Split { months, classes: true };
            let rolled = period_cells(&app.db, split, from, to, ScoreColumn::Overall).await.unwrap();
            let scanned = direct_cells(&app.db, zone, split, from, to, ScoreColumn::Overall).await.unwrap();
            assert!(rolled.iter().all(|c| !c.class_month.is_empty()));
            assert_eq!(rolled, scanned, "{from:?}..{to:?} {split:?}");
        }
    }
}

on_both_databases!(adjusted_figures_equal_r_post_stratify);

/// With at least 60 respondents a class, the months' phone classes (as few as 6) are collapsed
/// with their direction's e-mail class, or over the quarter: reported, and every request still
/// represented.
async fn sparse_classes_are_collapsed_and_reported(backend: Backend) {
    let (app, key) = reference_city(backend, 60).await;
    let (status, api) = app.get_json(&key, "/api/v1/stats?min_n=0&by=direction").await;
    assert_eq!(status, Status::Ok, "{api}");
    let collapsed = api["adjustment"]["collapsed"].as_array().unwrap();
    assert!(!collapsed.is_empty(), "{api}");
    for class in collapsed {
        assert_eq!(class["collapsed"], true);
        assert_eq!(class["class"]["channel"], Value::Null, "a direction's channels together");
        assert!(
            class["respondents"].as_u64().unwrap() >= 60 || class["class"]["period"].as_str().unwrap().contains('Q')
        );
    }
    close(&api["overall"]["weight_total"], 4832.0);
    assert_eq!(api["adjustment"]["min_class_respondents"], 60);
    assert_eq!(api["adjustment"]["requests_not_represented"], 0);
}

on_both_databases!(sparse_classes_are_collapsed_and_reported);

/// A weighting that does not exist, or that contradicts `weighted`, is a 400 that says so; the
/// drivers are not adjusted and say so when asked.
async fn bad_weightings_get_a_precise_400(backend: Backend) {
    let (app, key) = reference_city(backend, 5).await;
    for (path, expected) in [
        ("/api/v1/stats?weighting=raked", "unknown weighting"),
        ("/api/v1/stats?weighting=adjusted&weighted=false", "contradicts"),
        ("/api/v1/stats/drivers?weighting=adjusted", "design weights"),
    ] {
        let (status, body) = app.get_json(&key, path).await;
        assert_eq!(status, Status::BadRequest, "{path}: {body}");
        assert!(body.to_string().contains(expected), "{path}: {body}");
    }
    let (status, body) = app.get_json(&key, "/api/v1/stats?weighted=false").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!((body["weighting"].as_str(), body["weighted"].as_bool()), (Some("unweighted"), Some(false)));
    let (status, body) = app.get_json(&key, "/api/v1/stats/compare?by=channel").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["weighting"], "adjusted");
    let output = satisfaction(Some(&app.database.url), &["stats", "--weighting", "raked"], None);
    assert!(!output.status.success());
}

on_both_databases!(bad_weightings_get_a_precise_400);
