//! The survey page, on both databases: a valid answer stored once with its weight, version,
//! roll-up cell and follow-up; each bad field refused with its message; double and concurrent
//! submissions; unknown, expired and answered links; CSRF; the language order; the limit on
//! unknown links.

use chrono::{DateTime, Duration, Utc};
use rocket::http::{ContentType, Cookie, Status};
use satisfaction::clock::Clock;
use satisfaction::db::entities::{follow_up, invitation, response};
use satisfaction::domain::SurveyToken;
use sea_orm::EntityTrait;

use crate::factories::{InvitationRow, Reference, RequestRow, insert_invitation, insert_request};
use crate::helpers::{Backend, TestApp, spawn_app_at};
use crate::on_both_databases;

fn now() -> DateTime<Utc> {
    "2026-11-20T15:00:00Z".parse().unwrap()
}

struct Link {
    token: SurveyToken,
    invitation_id: i64,
}

impl Link {
    fn path(&self) -> String {
        format!("/s/{}", self.token.as_str())
    }
}

/// An invitation sent two days ago, valid 14 days, of a request in `locale` sampled at 1/4.
async fn invited(app: &TestApp, reference: &Reference, crm: &str, locale: &'static str) -> Link {
    let mut row = RequestRow::closed(crm, now() - Duration::days(3));
    row.locale = locale;
    let request = insert_request(&app.db, reference, &row).await.unwrap();
    let token = SurveyToken::generate();
    let mut invitation = InvitationRow::of(&request, "TP:phone", 0.25, now() - Duration::days(2));
    invitation.token_hash = token.hash();
    invitation.state = "sent";
    invitation.sent_at = Some(now() - Duration::days(2));
    invitation.expires_at = Some(now() + Duration::days(12));
    let stored = insert_invitation(&app.db, invitation).await.unwrap();
    Link { token, invitation_id: stored.id }
}

async fn app(
    backend: Backend,
    configure: impl FnOnce(rocket::figment::Figment) -> rocket::figment::Figment,
) -> (TestApp, Reference) {
    let app = spawn_app_at(backend, Clock::fixed(now()), configure).await;
    let reference = Reference::with_directions(&app.db, &["TP"]).await;
    (app, reference)
}

/// The form's CSRF token, read from the page as a browser would.
async fn csrf(app: &TestApp, link: &Link) -> String {
    let html = app.client.get(link.path()).dispatch().await.into_string().await.unwrap();
    html.split("name=\"csrf\" value=\"").nth(1).expect("a form token").split('"').next().unwrap().to_owned()
}

