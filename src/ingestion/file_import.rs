//! `satisfaction import requests|responses FILE.csv`: stream the file through the same code path
//! as the API, in chunks, writing rejected rows to a report. Memory stays flat whatever the size.

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use futures_util::future::{self, Either};

use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use super::csv_file::{CsvError, CsvRows, RejectReport};
use super::fields::FieldError;
use super::item::{ItemResult, Outcome, Source, SourcedItem, Summary};
use super::responses::{ResponseImporter, ValidResponse};
use super::service::{CHUNK, Ingestor, ParsedRequest};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error("cannot write the report {path}: {source}")]
    Report { path: String, source: std::io::Error },
    #[error("database error")]
    Db(#[from] DbErr),
    #[error("the file reader stopped unexpectedly: {0}")]
    Reader(String),
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct FileImportReport {
    pub summary: Summary,
    /// The report of rejected rows; written only when something was rejected.
    pub rejects_path: Option<PathBuf>,
}

/// `FILE.csv` → `FILE.rejected.csv`, beside it.
pub fn default_report_path(input: &Path) -> PathBuf {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
    input.with_file_name(format!("{stem}.rejected.csv"))
}

/// What a kind of file needs: its required columns and the column identifying a row.
pub struct FileSpec {
    pub required: &'static [&'static str],
    pub id_column: &'static str,
}

pub const REQUESTS: FileSpec = FileSpec { required: &["service_request_id"], id_column: "service_request_id" };
pub const RESPONSES: FileSpec = FileSpec {
    required: &["response_id", "agency_responsible", "channel", "score", "submitted_at"],
    id_column: "response_id",
};

/// Chunks written per transaction on SQLite (see `import_file`).
const SQLITE_CHUNKS_PER_COMMIT: usize = 50;

/// Called after each chunk with (bytes read, total bytes, running summary).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64, &Summary);

/// Reads one row without the database.
pub type RowParser<P> = Box<dyn Fn(&SourcedItem) -> P + Send>;

/// The writing of a chunk, on a connection of its own.
pub type WriteJob = Pin<Box<dyn Future<Output = Result<Vec<ItemResult>, DbErr>> + Send + 'static>>;

/// A chunk once its sink has done what needs the sink itself.
pub enum Prepared<P> {
    /// The rest writes on its own: the next chunk can be prepared meanwhile.
    Job(WriteJob),
    /// This sink writes its chunks one after the other: the chunk back, for `take`.
    Take(Vec<SourcedItem>, Vec<P>),
}

/// Where the rows of a file go, a chunk at a time: a parser that needs no database (run on a
/// thread of its own, ahead of the writes), then the writing of parsed chunks.
#[allow(async_fn_in_trait)]
pub trait ChunkSink {
    type Parsed: Send + 'static;
    /// The table the rows go to (its planner statistics are refreshed as it grows).
    const TABLE: &'static str;

    fn parser(&self) -> RowParser<Self::Parsed>;

    async fn take<C: ConnectionTrait + TransactionTrait>(
        &mut self,
        db: &C,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Self::Parsed>,
    ) -> Result<Vec<ItemResult>, DbErr>;

    /// For two chunks written at once (PostgreSQL): the part of a chunk's writing that needs the
    /// sink (`&mut self`) runs here, in file order, and the job returned writes the rest on `db`'s
    /// pool. By default the chunk comes back for `take`.
    async fn prepare<C>(
        &mut self,
        _db: &C,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Self::Parsed>,
    ) -> Result<Prepared<Self::Parsed>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait + Clone + Send + Sync + 'static,
    {
        Ok(Prepared::Take(chunk, parsed))
    }

    /// After the last chunk (what was left for the end: the responses' roll-ups).
    async fn finish<C: ConnectionTrait + TransactionTrait>(&mut self, _db: &C) -> Result<(), DbErr> {
        Ok(())
    }
}

impl ChunkSink for Ingestor {
    type Parsed = Result<ParsedRequest, Vec<FieldError>>;
    const TABLE: &'static str = "service_requests";

