//! The sampling job on both databases: eligibility, rates, adaptivity, never twice, replay, the
//! batch write, the clock. Shared here: a world of directions and channels, requests described
//! relative to a fixed "now", and a run as of that now (the job's clock, not a parameter).

mod batch;
mod clock;
mod eligibility;
mod rates;
mod response_rates;
mod runs;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rocket::figment::Figment;
use satisfaction::{
    clock::Clock,
    config::Settings,
    db::entities::{invitation, service_request},
    jobs::Jobs,
    sampling::{RunOptions, RunOutcome, RunReport},
};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::factories::{Reference, RequestRow, insert_requests};
use crate::helpers::{Backend, TestDatabase, migrated_database, test_figment};

/// The instant the runs of these tests are "as of".
fn now() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().unwrap()
}

struct World {
    /// The database this world owns; `None` when it borrows an application's.
    database: Option<TestDatabase>,
    db: DatabaseConnection,
    directions: HashMap<String, i64>,
    channels: HashMap<String, i64>,
}

impl World {
    fn reference(&self) -> Reference {
        Reference { directions: self.directions.clone(), channels: self.channels.clone() }
    }

    /// A world on an existing database (an application's), with direction TP.
    async fn on(db: &DatabaseConnection) -> World {
        let reference = Reference::with_directions(db, &["TP"]).await;
        World { database: None, db: db.clone(), directions: reference.directions, channels: reference.channels }
    }
}

async fn world(backend: Backend) -> World {
    let (database, db) = migrated_database(backend).await;
    let reference = Reference::with_directions(&db, &["TP", "ENV"]).await;
    World { database: Some(database), db, directions: reference.directions, channels: reference.channels }
}

fn settings(world: &World, configure: impl FnOnce(Figment) -> Figment) -> Settings {
    Settings::from_figment(&configure(test_figment(&world.database.as_ref().expect("an owned database").url))).unwrap()
}

/// A request closed a day before `now()`, TP by phone, with its own e-mail contact.
fn req(crm: &str) -> RequestRow {
    RequestRow::closed(crm, now() - Duration::hours(24))
}

async fn insert(world: &World, requests: &[RequestRow]) {
    insert_requests(&world.db, &world.reference(), requests).await;
}

/// The sampling job as the scheduler runs it, on a clock standing at `now()`.
fn jobs(world: &World, settings: &Settings) -> Jobs {
    Jobs::new(world.db.clone(), Arc::new(settings.clone()), Clock::fixed(now()))
}

async fn sample(world: &World, settings: &Settings, dry_run: bool, seed: Option<u64>) -> RunReport {
    match jobs(world, settings).sample(RunOptions { dry_run, seed }).await.unwrap() {
        RunOutcome::Completed(report) => report,
        RunOutcome::Skipped => panic!("unexpectedly skipped"),
    }
}

async fn invited_crm_ids(world: &World) -> HashSet<String> {
    let ids: HashSet<i64> =
        invitation::Entity::find().all(&world.db).await.unwrap().into_iter().map(|i| i.service_request_id).collect();
    service_request::Entity::find()
        .all(&world.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .map(|r| r.crm_id)
        .collect()
}