async fn post(app: &TestApp, link: &Link, body: &str) -> (Status, String) {
    let response = app.client.post(link.path()).header(ContentType::Form).body(body).dispatch().await;
    (response.status(), response.into_string().await.unwrap_or_default())
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn responses(app: &TestApp) -> Vec<response::Model> {
    response::Entity::find().all(&app.db).await.unwrap()
}

async fn a_valid_answer_is_stored_once_with_its_weight_and_cell(backend: Backend) {
    let (app, reference) = app(backend, |f| f).await;
    let link = invited(&app, &reference, "REQ-2026-1", "fr").await;
    let page = app.client.get(link.path()).dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let html = page.into_string().await.unwrap();
    assert!(html.contains("REQ-2026-1") && html.contains("lang=\"fr-CA\""), "{html}");
    assert!(html.contains("0 = pas du tout satisfait") && html.contains("Ne s’applique pas"));
    // ("/" is "&#x2f;" in an escaped attribute.)
    let unescaped = html.replace("&#x2f;", "/");
    assert!(unescaped.contains(&format!("/opt-out/{}", link.token.as_str())), "the opt-out link is on the page");
    assert!(!html.contains("<script"), "no JavaScript");

    let token = csrf(&app, &link).await;
    let body = format!(
        "csrf={token}&overall=9&timeliness=8&courtesy=na&competence=10&clarity=7&fairness=9&outcome=yes&contacts=1&comment={}",
        encode("Très bon service, merci!")
    );
    let (status, html) = post(&app, &link, &body).await;
    assert_eq!(status, Status::Ok, "{html}");
    assert!(html.contains("Merci!"), "{html}");

    let stored = responses(&app).await;
    assert_eq!(stored.len(), 1);
    let response = &stored[0];
    assert_eq!(response.invitation_id, Some(link.invitation_id));
    assert_eq!((response.overall_score, response.score_courtesy, response.score_competence), (9, None, Some(10)));
    assert_eq!(response.weight, 4.0, "1/π");
    assert_eq!((response.questionnaire_version, response.completion.as_str()), (Some(2), "complete"));
    assert_eq!((response.stratum.as_str(), response.source.as_str()), ("TP:phone", "survey"));
    assert_eq!(response.request_closed_at, Some(now() - Duration::days(3)), "its weighting class");
    assert_eq!(response.comment.as_deref(), Some("Très bon service, merci!"));
    let answers = response.answers.clone().unwrap();
    assert_eq!(
        (answers["outcome"].as_str(), answers["contacts"].as_str(), answers["courtesy"].as_str()),
        (Some("yes"), Some("1"), Some("na"))
    );
    let invitation = invitation::Entity::find_by_id(link.invitation_id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(
        (invitation.state.as_str(), invitation.responded_at, invitation.token_salt),
        ("answered", Some(now()), None)
    );

    // The roll-up counts it, in its month and class.
    let cells = satisfaction::db::repo::cells::rollup_rows(&app.db, satisfaction::db::repo::cells::Rollup::Monthly)
        .await
        .unwrap();
    let overall: Vec<_> = cells.iter().filter(|c| c.key.item.label() == "overall").collect();
    assert_eq!(overall.len(), 1);
    assert_eq!(
        (overall[0].key.period.as_str(), overall[0].key.class_month.as_str(), overall[0].key.score),
        ("2026-11", "2026-11", 9)
    );
    assert_eq!((overall[0].sums.n, overall[0].sums.sum_w), (1, 4.0));
    assert!(follow_up::Entity::find().all(&app.db).await.unwrap().is_empty(), "a happy citizen: no follow-up");

    // A second submission changes nothing; the link now says it was answered.
    let (status, html) = post(&app, &link, &body).await;
    assert_eq!(status, Status::Conflict);
    assert!(html.contains("Déjà répondu"), "{html}");
    let page = app.client.get(link.path()).dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    assert!(page.into_string().await.unwrap().contains("a déjà reçu une réponse"));
    assert_eq!(responses(&app).await.len(), 1);
}

async fn each_bad_field_is_refused_with_its_message(backend: Backend) {
    let (app, reference) = app(backend, |f| f).await;
    let link = invited(&app, &reference, "REQ-1", "en").await;
    let token = csrf(&app, &link).await;
    let long = "é".repeat(2001);
    for (fields, message) in [
        (String::new(), "Please answer this question."),
        ("overall=11".to_owned(), "Choose a score from 0 to 10."),
        ("overall=-1".to_owned(), "Choose a score from 0 to 10."),
        ("overall=na".to_owned(), "Choose a score from 0 to 10."),
        ("overall=8&timeliness=ten".to_owned(), "Choose a score from 0 to 10."),
        ("overall=8&outcome=maybe".to_owned(), "Choose one of the answers offered."),
        ("overall=8&contacts=7".to_owned(), "Choose one of the answers offered."),
        (format!("overall=8&comment={}", encode(&long)), "Your comment has 2001 characters; the limit is 2000."),
    ] {
        let (status, html) = post(&app, &link, &format!("csrf={token}&{fields}")).await;
        assert_eq!(status, Status::UnprocessableEntity, "{fields}");
        assert!(html.contains(message), "{fields}: {html}");
        assert!(html.contains("A few answers need correcting"), "{fields}");
    }
    // What was entered comes back, escaped.
    let (_, html) = post(
        &app,
        &link,
        &format!("csrf={token}&overall=&fairness=3&comment={}", encode("<script>alert(1)</script> ok")),
    )
    .await;
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; ok"), "{html}");
    assert!(
        html.contains("id=\"fairness-3\" name=\"fairness\" value=\"3\" checked"),
        "the answer entered stays ticked"
    );
    assert!(responses(&app).await.is_empty(), "nothing stored");
    // 2,000 two-byte characters are fine.
    let (status, _) = post(&app, &link, &format!("csrf={token}&overall=8&comment={}", encode(&"é".repeat(2000)))).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(responses(&app).await[0].completion, "partial", "drivers left out");
}

async fn forms_without_their_token_are_refused(backend: Backend) {
    let (app, reference) = app(backend, |f| f).await;
    let link = invited(&app, &reference, "REQ-1", "fr").await;
    let other = invited(&app, &reference, "REQ-2", "fr").await;
    let others_token = csrf(&app, &other).await;
    for body in ["overall=9".to_owned(), format!("csrf={others_token}&overall=9"), "csrf=zz&overall=9".to_owned()] {
        let (status, _) = post(&app, &link, &body).await;
        assert_eq!(status, Status::Forbidden, "{body}");
    }
    assert!(responses(&app).await.is_empty());
}

async fn fifty_concurrent_submissions_store_one_response(backend: Backend) {
    let (app, reference) = app(backend, |f| f).await;
    let link = invited(&app, &reference, "REQ-1", "fr").await;
    let body = format!("csrf={}&overall=7", csrf(&app, &link).await);
    let requests = (0..50).map(|_| post(&app, &link, &body));
    let statuses: Vec<Status> = futures_util::future::join_all(requests).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == Status::Ok).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == Status::Conflict).count(), 49, "{statuses:?}");
    assert_eq!(responses(&app).await.len(), 1);
    let cells = satisfaction::db::repo::cells::rollup_rows(&app.db, satisfaction::db::repo::cells::Rollup::Daily)
        .await
        .unwrap();
    assert_eq!(cells.iter().filter(|c| c.key.item.label() == "overall").map(|c| c.sums.n).sum::<i64>(), 1);
}

