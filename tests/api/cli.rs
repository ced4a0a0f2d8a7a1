//! The `satisfaction` binary, run as an operator would.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use satisfaction::{accounts, db::entities};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{Backend, TestDatabase, migrated_database};
use crate::on_both_databases;

pub fn satisfaction(database_url: Option<&str>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_satisfaction"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .env("ROCKET_SECRET_KEY", "8a1c3b2f6e5d4c7b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3")
        .env_remove("ROCKET_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = database_url {
        command.env("ROCKET_DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("binary runs");
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(input) = stdin {
            pipe.write_all(input.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_arguments_are_rejected_with_clear_messages() {
    let output = satisfaction(None, &["user", "add", "a@ville.example", "--role", "boss"], None);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("invalid value 'boss'") && message.contains("admin, analyst, viewer"), "{message}");

    let output = satisfaction(None, &["user", "add", "a@ville.example"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--role"), "{}", stderr(&output));

    let output = satisfaction(None, &["api-key", "create"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("<NAME>"), "{}", stderr(&output));

    let output = satisfaction(None, &["frobnicate"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unrecognized subcommand 'frobnicate'"), "{}", stderr(&output));
}

#[test]
fn a_bad_configuration_stops_with_the_key_named() {
    let output = satisfaction(Some("mysql://root@localhost/x"), &["migrate"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("database_url must start with"), "{}", stderr(&output));
}

async fn migrate_subcommand_creates_the_schema(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let output = satisfaction(Some(&database.url), &["migrate"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
    let again = satisfaction(Some(&database.url), &["migrate"], None);
    assert!(again.status.success(), "{}", stderr(&again));
}

async fn user_add_stores_an_argon2id_hash(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let password = "pommes de terre au four";
    let output = satisfaction(
        Some(&database.url),
        &["user", "add", "Analyste@Ville.example", "--role", "analyst"],
        Some(&format!("{password}\n")),
    );
    assert!(output.status.success(), "{}", stderr(&output));

    let user = entities::user::Entity::find()
        .filter(entities::user::Column::Email.eq("analyste@ville.example"))
        .one(&db)
        .await
        .unwrap()
        .expect("user stored with a normalised e-mail");
    assert_eq!(user.role, "analyst");
    assert!(user.password_hash.starts_with("$argon2id$"), "{}", user.password_hash);
    assert!(!user.password_hash.contains(password));
    assert!(satisfaction::auth::password::verify(password, &user.password_hash));

    let duplicate = satisfaction(
        Some(&database.url),
        &["user", "add", "analyste@ville.example", "--role", "viewer"],
        Some(&format!("{password}\n")),
    );
    assert_eq!(duplicate.status.code(), Some(1));
    assert!(stderr(&duplicate).contains("already exists"), "{}", stderr(&duplicate));
}

async fn user_add_explains_what_is_wrong(backend: Backend) {
    let (database, _db) = migrated_database(backend).await;
    let url = Some(database.url.as_str());
    let cases: [(&[&str], &str, &str); 5] = [
        (&["user", "add", "not-an-email", "--role", "viewer"], "a long enough password\n", "has no '@'"),
        (&["user", "add", "v@ville.example", "--role", "viewer"], "short\n", "at least 12 characters"),
        (&["user", "add", "v@ville.example", "--role", "viewer"], "", "no password given"),
        (
            &["user", "add", "v@ville.example", "--role", "viewer", "--direction", "XYZ"],
            "a long enough password\n",
            "unknown direction code \"XYZ\"",
        ),
        (
            &["user", "add", "v@ville.example", "--role", "admin", "--direction", "XYZ"],
            "a long enough password\n",
            "an admin sees all",
        ),
    ];
    for (args, stdin, expected) in cases {
        let output = satisfaction(url, args, Some(stdin));
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
    }
}

async fn user_add_can_scope_to_a_direction(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let url = Some(database.url.as_str());
    let output =
        satisfaction(url, &["direction", "add", "ENV", "--name-fr", "Environnement", "--name-en", "Environment"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = satisfaction(
        url,
        &["user", "add", "gestion@ville.example", "--role", "viewer", "--direction", "ENV"],
        Some("un long mot de passe\n"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let user = entities::user::Entity::find().one(&db).await.unwrap().unwrap();
    let direction = entities::direction::Entity::find().one(&db).await.unwrap().unwrap();
    assert_eq!(user.direction_id, Some(direction.id));
}

async fn api_key_create_prints_the_key_once_and_stores_its_hash(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let output = satisfaction(Some(&database.url), &["api-key", "create", "CRM production"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("sat_"), "{key}");

    let row = entities::api_key::Entity::find().one(&db).await.unwrap().unwrap();
    assert_eq!(row.name, "CRM production");
    assert!(row.key_hash.starts_with("$argon2id$"));
    let secret = key.rsplit('_').next().unwrap();
    assert!(!row.key_hash.contains(secret) && !row.prefix.contains(secret));

    let now = chrono::Utc::now();
    assert!(accounts::authenticate_api_key(&db, &key, now).await.unwrap().is_some());
    // The same key with its last secret digit changed (always a different key).
    let mut forged = key.clone();
    let last = if key.ends_with('0') { "1" } else { "0" };
    forged.replace_range(key.len() - 1.., last);
    assert_ne!(forged, key);
    assert!(accounts::authenticate_api_key(&db, &forged, now).await.unwrap().is_none());
    assert!(accounts::authenticate_api_key(&db, "sat_nothing", now).await.unwrap().is_none());
}

on_both_databases!(
    migrate_subcommand_creates_the_schema,
    user_add_stores_an_argon2id_hash,
    user_add_explains_what_is_wrong,
    user_add_can_scope_to_a_direction,
    api_key_create_prints_the_key_once_and_stores_its_hash,
);

/// `user disable`, `user set-password`, `api-key create --scope`, `api-key list`, `api-key revoke`.
async fn users_and_keys_are_managed_from_the_command_line(backend: Backend) {
    let (database, db) = migrated_database(backend).await;
    let url = Some(database.url.as_str());
    let output =
        satisfaction(url, &["user", "add", "a@ville.example", "--role", "viewer"], Some("une phrase assez longue\n"));
    assert!(output.status.success(), "{}", stderr(&output));
    let output =
        satisfaction(url, &["user", "set-password", "a@ville.example"], Some("une autre phrase assez longue\n"));
    assert!(output.status.success(), "{}", stderr(&output));
    let user = entities::user::Entity::find().one(&db).await.unwrap().unwrap();
    assert!(satisfaction::auth::password::verify("une autre phrase assez longue", &user.password_hash));
    let output = satisfaction(url, &["user", "disable", "a@ville.example"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let list = satisfaction(url, &["user", "list"], None);
    assert!(String::from_utf8_lossy(&list.stdout).contains("disabled"));
    let unknown = satisfaction(url, &["user", "disable", "personne@ville.example"], None);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no user with the e-mail address"), "{}", stderr(&unknown));

    let created = satisfaction(url, &["api-key", "create", "Tableau", "--scope", "read"], None);
    assert!(created.status.success(), "{}", stderr(&created));
    let key = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let prefix = key.split('_').nth(1).unwrap().to_owned();
    let list = String::from_utf8_lossy(&satisfaction(url, &["api-key", "list"], None).stdout).to_string();
    assert!(list.contains(&prefix) && list.contains("\tread\t") && list.contains("active"), "{list}");
    assert!(!list.contains(&key), "the key itself is never listed");
    let revoked = satisfaction(url, &["api-key", "revoke", &prefix], None);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let list = String::from_utf8_lossy(&satisfaction(url, &["api-key", "list"], None).stdout).to_string();
    assert!(list.contains("revoked"), "{list}");
    let again = satisfaction(url, &["api-key", "revoke", &prefix], None);
    assert_eq!(again.status.code(), Some(1));
}

on_both_databases!(users_and_keys_are_managed_from_the_command_line);

async fn sample_subcommand_prints_the_run_per_stratum(backend: Backend) {
    let (database, _db) = migrated_database(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.csv");
    let mut csv = String::from("service_request_id,status,agency_responsible,channel,closed_datetime,contact_email\n");
    for i in 0..40 {
        csv.push_str(&format!("S-{i},closed,TP,phone,2026-11-19T10:00:00Z,c{i}@ville.example\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let url = Some(database.url.as_str());
    assert!(satisfaction(url, &["import", "requests", file.to_str().unwrap()], None).status.success());

    let output = satisfaction(url, &["sample", "--now", "2026-11-20T12:00:00Z", "--dry-run", "--seed", "42"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("(dry run: nothing created)") && stdout.contains("seed 42"), "{stdout}");
    assert!(stdout.contains("population 40, eligible 40"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("TP:phone") && l.contains("0.2500") && l.contains("default")),
        "{stdout}"
    );

    let json = satisfaction(url, &["sample", "--now", "2026-11-20T12:00:00Z", "--json"], None);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["population"], 40);
    assert_eq!(report["strata"][0]["stratum"], "TP:phone");

    let bad = satisfaction(url, &["sample", "--now", "yesterday"], None);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("--now \"yesterday\" is not an RFC 3339 date-time"), "{}", stderr(&bad));
}

on_both_databases!(sample_subcommand_prints_the_run_per_stratum);
