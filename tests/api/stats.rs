// Reference values are kept exactly as R prints them (17 significant digits).
#![allow(clippy::excessive_precision)]

//! `GET /api/v1/stats` and `satisfaction stats` on imported responses, on both databases: the
//! same numbers as each other, as the pure functions, and as R's survey package.

use rocket::http::Status;
use serde_json::Value;

use crate::cli::{satisfaction, stderr};
use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;
use satisfaction::db::repo::cells::Split;

/// tests/reference/survey_reference.csv as a `satisfaction import responses` file; the
/// submission times put each response in its month in Toronto time (one of them at 22:00 on
/// 31 January local time, which is already February in UTC).
pub(crate) fn responses_csv() -> String {
    let reference = include_str!("../reference/survey_reference.csv");
    let mut csv = String::from("response_id,agency_responsible,channel,stratum,weight,score,submitted_at\n");
    for (i, line) in reference.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let submitted = if f[2] == "2022-01" {
            if i == 0 {
                "2022-01-31T22:00:00-05:00".to_owned()
            } else {
                format!("2022-01-{:02}T10:00:00-05:00", 1 + i % 28)
            }
        } else {
            format!("2022-02-{:02}T10:00:00-05:00", 1 + i % 28)
        };
        csv.push_str(&format!("R-{i},{},{},{},{},{},{submitted}\n", f[0], f[1], f[3], f[5], f[4]));
    }
    csv
}

