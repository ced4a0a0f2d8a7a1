//! Delivery against real peers, on both databases: an SMTP server on loopback (aiosmtpd), an
//! HTTP server standing for an SMS gateway, the file transport; reminders and expiry on a fixed
//! clock; opt-out; two dispatchers at once; a dispatcher that dies mid-batch; the purge.

mod support;

use chrono::Duration;
use mail_parser::MessageParser;
use rocket::http::{ContentType, Status};
use satisfaction::db::entities::{opt_out, response};
use satisfaction::domain::SurveyToken;
use sea_orm::EntityTrait;

use crate::factories::{RequestRow, response_row};
use crate::helpers::Backend;
use crate::on_both_databases;
use support::{SmtpSink, Webhook, city, free_port, request, smtp_to, t0};

fn header<'a>(message: &'a mail_parser::Message<'a>, name: &str) -> String {
    message.header_raw(name).unwrap_or_else(|| panic!("no {name} header")).trim().to_owned()
}

/// The server received `count` messages, no two with the same `Message-ID`.
fn assert_each_sent_once(smtp: &SmtpSink, count: usize) {
    let messages = smtp.messages();
    let ids: std::collections::BTreeSet<String> = messages
        .iter()
        .map(|raw| MessageParser::default().parse(raw.as_bytes()).unwrap().message_id().unwrap().to_owned())
        .collect();
    assert_eq!((messages.len(), ids.len()), (count, count), "each message once");
}

/// The survey token in a message's text (the last path segment of its `/s/` link).
fn token_in(text: &str) -> SurveyToken {
    let at = text.find("/s/").expect("a survey link");
    SurveyToken::parse(&text[at + 3..at + 35]).expect("a token in the link")
}