    fn parser(&self) -> RowParser<Self::Parsed> {
        let parser = Ingestor::parser(self);
        Box::new(move |item| parser.parse(item, Source::Csv))
    }

    async fn take<C: ConnectionTrait + TransactionTrait>(
        &mut self,
        db: &C,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Self::Parsed>,
    ) -> Result<Vec<ItemResult>, DbErr> {
        self.ingest_parsed(db, Source::Csv, chunk, parsed).await
    }

    async fn prepare<C>(
        &mut self,
        db: &C,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Self::Parsed>,
    ) -> Result<Prepared<Self::Parsed>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait + Clone + Send + Sync + 'static,
    {
        let prepared = self.prepare_parsed(db, Source::Csv, chunk, parsed).await?;
        let db = db.clone();
        Ok(Prepared::Job(Box::pin(async move { prepared.write(&db).await })))
    }
}

impl ChunkSink for ResponseImporter {
    type Parsed = Result<ValidResponse, Vec<FieldError>>;
    const TABLE: &'static str = "responses";

    fn parser(&self) -> RowParser<Self::Parsed> {
        Box::new(ResponseImporter::parser(self))
    }

    async fn take<C: ConnectionTrait + TransactionTrait>(
        &mut self,
        db: &C,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Self::Parsed>,
    ) -> Result<Vec<ItemResult>, DbErr> {
        self.ingest_parsed(db, chunk, parsed).await
    }

    /// Once the roll-ups are deferred (past `ingestion.rollup_deferral_rows`, the bulk of a large
    /// import) a chunk writes on its own; before, one after the other, since each counts the rows
    /// written so far.
    async fn prepare<C>(
        &mut self,
        db: &C,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Self::Parsed>,
    ) -> Result<Prepared<Self::Parsed>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait + Clone + Send + Sync + 'static,
    {
        if !self.deferring() {
            return Ok(Prepared::Take(chunk, parsed));
        }
        let prepared = self.prepare_parsed(db, chunk, parsed).await?;
        let db = db.clone();
        Ok(Prepared::Job(Box::pin(async move { prepared.write(&db).await.map(|(results, _)| results) })))
    }

    async fn finish<C: ConnectionTrait + TransactionTrait>(&mut self, db: &C) -> Result<(), DbErr> {
        ResponseImporter::finish(self, db).await.map(|_| ())
    }
}

/// A parsed chunk on its way from the reading thread to the writer, with how far into the file
/// the reader is.
type Parsed<S> = Result<(Vec<SourcedItem>, Vec<<S as ChunkSink>::Parsed>, u64), CsvError>;

