//! The Open311 GeoReport v2 poller against an Open311 server on loopback that behaves like the
//! ones in the wild: the standard's filters (windows on `requested_datetime`, `status`, lists of
//! `service_request_id`), and, on demand, a wrapped list, a capped `page_size`, unreadable pages.

mod poller;
mod wild;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Duration, Utc};
use rocket::figment::Figment;
use satisfaction::{clock::Clock, config::Settings, jobs::Jobs};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::test_figment;

/// How the server departs from the standard.
#[derive(Default)]
struct Behaviour {
    /// Wrap the list in an object under this key (`requests`, `service_requests`).
    wrapper: Option<&'static str>,
    /// The most records a page holds, whatever `page_size` asks.
    cap: Option<usize>,
    /// Page number → how many more times it is answered with invalid JSON.
    broken_pages: HashMap<usize, usize>,
}

struct Open311Server {
    base: String,
    records: Arc<Mutex<Vec<Value>>>,
    queries: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

impl Open311Server {
    async fn start(records: Vec<Value>) -> Open311Server {
        Open311Server::with(records, Behaviour::default()).await
    }

    async fn with(records: Vec<Value>, behaviour: Behaviour) -> Open311Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/open311/v2", listener.local_addr().unwrap());
        let records = Arc::new(Mutex::new(records));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let (served, seen, how) = (records.clone(), queries.clone(), behaviour.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (served, seen, how) = (served.clone(), seen.clone(), how.clone());
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
                    let (status, body) = answer(&target, &served, &seen, &how);
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

/// A date-time as records in the wild write it, read with or without an offset (UTC if none).
fn instant(value: &Value) -> Option<DateTime<Utc>> {
    let raw = value.as_str()?;
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%#z").map(|d| d.with_timezone(&Utc)))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S").map(|d| d.and_utc()))
        .ok()
}

fn answer(
    target: &str,
    records: &Mutex<Vec<Value>>,
    queries: &Mutex<Vec<HashMap<String, String>>>,
    behaviour: &Mutex<Behaviour>,
) -> (&'static str, String) {
    let url = url::Url::parse(&format!("http://x{target}")).unwrap();
    if url.path() != "/open311/v2/requests.json" {
        return ("404 Not Found", "[]".into());
    }
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    queries.lock().unwrap().push(query.clone());
    let mut how = behaviour.lock().unwrap();
    let wrapper = how.wrapper;
    let wrap = |items: Vec<Value>| match wrapper {
        Some(key) => json!({ key: items }).to_string(),
        None => Value::Array(items).to_string(),
    };
    // By id: those requests, whatever the other parameters say (as the standard has it).
    if let Some(ids) = query.get("service_request_id") {
        let wanted: HashSet<&str> = ids.split(',').collect();
        let found: Vec<Value> =
            records.lock().unwrap().iter().filter(|r| wanted.contains(id_of(r).as_str())).cloned().collect();
        return ("200 OK", wrap(found));
    }
    let parse =
        |key: &str| query.get(key).and_then(|v| DateTime::parse_from_rfc3339(v).ok()).map(|d| d.with_timezone(&Utc));
    let (start, end, after) = (parse("start_date"), parse("end_date"), parse("updated_after"));
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    if let Some(left) = how.broken_pages.get_mut(&page)
        && *left > 0
    {
        *left -= 1;
        return ("200 OK", "[{\"service_request_id\": \"oops\", ".into());
    }
    let asked: usize = query.get("page_size").and_then(|p| p.parse().ok()).unwrap_or(1000);
    let size = how.cap.map_or(asked, |cap| asked.min(cap));
    let matching: Vec<Value> = records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| {
            // The standard: start_date and end_date bound the *requested* time.
            let requested = instant(&r["requested_datetime"]).unwrap_or(DateTime::<Utc>::MIN_UTC);
            let updated = instant(&r["updated_datetime"]).unwrap_or(DateTime::<Utc>::MIN_UTC);
            start.is_none_or(|s| requested >= s)
                && end.is_none_or(|e| requested <= e)
                && after.is_none_or(|a| updated > a)
                && query.get("status").is_none_or(|s| r["status"].as_str() == Some(s.as_str()))
        })
        .cloned()
        .collect();
    let page_items: Vec<Value> = matching.into_iter().skip((page - 1) * size).take(size).collect();
    ("200 OK", wrap(page_items))
}

fn id_of(record: &Value) -> String {
    match &record["service_request_id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn record(id: usize, updated: DateTime<Utc>) -> Value {
    let mut record = json!({
        "service_request_id": format!("O-{id}"),
        "status": "closed",
        "service_code": "006",
        "service_name": "Collecte des ordures",
        "agency_responsible": "ENV",
        "requested_datetime": (updated - Duration::hours(2)).to_rfc3339(),
        "updated_datetime": updated.to_rfc3339(),
        "address": "100 rue Principale"
    });
    // Every other record has the `extensions=true` attributes with channel and contact.
    if id.is_multiple_of(2) {
        record["extended_attributes"] = json!({"channel": "phone", "email": format!("citoyen{id}@ville.example")});
    }
    record
}

/// The jobs polling `endpoint`, on a clock standing at `now`, with settings changed by `configure`.
fn jobs_for(
    db: &DatabaseConnection,
    database_url: &str,
    endpoint: &str,
    now: DateTime<Utc>,
    configure: impl FnOnce(Figment) -> Figment,
) -> Jobs {
    let figment = configure(
        test_figment(database_url)
            .merge(("open311.endpoint", endpoint))
            .merge(("open311.page_size", 10))
            .merge(("open311.initial_lookback_days", 200)),
    );
    Jobs::new(db.clone(), Arc::new(Settings::from_figment(&figment).unwrap()), Clock::fixed(now))
}
