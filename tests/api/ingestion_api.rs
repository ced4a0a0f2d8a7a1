//! `POST /api/v1/requests`, `GET /api/v1/ingestion-errors` and replay, on both databases.

use rocket::http::{Header, Status};
use satisfaction::db::entities::{ingestion_error, service_request};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::on_both_databases;

fn closed_request(id: &str) -> Value {
    json!({
        "service_request_id": id,
        "status": "closed",
        "service_code": "NID-POULE",
        "service_name": "Nid-de-poule",
        "agency_responsible": "TP",
        "channel": "phone",
        "requested_datetime": "2026-11-02T09:30:00-05:00",
        "updated_datetime": "2026-11-03T15:00:00-05:00",
        "closed_datetime": "2026-11-03T15:00:00-05:00",
        "contact_email": "Citoyenne@Example.CA",
        "contact_phone": "(418) 555-0134",
        "locale": "fr"
    })
}

async fn stored(app: &TestApp, crm_id: &str) -> service_request::Model {
    service_request::Entity::find()
        .filter(service_request::Column::CrmId.eq(crm_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{crm_id} not stored"))
}

async fn created_then_unchanged_then_updated(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let item = closed_request("2026-000123");

    let (status, body) = app.post_requests(&key, &item.to_string()).await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["items"][0]["outcome"], "created");
    assert_eq!(body["summary"]["created"], 1);
    let first = stored(&app, "2026-000123").await;
    assert_eq!(first.contact_email.as_deref(), Some("citoyenne@example.ca"));
    assert_eq!(first.contact_phone.as_deref(), Some("+14185550134"));
    assert_eq!(first.contact_hash.as_ref().map(String::len), Some(64));

    let (status, body) = app.post_requests(&key, &item.to_string()).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body["items"][0]["outcome"], "unchanged");

    // Reopened, then closed again later: the same row is updated, never a second one.
    let mut reopened = item.clone();
    reopened["status"] = json!("open");
    let (_, body) = app.post_requests(&key, &reopened.to_string()).await;
    assert_eq!(body["items"][0]["outcome"], "updated");
    let mut closed_again = item.clone();
    closed_again["closed_datetime"] = json!("2026-11-10T11:00:00-05:00");
    closed_again["updated_datetime"] = json!("2026-11-10T11:00:00-05:00");
    let (_, body) = app.post_requests(&key, &closed_again.to_string()).await;
    assert_eq!(body["items"][0]["outcome"], "updated");

    let now = stored(&app, "2026-000123").await;
    assert_eq!(now.id, first.id, "the request keeps its id, so its invitation (unique per request) stays one");
    assert_eq!(now.status, "closed");
    assert_eq!(now.closed_at.unwrap().to_rfc3339(), "2026-11-10T16:00:00+00:00");
    assert_eq!(service_request::Entity::find().count(&app.db).await.unwrap(), 1);
}

async fn a_mixed_batch_keeps_the_good_and_reports_each_bad(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let mut bad_date = closed_request("B-2");
    bad_date["closed_datetime"] = json!("2026-11-03 15:00");
    let mut bad_channel = closed_request("B-3");
    bad_channel["channel"] = json!("fax");
    bad_channel["contact_email"] = json!("pas-un-courriel");
    let mut wrong_type = closed_request("B-4");
    wrong_type["agency_responsible"] = json!(42);
    let batch =
        json!([closed_request("B-1"), bad_date, bad_channel, wrong_type, "not an object", closed_request("B-6")]);

    let (status, body) = app.post_requests(&key, &batch.to_string()).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(body["summary"], json!({"created": 2, "updated": 0, "unchanged": 0, "rejected": 4}));
    let outcomes: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|i| i["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["created", "rejected", "rejected", "rejected", "rejected", "created"]);

    let reasons = |index: usize| -> Vec<(String, String)> {
        body["items"][index]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["field"].as_str().unwrap_or("").to_owned(), r["message"].as_str().unwrap().to_owned()))
            .collect()
    };
    assert_eq!(reasons(1)[0].0, "closed_datetime");
    assert!(reasons(1)[0].1.contains("RFC 3339"));
    let fields: Vec<String> = reasons(2).into_iter().map(|r| r.0).collect();
    assert_eq!(fields, ["channel", "contact_email"], "every reason, not only the first");
    assert_eq!(reasons(3), [("agency_responsible".to_owned(), "expected a string, got a number".to_owned())]);
    assert!(reasons(4)[0].1.contains("expected a request object"));

    assert_eq!(service_request::Entity::find().count(&app.db).await.unwrap(), 2);
    assert_eq!(ingestion_error::Entity::find().count(&app.db).await.unwrap(), 4);
    let (status, list) = app.get_json(&key, "/api/v1/ingestion-errors").await;
    assert_eq!(status, Status::Ok);
    let kept: Vec<&str> = list["items"].as_array().unwrap().iter().filter_map(|e| e["crm_id"].as_str()).collect();
    assert_eq!(kept, ["B-2", "B-3", "B-4"]);
    let raw: Value = serde_json::from_str(list["items"][0]["raw_payload"].as_str().unwrap()).unwrap();
    assert_eq!(raw["closed_datetime"], "2026-11-03 15:00", "the raw item is kept as received");
}

