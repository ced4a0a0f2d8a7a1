//! Database access: connecting, migrating, and the repositories (the only place that builds
//! SeaORM queries). Every repository function takes `&impl ConnectionTrait`, so a service can
//! pass either the pool or a transaction it owns.

pub mod entities;
pub mod nodelay;
pub mod repo;
pub mod sql;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnAcquireErr, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::{DatabaseSettings, redact_url};

/// Open the pool for `database_url`. SQLite gets WAL and foreign keys; PostgreSQL its `work_mem`.
pub async fn connect(database_url: &str, settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    open(database_url, settings, settings.max_connections, None).await
}

/// The connection a bulk import writes through. On SQLite, one connection with a page cache of
/// `sqlite_import_cache_mb`: SQLite's cache belongs to a connection, and a pool hands its
/// connections out in turn, so a larger cache on every pooled connection would be filled once
/// per connection (measured: 410 MB for a 64 MB cache) while serving one writer. A million
/// requests inserted with 2 MB read back, at every commit, index pages they had just written
/// (the contact hash's index, dropped since by migration 17, took rows in random order; the
/// `closed_at` indexes still do for a file not in closing order). PostgreSQL: the usual pool.
pub async fn connect_for_import(database_url: &str, settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    if DbBackend::Sqlite.is_prefix_of(database_url) {
        open(database_url, settings, 1, Some(settings.sqlite_import_cache_mb)).await
    } else {
        connect(database_url, settings).await
    }
}

async fn open(
    database_url: &str,
    settings: &DatabaseSettings,
    max_connections: u32,
    sqlite_cache_mb: Option<u32>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(database_url.to_owned());
    // Over a Unix socket nothing matches this port's TCP connections, and nothing needs to.
    let postgres_port = if DbBackend::Postgres.is_prefix_of(database_url) {
        database_url
            .parse::<sea_orm::sqlx::postgres::PgConnectOptions>()
            .map(|options| options.get_port())
            .unwrap_or(5432)
    } else {
        5432
    };
    let work_mem = settings.postgres_work_mem.clone();
    options
        .max_connections(max_connections)
        .min_connections(settings.min_connections.min(max_connections))
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .connect_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .sqlx_logging(false)
        // Per-connection settings, so every pooled connection has them. WAL lets readers
        // (dashboards) proceed while a job writes; busy_timeout makes writers queue instead of
        // failing with "database is locked"; under WAL, synchronous = NORMAL is SQLite's
        // recommendation (a power cut may lose the last commits, never corrupt the file).
        .map_sqlx_sqlite_opts(move |options| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            let options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Multi-row statements come in a few fixed shapes (`sql::fixed_sizes`), each prepared
                // once; before that, a cache of a hundred shapes per connection held 100 MB.
                .statement_cache_capacity(64);
            match sqlite_cache_mb {
                // Negative: a size in KiB rather than in pages.
                // The default checkpoint every 1,000 pages ran after each commit of an import and
                // copied to the database file the indexes' pages the next commit wrote again
                // (measured, a million requests: 35 s → 31 s; `checkpoint` empties the log at the end).
                Some(mb) => options
                    .pragma("cache_size", format!("-{}", u64::from(mb.max(1)) * 1024))
                    .pragma("wal_autocheckpoint", "100000"),
                None => options,
            }
        })
        .map_sqlx_postgres_opts(move |options| options.options([("work_mem", work_mem.as_str())]))
        .map_sqlx_postgres_pool_opts(move |pool| {
            pool.after_connect(move |_, _| {
                Box::pin(async move {
                    nodelay::set_on_connections_to(postgres_port);
                    Ok(())
                })
            })
        });
    let db = Database::connect(options)
        .await
        .map_err(|err| DbErr::Custom(format!("cannot connect to {}: {err}", redact_url(database_url))))?;
    Ok(db)
}

/// SQLite takes one writer at a time; writers that find it taken wait in its busy handler, which
/// sleeps 1, 2, 5, 10 … 100 ms between tries. Under many small concurrent writes (hundreds of
/// citizens submitting at once) those sleeps, not the writes, set the pace: 220 submissions a
/// second with a p50 of 105 ms. Writers that take this gate first queue in the process instead
/// and reach SQLite one after the other (PostgreSQL needs no gate: it locks rows).
pub async fn sqlite_write_gate(db: &impl ConnectionTrait) -> Option<tokio::sync::MutexGuard<'static, ()>> {
    static GATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    if db.get_database_backend() == DbBackend::Sqlite { Some(GATE.lock().await) } else { None }
}

/// Apply every pending migration. Safe to call repeatedly, and from several instances starting
/// at once: on PostgreSQL the run holds a session-level advisory lock on a connection of its own
/// (the others wait for it, then find nothing pending; the lock goes with the connection if the
/// process dies); on SQLite the runs of one process take turns. Without this, instances starting
/// together on a new database both create `seaql_migrations` and all but one fail.
///
/// SQLite is the single-instance embedded default: two processes migrating one file at the same
/// instant are not serialised (run `satisfaction migrate` first when scripting that).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    static IN_PROCESS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    if db.get_database_backend() != DbBackend::Postgres {
        let _turn = IN_PROCESS.lock().await;
        return Migrator::up(db, None).await;
    }
    use sea_orm::sqlx::{self, ConnectOptions, Connection};
    let lock_error = |err: sqlx::Error| DbErr::Custom(format!("cannot take the migration lock: {err}"));
    let options = db.get_postgres_connection_pool().connect_options();
    let mut lock = options.connect().await.map_err(lock_error)?;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut lock).await.map_err(lock_error)?;
    let applied = Migrator::up(db, None).await;
    // Closing the session releases the lock in any case; unlocking first says so at once.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut lock).await;
    let _ = lock.close().await;
    applied
}