/// Stream `path` into `sink` in chunks; rejected rows go to `report_path`. A thread reads and
/// parses the next chunks (two ahead at most: memory stays flat) while this task writes.
pub async fn import_file<C, S>(
    db: &C,
    sink: &mut S,
    spec: &FileSpec,
    path: &Path,
    report_path: &Path,
    progress: Progress<'_>,
) -> Result<FileImportReport, ImportError>
where
    C: ConnectionTrait + TransactionTrait + Clone + Send + Sync + 'static,
    C::Transaction: ConnectionTrait + TransactionTrait + TransactionSession,
    S: ChunkSink,
{
    let mut rows = CsvRows::open(path, spec.required)?;
    let size = rows.size;
    let parser = sink.parser();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Parsed<S>>(1);
    let reader = tokio::task::spawn_blocking(move || {
        let mut index = 0usize;
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            while chunk.len() < CHUNK {
                match rows.next_row() {
                    Ok(Some(row)) => {
                        chunk.push(SourcedItem {
                            index,
                            line: Some(row.line),
                            raw: row.item,
                            structural_errors: row.errors,
                        });
                        index += 1;
                    }
                    Ok(None) => break,
                    Err(err) => {
                        let _ = sender.blocking_send(Err(err));
                        return;
                    }
                }
            }
            if chunk.is_empty() {
                return;
            }
            let parsed = chunk.iter().map(&parser).collect();
            // The writer stopped (an error): nothing more to read for.
            if sender.blocking_send(Ok((chunk, parsed, rows.position()))).is_err() {
                return;
            }
        }
    });
    let mut tally = Tally {
        rejects: Rejects::new(report_path, spec.id_column),
        summary: Summary::default(),
        // Statistics refreshed each time the import has doubled what it wrote (as the sampling
        // run does for invitations). This also makes PostgreSQL replan the import's prepared
        // statements: a generic plan made while the table was empty (a sequential scan) would
        // otherwise be kept as it grows — measured, a million-request import stalled on one
        // look-up scanning the whole table for every chunk.
        analyze_at: 20_000,
    };
    // On SQLite, several chunks share one transaction (each chunk's own is a savepoint in it):
    // every commit writes each page the chunk touched to the write-ahead log, and the indexes'
    // pages are touched again by the next chunk. Ten chunks of 2,000 rows a commit wrote a
    // million responses in half the time of one chunk a commit; fifty, a million requests in 35 s
    // instead of 39.
    let chunks_per_commit = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => SQLITE_CHUNKS_PER_COMMIT,
        _ => 1,
    };
    let mut open: Option<(C::Transaction, usize)> = None;
    // On PostgreSQL, a chunk being written on a connection of its own while the next is prepared,
    // then written beside it: two server processes at work (a million requests 42 → 25 s). Both
    // are polled by this task (no task of their own: on another thread, the allocator kept the
    // chunks' freed memory apart: 136 MB at the peak against 115).
    let mut in_flight: Option<InFlight> = None;
    while let Some(message) = receiver.recv().await {
        let (chunk, parsed, position) = message?;
        if chunks_per_commit == 1 {
            let ids = ids_of(&chunk, spec.id_column);
            // An id in both: the earlier chunk is written first, so the file's last row wins.
            if in_flight.as_ref().is_some_and(|(_, flying, _)| !flying.is_disjoint(&ids))
                && let Some((job, _, end)) = in_flight.take()
            {
                tally.settle(db, S::TABLE, job.await?, end, size, progress).await?;
            }
            match sink.prepare(db, chunk, parsed).await? {
                Prepared::Job(job) => {
                    let Some((earlier, _, end)) = in_flight.take() else {
                        in_flight = Some((job, ids, position));
                        continue;
                    };
                    // Both written at once; the earlier is counted first.
                    match future::select(earlier, job).await {
                        Either::Left((results, job)) => {
                            tally.settle(db, S::TABLE, results?, end, size, progress).await?;
                            in_flight = Some((job, ids, position));
                        }
                        Either::Right((results, earlier)) => {
                            tally.settle(db, S::TABLE, earlier.await?, end, size, progress).await?;
                            tally.settle(db, S::TABLE, results?, position, size, progress).await?;
                        }
                    }
                }
                Prepared::Take(chunk, parsed) => {
                    // Counted in file order, after the chunk in flight if any.
                    if let Some((job, _, end)) = in_flight.take() {
                        tally.settle(db, S::TABLE, job.await?, end, size, progress).await?;
                    }
                    let results = sink.take(db, chunk, parsed).await?;
                    tally.settle(db, S::TABLE, results, position, size, progress).await?;
                }
            }
            continue;
        }
        if open.is_none() {
            open = Some((crate::db::begin_write(db).await?, 0));
        }
        let Some((txn, chunks)) = open.as_mut() else { unreachable!("opened above") };
        *chunks += 1;
        let results = sink.take(txn, chunk, parsed).await?;
        let full = *chunks >= chunks_per_commit;
        // Reported once committed, or once in the transaction that commits next: should that
        // fail, the import stops with the error.
        if (full || tally.analyze_due(&results).is_some())
            && let Some((txn, _)) = open.take()
        {
            txn.commit().await?;
        }
        tally.settle(db, S::TABLE, results, position, size, progress).await?;
    }
    if let Some((job, _, end)) = in_flight.take() {
        tally.settle(db, S::TABLE, job.await?, end, size, progress).await?;
    }
    if let Some((txn, _)) = open.take() {
        txn.commit().await?;
    }
    let Tally { rejects, summary, .. } = tally;
    if summary.created + summary.updated > 0 {
        crate::db::analyze(db, S::TABLE).await?;
    }
    // Before the roll-ups are recomputed: their reads would otherwise look every page up in a
    // write-ahead log of hundreds of MB.
    crate::db::checkpoint(db).await?;
    sink.finish(db).await?;
    crate::db::checkpoint(db).await?;
    drop(receiver);
    reader.await.map_err(|err| ImportError::Reader(err.to_string()))?;
    Ok(FileImportReport { summary, rejects_path: rejects.finish()? })
}

