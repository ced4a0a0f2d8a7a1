//! What the API takes and refuses at its edge: only the query parameters an endpoint knows, and
//! JSON bodies. These checks touch no database beyond the application's start: they run once.

use rocket::http::{ContentType, Header, Status};
use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

#[rocket::async_test]
async fn unknown_query_parameters_are_refused_by_name() {
    let app = spawn_app(Backend::Sqlite).await;
    let key = app.api_key().await;
    // `weighted=false` is the parameter; `unweighted=true` must not quietly return weighted figures.
    let (status, body) = app
        .get_json(
            &key,
            "/api/v1/stats/compare?a_from=2026-01-01&a_to=2026-01-31&b_from=2026-02-01&b_to=2026-02-28&unweighted=true",
        )
        .await;
    assert_eq!(status, Status::BadRequest, "{body}");
    assert_eq!(body["error"]["code"], "unknown_parameter");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"unweighted\"") && message.contains("weighted") && message.contains("b_to"),
        "{message}"
    );
    for path in [
        "/api/v1/stats?by=direction&bi=channel",
        "/api/v1/stats/drivers?form=2026-01-01",
        "/api/v1/stats/response-rates?direction=TP&x=1",
        "/api/v1/sampling-runs?limt=5",
        "/api/v1/ingestion-errors?include_resolve=true",
    ] {
        let (status, body) = app.get_json(&key, path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (Status::BadRequest, Some("unknown_parameter")),
            "{path}: {body}"
        );
    }
    // The known ones still pass.
    let (status, body) = app.get_json(&key, "/api/v1/stats?by=direction&weighted=false&min_n=5").await;
    assert_eq!(status, Status::Ok, "{body}");
}

#[rocket::async_test]
async fn a_body_declared_as_something_else_than_json_is_415() {
    let app = spawn_app(Backend::Sqlite).await;
    let key = app.api_key().await;
    let item = r#"{"service_request_id": "CT-1", "status": "closed", "agency_responsible": "TP",
                   "channel": "phone", "closed_datetime": "2026-11-20T10:00:00Z"}"#;
    let post = |content_type: Option<ContentType>, path: &'static str| {
        let mut request =
            app.client.post(path).header(Header::new("Authorization", format!("Bearer {key}"))).body(item);
        if let Some(content_type) = content_type {
            request = request.header(content_type);
        }
        async move {
            let response = request.dispatch().await;
            (response.status(), response.into_json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = post(Some(ContentType::CSV), "/api/v1/requests").await;
    assert_eq!(status, Status::UnsupportedMediaType, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("text/csv"), "{body}");
    let (status, body) = post(None, "/api/v1/requests").await;
    assert_eq!(status, Status::Ok, "no Content-Type is read as JSON: {body}");
    let (status, _) = post(Some(ContentType::new("application", "vnd.crm+json")), "/api/v1/requests").await;
    assert_eq!(status, Status::Ok, "a +json type is JSON");
    let (status, body) = post(Some(ContentType::JSON), "/api/v1/requests?dry_run=true").await;
    assert_eq!(status, Status::BadRequest, "{body}");
}
