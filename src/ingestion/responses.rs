//! Historical responses from an earlier survey tool (`satisfaction import responses FILE.csv`),
//! so a city keeps its history and trends. Columns: `response_id, agency_responsible, channel,
//! stratum, weight, score, submitted_at`, optionally the drivers (`timeliness`, `courtesy`,
//! `competence`, `clarity`, `fairness`, or with a `score_` prefix), `comment`, `completion`.
//! Upsert by `response_id`, like requests by CRM id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use super::fields::{FieldError, RawItem, multiline_text, parse_rfc3339, printable, required_text, text};
use super::item::{ItemResult, Outcome, SourcedItem};
use super::reference::{ReferenceData, keep_rejected};
use crate::clock::Clock;
use crate::config::UnknownDirections;
use crate::db::{entities::response, repo};
use crate::domain::{Driver, Score};
use crate::responses::{rollup::Deferred, store};

const MAX_COMMENT: usize = 2000;

#[derive(Debug, Clone, PartialEq)]
pub struct ValidResponse {
    pub external_id: String,
    pub direction_code: String,
    pub channel_code: String,
    pub stratum: Option<String>,
    pub weight: f64,
    pub score: i16,
    pub drivers: [Option<i16>; 5],
    pub comment: Option<String>,
    pub completion: String,
    pub submitted_at: DateTime<Utc>,
}

/// A 0–10 whole number ("9", " 10 "); "9.5", "11", "dix" are refused.
fn parse_score(raw: &str) -> Result<i16, String> {
    Score::parse(raw).map(i16::from)
}

/// A positive weight; a decimal comma ("2,5") is accepted, as French spreadsheets write it.
pub fn parse_weight(raw: &str) -> Result<f64, String> {
    let normalised = raw.trim().replace(',', ".");
    match normalised.parse::<f64>() {
        Ok(weight) if weight.is_finite() && weight > 0.0 => Ok(weight),
        Ok(_) => Err(format!("{raw:?} is not a positive weight")),
        Err(_) => Err(format!("{raw:?} is not a number")),
    }
}

/// RFC 3339, or a local date-time or date in the city's time zone (`2021-06-30 14:05`,
/// `2021-06-30`). A local time that does not exist (the spring clock change) is refused; one that
/// happens twice (the autumn change) is taken as the first.
pub fn parse_submitted_at(raw: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    let trimmed = raw.trim();
    if let Ok(parsed) = parse_rfc3339(trimmed) {
        return Ok(parsed);
    }
    let local = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(trimmed, format).ok())
        .or_else(|| NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)));
    let Some(local) = local else {
        return Err(format!("{raw:?} is not a date-time (RFC 3339, or YYYY-MM-DD[ HH:MM[:SS]] in {zone})"));
    };
    zone.from_local_datetime(&local)
        .earliest()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or_else(|| format!("{raw:?} does not exist in {zone} (clock change)"))
}

fn field_value<T>(
    item: &RawItem,
    names: &[&str],
    errors: &mut Vec<FieldError>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    let name = names.iter().find(|n| item.get(**n).is_some()).copied().unwrap_or(names[0]);
    let raw = match item.get(name) {
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => text(item, name, 64, errors)?,
    };
    match parse(&raw) {
        Ok(value) => Some(value),
        Err(message) => {
            errors.push(FieldError::new(name, message));
            None
        }
    }
}

