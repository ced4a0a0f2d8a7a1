//! Several CRM clients posting at once, on both databases: eight clients send overlapping
//! batches (the same ids in several batches, a rejected item in each) at the same time. No
//! answer is a 5xx, every valid item is stored once, and across all answers each id is
//! "created" exactly once.

use std::collections::{HashMap, HashSet};

use rocket::http::{ContentType, Header, Status};
use satisfaction::db::entities::{ingestion_error, service_request};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

const CLIENTS: usize = 8;
const ROUNDS: usize = 12;
const BATCH: usize = 40;
const IDS: usize = 300;

fn batch(client: usize, round: usize) -> Value {
    let mut items: Vec<Value> = (0..BATCH)
        .map(|k| {
            // Windows that overlap between clients and rounds.
            let id = (round * 37 + client * 23 + k * 7) % IDS;
            let direction = ["TP", "ENV", "URB"][id % 3];
            json!({
                "service_request_id": format!("CC-{id}"),
                "status": "closed",
                "agency_responsible": direction,
                "channel": "phone",
                "service_name": format!("version {}", round % 3),
                "closed_datetime": "2026-11-20T10:00:00Z",
                "contact_email": format!("c{id}@ville.example"),
            })
        })
        .collect();
    items.push(json!({"service_request_id": format!("BAD-{client}-{round}"), "status": "closed", "channel": "fax"}));
    Value::Array(items)
}

async fn eight_clients_posting_overlapping_batches_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    let client = &app.client;
    let post = |body: Value| {
        let key = key.clone();
        async move {
            let response = client
                .post("/api/v1/requests")
                .header(Header::new("Authorization", format!("Bearer {key}")))
                .header(ContentType::JSON)
                .body(body.to_string())
                .dispatch()
                .await;
            let status = response.status();
            (status, response.into_json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let clients = (0..CLIENTS).map(|c| {
        let post = &post;
        async move {
            let mut answers = Vec::new();
            for round in 0..ROUNDS {
                answers.push(post(batch(c, round)).await);
            }
            answers
        }
    });
    let answers: Vec<(Status, Value)> = futures_util::future::join_all(clients).await.into_iter().flatten().collect();

    let mut created: HashMap<String, usize> = HashMap::new();
    let mut sent: HashSet<String> = HashSet::new();
    for (status, body) in &answers {
        assert_eq!(*status, Status::UnprocessableEntity, "one rejected item per batch, the rest taken: {body}");
        for item in body["items"].as_array().unwrap() {
            let id = item["service_request_id"].as_str().unwrap().to_owned();
            match item["outcome"].as_str().unwrap() {
                "created" => *created.entry(id.clone()).or_default() += 1,
                "updated" | "unchanged" => {}
                "rejected" => assert!(id.starts_with("BAD-"), "{item}"),
                other => panic!("unexpected outcome {other}"),
            }
            if !id.starts_with("BAD-") {
                sent.insert(id);
            }
        }
    }
    assert!(created.values().all(|&n| n == 1), "an id created twice: {created:?}");
    assert_eq!(created.keys().cloned().collect::<HashSet<_>>(), sent, "every id sent was created once");
    let stored = service_request::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(stored.len(), sent.len(), "every valid item stored, once");
    assert!(stored.iter().all(|r| r.service_name.as_deref().is_some_and(|n| n.starts_with("version "))));
    let kept = ingestion_error::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(kept as usize, CLIENTS * ROUNDS, "each rejected item kept");
}

on_both_databases!(eight_clients_posting_overlapping_batches_at_once);

/// A database that cannot take the work (here: its only connection held by another writer past
/// the acquire timeout) is a 503 with `Retry-After`, never a 500, and nothing is written.
async fn a_busy_database_is_a_503_with_retry_after(backend: Backend) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = crate::helpers::spawn_app_with(backend, |f| {
        f.merge((
            "database",
            serde_json::json!({"max_connections": 1, "min_connections": 0, "acquire_timeout_secs": 1, "migrate_on_start": true}),
        ))
    })
    .await;
    let key = app.api_key().await;
    let holder = app.db.begin().await.unwrap();
    holder.execute_unprepared("SELECT 1").await.unwrap();
    let (status, body) = app.post_requests(&key, &batch(0, 0).to_string()).await;
    assert_eq!(status, Status::ServiceUnavailable, "{body}");
    assert!(matches!(body["error"]["code"].as_str(), Some("busy" | "unavailable")), "{body}");
    let response = app
        .client
        .get("/api/v1/sampling-runs")
        .header(Header::new("Authorization", format!("Bearer {key}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(response.headers().get_one("Retry-After"), Some("2"));
    holder.rollback().await.unwrap();
    assert_eq!(service_request::Entity::find().count(&app.db).await.unwrap(), 0, "nothing half-written");
    let (status, _) = app.post_requests(&key, &batch(0, 0).to_string()).await;
    assert_eq!(status, Status::UnprocessableEntity, "once free, the same batch is taken");
}

on_both_databases!(a_busy_database_is_a_503_with_retry_after);
