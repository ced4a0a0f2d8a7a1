//! The poll itself: windows read page by page (the mark moved only past windows fully read,
//! unreadable pages kept and retried), then the still-open requests asked again by id.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use serde_json::{Map, Value};

use super::{
    MAX_PAGES, Open311Error, PollSummary, Poller, RECHECK_CHUNK, RECHECK_KEY, STATE_KEY, UNREADABLE_KEY,
    UnreadablePage, format_date, map_record,
};
use crate::db::repo;
use crate::ingestion::fields::{FieldError, printable};
use crate::ingestion::item::{Source, SourcedItem};
use crate::ingestion::service::Ingestor;

impl Poller {
    /// Pull everything new up to `now`, window by window; the high-water mark advances after
    /// each window fully read, so a failure resumes where it stopped. Then re-ask the open ones.
    pub async fn poll<C>(
        &self,
        db: &C,
        ingestor: &mut Ingestor,
        now: DateTime<Utc>,
    ) -> Result<PollSummary, Open311Error>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let mark = repo::job_state::get(db, STATE_KEY)
            .await?
            .and_then(|v| {
                v.get("next_start").and_then(Value::as_str).and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            })
            .map(|dt| dt.with_timezone(&Utc));
        let mut start = match mark {
            Some(mark) => mark - Duration::minutes(i64::from(self.settings.overlap_minutes)),
            None => now - Duration::days(i64::from(self.settings.initial_lookback_days)),
        };
        let mut summary = PollSummary::default();
        while start < now {
            let end = if self.settings.use_updated_after {
                now
            } else {
                (start + Duration::days(i64::from(self.settings.window_days))).min(now)
            };
            if !self.read_window(db, ingestor, (start, end), now, &mut summary).await? {
                // A page of this window will be asked again: the mark stays before it.
                break;
            }
            summary.windows += 1;
            repo::job_state::put(db, STATE_KEY, serde_json::json!({"next_start": format_date(end)}), now).await?;
            summary.high_water_mark = Some(end);
            start = end;
        }
        self.recheck_open(db, ingestor, now, &mut summary).await?;
        Ok(summary)
    }

    /// Every page of one window; false when a page is to be asked again at the next poll.
    async fn read_window<C>(
        &self,
        db: &C,
        ingestor: &mut Ingestor,
        window: (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
        summary: &mut PollSummary,
    ) -> Result<bool, Open311Error>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let mut page = 1;
        let mut first_of_previous_page: Option<Value> = None;
        // The longest page the server sent: its real page size when it caps ours.
        let mut full_page = 0usize;
        loop {
            let records = match self.fetch_page(window, page).await {
                Ok(records) => records,
                Err(Open311Error::Malformed { url, detail, body }) => {
                    let key = format!("{}|{page}", format_date(window.0));
                    let kept = keep_page(db, &url, &detail, &body, now).await?;
                    let attempt = count_attempt(db, &key, now).await?;
                    let gave_up = attempt >= self.settings.max_page_attempts;
                    summary.unreadable_pages.push(UnreadablePage {
                        url,
                        reason: detail,
                        attempt,
                        gave_up,
                        ingestion_error_id: kept,
                    });
                    if !gave_up {
                        return Ok(false);
                    }
                    forget_attempts(db, &key, now).await?;
                    page += 1;
                    continue;
                }
                Err(other) => return Err(other),
            };
            summary.pages += 1;
            let first = records.first().and_then(|r| r.get("service_request_id")).cloned();
            if page > 1 && first.is_some() && first == first_of_previous_page {
                break; // The server ignores `page`: this page was already taken.
            }
            first_of_previous_page = first;
            let count = records.len();
            summary.records += count as u64;
            self.ingest(db, ingestor, &records, summary).await?;
            // The last page: empty, or shorter than a page the server sent before (its own full
            // page, whatever `page_size` we asked: servers cap it).
            let last = count == 0 || count < full_page || page >= MAX_PAGES;
            full_page = full_page.max(count);
            if last {
                break;
            }
            page += 1;
        }
        Ok(true)
    }

    async fn ingest<C>(
        &self,
        db: &C,
        ingestor: &mut Ingestor,
        records: &[Map<String, Value>],
        summary: &mut PollSummary,
    ) -> Result<(), Open311Error>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let items = records
            .iter()
            .enumerate()
            .map(|(index, record)| SourcedItem::new(index, map_record(record, &self.settings)))
            .collect();
        for result in ingestor.ingest(db, Source::Open311, items).await? {
            summary.items.add(result.outcome);
        }
        Ok(())
    }

    /// Ask again, by id, up to `recheck_open_per_poll` requests from this feed the platform
    /// still holds as open, taking up where the previous poll stopped.
    async fn recheck_open<C>(
        &self,
        db: &C,
        ingestor: &mut Ingestor,
        now: DateTime<Utc>,
        summary: &mut PollSummary,
    ) -> Result<(), Open311Error>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let limit = u64::from(self.settings.recheck_open_per_poll);
        if limit == 0 {
            return Ok(());
        }
        let cursor = repo::job_state::get(db, RECHECK_KEY).await?.and_then(|v| v.as_i64()).unwrap_or(0);
        let open = repo::requests::open_from_source(db, Source::Open311.as_str(), cursor, limit).await?;
        // A short list means the end was reached: start from the beginning next time.
        let next = if (open.len() as u64) < limit { 0 } else { open.last().map_or(0, |(id, _)| *id) };
        for chunk in open.chunks(RECHECK_CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|(_, crm_id)| crm_id.clone()).collect();
            match self.fetch_by_ids(&ids).await {
                Ok(records) => {
                    summary.rechecked += ids.len() as u64;
                    summary.records += records.len() as u64;
                    self.ingest(db, ingestor, &records, summary).await?;
                }
                Err(Open311Error::Malformed { url, detail, body }) => {
                    let kept = keep_page(db, &url, &detail, &body, now).await?;
                    summary.unreadable_pages.push(UnreadablePage {
                        url,
                        reason: detail,
                        attempt: 1,
                        gave_up: true,
                        ingestion_error_id: kept,
                    });
                }
                Err(other) => return Err(other),
            }
        }
        repo::job_state::put(db, RECHECK_KEY, serde_json::json!(next), now).await?;
        Ok(())
    }
}

