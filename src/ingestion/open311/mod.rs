//! Open311 GeoReport v2 poller: `GET {endpoint}/requests.json` over sliding
//! windows of `start_date`/`end_date` (90 days at most, per the standard), or `updated_after`
//! (v2.1 draft) where the city's server supports it; `page`/`page_size` followed where offered.
//! A high-water mark in `job_state` makes each run ask only for what is new (minus a small
//! overlap: upserts make re-reading harmless), and it never moves past a window not fully read.
//!
//! Servers in the wild differ from the standard: the list may come bare or wrapped
//! (`service_requests`, `requests`); the server may cap `page_size` below what we ask, so paging
//! goes on until an empty page or one shorter than the server's own full page; a page may be
//! unreadable, so it is kept in `ingestion_errors` with its URL and body and asked again at the
//! next polls, then skipped after `max_page_attempts`. Windows on `requested_datetime` (the
//! standard's meaning of `start_date`) never show a request closed long after it was opened:
//! each poll also re-asks by id (`service_request_id=a,b,c`) a bounded number of the requests the
//! platform still holds as open.
//!
//! Standard GET responses carry no contact data: with `extensions=true`, channel and contact are
//! read from `extended_attributes` under configurable keys. Requests without contact are stored
//! all the same (they count as "no contact" in the sampling frame).

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::DbErr;
use serde::Serialize;
use serde_json::{Map, Value};

use super::fields::RawItem;
use super::item::Summary;
use crate::config::Open311Settings;

mod poll;

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
    Malformed { url: String, detail: String, body: String },
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
    /// Pages the server sent unreadable during this poll.
    pub unreadable_pages: Vec<UnreadablePage>,
    /// Requests still open on the platform asked again by id.
    pub rechecked: u64,
    /// Another instance was polling the same feed: this one did nothing.
    pub skipped: bool,
}

/// A page that could not be read: kept, and asked again by later polls until `gave_up`.
#[derive(Debug, Clone, Serialize)]
pub struct UnreadablePage {
    pub url: String,
    pub reason: String,
    pub attempt: u32,
    /// The page was skipped: its window is over, its records were not read.
    pub gave_up: bool,
    pub ingestion_error_id: i64,
}

/// Where a poll stands with one unreadable page: (window start, page) → attempts so far.
const UNREADABLE_KEY: &str = "open311.unreadable_pages";
/// The last row id re-checked, so successive polls walk through all open requests.
const RECHECK_KEY: &str = "open311.recheck_cursor";
/// Ids asked for in one call by id.
const RECHECK_CHUNK: usize = 50;

impl std::fmt::Display for PollSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.skipped {
            return write!(f, "open311: skipped, another instance is polling the feed");
        }
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
        )?;
        if self.rechecked > 0 {
            write!(f, "; {} open requests re-checked", self.rechecked)?;
        }
        for page in &self.unreadable_pages {
            let what = if page.gave_up { "skipped after" } else { "to be asked again, attempt" };
            write!(
                f,
                "\nunreadable page {} ({}): {what} {} (kept as ingestion error {})",
                page.url, page.reason, page.attempt, page.ingestion_error_id
            )?;
        }
        Ok(())
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

    fn common_query(&self) -> Vec<(&'static str, String)> {
        let mut query: Vec<(&str, String)> = vec![("extensions", "true".into())];
        if let Some(jurisdiction) = &self.settings.jurisdiction_id {
            query.push(("jurisdiction_id", jurisdiction.clone()));
        }
        if let Some(key) = &self.settings.api_key {
            query.push(("api_key", key.expose().to_owned()));
        }
        query
    }

    async fn fetch_page(
        &self,
        window: (DateTime<Utc>, DateTime<Utc>),
        page: u32,
    ) -> Result<Vec<Map<String, Value>>, Open311Error> {
        // Every status: an open request is stored (sampling skips it) so that its closure, months
        // later and outside any window on `requested_datetime`, is found by `recheck_open`.
        let mut query = self.common_query();
        if self.settings.use_updated_after {
            query.push(("updated_after", format_date(window.0)));
        } else {
            query.push(("start_date", format_date(window.0)));
            query.push(("end_date", format_date(window.1)));
        }
        query.push(("page", page.to_string()));
        query.push(("page_size", self.settings.page_size.to_string()));
        self.fetch(query).await
    }

    /// The requests with these ids, whatever their status (`service_request_id` overrides the
    /// other parameters, per the standard).
    async fn fetch_by_ids(&self, ids: &[String]) -> Result<Vec<Map<String, Value>>, Open311Error> {
        let mut query = self.common_query();
        query.push(("service_request_id", ids.join(",")));
        self.fetch(query).await
    }

    async fn fetch(&self, query: Vec<(&str, String)>) -> Result<Vec<Map<String, Value>>, Open311Error> {
        let url = self.requests_url();
        // The URL as kept with an unreadable page: its parameters, without the API key.
        let shown = {
            let visible: Vec<String> =
                query.iter().filter(|(k, _)| *k != "api_key").map(|(k, v)| format!("{k}={v}")).collect();
            format!("{url}?{}", visible.join("&"))
        };
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
        let malformed = |detail: String| Open311Error::Malformed { url: shown.clone(), detail, body: body.clone() };
        let value: Value = serde_json::from_str(&body).map_err(|err| malformed(err.to_string()))?;
        let records = match value {
            Value::Array(records) => records,
            // Wrapped, as some servers do: {"service_requests": [...]} or {"requests": [...]}.
            Value::Object(mut object) => {
                match ["service_requests", "requests"].iter().find_map(|k| object.remove(*k)) {
                    Some(Value::Array(records)) => records,
                    _ => return Err(malformed("an object without a service_requests or requests list".into())),
                }
            }
            other => return Err(malformed(format!("{} instead of a list", super::fields::describe(&other)))),
        };
        Ok(records.into_iter().map(|r| if let Value::Object(map) = r { map } else { Map::new() }).collect())
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
