//! Open311 servers as they are in the wild: numeric ids, a wrapped list, `"null"` and empty
//! strings, offsets written three ways and none at all, a `page_size` capped by the server, the
//! city's own channel and direction words, a request closed months after it was opened, and a
//! page of invalid JSON.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use satisfaction::db::entities::{channel, direction, ingestion_error, service_request};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use super::{Behaviour, Open311Server, jobs_for, record};
use crate::helpers::{Backend, migrated_database};
use crate::on_both_databases;

fn now() -> DateTime<Utc> {
    "2026-11-28T12:00:00Z".parse().unwrap()
}

fn closed(id: Value, requested: &str, updated: &str) -> Value {
    json!({
        "service_request_id": id, "status": "closed", "service_code": "4ffa4c69601827691b000018",
        "service_name": "Pothole in Street", "agency_responsible": "TP",
        "requested_datetime": requested, "updated_datetime": updated, "channel": "phone",
        "zipcode": "", "address": "1 N State St"
    })
}

async fn stored(db: &sea_orm::DatabaseConnection) -> HashMap<String, service_request::Model> {
    service_request::Entity::find().all(db).await.unwrap().into_iter().map(|r| (r.crm_id.clone(), r)).collect()
}

async fn real_shaped_records_are_all_taken_or_rejected_with_a_reason(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let mut records = vec![
        // A numeric id and RFC 3339 offsets.
        closed(json!(638344), "2026-09-01T08:00:00-04:00", "2026-09-02T16:30:00-04:00"),
        // "null" and empty strings for the optional contact: absent. The city's word "web".
        {
            let mut r = closed(json!("CHI-2"), "2026-09-05T09:00:00Z", "2026-09-06T09:00:00Z");
            r["channel"] = json!("web");
            r["extended_attributes"] = json!({"email": "null", "phone": ""});
            r
        },
        // No offset at all (read in the city's time zone), and the word "open311".
        {
            let mut r = closed(json!("CHI-3"), "2026-10-03T08:00:00", "2026-10-03T10:00:00");
            r["channel"] = json!("open311");
            r
        },
        // ISO 8601 offsets without a colon, and the city's own name for a direction.
        {
            let mut r = closed(json!("CHI-4"), "2026-10-10T08:00:00-0400", "2026-10-11T08:00:00-0400");
            r["agency_responsible"] = json!("Streets & Sanitation");
            r
        },
        // Two that cannot be taken, each for its reason.
        {
            let mut r = closed(json!("CHI-5"), "2026-10-12T08:00:00Z", "2026-10-13T08:00:00Z");
            r["status"] = json!("weird");
            r
        },
        {
            let mut r = closed(json!("CHI-6"), "2026-10-14T08:00:00Z", "2026-10-15T08:00:00Z");
            r["agency_responsible"] = json!("null");
            r
        },
        // Opened five months ago, still open at the first poll.
        json!({"service_request_id": "CHI-LATE", "status": "open", "agency_responsible": "TP",
               "requested_datetime": "2026-07-01T08:00:00Z", "updated_datetime": "2026-07-01T08:00:00Z",
               "channel": "phone", "service_name": "Tree Trim"}),
    ];
    // Enough in one 90-day window that the capped server needs several pages.
    for i in 0..9 {
        records.push(record(200 + i, now() - Duration::days(20) + Duration::hours(i as i64)));
    }
    let behaviour = Behaviour { wrapper: Some("requests"), cap: Some(4), ..Behaviour::default() };
    let server = Open311Server::with(records, behaviour).await;
    let jobs = jobs_for(&db, &database.url, &server.base, now(), |f| {
        f.merge(("ingestion.assume_local_time", true))
            .merge(("open311.channel_aliases", json!({"WEB": "web_form", "open311": "portal"})))
            .merge(("open311.direction_aliases", json!({"Streets & Sanitation": "TP"})))
    });

    let summary = jobs.poll_open311().await.unwrap();
    // 16 records, each created or rejected once; re-read ones (a record on a window's edge, the
    // open one asked again by id) are unchanged.
    assert_eq!((summary.items.created, summary.items.rejected, summary.items.updated), (14, 2, 0), "{summary}");
    assert_eq!(summary.rechecked, 1, "the open one, asked by id");
    assert!(summary.unreadable_pages.is_empty());
    let rows = stored(&db).await;
    for id in ["638344", "CHI-2", "CHI-3", "CHI-4", "CHI-LATE", "O-200", "O-208"] {
        assert!(rows.contains_key(id), "{id} missing: no window or page skipped");
    }
    assert_eq!(rows["638344"].closed_at, Some("2026-09-02T20:30:00Z".parse().unwrap()));
    assert_eq!(rows["CHI-2"].contact_email, None, "\"null\" is no e-mail address");
    assert_eq!(rows["CHI-3"].closed_at, Some("2026-10-03T14:00:00Z".parse().unwrap()), "10:00 in Québec, EDT");
    assert_eq!(rows["CHI-4"].requested_at, Some("2026-10-10T12:00:00Z".parse().unwrap()));
    let channels: HashMap<i64, String> =
        channel::Entity::find().all(&db).await.unwrap().into_iter().map(|c| (c.id, c.code)).collect();
    assert_eq!(channels[&rows["CHI-2"].channel_id], "web_form");
    assert_eq!(channels[&rows["CHI-3"].channel_id], "portal");
    let directions: HashMap<i64, String> =
        direction::Entity::find().all(&db).await.unwrap().into_iter().map(|d| (d.id, d.code)).collect();
    assert_eq!(directions[&rows["CHI-4"].direction_id], "TP");
    assert_eq!(rows["CHI-LATE"].status, "open");
    let kept = ingestion_error::Entity::find().all(&db).await.unwrap();
    let reasons: Vec<String> = kept.iter().map(|k| k.reasons.to_string()).collect();
    assert_eq!(kept.len(), 2, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("unknown status")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("agency_responsible") && r.contains("required")), "{reasons:?}");

    // The next day the late request is closed; its requested time lies in no window read now.
    let later = now() + Duration::days(1);
    for r in server.records.lock().unwrap().iter_mut().filter(|r| r["service_request_id"] == "CHI-LATE") {
        r["status"] = json!("closed");
        r["updated_datetime"] = json!((later - Duration::hours(2)).to_rfc3339());
    }
    jobs.clock.set(later);
    let summary = jobs.poll_open311().await.unwrap();
    assert!(summary.rechecked >= 1, "{summary}");
    let late = &stored(&db).await["CHI-LATE"];
    assert_eq!(late.status, "closed");
    assert_eq!(late.closed_at, Some(later - Duration::hours(2)));

    // Reading the same windows again keeps each rejected record once, counting the sighting.
    satisfaction::db::repo::job_state::put(&db, "open311.high_water_mark", json!({}), later).await.unwrap();
    let summary = jobs.poll_open311().await.unwrap();
    assert_eq!(summary.items.rejected, 2);
    let kept = ingestion_error::Entity::find().all(&db).await.unwrap();
    assert_eq!(kept.len(), 2, "kept once");
    assert!(kept.iter().all(|k| k.seen_count == 2), "{kept:?}");
}

