//! Open311 GeoReport v2 poller: `GET {endpoint}/requests.json?status=closed` over sliding
//! windows of `start_date`/`end_date` (90 days at most, per the standard), or `updated_after`
//! (v2.1 draft) where the city's server supports it; `page`/`page_size` followed where offered.
//! A high-water mark in `job_state` makes each run ask only for what is new (minus a small
//! overlap: upserts make re-reading harmless).
//!
//! Standard GET responses carry no contact data: with `extensions=true`, channel and contact are
//! read from `extended_attributes` under configurable keys. Requests without contact are stored
//! all the same (they count as "no contact" in the sampling frame).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use serde::Serialize;
use serde_json::{Map, Value};

use super::fields::RawItem;
use super::item::{Source, SourcedItem, Summary};
use super::service::Ingestor;
use crate::config::Open311Settings;
use crate::db::repo;

pub const STATE_KEY: &str = "open311.high_water_mark";
/// Safety stop for servers that ignore `page` and always answer the same full page.
const MAX_PAGES: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum Open311Error {
    #[error("the Open311 poller is not configured (open311.endpoint is empty)")]
    NotConfigured,
    #[error("cannot reach the Open311 endpoint {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("the Open311 endpoint answered {status} for {url}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("the Open311 endpoint sent something other than a JSON list of requests for {url}: {detail}")]
    Malformed { url: String, detail: String },
    #[error("database error")]
    Db(#[from] DbErr),
}

#[derive(Debug, Default, Serialize)]
pub struct PollSummary {
    pub windows: u32,
    pub pages: u32,
    pub records: u64,
    pub items: Summary,
    pub high_water_mark: Option<DateTime<Utc>>,
}

impl std::fmt::Display for PollSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items = &self.items;
        write!(
            f,
            "open311: {} records in {} pages over {} windows; created {}, updated {}, unchanged {}, rejected {}; next poll from {}",
            self.records,
            self.pages,
            self.windows,
            items.created,
            items.updated,
            items.unchanged,
            items.rejected,
            self.high_water_mark.map(|m| m.to_rfc3339()).unwrap_or_else(|| "(unchanged)".into())
        )
    }
}

fn format_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Turn one Open311 record into the common item shape, reading channel and contact where the
/// configuration says they are.
pub fn map_record(record: &Map<String, Value>, settings: &Open311Settings) -> RawItem {
    let mut item = RawItem::new();
    for field in [
        "service_request_id",
        "status",
        "service_code",
        "service_name",
        "agency_responsible",
        "requested_datetime",
        "updated_datetime",
    ] {
        if let Some(value) = record.get(field) {
            item.insert(field.to_owned(), value.clone());
        }
    }
    let closed = record.get("closed_datetime").filter(|v| !v.is_null()).or_else(|| {
        // GeoReport v2 has no closing time: a closed record's last update is its closing.
        let is_closed = record.get("status").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("closed"));
        if is_closed { record.get("updated_datetime") } else { None }
    });
    if let Some(closed) = closed {
        item.insert("closed_datetime".into(), closed.clone());
    }
    let extended = record.get("extended_attributes").and_then(Value::as_object);
    let attribute =
        |key: &str| extended.and_then(|e| e.get(key)).or_else(|| record.get(key)).filter(|v| !v.is_null()).cloned();
    item.insert(
        "channel".into(),
        attribute(&settings.channel_attribute).unwrap_or_else(|| Value::String(settings.default_channel.clone())),
    );
    for (target, key) in [
        ("contact_email", &settings.email_attribute),
        ("contact_phone", &settings.phone_attribute),
        ("locale", &settings.locale_attribute),
    ] {
        if let Some(value) = attribute(key) {
            item.insert(target.to_owned(), value);
        }
    }
    item
}

pub struct Poller {
    http: reqwest::Client,
    settings: Open311Settings,
}