async fn invitations_arrive_with_their_language_link_and_headers(backend: Backend) {
    let smtp = SmtpSink::start(0);
    let rows = vec![request("REQ-FR-1", "fr"), request("REQ-EN-1", "en")];
    let city = city(backend, rows, |f| smtp.configure(f)).await;
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!((report.sent, report.failed, report.retried), (2, 0, 0), "{report}");

    let raw = smtp.messages();
    assert_eq!(raw.len(), 2);
    let invitations = city.invitations().await;
    for raw in &raw {
        let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
        let text = message.body_text(0).unwrap().to_string();
        let html = message.body_html(0).unwrap().to_string();
        let to = message.to().unwrap().first().unwrap().address().unwrap().to_owned();
        let french = to.starts_with("REQ-FR-1");
        let subject = message.subject().unwrap();
        if french {
            assert_eq!(subject, "Ville de Québec — votre avis sur la demande REQ-FR-1");
            assert!(text.contains("Répondre au sondage : http://127.0.0.1:8000/s/"), "{text}");
            assert!(text.contains("valide jusqu’au 30 novembre 2026"), "expiry in French, city time: {text}");
            assert_eq!(header(&message, "Content-Language"), "fr-CA");
            assert!(html.contains("lang=\"fr-CA\"") && html.contains("Répondre au sondage"));
        } else {
            assert_eq!(subject, "Ville de Québec — your opinion on request REQ-EN-1");
            assert!(text.contains("valid until November 30, 2026"), "{text}");
            assert_eq!(header(&message, "Content-Language"), "en-CA");
        }
        let token = token_in(&text);
        assert!(invitations.iter().any(|i| i.token_hash == token.hash()), "the link opens its invitation");
        // (HTML-escaped: "/" is "&#x2f;" in an attribute, which every reader decodes.)
        let unescaped = html.replace("&#x2f;", "/");
        assert!(unescaped.contains(&format!("/s/{}", token.as_str())), "the HTML part has the same link");
        let opt_out = format!("http://127.0.0.1:8000/opt-out/{}", token.as_str());
        assert_eq!(header(&message, "List-Unsubscribe"), format!("<{opt_out}>"));
        assert_eq!(header(&message, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
        assert_eq!(header(&message, "Auto-Submitted"), "auto-generated");
        let id = message.message_id().unwrap();
        assert!(id.starts_with("outbox-") && id.ends_with("@ville.example"), "{id}");
        assert!(!text.contains("@ville.example") || text.matches('@').count() == 0, "no address in the body");
    }

    // The invitations are sent, expire in 14 days, and each has its reminder waiting 5 days.
    for invitation in city.invitations().await {
        assert_eq!(invitation.state, "sent");
        assert_eq!(invitation.sent_at, Some(t0()));
        assert_eq!(invitation.expires_at, Some(t0() + Duration::days(14)));
        assert!(invitation.token_salt.is_some(), "kept for the reminder");
    }
    let outbox = city.outbox().await;
    let reminders: Vec<_> = outbox.iter().filter(|m| m.kind == "reminder").collect();
    assert_eq!(reminders.len(), 2);
    assert!(reminders.iter().all(|m| m.state == "pending" && m.next_attempt_at == t0() + Duration::days(5)));
    assert!(outbox.iter().all(|m| m.survey_link.is_none()), "no link at rest");

    // Nothing is due: a second pass sends nothing.
    let again = city.app.jobs.dispatch().await.unwrap();
    assert_eq!((again.sent, again.reminders_sent), (0, 0));
    assert_eq!(smtp.messages().len(), 2);
}

async fn temporary_failures_are_retried_then_delivered(backend: Backend) {
    let smtp = SmtpSink::start(2);
    let city = city(backend, vec![request("REQ-1", "fr")], |f| smtp.configure(f)).await;
    let first = city.app.jobs.dispatch().await.unwrap();
    assert_eq!((first.sent, first.retried), (0, 1), "{first}");
    let message = &city.outbox().await[0];
    assert_eq!((message.state.as_str(), message.attempts), ("pending", 1));
    assert!(message.last_error.as_deref().unwrap().contains("451"), "{:?}", message.last_error);
    // Back-off: 60 s ± 50 %, then 120 s ± 50 %.
    assert!(
        message.next_attempt_at >= t0() + Duration::seconds(30)
            && message.next_attempt_at <= t0() + Duration::seconds(90)
    );
    assert_eq!(city.app.jobs.dispatch().await.unwrap().retried, 0, "not before its time");
    city.advance(Duration::seconds(91));
    assert_eq!(city.app.jobs.dispatch().await.unwrap().retried, 1);
    city.advance(Duration::seconds(181));
    let last = city.app.jobs.dispatch().await.unwrap();
    assert_eq!(last.sent, 1, "{last}");
    assert_eq!(smtp.messages().len(), 1);
    let message = &city.outbox().await[0];
    assert_eq!((message.state.as_str(), message.attempts, message.last_error.as_deref()), ("sent", 3, None));
}

async fn permanent_failures_and_a_server_down(backend: Backend) {
    let port = free_port();
    let mut unknown = RequestRow::closed("REQ-UNKNOWN", t0() - Duration::days(1));
    unknown.email = Some("unknown.citizen@ville.example".into());
    let rows = vec![unknown, request("REQ-OK", "fr")];
    let city = city(backend, rows, |f| smtp_to(port, f).merge(("delivery.max_attempts", 3))).await;
    // Nobody listens: both are retried, with the reason.
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (0, 2, 0), "{report}");
    assert!(city.outbox().await.iter().all(|m| m.last_error.as_deref().is_some_and(|e| e.starts_with("SMTP"))));

    // The server comes up: the known mailbox gets its message, the unknown one fails at once.
    let smtp = SmtpSink::start_on(port, 0);
    city.advance(Duration::minutes(5));
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 1), "{report}");
    assert_eq!(smtp.messages().len(), 1);
    let failed = city.outbox().await.into_iter().find(|m| m.state == "failed").unwrap();
    let error = failed.last_error.unwrap();
    assert!(error.contains("550") && !error.contains('@'), "the reason, without the address: {error}");
    let invitation = city.invitations().await.into_iter().find(|i| i.id == failed.invitation_id).unwrap();
    assert_eq!((invitation.state.as_str(), invitation.token_salt), ("failed", None));
}

