//! The Open311 GeoReport v2 poller against a small Open311 server on loopback.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Duration, Utc};
use satisfaction::{clock::Clock, config::Settings, db::entities::service_request, jobs::Jobs};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Backend, migrated_database, test_figment};
use crate::on_both_databases;

/// A GeoReport v2 server: `GET /requests.json` filtered by `start_date`/`end_date` on
/// `updated_datetime`, paginated with `page`/`page_size`. Records every query it receives.
struct Open311Server {
    base: String,
    records: Arc<Mutex<Vec<Value>>>,
    queries: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

impl Open311Server {
    async fn start(records: Vec<Value>) -> Open311Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/open311/v2", listener.local_addr().unwrap());
        let records = Arc::new(Mutex::new(records));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let (served, seen) = (records.clone(), queries.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (served, seen) = (served.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 16 * 1024];
                    let mut read = 0;
                    while !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                    }
                    let head = String::from_utf8_lossy(&buffer[..read]).into_owned();
                    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let (status, body) = answer(&target, &served, &seen);
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Open311Server { base, records, queries }
    }
}

fn answer(
    target: &str,
    records: &Mutex<Vec<Value>>,
    queries: &Mutex<Vec<HashMap<String, String>>>,
) -> (&'static str, String) {
    let url = url::Url::parse(&format!("http://x{target}")).unwrap();
    if url.path() != "/open311/v2/requests.json" {
        return ("404 Not Found", "[]".into());
    }
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    queries.lock().unwrap().push(query.clone());
    let parse =
        |key: &str| query.get(key).and_then(|v| DateTime::parse_from_rfc3339(v).ok()).map(|d| d.with_timezone(&Utc));
    let (start, end) = (parse("start_date"), parse("end_date"));
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let size: usize = query.get("page_size").and_then(|p| p.parse().ok()).unwrap_or(1000);
    let matching: Vec<Value> = records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| {
            let updated =
                DateTime::parse_from_rfc3339(r["updated_datetime"].as_str().unwrap()).unwrap().with_timezone(&Utc);
            start.is_none_or(|s| updated >= s) && end.is_none_or(|e| updated <= e)
        })
        .cloned()
        .collect();
    let page_items: Vec<Value> = matching.into_iter().skip((page - 1) * size).take(size).collect();
    ("200 OK", Value::Array(page_items).to_string())
}

fn record(id: usize, updated: DateTime<Utc>) -> Value {
    let mut record = json!({
        "service_request_id": format!("O-{id}"),
        "status": "closed",
        "service_code": "006",
        "service_name": "Collecte des ordures",
        "agency_responsible": "ENV",
        "requested_datetime": (updated - Duration::days(2)).to_rfc3339(),
        "updated_datetime": updated.to_rfc3339(),
        "address": "100 rue Principale"
    });
    // Every other record has the `extensions=true` attributes with channel and contact.
    if id.is_multiple_of(2) {
        record["extended_attributes"] = json!({"channel": "phone", "email": format!("citoyen{id}@ville.example")});
    }
    record
}

/// The jobs polling `endpoint`, on a clock standing at `now`.
fn jobs_for(db: &DatabaseConnection, database_url: &str, endpoint: &str, now: DateTime<Utc>) -> Jobs {
    let figment = test_figment(database_url)
        .merge(("open311.endpoint", endpoint))
        .merge(("open311.page_size", 10))
        .merge(("open311.initial_lookback_days", 200));
    Jobs::new(db.clone(), Arc::new(Settings::from_figment(&figment).unwrap()), Clock::fixed(now))
}

async fn the_poller_pages_through_and_resumes_from_its_mark(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let now: DateTime<Utc> = "2026-11-28T12:00:00Z".parse().unwrap();
    // 25 records over the last 150 days: two 90-day windows, three pages in the busy one.
    let records = (0..25).map(|i| record(i, now - Duration::days(150) + Duration::days(6 * i as i64))).collect();
    let server = Open311Server::start(records).await;
    let jobs = jobs_for(&db, &database.url, &server.base, now);

    let summary = jobs.poll_open311().await.unwrap();
    assert_eq!(summary.items.created, 25, "{summary:?}");
    assert_eq!(summary.items.rejected, 0);
    assert_eq!(summary.windows, 3, "200 days in windows of at most 90");
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 25);
    let queries = server.queries.lock().unwrap().clone();
    assert!(queries.iter().all(|q| q["status"] == "closed" && q["extensions"] == "true"));
    for q in &queries {
        let span = q["end_date"].parse::<DateTime<Utc>>().unwrap() - q["start_date"].parse::<DateTime<Utc>>().unwrap();
        assert!(span <= Duration::days(90), "a window of {span}");
    }
    assert!(queries.iter().any(|q| q["page"] == "2"), "pagination followed");

    let with_contact = service_request::Entity::find().all(&db).await.unwrap();
    let phone = with_contact.iter().find(|r| r.crm_id == "O-4").unwrap();
    assert_eq!(phone.contact_email.as_deref(), Some("citoyen4@ville.example"));
    let no_contact = with_contact.iter().find(|r| r.crm_id == "O-3").unwrap();
    assert_eq!(no_contact.contact_email, None, "stored without contact");
    assert_eq!(no_contact.closed_at, Some(now - Duration::days(150) + Duration::days(18)), "closed at its last update");

    // Later: one new record. The next poll starts at the mark (minus the overlap), not 200 days back.
    server.queries.lock().unwrap().clear();
    let later = now + Duration::hours(6);
    server.records.lock().unwrap().push(record(100, later - Duration::hours(1)));
    jobs.clock.set(later);
    let summary = jobs.poll_open311().await.unwrap();
    assert_eq!(summary.items.created, 1, "{summary:?}");
    let queries = server.queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 1);
    let asked_from: DateTime<Utc> = queries[0]["start_date"].parse().unwrap();
    assert_eq!(asked_from, now - Duration::minutes(60));
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 26);
}

async fn an_unreachable_or_broken_endpoint_is_a_clear_error(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let now = Utc::now();
    // Nothing listens on port 9 of loopback.
    let jobs = jobs_for(&db, &database.url, "http://127.0.0.1:9/open311/v2", now);
    let err = jobs.poll_open311().await.unwrap_err().to_string();
    assert!(err.contains("cannot reach the Open311 endpoint"), "{err}");

    let server = Open311Server::start(vec![]).await;
    let jobs = jobs_for(&db, &database.url, &format!("{}/wrong-path", server.base), now);
    let err = jobs.poll_open311().await.unwrap_err().to_string();
    assert!(err.contains("answered 404"), "{err}");
    assert!(
        satisfaction::db::repo::job_state::get(&db, satisfaction::ingestion::open311::STATE_KEY)
            .await
            .unwrap()
            .is_none(),
        "no mark after a failure"
    );
}

on_both_databases!(
    the_poller_pages_through_and_resumes_from_its_mark,
    an_unreachable_or_broken_endpoint_is_a_clear_error
);
