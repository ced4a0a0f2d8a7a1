//! `satisfaction serve` (the default): the web server and the scheduled jobs in one process.

use rocket::figment::Figment;

use crate::{app, scheduler};

/// Start the server and the scheduler; returns when the server shuts down.
pub async fn serve(figment: Figment) -> anyhow::Result<()> {
    let figment = app::ensure_secret_key(figment)?;
    let application = app::build(figment).await?;
    let scheduler = if application.jobs.settings.scheduler.enabled {
        let scheduled = scheduler::configured_jobs(&application.jobs);
        Some(scheduler::start(scheduled, application.jobs.clone()).await?)
    } else {
        tracing::info!("scheduler disabled by configuration");
        None
    };
    let result = application.rocket.launch().await;
    if let Some(mut scheduler) = scheduler {
        let _ = scheduler.shutdown().await;
    }
    result.map(|_| ()).map_err(|err| anyhow::anyhow!("server error: {err}"))
}