/// A server restarted between two passes closed the pooled connection: the next message goes
/// on a new one at once, not after a retry.
async fn a_restarted_server_costs_no_retry(backend: Backend) {
    let smtp = SmtpSink::start(0);
    let port = smtp.port;
    let city = city(backend, vec![request("REQ-1", "fr")], |f| smtp.configure(f)).await;
    assert_eq!(city.app.jobs.dispatch().await.unwrap().sent, 1);
    drop(smtp);
    // aiosmtpd needs a moment to free its port.
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let smtp = SmtpSink::start_on(port, 0);
    city.advance(Duration::days(5));
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!((report.reminders_sent, report.retried), (1, 0), "{report}");
    assert_eq!(smtp.messages().len(), 1);
}

/// A server that stays away: after `delivery.max_attempts` the message fails, with its last error.
async fn attempts_run_out(backend: Backend) {
    let port = free_port();
    let city =
        city(backend, vec![request("REQ-1", "fr")], |f| smtp_to(port, f).merge(("delivery.max_attempts", 3))).await;
    for attempt in 1..=3 {
        let report = city.app.jobs.dispatch().await.unwrap();
        assert_eq!((report.retried, report.failed), if attempt < 3 { (1, 0) } else { (0, 1) }, "{report}");
        city.advance(Duration::hours(1));
    }
    let message = &city.outbox().await[0];
    assert_eq!((message.state.as_str(), message.attempts), ("failed", 3));
    assert!(message.last_error.as_deref().unwrap().contains("after 3 attempts"));
    assert_eq!(city.invitations().await[0].state, "failed");
}

/// Two dispatchers at once on the same database (two server instances): each message is sent
/// exactly once.
async fn two_dispatchers_send_each_message_once(backend: Backend) {
    let smtp = SmtpSink::start(0);
    let rows: Vec<RequestRow> = (0..120).map(|i| request(&format!("REQ-{i:03}"), "fr")).collect();
    let city = city(backend, rows, |f| smtp.configure(f).merge(("delivery.batch_size", 15))).await;
    let jobs = &city.app.jobs;
    let other = satisfaction::jobs::Jobs::new(jobs.db.clone(), jobs.settings.clone(), city.clock.clone());
    let (a, b) = tokio::join!(jobs.dispatch(), other.dispatch());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, 120, "{a}{b}");
    assert_each_sent_once(&smtp, 120);
}

async fn reminders_and_expiry_fire_at_the_right_times(backend: Backend) {
    let rows = vec![request("REQ-A", "fr"), request("REQ-B", "en"), request("REQ-C", "fr")];
    let city = city(backend, rows, |f| f).await;
    assert_eq!(city.app.jobs.dispatch().await.unwrap().sent, 3);
    // B answers on day 2: no reminder for B.
    city.advance(Duration::days(2));
    let b = city.invitations().await.into_iter().nth(1).unwrap();
    let mut answer = response_row(b.direction_id, b.channel_id, &b.stratum, 9, 1.0, city.clock.now());
    answer.invitation_id = Some(b.id);
    satisfaction::responses::store::store(&city.app.db, city.app.jobs.settings.time_zone, answer).await.unwrap();
    let b = city.invitations().await.into_iter().nth(1).unwrap();
    assert_eq!((b.state.as_str(), b.token_salt.as_deref()), ("answered", None));

    city.advance(Duration::days(3) - Duration::minutes(1));
    assert_eq!(city.app.jobs.dispatch().await.unwrap().reminders_sent, 0, "not before day 5");
    city.advance(Duration::minutes(1));
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!((report.reminders_sent, report.sent), (2, 0), "{report}");
    let reminded: Vec<_> = city.invitations().await.into_iter().filter(|i| i.reminded_at.is_some()).collect();
    assert_eq!(reminded.len(), 2);
    let files: Vec<String> = std::fs::read_dir(city.files.path())
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(files.len(), 5, "three invitations and two reminders, as .eml files");
    let subjects: Vec<String> = files
        .iter()
        .map(|f| MessageParser::default().parse(f.as_bytes()).unwrap().subject().unwrap().to_owned())
        .collect();
    let reminders = subjects.iter().filter(|s| s.starts_with("Rappel : ") || s.starts_with("Reminder: ")).count();
    assert_eq!(reminders, 2, "{subjects:?}");
    let reminder_of_b = city.outbox().await.into_iter().find(|m| m.invitation_id == b.id && m.kind == "reminder");
    assert_eq!(reminder_of_b.map(|m| m.state), Some("cancelled".into()));

    // Day 14: the unanswered ones expire, and nothing more is sent.
    city.advance(Duration::days(9) - Duration::minutes(1));
    assert_eq!(city.app.jobs.dispatch().await.unwrap().expired, 0);
    city.advance(Duration::minutes(1));
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!(report.expired, 2, "{report}");
    let states: Vec<String> = city.invitations().await.into_iter().map(|i| i.state).collect();
    assert_eq!(states, ["expired", "answered", "expired"]);
    assert!(city.invitations().await.iter().all(|i| i.token_salt.is_none()), "no link can be rebuilt");
}

