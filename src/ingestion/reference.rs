//! The reference data every importer resolves codes against (channels, directions), cached for
//! the length of an import, and the one way a rejected item is kept.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr};

use chrono::{DateTime, Utc};

use super::fields::FieldError;
use super::item::SourcedItem;
use crate::config::UnknownDirections;
use crate::db::repo;

pub struct ReferenceData {
    unknown_directions: UnknownDirections,
    channels: HashMap<String, i64>,
    directions: HashMap<String, i64>,
}

impl ReferenceData {
    pub async fn load(
        db: &impl ConnectionTrait,
        unknown_directions: UnknownDirections,
    ) -> Result<ReferenceData, DbErr> {
        let channels = repo::directions::list_channels(db).await?.into_iter().map(|c| (c.code, c.id)).collect();
        let directions = repo::directions::list(db).await?.into_iter().map(|d| (d.code, d.id)).collect();
        Ok(ReferenceData { unknown_directions, channels, directions })
    }

    fn channel_id(&self, code: &str) -> Result<i64, FieldError> {
        self.channels
            .get(code)
            .copied()
            .ok_or_else(|| FieldError::new("channel", format!("channel {code:?} is not configured")))
    }

    /// The direction's id; a new code is registered or refused, as configured.
    pub async fn direction_id(
        &mut self,
        db: &impl ConnectionTrait,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<i64, FieldError>, DbErr> {
        if let Some(&id) = self.directions.get(code) {
            return Ok(Ok(id));
        }
        match self.unknown_directions {
            UnknownDirections::Register => {
                let id = repo::directions::ensure(db, code, now).await?;
                self.directions.insert(code.to_owned(), id);
                Ok(Ok(id))
            }
            UnknownDirections::Reject => Ok(Err(FieldError::new(
                "agency_responsible",
                format!("unknown direction code {code:?}; register it (satisfaction direction add) then replay"),
            ))),
        }
    }
}

impl ReferenceData {
    /// (direction id, channel id) for a validated item's codes, or the reason they cannot be used.
    pub async fn resolve(
        &mut self,
        db: &impl ConnectionTrait,
        direction_code: &str,
        channel_code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(i64, i64), Vec<FieldError>>, DbErr> {
        let channel_id = match self.channel_id(channel_code) {
            Ok(id) => id,
            Err(reason) => return Ok(Err(vec![reason])),
        };
        Ok(self.direction_id(db, direction_code, now).await?.map(|id| (id, channel_id)).map_err(|reason| vec![reason]))
    }
}

/// Keep a rejected item in `ingestion_errors`, as received, with every reason; returns its id.
pub async fn keep_rejected(
    db: &impl ConnectionTrait,
    source: &str,
    id: Option<String>,
    item: &SourcedItem,
    reasons: &[FieldError],
    at: DateTime<Utc>,
) -> Result<i64, DbErr> {
    repo::ingestion_errors::keep(
        db,
        repo::ingestion_errors::NewIngestionError {
            source: source.to_owned(),
            crm_id: id,
            line_number: item.line.map(|l| l as i64),
            raw_payload: serde_json::Value::Object(item.raw.clone()).to_string(),
            reasons: serde_json::to_value(reasons).unwrap_or_default(),
            received_at: at,
        },
    )
    .await
}