/// A chunk being written: its job, the ids it holds, where in the file it ends.
type InFlight = (WriteJob, HashSet<String>, u64);

/// The ids a chunk's rows give themselves (in `id_column`).
fn ids_of(chunk: &[SourcedItem], id_column: &str) -> HashSet<String> {
    chunk
        .iter()
        .filter_map(|item| match item.raw.get(id_column)? {
            serde_json::Value::String(id) => Some(id.trim().to_owned()),
            other => Some(other.to_string()),
        })
        .collect()
}

/// What the import has written so far, and when its table's statistics are next refreshed.
struct Tally<'a> {
    rejects: Rejects<'a>,
    summary: Summary,
    analyze_at: u64,
}

impl Tally<'_> {
    /// How many rows will have been written once `results` count, if that is enough to refresh
    /// the statistics.
    fn analyze_due(&self, results: &[ItemResult]) -> Option<u64> {
        let written = self.summary.created
            + self.summary.updated
            + results.iter().filter(|r| matches!(r.outcome, Outcome::Created | Outcome::Updated)).count() as u64;
        (written >= self.analyze_at).then_some(written)
    }

    /// Count a written chunk's results, in file order: its rejects reported, the progress shown,
    /// the statistics refreshed when due.
    async fn settle(
        &mut self,
        db: &impl ConnectionTrait,
        table: &str,
        results: Vec<ItemResult>,
        position: u64,
        size: u64,
        progress: Progress<'_>,
    ) -> Result<(), ImportError> {
        let due = self.analyze_due(&results);
        self.rejects.record(&results, &mut self.summary)?;
        progress(position, size, &self.summary);
        if let Some(written) = due {
            crate::db::analyze(db, table).await?;
            self.analyze_at = written * 2;
        }
        Ok(())
    }
}

/// The reject report, created on the first rejected row only.
struct Rejects<'a> {
    path: &'a Path,
    id_column: &'static str,
    report: Option<RejectReport>,
}

impl<'a> Rejects<'a> {
    fn new(path: &'a Path, id_column: &'static str) -> Rejects<'a> {
        Rejects { path, id_column, report: None }
    }

    fn error(&self, source: std::io::Error) -> ImportError {
        ImportError::Report { path: self.path.display().to_string(), source }
    }

    fn record(&mut self, results: &[ItemResult], summary: &mut Summary) -> Result<(), ImportError> {
        for result in results {
            summary.add(result.outcome);
            if result.outcome != Outcome::Rejected {
                continue;
            }
            if self.report.is_none() {
                self.report = Some(RejectReport::create(self.path, self.id_column).map_err(|e| self.error(e))?);
            }
            let report = self.report.as_mut().expect("just created");
            if let Err(err) = report.write(result.line, result.service_request_id.as_deref(), &result.reasons) {
                return Err(ImportError::Report { path: self.path.display().to_string(), source: err });
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Option<PathBuf>, ImportError> {
        match self.report {
            None => Ok(None),
            Some(report) => {
                report
                    .finish()
                    .map_err(|e| ImportError::Report { path: self.path.display().to_string(), source: e })?;
                Ok(Some(self.path.to_path_buf()))
            }
        }
    }
}
