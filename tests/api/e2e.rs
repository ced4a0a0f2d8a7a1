//! The survey in real headless Chromium (chromedriver, fantoccini), on a phone-sized screen: a
//! citizen opens the link, answers with the keyboard only, sends, and sees the thank-you page;
//! axe-core finds no accessibility violation on the survey, its error, thank-you, unknown-link
//! and opt-out pages, in French and in English. Chromium, chromedriver and axe-core are required
//! (`.ci/run` installs them): without them the test fails, it never skips.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use fantoccini::{Client, ClientBuilder, Locator, key::Key};
use satisfaction::{app, clock::Clock, domain::SurveyToken};
use serde_json::json;

use crate::factories::{InvitationRow, Reference, RequestRow, insert_invitation, insert_request};
use crate::helpers::{Backend, TestDatabase, test_figment};
use crate::on_both_databases;

fn now() -> DateTime<Utc> {
    "2026-11-20T15:00:00Z".parse().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_for(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("nothing listens on port {port}");
}

/// chromedriver in its own process group, killed whole on drop (Chromium included).
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = std::process::Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// Chromium on a phone's screen (390 × 844).
async fn browser() -> (Driver, Client) {
    chromium(json!({
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1}}
    }))
    .await
}

/// chromedriver on a free port, and a headless Debian Chromium session with these options.
async fn chromium(mut options: serde_json::Value) -> (Driver, Client) {
    let port = free_port();
    let driver = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
    let driver = Driver(driver);
    wait_for(port).await;
    options["binary"] = json!("/usr/bin/chromium");
    let capabilities = json!({ "goog:chromeOptions": options });
    let capabilities = capabilities.as_object().unwrap().clone();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    (driver, client)
}

fn axe_source() -> String {
    let path = std::env::var("SATISFACTION_AXE").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e/node_modules/axe-core/axe.min.js")
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core at {} ({e}); install it: npm install --prefix target/e2e axe-core@4.14.1", path.display())
    })
}

/// axe-core's violations on the page shown (an empty list when there is none).
async fn violations(client: &Client, axe: &str) -> Vec<serde_json::Value> {
    client.execute(axe, vec![]).await.expect("axe-core loads");
    let script = "const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ['violations'] })
          .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                                   nodes: v.nodes.map(n => n.target.join(' ')) }))))
          .catch(e => done([{ error: String(e) }]));";
    let result = client.execute_async(script, vec![]).await.expect("axe-core runs");
    result.as_array().cloned().unwrap_or_default()
}

async fn assert_accessible(client: &Client, axe: &str, what: &str) {
    let found = violations(client, axe).await;
    assert!(found.is_empty(), "{what}: {}", serde_json::to_string_pretty(&found).unwrap());
}

/// Press Tab until the element with `id` has the focus.
async fn tab_to(client: &Client, id: &str) {
    for _ in 0..60 {
        let focused =
            client.execute("return document.activeElement && document.activeElement.id", vec![]).await.unwrap();
        if focused.as_str() == Some(id) {
            return;
        }
        client.active_element().await.unwrap().send_keys(&Key::Tab.to_string()).await.unwrap();
    }
    panic!("Tab never reached #{id}");
}

