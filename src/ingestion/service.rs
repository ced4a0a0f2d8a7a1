//! The one code path behind every door: parse → validate → resolve reference data → upsert by
//! CRM id. Rejected items are kept in `ingestion_errors` in the same transaction as the good
//! items of their batch, so nothing is taken or dropped halfway.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, TransactionSession, TransactionTrait};
use serde::Serialize;

use super::contact::ContactHasher;
use super::fields::{FieldError, RawItem, ValidRequest, parse_request};
use super::reference::{ReferenceData, keep_rejected};
use crate::config::UnknownDirections;
use crate::db::{self, entities::service_request, repo};

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

/// Holds what a batch needs besides the database: the contact hasher, the policy for unknown
/// directions, and caches of the reference tables (long imports look codes up once).
pub struct Ingestor {
    hasher: ContactHasher,
    reference: ReferenceData,
    /// Keep rejected items in `ingestion_errors` (off when replaying rows already kept there).
    keep_rejects: bool,
}

/// Items are written in transactions of this many.
pub const CHUNK: usize = 500;

impl Ingestor {
    pub async fn new(
        db: &impl ConnectionTrait,
        hasher: ContactHasher,
        unknown_directions: UnknownDirections,
    ) -> Result<Ingestor, DbErr> {
        let reference = ReferenceData::load(db, unknown_directions).await?;
        Ok(Ingestor { hasher, reference, keep_rejects: true })
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

    async fn ingest_chunk<C>(
        &mut self,
        db: &C,
        source: Source,
        chunk: Vec<SourcedItem>,
    ) -> Result<Vec<ItemResult>, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let mut prepared = Vec::with_capacity(chunk.len());
        for item in &chunk {
            prepared.push(self.prepare(db, item, source).await?);
        }
        // A concurrent importer may insert one of our new CRM ids between our read and our
        // write; the unique constraint refuses it and the retry sees the row as existing.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.write_chunk(db, source, &chunk, &prepared).await {
                Err(err) if attempt < 3 && db::is_unique_violation(&err) => continue,
                other => return other,
            }
        }
    }

    /// Validate and map codes to ids; no write except registering a new direction.
    async fn prepare(
        &mut self,
        db: &impl ConnectionTrait,
        item: &SourcedItem,
        source: Source,
    ) -> Result<Result<service_request::Model, Vec<FieldError>>, DbErr> {
        if !item.structural_errors.is_empty() {
            return Ok(Err(item.structural_errors.clone()));
        }
        let valid = match parse_request(&item.raw) {
            Ok(valid) => valid,
            Err(reasons) => return Ok(Err(reasons)),
        };
        let (direction_id, channel_id) =
            match self.reference.resolve(db, &valid.direction_code, &valid.channel_code).await? {
                Ok(ids) => ids,
                Err(reasons) => return Ok(Err(reasons)),
            };
        Ok(Ok(self.to_model(valid, direction_id, channel_id, source)))
    }

    fn to_model(
        &self,
        valid: ValidRequest,
        direction_id: i64,
        channel_id: i64,
        source: Source,
    ) -> service_request::Model {
        let now = Utc::now();
        service_request::Model {
            id: 0,
            contact_hash: self.hasher.contact(valid.contact_email.as_ref(), valid.contact_phone.as_ref()),
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
        let txn = db.begin().await?;
        let crm_ids: Vec<String> = prepared.iter().filter_map(|p| p.as_ref().ok().map(|m| m.crm_id.clone())).collect();
        let mut existing: HashMap<String, service_request::Model> =
            repo::requests::find_by_crm_ids(&txn, &crm_ids).await?.into_iter().map(|m| (m.crm_id.clone(), m)).collect();
        // New in this chunk: position in `to_insert`, so a repeated CRM id updates the pending row.
        let mut pending: HashMap<String, usize> = HashMap::new();
        let mut to_insert: Vec<service_request::Model> = Vec::new();
        let mut to_update: Vec<(service_request::Model, service_request::Model)> = Vec::new();
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
                    let kept =
                        keep_rejected(&txn, source.as_str(), result.service_request_id.clone(), item, reasons).await?;
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
                    } else if let Some(current) = existing.get(&model.crm_id) {
                        if same_content(current, model) {
                            result.outcome = Outcome::Unchanged;
                        } else {
                            result.outcome = Outcome::Updated;
                            let mut updated = model.clone();
                            updated.id = current.id;
                            updated.created_at = current.created_at;
                            to_update.push((current.clone(), model.clone()));
                            existing.insert(model.crm_id.clone(), updated);
                        }
                    } else {
                        result.outcome = Outcome::Created;
                        pending.insert(model.crm_id.clone(), to_insert.len());
                        to_insert.push(model.clone());
                    }
                }
            }
            results.push(result);
        }

        let rows = to_insert.into_iter().map(new_active_model).collect();
        repo::requests::insert_many(&txn, rows).await?;
        for (current, new) in to_update {
            repo::requests::update(&txn, current, new).await?;
        }
        txn.commit().await?;
        Ok(results)
    }
}

fn crm_id_of(raw: &RawItem) -> Option<String> {
    match raw.get("service_request_id")? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().chars().take(128).collect()),
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

fn new_active_model(model: service_request::Model) -> service_request::ActiveModel {
    service_request::ActiveModel {
        crm_id: Set(model.crm_id),
        direction_id: Set(model.direction_id),
        channel_id: Set(model.channel_id),
        service_code: Set(model.service_code),
        service_name: Set(model.service_name),
        status: Set(model.status),
        requested_at: Set(model.requested_at),
        crm_updated_at: Set(model.crm_updated_at),
        closed_at: Set(model.closed_at),
        contact_email: Set(model.contact_email),
        contact_phone: Set(model.contact_phone),
        contact_hash: Set(model.contact_hash),
        locale: Set(model.locale),
        source: Set(model.source),
        personal_data_purged_at: Set(None),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
        ..Default::default()
    }
}