async fn malformed_json_is_a_precise_400_and_is_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let (status, body) = app.post_requests(&key, r#"[{"service_request_id": "X", "status": }]"#).await;
    assert_eq!(status, Status::BadRequest);
    assert_eq!(body["error"]["code"], "malformed_json");
    assert!(body["error"]["message"].as_str().unwrap().contains("line 1, column"), "{body}");
    assert_eq!(ingestion_error::Entity::find().count(&app.db).await.unwrap(), 1);

    let (status, body) = app.post_requests(&key, "42").await;
    assert_eq!(status, Status::BadRequest);
    assert_eq!(body["error"]["code"], "bad_shape");
}

async fn the_api_needs_a_valid_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = closed_request("K-1").to_string();
    let response = app.client.post("/api/v1/requests").body(body.clone()).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    let json: Value = response.into_json().await.unwrap();
    assert!(json["error"]["message"].as_str().unwrap().contains("Bearer"), "{json}");

    let (status, _) =
        app.post_requests("sat_0000000000000000_000000000000000000000000000000000000000000000000", &body).await;
    assert_eq!(status, Status::Unauthorized);
    let response =
        app.client.get("/api/v1/ingestion-errors").header(Header::new("Authorization", "Basic abc")).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(service_request::Entity::find().count(&app.db).await.unwrap(), 0);
}

async fn batches_over_the_limit_are_refused_whole(backend: Backend) {
    let app = spawn_app_with(backend, |f| f.merge(("ingestion.batch_max_items", 2))).await;
    let key = app.api_key().await;
    let batch = json!([closed_request("L-1"), closed_request("L-2"), closed_request("L-3")]);
    let (status, body) = app.post_requests(&key, &batch.to_string()).await;
    assert_eq!(status, Status::PayloadTooLarge);
    assert!(body["error"]["message"].as_str().unwrap().contains("at most 2"), "{body}");
    assert_eq!(service_request::Entity::find().count(&app.db).await.unwrap(), 0);
}