pub fn parse_response(item: &RawItem, zone: Tz) -> Result<ValidResponse, Vec<FieldError>> {
    let mut errors = Vec::new();
    let external_id = required_text(item, "response_id", 128, &mut errors);
    let direction_code = required_text(item, "agency_responsible", 64, &mut errors);
    let channel_code = super::fields::channel(item, &mut errors);
    let stratum = text(item, "stratum", 160, &mut errors);
    let weight = if text(item, "weight", 64, &mut Vec::new()).is_some()
        || matches!(item.get("weight"), Some(serde_json::Value::Number(_)))
    {
        field_value(item, &["weight"], &mut errors, parse_weight)
    } else {
        Some(1.0)
    };
    let score = if item.get("score").is_some_and(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty())) {
        field_value(item, &["score"], &mut errors, parse_score)
    } else {
        errors.push(FieldError::new("score", "required"));
        None
    };
    let mut drivers = [None; 5];
    for (slot, driver) in drivers.iter_mut().zip(Driver::ALL.map(Driver::as_str)) {
        let prefixed = format!("score_{driver}");
        let present = [driver, prefixed.as_str()]
            .iter()
            .any(|n| item.get(*n).is_some_and(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()) && !v.is_null()));
        if present {
            *slot = field_value(item, &[driver, prefixed.as_str()], &mut errors, parse_score);
        }
    }
    let comment = multiline_text(item, "comment", MAX_COMMENT, &mut errors);
    let completion = match text(item, "completion", 16, &mut errors).map(|c| c.to_ascii_lowercase()) {
        None => Some("complete".to_owned()),
        Some(c) if c == "complete" || c == "partial" => Some(c),
        Some(other) => {
            errors.push(FieldError::new("completion", format!("{other:?} is neither complete nor partial")));
            None
        }
    };
    let submitted_at = if text(item, "submitted_at", 64, &mut Vec::new()).is_some() {
        field_value(item, &["submitted_at"], &mut errors, |raw| parse_submitted_at(raw, zone))
    } else {
        errors.push(FieldError::new("submitted_at", "required"));
        None
    };
    match (external_id, direction_code, channel_code, weight, score, completion, submitted_at) {
        (
            Some(external_id),
            Some(direction_code),
            Some(channel_code),
            Some(weight),
            Some(score),
            Some(completion),
            Some(submitted_at),
        ) if errors.is_empty() => Ok(ValidResponse {
            external_id,
            direction_code,
            channel_code,
            stratum,
            weight,
            score,
            drivers,
            comment,
            completion,
            submitted_at,
        }),
        _ => Err(errors),
    }
}

/// Writes validated historical responses; mirrors `service::Ingestor` for requests.
pub struct ResponseImporter {
    zone: Tz,
    reference: ReferenceData,
    keep_rejects: bool,
    clock: Clock,
    /// Responses this importer has written so far.
    written: usize,
    /// After this many responses the import stops keeping the roll-up cells row by row and
    /// recomputes the months it wrote at its end (`ingestion.rollup_deferral_rows`): keeping
    /// the cells of a large, scattered import costs more than recomputing its months.
    defer_after: usize,
    /// Past `defer_after` responses, the months whose roll-ups `finish` recomputes (shared with
    /// the chunks being written).
    deferred: Option<Arc<Mutex<Deferred>>>,
}

pub const SOURCE: &str = "responses_csv";

impl ResponseImporter {
    pub async fn new(
        db: &impl ConnectionTrait,
        zone: Tz,
        unknown_directions: UnknownDirections,
        clock: Clock,
    ) -> Result<ResponseImporter, DbErr> {
        let reference = ReferenceData::load(db, unknown_directions).await?;
        Ok(ResponseImporter {
            zone,
            reference,
            keep_rejects: true,
            clock,
            written: 0,
            defer_after: usize::MAX,
            deferred: None,
        })
    }

    /// Recompute the roll-ups' months at the end once more than `rows` responses were written.
    pub fn deferring_rollups_after(mut self, rows: usize) -> ResponseImporter {
        self.defer_after = rows;
        self
    }

    /// For replays: a rejected item is reported but not stored again.
    pub fn without_keeping_rejects(mut self) -> ResponseImporter {
        self.keep_rejects = false;
        self
    }

