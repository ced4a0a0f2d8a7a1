use migration::{Migrator, MigratorTrait};
use satisfaction::db::{self, entities};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Statement};

use crate::factories::{Reference, RequestRow, insert_request};
use crate::helpers::{Backend, TestDatabase, migrated_database};
use crate::on_both_databases;

pub const TABLES: [&str; 19] = [
    "directions",
    "channels",
    "service_requests",
    "opt_outs",
    "sampling_runs",
    "invitations",
    "outbox",
    "questionnaires",
    "responses",
    "users",
    "api_keys",
    "audit_log",
    "ingestion_errors",
    "job_state",
    "sampling_decisions",
    "response_cells_monthly",
    "response_cells_daily",
    "frame_counts_monthly",
    "follow_ups",
];

async fn count_rows(db: &DatabaseConnection, table: &str) -> i64 {
    let statement = Statement::from_string(db.get_database_backend(), format!("SELECT COUNT(*) AS n FROM {table}"));
    let row = db
        .query_one_raw(statement)
        .await
        .unwrap_or_else(|err| panic!("table {table} is missing: {err}"))
        .expect("one row");
    row.try_get::<i64>("", "n").unwrap()
}

async fn migrations_apply_from_empty_and_again(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let settings = satisfaction::config::Settings::from_figment(&crate::helpers::test_figment(&database.url)).unwrap();
    let conn = db::connect(&database.url, &settings.database).await.unwrap();
    assert!(db::applied_migrations(&conn).await.is_err() || db::applied_migrations(&conn).await.unwrap().is_empty());

    db::migrate(&conn).await.expect("migrations apply on an empty database");
    let applied = db::applied_migrations(&conn).await.unwrap();
    assert_eq!(applied.len(), Migrator::migrations().len());
    for table in TABLES {
        count_rows(&conn, table).await;
    }

    // A second run (a restart, or a second instance) changes nothing, seeds included.
    db::migrate(&conn).await.expect("migrations are idempotent");
    assert_eq!(db::applied_migrations(&conn).await.unwrap(), applied);
    assert_eq!(count_rows(&conn, "channels").await, 6);
    assert_eq!(count_rows(&conn, "questionnaires").await, 2, "versions 1 and 2");
}

async fn reference_channels_are_seeded_in_both_languages(backend: Backend) {
    let (_database, conn) = migrated_database(backend).await;
    let channels = entities::channel::Entity::find().all(&conn).await.unwrap();
    let codes: Vec<&str> = channels.iter().map(|c| c.code.as_str()).collect();
    for code in ["phone", "web_form", "email", "social_media", "counter", "portal"] {
        assert!(codes.contains(&code), "channel {code} missing from {codes:?}");
    }
    let phone = channels.iter().find(|c| c.code == "phone").unwrap();
    assert_eq!((phone.name_fr.as_str(), phone.name_en.as_str()), ("Téléphone", "Phone"));
    // Version 2 is the one asked; version 1 stays for the responses that answered it.
    let questionnaires = entities::questionnaire::Entity::find().all(&conn).await.unwrap();
    let active: Vec<i32> = questionnaires.iter().filter(|q| q.active).map(|q| q.version).collect();
    assert_eq!(active, [2]);
    let v2 = questionnaires.iter().find(|q| q.version == 2).unwrap();
    assert_eq!(v2.definition["items"][0]["id"], "overall");
    assert_eq!(v2.definition["items"][6]["id"], "outcome");
}

async fn migrations_roll_back_and_forward(backend: Backend) {
    let (_database, conn) = migrated_database(backend).await;
    Migrator::down(&conn, None).await.expect("every migration can be rolled back");
    assert!(db::applied_migrations(&conn).await.unwrap().is_empty());
    db::migrate(&conn).await.expect("and applied again");
    assert_eq!(entities::channel::Entity::find().count(&conn).await.unwrap(), 6);
}

