//! Logging in, on both databases: sessions and their cookie, lock-outs and their end, session
//! expiry on a fixed clock, a disabled user's session, logout, form tokens; the statistics API
//! with a session (a scoped viewer sees only their direction) and API key scopes.

use chrono::{DateTime, Duration, Utc};
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use satisfaction::accounts::{self, NewUser};
use satisfaction::clock::Clock;
use satisfaction::domain::{Email, Role};

use crate::factories::{Reference, response_row};
use crate::helpers::{Backend, TestApp, spawn_app_at};
use crate::on_both_databases;

pub(crate) const PASSWORD: &str = "une phrase de passe assez longue";

fn now() -> DateTime<Utc> {
    "2026-11-20T15:00:00Z".parse().unwrap()
}

async fn app(backend: Backend) -> TestApp {
    let app = spawn_app_at(backend, Clock::fixed(now()), |f| f).await;
    Reference::with_directions(&app.db, &["TP", "ENV"]).await;
    for (email, role, direction) in [
        ("admin@ville.example", Role::Admin, None),
        ("analyste@ville.example", Role::Analyst, None),
        ("tp@ville.example", Role::Viewer, Some("TP")),
    ] {
        let new_user = NewUser {
            email: Email::parse(email).unwrap(),
            password: PASSWORD.into(),
            role,
            direction_code: direction.map(str::to_owned),
        };
        accounts::create_user(&app.db, new_user, "test", now()).await.unwrap();
    }
    app
}

