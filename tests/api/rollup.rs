//! The monthly roll-up is kept by each write, in the same transaction: after many stores (one at
//! a time, and eight writers at once), imports and re-imports that move responses between
//! cells, it equals a full recompute from `responses` (`satisfaction rollup`).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use satisfaction::{
    db::{
        entities::response,
        repo::cells::{self, Rollup, ScoreColumn},
    },
    domain::Driver,
    jobs::FileKind,
    responses::{rollup, store},
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::factories::{Reference, response_row};
use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

const ZONE: Tz = chrono_tz::America::Toronto;

/// Weights whose sums are exact in binary, so any order of addition gives the same bits.
const EXACT_WEIGHTS: [f64; 5] = [1.0, 2.5, 4.0, 0.5, 3.25];

/// Response `i`: spread over three months (some in the last local hours of October, which are
/// already November in UTC), three strata and every score.
fn nth_response(reference: &Reference, i: usize, weight: f64) -> response::Model {
    let start: DateTime<Utc> = "2026-09-15T12:00:00Z".parse().unwrap();
    let submitted = if i.is_multiple_of(7) {
        // 23:30 on 31 October in Québec: 03:30 UTC on 1 November.
        "2026-11-01T03:30:00Z".parse().unwrap()
    } else {
        start + Duration::hours(17 * i as i64 % (24 * 75))
    };
    let (direction, channel) = [("TP", "phone"), ("TP", "email"), ("ENV", "phone")][i % 3];
    let stratum = format!("{direction}:{channel}");
    let score = (i % 11) as i16;
    let mut row =
        response_row(reference.direction(direction), reference.channel(channel), &stratum, score, weight, submitted);
    // Drivers answered or left empty ("not applicable"), unrelated to the overall score or not.
    row.score_timeliness = (!i.is_multiple_of(4)).then_some((score + 1).min(10));
    row.score_courtesy = Some((i % 7) as i16 + 4);
    row.score_fairness = i.is_multiple_of(5).then_some(10 - score);
    // Half are the platform's: their requests closed up to three weeks before (some in the month
    // before), which puts them in a weighting class.
    row.request_closed_at = i.is_multiple_of(2).then(|| submitted - Duration::hours(13 * (i % 40) as i64));
    row
}

type Rows = Vec<cells::CellDelta>;

/// How many responses the rows count (each once, in its overall-score cell).
fn responses_counted(rows: &Rows) -> i64 {
    rows.iter().filter(|r| r.key.item == ScoreColumn::Overall).map(|r| r.sums.n).sum()
}

/// A cell's float sums, in a fixed order.
fn float_sums(row: &cells::CellDelta) -> [f64; 6] {
    let s = &row.sums;
    [s.sum_w, s.sum_w2, s.sum_y, s.sum_y2, s.sum_wy, s.sum_wy2]
}

/// Both roll-ups as kept, then as recomputed from scratch.
async fn kept_and_recomputed(db: &DatabaseConnection) -> (Rows, Rows) {
    let mut kept = Vec::new();
    for rollup in Rollup::ALL {
        kept.extend(cells::rollup_rows(db, rollup).await.unwrap());
    }
    rollup::rebuild(db, ZONE).await.unwrap();
    let mut recomputed = Vec::new();
    for rollup in Rollup::ALL {
        recomputed.extend(cells::rollup_rows(db, rollup).await.unwrap());
    }
    (kept, recomputed)
}

