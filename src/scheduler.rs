//! Wiring between configured cron expressions and job functions. Each job is a plain
//! `pub async fn` in its own module (callable from the CLI and tests); this file only
//! schedules them. tokio-cron-scheduler takes six-field expressions, seconds first.
//! An empty cron string disables a job.

use std::{future::Future, pin::Pin, sync::Arc};

use sea_orm::DatabaseConnection;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::config::Settings;

type JobFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;
type JobFn = Arc<dyn Fn(DatabaseConnection, Arc<Settings>) -> JobFuture + Send + Sync>;

/// A named job and the cron expression it runs on.
pub struct ScheduledJob {
    pub name: &'static str,
    pub cron: String,
    pub run: JobFn,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("invalid cron expression {cron:?} for job {job}: {source}")]
    BadCron { job: &'static str, cron: String, source: JobSchedulerError },
    #[error("scheduler error: {0}")]
    Scheduler(#[from] JobSchedulerError),
}

/// The jobs configured in `settings`. Features add theirs here (sampling, dispatch, ...).
pub fn configured_jobs(settings: &Settings) -> Vec<ScheduledJob> {
    let mut jobs = vec![ScheduledJob {
        name: "sampling",
        cron: settings.sampling.cron.clone(),
        run: Arc::new(|db, settings| Box::pin(sample(db, settings))),
    }];
    if !settings.open311.endpoint.trim().is_empty() {
        jobs.push(ScheduledJob {
            name: "open311_poll",
            cron: settings.open311.cron.clone(),
            run: Arc::new(|db, settings| Box::pin(poll_open311(db, settings))),
        });
    }
    jobs
}

async fn sample(db: DatabaseConnection, settings: Arc<Settings>) -> Result<String, String> {
    use crate::sampling::{RunOptions, RunOutcome, run};
    let options = RunOptions { now: chrono::Utc::now(), dry_run: false, seed: None };
    match run(&db, &settings, options).await.map_err(|e| crate::telemetry::error_chain(&e))? {
        RunOutcome::Skipped => Ok("sampling: another run holds the lock; skipped".into()),
        RunOutcome::Completed(report) => {
            let strata: Vec<String> = report
                .strata
                .iter()
                .map(|s| format!("{} {}/{} at {:.3}", s.stratum, s.sampled, s.eligible, s.rate))
                .collect();
            Ok(format!(
                "sampling run {}: sampled {} of {} eligible ({})",
                report.run_id,
                report.sampled,
                report.eligible,
                strata.join("; ")
            ))
        }
    }
}

async fn poll_open311(db: DatabaseConnection, settings: Arc<Settings>) -> Result<String, String> {
    use crate::ingestion::{Ingestor, open311::Poller};
    let poller = Poller::new(&settings.open311).map_err(|e| e.to_string())?;
    let mut ingestor = Ingestor::new(&db, settings.contact_hasher(), settings.ingestion.unknown_directions)
        .await
        .map_err(|e| e.to_string())?;
    let summary =
        poller.poll(&db, &mut ingestor, chrono::Utc::now()).await.map_err(|e| crate::telemetry::error_chain(&e))?;
    Ok(format!(
        "open311: {} records, created {}, updated {}, unchanged {}, rejected {}",
        summary.records, summary.items.created, summary.items.updated, summary.items.unchanged, summary.items.rejected
    ))
}

/// Check every cron expression without starting anything, so a typo stops start-up.
pub fn validate(jobs: &[ScheduledJob]) -> Result<(), SchedulerError> {
    for job in jobs.iter().filter(|job| !job.cron.trim().is_empty()) {
        Job::new_async(job.cron.as_str(), |_, _| Box::pin(async {})).map_err(|source| SchedulerError::BadCron {
            job: job.name,
            cron: job.cron.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Start the scheduler with the given jobs. Each run logs its summary or its error.
pub async fn start(
    jobs: Vec<ScheduledJob>,
    db: DatabaseConnection,
    settings: Arc<Settings>,
) -> Result<JobScheduler, SchedulerError> {
    validate(&jobs)?;
    let scheduler = JobScheduler::new().await?;
    let mut active = Vec::new();
    for job in jobs.into_iter().filter(|job| !job.cron.trim().is_empty()) {
        let (name, run) = (job.name, job.run.clone());
        let (db, settings) = (db.clone(), settings.clone());
        let cron_job = Job::new_async(job.cron.as_str(), move |_, _| {
            let (run, db, settings) = (run.clone(), db.clone(), settings.clone());
            Box::pin(async move {
                match run(db, settings).await {
                    Ok(summary) => tracing::info!(job = name, "{summary}"),
                    Err(error) => tracing::error!(job = name, %error, "scheduled job failed"),
                }
            })
        })
        .map_err(|source| SchedulerError::BadCron { job: name, cron: job.cron.clone(), source })?;
        scheduler.add(cron_job).await?;
        active.push(format!("{name} ({})", job.cron));
    }
    scheduler.start().await?;
    tracing::info!(jobs = ?active, "scheduler started");
    Ok(scheduler)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(cron: &str) -> ScheduledJob {
        ScheduledJob { name: "test", cron: cron.into(), run: Arc::new(|_, _| Box::pin(async { Ok(String::new()) })) }
    }

    #[test]
    fn validates_six_field_cron_and_allows_empty() {
        assert!(validate(&[job("0 */15 * * * *"), job("")]).is_ok());
        let err = validate(&[job("every quarter hour")]).unwrap_err().to_string();
        assert!(err.contains("every quarter hour") && err.contains("test"), "{err}");
    }
}