async fn an_opt_out_stops_everything(backend: Backend) {
    let city = city(backend, vec![request("REQ-1", "en"), request("REQ-2", "fr")], |f| f).await;
    assert_eq!(city.app.jobs.dispatch().await.unwrap().sent, 2);
    let eml = std::fs::read_dir(city.files.path())
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .find(|f| f.contains("REQ-1"))
        .unwrap();
    let message = MessageParser::default().parse(eml.as_bytes()).unwrap();
    let token = token_in(&message.body_text(0).unwrap());
    let path = format!("/opt-out/{}", token.as_str());

    // The page (in the invitation's language) changes nothing; a POST without its token is refused.
    let page = city.app.client.get(&path).dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let html = page.into_string().await.unwrap();
    assert!(html.contains("Stop receiving surveys") && html.contains("name=\"csrf\""), "{html}");
    assert_eq!(opt_out::Entity::find().all(&city.app.db).await.unwrap().len(), 0, "a GET changes nothing");
    let forged = city.app.client.post(&path).header(ContentType::Form).body("csrf=00").dispatch().await;
    assert_eq!(forged.status(), Status::Forbidden);

    // A mail client's one-click POST (RFC 8058), twice: recorded once.
    for _ in 0..2 {
        let response =
            city.app.client.post(&path).header(ContentType::Form).body("List-Unsubscribe=One-Click").dispatch().await;
        assert_eq!(response.status(), Status::Ok);
        assert!(response.into_string().await.unwrap().contains("You will receive no more"));
    }
    let opt_outs = opt_out::Entity::find().all(&city.app.db).await.unwrap();
    assert_eq!(opt_outs.len(), 1);
    assert_eq!(opt_outs[0].contact_hash, "hash-REQ-1");
    let invitations = city.invitations().await;
    assert_eq!((invitations[0].state.as_str(), invitations[1].state.as_str()), ("opted_out", "sent"));
    city.advance(Duration::days(5));
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!(report.reminders_sent, 1, "only the other citizen is reminded: {report}");

    // Unknown links look alike; the page's own form works too.
    let unknown = city.app.client.get("/opt-out/0123456789abcdef0123456789abcdef").dispatch().await;
    assert_eq!(unknown.status(), Status::Ok);
    let garbage = city.app.client.get("/opt-out/not-a-token").dispatch().await;
    assert_eq!(garbage.status(), Status::Ok);
    let html = city.app.client.get(&path).dispatch().await.into_string().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let confirmed = city.app.client.post(&path).header(ContentType::Form).body(format!("csrf={csrf}")).dispatch().await;
    assert_eq!(confirmed.status(), Status::Ok);
}

