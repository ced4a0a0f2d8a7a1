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
    BadCron {
        job: &'static str,
        cron: String,
        source: JobSchedulerError,
    },
    #[error("scheduler error: {0}")]
    Scheduler(#[from] JobSchedulerError),
}

/// The jobs configured in `settings`. Features add theirs here (sampling, dispatch, ...).
pub fn configured_jobs(_settings: &Settings) -> Vec<ScheduledJob> {
    Vec::new()
}

/// Check every cron expression without starting anything, so a typo stops start-up.
pub fn validate(jobs: &[ScheduledJob]) -> Result<(), SchedulerError> {
    for job in jobs.iter().filter(|job| !job.cron.trim().is_empty()) {
        Job::new_async(job.cron.as_str(), |_, _| Box::pin(async {})).map_err(|source| {
            SchedulerError::BadCron {
                job: job.name,
                cron: job.cron.clone(),
                source,
            }
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
        .map_err(|source| SchedulerError::BadCron {
            job: name,
            cron: job.cron.clone(),
            source,
        })?;
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
        ScheduledJob {
            name: "test",
            cron: cron.into(),
            run: Arc::new(|_, _| Box::pin(async { Ok(String::new()) })),
        }
    }

    #[test]
    fn validates_six_field_cron_and_allows_empty() {
        assert!(validate(&[job("0 */15 * * * *"), job("")]).is_ok());
        let err = validate(&[job("every quarter hour")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("every quarter hour") && err.contains("test"),
            "{err}"
        );
    }
}
