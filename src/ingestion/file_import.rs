//! `satisfaction import requests|responses FILE.csv`: stream the file through the same code path
//! as the API, in chunks, writing rejected rows to a report. Memory stays flat whatever the size.

use std::path::{Path, PathBuf};

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use super::csv_file::{CsvError, CsvRows, RejectReport};
use super::responses::ResponseImporter;
use super::service::{CHUNK, Ingestor, ItemResult, Outcome, Source, SourcedItem, Summary};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error("cannot write the report {path}: {source}")]
    Report { path: String, source: std::io::Error },
    #[error("database error")]
    Db(#[from] DbErr),
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

pub const REQUEST_COLUMNS: [&str; 1] = ["service_request_id"];

/// Called after each chunk with (bytes read, total bytes).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64, &Summary);

pub async fn import_requests<C>(
    db: &C,
    ingestor: &mut Ingestor,
    path: &Path,
    report_path: &Path,
    progress: Progress<'_>,
) -> Result<FileImportReport, ImportError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let mut rows = CsvRows::open(path, &REQUEST_COLUMNS)?;
    let mut rejects = Rejects::new(report_path, "service_request_id");
    let mut summary = Summary::default();
    let mut index = 0usize;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        while chunk.len() < CHUNK {
            let Some(row) = rows.next_row()? else { break };
            chunk.push(SourcedItem { index, line: Some(row.line), raw: row.item, structural_errors: row.errors });
            index += 1;
        }
        if chunk.is_empty() {
            break;
        }
        let results = ingestor.ingest(db, Source::Csv, chunk).await?;
        rejects.record(&results, &mut summary)?;
        progress(rows.position(), rows.size, &summary);
    }
    Ok(FileImportReport { summary, rejects_path: rejects.finish()? })
}

pub const RESPONSE_COLUMNS: [&str; 5] = ["response_id", "agency_responsible", "channel", "score", "submitted_at"];

pub async fn import_responses<C>(
    db: &C,
    importer: &mut ResponseImporter,
    path: &Path,
    report_path: &Path,
    progress: Progress<'_>,
) -> Result<FileImportReport, ImportError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let mut rows = CsvRows::open(path, &RESPONSE_COLUMNS)?;
    let mut rejects = Rejects::new(report_path, "response_id");
    let mut summary = Summary::default();
    let mut index = 0usize;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        while chunk.len() < CHUNK {
            let Some(row) = rows.next_row()? else { break };
            chunk.push(SourcedItem { index, line: Some(row.line), raw: row.item, structural_errors: row.errors });
            index += 1;
        }
        if chunk.is_empty() {
            break;
        }
        let results = importer.ingest(db, chunk).await?;
        rejects.record(&results, &mut summary)?;
        progress(rows.position(), rows.size, &summary);
    }
    Ok(FileImportReport { summary, rejects_path: rejects.finish()? })
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
