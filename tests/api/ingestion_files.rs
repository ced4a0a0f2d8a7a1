//! `satisfaction import requests|responses FILE.csv`, run as an operator would, on both databases.

use satisfaction::db::entities::{ingestion_error, response, service_request};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::cli::{satisfaction, stderr};
use crate::helpers::{Backend, migrated_database};
use crate::on_both_databases;

const REQUESTS_CSV: &str = "\u{feff}service_request_id;status;service_code;service_name;agency_responsible;channel;requested_datetime;closed_datetime;contact_email;contact_phone;locale\r\n\
2026-1;closed;NP;Nid-de-poule;TP;phone;2026-11-02T09:30:00-05:00;2026-11-03T15:00:00-05:00;a@ville.example;;fr\r\n\
2026-2;closed;NP;Nid-de-poule;TP;web_form;2026-11-02T09:30:00-05:00;2026-11-03T15:00:00-05:00;;418 555 0134;en\r\n\
2026-3;closed;NP;Nid-de-poule;TP;fax;2026-11-02T09:30:00-05:00;2026-11-03T15:00:00-05:00;;;fr\r\n\
2026-1;closed;NP;Nid-de-poule;TP;phone;2026-11-02T09:30:00-05:00;2026-11-03T15:00:00-05:00;a@ville.example;;fr\r\n\
2026-4;closed;NP;Nid-de-poule;ENV;counter;2026-11-02T09:30:00-05:00\r\n\
2026-5;closed;NP;Nid-de-poule;ENV;counter;2026-11-05T09:30:00-05:00;2026-11-04T09:30:00-05:00;;;fr\r\n\
;;;;;;;;;;\r\n";