async fn body_text(client: &Client) -> String {
    let text =
        client.execute("return document.querySelector('main') ? document.querySelector('main').innerText : ''", vec![]);
    text.await.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Wait (at most five seconds) for the page to show `needle`: a submitted form loads its answer
/// after the click returns.
async fn wait_for_text(client: &Client, needle: &str) {
    for _ in 0..100 {
        if body_text(client).await.contains(needle) {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("the page never showed {needle:?}: {}", body_text(client).await);
}

async fn survey_in_a_phone_browser(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let port = free_port();
    let figment = test_figment(&database.url).merge(("port", port)).merge(("address", "127.0.0.1"));
    let application = app::build_with_clock(figment, Clock::fixed(now())).await.expect("application builds");
    let db = application.jobs.db.clone();
    let ignited = application.rocket.ignite().await.expect("rocket ignites");
    let shutdown = ignited.shutdown();
    tokio::spawn(ignited.launch());
    wait_for(port).await;
    let base = format!("http://127.0.0.1:{port}");

    let reference = Reference::with_directions(&db, &["TP"]).await;
    let mut links = Vec::new();
    for (i, locale) in ["fr", "en", "fr"].into_iter().enumerate() {
        let mut row = RequestRow::closed(&format!("REQ-2026-00{i}"), now() - Duration::days(2));
        row.locale = locale;
        row.service_code = "NP";
        let request = insert_request(&db, &reference, &row).await.unwrap();
        let token = SurveyToken::generate();
        let mut invitation = InvitationRow::of(&request, "TP:phone", 0.5, now() - Duration::days(1));
        (invitation.token_hash, invitation.state) = (token.hash(), "sent");
        invitation.expires_at = Some(now() + Duration::days(13));
        insert_invitation(&db, invitation).await.unwrap();
        links.push(format!("{base}/s/{}", token.as_str()));
    }

    let axe = axe_source();
    let (_driver, client) = browser().await;

    // The survey, French, at 390 × 844: accessible, and a screenshot for the record.
    client.goto(&links[0]).await.unwrap();
    wait_for_text(&client, "REQ-2026-000").await;
    assert_accessible(&client, &axe, "survey (fr)").await;
    let screenshot = client.screenshot().await.unwrap();
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join(format!("survey-390x844-{backend:?}.png")), &screenshot).unwrap();
    let width = client.execute("return document.documentElement.scrollWidth", vec![]).await.unwrap();
    assert!(width.as_u64().unwrap() <= 390, "no sideways scrolling on a phone: {width}");

    // Sending nothing: the error summary, accessible too.
    tab_to(&client, "overall-0").await;
    let submit = client.find(Locator::Css("button[type=submit]")).await.unwrap();
    submit.click().await.unwrap();
    wait_for_text(&client, "Veuillez répondre à cette question.").await;
    assert_accessible(&client, &axe, "survey with errors (fr)").await;

    // Keyboard only: Tab to the first scale, arrows to 9, Tab on to the comment, type, Tab to
    // the button, Enter.
    tab_to(&client, "overall-0").await;
    for _ in 0..9 {
        // The element with the focus each time: sending keys to an element focuses it first.
        client.active_element().await.unwrap().send_keys(&Key::Right.to_string()).await.unwrap();
    }
    let checked =
        client.execute("return document.querySelector('input[name=overall]:checked').value", vec![]).await.unwrap();
    assert_eq!(checked.as_str(), Some("9"), "arrow keys move along the scale");
    tab_to(&client, "comment").await;
    client.active_element().await.unwrap().send_keys("Service rapide et courtois.").await.unwrap();
    tab_to(&client, "follow_up").await;
    for _ in 0..3 {
        client.active_element().await.unwrap().send_keys(&Key::Tab.to_string()).await.unwrap();
        let tag = client.execute("return document.activeElement.tagName", vec![]).await.unwrap();
        if tag.as_str() == Some("BUTTON") {
            break;
        }
    }
    client.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_for_text(&client, "Vos réponses ont été enregistrées").await;
    assert_accessible(&client, &axe, "thank-you (fr)").await;
    let stored = satisfaction::db::entities::response::Entity::find().all(&db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].overall_score, stored[0].comment.as_deref()), (9, Some("Service rapide et courtois.")));

    // The answered link, the unknown link, the opt-out page; then English.
    client.goto(&links[0]).await.unwrap();
    assert_accessible(&client, &axe, "already answered (fr)").await;
    client.goto(&format!("{base}/s/0123456789abcdef0123456789abcdef")).await.unwrap();
    wait_for_text(&client, "Lien introuvable").await;
    assert_accessible(&client, &axe, "unknown link (fr)").await;
    client.goto(&links[2].replace("/s/", "/opt-out/")).await.unwrap();
    assert_accessible(&client, &axe, "opt-out (fr)").await;

    client.goto(&links[1]).await.unwrap();
    wait_for_text(&client, "Under a minute").await;
    assert_accessible(&client, &axe, "survey (en)").await;
    client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Please answer this question.").await;
    assert_accessible(&client, &axe, "survey with errors (en)").await;
    client.goto(&format!("{base}/s/0123456789abcdef0123456789abcdef?lang=en")).await.unwrap();
    wait_for_text(&client, "Link not found").await;
    assert_accessible(&client, &axe, "unknown link (en)").await;
    client.goto(&links[1].replace("/s/", "/opt-out/")).await.unwrap();
    assert_accessible(&client, &axe, "opt-out (en)").await;
    client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "You will receive no more").await;
    assert_accessible(&client, &axe, "opt-out done (en)").await;
    client.goto(&format!("{}?lang=en", links[2])).await.unwrap();
    // A tap on the button-like choice (the transparent radio lies over its label).
    client.find(Locator::Css("#overall-3")).await.unwrap().click().await.unwrap();
    client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Thank you").await;
    assert_accessible(&client, &axe, "thank-you (en)").await;

    client.close().await.unwrap();
    shutdown.notify();
}

