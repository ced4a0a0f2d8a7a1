//! The frame of the nonresponse adjustment (closed requests per stratum and city month of
//! closing) is kept by every write of `service_requests`, exactly: after imports, corrections
//! (closed → cancelled, open → closed, another month, another channel) and concurrent writers,
//! it equals a recompute from `service_requests`.

use std::sync::Arc;

use satisfaction::{db::repo, frame, jobs::FileKind};

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

/// Request `i` of a CSV: four statuses, three months in Québec time (23:30 on 31 October is
/// November in UTC), two directions, three channels, a contact on some only; `shift` changes
/// statuses, months and channels of some rows.
fn requests_csv(count: usize, shift: usize) -> String {
    let mut text = String::from("service_request_id,status,agency_responsible,channel,closed_datetime,contact_email\n");
    for i in 0..count {
        let k = i + shift * (i % 3);
        let status = ["closed", "closed", "closed", "open", "cancelled", "duplicate"][(k / 2) % 6];
        let channel = ["phone", "email", "web_form"][(k / 5) % 3];
        let direction = ["TP", "ENV"][(i / 7) % 2];
        let closed = match k % 4 {
            0 => "2026-10-31T23:30:00-04:00".to_owned(),
            1 => format!("2026-09-{:02}T10:00:00-04:00", 1 + k % 28),
            2 => format!("2026-11-{:02}T10:00:00-05:00", 1 + k % 28),
            _ => String::new(),
        };
        let email = if i % 5 == 0 { String::new() } else { format!("c{i}@exemple.ca") };
        text.push_str(&format!("F-{i},{status},{direction},{channel},{closed},{email}\n"));
    }
    text
}

async fn the_frame_kept_by_each_write_equals_a_recompute(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = app.db.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.csv");
    for shift in [0, 1, 2] {
        std::fs::write(&file, requests_csv(240, shift)).unwrap();
        app.jobs
            .import_file(FileKind::Requests, &file, &dir.path().join("rejected.csv"), &mut |_, _, _| {})
            .await
            .unwrap();
    }
    // Four CRM clients at once, over the same ids (some create, some update what another created).
    let jobs = Arc::new(app.jobs.clone());
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let jobs = jobs.clone();
            tokio::spawn(async move {
                for batch in 0..5 {
                    let items: Vec<serde_json::Value> = (0..20)
                        .map(|j| {
                            let id = (writer * 7 + batch * 20 + j) % 60;
                            let channel = ["phone", "email"][(writer + batch) % 2];
                            serde_json::json!({
                                "service_request_id": format!("W-{id}"),
                                "status": if (writer + j) % 4 == 0 { "cancelled" } else { "closed" },
                                "agency_responsible": "TP",
                                "channel": channel,
                                "closed_datetime": format!("2026-11-{:02}T12:00:00Z", 1 + (writer + j) % 20),
                            })
                        })
                        .collect();
                    jobs.ingest_api_body("test", &serde_json::Value::Array(items).to_string()).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer failed");
    }

    let kept = repo::frame::rows(&db).await.unwrap();
    let zone = app.jobs.settings.time_zone;
    frame::rebuild(&db, zone).await.unwrap();
    let recomputed = repo::frame::rows(&db).await.unwrap();
    assert!(kept.len() >= 12, "months × directions × channels: {kept:?}");
    assert_eq!(kept, recomputed);
    assert!(kept.iter().all(|row| row.requests > 0), "no empty row is kept");
    // 23:30 on 31 October in Québec is October's, and only closed requests count.
    let counts = repo::frame::counts(&db, Some("2026-10"), Some("2026-10")).await.unwrap();
    assert!(!counts.is_empty() && counts.iter().all(|c| c.2 == "2026-10"), "{counts:?}");
    let closed_in_october: u64 = counts.iter().map(|c| c.3).sum();
    let csv = requests_csv(240, 2);
    let expected =
        csv.lines().skip(1).filter(|line| line.contains(",closed,") && line.contains("2026-10-31T23:30")).count()
            as u64;
    assert_eq!(closed_in_october, expected);
}

on_both_databases!(the_frame_kept_by_each_write_equals_a_recompute);
