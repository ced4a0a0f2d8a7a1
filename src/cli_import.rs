//! `satisfaction import ...`: the operator's side of ingestion (progress bar, summary, report).

use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::DatabaseConnection;

use crate::cli::{CommandOutcome, FileImport, ImportCommand, SampleArgs};
use crate::config::Settings;
use crate::ingestion::{
    Ingestor,
    file_import::{self, FileImportReport},
    open311::Poller,
    replay,
    responses::ResponseImporter,
};

pub async fn run(
    command: ImportCommand,
    db: &DatabaseConnection,
    settings: &Settings,
) -> anyhow::Result<CommandOutcome> {
    let hasher = settings.contact_hasher();
    let policy = settings.ingestion.unknown_directions;
    match command {
        ImportCommand::Requests(args) => {
            let mut ingestor = Ingestor::new(db, hasher, policy).await?;
            import_file(db, &mut ingestor, &file_import::REQUESTS, &args).await
        }
        ImportCommand::Responses(args) => {
            let mut importer = ResponseImporter::new(db, settings.time_zone, policy).await?;
            import_file(db, &mut importer, &file_import::RESPONSES, &args).await
        }
        ImportCommand::Open311 { now } => {
            let now = match now {
                Some(raw) => DateTime::parse_from_rfc3339(&raw)
                    .with_context(|| format!("--now {raw:?} is not an RFC 3339 date-time"))?
                    .with_timezone(&Utc),
                None => Utc::now(),
            };
            let poller = Poller::new(&settings.open311)?;
            let mut ingestor = Ingestor::new(db, hasher, policy).await?;
            let summary = poller.poll(db, &mut ingestor, now).await?;
            let items = summary.items;
            println!(
                "open311: {} records in {} pages over {} windows; created {}, updated {}, unchanged {}, rejected {}; next poll from {}",
                summary.records,
                summary.pages,
                summary.windows,
                items.created,
                items.updated,
                items.unchanged,
                items.rejected,
                summary.high_water_mark.map(|m| m.to_rfc3339()).unwrap_or_else(|| "(unchanged)".into())
            );
            Ok(if items.rejected > 0 { CommandOutcome::SomeRejected } else { CommandOutcome::Success })
        }
        ImportCommand::Replay { ids } => {
            let ingestor = Ingestor::new(db, hasher, policy).await?.without_keeping_rejects();
            let importer = ResponseImporter::new(db, settings.time_zone, policy).await?.without_keeping_rejects();
            let results = replay::replay(db, ingestor, importer, &ids).await?;
            let still = results.iter().filter(|r| r.outcome == crate::ingestion::Outcome::Rejected).count();
            for result in results.iter().filter(|r| r.outcome == crate::ingestion::Outcome::Rejected) {
                let reasons: Vec<String> = result
                    .reasons
                    .iter()
                    .map(|r| format!("{}: {}", r.field.as_deref().unwrap_or("item"), r.message))
                    .collect();
                eprintln!("ingestion error {} still rejected: {}", result.ingestion_error_id, reasons.join("; "));
            }
            println!(
                "replayed {} ingestion errors: {} resolved, {} still rejected",
                results.len(),
                results.len() - still,
                still
            );
            Ok(if still > 0 { CommandOutcome::SomeRejected } else { CommandOutcome::Success })
        }
    }
}

/// One file through `sink`, with a progress bar on a terminal and a summary at the end.
async fn import_file<S: file_import::ChunkSink>(
    db: &DatabaseConnection,
    sink: &mut S,
    spec: &file_import::FileSpec,
    args: &FileImport,
) -> anyhow::Result<CommandOutcome> {
    let report_path = args.report.clone().unwrap_or_else(|| file_import::default_report_path(&args.file));
    let started = Instant::now();
    let bar = progress_bar();
    let report = file_import::import_file(db, sink, spec, &args.file, &report_path, &mut |done, total, summary| {
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(format!("{} rows", summary.total()));
    })
    .await;
    bar.finish_and_clear();
    finish(args, report.with_context(|| format!("import of {} stopped", args.file.display()))?, started)
}

fn progress_bar() -> ProgressBar {
    // Drawn on stderr only when it is a terminal; hidden in scripts and CI.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn finish(args: &FileImport, report: FileImportReport, started: Instant) -> anyhow::Result<CommandOutcome> {
    let s = report.summary;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}: {} rows in {:.1} s ({:.0} rows/s): created {}, updated {}, unchanged {}, rejected {}",
        args.file.display(),
        s.total(),
        seconds,
        s.total() as f64 / seconds.max(1e-9),
        s.created,
        s.updated,
        s.unchanged,
        s.rejected
    );
    match report.rejects_path {
        Some(path) => {
            eprintln!("rejected rows, with line numbers and reasons: {}", path.display());
            Ok(CommandOutcome::SomeRejected)
        }
        None => Ok(CommandOutcome::Success),
    }
}

/// `satisfaction sample`: one run, with its per-stratum summary.
pub async fn sample(args: SampleArgs, db: &DatabaseConnection, settings: &Settings) -> anyhow::Result<()> {
    let now = match &args.now {
        Some(raw) => DateTime::parse_from_rfc3339(raw)
            .with_context(|| format!("--now {raw:?} is not an RFC 3339 date-time"))?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let options = crate::sampling::RunOptions { now, dry_run: args.dry_run, seed: args.seed };
    match crate::sampling::run(db, settings, options).await? {
        crate::sampling::RunOutcome::Skipped => println!("another sampling run is in progress; nothing done"),
        crate::sampling::RunOutcome::Completed(report) if args.json => {
            println!("{}", serde_json::to_string_pretty(&report)?)
        }
        crate::sampling::RunOutcome::Completed(report) => print!("{}", crate::sampling::run::format_report(&report)),
    }
    Ok(())
}
