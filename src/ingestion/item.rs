//! What goes through ingestion and what comes out: an item as it arrived, where it came from,
//! and what happened to it.

use serde::Serialize;

use super::fields::{FieldError, RawItem};

/// Where items come from; stored with every rejected item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Api,
    Csv,
    Open311,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Csv => "csv",
            Source::Open311 => "open311",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

/// What happened to one item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemResult {
    /// Position in the batch (0-based).
    pub index: usize,
    /// Line in the source file, for CSV imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub service_request_id: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<FieldError>,
    /// The row keeping the rejected item, for listing and replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingestion_error_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl Summary {
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Rejected => self.rejected += 1,
        }
    }

    pub fn of(results: &[ItemResult]) -> Summary {
        let mut summary = Summary::default();
        for result in results {
            summary.add(result.outcome);
        }
        summary
    }

    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.rejected
    }
}

/// One item as it arrived.
#[derive(Debug, Clone)]
pub struct SourcedItem {
    pub index: usize,
    pub line: Option<u64>,
    pub raw: RawItem,
    /// Problems found before the fields could be read (a CSV row with the wrong number of
    /// fields, bytes that are not UTF-8): the item is rejected with these reasons.
    pub structural_errors: Vec<FieldError>,
}

impl SourcedItem {
    pub fn new(index: usize, raw: RawItem) -> SourcedItem {
        SourcedItem { index, line: None, raw, structural_errors: Vec::new() }
    }
}
