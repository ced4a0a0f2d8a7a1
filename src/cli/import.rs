//! `satisfaction import requests|responses|open311|replay`: the operator's side of ingestion
//! (progress bar, summary, report of rejected rows).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use super::{CommandOutcome, Context, parse_now};
use crate::ingestion::file_import::{self, FileImportReport};
use crate::jobs::FileKind;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Closed requests from a CSV file (columns named like the JSON API fields).
    Requests(FileImport),
    /// Historical responses from an earlier survey tool.
    Responses(FileImport),
    /// Pull new closed requests from the configured Open311 GeoReport v2 endpoint.
    Open311 {
        /// Poll as if it were this time (RFC 3339); default: now.
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
    },
    /// Replay kept ingestion errors (all unresolved ones, or the given ids).
    Replay { ids: Vec<i64> },
}

#[derive(Debug, Args)]
pub struct FileImport {
    /// UTF-8 CSV, comma or semicolon delimited, with a header row.
    pub file: PathBuf,
    /// Where to write rejected rows (default: FILE.rejected.csv beside the input).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

pub async fn run(command: ImportCommand, context: &Context) -> anyhow::Result<CommandOutcome> {
    match command {
        ImportCommand::Requests(args) => import_file(context, FileKind::Requests, &args).await,
        ImportCommand::Responses(args) => import_file(context, FileKind::Responses, &args).await,
        ImportCommand::Open311 { now } => {
            let summary = context.jobs(parse_now(&now)?).poll_open311().await?;
            println!("{summary}");
            Ok(if summary.items.rejected > 0 { CommandOutcome::SomeRejected } else { CommandOutcome::Success })
        }
        ImportCommand::Replay { ids } => {
            let report = context.jobs(None).replay("cli", &ids).await?;
            for result in report.still_rejected() {
                let reasons: Vec<String> = result
                    .reasons
                    .iter()
                    .map(|r| format!("{}: {}", r.field.as_deref().unwrap_or("item"), r.message))
                    .collect();
                eprintln!("ingestion error {} still rejected: {}", result.ingestion_error_id, reasons.join("; "));
            }
            println!("{report}");
            Ok(if report.still_rejected().next().is_some() {
                CommandOutcome::SomeRejected
            } else {
                CommandOutcome::Success
            })
        }
    }
}

/// One file through the import job, with a progress bar on a terminal and a summary at the end.
async fn import_file(context: &Context, kind: FileKind, args: &FileImport) -> anyhow::Result<CommandOutcome> {
    let report_path = args.report.clone().unwrap_or_else(|| file_import::default_report_path(&args.file));
    let started = Instant::now();
    let bar = progress_bar();
    // Its own connection (on SQLite one, with a larger page cache: `db::connect_for_import`).
    let db = crate::db::connect_for_import(&context.settings.database_url, &context.settings.database).await?;
    let importer = Context { settings: context.settings.clone(), db, clock: context.clock.clone() };
    let report = importer
        .jobs(None)
        .import_file(kind, &args.file, &report_path, &mut |done, total, summary| {
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