async fn unknown_expired_and_closed_links_get_their_pages(backend: Backend) {
    let (app, reference) = app(backend, |f| f).await;
    let unknown = app.client.get("/s/0123456789abcdef0123456789abcdef").dispatch().await;
    assert_eq!(unknown.status(), Status::NotFound);
    assert!(unknown.into_string().await.unwrap().contains("Lien introuvable"));
    assert_eq!(app.client.get("/s/not-a-token").dispatch().await.status(), Status::NotFound);

    let link = invited(&app, &reference, "REQ-1", "fr").await;
    let body = format!("csrf={}&overall=7", csrf(&app, &link).await);
    app.jobs.clock.advance(Duration::days(12));
    let expired = app.client.get(link.path()).dispatch().await;
    assert_eq!(expired.status(), Status::Gone, "expired at expires_at, even before the dispatcher marks it");
    assert!(expired.into_string().await.unwrap().contains("n’accepte plus de réponses"));
    let (status, _) = post(&app, &link, &body).await;
    assert_eq!(status, Status::Gone);

    let opted_out = invited(&app, &reference, "REQ-2", "fr").await;
    satisfaction::db::repo::outbox::end_invitations(&app.db, &[opted_out.invitation_id], "opted_out").await.unwrap();
    assert_eq!(app.client.get(opted_out.path()).dispatch().await.status(), Status::Gone);
    assert!(responses(&app).await.is_empty());
}