/// The login form's token, from the page (and its cookie, kept by the client).
async fn login_token(client: &Client) -> String {
    let html = client.get("/login").dispatch().await.into_string().await.unwrap();
    html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

pub(crate) async fn login(client: &Client, email: &str, password: &str) -> (Status, Option<String>, String) {
    let token = login_token(client).await;
    let body = format!("csrf={token}&email={}&password={}", encode(email), encode(password));
    let response = client.post("/login").header(ContentType::Form).body(body).dispatch().await;
    let cookie = response.headers().get("Set-Cookie").find(|c| c.starts_with("session=")).map(str::to_owned);
    (response.status(), cookie, response.into_string().await.unwrap_or_default())
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn account_status(client: &Client) -> Status {
    client.get("/account").dispatch().await.status()
}

async fn a_login_opens_a_session_with_safe_cookie_flags(backend: Backend) {
    let app = app(backend).await;
    assert_eq!(account_status(&app.client).await, Status::SeeOther, "anonymous: to the login page");
    let (status, cookie, _) = login(&app.client, "Admin@Ville.example", PASSWORD).await;
    assert_eq!(status, Status::SeeOther);
    let cookie = cookie.expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "http public_base_url: not Secure");
    let page = app.client.get("/account").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    assert!(page.into_string().await.unwrap().contains("admin@ville.example"));
    // Logout needs its form token.
    assert_eq!(
        app.client.post("/logout").header(ContentType::Form).body("csrf=00").dispatch().await.status(),
        Status::Forbidden
    );
    logout(&app.client).await;
    assert_eq!(account_status(&app.client).await, Status::SeeOther, "the session has ended");
    // A login form without its token is refused.
    let forged = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body(format!("email=admin%40ville.example&password={}", encode(PASSWORD)))
        .dispatch()
        .await;
    assert_eq!(forged.status(), Status::Forbidden);
}

/// Behind https (or a TLS proxy, `auth.secure_cookies`), the session cookie is `Secure`.
async fn the_session_cookie_is_secure_behind_https(backend: Backend) {
    let app =
        spawn_app_at(backend, Clock::fixed(now()), |f| f.merge(("public_base_url", "https://sondage.ville.example/")))
            .await;
    let new_user = NewUser {
        email: Email::parse("admin@ville.example").unwrap(),
        password: PASSWORD.into(),
        role: Role::Admin,
        direction_code: None,
    };
    accounts::create_user(&app.db, new_user, "test", now()).await.unwrap();
    let (status, cookie, _) = login(&app.client, "admin@ville.example", PASSWORD).await;
    assert_eq!(status, Status::SeeOther);
    assert!(cookie.unwrap().contains("Secure"));
}

async fn unknown_e_mails_and_wrong_passwords_look_alike_and_lock(backend: Backend) {
    let app = app(backend).await;
    let (status_unknown, _, unknown) = login(&app.client, "personne@ville.example", "n'importe quoi du tout").await;
    let (status_wrong, _, wrong) = login(&app.client, "analyste@ville.example", "n'importe quoi du tout").await;
    assert_eq!((status_unknown, status_wrong), (Status::Unauthorized, Status::Unauthorized));
    let message = |page: &str| page.split("role=\"alert\"><p>").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(message(&unknown), message(&wrong));
    assert_eq!(message(&wrong), "Adresse courriel ou mot de passe incorrect.");
    // Four more failures: the account is locked, even for the right password...
    for _ in 0..4 {
        login(&app.client, "analyste@ville.example", "encore une mauvaise phrase").await;
    }
    let (status, cookie, page) = login(&app.client, "analyste@ville.example", PASSWORD).await;
    assert_eq!((status, cookie), (Status::TooManyRequests, None));
    assert!(page.contains("Trop de tentatives"));
    // ...for 15 minutes.
    app.jobs.clock.advance(Duration::minutes(16));
    let (status, _, _) = login(&app.client, "analyste@ville.example", PASSWORD).await;
    assert_eq!(status, Status::SeeOther);
    let audit = satisfaction::db::entities::audit_log::Entity::find().all(&app.db).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    for action in ["login.failure", "login.lockout", "login.locked", "login.success"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let text = format!("{:?}", audit.iter().map(|a| &a.details).collect::<Vec<_>>());
    assert!(!text.contains(PASSWORD) && !text.contains("mauvaise"), "no password in the audit log");
}

async fn one_address_trying_many_accounts_is_locked(backend: Backend) {
    let app = app(backend).await;
    for i in 0..20 {
        let (status, _, _) = login(&app.client, &format!("inconnu{i}@ville.example"), "pas le bon mot de passe").await;
        assert_eq!(status, Status::Unauthorized);
    }
    let (status, _, _) = login(&app.client, "admin@ville.example", PASSWORD).await;
    assert_eq!(status, Status::TooManyRequests, "the address is locked, whatever the account");
}

async fn sessions_end_when_idle_at_their_end_and_when_the_user_is_disabled(backend: Backend) {
    let app = app(backend).await;
    login(&app.client, "analyste@ville.example", PASSWORD).await;
    app.jobs.clock.advance(Duration::minutes(29));
    assert_eq!(account_status(&app.client).await, Status::Ok, "used within 30 minutes");
    app.jobs.clock.advance(Duration::minutes(31));
    assert_eq!(account_status(&app.client).await, Status::SeeOther, "idle 31 minutes: ended");

    login(&app.client, "analyste@ville.example", PASSWORD).await;
    for _ in 0..(12 * 3 - 1) {
        app.jobs.clock.advance(Duration::minutes(20));
        assert_eq!(account_status(&app.client).await, Status::Ok);
    }
    app.jobs.clock.advance(Duration::minutes(21));
    assert_eq!(account_status(&app.client).await, Status::SeeOther, "12 hours after the login: ended");

    login(&app.client, "analyste@ville.example", PASSWORD).await;
    assert_eq!(account_status(&app.client).await, Status::Ok);
    accounts::disable_user(&app.db, "analyste@ville.example", "test", app.jobs.clock.now()).await.unwrap();
    assert_eq!(account_status(&app.client).await, Status::SeeOther, "disabled: the open session stops");
    let (status, _, _) = login(&app.client, "analyste@ville.example", PASSWORD).await;
    assert_eq!(status, Status::Unauthorized);
}

async fn a_scoped_viewer_sees_only_their_direction(backend: Backend) {
    let app = app(backend).await;
    let reference = Reference::load(&app.db).await;
    let zone = app.jobs.settings.time_zone;
    for (direction, score) in [("TP", 9), ("TP", 8), ("ENV", 3)] {
        let row = response_row(
            reference.direction(direction),
            reference.channel("phone"),
            &format!("{direction}:phone"),
            score,
            1.0,
            now(),
        );
        satisfaction::responses::store::store(&app.db, zone, row).await.unwrap();
    }
    login(&app.client, "tp@ville.example", PASSWORD).await;
    let stats = app.client.get("/api/v1/stats?by=direction&min_n=0").dispatch().await;
    assert_eq!(stats.status(), Status::Ok);
    let body: serde_json::Value = serde_json::from_str(&stats.into_string().await.unwrap()).unwrap();
    let directions: Vec<&str> =
        body["groups"].as_array().unwrap().iter().map(|g| g["direction"].as_str().unwrap()).collect();
    assert_eq!(directions, ["TP"], "{body}");
    assert_eq!(body["overall"]["n"], 2, "the overall figure is TP's too");
    for path in [
        "/api/v1/stats?direction=ENV",
        "/api/v1/stats/drivers?direction=ENV",
        "/api/v1/stats/compare?by=channel&direction=ENV",
    ] {
        assert_eq!(app.client.get(path).dispatch().await.status(), Status::Forbidden, "{path}");
    }
    assert_eq!(app.client.get("/api/v1/sampling-runs").dispatch().await.status(), Status::Forbidden, "not an admin");

    // An administrator's session runs the operations and sees every direction.
    logout(&app.client).await;
    login(&app.client, "admin@ville.example", PASSWORD).await;
    assert_eq!(app.client.get("/api/v1/sampling-runs").dispatch().await.status(), Status::Ok);
    let body = app.client.get("/api/v1/stats?by=direction&min_n=0").dispatch().await.into_string().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["groups"].as_array().unwrap().len(), 2);
}

pub(crate) async fn logout(client: &Client) {
    let html = client.get("/account").dispatch().await.into_string().await.unwrap();
    let token = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let out = client.post("/logout").header(ContentType::Form).body(format!("csrf={token}")).dispatch().await;
    assert_eq!(out.status(), Status::SeeOther);
}

async fn api_keys_are_limited_to_their_scope(backend: Backend) {
    let app = app(backend).await;
    let (_, read) = accounts::create_scoped_api_key(&app.db, "tableau de bord", "read", "test", now()).await.unwrap();
    let (_, ingest) = accounts::create_scoped_api_key(&app.db, "CRM", "ingest", "test", now()).await.unwrap();
    let all = app.api_key().await;
    let body = r#"[{"service_request_id":"R-1","status":"closed","agency_responsible":"TP","channel":"phone","closed_datetime":"2026-11-19T10:00:00-05:00"}]"#;
    let (status, _) = app.post_requests(&read, body).await;
    assert_eq!(status, Status::Forbidden, "a read key sends no requests");
    let (status, _) = app.post_requests(&ingest, body).await;
    assert_eq!(status, Status::Ok);
    let (status, _) = app.get_json(&ingest, "/api/v1/stats").await;
    assert_eq!(status, Status::Forbidden, "an ingest key reads no statistics");
    let (status, _) = app.get_json(&read, "/api/v1/stats").await;
    assert_eq!(status, Status::Ok);
    for path in ["/api/v1/sampling-runs", "/api/v1/delivery", "/api/v1/ingestion-errors"] {
        assert_eq!(app.get_json(&read, path).await.0, Status::Forbidden, "{path}");
        assert_eq!(app.get_json(&all, path).await.0, Status::Ok, "{path}");
    }
    // Revoked: refused.
    let prefix = read.split('_').nth(1).unwrap().to_owned();
    accounts::revoke_api_key(&app.db, &prefix, "test", now()).await.unwrap();
    assert_eq!(app.get_json(&read, "/api/v1/stats").await.0, Status::Unauthorized);
}

use sea_orm::EntityTrait;

/// Each kind of caller reaches exactly what it may: every page and endpoint, anonymous, as a
/// viewer, an analyst and an administrator (sessions), and with keys of each scope.
async fn each_caller_reaches_exactly_what_it_may(backend: Backend) {
    let app = app(backend).await;
    let (_, read_key) = accounts::create_scoped_api_key(&app.db, "lecture", "read", "test", now()).await.unwrap();
    let (_, ingest_key) = accounts::create_scoped_api_key(&app.db, "CRM", "ingest", "test", now()).await.unwrap();
    let all_key = app.api_key().await;
    const OPS: [&str; 7] = [
        "/ops",
        "/ops/users",
        "/ops/api-keys",
        "/ops/sampling-runs",
        "/ops/delivery",
        "/ops/ingestion-errors",
        "/ops/audit",
    ];
    const READ: [&str; 4] =
        ["/api/v1/stats", "/api/v1/stats/drivers", "/api/v1/stats/compare?by=channel", "/api/v1/stats/response-rates"];
    const OPERATE: [&str; 3] = ["/api/v1/sampling-runs", "/api/v1/delivery", "/api/v1/ingestion-errors"];
    // (who, then for OPS, READ, OPERATE: the status expected)
    let sessions = [
        (None, Status::SeeOther, Status::Unauthorized, Status::Unauthorized),
        (Some("tp@ville.example"), Status::Forbidden, Status::Ok, Status::Forbidden),
        (Some("analyste@ville.example"), Status::Forbidden, Status::Ok, Status::Forbidden),
        (Some("admin@ville.example"), Status::Ok, Status::Ok, Status::Ok),
    ];
    for (who, ops, read, operate) in sessions {
        if let Some(email) = who {
            login(&app.client, email, PASSWORD).await;
        }
        for path in OPS {
            let expected = if path == "/ops" && ops == Status::Ok { Status::SeeOther } else { ops };
            assert_eq!(app.client.get(path).dispatch().await.status(), expected, "{who:?} {path}");
        }
        for path in READ {
            assert_eq!(app.client.get(path).dispatch().await.status(), read, "{who:?} {path}");
        }
        for path in OPERATE {
            assert_eq!(app.client.get(path).dispatch().await.status(), operate, "{who:?} {path}");
        }
        // Sending requests takes a key, never a session.
        let post = app.client.post("/api/v1/requests").header(ContentType::JSON).body("[]").dispatch().await;
        assert_eq!(post.status(), Status::Unauthorized, "{who:?} POST /api/v1/requests");
        if who.is_some() {
            logout(&app.client).await;
        }
    }
    for (key, read, operate, ingest) in [
        (&read_key, Status::Ok, Status::Forbidden, Status::Forbidden),
        (&ingest_key, Status::Forbidden, Status::Forbidden, Status::Ok),
        (&all_key, Status::Ok, Status::Ok, Status::Ok),
    ] {
        for path in READ {
            assert_eq!(app.get_json(key, path).await.0, read, "{path}");
        }
        for path in OPERATE {
            assert_eq!(app.get_json(key, path).await.0, operate, "{path}");
        }
        assert_eq!(app.post_requests(key, "[]").await.0, ingest);
        for path in OPS {
            let page = app
                .client
                .get(path)
                .header(rocket::http::Header::new("Authorization", format!("Bearer {key}")))
                .dispatch()
                .await;
            assert_eq!(page.status(), Status::SeeOther, "pages need a session, not a key: {path}");
        }
    }
}

/// An administrator works the operations pages: a user created (their first password shown
/// once), their role changed, a new password, disabled; an API key created (shown once) and
/// revoked; every change in the audit log, no secret in it.
async fn administrators_work_the_operations_pages(backend: Backend) {
    let app = app(backend).await;
    login(&app.client, "admin@ville.example", PASSWORD).await;
    let page = app.client.get("/ops/users").dispatch().await.into_string().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let post = |path: &str, body: String| {
        let request = app.client.post(path.to_owned()).header(ContentType::Form).body(body);
        async move {
            let response = request.dispatch().await;
            (response.status(), response.into_string().await.unwrap_or_default())
        }
    };
    assert_eq!(
        post("/ops/users", "email=new%40ville.example&role=viewer".into()).await.0,
        Status::Forbidden,
        "no token"
    );
    let (status, html) =
        post("/ops/users", format!("csrf={csrf}&email=nouveau%40ville.example&role=viewer&direction=TP")).await;
    assert_eq!(status, Status::Ok, "{html}");
    let first = html.split("<code class=\"secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(first.len(), 32);
    let user = satisfaction::db::repo::users::find_by_email(&app.db, "nouveau@ville.example").await.unwrap().unwrap();
    let (status, _) =
        post(&format!("/ops/users/{}/role", user.id), format!("csrf={csrf}&role=analyst&direction=")).await;
    assert_eq!(status, Status::Ok);
    let (status, html) = post(&format!("/ops/users/{}/password", user.id), format!("csrf={csrf}")).await;
    assert_eq!(status, Status::Ok);
    let second = html.split("<code class=\"secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_ne!(first, second);
    assert!(
        !app.client.get("/ops/users").dispatch().await.into_string().await.unwrap().contains(&second),
        "shown once"
    );
    let (status, _) = post(&format!("/ops/users/{}/disable", user.id), format!("csrf={csrf}")).await;
    assert_eq!(status, Status::Ok);
    let user = satisfaction::db::repo::users::find(&app.db, user.id).await.unwrap().unwrap();
    assert_eq!((user.role.as_str(), user.direction_id, user.active), ("analyst", None, false));

    let (status, html) = post("/ops/api-keys", format!("csrf={csrf}&name=Portail&scope=read")).await;
    assert_eq!(status, Status::Ok);
    let key = html.split("<code class=\"secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    // (This client holds the administrator's session cookie, which the API would use first: the
    // key is checked directly.)
    let valid = |key: String| {
        let db = app.db.clone();
        async move { accounts::authenticate_api_key(&db, &key, now()).await.unwrap().map(|k| k.scope) }
    };
    assert_eq!(valid(key.clone()).await.as_deref(), Some("read"));
    let id = satisfaction::db::repo::api_keys::list(&app.db).await.unwrap()[0].id;
    let (status, _) = post(&format!("/ops/api-keys/{id}/revoke"), format!("csrf={csrf}")).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(valid(key.clone()).await, None, "revoked");
    for path in ["/ops/sampling-runs", "/ops/delivery", "/ops/ingestion-errors", "/ops/ingestion-errors?source=csv"] {
        assert_eq!(app.client.get(path).dispatch().await.status(), Status::Ok, "{path}");
    }
    let (status, _) = post("/ops/ingestion-errors/replay", format!("csrf={csrf}")).await;
    assert_eq!(status, Status::Ok);

    let audit = app.client.get("/ops/audit").dispatch().await.into_string().await.unwrap();
    for action in [
        "user.create",
        "user.set_role",
        "user.set_password",
        "user.disable",
        "api_key.create",
        "api_key.revoke",
        "login.success",
    ] {
        assert!(audit.contains(action), "{action}");
    }
    assert!(audit.contains("from an unknown address"), "who, and from where");
    for secret in [&first, &second, &key, &PASSWORD.to_owned()] {
        assert!(!audit.contains(secret.as_str()), "no secret in the audit log");
    }
}

/// The purge forgets who tried to log in from where once `retention.security_log_days` have
/// passed: failed attempts, ended sessions and the details of login entries go; the audit
/// entries themselves stay.
async fn the_purge_forgets_old_login_traces(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement};
    let app = app(backend).await;
    let count = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
            row.unwrap().try_get_by_index::<i64>(0).unwrap()
        }
    };
    login(&app.client, "quelquun@exemple.example", "pas le bon mot de passe").await;
    login(&app.client, "analyste@ville.example", PASSWORD).await;
    logout(&app.client).await;
    assert_eq!(count("SELECT COUNT(*) FROM login_failures").await, 2, "per account and per address");
    assert_eq!(count("SELECT COUNT(*) FROM sessions").await, 1);
    let traces = "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'login.%' AND details IS NOT NULL";
    assert_eq!(count(traces).await, 2);

    app.jobs.clock.set(now() + Duration::days(89));
    let report = app.jobs.purge("test").await.unwrap();
    assert_eq!((report.login_records_deleted, report.audit_details_erased), (0, 0), "kept 90 days: {report}");
    // A session still open then is kept too.
    login(&app.client, "admin@ville.example", PASSWORD).await;

    app.jobs.clock.set(now() + Duration::days(91));
    let report = app.jobs.purge("test").await.unwrap();
    assert_eq!((report.login_records_deleted, report.audit_details_erased), (3, 2), "{report}");
    assert_eq!(count("SELECT COUNT(*) FROM login_failures").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM sessions").await, 1, "the recent session stays");
    assert_eq!(count(traces).await, 1, "the recent login's details stay");
    assert_eq!(count("SELECT COUNT(*) FROM audit_log WHERE action = 'login.failure'").await, 1, "the entry stays");
    let dump: Vec<String> = app
        .db
        .query_all_raw(Statement::from_string(app.db.get_database_backend(), "SELECT details FROM audit_log"))
        .await
        .unwrap()
        .iter()
        .filter_map(|row| row.try_get_by_index::<Option<serde_json::Value>>(0).ok().flatten())
        .map(|details| details.to_string())
        .collect();
    assert!(!dump.iter().any(|d| d.contains("quelquun")), "the e-mail typed is gone: {dump:?}");
}

on_both_databases!(
    the_purge_forgets_old_login_traces,
    the_session_cookie_is_secure_behind_https,
    each_caller_reaches_exactly_what_it_may,
    administrators_work_the_operations_pages,
    a_login_opens_a_session_with_safe_cookie_flags,
    unknown_e_mails_and_wrong_passwords_look_alike_and_lock,
    one_address_trying_many_accounts_is_locked,
    sessions_end_when_idle_at_their_end_and_when_the_user_is_disabled,
    a_scoped_viewer_sees_only_their_direction,
    api_keys_are_limited_to_their_scope,
);