async fn a_csv_import_reports_rejected_rows_by_line(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demandes.csv");
    std::fs::write(&file, REQUESTS_CSV).unwrap();

    let output = satisfaction(Some(&database.url), &["import", "requests", file.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(3), "some rows rejected: {}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("created 2, updated 0, unchanged 1, rejected 3"), "{stdout}");
    assert!(stderr(&output).contains("demandes.rejected.csv"));

    let report = std::fs::read_to_string(dir.path().join("demandes.rejected.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "line,service_request_id,field,message");
    assert!(lines.iter().any(|l| l.starts_with("4,2026-3,channel,")), "{report}");
    assert!(lines.iter().any(|l| l.starts_with("6,2026-4,,\"the row has 7 fields, the header has 11")), "{report}");
    assert!(lines.iter().any(|l| l.starts_with("7,2026-5,closed_datetime,")), "{report}");

    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 2);
    let kept = ingestion_error::Entity::find().order_by_asc(ingestion_error::Column::Id).all(&db).await.unwrap();
    assert_eq!(kept.iter().map(|e| e.line_number).collect::<Vec<_>>(), [Some(4), Some(6), Some(7)]);
    assert!(kept.iter().all(|e| e.source == "csv"));
    let phone = service_request::Entity::find()
        .filter(service_request::Column::CrmId.eq("2026-2"))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(phone.contact_phone.as_deref(), Some("+14185550134"));
    assert_eq!(phone.locale, "en");

    // The same file again: nothing new, the same rows rejected.
    let again = satisfaction(Some(&database.url), &["import", "requests", file.to_str().unwrap()], None);
    assert!(String::from_utf8_lossy(&again.stdout).contains("created 0, updated 0, unchanged 3, rejected 3"));
}

async fn a_clean_csv_exits_zero_without_a_report(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.csv");
    std::fs::write(
        &file,
        "service_request_id,status,agency_responsible,channel,closed_datetime\nC-1,closed,TP,email,2026-11-03T15:00:00Z\nC-2,cancelled,TP,email,\n",
    )
    .unwrap();
    let output = satisfaction(Some(&database.url), &["import", "requests", file.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!dir.path().join("ok.rejected.csv").exists());
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 2);
}

async fn a_file_without_the_id_column_is_refused_whole(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "id,status\n1,closed\n").unwrap();
    let output = satisfaction(Some(&database.url), &["import", "requests", file.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no \"service_request_id\" column"), "{}", stderr(&output));
    let missing = satisfaction(Some(&database.url), &["import", "requests", "/nonexistent/file.csv"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot open /nonexistent/file.csv"), "{}", stderr(&missing));
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 0);
}

const RESPONSES_CSV: &str = "response_id;agency_responsible;channel;stratum;weight;score;submitted_at;courtesy;timeliness;comment\n\
H-1;TP;phone;TP:phone;4;9;2021-06-30 14:05;10;8;Très bon service\n\
H-2;TP;phone;TP:phone;4,5;10;2021-07-02T10:00:00-04:00;;;\n\
H-3;ENV;email;;1;7;2021-07-03;6;;\n\
H-4;ENV;email;;1;11;2021-07-03;;;\n\
H-5;ENV;email;;0;7;hier;;;\n";

async fn historical_responses_are_imported_with_their_weights(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("historique.csv");
    std::fs::write(&file, RESPONSES_CSV).unwrap();
    let output = satisfaction(Some(&database.url), &["import", "responses", file.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("created 3, updated 0, unchanged 0, rejected 2"));
    let report = std::fs::read_to_string(dir.path().join("historique.rejected.csv")).unwrap();
    assert!(report.contains("5,H-4,score,11 is outside 0–10"), "{report}");
    assert!(report.contains("6,H-5,weight,"), "{report}");
    assert!(report.contains("6,H-5,submitted_at,"), "{report}");

    let rows = response::Entity::find().order_by_asc(response::Column::ExternalId).all(&db).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[0].overall_score, rows[0].weight, rows[0].score_courtesy, rows[0].score_timeliness),
        (9, 4.0, Some(10), Some(8))
    );
    assert_eq!(rows[0].submitted_at.to_rfc3339(), "2021-06-30T18:05:00+00:00", "local time in the city's zone");
    assert_eq!(rows[1].weight, 4.5);
    assert_eq!(rows[2].stratum, "ENV:email", "a blank stratum defaults to direction:channel");
    assert!(rows.iter().all(|r| r.invitation_id.is_none() && r.source == "import"));

    // Re-importing a corrected file updates in place.
    let fixed = RESPONSES_CSV.replace("H-1;TP;phone;TP:phone;4;9;", "H-1;TP;phone;TP:phone;4;8;");
    std::fs::write(&file, fixed).unwrap();
    let again = satisfaction(Some(&database.url), &["import", "responses", file.to_str().unwrap()], None);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("created 0, updated 1, unchanged 2, rejected 2"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(response::Entity::find().count(&db).await.unwrap(), 3);
}

/// A file of several chunks (2,000 rows each) where ids come back in later chunks: the last row
/// of the file wins, whatever the import writes at once (on PostgreSQL a chunk is written while
/// the next is prepared and written beside it), and every request counts once in the frame.
async fn the_last_row_of_a_file_wins_across_chunks(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grand.csv");
    let row = |id: usize, name: &str| {
        format!(
            "L-{id};closed;NP;{name};TP;phone;2026-10-01T08:00:00-04:00;2026-10-0{}T15:00:00-04:00;c{id}@ville.example;;fr\r\n",
            1 + id % 9
        )
    };
    let mut csv = String::from(
        "service_request_id;status;service_code;service_name;agency_responsible;channel;requested_datetime;closed_datetime;contact_email;contact_phone;locale\r\n",
    );
    for id in 0..9000 {
        csv.push_str(&row(id, "premier"));
        // L-7 again in the second and third chunks; L-2600 (second chunk) again in the fourth.
        match id {
            2500 => csv.push_str(&row(7, "deuxième")),
            4100 => csv.push_str(&row(7, "dernier")),
            6500 => csv.push_str(&row(2600, "dernier")),
            _ => {}
        }
    }
    std::fs::write(&file, csv).unwrap();

    let output = satisfaction(Some(&database.url), &["import", "requests", file.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("created 9000, updated 3, unchanged 0, rejected 0"), "{stdout}");
    let name_of = |crm_id: &'static str| {
        let db = db.clone();
        async move {
            service_request::Entity::find()
                .filter(service_request::Column::CrmId.eq(crm_id))
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .service_name
        }
    };
    assert_eq!(name_of("L-7").await.as_deref(), Some("dernier"));
    assert_eq!(name_of("L-2600").await.as_deref(), Some("dernier"));
    assert_eq!(name_of("L-8999").await.as_deref(), Some("premier"));
    assert_eq!(service_request::Entity::find().count(&db).await.unwrap(), 9000);
    let counted = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(SUM(requests) AS BIGINT) AS n FROM frame_counts_monthly",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counted.try_get::<i64>("", "n").unwrap(), 9000, "each request once in the frame");
}

on_both_databases!(
    the_last_row_of_a_file_wins_across_chunks,
    a_csv_import_reports_rejected_rows_by_line,
    a_clean_csv_exits_zero_without_a_report,
    a_file_without_the_id_column_is_refused_whole,
    historical_responses_are_imported_with_their_weights,
);