async fn the_rollup_kept_by_each_write_equals_a_recompute(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = app.db.clone();
    let reference = Arc::new(Reference::with_directions(&db, &["TP", "ENV"]).await);

    // One at a time, as the survey page will store them.
    for i in 0..200 {
        store::store(&db, ZONE, nth_response(&reference, i, EXACT_WEIGHTS[i % 5])).await.unwrap();
    }
    // Eight writers at once, 40 responses each, into the same cells.
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (db, reference) = (db.clone(), reference.clone());
            tokio::spawn(async move {
                for j in 0..40 {
                    let i = 1000 + writer * 40 + j;
                    store::store(&db, ZONE, nth_response(&reference, i, EXACT_WEIGHTS[i % 5])).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer failed");
    }
    // Historical responses imported, then imported again with changed scores, months, strata
    // and weights: each updated response leaves its old cell for its new one.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("responses.csv");
    let csv = |shift: usize| {
        let mut text = String::from(
            "response_id,agency_responsible,channel,stratum,weight,score,submitted_at,timeliness,clarity\n",
        );
        for i in 0..120 {
            let k = i + shift;
            let (direction, channel) = [("TP", "phone"), ("ENV", "phone")][k % 2];
            let month = ["2026-09", "2026-10", "2026-11"][k % 3];
            let weight = EXACT_WEIGHTS[k % 5].to_string();
            let clarity = if k.is_multiple_of(3) { String::new() } else { (k % 10).to_string() };
            text.push_str(&format!(
                "H-{i},{direction},{channel},,{weight},{},{month}-1{} 10:00,{},{clarity}\n",
                k % 11,
                k % 9,
                (k + 3) % 11
            ));
        }
        text
    };
    for shift in [0, 1, 0] {
        std::fs::write(&file, csv(shift)).unwrap();
        let report = app
            .jobs
            .import_file(FileKind::Responses, &file, &dir.path().join("rejected.csv"), &mut |_, _, _| {})
            .await
            .unwrap();
        assert_eq!(report.summary.rejected, 0);
    }

    let (kept, recomputed) = kept_and_recomputed(&db).await;
    assert_eq!(responses_counted(&kept), 2 * (200 + 8 * 40 + 120), "every response counted once in each roll-up");
    let timeliness = kept.iter().filter(|r| r.key.item == ScoreColumn::Driver(Driver::Timeliness));
    assert!(timeliness.map(|r| r.sums.n).sum::<i64>() > 0, "the drivers are rolled up too");
    assert!(kept.iter().all(|row| row.sums.n > 0), "no empty cell is kept");
    assert!(kept.iter().any(|row| row.key.period == "2026-11"), "local months, not UTC ones");
    assert!(kept.iter().any(|row| row.key.period == "2026-10-31"), "local days: 23:30 on 31 October");
    assert!(
        !kept
            .iter()
            .any(|row| row.key.period == "2026-11-01" && recomputed.iter().all(|r| r.key.period != "2026-11-01")),
        "no day that a recompute lacks"
    );
    assert_eq!(kept.len(), recomputed.len());
    for (k, r) in kept.iter().zip(&recomputed) {
        assert_eq!((&k.key, k.sums.n), (&r.key, r.sums.n), "same cells, same counts");
        assert_eq!(float_sums(k).map(f64::to_bits), float_sums(r).map(f64::to_bits), "exact sums in {:?}", k.key);
    }
}

/// With weights such as 1/0.3, sums depend on the order of addition in their last bits (and the
/// database's own SUM has no fixed order either): the kept sums agree with a recompute to 1e-12.
async fn any_weights_agree_with_a_recompute_to_rounding(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = app.db.clone();
    let reference = Reference::with_directions(&db, &["TP", "ENV"]).await;
    for i in 0..300 {
        let weight = 1.0 / [0.3, 0.07, 0.11, 1.0 / 3.0][i % 4];
        store::store(&db, ZONE, nth_response(&reference, i, weight)).await.unwrap();
    }
    let (kept, recomputed) = kept_and_recomputed(&db).await;
    assert_eq!(kept.len(), recomputed.len());
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
    for (k, r) in kept.iter().zip(&recomputed) {
        assert_eq!((&k.key, k.sums.n), (&r.key, r.sums.n));
        assert!(float_sums(k).iter().zip(float_sums(r)).all(|(a, b)| close(*a, b)), "{k:?} against {r:?}");
    }
}

on_both_databases!(the_rollup_kept_by_each_write_equals_a_recompute, any_weights_agree_with_a_recompute_to_rounding);

/// A database whose responses were stored before the daily roll-up existed (or under another
/// time zone) gets its roll-ups built when the application starts, once.
async fn the_rollups_are_built_at_start_up_when_missing_or_stale(backend: Backend) {
    use satisfaction::{app, clock::Clock, config::Settings};
    let app = spawn_app(backend).await;
    let db = app.db.clone();
    let reference = Reference::with_directions(&db, &["TP", "ENV"]).await;
    // Written straight to `responses`, as an older version's rows are: no cell counts them.
    for i in 0..60 {
        crate::factories::insert_response(&db, nth_response(&reference, i, EXACT_WEIGHTS[i % 5])).await.unwrap();
    }
    assert!(cells::rollup_rows(&db, Rollup::Daily).await.unwrap().is_empty());
    let settings = |zone: &str| {
        let figment = crate::helpers::test_figment(&app.database.url).merge(("time_zone", zone));
        Settings::from_figment(&figment).unwrap()
    };

    // Already built for this time zone (at the first start): nothing happens.
    app::open_database(&settings("America/Toronto"), &Clock::system()).await.unwrap();
    assert!(cells::rollup_rows(&db, Rollup::Daily).await.unwrap().is_empty(), "built once, not at every start");

    // The city's time zone setting changes: days and months are cut anew, on the next start.
    app::open_database(&settings("America/Vancouver"), &Clock::system()).await.unwrap();
    let daily = cells::rollup_rows(&db, Rollup::Daily).await.unwrap();
    let counted = responses_counted(&daily);
    assert_eq!(counted, 60, "every response counted");
    // 03:30 UTC on 1 November is 20:30 on 31 October in Vancouver.
    assert!(daily.iter().any(|row| row.key.period == "2026-10-31"));
    let zone: Tz = "America/Vancouver".parse().unwrap();
    let (kept, recomputed) = {
        let kept = cells::rollup_rows(&db, Rollup::Monthly).await.unwrap();
        rollup::rebuild(&db, zone).await.unwrap();
        (kept, cells::rollup_rows(&db, Rollup::Monthly).await.unwrap())
    };
    assert_eq!(kept, recomputed);
}

on_both_databases!(the_rollups_are_built_at_start_up_when_missing_or_stale);

/// A CSV of `count` historical responses with drivers, in no order of time (as an export sorted
/// by id is), over three months; `shift` changes scores, months and weights of every row.
fn scattered_csv(count: usize, shift: usize) -> String {
    let mut text = String::from(
        "response_id,agency_responsible,channel,stratum,weight,score,submitted_at,timeliness,courtesy,fairness\n",
    );
    for i in 0..count {
        let k = i * 7 + shift;
        let (direction, channel) = [("TP", "phone"), ("ENV", "phone"), ("TP", "email")][k % 3];
        let month = ["2026-09", "2026-10", "2026-11"][(k / 3) % 3];
        let driver = |d: usize| if (k + d).is_multiple_of(5) { String::new() } else { ((k + d) % 11).to_string() };
        text.push_str(&format!(
            "L-{i},{direction},{channel},,{},{},{month}-{:02} 1{}:00,{},{},{}\n",
            EXACT_WEIGHTS[k % 5],
            k % 11,
            1 + k % 28,
            k % 10,
            driver(1),
            driver(2),
            driver(3)
        ));
    }
    text
}

/// Past `ingestion.rollup_deferral_rows`, an import writes the rows only and recomputes the
/// months it wrote at its end: the roll-ups then equal a recompute, responses stored by the
/// survey page meanwhile included, and no marker is left.
async fn a_large_import_recomputes_its_months_at_the_end(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |f| f.merge(("ingestion.rollup_deferral_rows", 50))).await;
    let db = app.db.clone();
    let reference = Reference::with_directions(&db, &["TP", "ENV"]).await;
    for i in 0..40 {
        store::store(&db, ZONE, nth_response(&reference, i, EXACT_WEIGHTS[i % 5])).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("responses.csv");
    for shift in [0, 1] {
        std::fs::write(&file, scattered_csv(3000, shift)).unwrap();
        let report = app
            .jobs
            .import_file(FileKind::Responses, &file, &dir.path().join("rejected.csv"), &mut |_, _, _| {})
            .await
            .unwrap();
        assert_eq!(report.summary.rejected, 0);
        assert_eq!(report.summary.created + report.summary.updated + report.summary.unchanged, 3000);
    }
    let markers = satisfaction::db::repo::job_state::with_prefix(&db, "rollup.deferred.").await.unwrap();
    assert!(markers.is_empty(), "the import finished its months: {markers:?}");
    let (kept, recomputed) = kept_and_recomputed(&db).await;
    assert_eq!(responses_counted(&kept), 2 * (40 + 3000));
    assert_eq!(kept, recomputed);
}

/// An import that stopped after writing rows without their cells (a crash, a killed process)
/// left a marker naming the months: the next start recomputes them, once the marker is ten
/// minutes old (a running import refreshes it with every chunk).
async fn an_interrupted_import_is_finished_at_the_next_start(backend: Backend) {
    use satisfaction::{app, clock::Clock, config::Settings, db::repo::job_state};
    let app = spawn_app(backend).await;
    let db = app.db.clone();
    let reference = Reference::with_directions(&db, &["TP", "ENV"]).await;
    let written_at: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
    let deferred = std::sync::Mutex::new(rollup::Deferred::new(ZONE));
    let rows: Vec<response::Model> = (0..90).map(|i| nth_response(&reference, i, EXACT_WEIGHTS[i % 5])).collect();
    let txn = satisfaction::db::begin_write(&db).await.unwrap();
    store::insert_many_deferred(&txn, rows, &deferred).await.unwrap();
    rollup::Deferred::record(&deferred, &txn, written_at).await.unwrap();
    sea_orm::TransactionSession::commit(txn).await.unwrap();
    drop(deferred);
    assert!(cells::rollup_rows(&db, Rollup::Monthly).await.unwrap().is_empty(), "no cell kept yet");

    let settings = Settings::from_figment(&crate::helpers::test_figment(&app.database.url)).unwrap();
    // Five minutes later the import may still be running: nothing is touched.
    app::open_database(&settings, &Clock::fixed(written_at + Duration::minutes(5))).await.unwrap();
    assert!(cells::rollup_rows(&db, Rollup::Monthly).await.unwrap().is_empty());
    assert_eq!(job_state::with_prefix(&db, "rollup.deferred.").await.unwrap().len(), 1);
    // An hour later it is not: its months are recomputed and the marker goes.
    app::open_database(&settings, &Clock::fixed(written_at + Duration::hours(1))).await.unwrap();
    assert!(job_state::with_prefix(&db, "rollup.deferred.").await.unwrap().is_empty());
    let (kept, recomputed) = kept_and_recomputed(&db).await;
    assert_eq!(responses_counted(&kept), 2 * 90);
    assert_eq!(kept, recomputed);
}

/// A large import past the deferral, with ids that come back in later chunks (2,000 rows each):
/// on PostgreSQL two chunks are written at once, yet the file's last row wins, each response is
/// counted once, and the roll-ups equal a recompute.
async fn a_large_import_keeps_the_last_row_of_each_id_across_chunks(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |f| f.merge(("ingestion.rollup_deferral_rows", 50))).await;
    let db = app.db.clone();
    Reference::with_directions(&db, &["TP", "ENV"]).await;
    let versions: Vec<Vec<String>> =
        (0..3).map(|shift| scattered_csv(9000, shift).lines().map(str::to_owned).collect()).collect();
    let mut csv = String::new();
    for (line, text) in versions[0].iter().enumerate() {
        csv.push_str(text);
        csv.push('\n');
        // Row i is line i + 1. L-7 again in the second and third chunks, L-2600 in the fourth.
        for (at, id, shift) in [(2500, 7, 1), (4100, 7, 2), (6500, 2600, 1)] {
            if line == at {
                csv.push_str(&versions[shift][id + 1]);
                csv.push('\n');
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("responses.csv");
    std::fs::write(&file, csv).unwrap();
    let report = app
        .jobs
        .import_file(FileKind::Responses, &file, &dir.path().join("rejected.csv"), &mut |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(
        (report.summary.created, report.summary.updated, report.summary.rejected),
        (9000, 3, 0),
        "{:?}",
        report.summary
    );
    let score_of = |id: &'static str| {
        let db = db.clone();
        async move {
            let row = response::Entity::find().filter(response::Column::ExternalId.eq(id)).one(&db).await.unwrap();
            i64::from(row.unwrap().overall_score)
        }
    };
    // The score of row i in version `shift` is (7 i + shift) mod 11.
    assert_eq!(score_of("L-7").await, (7 * 7 + 2) % 11);
    assert_eq!(score_of("L-2600").await, (7 * 2600 + 1) % 11);
    assert_eq!(score_of("L-8999").await, (7 * 8999) % 11);
    let (kept, recomputed) = kept_and_recomputed(&db).await;
    assert_eq!(responses_counted(&kept), 2 * 9000);
    assert_eq!(kept, recomputed);
}

on_both_databases!(
    a_large_import_recomputes_its_months_at_the_end,
    a_large_import_keeps_the_last_row_of_each_id_across_chunks,
    an_interrupted_import_is_finished_at_the_next_start
);