async fn text_messages_go_to_the_webhook(backend: Backend) {
    let webhook = Webhook::start(vec![503]).await;
    let mut phone_only = RequestRow::closed("REQ-SMS", t0() - Duration::days(1));
    (phone_only.email, phone_only.phone) = (None, Some("+14185550134".into()));
    let url = webhook.url.clone();
    let city = city(backend, vec![phone_only], move |f| {
        f.merge(("sampling.sms_enabled", true))
            .merge(("delivery.sms_transport", "webhook"))
            .merge(("delivery.webhook.url", url))
            .merge(("delivery.webhook.token", "gateway-secret"))
    })
    .await;
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!(report.retried, 1, "503 is temporary: {report}");
    city.advance(Duration::minutes(2));
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!(report.sent, 1, "{report}");
    let received = webhook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let sms = &received[1];
    assert_eq!(sms.authorization.as_deref(), Some("Bearer gateway-secret"));
    assert_eq!(sms.body["to"], "+14185550134");
    let body = sms.body["body"].as_str().unwrap();
    assert!(body.chars().count() <= 160 && body.contains("/s/") && body.contains("REQ-SMS"), "{body}");
    assert!(sms.body["message_id"].as_str().unwrap().starts_with("<outbox-"));
    assert_eq!(received[0].body["message_id"], sms.body["message_id"], "the same message, tried again");
}

/// A dispatcher that claims a batch and dies leaves it to the next pass once its lease runs out;
/// nothing is lost and nothing is sent twice.
async fn a_dispatcher_killed_mid_batch_loses_nothing(backend: Backend) {
    let smtp = SmtpSink::start(0);
    let rows: Vec<RequestRow> = (0..30).map(|i| request(&format!("REQ-{i:02}"), "fr")).collect();
    let city = city(backend, rows, |f| smtp.configure(f).merge(("delivery.batch_size", 10))).await;
    // The dead dispatcher: ten messages claimed, never sent, never recorded.
    let now = city.clock.now();
    let claimed =
        satisfaction::db::repo::outbox::claim(&city.app.db, now, now + Duration::minutes(5), 10).await.unwrap();
    assert_eq!(claimed.len(), 10);
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!(report.sent, 20, "the others go now: {report}");
    city.advance(Duration::minutes(6));
    let report = city.app.jobs.dispatch().await.unwrap();
    assert_eq!(report.sent, 10, "the dead one's after its lease: {report}");
    assert_each_sent_once(&smtp, 30);
}

/// After the purge no contact e-mail or phone of a finished survey remains in any table (every
/// table dumped as text), while the statistics, opt-outs and quarantine keep working.
async fn the_purge_leaves_no_contact_behind(backend: Backend) {
    let mut rows: Vec<RequestRow> = (0..4).map(|i| request(&format!("REQ-P{i}"), "fr")).collect();
    rows[3].phone = Some("+14185550199".into());
    let city = city(backend, rows, |f| f).await;
    assert_eq!(city.app.jobs.dispatch().await.unwrap().sent, 4);
    // One answers, one opts out, the others expire.
    let invitations = city.invitations().await;
    let mut answer =
        response_row(invitations[0].direction_id, invitations[0].channel_id, &invitations[0].stratum, 8, 1.0, t0());
    answer.invitation_id = Some(invitations[0].id);
    satisfaction::responses::store::store(&city.app.db, city.app.jobs.settings.time_zone, answer).await.unwrap();
    satisfaction::db::repo::outbox::opt_out(&city.app.db, "hash-REQ-P1", "page", t0()).await.unwrap();
    city.advance(Duration::days(15));
    city.app.jobs.dispatch().await.unwrap();
    // Too early: the surveys ended less than 30 days ago.
    assert_eq!(city.app.jobs.purge("test").await.unwrap().contacts_erased, 0);
    city.advance(Duration::days(30));
    // A request closed yesterday and not yet sampled keeps its contact: it may still be invited.
    let reference = crate::factories::Reference {
        directions: std::collections::HashMap::from([("TP".to_owned(), city.invitations().await[0].direction_id)]),
        channels: std::collections::HashMap::from([("phone".to_owned(), city.invitations().await[0].channel_id)]),
    };
    let recent = RequestRow::closed("REQ-RECENT", city.clock.now() - Duration::days(1));
    crate::factories::insert_requests(&city.app.db, &reference, &[recent]).await;
    let report = city.app.jobs.purge("test").await.unwrap();
    assert_eq!(report.contacts_erased, 4, "{report}");
    let dump = dump_every_table(&city.app.db).await;
    assert!(dump.contains("REQ-RECENT@ville.example"), "the recent request keeps its contact");
    satisfaction::db::repo::retention::erase_contacts(
        &city.app.db,
        city.clock.now(),
        city.clock.now(),
        city.clock.now(),
    )
    .await
    .unwrap();

    let dump = dump_every_table(&city.app.db).await;
    for contact in ["@ville.example", "4185550199"] {
        assert!(!dump.contains(contact), "{contact} still in the database:\n{dump}");
    }
    assert!(dump.contains("hash-REQ-P1"), "contact hashes stay (opt-out, quarantine)");
    let responses = response::Entity::find().all(&city.app.db).await.unwrap();
    assert_eq!(responses.len(), 1, "the statistics keep their response");
    assert_eq!(opt_out::Entity::find().all(&city.app.db).await.unwrap().len(), 1);
    let audit = dump.contains("retention.purge");
    assert!(audit, "the purge is in the audit log");
}

