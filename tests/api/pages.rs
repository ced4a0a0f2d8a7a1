//! The public pages, security headers and error pages. They touch no database beyond the
//! application's start, so they run once, on the embedded default.

use rocket::http::{Accept, ContentType, Header, Status};

use crate::helpers::{Backend, spawn_app};

const SECURITY_HEADERS: [&str; 4] =
    ["Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"];

#[rocket::async_test]
async fn every_response_carries_security_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/", "/health", "/static/style.css", "/no-such-page"] {
        let response = app.client.get(path).dispatch().await;
        for header in SECURITY_HEADERS {
            assert!(response.headers().get_one(header).is_some(), "{header} missing on {path}");
        }
        let csp = response.headers().get_one("Content-Security-Policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(response.headers().get_one("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(response.headers().get_one("Referrer-Policy"), Some("no-referrer"));
    }
}

#[rocket::async_test]
async fn pages_are_french_first_with_a_switch_to_english() {
    let app = spawn_app(Backend::Sqlite).await;
    let page = app.client.get("/").dispatch().await.into_string().await.unwrap();
    assert!(page.contains(r#"<html lang="fr-CA">"#), "{page}");
    assert!(page.contains("Plateforme de satisfaction citoyenne"));
    assert!(page.contains("?lang=en"), "language switch link");

    // Choosing English is remembered by a cookie for the next page.
    let english = app.client.get("/?lang=en").dispatch().await.into_string().await.unwrap();
    assert!(english.contains(r#"<html lang="en-CA">"#));
    let next = app.client.get("/").dispatch().await.into_string().await.unwrap();
    assert!(next.contains("Citizen satisfaction platform"), "{next}");

    // And switching back to French works the same way.
    let french = app.client.get("/?lang=fr").dispatch().await.into_string().await.unwrap();
    assert!(french.contains(r#"<html lang="fr-CA">"#));
}

#[rocket::async_test]
async fn french_is_the_default_whatever_the_browser_language() {
    let app = spawn_app(Backend::Sqlite).await;
    let english = app
        .client
        .get("/")
        .header(Header::new("Accept-Language", "en-CA,en;q=0.9,fr;q=0.5"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(english.contains(r#"<html lang="fr-CA">"#), "an English browser still gets French first");
    let german = app
        .client
        .get("/")
        .header(Header::new("Accept-Language", "de-DE"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(german.contains(r#"<html lang="fr-CA">"#));
}

#[rocket::async_test]
async fn unknown_pages_get_a_polite_page_or_json() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.client.get("/nowhere").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
    assert_eq!(response.content_type(), Some(ContentType::HTML));
    let page = response.into_string().await.unwrap();
    assert!(page.contains("Cette page n’existe pas."), "{page}");

    let response = app.client.get("/nowhere").header(Accept::JSON).dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
    let body: serde_json::Value = response.into_json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["status"], 404);

    let response = app.client.get("/api/v1/nothing-here").dispatch().await;
    assert_eq!(response.content_type(), Some(ContentType::JSON));
}

#[rocket::async_test]
async fn static_assets_are_served() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.client.get("/static/style.css").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.content_type(), Some(ContentType::CSS));
    let traversal = app.client.get("/static/../Cargo.toml").dispatch().await;
    assert_ne!(traversal.status(), Status::Ok);
}