    /// The database-free part (reading and checking a row), for a caller that parses on
    /// another thread.
    pub fn parser(&self) -> impl Fn(&SourcedItem) -> Result<ValidResponse, Vec<FieldError>> + Send + 'static {
        let zone = self.zone;
        move |item: &SourcedItem| {
            if !item.structural_errors.is_empty() {
                return Err(item.structural_errors.clone());
            }
            parse_response(&item.raw, zone)
        }
    }

    async fn resolve(
        &mut self,
        db: &impl ConnectionTrait,
        valid: ValidResponse,
    ) -> Result<Result<response::Model, Vec<FieldError>>, DbErr> {
        let (direction_id, channel_id) =
            match self.reference.resolve(db, &valid.direction_code, &valid.channel_code, self.clock.now()).await? {
                Ok(ids) => ids,
                Err(reasons) => return Ok(Err(reasons)),
            };
        let stratum =
            valid.stratum.clone().unwrap_or_else(|| format!("{}:{}", valid.direction_code, valid.channel_code));
        let now = self.clock.now();
        Ok(Ok(response::Model {
            id: 0,
            invitation_id: None,
            external_id: Some(valid.external_id),
            questionnaire_version: None,
            overall_score: valid.score,
            score_timeliness: valid.drivers[0],
            score_courtesy: valid.drivers[1],
            score_competence: valid.drivers[2],
            score_clarity: valid.drivers[3],
            score_fairness: valid.drivers[4],
            answers: None,
            comment: valid.comment,
            follow_up_requested: false,
            completion: valid.completion,
            source: "import".into(),
            submitted_at: valid.submitted_at,
            direction_id,
            channel_id,
            stratum,
            weight: valid.weight,
            // No frame on the platform for an earlier tool's responses.
            request_closed_at: None,
            created_at: now,
        }))
    }

    pub async fn ingest<C>(&mut self, db: &C, chunk: Vec<SourcedItem>) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let parser = self.parser();
        let parsed = chunk.iter().map(parser).collect();
        self.ingest_parsed(db, chunk, parsed).await
    }

    /// A chunk whose rows were parsed already (by `parser()`, perhaps on another thread).
    pub async fn ingest_parsed<C>(
        &mut self,
        db: &C,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Result<ValidResponse, Vec<FieldError>>>,
    ) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let prepared = self.prepare_parsed(db, chunk, parsed).await?;
        let (results, written) = prepared.write(db).await?;
        self.written += written;
        Ok(results)
    }

    /// The part of taking a chunk that needs `self` (codes to ids, a new direction registered,
    /// whether the roll-ups are now deferred), in the order of the rows; the returned chunk writes
    /// itself, on any connection.
    pub async fn prepare_parsed(
        &mut self,
        db: &impl ConnectionTrait,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Result<ValidResponse, Vec<FieldError>>>,
    ) -> Result<PreparedResponses, DbErr> {
        let mut prepared = Vec::with_capacity(chunk.len());
        for parsed in parsed {
            prepared.push(match parsed {
                Ok(valid) => self.resolve(db, valid).await?,
                Err(reasons) => Err(reasons),
            });
        }
        if self.deferred.is_none() && self.written >= self.defer_after {
            self.deferred = Some(Arc::new(Mutex::new(Deferred::new(self.zone))));
        }
        Ok(PreparedResponses {
            zone: self.zone,
            clock: self.clock.clone(),
            keep_rejects: self.keep_rejects,
            deferred: self.deferred.clone(),
            chunk,
            prepared,
        })
    }

    /// Whether the roll-ups are left to `finish` (past `defer_after` responses).
    pub fn deferring(&self) -> bool {
        self.deferred.is_some()
    }

    /// Bring the roll-ups up to date after the last chunk: the months written since the import
    /// stopped keeping cells row by row are recomputed. Returns how many months.
    pub async fn finish<C>(&mut self, db: &C) -> Result<usize, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        match self.deferred.take() {
            Some(deferred) => {
                let deferred = Arc::try_unwrap(deferred)
                    .map_err(|_| DbErr::Custom("a chunk of the import is still being written".into()))?;
                deferred.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).finish(db).await
            }
            None => Ok(0),
        }
    }
}

/// A chunk of responses resolved to rows (or to the reasons they were refused), ready to be
/// written by `write`.
pub struct PreparedResponses {
    zone: Tz,
    clock: Clock,
    keep_rejects: bool,
    deferred: Option<Arc<Mutex<Deferred>>>,
    chunk: Vec<SourcedItem>,
    prepared: Vec<Result<response::Model, Vec<FieldError>>>,
}