/// Every row of every table, as text.
async fn dump_every_table(db: &sea_orm::DatabaseConnection) -> String {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = db.get_database_backend();
    let list = if backend == DbBackend::Postgres {
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    };
    let tables: Vec<String> = db
        .query_all_raw(Statement::from_string(backend, list))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect();
    let mut dump = String::new();
    for table in tables {
        let sql = if backend == DbBackend::Postgres {
            format!("SELECT row_to_json(t)::text FROM \"{table}\" t")
        } else {
            // Every column as text, whatever it holds.
            let columns: Vec<String> = db
                .query_all_raw(Statement::from_string(backend, format!("PRAGMA table_info(\"{table}\")")))
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String>("", "name").unwrap())
                .collect();
            let cast: Vec<String> = columns.iter().map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '')")).collect();
            format!("SELECT {} FROM \"{table}\"", cast.join(" || '|' || "))
        };
        for row in db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap() {
            dump.push_str(&table);
            dump.push_str(": ");
            dump.push_str(&row.try_get_by_index::<String>(0).unwrap_or_default());
            dump.push('\n');
        }
    }
    dump
}

async fn the_delivery_figures_say_what_happened(backend: Backend) {
    let smtp = SmtpSink::start(0);
    let mut unknown = RequestRow::closed("REQ-X", t0() - Duration::days(1));
    unknown.email = Some("unknown.x@ville.example".into());
    let city = city(backend, vec![request("REQ-1", "fr"), unknown], |f| smtp.configure(f)).await;
    let key = city.app.api_key().await;
    let (status, before) = city.app.get_json(&key, "/api/v1/delivery").await;
    assert_eq!(status, Status::Ok, "{before}");
    assert_eq!(before["oldest_due_seconds"], 0);
    city.app.jobs.dispatch().await.unwrap();
    let (_, after) = city.app.get_json(&key, "/api/v1/delivery").await;
    let messages = after["messages"].as_array().unwrap();
    let count = |kind: &str, state: &str| {
        messages.iter().find(|m| m["kind"] == kind && m["state"] == state).map(|m| m["count"].as_i64().unwrap())
    };
    assert_eq!(
        (count("invitation", "sent"), count("invitation", "failed"), count("reminder", "pending")),
        (Some(1), Some(1), Some(1))
    );
    assert!(after["failures"][0]["reason"].as_str().unwrap().contains("550"), "{after}");
    assert_eq!(after["sent_per_day"][0]["day"], "2026-11-16");
    assert!(!after.to_string().contains('@'), "no address in the figures");
    let (status, _) = city.app.get_json(&key, "/api/v1/delivery?x=1").await;
    assert_eq!(status, Status::BadRequest);
}

on_both_databases!(
    invitations_arrive_with_their_language_link_and_headers,
    temporary_failures_are_retried_then_delivered,
    permanent_failures_and_a_server_down,
    attempts_run_out,
    a_restarted_server_costs_no_retry,
    two_dispatchers_send_each_message_once,
    reminders_and_expiry_fire_at_the_right_times,
    an_opt_out_stops_everything,
    text_messages_go_to_the_webhook,
    a_dispatcher_killed_mid_batch_loses_nothing,
    the_purge_leaves_no_contact_behind,
    the_delivery_figures_say_what_happened,
);
