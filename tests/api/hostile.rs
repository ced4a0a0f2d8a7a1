//! Hostile payloads through the HTTP API, on both databases: whatever an item holds (NUL and
//! other control characters, wrong types, huge strings, odd keys), the answer is never a 5xx and
//! the valid item sent beside it is stored.

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use rocket::http::Status;
use satisfaction::db::entities::{ingestion_error, service_request};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value, json};

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

const FIELDS: [&str; 12] = [
    "service_request_id",
    "status",
    "service_code",
    "service_name",
    "agency_responsible",
    "channel",
    "requested_datetime",
    "updated_datetime",
    "closed_datetime",
    "contact_email",
    "contact_phone",
    "locale",
];

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\\x7f]{1,4}",
        "[a-z0-9]{0,6}\\x00[a-z0-9]{0,6}",
        Just("closed".to_owned()),
        Just("2026-11-20T10:00:00Z".to_owned()),
        Just("null".to_owned()),
        Just(String::new()),
        "\\PC{300,400}",
    ]
}

fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => hostile_string().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => prop::collection::vec(hostile_string().prop_map(Value::String), 0..3).prop_map(Value::Array),
    ]
}

fn hostile_item() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec((prop::sample::select(FIELDS.to_vec()), hostile_value()), 0..12),
        prop::collection::vec((hostile_string(), hostile_value()), 0..2),
    )
        .prop_map(|(known, odd)| {
            let mut item = Map::new();
            for (key, value) in known {
                item.insert(key.to_owned(), value);
            }
            for (key, value) in odd {
                item.insert(key, value);
            }
            Value::Object(item)
        })
}

fn valid_item(n: usize) -> Value {
    json!({"service_request_id": format!("OK-{n}"), "status": "closed", "agency_responsible": "TP",
           "channel": "phone", "closed_datetime": "2026-11-20T10:00:00Z"})
}

async fn hostile_items_never_cost_a_valid_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = hostile_item();
    for n in 0..80 {
        let hostile = strategy.new_tree(&mut runner).expect("a case").current();
        let body = Value::Array(vec![valid_item(n), hostile.clone()]).to_string();
        let (status, answer) = app.post_requests(&key, &body).await;
        assert!(matches!(status, Status::Ok | Status::UnprocessableEntity), "{status} for {hostile}: {answer}");
        let stored = service_request::Entity::find()
            .filter(service_request::Column::CrmId.eq(format!("OK-{n}")))
            .one(&app.db)
            .await
            .unwrap();
        assert!(stored.is_some(), "the valid item beside {hostile} was lost");
    }
}

/// The case the issue names: a NUL in an id, beside a valid item, on PostgreSQL as on SQLite.
async fn a_nul_in_an_id_is_refused_with_its_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let body = r#"[{"service_request_id": "BAD\u0000ID", "status": "closed", "agency_responsible": "TP",
                    "channel": "phone", "closed_datetime": "2026-11-20T10:00:00Z"},
                   {"service_request_id": "GOOD", "status": "closed", "agency_responsible": "TP",
                    "channel": "phone", "closed_datetime": "2026-11-20T10:00:00Z"}]"#;
    let (status, answer) = app.post_requests(&key, body).await;
    assert_eq!(status, Status::UnprocessableEntity, "{answer}");
    assert_eq!(answer["items"][0]["outcome"], "rejected");
    assert_eq!(answer["items"][0]["service_request_id"], "BAD\\u{0}ID");
    let reason = answer["items"][0]["reasons"][0].clone();
    assert_eq!(reason["field"], "service_request_id");
    assert!(reason["message"].as_str().unwrap().contains("U+0000"), "{reason}");
    assert_eq!(answer["items"][1]["outcome"], "created");
    let kept = ingestion_error::Entity::find().one(&app.db).await.unwrap().expect("kept");
    assert_eq!(kept.crm_id.as_deref(), Some("BAD\\u{0}ID"));
    assert!(kept.raw_payload.contains("BAD\\u0000ID"), "{}", kept.raw_payload);

    // A body that is not JSON and holds a NUL is kept too, escaped.
    let (status, answer) = app.post_requests(&key, "{\"service_request_id\": \"X\0").await;
    assert_eq!(status, Status::BadRequest, "{answer}");
    let kept = ingestion_error::Entity::find().all(&app.db).await.unwrap();
    assert!(kept.iter().any(|k| k.raw_payload.contains("X\\u{0}")), "{kept:?}");
}

on_both_databases!(hostile_items_never_cost_a_valid_one, a_nul_in_an_id_is_refused_with_its_reason);