/// An administrator in the browser: logs in, opens each operations page, creates an API key
/// (shown once) and revokes it, logs out; axe-core finds nothing on the login page, the account
/// page and the operations pages.
async fn operations_in_a_browser(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let port = free_port();
    let figment = test_figment(&database.url).merge(("port", port)).merge(("address", "127.0.0.1"));
    let application = app::build_with_clock(figment, Clock::fixed(now())).await.expect("application builds");
    let db = application.jobs.db.clone();
    let ignited = application.rocket.ignite().await.expect("rocket ignites");
    let shutdown = ignited.shutdown();
    tokio::spawn(ignited.launch());
    wait_for(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let password = "une phrase de passe assez longue";
    let admin = satisfaction::accounts::NewUser {
        email: satisfaction::domain::Email::parse("admin@ville.example").unwrap(),
        password: password.into(),
        role: satisfaction::domain::Role::Admin,
        direction_code: None,
    };
    satisfaction::accounts::create_user(&db, admin, "test", now()).await.unwrap();

    let axe = axe_source();
    let (_driver, client) = browser().await;
    client.goto(&format!("{base}/ops/users")).await.unwrap();
    wait_for_text(&client, "Connexion").await;
    assert_accessible(&client, &axe, "login").await;
    client.find(Locator::Css("#email")).await.unwrap().send_keys("admin@ville.example").await.unwrap();
    client.find(Locator::Css("#password")).await.unwrap().send_keys(password).await.unwrap();
    client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Tableau de bord").await;
    assert_accessible(&client, &axe, "dashboard").await;
    client.goto(&format!("{base}/account")).await.unwrap();
    wait_for_text(&client, "Votre compte").await;
    assert_accessible(&client, &axe, "account").await;

    for (path, heading) in [
        ("/ops/users", "Utilisateurs"),
        ("/ops/sampling-runs", "Échantillonnage"),
        ("/ops/delivery", "Envois"),
        ("/ops/ingestion-errors", "Erreurs d’intégration"),
        ("/ops/audit", "Journal d’audit"),
        ("/ops/api-keys", "Clés d’API"),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        wait_for_text(&client, heading).await;
        assert_accessible(&client, &axe, path).await;
    }
    client.find(Locator::Css("#key-name")).await.unwrap().send_keys("Portail citoyen").await.unwrap();
    client.find(Locator::Css("form.login button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "ne sera plus affichée").await;
    assert_accessible(&client, &axe, "API key shown once").await;
    let shown = client.find(Locator::Css("code.secret")).await.unwrap().text().await.unwrap();
    assert!(shown.starts_with("sat_"), "{shown}");
    client.find(Locator::Css("form.inline button")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "révoquée").await;
    assert!(!body_text(&client).await.contains(&shown), "the key is shown once only");

    client.goto(&format!("{base}/account")).await.unwrap();
    wait_for_text(&client, "Se déconnecter").await;
    client.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Connexion").await;
    client.goto(&format!("{base}/ops/users")).await.unwrap();
    wait_for_text(&client, "Connexion").await;

    client.close().await.unwrap();
    shutdown.notify();
}

/// Management in the browser: log in, change the period and direction filters, open a direction
/// page, mark a follow-up done, download the CSV; screenshots of the overview at desktop and phone
/// widths; axe-core finds nothing on the overview, a direction page and the follow-ups page.
async fn the_dashboard_in_a_browser(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let port = free_port();
    let downloads = tempfile::tempdir().unwrap();
    let figment = test_figment(&database.url).merge(("port", port)).merge(("address", "127.0.0.1"));
    let application = app::build_with_clock(figment, Clock::fixed(now())).await.expect("application builds");
    let jobs = application.jobs.clone();
    let db = jobs.db.clone();
    let ignited = application.rocket.ignite().await.expect("rocket ignites");
    let shutdown = ignited.shutdown();
    tokio::spawn(ignited.launch());
    wait_for(port).await;
    let base = format!("http://127.0.0.1:{port}");
    // A year of responses (the R reference data), and one follow-up from a survey.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("historique.csv");
    std::fs::write(&file, crate::stats::responses_csv()).unwrap();
    let report = dir.path().join("rejets.csv");
    jobs.import_file(satisfaction::jobs::FileKind::Responses, &file, &report, &mut |_, _, _| {}).await.unwrap();
    // TP was registered by the import.
    let reference = Reference::load(&db).await;
    let request = insert_request(&db, &reference, &RequestRow::closed("REQ-2026-500", now())).await.unwrap();
    let invitation = insert_invitation(&db, InvitationRow::of(&request, "TP:phone", 0.5, now())).await.unwrap();
    let mut row = crate::factories::response_row(request.direction_id, request.channel_id, "TP:phone", 2, 2.0, now());
    (row.invitation_id, row.comment) = (Some(invitation.id), Some("Trop long, personne ne rappelle.".into()));
    satisfaction::survey::submit(&db, jobs.settings.time_zone, row, Some("low_score")).await.unwrap();
    let password = "une phrase de passe assez longue";
    let analyst = satisfaction::accounts::NewUser {
        email: satisfaction::domain::Email::parse("analyste@ville.example").unwrap(),
        password: password.into(),
        role: satisfaction::domain::Role::Analyst,
        direction_code: None,
    };
    satisfaction::accounts::create_user(&db, analyst, "test", now()).await.unwrap();

    let axe = axe_source();
    let (_driver, client) = desktop_browser(downloads.path()).await;
    client.goto(&format!("{base}/login")).await.unwrap();
    client.find(Locator::Css("#email")).await.unwrap().send_keys("analyste@ville.example").await.unwrap();
    client.find(Locator::Css("#password")).await.unwrap().send_keys(password).await.unwrap();
    client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Tableau de bord").await;

    // The filters: last year (2022 in the reference data is long ago: a custom range), then TP.
    client.goto(&format!("{base}/dashboard?period=custom&from=2022-01-01&to=2022-12-31")).await.unwrap();
    wait_for_text(&client, "19 fois sur 20").await;
    assert_accessible(&client, &axe, "overview").await;
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join(format!("dashboard-desktop-{backend:?}.png")), client.screenshot().await.unwrap())
        .unwrap();
    client.find(Locator::Css("#direction option[value=TP]")).await.unwrap().click().await.unwrap();
    client.find(Locator::Css("form.filters button")).await.unwrap().click().await.unwrap();
    for _ in 0..100 {
        if client.current_url().await.unwrap().as_str().contains("direction=TP") {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(client.current_url().await.unwrap().as_str().contains("direction=TP"), "the filter is in the URL");

    // A direction's page.
    client.goto(&format!("{base}/dashboard/direction/TP?period=custom&from=2022-01-01&to=2022-12-31")).await.unwrap();
    wait_for_text(&client, "Les facteurs de satisfaction").await;
    assert_accessible(&client, &axe, "direction page").await;

    // The follow-up, marked done.
    client.goto(&format!("{base}/dashboard/follow-ups")).await.unwrap();
    wait_for_text(&client, "REQ-2026-500").await;
    assert_accessible(&client, &axe, "follow-ups").await;
    client
        .find(Locator::Css("form.follow-up-form select[name=status] option[value=done]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client.find(Locator::Css("form.follow-up-form button")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Suivi enregistré").await;
    let counts = satisfaction::db::repo::follow_ups::counts(&db, None).await.unwrap();
    assert_eq!(counts, vec![("done".to_owned(), 1)]);

    // The CSV, downloaded by the browser.
    client.goto(&format!("{base}/dashboard?period=custom&from=2022-01-01&to=2022-12-31")).await.unwrap();
    wait_for_text(&client, "Exporter (CSV)").await;
    client.find(Locator::Css("a[href*='export.csv'][href*='by=direction']")).await.unwrap().click().await.unwrap();
    let mut csv = None;
    for _ in 0..100 {
        csv = std::fs::read_dir(downloads.path())
            .unwrap()
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "csv"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap());
        if csv.is_some() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let csv = csv.expect("the CSV was downloaded");
    assert!(csv.starts_with("direction;channel;month;n"), "{csv}");
    client.close().await.unwrap();

    // The overview on a phone.
    let (_phone_driver, phone) = browser().await;
    phone.goto(&format!("{base}/login")).await.unwrap();
    phone.find(Locator::Css("#email")).await.unwrap().send_keys("analyste@ville.example").await.unwrap();
    phone.find(Locator::Css("#password")).await.unwrap().send_keys(password).await.unwrap();
    phone.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&phone, "Tableau de bord").await;
    phone.goto(&format!("{base}/dashboard?period=custom&from=2022-01-01&to=2022-12-31")).await.unwrap();
    wait_for_text(&phone, "19 fois sur 20").await;
    assert_accessible(&phone, &axe, "overview on a phone").await;
    std::fs::write(artifacts.join(format!("dashboard-phone-{backend:?}.png")), phone.screenshot().await.unwrap())
        .unwrap();
    phone.close().await.unwrap();
    shutdown.notify();
}

/// The public report card in the browser: the API's figures for the quarter, no figure for a
/// direction under the publishable minimum, axe-core clean, French and English; a screenshot.
async fn the_report_card_in_a_browser(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let port = free_port();
    let files = tempfile::tempdir().unwrap();
    let figment = test_figment(&database.url)
        .merge(("port", port))
        .merge(("address", "127.0.0.1"))
        .merge(("public_report.enabled", true))
        .merge(("delivery.file_dir", files.path().to_str().unwrap()));
    let clock = Clock::fixed("2026-11-15T15:00:00Z".parse().unwrap());
    let application = app::build_with_clock(figment, clock).await.expect("application builds");
    let jobs = application.jobs.clone();
    let ignited = application.rocket.ignite().await.expect("rocket ignites");
    let shutdown = ignited.shutdown();
    tokio::spawn(ignited.launch());
    wait_for(port).await;
    let end = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    satisfaction::demo::load(&jobs.db, &jobs.settings, 11, 0.1, end, &mut |_, _| {}).await.unwrap();
    let q3 = satisfaction::reporting::stats(
        &jobs.db,
        &jobs.settings,
        &satisfaction::reporting::Scope::All,
        &satisfaction::reporting::StatsQuery {
            from: Some("2026-07-01".into()),
            to: Some("2026-09-30".into()),
            by: Some("direction".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let city = satisfaction::reporting::export::number(q3.overall.mean, 1, satisfaction::domain::Locale::Fr);
    let hidden: Vec<String> =
        q3.groups.iter().filter(|g| g.estimate.suppressed).filter_map(|g| g.direction.clone()).collect();

    let axe = axe_source();
    let (_driver, client) = desktop_browser(files.path()).await;
    client.goto(&format!("http://127.0.0.1:{port}/resultats")).await.unwrap();
    wait_for_text(&client, "Résultats du sondage").await;
    assert_accessible(&client, &axe, "report card (fr)").await;
    let text = body_text(&client).await;
    assert!(text.contains(&format!("{city} / 10")), "the API's figure for T3 2026 ({city}): {text}");
    assert!(!hidden.is_empty(), "a direction under the minimum at this scale");
    let q3_table = client
        .execute("return document.querySelector(\"div.table-wrap[aria-label='T3 2026']\").innerText", vec![])
        .await
        .unwrap();
    let q3_table = q3_table.as_str().unwrap_or_default();
    let mut rows_checked = 0;
    for group in &q3.groups {
        let code = group.direction.as_deref().unwrap();
        let name = satisfaction::db::repo::directions::find_by_code(&jobs.db, code).await.unwrap().unwrap().name_fr;
        let row = q3_table.lines().find(|line| line.starts_with(&name));
        if group.estimate.suppressed {
            assert!(row.is_none(), "{name} is under the minimum and has no figure: {q3_table}");
        } else {
            let mean =
                satisfaction::reporting::export::number(group.estimate.mean, 1, satisfaction::domain::Locale::Fr);
            let row = row.unwrap_or_else(|| panic!("{name} has its row: {q3_table}"));
            let cells: Vec<&str> = row.split('\t').map(str::trim).collect();
            assert_eq!(cells[1], mean, "{name}: the API's mean");
            assert_eq!(cells[3], group.estimate.n.to_string(), "{name}: the API's n");
            rows_checked += 1;
        }
    }
    assert!(rows_checked >= 5, "most directions are published: {q3_table}");
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join(format!("report-card-{backend:?}.png")), client.screenshot().await.unwrap()).unwrap();
    client.goto(&format!("http://127.0.0.1:{port}/resultats?lang=en")).await.unwrap();
    wait_for_text(&client, "Satisfaction survey results").await;
    assert_accessible(&client, &axe, "report card (en)").await;
    client.close().await.unwrap();
    shutdown.notify();
}

/// Chromium at 1280 × 900, downloading into `downloads`.
async fn desktop_browser(downloads: &std::path::Path) -> (Driver, Client) {
    chromium(json!({
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
        "prefs": {"download.default_directory": downloads.display().to_string(), "download.prompt_for_download": false}
    }))
    .await
}

use sea_orm::EntityTrait;

on_both_databases!(
    survey_in_a_phone_browser,
    operations_in_a_browser,
    the_dashboard_in_a_browser,
    the_report_card_in_a_browser
);