/// Keep an unreadable page in `ingestion_errors`: its URL (without the API key) and its body.
async fn keep_page(
    db: &impl ConnectionTrait,
    url: &str,
    detail: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    const MAX_KEPT_BODY: usize = 64 * 1024;
    let payload = format!("GET {url}\n\n{}", printable(body).chars().take(MAX_KEPT_BODY).collect::<String>());
    repo::ingestion_errors::keep(
        db,
        repo::ingestion_errors::NewIngestionError {
            source: Source::Open311.as_str().into(),
            crm_id: None,
            line_number: None,
            raw_payload: payload,
            reasons: serde_json::to_value(vec![FieldError::item(format!("unreadable page: {detail}"))])
                .unwrap_or_default(),
            received_at: now,
        },
    )
    .await
}

/// One more attempt at the page `key`; returns the attempts so far.
async fn count_attempt(db: &impl ConnectionTrait, key: &str, now: DateTime<Utc>) -> Result<u32, DbErr> {
    let mut attempts = repo::job_state::get(db, UNREADABLE_KEY).await?.unwrap_or_else(|| serde_json::json!({}));
    let count = attempts.get(key).and_then(Value::as_u64).unwrap_or(0) + 1;
    attempts[key] = serde_json::json!(count);
    repo::job_state::put(db, UNREADABLE_KEY, attempts, now).await?;
    Ok(count as u32)
}

async fn forget_attempts(db: &impl ConnectionTrait, key: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    if let Some(mut attempts) = repo::job_state::get(db, UNREADABLE_KEY).await?
        && let Some(map) = attempts.as_object_mut()
    {
        map.remove(key);
        repo::job_state::put(db, UNREADABLE_KEY, attempts, now).await?;
    }
    Ok(())
}