pub(crate) async fn imported(backend: Backend) -> (TestApp, String) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("historique.csv");
    std::fs::write(&file, responses_csv()).unwrap();
    let output = satisfaction(Some(&app.database.url), &["import", "responses", file.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let key = app.api_key().await;
    (app, key)
}

fn close(value: &Value, expected: f64) {
    let actual = value.as_f64().unwrap_or_else(|| panic!("{value} is not a number"));
    assert!(((actual - expected) / expected).abs() < 1e-9, "{actual} vs {expected}");
}

async fn api_and_cli_give_the_figures_of_r_survey(backend: Backend) {
    let (app, key) = imported(backend).await;
    let (status, api) = app.get_json(&key, "/api/v1/stats?by=direction&from=2022-01-01&to=2022-12-31&min_n=0").await;
    assert_eq!(status, Status::Ok, "{api}");
    assert_eq!(api["weighted"], true);
    assert_eq!(api["confidence_level"], 0.95);
    assert_eq!((api["from"].as_str(), api["to"].as_str()), (Some("2022-01-01"), Some("2022-12-31")));
    assert_eq!(api["overall"]["n"], 30);
    close(&api["overall"]["mean"], 7.7768595041322319);
    close(&api["overall"]["std_error"], 0.4863762190310999);
    close(&api["overall"]["ci_low"], 6.7751489298953);
    assert_eq!(api["overall"]["df"], 25.0);
    close(&api["overall"]["nps"]["std_error"], 18.700578255479648);
    let directions: Vec<&str> =
        api["groups"].as_array().unwrap().iter().map(|g| g["direction"].as_str().unwrap()).collect();
    assert_eq!(directions, ["ENV", "SEC", "TP"]);
    close(&api["groups"][2]["mean"], 8.3982300884955752);
    close(&api["groups"][2]["std_error"], 0.44126694091348151);
    assert_eq!(api["groups"][0]["channel"], Value::Null);
    assert!(api["overall"]["satisfied"]["ci_low"].is_number());

    let output = satisfaction(
        Some(&app.database.url),
        &[
            "stats",
            "--by",
            "direction",
            "--from",
            "2022-01-01",
            "--to",
            "2022-12-31",
            "--min-n",
            "0",
            "--format",
            "json",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let cli: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(cli, api, "the CLI and the API return the same numbers");
}

async fn months_are_local_and_small_groups_suppressed(backend: Backend) {
    let (app, key) = imported(backend).await;
    let (_, by_month) = app.get_json(&key, "/api/v1/stats?by=month&min_n=0").await;
    let months: Vec<(&str, u64)> = by_month["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["month"].as_str().unwrap(), g["n"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        months,
        [("2022-01", 16), ("2022-02", 14)],
        "22:00 on 31 January in Toronto (February in UTC) is January"
    );
    close(&by_month["groups"][0]["mean"], 7.7815126050420167);

    let (_, suppressed) = app.get_json(&key, "/api/v1/stats?by=direction").await;
    assert_eq!(suppressed["min_n"], 10);
    let sec = &suppressed["groups"][1];
    assert_eq!(
        (sec["direction"].as_str(), sec["n"].as_u64(), sec["suppressed"].as_bool()),
        (Some("SEC"), Some(1), Some(true))
    );
    assert!(sec["mean"].is_null() && sec["nps"]["estimate"].is_null() && sec["satisfied"]["estimate"].is_null());

    let (_, unweighted) = app.get_json(&key, "/api/v1/stats?weighted=false&direction=TP&channel=phone").await;
    assert_eq!(unweighted["overall"]["n"], 10);
    close(&unweighted["overall"]["mean"], 8.6);
    assert_eq!(unweighted["overall"]["df"], 9.0);

    let (_, empty) = app.get_json(&key, "/api/v1/stats?from=2023-01-01&to=2023-12-31").await;
    assert_eq!((empty["overall"]["n"].as_u64(), empty["overall"]["suppressed"].as_bool()), (Some(0), Some(true)));
}

async fn bad_parameters_get_a_precise_400(backend: Backend) {
    let (app, key) = imported(backend).await;
    for (query, expected) in [
        ("by=weekday", "unknown breakdown"),
        ("from=01/02/2022", "from must be a date YYYY-MM-DD"),
        ("from=2022-12-01&to=2022-01-01", "is after to"),
        ("confidence=1.5", "confidence must be between 0 and 1"),
        ("confidence=high", "confidence must be a number"),
        ("weighted=maybe", "weighted must be true or false"),
        ("min_n=-3", "min_n must be a whole number"),
        ("direction=XYZ", "unknown direction code \"XYZ\""),
        ("channel=fax", "unknown channel \"fax\""),
    ] {
        let (status, body) = app.get_json(&key, &format!("/api/v1/stats?{query}")).await;
        assert_eq!(status, Status::BadRequest, "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(expected), "{query}: {body}");
    }
    let response = app.client.get("/api/v1/stats").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
}

async fn the_table_speaks_french_numbers(backend: Backend) {
    let (app, _key) = imported(backend).await;
    let url = Some(app.database.url.as_str());
    let output = satisfaction(url, &["stats", "--format", "table", "--locale", "fr"], None);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.lines().any(|l| l.starts_with("Ensemble") && l.contains(" 7,8 ")), "{table}");
    assert!(table.contains("Pondération : plan de sondage (1/π) ; réponses importées"), "{table}");
    let output = satisfaction(url, &["stats", "--format", "table", "--locale", "en"], None);
    assert!(String::from_utf8_lossy(&output.stdout).contains(" 7.8 "));
    let csv = satisfaction(url, &["stats", "--by", "channel", "--format", "csv", "--min-n", "0"], None);
    let text = String::from_utf8_lossy(&csv.stdout);
    assert!(text.starts_with("direction,channel,month,n,suppressed,mean"), "{text}");
    assert_eq!(text.lines().count(), 1 + 1 + 4);
    assert!(text.lines().skip(1).all(|l| l.ends_with(",design")), "imported: design weights\n{text}");
    let bad = satisfaction(url, &["stats", "--by", "weekday"], None);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("unknown breakdown"));
}

on_both_databases!(
    api_and_cli_give_the_figures_of_r_survey,
    months_are_local_and_small_groups_suppressed,
    bad_parameters_get_a_precise_400,
    the_table_speaks_french_numbers,
);

async fn periods_and_groups_are_compared(backend: Backend) {
    let (app, key) = imported(backend).await;
    let (status, body) = app
        .get_json(&key, "/api/v1/stats/compare?a_from=2022-01-01&a_to=2022-01-31&b_from=2022-02-01&b_to=2022-02-28")
        .await;
    assert_eq!(status, Status::Ok, "{body}");
    // svycontrast(svyby(~score, ~month, design, svymean, covmat = TRUE), `2022-01` - `2022-02`)
    close(&body["difference"], 0.0091548814647808285);
    close(&body["std_error"], 0.95220301059246348);
    assert_eq!(body["df"], 25.0);
    assert!(body["p_value"].as_f64().unwrap() > 0.9);
    assert_eq!((body["n_a"].as_u64(), body["n_b"].as_u64()), (Some(16), Some(14)));

    let (_, welch) = app
        .get_json(
            &key,
            "/api/v1/stats/compare?a_from=2022-01-01&a_to=2022-01-31&b_from=2022-02-01&b_to=2022-02-28&weighted=false",
        )
        .await;
    assert!(welch["method"].as_str().unwrap().contains("Welch"));

    let (status, groups) = app.get_json(&key, "/api/v1/stats/compare?by=direction").await;
    assert_eq!(status, Status::Ok, "{groups}");
    let list = groups["groups"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    for group in list {
        let (p, holm) = (group["p_value"].as_f64(), group["p_holm"].as_f64());
        if let (Some(p), Some(holm)) = (p, holm) {
            assert!(holm >= p - 1e-15 && holm <= 1.0, "{group}");
        }
        assert!(group["differs"].is_boolean());
    }
    // SEC (one response, 4/10) against the rest of the city: a real difference.
    let sec = list.iter().find(|g| g["direction"] == "SEC").unwrap();
    assert!(sec["difference"].as_f64().unwrap() < -3.0, "{sec}");

    for (query, expected) in [
        ("a_from=2022-01-01&a_to=2022-02-15&b_from=2022-02-01&b_to=2022-02-28", "overlap"),
        ("a_from=2022-01-01&a_to=2022-01-31", "needs all of a_from, a_to, b_from and b_to"),
        ("", "give two periods"),
    ] {
        let (status, body) = app.get_json(&key, &format!("/api/v1/stats/compare?{query}")).await;
        assert_eq!(status, Status::BadRequest, "{query}");
        assert!(body["error"]["message"].as_str().unwrap().contains(expected), "{query}: {body}");
    }
}

async fn drivers_are_summarised_with_their_correlation(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("drivers.csv");
    let mut csv =
        String::from("response_id;agency_responsible;channel;weight;score;submitted_at;timeliness;courtesy\n");
    for i in 0..40u32 {
        let score = i % 11;
        // Timeliness follows the overall score; courtesy is almost constant, unrelated.
        let courtesy = if i == 0 { "" } else { "9" };
        csv.push_str(&format!(
            "D-{i};TP;phone;2;{score};2022-03-0{}T12:00:00-05:00;{};{courtesy}\n",
            1 + i % 9,
            (score + 1).min(10)
        ));
    }
    std::fs::write(&file, csv).unwrap();
    let output = satisfaction(Some(&app.database.url), &["import", "responses", file.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", stderr(&output));

    let (status, body) = app.get_json(&key, "/api/v1/stats/drivers?from=2022-03-01&to=2022-03-31").await;
    assert_eq!(status, Status::Ok, "{body}");
    let drivers = body["drivers"].as_array().unwrap();
    let names: Vec<&str> = drivers.iter().map(|d| d["driver"].as_str().unwrap()).collect();
    assert_eq!(names, ["timeliness", "courtesy", "competence", "clarity", "fairness"]);
    let timeliness = &drivers[0];
    assert_eq!(timeliness["n"], 40);
    assert!(timeliness["correlation"]["r"].as_f64().unwrap() > 0.98, "{timeliness}");
    assert!(timeliness["ci_low"].as_f64().unwrap() < timeliness["mean"].as_f64().unwrap());
    let courtesy = &drivers[1];
    assert_eq!(courtesy["n"], 39);
    assert_eq!(courtesy["mean"], 9.0);
    assert!(courtesy["correlation"]["r"].is_null(), "no spread, no correlation: {courtesy}");
    let competence = &drivers[2];
    assert_eq!((competence["n"].as_u64(), competence["suppressed"].as_bool()), (Some(0), Some(true)));
}

on_both_databases!(periods_and_groups_are_compared, drivers_are_summarised_with_their_correlation);

/// `import responses` then the API give exactly what the pure functions give on the same rows.
async fn the_api_equals_the_pure_functions_on_the_imported_rows(backend: Backend) {
    use satisfaction::stats::{Cell, GroupBy, Options, estimate};
    use std::collections::BTreeMap;
    let (app, key) = imported(backend).await;
    let mut cells: BTreeMap<(String, String, String, u8), Cell> = BTreeMap::new();
    for line in include_str!("../reference/survey_reference.csv").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (score, weight): (u8, f64) = (f[4].parse().unwrap(), f[5].parse().unwrap());
        let cell = cells.entry((f[0].into(), f[1].into(), f[3].into(), score)).or_insert_with(|| Cell {
            direction: f[0].into(),
            channel: f[1].into(),
            month: String::new(),
            class_month: String::new(),
            stratum: f[3].into(),
            score,
            count: 0,
            sum_w: 0.0,
            sum_w2: 0.0,
        });
        cell.count += 1;
        cell.sum_w += weight;
        cell.sum_w2 += weight * weight;
    }
    let cells: Vec<Cell> = cells.into_values().collect();
    use satisfaction::db::repo::cells::ScoreColumn;
    let from_db =
        satisfaction::db::repo::cells::cells(&app.db, None, None, &[], None, ScoreColumn::Overall).await.unwrap();
    assert_eq!(from_db, cells, "the database hands over exactly these cells");
    let rolled = satisfaction::db::repo::cells::rollup_cells(&app.db, ScoreColumn::Overall, None, None, Split::NONE)
        .await
        .unwrap();
    assert_eq!(rolled, cells, "and so does the roll-up");
    for (by, weighted) in [(GroupBy::Channel, true), (GroupBy::DirectionChannel, false), (GroupBy::None, true)] {
        let options = Options { by, weighted, confidence: 0.9, min_n: 3, direction: None, channel: None };
        let expected = serde_json::to_value(estimate(&cells, &options)).unwrap();
        let by_param = match by {
            GroupBy::Channel => "&by=channel",
            GroupBy::DirectionChannel => "&by=direction,channel",
            _ => "",
        };
        let (_, api) =
            app.get_json(&key, &format!("/api/v1/stats?confidence=0.9&min_n=3&weighted={weighted}{by_param}")).await;
        assert_eq!(api["overall"], expected["overall"], "{by:?}");
        assert_eq!(api["groups"], expected["groups"], "{by:?}");
    }
}

on_both_databases!(the_api_equals_the_pure_functions_on_the_imported_rows);

/// The monthly roll-up gives exactly the cells computed from `responses`, and follows updates.
async fn the_rollup_matches_the_responses(backend: Backend) {
    use satisfaction::db::repo::cells::{self, ScoreColumn};
    use satisfaction::reporting::period;
    let (app, key) = imported(backend).await;
    let zone = app.jobs.settings.time_zone;
    let months = period::months("2022-01-01".parse().unwrap(), "2022-02-28".parse().unwrap(), zone);
    let (start, end) = period::bounds(Some("2022-01-01".parse().unwrap()), Some("2022-02-28".parse().unwrap()), zone);
    let direct = cells::cells(&app.db, start, end, &months, None, ScoreColumn::Overall).await.unwrap();
    let rolled = cells::rollup_cells(&app.db, ScoreColumn::Overall, Some("2022-01"), Some("2022-02"), Split::MONTHS)
        .await
        .unwrap();
    assert!(!rolled.is_empty());
    assert_eq!(rolled, direct);

    // Whole months come from the roll-up, a mid-month start from the responses: same figures.
    let (_, whole) = app.get_json(&key, "/api/v1/stats?from=2022-01-01&to=2022-02-28&min_n=0").await;
    let (_, partial) = app.get_json(&key, "/api/v1/stats?from=2021-12-15&to=2022-02-28&min_n=0").await;
    assert_eq!(whole["overall"], partial["overall"]);

    // A corrected file moves a response to another month and changes a score: the roll-up follows.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fix.csv");
    std::fs::write(&file, "response_id,agency_responsible,channel,stratum,weight,score,submitted_at\nR-1,TP,phone,TP:phone,4,2,2022-03-05T10:00:00-05:00\n").unwrap();
    let output = satisfaction(Some(&app.database.url), &["import", "responses", file.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let months = period::months("2022-01-01".parse().unwrap(), "2022-03-31".parse().unwrap(), zone);
    let (start, end) = period::bounds(Some("2022-01-01".parse().unwrap()), Some("2022-03-31".parse().unwrap()), zone);
    let direct = cells::cells(&app.db, start, end, &months, None, ScoreColumn::Overall).await.unwrap();
    let rolled = cells::rollup_cells(&app.db, ScoreColumn::Overall, Some("2022-01"), Some("2022-03"), Split::MONTHS)
        .await
        .unwrap();
    assert_eq!(rolled, direct);
    assert!(rolled.iter().any(|c| c.month == "2022-03" && c.score == 2));

    // `satisfaction rollup` rebuilds it from scratch, identically.
    let output = satisfaction(Some(&app.database.url), &["rollup"], None);
    assert!(String::from_utf8_lossy(&output.stdout).contains("recomputed for 3 months"), "{}", stderr(&output));
    assert_eq!(cells::rollup_cells(&app.db, ScoreColumn::Overall, None, None, Split::MONTHS).await.unwrap(), direct);
}

on_both_databases!(the_rollup_matches_the_responses);

/// Any period — mid-month ends, single days, open ends, no response at all — gives from the
/// roll-ups (whole months from the monthly one, edge days from the daily one) exactly the cells
/// a scan of `responses` gives, with and without month labels.
async fn any_period_equals_a_scan_of_the_responses(backend: Backend) {
    use satisfaction::db::repo::cells::ScoreColumn;
    use satisfaction::reporting::service::{direct_cells, period_cells};
    let (app, _key) = imported(backend).await;
    let zone = app.jobs.settings.time_zone;
    let date = |raw: &str| Some(raw.parse::<chrono::NaiveDate>().unwrap());
    let periods = [
        (date("2022-01-01"), date("2022-02-28")),
        (date("2022-01-15"), date("2022-02-10")),
        (date("2022-01-10"), date("2022-01-10")),
        (date("2022-02-05"), date("2022-02-28")),
        (date("2021-12-15"), date("2022-01-20")),
        (None, date("2022-01-20")),
        (date("2022-01-20"), None),
        (date("2023-05-01"), date("2023-05-09")),
        (None, None),
    ];
    let sorted = |mut cells: Vec<satisfaction::stats::Cell>| {
        cells.sort_by(|a, b| {
            (&a.direction, &a.channel, &a.month, &a.class_month, &a.stratum, a.score).cmp(&(
                &b.direction,
                &b.channel,
                &b.month,
                &b.class_month,
                &b.stratum,
                b.score,
            ))
        });
        cells
    };
    let mut compared = 0;
    for (from, to) in periods {
        for split in SPLITS {
            let rolled = period_cells(&app.db, split, from, to, ScoreColumn::Overall).await.unwrap();
            let scanned = direct_cells(&app.db, zone, split, from, to, ScoreColumn::Overall).await.unwrap();
            assert_eq!(sorted(rolled.clone()), sorted(scanned), "{from:?}..{to:?}, {split:?}");
            compared += rolled.len();
        }
    }
    assert!(compared > 50, "the periods hold responses: {compared} cells compared");
}

on_both_databases!(any_period_equals_a_scan_of_the_responses);

/// Every way cells are split: by month of submission, by class month, both, neither.
const SPLITS: [Split; 4] =
    [Split::NONE, Split::MONTHS, Split { months: false, classes: true }, Split { months: true, classes: true }];

/// Responses with drivers over four months (some drivers left empty), weights with exact binary
/// sums: the drivers' cells and their moments with the overall score, read from the roll-ups
/// for any period, equal a scan of `responses`; so do the figures the API gives.
async fn drivers_of_any_period_equal_a_scan_of_the_responses(backend: Backend) {
    use satisfaction::db::repo::cells::{ScoreColumn, scanned_moments};
    use satisfaction::domain::Driver;
    use satisfaction::reporting::{
        period,
        service::{direct_cells, moment_cells, period_cells, period_items, score_cells},
    };
    use satisfaction::stats::{self, GroupBy, Options};
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let zone = app.jobs.settings.time_zone;
    let mut csv = String::from(
        "response_id,agency_responsible,channel,weight,score,submitted_at,timeliness,courtesy,competence,clarity,fairness\n",
    );
    for i in 0..700usize {
        let (direction, channel) = [("TP", "phone"), ("TP", "email"), ("ENV", "phone"), ("ENV", "web_form")][i % 4];
        let weight = [1.0, 2.5, 4.0, 0.5, 3.25][i % 5];
        let score = (3 + i * 7 % 8) as u32;
        let day = format!("2022-{:02}-{:02}T{:02}:30:00-05:00", 1 + i % 4, 1 + i * 11 % 28, 8 + i % 15);
        let driver = |k: usize| {
            if (i + k).is_multiple_of(6) { String::new() } else { ((score as usize + k * i) % 11).to_string() }
        };
        csv.push_str(&format!(
            "D-{i},{direction},{channel},{weight},{score},{day},{},{},{},{},{}\n",
            driver(0),
            driver(1),
            driver(2),
            driver(3),
            driver(4)
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("drivers.csv");
    std::fs::write(&file, csv).unwrap();
    let output = satisfaction(Some(&app.database.url), &["import", "responses", file.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", stderr(&output));

    let date = |raw: &str| Some(raw.parse::<chrono::NaiveDate>().unwrap());
    let periods = [
        (date("2022-01-01"), date("2022-04-30")),
        (date("2022-01-15"), date("2022-03-10")),
        (date("2022-02-07"), date("2022-02-07")),
        (date("2022-02-05"), date("2022-03-31")),
        (None, date("2022-02-20")),
        (date("2022-03-02"), None),
        (date("2023-05-01"), date("2023-05-09")),
        (None, None),
    ];
    let mut compared = 0;
    for (from, to) in periods {
        let (start, end) = period::bounds(from, to, zone);
        let items: Vec<ScoreColumn> = Driver::ALL.into_iter().map(ScoreColumn::Driver).collect();
        let all_drivers = period_items(&app.db, from, to, &items).await.unwrap();
        for driver in Driver::ALL {
            let item = ScoreColumn::Driver(driver);
            let scanned = direct_cells(&app.db, zone, Split::NONE, from, to, item).await.unwrap();
            assert_eq!(
                period_cells(&app.db, Split::NONE, from, to, item).await.unwrap(),
                scanned,
                "{driver:?} {from:?}..{to:?}"
            );
            assert_eq!(score_cells(&all_drivers, item), scanned, "{driver:?} {from:?}..{to:?}");
            let rolled = moment_cells(&all_drivers, driver);
            let scanned = scanned_moments(&app.db, start, end, driver).await.unwrap();
            assert_eq!(rolled, scanned, "{driver:?} {from:?}..{to:?}");
            compared += rolled.len();
        }
    }
    assert!(compared > 300, "the periods hold answered drivers: {compared} moment cells compared");

    // The API: each driver's mean and interval from its cells, its r from its moments.
    let (from, to) = (date("2022-01-15"), date("2022-03-10"));
    let (start, end) = period::bounds(from, to, zone);
    let (status, body) = app.get_json(&key, "/api/v1/stats/drivers?from=2022-01-15&to=2022-03-10&min_n=0").await;
    assert_eq!(status, Status::Ok, "{body}");
    let options =
        Options { by: GroupBy::None, weighted: true, confidence: 0.95, min_n: 0, direction: None, channel: None };
    for (figures, driver) in body["drivers"].as_array().unwrap().iter().zip(Driver::ALL) {
        let cells = direct_cells(&app.db, zone, Split::NONE, from, to, ScoreColumn::Driver(driver)).await.unwrap();
        let estimate = stats::estimate(&cells, &options).overall;
        assert_eq!(figures["n"], estimate.n, "{driver:?}");
        close(&figures["mean"], estimate.mean.unwrap());
        close(&figures["ci_low"], estimate.ci_low.unwrap());
        let moments = scanned_moments(&app.db, start, end, driver).await.unwrap();
        let r = stats::drivers::correlation(&moments, true, 0.95).r.unwrap();
        close(&figures["correlation"]["r"], r);
    }
}

on_both_databases!(drivers_of_any_period_equal_a_scan_of_the_responses);

/// `database.postgres_work_mem` reaches every pooled PostgreSQL session (the reports' groupings
/// hash in memory with it); SQLite ignores it.
async fn the_reports_sessions_get_their_work_mem(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let app = crate::helpers::spawn_app_with(backend, |f| f.merge(("database.postgres_work_mem", "24MB"))).await;
    let key = app.api_key().await;
    let (status, _) = app.get_json(&key, "/api/v1/stats/drivers?from=2022-03-01&to=2022-03-31").await;
    assert_eq!(status, Status::Ok);
    if backend == Backend::Postgres {
        for _ in 0..3 {
            let row = app
                .db
                .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, "SHOW work_mem"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "24MB");
        }
    }
}

on_both_databases!(the_reports_sessions_get_their_work_mem);
