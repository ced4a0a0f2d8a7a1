//! The poller's own promises: windows of at most 90 days, paging, a mark to resume from, and a
//! clear error when the server cannot be reached.

use chrono::{DateTime, Duration, Utc};
use satisfaction::db::entities::service_request;
use sea_orm::{EntityTrait, PaginatorTrait};

use super::{Open311Server, jobs_for, record};
use crate::helpers::{Backend, migrated_database};
use crate::on_both_databases;

async fn the_poller_pages_through_and_resumes_from_its_mark(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let now: DateTime<Utc> = "2026-11-28T12:00:00Z".parse().unwrap();
    // 25 records over the last 150 days: two 90-day windows, three pages in the busy one.
    let records = (0..25).map(|i| record(i, now - Duration::days(150) + Duration::days(6 * i as i64))).collect();
    let server = Open311Server::start(records).await;
    let jobs = jobs_for(&db, &database.url, &server.base, now, |f| f);

    let summary = jobs.poll_open311().await.unwrap();
    assert_eq!(summary.items.created, 25, "{summary:?}");
    assert_eq!(summary.items.rejected, 0);
    assert_eq!(summary.windows, 3, "200 days in windows of at most 90");
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 25);
    let queries = server.queries.lock().unwrap().clone();
    assert!(queries.iter().all(|q| q["extensions"] == "true" && !q.contains_key("status")), "every status");
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
    assert_eq!(queries.len(), 2, "the new window's page, then an empty one: {queries:?}");
    let asked_from: DateTime<Utc> = queries[0]["start_date"].parse().unwrap();
    assert_eq!(asked_from, now - Duration::minutes(60));
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 26);
}

async fn an_unreachable_or_broken_endpoint_is_a_clear_error(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let now = Utc::now();
    // Nothing listens on port 9 of loopback.
    let jobs = jobs_for(&db, &database.url, "http://127.0.0.1:9/open311/v2", now, |f| f);
    let err = jobs.poll_open311().await.unwrap_err().to_string();
    assert!(err.contains("cannot reach the Open311 endpoint"), "{err}");

    let server = Open311Server::start(vec![]).await;
    let jobs = jobs_for(&db, &database.url, &format!("{}/wrong-path", server.base), now, |f| f);
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

/// Every instance runs the scheduler: while one polls the feed, the others leave it alone; a
/// poller that died holds nothing after an hour.
async fn one_instance_polls_at_a_time(backend: Backend) {
    use satisfaction::db::repo::job_state;
    let (database, db) = migrated_database(backend).await;
    let now: DateTime<Utc> = "2026-11-28T12:00:00Z".parse().unwrap();
    let server = Open311Server::start(vec![record(1, now - Duration::days(2))]).await;
    let jobs = jobs_for(&db, &database.url, &server.base, now, |f| f);
    assert!(
        job_state::try_acquire_lease(&db, "lock:open311", "other-instance", now, now - Duration::hours(1))
            .await
            .unwrap()
    );

    let summary = jobs.poll_open311().await.unwrap();
    assert!(summary.skipped, "{summary:?}");
    assert_eq!(summary.to_string(), "open311: skipped, another instance is polling the feed");
    assert!(server.queries.lock().unwrap().is_empty(), "the feed was not asked");
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 0);

    jobs.clock.set(now + Duration::minutes(61));
    let summary = jobs.poll_open311().await.unwrap();
    assert!(!summary.skipped, "the dead instance's lease is taken over");
    assert_eq!(summary.items.created, 1);
    // Released at the end of the poll: the next one runs at once.
    assert!(!jobs.poll_open311().await.unwrap().skipped);
}

on_both_databases!(
    the_poller_pages_through_and_resumes_from_its_mark,
    an_unreachable_or_broken_endpoint_is_a_clear_error,
    one_instance_polls_at_a_time
);
