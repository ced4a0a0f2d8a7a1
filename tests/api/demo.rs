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

/// The public report card: off by default; on, the city-wide and direction scores per quarter
/// (the API's figures), cacheable, with no comment.
async fn the_public_report_card(backend: Backend) {
    let clock = satisfaction::clock::Clock::fixed("2026-11-15T15:00:00Z".parse().unwrap());
    let files = tempfile::tempdir().unwrap();
    let dir = files.path().to_str().unwrap().to_owned();
    let off = crate::helpers::spawn_app_at(backend, clock.clone(), |f| f).await;
    assert_eq!(off.client.get("/resultats").dispatch().await.status(), rocket::http::Status::NotFound);
    let app = crate::helpers::spawn_app_at(backend, clock, |f| {
        f.merge(("public_report.enabled", true)).merge(("delivery.file_dir", dir))
    })
    .await;
    let end = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    satisfaction::demo::load(&app.db, &app.jobs.settings, 5, 0.02, end, &mut |_, _| {}).await.unwrap();
    let page = app.client.get("/resultats").dispatch().await;
    assert_eq!(page.status(), rocket::http::Status::Ok);
    assert_eq!(page.headers().get_one("Cache-Control"), Some("public, max-age=3600"));
    let html = page.into_string().await.unwrap();
    assert!(html.contains("T3 2026") && html.contains("19 fois sur 20") && html.contains("role=\"img\""));
    let key = app.api_key().await;
    let (_, q3) = app.get_json(&key, "/api/v1/stats?from=2026-07-01&to=2026-09-30").await;
    let city =
        satisfaction::reporting::export::number(q3["overall"]["mean"].as_f64(), 1, satisfaction::domain::Locale::Fr);
    assert!(html.contains(&format!("<span class=\"value\">{city}</span> / 10")), "the API's figure for T3 2026");
    for comment in ["rappelé", "Nobody", "délai était"] {
        assert!(!html.contains(comment), "no comment on the public page");
    }
    let english = app.client.get("/resultats?lang=en").dispatch().await.into_string().await.unwrap();
    assert!(english.contains("Q3 2026") && english.contains("City-wide"));
}

on_both_databases!(the_public_report_card);