/// Migration 8 rebuilds (SQLite) or alters (PostgreSQL) the decision ledger: the marks already
/// there survive it, and the ledger no longer refers to requests or runs by foreign key.
async fn the_decision_ledger_keeps_its_rows_without_foreign_keys(backend: Backend) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};

    let database = TestDatabase::create(backend).await;
    let settings = satisfaction::config::Settings::from_figment(&crate::helpers::test_figment(&database.url)).unwrap();
    let conn = db::connect(&database.url, &settings.database).await.unwrap();
    Migrator::up(&conn, Some(7)).await.expect("migrations 1 to 7");
    let fx = Reference::with_directions(&conn, &["TP"]).await;
    let request = insert_request(&conn, &fx, &RequestRow::closed("R-1", chrono::Utc::now())).await.unwrap();
    let now = chrono::Utc::now();
    let run = entities::sampling_run::ActiveModel {
        started_at: Set(now),
        as_of: Set(now),
        seed: Set(1),
        dry_run: Set(false),
        status: Set("completed".into()),
        parameters: Set(serde_json::json!({})),
        exclusions: Set(serde_json::json!({})),
        strata: Set(serde_json::json!([])),
        ..Default::default()
    }
    .insert(&conn)
    .await
    .unwrap();
    let mark = |request_id: i64| entities::sampling_decision::ActiveModel {
        service_request_id: Set(request_id),
        sampling_run_id: Set(run.id),
        decided_at: Set(now),
    };
    mark(request.id).insert(&conn).await.unwrap();
    assert!(mark(request.id + 1000).insert(&conn).await.is_err(), "before migration 8 the keys hold");

    db::migrate(&conn).await.expect("migration 8 on a ledger with rows");
    let kept = entities::sampling_decision::Entity::find().all(&conn).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].service_request_id, kept[0].sampling_run_id), (request.id, run.id));
    mark(request.id + 1000).insert(&conn).await.expect("no foreign key any more");
    assert!(mark(request.id).insert(&conn).await.is_err(), "still one mark per request");
}

/// Several instances starting at once on a new database (a rolling deployment, containers
/// started together) each apply the migrations at start-up: one applies them, the others wait
/// and find nothing left to do.
async fn instances_starting_together_migrate_once(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let settings = satisfaction::config::Settings::from_figment(&crate::helpers::test_figment(&database.url)).unwrap();
    let mut instances = Vec::new();
    for _ in 0..4 {
        instances.push(db::connect(&database.url, &settings.database).await.unwrap());
    }
    let mut starting = tokio::task::JoinSet::new();
    for instance in &instances {
        let instance = instance.clone();
        starting.spawn(async move { db::migrate(&instance).await });
    }
    while let Some(result) = starting.join_next().await {
        result.unwrap().expect("every instance starts");
    }
    assert_eq!(db::applied_migrations(&instances[0]).await.unwrap().len(), Migrator::migrations().len());
    assert_eq!(count_rows(&instances[0], "channels").await, 6, "seeded once");
    assert_eq!(count_rows(&instances[0], "questionnaires").await, 2);
}

/// Migration 17: requests are not indexed by contact hash (it cost half of an import's time);
/// the indexes that queries need are still there.
async fn requests_are_not_indexed_by_contact_hash(backend: Backend) {
    let (_database, conn) = migrated_database(backend).await;
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'service_requests'",
        Backend::Postgres => "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'service_requests'",
    };
    let names: Vec<String> = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect();
    assert!(!names.iter().any(|name| name.contains("contact_hash")), "{names:?}");
    for kept in ["closed_at_id", "status_closed_at"] {
        assert!(names.iter().any(|name| name.ends_with(kept)), "{kept} in {names:?}");
    }
}

/// PostgreSQL over TCP (what the tests use): a pooled connection's socket has `TCP_NODELAY`, which
/// sqlx 0.9.0 no longer sets (`db::nodelay`); without it a large statement waits about 40 ms for
/// the server's delayed acknowledgement. SQLite has no socket.
#[rocket::async_test]
async fn postgres_connections_over_tcp_send_without_delay() {
    let database = TestDatabase::create(Backend::Postgres).await;
    let settings = satisfaction::config::Settings::from_figment(&crate::helpers::test_figment(&database.url)).unwrap();
    let conn = db::connect(&database.url, &settings.database).await.unwrap();
    let server_port = url::Url::parse(&database.url).unwrap().port().unwrap_or(5432);
    // The connection's own port, as the server sees it, picks its socket out of the process's.
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), "SELECT inet_client_port() AS port"))
        .await
        .unwrap()
        .expect("one row");
    let client_port = u16::try_from(row.try_get::<i32>("", "port").expect("connected over TCP")).unwrap();
    let socket = db::nodelay::connections_to(server_port)
        .into_iter()
        .find(|&fd| db::nodelay::local_port(fd) == Some(client_port))
        .expect("the connection's socket");
    assert!(db::nodelay::is_set(socket), "TCP_NODELAY on the pooled connection");
}

on_both_databases!(
    requests_are_not_indexed_by_contact_hash,
    instances_starting_together_migrate_once,
    migrations_apply_from_empty_and_again,
    the_decision_ledger_keeps_its_rows_without_foreign_keys,
    reference_channels_are_seeded_in_both_languages,
    migrations_roll_back_and_forward,
);