async fn the_language_is_the_citizens_choice_then_the_invitations(backend: Backend) {
    let (app, reference) = app(backend, |f| f).await;
    let english = invited(&app, &reference, "REQ-EN", "en").await;
    let french = invited(&app, &reference, "REQ-FR", "fr").await;
    let html = |r: String| r;
    let page = app.client.get(english.path()).dispatch().await.into_string().await.unwrap();
    assert!(page.contains("lang=\"en-CA\"") && page.contains("Send my answers"), "the invitation's language");
    let page = html(app.client.get(french.path()).dispatch().await.into_string().await.unwrap());
    assert!(page.contains("Envoyer mes réponses"));
    // An explicit choice wins, and is remembered.
    let page = app.client.get(format!("{}?lang=fr", english.path())).dispatch().await.into_string().await.unwrap();
    assert!(page.contains("lang=\"fr-CA\""));
    let page = app.client.get(english.path()).dispatch().await.into_string().await.unwrap();
    assert!(page.contains("lang=\"fr-CA\""), "the cookie remembers the choice");
    let page =
        app.client.get(french.path()).cookie(Cookie::new("lang", "en")).dispatch().await.into_string().await.unwrap();
    assert!(page.contains("lang=\"en-CA\""));
}

async fn low_scores_with_a_comment_and_outcomes_no_are_followed_up(backend: Backend) {
    let (app, reference) = app(backend, |f| f).await;
    let cases = [
        ("overall=6&comment=Trop+long&follow_up=on", Some(("low_score", true))),
        ("overall=3&comment=Personne+ne+rappelle", Some(("low_score", false))),
        ("overall=2", None),
        ("overall=7&comment=Correct", None),
        ("overall=8&outcome=no", Some(("outcome_no", false))),
        ("overall=9&outcome=partly&follow_up=on", None),
    ];
    for (i, (fields, expected)) in cases.iter().enumerate() {
        let link = invited(&app, &reference, &format!("REQ-{i}"), "fr").await;
        let (status, html) = post(&app, &link, &format!("csrf={}&{fields}", csrf(&app, &link).await)).await;
        assert_eq!(status, Status::Ok, "{fields}: {html}");
        let stored = response::Entity::find().all(&app.db).await.unwrap();
        let response = stored.iter().find(|r| r.invitation_id == Some(link.invitation_id)).unwrap();
        let item =
            follow_up::Entity::find().all(&app.db).await.unwrap().into_iter().find(|f| f.response_id == response.id);
        let got = item.as_ref().map(|f| (f.reason.as_str(), f.contact_requested));
        assert_eq!(got, *expected, "{fields}");
        if let Some(item) = item {
            assert_eq!((item.status.as_str(), item.direction_id), ("todo", response.direction_id));
        }
    }
}

async fn unknown_links_are_limited_per_address_valid_ones_never(backend: Backend) {
    let (app, reference) = app(backend, |f| f.merge(("survey.unknown_token_lookups_per_minute", 3))).await;
    let link = invited(&app, &reference, "REQ-1", "fr").await;
    for _ in 0..3 {
        assert_eq!(app.client.get("/s/0123456789abcdef0123456789abcdef").dispatch().await.status(), Status::NotFound);
    }
    let limited = app.client.get("/s/fedcba9876543210fedcba9876543210").dispatch().await;
    assert_eq!(limited.status(), Status::TooManyRequests);
    assert_eq!(limited.headers().get_one("Retry-After"), Some("60"));
    assert_eq!(app.client.get(link.path()).dispatch().await.status(), Status::Ok, "a valid link is never limited");
    app.jobs.clock.advance(Duration::seconds(61));
    assert_eq!(app.client.get("/s/0123456789abcdef0123456789abcdef").dispatch().await.status(), Status::NotFound);
}

on_both_databases!(
    a_valid_answer_is_stored_once_with_its_weight_and_cell,
    each_bad_field_is_refused_with_its_message,
    forms_without_their_token_are_refused,
    fifty_concurrent_submissions_store_one_response,
    unknown_expired_and_closed_links_get_their_pages,
    the_language_is_the_citizens_choice_then_the_invitations,
    low_scores_with_a_comment_and_outcomes_no_are_followed_up,
    unknown_links_are_limited_per_address_valid_ones_never,
);
