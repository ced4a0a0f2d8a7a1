//! The dashboard's overview, on both databases: the same figures as `GET /api/v1/stats` for the
//! same filter; a scoped viewer's direction fixed whatever the URL says; anonymous visitors sent
//! to the login page; bad filters explained.

use rocket::http::Status;
use satisfaction::accounts::{self, NewUser};
use satisfaction::domain::{Email, Locale, Role};
use satisfaction::reporting::export::number;

use crate::accounts::{PASSWORD, login};
use crate::helpers::Backend;
use crate::on_both_databases;
use crate::stats::imported;

async fn user(app: &crate::helpers::TestApp, email: &str, role: Role, direction: Option<&str>) {
    let new_user = NewUser {
        email: Email::parse(email).unwrap(),
        password: PASSWORD.into(),
        role,
        direction_code: direction.map(str::to_owned),
    };
    accounts::create_user(&app.db, new_user, "test", app.jobs.clock.now()).await.unwrap();
}

async fn the_overview_shows_the_figures_of_the_api(backend: Backend) {
    let (app, key) = imported(backend).await;
    user(&app, "analyste@ville.example", Role::Analyst, None).await;
    assert_eq!(app.client.get("/dashboard").dispatch().await.status(), Status::SeeOther, "anonymous: to login");
    let (status, _, _) = login(&app.client, "analyste@ville.example", PASSWORD).await;
    assert_eq!(status, Status::SeeOther);

    let page = app.client.get("/dashboard?period=custom&from=2022-01-01&to=2022-12-31&min_n=0").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let html = page.into_string().await.unwrap();
    let (_, api) = app.get_json(&key, "/api/v1/stats?from=2022-01-01&to=2022-12-31&by=direction").await;
    let mean = number(api["overall"]["mean"].as_f64(), 1, Locale::Fr);
    assert!(html.contains(&format!("<span class=\"value\">{mean}</span> / 10")), "{mean} in the headline");
    let half = (api["overall"]["ci_high"].as_f64().unwrap() - api["overall"]["ci_low"].as_f64().unwrap()) / 2.0;
    assert!(html.contains(&format!("± {}", number(Some(half), 1, Locale::Fr))));
    assert!(html.contains(&format!("n = {}", api["overall"]["n"])));
    assert!(html.contains("19 fois sur 20"));
    // Each direction's bar shows the API's mean, and the chart has its text alternative.
    for group in api["groups"].as_array().unwrap() {
        if group["suppressed"] == false {
            assert!(html.contains(&format!(">{}", number(group["mean"].as_f64(), 1, Locale::Fr))), "{group}");
        }
    }
    assert!(html.contains("role=\"img\"") && html.contains("<desc id=\"by-direction-d\">"));
    assert!(!html.contains("style="), "no inline style (CSP)");
    // In English on request.
    let english = app.client.get("/dashboard?period=this_year&lang=en").dispatch().await.into_string().await.unwrap();
    assert!(english.contains("Satisfaction by direction"));
    // A bad filter is explained, not a 500.
    let bad = app.client.get("/dashboard?period=custom&from=2022-12-31&to=2022-01-01").dispatch().await;
    assert_eq!(bad.status(), Status::BadRequest);
    assert!(bad.into_string().await.unwrap().contains("is after"));
    assert_eq!(app.client.get("/dashboard?period=fortnight").dispatch().await.status(), Status::BadRequest);
}

async fn a_scoped_viewer_sees_only_their_direction_on_the_dashboard(backend: Backend) {
    let (app, key) = imported(backend).await;
    user(&app, "tp@ville.example", Role::Viewer, Some("TP")).await;
    login(&app.client, "tp@ville.example", PASSWORD).await;
    let html = app
        .client
        .get("/dashboard?period=custom&from=2022-01-01&to=2022-12-31&direction=ENV")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let (_, tp) = app.get_json(&key, "/api/v1/stats?from=2022-01-01&to=2022-12-31&direction=TP").await;
    let mean = number(tp["overall"]["mean"].as_f64(), 1, Locale::Fr);
    assert!(html.contains(&format!("<span class=\"value\">{mean}</span> / 10")), "TP's figure, not ENV's");
    assert!(html.contains("name=\"direction\" disabled"), "the direction filter is fixed");
}

on_both_databases!(
    the_overview_shows_the_figures_of_the_api,
    a_scoped_viewer_sees_only_their_direction_on_the_dashboard
);
