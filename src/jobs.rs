//! The jobs, each built from the settings here and nowhere else, and called alike by the CLI,
//! the scheduler, the web handlers and the tests: ingest (a batch from the API, a CSV file,
//! kept errors again), poll Open311, sample. Delivery's dispatch, reminders, expiry and purge
//! join them here.
//!
//! `Jobs` holds what every job needs: the database, the settings and the clock. A test builds
//! one with `Clock::fixed` and moves time with the clock; nothing else reads the time.
//! Each job's report has one text form (`Display`) for the CLI and the log.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::repo;
use crate::delivery::{DeliveryError, DispatchReport, Dispatcher, purge::PurgeReport};
use crate::ingestion::{
    Ingestor,
    api::{IngestError, IngestResponse},
    fields::TimeRules,
    file_import::{self, FileImportReport, ImportError, Progress},
    open311::{Open311Error, PollSummary, Poller},
    replay::{self, ReplayResult},
    responses::ResponseImporter,
    service::Aliases,
};
use crate::sampling::{self, RunOptions, RunOutcome, SamplingError};

#[derive(Clone)]
pub struct Jobs {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub clock: Clock,
    /// Built at the first dispatch and kept: its SMTP connections are pooled across passes.
    dispatcher: Arc<tokio::sync::OnceCell<Dispatcher>>,
}

/// The kinds of file `satisfaction import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Requests,
    Responses,
}

impl Jobs {
    pub fn new(db: DatabaseConnection, settings: Arc<Settings>, clock: Clock) -> Jobs {
        Jobs { db, settings, clock, dispatcher: Arc::default() }
    }

    /// The one way an `Ingestor` is made: contact hash key, direction policy and clock from here.
    pub async fn ingestor(&self) -> Result<Ingestor, DbErr> {
        let settings = &self.settings;
        let time_rules = TimeRules { local_zone: settings.ingestion.assume_local_time.then_some(settings.time_zone) };
        let aliases = Aliases {
            channels: settings.open311.channel_aliases.clone(),
            directions: settings.open311.direction_aliases.clone(),
        };
        let ingestor = Ingestor::new(
            &self.db,
            settings.contact_hasher(),
            settings.ingestion.unknown_directions,
            self.clock.clone(),
            settings.time_zone,
        )
        .await?;
        Ok(ingestor.with_time_rules(time_rules).with_open311_aliases(aliases))
    }

    /// The one way a `ResponseImporter` is made.
    pub async fn response_importer(&self) -> Result<ResponseImporter, DbErr> {
        ResponseImporter::new(
            &self.db,
            self.settings.time_zone,
            self.settings.ingestion.unknown_directions,
            self.clock.clone(),
        )
        .await
    }

    /// A body sent to `POST /api/v1/requests` by `actor`.
    pub async fn ingest_api_body(&self, actor: &str, body: &str) -> Result<IngestResponse, IngestError> {
        let mut ingestor = self.ingestor().await?;
        let max_items = self.settings.ingestion.batch_max_items;
        crate::ingestion::api::ingest_body(&self.db, &mut ingestor, max_items, actor, body, self.clock.now()).await
    }

    /// A CSV file of closed requests or of historical responses; rejected rows go to `report`.
    pub async fn import_file(
        &self,
        kind: FileKind,
        file: &Path,
        report: &Path,
        progress: Progress<'_>,
    ) -> Result<FileImportReport, ImportError> {
        match kind {
            FileKind::Requests => {
                let mut sink = self.ingestor().await?;
                file_import::import_file(&self.db, &mut sink, &file_import::REQUESTS, file, report, progress).await
            }
            FileKind::Responses => {
                let mut sink = self
                    .response_importer()
                    .await?
                    .deferring_rollups_after(self.settings.ingestion.rollup_deferral_rows);
                file_import::import_file(&self.db, &mut sink, &file_import::RESPONSES, file, report, progress).await
            }
        }
    }

    /// Kept ingestion errors again (the given ids, or every unresolved one), on behalf of
    /// `actor` (as the audit log names it).
    pub async fn replay(&self, actor: &str, ids: &[i64]) -> Result<ReplayReport, DbErr> {
        let requests = self.ingestor().await?.without_keeping_rejects();
        let responses = self.response_importer().await?.without_keeping_rejects();
        let now = self.clock.now();
        let results = replay::replay(&self.db, requests, responses, ids, now).await?;
        let details = serde_json::json!({"count": results.len()});
        repo::audit::record(&self.db, now, actor, "ingestion_errors.replay", None, Some(details)).await?;
        Ok(ReplayReport { results })
    }

    /// Pull what is new from the configured Open311 endpoint, up to the clock's now. Several
    /// instances share one database and each runs the scheduler: a lease makes one of them poll
    /// (the upserts would make a second poll harmless, but it would ask the city's server for
    /// everything twice). A poller that died leaves the lease to go stale after an hour.
    pub async fn poll_open311(&self) -> Result<PollSummary, Open311Error> {
        const LEASE: &str = "lock:open311";
        let poller = Poller::new(&self.settings.open311)?;
        let owner = uuid::Uuid::new_v4().to_string();
        let now = self.clock.now();
        if !repo::job_state::try_acquire_lease(&self.db, LEASE, &owner, now, now - chrono::Duration::hours(1)).await? {
            return Ok(PollSummary { skipped: true, ..PollSummary::default() });
        }
        let result = async {
            let mut ingestor = self.ingestor().await?;
            poller.poll(&self.db, &mut ingestor, now).await
        }
        .await;
        let released = repo::job_state::release_lease(&self.db, LEASE, &owner).await;
        let summary = result?;
        released?;
        Ok(summary)
    }

    /// One dispatch pass: expire what is over, send what is due.
    pub async fn dispatch(&self) -> Result<DispatchReport, DeliveryError> {
        let dispatcher = self
            .dispatcher
            .get_or_try_init(|| async { Dispatcher::new(self.db.clone(), self.settings.clone(), self.clock.clone()) })
            .await?;
        dispatcher.pass().await
    }

    /// Erase the personal data whose purpose is served, on behalf of `actor`.
    pub async fn purge(&self, actor: &str) -> Result<PurgeReport, DbErr> {
        crate::delivery::purge::purge(&self.db, &self.settings, self.clock.now(), actor).await
    }

    /// One sampling run as of the clock's now.
    pub async fn sample(&self, options: RunOptions) -> Result<RunOutcome, SamplingError> {
        sampling::run(&self.db, &self.settings, &self.clock, options).await
    }
}

/// What a replay did: each kept error's new outcome.
#[derive(Debug, Serialize)]
pub struct ReplayReport {
    pub results: Vec<ReplayResult>,
}

impl ReplayReport {
    pub fn still_rejected(&self) -> impl Iterator<Item = &ReplayResult> {
        self.results.iter().filter(|r| r.outcome == crate::ingestion::Outcome::Rejected)
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let still = self.still_rejected().count();
        write!(
            f,
            "replayed {} ingestion errors: {} resolved, {} still rejected",
            self.results.len(),
            self.results.len() - still,
            still
        )
    }
}
