//! The demonstration, small (5 % of the reference city), on both databases: it goes through the
//! real pipeline (requests, invitations, responses, reminders, opt-outs, follow-ups), gives the
//! same city for the same seed, and refuses a database that already holds requests.

use chrono::NaiveDate;

use crate::helpers::{Backend, spawn_app_with};
use crate::on_both_databases;

async fn a_small_year_goes_through_the_pipeline(backend: Backend) {
    let files = tempfile::tempdir().unwrap();
    let dir = files.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(backend, |f| f.merge(("delivery.file_dir", dir))).await;
    // The year ending yesterday, as `serve --demo` loads it: the last two weeks' links are open.
    let today = app.jobs.clock.now().with_timezone(&app.jobs.settings.time_zone).date_naive();
    let end = today - chrono::Duration::days(1);
    let mut days = 0;
    let report =
        satisfaction::demo::load(&app.db, &app.jobs.settings, 7, 0.05, end, &mut |day, _| days = day).await.unwrap();
    assert_eq!(days, 365);
    assert!(report.requests > 2000 && report.invitations > 100, "{report}");
    assert!(report.responses > 20 && report.after_reminder > 0 && report.responses < report.invitations, "{report}");
    let key = app.api_key().await;
    let from = end - chrono::Duration::days(364);
    let (status, stats) = app.get_json(&key, &format!("/api/v1/stats?from={from}&to={end}&weighting=design")).await;
    assert_eq!(status, rocket::http::Status::Ok);
    assert_eq!(stats["overall"]["n"].as_u64(), Some(report.responses), "every response in the statistics");
    // Each e-mail's plain-text part, decoded.
    let messages: Vec<String> = std::fs::read_dir(files.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| {
            let raw = std::fs::read(e.path()).unwrap();
            mail_parser::MessageParser::default().parse(&raw).unwrap().body_text(0).unwrap().to_string()
        })
        .collect();
    assert!(messages.len() as u64 * 10 >= report.messages * 9, "the messages went out as files (texts aside)");
    // Every stage ran: sampling runs recorded, reminders sent, invitations expired, opt-outs,
    // follow-ups in every state.
    let count = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            use sea_orm::ConnectionTrait;
            let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
            row.unwrap().try_get_by_index::<i64>(0).unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM sampling_runs WHERE status = 'completed'").await, 365);
    assert_eq!(report.sampling_runs, 365);
    // One adaptive stratum: its rate follows its volume and response rate once it has a history.
    let adaptive = {
        use sea_orm::EntityTrait;
        let runs = satisfaction::db::entities::sampling_run::Entity::find().all(&app.db).await.unwrap();
        let mut rates = Vec::new();
        for run in runs {
            let strata: Vec<satisfaction::sampling::design::StratumCounts> =
                serde_json::from_value(run.strata.clone()).unwrap_or_default();
            for stratum in strata {
                assert!(
                    stratum.stratum == "ENV:web_form" || stratum.rate_source != "adaptive",
                    "only one adaptive stratum: {stratum:?}"
                );
                if stratum.rate_source == "adaptive" {
                    rates.push(stratum.rate);
                }
            }
        }
        rates
    };
    assert!(adaptive.len() > 10, "ENV:web_form sampled adaptively on the days it had requests: {}", adaptive.len());
    assert!(adaptive.iter().any(|r| (r - adaptive[0]).abs() > 1e-9), "its rate moves");
    assert_eq!(count("SELECT COUNT(*) FROM service_requests").await as u64, report.requests);
    assert_eq!(count("SELECT COUNT(*) FROM outbox WHERE state = 'sent'").await as u64, report.messages);
    let reminders = count("SELECT COUNT(*) FROM outbox WHERE kind = 'reminder' AND state = 'sent'").await as u64;
    assert!(reminders > 0 && reminders == report.reminders, "{reminders} reminders: {report}");
    let expired = count("SELECT COUNT(*) FROM invitations WHERE state = 'expired'").await as u64;
    assert!(expired > 0 && expired == report.expired, "{expired} expired: {report}");
    assert!(count("SELECT COUNT(*) FROM invitations WHERE state = 'opted_out'").await > 0);
    assert_eq!(count("SELECT COUNT(*) FROM invitations WHERE state = 'answered'").await as u64, report.responses);
    assert!(count("SELECT COUNT(*) FROM opt_outs").await as u64 >= report.opt_outs);
    assert_eq!(count("SELECT COUNT(*) FROM follow_ups").await as u64, report.follow_ups);
    assert_eq!(count("SELECT COUNT(DISTINCT status) FROM follow_ups").await, 3, "follow-ups in every state: {report}");
    assert!(count("SELECT COUNT(*) FROM responses WHERE comment IS NOT NULL").await > 0, "comments");

    // A link of the last days, from the file outbox, still opens its survey and takes an answer.
    let open: Vec<String> = {
        use sea_orm::{ConnectionTrait, Statement};
        let sql = "SELECT token_hash FROM invitations WHERE state = 'sent'";
        app.db
            .query_all_raw(Statement::from_string(app.db.get_database_backend(), sql))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect()
    };
    let link = messages
        .iter()
        .filter_map(|m| m.find("/s/").map(|at| m[at + 3..at + 35].to_owned()))
        .find(|token| satisfaction::domain::SurveyToken::parse(token).is_some_and(|t| open.contains(&t.hash())))
        .expect("an open link in the outbox");
    let page = app.client.get(format!("/s/{link}")).dispatch().await;
    assert_eq!(page.status(), rocket::http::Status::Ok);
    let html = page.into_string().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let answered = app
        .client
        .post(format!("/s/{link}"))
        .header(rocket::http::ContentType::Form)
        .body(format!("csrf={csrf}&overall=9"))
        .dispatch()
        .await;
    assert_eq!(answered.status(), rocket::http::Status::Ok);
    let again = satisfaction::demo::load(&app.db, &app.jobs.settings, 7, 0.05, end, &mut |_, _| {}).await;
    assert!(matches!(again, Err(satisfaction::demo::DemoError::NotEmpty(_))), "refuses a database with requests");

    // The same seed on another database: the same city.
    let other = spawn_app_with(backend, |f| f).await;
    let twin = satisfaction::demo::load(&other.db, &other.jobs.settings, 7, 0.05, end, &mut |_, _| {}).await.unwrap();
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

    // The page is made again at most every ten minutes: forty late zeros for T3 show after that.
    let tp = satisfaction::db::repo::directions::find_by_code(&app.db, "TP").await.unwrap().unwrap().id;
    let phone = {
        use sea_orm::EntityTrait;
        let channels = satisfaction::db::entities::channel::Entity::find().all(&app.db).await.unwrap();
        channels.into_iter().find(|c| c.code == "phone").unwrap().id
    };
    for _ in 0..40 {
        let zero =
            crate::factories::response_row(tp, phone, "TP:phone", 0, 1.0, "2026-08-14T15:00:00Z".parse().unwrap());
        satisfaction::responses::store::store(&app.db, app.jobs.settings.time_zone, zero).await.unwrap();
    }
    let again = app.client.get("/resultats?lang=fr").dispatch().await.into_string().await.unwrap();
    assert_eq!(again, html, "served again as made");
    app.jobs.clock.set("2026-11-15T15:11:00Z".parse().unwrap());
    let later = app.client.get("/resultats?lang=fr").dispatch().await.into_string().await.unwrap();
    assert_ne!(later, html, "made again with the late answers");
}

on_both_databases!(the_public_report_card);