impl Poller {
    pub fn new(settings: &Open311Settings) -> Result<Poller, Open311Error> {
        if settings.endpoint.trim().is_empty() {
            return Err(Open311Error::NotConfigured);
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(settings.timeout_secs))
            .user_agent(concat!("satisfaction/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Open311Error::Http { url: settings.endpoint.clone(), source })?;
        Ok(Poller { http, settings: settings.clone() })
    }

    fn requests_url(&self) -> String {
        format!("{}/requests.json", self.settings.endpoint.trim_end_matches('/'))
    }

    async fn fetch_page(
        &self,
        window: (DateTime<Utc>, DateTime<Utc>),
        page: u32,
    ) -> Result<Vec<Map<String, Value>>, Open311Error> {
        let url = self.requests_url();
        let mut query: Vec<(&str, String)> = vec![("status", "closed".into()), ("extensions", "true".into())];
        if self.settings.use_updated_after {
            query.push(("updated_after", format_date(window.0)));
        } else {
            query.push(("start_date", format_date(window.0)));
            query.push(("end_date", format_date(window.1)));
        }
        query.push(("page", page.to_string()));
        query.push(("page_size", self.settings.page_size.to_string()));
        if let Some(jurisdiction) = &self.settings.jurisdiction_id {
            query.push(("jurisdiction_id", jurisdiction.clone()));
        }
        if let Some(key) = &self.settings.api_key {
            query.push(("api_key", key.expose().to_owned()));
        }
        let response = self
            .http
            .get(&url)
            .query(&query)
            .send()
            .await
            .map_err(|source| Open311Error::Http { url: url.clone(), source: source.without_url() })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|source| Open311Error::Http { url: url.clone(), source: source.without_url() })?;
        if !status.is_success() {
            return Err(Open311Error::Status { url, status: status.as_u16(), body: body.chars().take(300).collect() });
        }
        let value: Value = serde_json::from_str(&body)
            .map_err(|err| Open311Error::Malformed { url: url.clone(), detail: err.to_string() })?;
        let records = match value {
            Value::Array(records) => records,
            // Some servers wrap the list: {"service_requests": [...]}.
            Value::Object(mut object) => match object.remove("service_requests") {
                Some(Value::Array(records)) => records,
                _ => {
                    return Err(Open311Error::Malformed {
                        url,
                        detail: "an object without a service_requests list".into(),
                    });
                }
            },
            _ => {
                return Err(Open311Error::Malformed { url, detail: "not a list".into() });
            }
        };
        Ok(records.into_iter().map(|r| if let Value::Object(map) = r { map } else { Map::new() }).collect())
    }

    /// Pull everything new up to `now`, window by window; the high-water mark advances after
    /// each complete window, so a failure resumes where it stopped.
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
            let mut page = 1;
            let mut first_of_previous_page: Option<Value> = None;
            loop {
                let records = self.fetch_page((start, end), page).await?;
                summary.pages += 1;
                let first = records.first().and_then(|r| r.get("service_request_id")).cloned();
                if page > 1 && first.is_some() && first == first_of_previous_page {
                    break; // The server ignores `page`: this page was already taken.
                }
                first_of_previous_page = first;
                let count = records.len();
                summary.records += count as u64;
                let items = records
                    .iter()
                    .enumerate()
                    .map(|(index, record)| SourcedItem::new(index, map_record(record, &self.settings)))
                    .collect();
                for result in ingestor.ingest(db, Source::Open311, items).await? {
                    summary.items.add(result.outcome);
                }
                if count < self.settings.page_size as usize || page >= MAX_PAGES {
                    break;
                }
                page += 1;
            }
            summary.windows += 1;
            repo::job_state::put(db, STATE_KEY, serde_json::json!({"next_start": format_date(end)}), now).await?;
            summary.high_water_mark = Some(end);
            start = end;
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use serde_json::json;

    #[test]
    fn maps_a_standard_record_with_extensions() {
        let settings = Settings::default().open311;
        let record = json!({
            "service_request_id": 638344, "status": "closed", "service_code": "006", "service_name": "Nid-de-poule",
            "agency_responsible": "TP", "requested_datetime": "2022-04-14T06:37:38-04:00",
            "updated_datetime": "2022-04-15T11:00:00-04:00",
            "extended_attributes": {"channel": "phone", "email": "c@ville.example"}
        });
        let item = map_record(record.as_object().unwrap(), &settings);
        assert_eq!(item["closed_datetime"], "2022-04-15T11:00:00-04:00");
        assert_eq!(item["channel"], "phone");
        assert_eq!(item["contact_email"], "c@ville.example");
        assert!(crate::ingestion::fields::parse_request(&item).is_ok());
    }

    #[test]
    fn a_record_without_extensions_takes_the_default_channel_and_no_contact() {
        let settings = Settings::default().open311;
        let record = json!({"service_request_id": "A1", "status": "closed", "agency_responsible": "ENV",
                            "updated_datetime": "2022-04-15T11:00:00Z"});
        let item = map_record(record.as_object().unwrap(), &settings);
        assert_eq!(item["channel"], "portal");
        assert!(!item.contains_key("contact_email"));
        let parsed = crate::ingestion::fields::parse_request(&item).unwrap();
        assert!(parsed.contact_email.is_none() && parsed.contact_phone.is_none());
    }
}
