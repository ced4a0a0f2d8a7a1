//! The demonstration, small (2 % of the reference city), on both databases: it goes through the
//! real pipeline (requests, invitations, responses, reminders, opt-outs, follow-ups), gives the
//! same city for the same seed, and refuses a database that already holds requests.

use chrono::NaiveDate;

use crate::helpers::{Backend, spawn_app_with};
use crate::on_both_databases;

async fn a_small_year_goes_through_the_pipeline(backend: Backend) {
    let files = tempfile::tempdir().unwrap();
    let dir = files.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(backend, |f| f.merge(("delivery.file_dir", dir))).await;
    let end = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    let mut days = 0;
    let report =
        satisfaction::demo::load(&app.db, &app.jobs.settings, 7, 0.02, end, &mut |day, _| days = day).await.unwrap();
    assert_eq!(days, 365);
    assert!(report.requests > 2000 && report.invitations > 100, "{report}");
    assert!(report.responses > 20 && report.after_reminder > 0 && report.responses < report.invitations, "{report}");
    let key = app.api_key().await;
    let (status, stats) = app.get_json(&key, "/api/v1/stats?from=2025-11-01&to=2026-10-31&weighting=design").await;
    assert_eq!(status, rocket::http::Status::Ok);
    assert_eq!(stats["overall"]["n"].as_u64(), Some(report.responses), "every response in the statistics");
    let files = std::fs::read_dir(files.path()).unwrap().count() as u64;
    assert!(files >= report.invitations, "each invitation went out as a file ({files})");
    let again = satisfaction::demo::load(&app.db, &app.jobs.settings, 7, 0.02, end, &mut |_, _| {}).await;
    assert!(matches!(again, Err(satisfaction::demo::DemoError::NotEmpty(_))), "refuses a database with requests");

    // The same seed on another database: the same city.
    let other = spawn_app_with(backend, |f| f).await;
    let twin = satisfaction::demo::load(&other.db, &other.jobs.settings, 7, 0.02, end, &mut |_, _| {}).await.unwrap();
    assert_eq!(
        (twin.requests, twin.invitations, twin.responses, twin.opt_outs),
        (report.requests, report.invitations, report.responses, report.opt_outs)
    );
}

on_both_databases!(a_small_year_goes_through_the_pipeline);