async fn an_unreadable_page_is_kept_retried_then_skipped(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let records: Vec<Value> =
        (0..12).map(|i| record(300 + i, now() - Duration::days(3) + Duration::hours(i as i64))).collect();
    let behaviour = Behaviour {
        wrapper: Some("service_requests"),
        broken_pages: HashMap::from([(2, usize::MAX)]),
        ..Behaviour::default()
    };
    let server = Open311Server::with(records, behaviour).await;
    let jobs = jobs_for(&db, &database.url, &server.base, now(), |f| {
        f.merge(("open311.page_size", 4))
            .merge(("open311.initial_lookback_days", 10))
            .merge(("open311.max_page_attempts", 2))
    });

    let first = jobs.poll_open311().await.unwrap();
    assert_eq!(first.items.created, 4, "{first}");
    assert_eq!(first.high_water_mark, None, "the mark stays before a window not fully read");
    let page = &first.unreadable_pages[0];
    assert_eq!((page.attempt, page.gave_up), (1, false));
    assert!(page.url.contains("page=2") && !page.url.contains("api_key"), "{}", page.url);
    assert!(first.to_string().contains("unreadable page"), "the summary says so: {first}");

    let second = jobs.poll_open311().await.unwrap();
    let page = &second.unreadable_pages[0];
    assert_eq!((page.attempt, page.gave_up), (2, true), "{second}");
    assert_eq!(second.items.created, 4, "page 3 read after page 2 was given up");
    assert!(second.high_water_mark.is_some(), "then the poll moves on");
    let kept = ingestion_error::Entity::find().all(&db).await.unwrap();
    assert_eq!(kept.len(), 1, "the same page kept once: {kept:?}");
    assert_eq!(kept[0].seen_count, 2);
    assert!(
        kept[0].raw_payload.starts_with("GET ") && kept[0].raw_payload.contains("\"oops\""),
        "{}",
        kept[0].raw_payload
    );
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 8);
}

on_both_databases!(
    real_shaped_records_are_all_taken_or_rejected_with_a_reason,
    an_unreadable_page_is_kept_retried_then_skipped
);

/// Records rejected for the city's own channel word are taken once an alias says what it means:
/// the alias applies to the kept records on replay, as to new ones.
async fn an_alias_added_later_takes_the_kept_records_on_replay(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let mut web = closed(json!("CHI-W"), "2026-11-01T08:00:00Z", "2026-11-02T08:00:00Z");
    web["channel"] = json!("web");
    let server = Open311Server::start(vec![web]).await;
    let before = jobs_for(&db, &database.url, &server.base, now(), |f| f);
    let summary = before.poll_open311().await.unwrap();
    assert_eq!(summary.items.rejected, 1, "{summary}");

    let after = jobs_for(&db, &database.url, &server.base, now(), |f| {
        f.merge(("open311.channel_aliases", json!({"web": "web_form"})))
    });
    let report = after.replay("test", &[]).await.unwrap();
    assert_eq!(report.still_rejected().count(), 0, "{report}");
    let rows = stored(&db).await;
    let channels: HashMap<i64, String> =
        channel::Entity::find().all(&db).await.unwrap().into_iter().map(|c| (c.id, c.code)).collect();
    assert_eq!(channels[&rows["CHI-W"].channel_id], "web_form");
    let kept = ingestion_error::Entity::find().one(&db).await.unwrap().unwrap();
    assert!(kept.resolved_at.is_some(), "the kept record is resolved");
}

on_both_databases!(an_alias_added_later_takes_the_kept_records_on_replay);
