//! The one code path behind every door: parse → validate → resolve reference data → upsert by
//! CRM id. Rejected items are kept in `ingestion_errors` in the same transaction as the good
//! items of their batch, so nothing is taken or dropped halfway.

use std::collections::HashMap;

use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use super::fields::{FieldError, RawItem, TimeRules, ValidRequest, parse_request_with};
use super::item::{ItemResult, Outcome, Source, SourcedItem};
use super::reference::{ReferenceData, keep_rejected};
use crate::clock::Clock;
use crate::config::UnknownDirections;
use crate::db::{self, entities::service_request, repo};
use crate::domain::ContactHasher;
use crate::frame;

/// Holds what a batch needs besides the database: the contact hasher, the policy for unknown
/// directions, and caches of the reference tables (long imports look codes up once).
pub struct Ingestor {
    parser: RequestParser,
    reference: ReferenceData,
    /// Keep rejected items in `ingestion_errors` (off when replaying rows already kept there).
    keep_rejects: bool,
    clock: Clock,
    /// The city's time zone: a request counts in the frame of the month it closed in.
    zone: Tz,
}

/// The part of taking an item that needs no database: read, validate, normalise, apply the
/// feed's aliases, hash the contact. Cloneable and `Send`, so a file import runs it on another
/// thread while the previous chunk is written.
#[derive(Clone)]
pub struct RequestParser {
    hasher: ContactHasher,
    time_rules: TimeRules,
    open311_aliases: Aliases,
}

/// An item that passed every check, with its contact hash.
#[derive(Debug, Clone)]
pub struct ParsedRequest {
    valid: ValidRequest,
    contact_hash: Option<String>,
}

impl RequestParser {
    pub fn parse(&self, item: &SourcedItem, source: Source) -> Result<ParsedRequest, Vec<FieldError>> {
        if !item.structural_errors.is_empty() {
            return Err(item.structural_errors.clone());
        }
        let aliased = if source == Source::Open311 { self.open311_aliases.apply(&item.raw) } else { None };
        let valid = parse_request_with(aliased.as_ref().unwrap_or(&item.raw), &self.time_rules)?;
        let contact_hash = self.hasher.contact(valid.contact_email.as_ref(), valid.contact_phone.as_ref());
        Ok(ParsedRequest { valid, contact_hash })
    }
}

/// A city's own words for channels and directions, mapped to the platform's codes before an
/// item is read (keys compared without regard to case).
#[derive(Debug, Clone, Default)]
pub struct Aliases {
    pub channels: std::collections::BTreeMap<String, String>,
    pub directions: std::collections::BTreeMap<String, String>,
}

impl Aliases {
    fn apply(&self, raw: &RawItem) -> Option<RawItem> {
        let lookup = |map: &std::collections::BTreeMap<String, String>, field: &str| {
            let value = raw.get(field)?.as_str()?.trim();
            map.iter().find(|(word, _)| word.eq_ignore_ascii_case(value)).map(|(_, code)| code.clone())
        };
        let channel = lookup(&self.channels, "channel");
        let direction = lookup(&self.directions, "agency_responsible");
        if channel.is_none() && direction.is_none() {
            return None;
        }
        let mut mapped = raw.clone();
        if let Some(channel) = channel {
            mapped.insert("channel".into(), channel.into());
        }
        if let Some(direction) = direction {
            mapped.insert("agency_responsible".into(), direction.into());
        }
        Some(mapped)
    }
}

/// Items are written in transactions of this many: large enough that the index pages a chunk
/// touches are written once for many rows (measured on SQLite: a third of the page writes of
/// chunks of 500), small enough that memory stays flat.
pub const CHUNK: usize = 2000;

impl Ingestor {
    pub async fn new(
        db: &impl ConnectionTrait,
        hasher: ContactHasher,
        unknown_directions: UnknownDirections,
        clock: Clock,
        zone: Tz,
    ) -> Result<Ingestor, DbErr> {
        let reference = ReferenceData::load(db, unknown_directions).await?;
        let parser = RequestParser { hasher, time_rules: TimeRules::default(), open311_aliases: Aliases::default() };
        Ok(Ingestor { parser, reference, keep_rejects: true, clock, zone })
    }

