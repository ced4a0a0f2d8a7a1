//! Wiring between configured cron expressions and the jobs of `jobs::Jobs` (the same entry
//! points the CLI and the tests call); this file only schedules them and logs each run's report. tokio-cron-scheduler takes six-field expressions, seconds first.
//! An empty cron string disables a job.

use std::{future::Future, pin::Pin, sync::Arc};

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::jobs::Jobs;
use crate::sampling::RunOptions;

type JobFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;
type JobFn = Arc<dyn Fn(Jobs) -> JobFuture + Send + Sync>;

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

/// A job's report, or its error with the whole chain of causes, as one log line.
fn logged<T: std::fmt::Display, E: std::error::Error + 'static>(result: Result<T, E>) -> Result<String, String> {
    result.map(|report| report.to_string().trim_end().to_owned()).map_err(|err| crate::telemetry::error_chain(&err))
}

/// The jobs configured in `settings`. Features add theirs here (dispatch, reminders, ...).
pub fn configured_jobs(jobs: &Jobs) -> Vec<ScheduledJob> {
    let settings = &jobs.settings;
    let mut scheduled = vec![ScheduledJob {
        name: "sampling",
        cron: settings.sampling.cron.clone(),
        run: Arc::new(|jobs| Box::pin(async move { logged(jobs.sample(RunOptions::default()).await) })),
    }];
    scheduled.push(ScheduledJob {
        name: "dispatch",
        cron: settings.delivery.cron.clone(),
        run: Arc::new(|jobs| Box::pin(async move { logged(jobs.dispatch().await) })),
    });
    scheduled.push(ScheduledJob {
        name: "retention",
        cron: settings.retention.cron.clone(),
        run: Arc::new(|jobs| Box::pin(async move { logged(jobs.purge("scheduler").await) })),
    });
    if !settings.open311.endpoint.trim().is_empty() {
        scheduled.push(ScheduledJob {
            name: "open311_poll",
            cron: settings.open311.cron.clone(),
            run: Arc::new(|jobs| Box::pin(async move { logged(jobs.poll_open311().await) })),
        });
    }
    scheduled
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
pub async fn start(scheduled: Vec<ScheduledJob>, jobs: Jobs) -> Result<JobScheduler, SchedulerError> {
    validate(&scheduled)?;
    let scheduler = JobScheduler::new().await?;
    let mut active = Vec::new();
    for job in scheduled.into_iter().filter(|job| !job.cron.trim().is_empty()) {
        let (name, run) = (job.name, job.run.clone());
        let jobs = jobs.clone();
        let cron_job = Job::new_async(job.cron.as_str(), move |_, _| {
            let (run, jobs) = (run.clone(), jobs.clone());
            Box::pin(async move {
                match run(jobs).await {
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
        ScheduledJob { name: "test", cron: cron.into(), run: Arc::new(|_| Box::pin(async { Ok(String::new()) })) }
    }

    #[test]
    fn validates_six_field_cron_and_allows_empty() {
        assert!(validate(&[job("0 */15 * * * *"), job("")]).is_ok());
        let err = validate(&[job("every quarter hour")]).unwrap_err().to_string();
        assert!(err.contains("every quarter hour") && err.contains("test"), "{err}");
    }
}
