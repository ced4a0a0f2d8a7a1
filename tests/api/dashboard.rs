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

/// A follow-up (a low score with a comment, from a survey) is worked by an analyst: to do, in
/// progress, done, each change in the audit log; a viewer may not see it; a form without its
/// token is refused; the page names the request, never the citizen's contact.
async fn a_follow_up_moves_through_its_states(backend: Backend) {
    use crate::factories::{InvitationRow, Reference, RequestRow, insert_invitation, insert_request, response_row};
    let app = crate::helpers::spawn_app(backend).await;
    let reference = Reference::with_directions(&app.db, &["TP"]).await;
    let now = app.jobs.clock.now();
    let request = insert_request(&app.db, &reference, &RequestRow::closed("REQ-2026-77", now)).await.unwrap();
    let invitation = insert_invitation(&app.db, InvitationRow::of(&request, "TP:phone", 0.5, now)).await.unwrap();
    let mut row = response_row(request.direction_id, request.channel_id, "TP:phone", 3, 2.0, now);
    (row.invitation_id, row.comment, row.follow_up_requested) =
        (Some(invitation.id), Some("Personne ne m'a rappelé <b>deux fois</b>".into()), true);
    satisfaction::survey::submit(&app.db, app.jobs.settings.time_zone, row, Some("low_score")).await.unwrap();
    user(&app, "analyste@ville.example", Role::Analyst, None).await;
    user(&app, "lecteur@ville.example", Role::Viewer, None).await;

    login(&app.client, "lecteur@ville.example", PASSWORD).await;
    assert_eq!(app.client.get("/dashboard/follow-ups").dispatch().await.status(), Status::Forbidden);
    let overview = app.client.get("/dashboard").dispatch().await.into_string().await.unwrap();
    assert!(!overview.contains("/dashboard/follow-ups"), "no follow-ups for a viewer");
    crate::accounts::logout(&app.client).await;

    login(&app.client, "analyste@ville.example", PASSWORD).await;
    let overview = app.client.get("/dashboard").dispatch().await.into_string().await.unwrap();
    assert!(overview.contains("À faire : 1"), "the count on the overview");
    let page = app.client.get("/dashboard/follow-ups?status=todo").dispatch().await.into_string().await.unwrap();
    assert!(page.contains("REQ-2026-77") && page.contains("souhaite être contacté"), "{page}");
    assert!(page.contains("&lt;b&gt;deux fois&lt;&#x2f;b&gt;"), "the comment is escaped");
    assert!(!page.contains("REQ-2026-77@ville.example"), "no contact data");
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let id: i64 = page.split("/dashboard/follow-ups/").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    let path = format!("/dashboard/follow-ups/{id}");
    let post = |body: String| {
        let request = app.client.post(path.clone()).header(rocket::http::ContentType::Form).body(body);
        async move { request.dispatch().await.status() }
    };
    assert_eq!(post("status=done".into()).await, Status::Forbidden, "no form token");
    assert_eq!(post(format!("csrf={csrf}&status=lost")).await, Status::UnprocessableEntity);
    assert_eq!(post(format!("csrf={csrf}&status=in_progress&note=Appel+pr%C3%A9vu")).await, Status::Ok);
    assert_eq!(post(format!("csrf={csrf}&status=done&note=Rappel%C3%A9e")).await, Status::Ok);
    let done = app.client.get("/dashboard/follow-ups?status=done").dispatch().await.into_string().await.unwrap();
    assert!(done.contains("REQ-2026-77") && done.contains("Rappelée"));
    let audit = satisfaction::db::entities::audit_log::Entity::find().all(&app.db).await.unwrap();
    let changes: Vec<String> = audit
        .iter()
        .filter(|a| a.action == "follow_up.update")
        .map(|a| a.details.as_ref().unwrap()["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(changes, ["in_progress", "done"]);
}

/// The CSV exports: the figures of the API for the same filter, French (`;`, "7,8") or English;
/// the comments anonymised; for analysts only; each export in the audit log.
async fn exports_give_the_api_figures_and_no_contact(backend: Backend) {
    use crate::factories::{Reference, response_row};
    let (app, key) = imported(backend).await;
    let reference = Reference::load(&app.db).await;
    let at = "2022-06-15T15:00:00Z".parse().unwrap();
    let mut row = response_row(reference.direction("TP"), reference.channel("phone"), "TP:phone", 2, 1.0, at);
    row.comment = Some("Rappelez-moi : marie.roy@courriel.example ou 418 555-0134".into());
    satisfaction::responses::store::store(&app.db, app.jobs.settings.time_zone, row).await.unwrap();
    user(&app, "analyste@ville.example", Role::Analyst, None).await;
    user(&app, "lecteur@ville.example", Role::Viewer, None).await;

    login(&app.client, "lecteur@ville.example", PASSWORD).await;
    let refused = app
        .client
        .get("/dashboard/export.csv?period=custom&from=2022-01-01&to=2022-12-31&by=direction")
        .dispatch()
        .await;
    assert_eq!(refused.status(), Status::Forbidden, "viewers see figures only");
    crate::accounts::logout(&app.client).await;

    login(&app.client, "analyste@ville.example", PASSWORD).await;
    let response = app
        .client
        .get("/dashboard/export.csv?period=custom&from=2022-01-01&to=2022-12-31&by=direction")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert!(response.headers().get_one("Content-Disposition").unwrap().contains("attachment"));
    let csv = response.into_string().await.unwrap();
    let (_, api) = app.get_json(&key, "/api/v1/stats?from=2022-01-01&to=2022-12-31&by=direction").await;
    let first = csv.lines().nth(1).unwrap();
    let mean = api["overall"]["mean"].as_f64().unwrap().to_string().replace('.', ",");
    assert!(first.starts_with(";;;") && first.contains(&format!(";{mean};")), "{first} vs {mean}");
    assert_eq!(csv.lines().count(), 1 + 1 + api["groups"].as_array().unwrap().len());
    let english = app
        .client
        .get("/dashboard/export.csv?period=custom&from=2022-01-01&to=2022-12-31&by=direction&locale=en")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(english.lines().nth(1).unwrap().contains(&format!(",{},", api["overall"]["mean"].as_f64().unwrap())));

    // The API gives the same CSV with `format=csv` (French by default, `locale=en`).
    let request = app
        .client
        .get("/api/v1/stats?from=2022-01-01&to=2022-12-31&by=direction&format=csv&locale=en")
        .header(rocket::http::Header::new("Authorization", format!("Bearer {key}")));
    let api_csv = request.dispatch().await.into_string().await.unwrap();
    assert_eq!(api_csv, english, "the API's CSV and the dashboard's are the same");
    let (status, _) = app.get_json(&key, "/api/v1/stats?format=xml").await;
    assert_eq!(status, Status::BadRequest);
    let comments = app
        .client
        .get("/dashboard/comments.csv?period=custom&from=2022-01-01&to=2022-12-31")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(comments.contains("Rappelez-moi : [courriel] ou [téléphone]"), "{comments}");
    for everything in [&csv, &english, &comments] {
        assert!(!everything.contains('@') && !everything.contains("555-0134"), "no contact in an export");
    }
    let audit = satisfaction::db::entities::audit_log::Entity::find().all(&app.db).await.unwrap();
    let exports = audit.iter().filter(|a| a.action.starts_with("export.")).count();
    assert_eq!(exports, 3);
}

/// A direction's page: its own figures (those of the API for that direction), its drivers and
/// shares; comments for analysts only; a scoped viewer cannot open another direction's page.
async fn a_direction_page_shows_that_direction(backend: Backend) {
    let (app, key) = imported(backend).await;
    user(&app, "analyste@ville.example", Role::Analyst, None).await;
    user(&app, "tp@ville.example", Role::Viewer, Some("TP")).await;
    login(&app.client, "analyste@ville.example", PASSWORD).await;
    let page = app.client.get("/dashboard/direction/TP?period=custom&from=2022-01-01&to=2022-12-31").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let html = page.into_string().await.unwrap();
    let (_, tp) = app.get_json(&key, "/api/v1/stats?from=2022-01-01&to=2022-12-31&direction=TP").await;
    let mean = number(tp["overall"]["mean"].as_f64(), 1, Locale::Fr);
    assert!(html.contains(&format!("<span class=\"value\">{mean}</span> / 10")), "TP's figure");
    assert!(html.contains("Les facteurs de satisfaction") && html.contains("Commentaires récents"));
    let channel = app.client.get("/dashboard/channel/phone?period=this_year").dispatch().await;
    assert_eq!(channel.status(), Status::Ok);
    assert_eq!(
        app.client.get("/dashboard/direction/NOPE?period=this_year").dispatch().await.status(),
        Status::BadRequest
    );
    crate::accounts::logout(&app.client).await;

    login(&app.client, "tp@ville.example", PASSWORD).await;
    let own = app.client.get("/dashboard/direction/TP?period=custom&from=2022-01-01&to=2022-12-31").dispatch().await;
    assert_eq!(own.status(), Status::Ok);
    assert!(!own.into_string().await.unwrap().contains("Commentaires récents"), "no comments for a viewer");
    let other = app.client.get("/dashboard/direction/ENV?period=custom&from=2022-01-01&to=2022-12-31").dispatch().await;
    assert_eq!(other.status(), Status::Forbidden);
}

use sea_orm::EntityTrait;

on_both_databases!(
    a_direction_page_shows_that_direction,
    exports_give_the_api_figures_and_no_contact,
    the_overview_shows_the_figures_of_the_api,
    a_scoped_viewer_sees_only_their_direction_on_the_dashboard,
    a_follow_up_moves_through_its_states,
);