    /// How zone-less date-times are read (`ingestion.assume_local_time`).
    pub fn with_time_rules(mut self, rules: TimeRules) -> Ingestor {
        self.parser.time_rules = rules;
        self
    }

    /// The Open311 feed's own words, applied to every item from it (replays included).
    pub fn with_open311_aliases(mut self, aliases: Aliases) -> Ingestor {
        self.parser.open311_aliases = aliases;
        self
    }

    /// The database-free part, for a caller that parses on another thread.
    pub fn parser(&self) -> RequestParser {
        self.parser.clone()
    }

    /// For replays: a rejected item is reported but not stored again.
    pub fn without_keeping_rejects(mut self) -> Ingestor {
        self.keep_rejects = false;
        self
    }

    /// Ingest a batch of any size (written in chunks of `CHUNK`), results in input order.
    pub async fn ingest<C>(&mut self, db: &C, source: Source, items: Vec<SourcedItem>) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let mut results = Vec::with_capacity(items.len());
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let chunk: Vec<SourcedItem> = items.by_ref().take(CHUNK).collect();
            results.extend(self.ingest_chunk(db, source, chunk).await?);
        }
        Ok(results)
    }

    /// A batch in one transaction, whatever its size: all of it is written, or none (the API's
    /// batches, so that a client told to retry never finds half of its batch stored).
    pub async fn ingest_all<C>(
        &mut self,
        db: &C,
        source: Source,
        items: Vec<SourcedItem>,
    ) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        self.ingest_chunk(db, source, items).await
    }

    async fn ingest_chunk<C>(
        &mut self,
        db: &C,
        source: Source,
        chunk: Vec<SourcedItem>,
    ) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let parsed: Vec<_> = chunk.iter().map(|item| self.parser.parse(item, source)).collect();
        self.ingest_parsed(db, source, chunk, parsed).await
    }

    /// A chunk whose items were parsed already (by `parser()`, perhaps on another thread).
    pub async fn ingest_parsed<C>(
        &mut self,
        db: &C,
        source: Source,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Result<ParsedRequest, Vec<FieldError>>>,
    ) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        self.prepare_parsed(db, source, chunk, parsed).await?.write(db).await
    }

    /// The part of taking a chunk that needs `self` (codes to ids; a new direction registered),
    /// in the order of the items; the returned chunk writes itself, on any connection, so that a
    /// file import can write one chunk while it prepares the next.
    pub async fn prepare_parsed(
        &mut self,
        db: &impl ConnectionTrait,
        source: Source,
        chunk: Vec<SourcedItem>,
        parsed: Vec<Result<ParsedRequest, Vec<FieldError>>>,
    ) -> Result<PreparedChunk, DbErr> {
        let mut prepared = Vec::with_capacity(chunk.len());
        for parsed in parsed {
            prepared.push(match parsed {
                Ok(parsed) => self.resolve(db, parsed, source).await?,
                Err(reasons) => Err(reasons),
            });
        }
        let writer = ChunkWriter { keep_rejects: self.keep_rejects, clock: self.clock.clone(), zone: self.zone };
        Ok(PreparedChunk { writer, source, chunk, prepared })
    }

    /// Map codes to ids; no write except registering a new direction.
    async fn resolve(
        &mut self,
        db: &impl ConnectionTrait,
        parsed: ParsedRequest,
        source: Source,
    ) -> Result<Result<service_request::Model, Vec<FieldError>>, DbErr> {
        let valid = &parsed.valid;
        let (direction_id, channel_id) =
            match self.reference.resolve(db, &valid.direction_code, &valid.channel_code, self.clock.now()).await? {
                Ok(ids) => ids,
                Err(reasons) => return Ok(Err(reasons)),
            };
        Ok(Ok(self.to_model(parsed, direction_id, channel_id, source)))
    }

    fn to_model(
        &self,
        parsed: ParsedRequest,
        direction_id: i64,
        channel_id: i64,
        source: Source,
    ) -> service_request::Model {
        let now = self.clock.now();
        let ParsedRequest { valid, contact_hash } = parsed;
        service_request::Model {
            id: 0,
            contact_hash,
            crm_id: valid.crm_id,
            direction_id,
            channel_id,
            service_code: valid.service_code,
            service_name: valid.service_name,
            status: valid.status.as_str().to_owned(),
            requested_at: valid.requested_at,
            crm_updated_at: valid.updated_at,
            closed_at: valid.closed_at,
            contact_email: valid.contact_email.map(|e| e.as_str().to_owned()),
            contact_phone: valid.contact_phone.map(|p| p.as_str().to_owned()),
            locale: valid.locale.as_str().to_owned(),
            source: source.as_str().to_owned(),
            personal_data_purged_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A chunk with its items resolved to rows (or to the reasons they were refused), ready to be
/// written by `write`.
pub struct PreparedChunk {
    writer: ChunkWriter,
    source: Source,
    chunk: Vec<SourcedItem>,
    prepared: Vec<Result<service_request::Model, Vec<FieldError>>>,
}

impl PreparedChunk {
    pub async fn write<C>(self, db: &C) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        // Two batches can still meet in a deadlock on PostgreSQL (each waiting for an id the other
        // inserted and a row the other locked); the database aborts one, which runs again.
        db::retrying_conflicts("an ingestion batch", || {
            self.writer.write_chunk(db, self.source, &self.chunk, &self.prepared)
        })
        .await
    }
}

/// What writing a chunk needs of the `Ingestor`, without its reference data.
#[derive(Clone)]
struct ChunkWriter {
    keep_rejects: bool,
    clock: Clock,
    zone: Tz,
}

impl ChunkWriter {
    /// Upsert a chunk in one write transaction, safe against other writers of the same ids:
    /// the rows that exist are read and locked (in CRM id order, so two batches never wait on
    /// each other in a circle), the new ones are inserted with `ON CONFLICT DO NOTHING`, and an
    /// id another batch inserted meanwhile is then treated as existing. So every id is created
    /// exactly once whoever races, and losing a race on one id fails nothing else.
    async fn write_chunk<C>(
        &self,
        db: &C,
        source: Source,
        chunk: &[SourcedItem],
        prepared: &[Result<service_request::Model, Vec<FieldError>>],
    ) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let txn = db::begin_write(db).await?;
        let crm_ids: Vec<String> = prepared.iter().filter_map(|p| p.as_ref().ok().map(|m| m.crm_id.clone())).collect();
        // What is stored (read and locked), and what each of those rows should become.
        let mut stored: HashMap<String, service_request::Model> =
            repo::requests::lock_by_crm_ids(&txn, &crm_ids).await?.into_iter().map(|m| (m.crm_id.clone(), m)).collect();
        let mut finals: HashMap<String, service_request::Model> = HashMap::new();
        // New in this chunk: position in `to_insert`, so a repeated CRM id updates the pending row.
        let mut pending: HashMap<String, usize> = HashMap::new();
        let mut to_insert: Vec<service_request::Model> = Vec::new();
        let mut results = Vec::with_capacity(chunk.len());

        for (item, prepared) in chunk.iter().zip(prepared) {
            let mut result = ItemResult {
                index: item.index,
                line: item.line,
                service_request_id: crm_id_of(&item.raw),
                outcome: Outcome::Rejected,
                reasons: Vec::new(),
                ingestion_error_id: None,
            };
            match prepared {
                Err(reasons) if !self.keep_rejects => result.reasons = reasons.clone(),
                Err(reasons) => {
                    let kept = keep_rejected(
                        &txn,
                        source.as_str(),
                        result.service_request_id.clone(),
                        item,
                        reasons,
                        self.clock.now(),
                    )
                    .await?;
                    result.reasons = reasons.clone();
                    result.ingestion_error_id = Some(kept);
                }
                Ok(model) => {
                    if let Some(&position) = pending.get(&model.crm_id) {
                        result.outcome = if same_content(&to_insert[position], model) {
                            Outcome::Unchanged
                        } else {
                            Outcome::Updated
                        };
                        to_insert[position] = model.clone();
                    } else if let Some(current) = finals.get(&model.crm_id).or_else(|| stored.get(&model.crm_id)) {
                        result.outcome =
                            if same_content(current, model) { Outcome::Unchanged } else { Outcome::Updated };
                        finals.insert(model.crm_id.clone(), model.clone());
                    } else {
                        result.outcome = Outcome::Created;
                        pending.insert(model.crm_id.clone(), to_insert.len());
                        to_insert.push(model.clone());
                    }
                }
            }
            results.push(result);
        }

        // Inserted in CRM id order, like the locks above.
        to_insert.sort_by(|a, b| a.crm_id.cmp(&b.crm_id));
        let inserted = repo::requests::insert_new(&txn, to_insert.clone()).await?;
        let created: Vec<service_request::Model> =
            to_insert.iter().filter(|model| inserted.contains(&model.crm_id)).cloned().collect();
        let raced: Vec<service_request::Model> =
            to_insert.into_iter().filter(|model| !inserted.contains(&model.crm_id)).collect();
        if !raced.is_empty() {
            // Another batch created these ids after our read: they are updates of its rows.
            let ids: Vec<String> = raced.iter().map(|m| m.crm_id.clone()).collect();
            let current: HashMap<String, service_request::Model> =
                repo::requests::lock_by_crm_ids(&txn, &ids).await?.into_iter().map(|m| (m.crm_id.clone(), m)).collect();
            for model in raced {
                let Some(theirs) = current.get(&model.crm_id).cloned() else {
                    return Err(DbErr::RecordNotFound(format!("request {} after a conflicting insert", model.crm_id)));
                };
                let outcome = if same_content(&theirs, &model) { Outcome::Unchanged } else { Outcome::Updated };
                for result in results.iter_mut().filter(|r| {
                    r.outcome == Outcome::Created && r.service_request_id.as_deref() == Some(model.crm_id.as_str())
                }) {
                    result.outcome = outcome;
                }
                stored.insert(model.crm_id.clone(), theirs);
                finals.insert(model.crm_id.clone(), model);
            }
        }
        // Only the rows whose final content differs from what is stored are written.
        let mut updates: Vec<(service_request::Model, service_request::Model)> = finals
            .into_values()
            .filter_map(|next| {
                stored.remove(&next.crm_id).filter(|row| !same_content(row, &next)).map(|row| (row, next))
            })
            .collect();
        updates.sort_by(|a, b| a.0.crm_id.cmp(&b.0.crm_id));
        // The frame's few hot rows (this month's strata) are locked last, for the shortest time.
        let changes =
            created.iter().map(|model| (None, model)).chain(updates.iter().map(|(row, next)| (Some(row), next)));
        let frame_deltas = frame::deltas(changes, self.zone);
        for (row, next) in updates {
            repo::requests::update(&txn, row, next).await?;
        }
        frame::add(&txn, &frame_deltas).await?;
        txn.commit().await?;
        Ok(results)
    }
}

/// The id an item gave itself, as the answer and the kept error name it (control characters
/// escaped: the item may have been refused for them).
fn crm_id_of(raw: &RawItem) -> Option<String> {
    match raw.get("service_request_id")? {
        serde_json::Value::String(s) if !s.trim().is_empty() => {
            Some(super::fields::printable(s.trim()).chars().take(128).collect())
        }
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Equal in everything the CRM owns (our bookkeeping columns excluded).
fn same_content(a: &service_request::Model, b: &service_request::Model) -> bool {
    a.direction_id == b.direction_id
        && a.channel_id == b.channel_id
        && a.service_code == b.service_code
        && a.service_name == b.service_name
        && a.status == b.status
        && a.requested_at == b.requested_at
        && a.crm_updated_at == b.crm_updated_at
        && a.closed_at == b.closed_at
        && a.contact_email == b.contact_email
        && a.contact_phone == b.contact_phone
        && a.contact_hash == b.contact_hash
        && a.locale == b.locale
}