async fn unknown_directions_can_be_rejected_then_replayed(backend: Backend) {
    let app = spawn_app_with(backend, |f| f.merge(("ingestion.unknown_directions", "reject"))).await;
    let key = app.api_key().await;
    let mut item = closed_request("D-1");
    item["agency_responsible"] = json!("URB");
    let (status, body) = app.post_requests(&key, &item.to_string()).await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(body["items"][0]["reasons"][0]["message"].as_str().unwrap().contains("unknown direction code \"URB\""));
    let error_id = body["items"][0]["ingestion_error_id"].as_i64().unwrap();

    // Replaying before the fix changes nothing but the count.
    let result = replay(&app, &key, error_id).await;
    assert_eq!(result["results"][0]["outcome"], "rejected");

    satisfaction::accounts::add_direction(&app.db, "URB", "Urbanisme", "Urban planning", app.jobs.clock.now())
        .await
        .unwrap();
    let result = replay(&app, &key, error_id).await;
    assert_eq!(result["results"][0]["outcome"], "created");
    stored(&app, "D-1").await;
    let kept = ingestion_error::Entity::find_by_id(error_id).one(&app.db).await.unwrap().unwrap();
    assert!(kept.resolved_at.is_some());
    assert_eq!(kept.replay_count, 2);
    assert_eq!(
        ingestion_error::Entity::find().count(&app.db).await.unwrap(),
        1,
        "a replay does not keep a second copy"
    );
    let (_, list) = app.get_json(&key, "/api/v1/ingestion-errors").await;
    assert!(list["items"].as_array().unwrap().is_empty(), "resolved errors are not listed by default");
    let (_, list) = app.get_json(&key, "/api/v1/ingestion-errors?include_resolved=true").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn unknown_directions_are_registered_by_default(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let mut item = closed_request("R-1");
    item["agency_responsible"] = json!("LOISIRS");
    let (status, _) = app.post_requests(&key, &item.to_string()).await;
    assert_eq!(status, Status::Ok);
    let direction = satisfaction::db::repo::directions::find_by_code(&app.db, "LOISIRS").await.unwrap().unwrap();
    assert_eq!(direction.name_fr, "LOISIRS");
    assert_eq!(stored(&app, "R-1").await.direction_id, direction.id);
}

async fn the_same_contact_gets_the_same_hash(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let mut second = closed_request("H-2");
    second["contact_email"] = json!("  citoyenne@example.ca ");
    let mut phone_only = closed_request("H-3");
    phone_only.as_object_mut().unwrap().remove("contact_email");
    let mut nobody = closed_request("H-4");
    nobody.as_object_mut().unwrap().remove("contact_email");
    nobody.as_object_mut().unwrap().remove("contact_phone");
    let batch = json!([closed_request("H-1"), second, phone_only, nobody]);
    let (status, _) = app.post_requests(&key, &batch.to_string()).await;
    assert_eq!(status, Status::Ok);
    let (h1, h2, h3, h4) =
        (stored(&app, "H-1").await, stored(&app, "H-2").await, stored(&app, "H-3").await, stored(&app, "H-4").await);
    assert_eq!(h1.contact_hash, h2.contact_hash);
    assert_ne!(h1.contact_hash, h3.contact_hash, "phone-only contact hashes the phone");
    assert!(h3.contact_hash.is_some());
    assert_eq!(h4.contact_hash, None, "no contact: stored, hash-less (\"no contact\" in the frame)");
}

async fn a_repeated_id_within_one_batch_is_one_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let mut later = closed_request("S-1");
    later["service_name"] = json!("Nid-de-poule (rue Principale)");
    let batch = json!([closed_request("S-1"), closed_request("S-1"), later]);
    let (status, body) = app.post_requests(&key, &batch.to_string()).await;
    assert_eq!(status, Status::Ok, "{body}");
    let outcomes: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|i| i["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["created", "unchanged", "updated"]);
    assert_eq!(stored(&app, "S-1").await.service_name.as_deref(), Some("Nid-de-poule (rue Principale)"));
}

async fn replay(app: &TestApp, key: &str, error_id: i64) -> Value {
    let response = app
        .client
        .post("/api/v1/ingestion-errors/replay")
        .header(Header::new("Authorization", format!("Bearer {key}")))
        .header(rocket::http::ContentType::JSON)
        .body(json!({"ids": [error_id]}).to_string())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json::<Value>().await.unwrap()
}

/// A key remembered after its first use (no argon2id on later calls) is still refused as soon as
/// it is revoked; its last use is recorded without a write on every call.
async fn a_revoked_key_is_refused_at_once(backend: Backend) {
    use satisfaction::db::entities::api_key;
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    for id in ["R-1", "R-2", "R-3"] {
        let (status, _) = app.post_requests(&key, &closed_request(id).to_string()).await;
        assert_eq!(status, Status::Ok, "{id}");
    }
    let row = api_key::Entity::find().one(&app.db).await.unwrap().unwrap();
    let first_use = row.last_used_at.expect("last use recorded");
    assert!(chrono::Utc::now() - first_use < chrono::Duration::minutes(1));

    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .exec(&app.db)
        .await
        .unwrap();
    let (status, _) = app.post_requests(&key, &closed_request("R-4").to_string()).await;
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(service_request::Entity::find().count(&app.db).await.unwrap(), 3);
}

on_both_databases!(
    created_then_unchanged_then_updated,
    a_revoked_key_is_refused_at_once,
    a_mixed_batch_keeps_the_good_and_reports_each_bad,
    malformed_json_is_a_precise_400_and_is_kept,
    the_api_needs_a_valid_key,
    batches_over_the_limit_are_refused_whole,
    unknown_directions_can_be_rejected_then_replayed,
    unknown_directions_are_registered_by_default,
    the_same_contact_gets_the_same_hash,
    a_repeated_id_within_one_batch_is_one_request,
);