impl PreparedResponses {
    /// Write the chunk in one transaction; returns its results and how many rows it wrote. Run
    /// again when PostgreSQL ends it to break a deadlock (two chunks written at once can meet on
    /// a kept error's fingerprint).
    pub async fn write<C>(&self, db: &C) -> Result<(Vec<ItemResult>, usize), DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        crate::db::retrying_conflicts("a chunk of responses", || self.write_once(db)).await
    }

    async fn write_once<C>(&self, db: &C) -> Result<(Vec<ItemResult>, usize), DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let mut written = 0;
        let txn = crate::db::begin_write(db).await?;
        let ids: Vec<String> =
            self.prepared.iter().filter_map(|p| p.as_ref().ok().and_then(|m| m.external_id.clone())).collect();
        let mut existing: HashMap<String, response::Model> = repo::responses::find_by_external_ids(&txn, ids)
            .await?
            .into_iter()
            .filter_map(|m| m.external_id.clone().map(|id| (id, m)))
            .collect();
        // New in this chunk: position in `to_insert`, so a repeated id replaces the pending row.
        let mut pending: HashMap<String, usize> = HashMap::new();
        let mut to_insert: Vec<response::Model> = Vec::new();
        let mut results = Vec::with_capacity(self.chunk.len());
        for (item, prepared) in self.chunk.iter().zip(&self.prepared) {
            let id = item.raw.get("response_id").and_then(|v| v.as_str()).map(|s| printable(s.trim()).into_owned());
            let mut result = ItemResult {
                index: item.index,
                line: item.line,
                service_request_id: id,
                outcome: Outcome::Rejected,
                reasons: Vec::new(),
                ingestion_error_id: None,
            };
            match prepared {
                Err(reasons) if !self.keep_rejects => result.reasons = reasons.clone(),
                Err(reasons) => {
                    let kept =
                        keep_rejected(&txn, SOURCE, result.service_request_id.clone(), item, reasons, self.clock.now())
                            .await?;
                    result.reasons = reasons.clone();
                    result.ingestion_error_id = Some(kept);
                }
                Ok(model) => {
                    let key = model.external_id.clone().unwrap_or_default();
                    if let Some(&position) = pending.get(&key) {
                        result.outcome = if same_response(&to_insert[position], model) {
                            Outcome::Unchanged
                        } else {
                            Outcome::Updated
                        };
                        to_insert[position] = model.clone();
                    } else {
                        match existing.get(&key) {
                            Some(current) if same_response(current, model) => result.outcome = Outcome::Unchanged,
                            Some(current) => {
                                let updated = match self.deferred.as_deref() {
                                    Some(deferred) => {
                                        store::replace_deferred(&txn, current.clone(), model, deferred).await?
                                    }
                                    None => store::replace(&txn, self.zone, current.clone(), model).await?,
                                };
                                written += 1;
                                existing.insert(key, updated);
                                result.outcome = Outcome::Updated;
                            }
                            None => {
                                pending.insert(key, to_insert.len());
                                to_insert.push(model.clone());
                                result.outcome = Outcome::Created;
                            }
                        }
                    }
                }
            }
            results.push(result);
        }
        written += to_insert.len();
        match self.deferred.as_deref() {
            Some(deferred) => {
                store::insert_many_deferred(&txn, to_insert, deferred).await?;
                // In the same transaction: rows committed without their cells are always known.
                Deferred::record(deferred, &txn, self.clock.now()).await?;
            }
            None => store::insert_many(&txn, self.zone, to_insert).await?,
        }
        txn.commit().await?;
        Ok((results, written))
    }
}

fn same_response(a: &response::Model, b: &response::Model) -> bool {
    a.overall_score == b.overall_score
        && [a.score_timeliness, a.score_courtesy, a.score_competence, a.score_clarity, a.score_fairness]
            == [b.score_timeliness, b.score_courtesy, b.score_competence, b.score_clarity, b.score_fairness]
        && a.comment == b.comment
        && a.completion == b.completion
        && a.submitted_at == b.submitted_at
        && a.direction_id == b.direction_id
        && a.channel_id == b.channel_id
        && a.stratum == b.stratum
        && a.weight == b.weight
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const ZONE: Tz = chrono_tz::America::Toronto;

    fn item(value: serde_json::Value) -> RawItem {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_french_spreadsheet_row_parses() {
        let parsed = parse_response(
            &item(json!({"response_id": "R-1", "agency_responsible": "TP", "channel": "phone", "stratum": "",
                         "weight": "2,5", "score": "9", "submitted_at": "2021-06-30 14:05", "courtesy": "10"})),
            ZONE,
        )
        .unwrap();
        assert_eq!(parsed.weight, 2.5);
        assert_eq!(parsed.score, 9);
        assert_eq!(parsed.drivers[1], Some(10));
        assert_eq!(parsed.stratum, None);
        assert_eq!(parsed.submitted_at.to_rfc3339(), "2021-06-30T18:05:00+00:00");
    }

    #[test]
    fn scores_weights_and_dates_are_checked() {
        assert!(parse_score("11").unwrap_err().contains("outside"));
        assert!(parse_score("9.5").is_err());
        assert!(parse_score("-1").is_err());
        assert!(parse_weight("0").is_err());
        assert!(parse_weight("NaN").is_err());
        assert!(parse_weight("abc").is_err());
        assert!(parse_submitted_at("2021-03-14 02:30", ZONE).unwrap_err().contains("does not exist"));
        assert_eq!(parse_submitted_at("2021-11-07 01:30", ZONE).unwrap().to_rfc3339(), "2021-11-07T05:30:00+00:00");
        let errors = parse_response(
            &item(json!({"response_id": "R", "agency_responsible": "TP", "channel": "fax", "score": "12"})),
            ZONE,
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().filter_map(|e| e.field.clone()).collect();
        assert_eq!(fields, vec!["channel", "score", "submitted_at"]);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(raw in any::<String>()) {
            let _ = parse_score(&raw);
            let _ = parse_weight(&raw);
            let _ = parse_submitted_at(&raw, ZONE);
        }

        #[test]
        fn every_score_in_range_round_trips(score in 0i16..=10) {
            prop_assert_eq!(parse_score(&format!(" {score} ")), Ok(score));
        }
    }
}