/// The advisory lock key of migrations: "satisfac" in ASCII, so it is recognisable in `pg_locks`.
const MIGRATION_LOCK: i64 = 0x7361_7469_7366_6163;

/// Names of the applied migrations, oldest first.
pub async fn applied_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    Ok(Migrator::get_applied_migrations(db).await?.into_iter().map(|m| m.name().to_owned()).collect())
}

/// Short name of the backend, as shown by `/health` and the logs.
pub fn backend_name(db: &impl ConnectionTrait) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
        _ => "other",
    }
}

/// True when the error is a unique-constraint violation (the database said "already there").
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Begin a transaction that will write. Every write transaction of the product starts here.
///
/// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at the start, and a writer that
/// finds the database busy waits its turn (`busy_timeout`) instead of failing. A deferred
/// transaction that reads first and writes later cannot wait: SQLite refuses its upgrade at once
/// with `SQLITE_BUSY` or `SQLITE_BUSY_SNAPSHOT` (codes 5 and 517) when another writer committed in
/// between, which two CRM clients posting at once met a third of the time. Readers are not
/// affected (WAL). PostgreSQL ignores the mode: its writers wait on row locks.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    db.begin_with_options(options).await
}

/// Refresh the planner's statistics of `table` after a large load (PostgreSQL runs no
/// autovacuum on every server; SQLite keeps its own in `sqlite_stat1`).
pub async fn analyze(db: &impl ConnectionTrait, table: &str) -> Result<(), DbErr> {
    db.execute_unprepared(&format!("ANALYZE {table}")).await?;
    Ok(())
}

/// After a bulk write on SQLite: copy the write-ahead log into the database file and empty it.
/// The import's connection checkpoints only every 100,000 pages (`connect_for_import`), so its
/// log has grown to hundreds of MB by its end. Nothing to do on PostgreSQL.
pub async fn checkpoint(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    Ok(())
}

/// Run `write` (a whole transaction) again, up to five times, when PostgreSQL ends it to break a
/// deadlock or a serialisation failure: running it again is the documented answer.
pub async fn retrying_conflicts<T, F, Fut>(what: &str, mut write: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write().await {
            Err(err) if attempt < 5 && is_conflict_to_retry(&err) => {
                tracing::debug!(attempt, error = %err, "{what} retried after a conflict");
                tokio::time::sleep(Duration::from_millis(10 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// True when PostgreSQL aborted the transaction to break a deadlock, or for a serialisation
/// failure: running the whole transaction again is the documented answer.
pub fn is_conflict_to_retry(err: &DbErr) -> bool {
    let text = err.to_string();
    text.contains("deadlock detected") || text.contains("could not serialize access")
}

/// True when the database could not take the work now but may a moment later: no pooled
/// connection within `acquire_timeout_secs`, SQLite still locked after `busy_timeout`, or a
/// PostgreSQL deadlock or serialisation failure. Clients get 503 with `Retry-After`, never 500.
pub fn is_busy(err: &DbErr) -> bool {
    if matches!(err, DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)) {
        return true;
    }
    let text = err.to_string();
    ["database is locked", "database table is locked", "(code: 5)", "(code: 517)", "(code: 6)", "deadlock detected"]
        .iter()
        .any(|needle| text.contains(needle))
        || text.contains("could not serialize access")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(cache_mb: u32) -> DatabaseSettings {
        DatabaseSettings {
            max_connections: 10,
            min_connections: 1,
            acquire_timeout_secs: 5,
            migrate_on_start: true,
            postgres_work_mem: "16MB".into(),
            sqlite_import_cache_mb: cache_mb,
        }
    }

    async fn pragma(db: &DatabaseConnection, name: &str) -> i64 {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, format!("PRAGMA {name}")))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    #[tokio::test]
    async fn an_import_writes_through_one_sqlite_connection_with_its_own_cache() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("import.db").display());
        let import = connect_for_import(&url, &settings(48)).await.unwrap();
        assert_eq!(import.get_sqlite_connection_pool().options().get_max_connections(), 1);
        assert_eq!(pragma(&import, "cache_size").await, -48 * 1024, "48 MiB, in KiB");
        assert_eq!(pragma(&import, "wal_autocheckpoint").await, 100_000);
        // The server's pool keeps SQLite's defaults on each of its connections.
        let pool = connect(&url, &settings(48)).await.unwrap();
        assert_eq!(pool.get_sqlite_connection_pool().options().get_max_connections(), 10);
        assert_eq!(pragma(&pool, "cache_size").await, -2000);
        assert_eq!(pragma(&pool, "wal_autocheckpoint").await, 1000);
    }

    #[tokio::test]
    async fn a_checkpoint_empties_the_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("import.db");
        let import = connect_for_import(&format!("sqlite://{}?mode=rwc", path.display()), &settings(2)).await.unwrap();
        import
            .execute_unprepared("CREATE TABLE t (x TEXT); INSERT INTO t VALUES (hex(randomblob(5000)))")
            .await
            .unwrap();
        let wal = dir.path().join("import.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0, "the insert went to the log");
        checkpoint(&import).await.unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    }
}
