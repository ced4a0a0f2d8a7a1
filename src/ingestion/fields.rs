//! Parsing one raw service-request item (a JSON object, a CSV row, an Open311 record) into a
//! `ValidRequest`, collecting every reason it cannot be taken. Pure: no database, no clock.
//!
//! Field names follow Open311 GeoReport v2 where one exists.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::{Channel, Email, Locale, PhoneNumber, RequestStatus, contact};

/// The raw item: field name → value. CSV rows arrive as strings; JSON keeps its types.
pub type RawItem = Map<String, Value>;

/// One reason an item was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldError {
    /// The field at fault, or `None` for the item as a whole.
    pub field: Option<String>,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError { field: Some(field.to_owned()), message: message.into() }
    }

    pub fn item(message: impl Into<String>) -> FieldError {
        FieldError { field: None, message: message.into() }
    }
}

/// A request that passed every check; contact data normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    pub crm_id: String,
    pub status: RequestStatus,
    pub service_code: Option<String>,
    pub service_name: Option<String>,
    pub direction_code: String,
    pub channel_code: String,
    pub requested_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub contact_email: Option<Email>,
    pub contact_phone: Option<PhoneNumber>,
    pub locale: Locale,
}

/// Limits on free-text fields, so a CRM bug cannot fill the database.
const MAX_ID: usize = 128;
const MAX_CODE: usize = 64;
const MAX_SERVICE_CODE: usize = 128;
const MAX_SERVICE_NAME: usize = 300;

/// Parse and validate one item. Every problem is reported, not just the first.
pub fn parse_request(item: &RawItem) -> Result<ValidRequest, Vec<FieldError>> {
    parse_request_with(item, &TimeRules::default())
}

/// How date-times without a zone offset are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeRules {
    /// `Some(city zone)`: read them in it (`ingestion.assume_local_time`); `None`: refuse them.
    pub local_zone: Option<Tz>,
}

/// As `parse_request`, reading zone-less date-times as `rules` say.
pub fn parse_request_with(item: &RawItem, rules: &TimeRules) -> Result<ValidRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let crm_id = identifier(item, "service_request_id", &mut errors);
    let status = required_text(item, "status", MAX_CODE, &mut errors).and_then(|raw| {
        let found = RequestStatus::parse(&raw);
        if found.is_none() {
            errors.push(FieldError::new(
                "status",
                format!("unknown status {raw:?}; expected one of open, closed, cancelled, duplicate"),
            ));
        }
        found
    });
    let service_code = optional_text(item, "service_code", MAX_SERVICE_CODE, &mut errors);
    let service_name = optional_text(item, "service_name", MAX_SERVICE_NAME, &mut errors);
    let direction_code = required_text(item, "agency_responsible", MAX_CODE, &mut errors);
    let channel_code = channel(item, &mut errors);
    let requested_at = optional_datetime(item, "requested_datetime", rules, &mut errors);
    let updated_at = optional_datetime(item, "updated_datetime", rules, &mut errors);
    let closed_at = optional_datetime(item, "closed_datetime", rules, &mut errors);
    let contact_email =
        optional_text(item, "contact_email", 320, &mut errors).and_then(|raw| match Email::parse(&raw) {
            Ok(email) => Some(email),
            Err(err) => {
                errors.push(FieldError::new("contact_email", err.to_string()));
                None
            }
        });
    let contact_phone =
        optional_text(item, "contact_phone", 40, &mut errors).and_then(|raw| match contact::parse_phone(&raw) {
            Ok(phone) => Some(phone),
            Err(message) => {
                errors.push(FieldError::new("contact_phone", message));
                None
            }
        });
    let locale = match optional_text(item, "locale", 16, &mut errors) {
        None => Some(Locale::Fr),
        Some(raw) => {
            let locale = Locale::parse(&raw);
            if locale.is_none() {
                errors.push(FieldError::new("locale", format!("unknown locale {raw:?}; expected fr or en")));
            }
            locale
        }
    };

    if status == Some(RequestStatus::Closed)
        && closed_at.is_none()
        && !errors.iter().any(|e| e.field.as_deref() == Some("closed_datetime"))
    {
        errors.push(FieldError::new("closed_datetime", "required when status is closed"));
    }
    if let (Some(opened), Some(closed)) = (requested_at, closed_at)
        && closed < opened
    {
        errors.push(FieldError::new("closed_datetime", format!("{closed} is before requested_datetime {opened}")));
    }

    match (crm_id, status, direction_code, channel_code, locale) {
        (Some(crm_id), Some(status), Some(direction_code), Some(channel_code), Some(locale)) if errors.is_empty() => {
            Ok(ValidRequest {
                crm_id,
                status,
                service_code,
                service_name,
                direction_code,
                channel_code,
                requested_at,
                updated_at,
                closed_at,
                contact_email,
                contact_phone,
                locale,
            })
        }
        _ => Err(errors),
    }
}

/// The required `channel` field, one of the known channels (any case); returns its code.
pub(crate) fn channel(item: &RawItem, errors: &mut Vec<FieldError>) -> Option<String> {
    required_text(item, "channel", MAX_CODE, errors).and_then(|raw| match Channel::parse(&raw) {
        Some(channel) => Some(channel.as_str().to_owned()),
        None => {
            errors.push(FieldError::new(
                "channel",
                format!("unknown channel {raw:?}; expected one of {}", Channel::expected()),
            ));
            None
        }
    })
}

/// `raw` with its control characters written as escapes (`BAD\u{0}ID`), so that an id or a
/// payload that was refused for holding one can still be echoed back and stored on both
/// databases (PostgreSQL refuses NUL in text).
pub fn printable(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(raw);
    }
    std::borrow::Cow::Owned(
        raw.chars()
            .map(|c| {
                if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// "a number", "an object"...: a JSON value's kind, for error messages.
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A text field: absent, null and blank all mean "not given"; other types are errors. Control
/// characters (NUL above all: PostgreSQL text cannot hold it) are refused with their code point.
pub(crate) fn text(item: &RawItem, field: &str, max_chars: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    checked_text(item, field, max_chars, errors, |_| false)
}

/// As `text`, for free text over several lines (a comment): tabs and line breaks are kept.
pub(crate) fn multiline_text(
    item: &RawItem,
    field: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    checked_text(item, field, max_chars, errors, |c| matches!(c, '\n' | '\r' | '\t'))
}

fn checked_text(
    item: &RawItem,
    field: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
    allowed: impl Fn(char) -> bool,
) -> Option<String> {
    match item.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => {
            let trimmed = raw.trim();
            // An empty string, or the word "null" as some servers write a missing value: absent.
            if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("null") {
                None
            } else if trimmed.chars().count() > max_chars {
                errors.push(FieldError::new(field, format!("longer than {max_chars} characters")));
                None
            } else if let Some(bad) = trimmed.chars().find(|&c| c.is_control() && !allowed(c)) {
                errors.push(FieldError::new(
                    field,
                    format!("contains the control character U+{:04X}, which has no place in it", u32::from(bad)),
                ));
                None
            } else {
                Some(trimmed.to_owned())
            }
        }
        Some(other) => {
            errors.push(FieldError::new(field, format!("expected a string, got {}", describe(other))));
            None
        }
    }
}

fn optional_text(item: &RawItem, field: &str, max_chars: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    text(item, field, max_chars, errors)
}

pub(crate) fn required_text(
    item: &RawItem,
    field: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let before = errors.len();
    let value = text(item, field, max_chars, errors);
    if value.is_none() && errors.len() == before {
        errors.push(FieldError::new(field, "required"));
    }
    value
}

/// The CRM id: a non-empty string, or a whole number (many CRMs use numeric ids).
fn identifier(item: &RawItem, field: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match item.get(field) {
        Some(Value::Number(number)) if number.is_u64() || number.is_i64() => Some(number.to_string()),
        Some(Value::Number(_)) => {
            errors.push(FieldError::new(field, "expected a string or a whole number"));
            None
        }
        _ => required_text(item, field, MAX_ID, errors),
    }
}

fn optional_datetime(
    item: &RawItem,
    field: &str,
    rules: &TimeRules,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let raw = text(item, field, 64, errors)?;
    match parse_datetime(&raw, rules) {
        Ok(parsed) => Some(parsed),
        Err(message) => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
}

/// A date-time as servers in the wild write it: RFC 3339 (`2022-04-14T06:37:38-04:00`), ISO 8601
/// offsets without a colon or minutes (`-0400`, `-04`), a space for the `T`, fractions of a
/// second; and, when `rules` allow it, no offset at all, read in the city's zone (a local time
/// the spring clock change skips is refused; one the autumn change repeats is the first).
pub fn parse_datetime(raw: &str, rules: &TimeRules) -> Result<DateTime<Utc>, String> {
    let trimmed = raw.trim();
    if let Ok(parsed) = parse_rfc3339(trimmed) {
        return Ok(parsed);
    }
    let truncate = |dt: DateTime<Utc>| chrono::SubsecRound::trunc_subsecs(dt, 6);
    for format in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z", "%Y-%m-%d %H:%M%#z"] {
        if let Ok(parsed) = DateTime::parse_from_str(trimmed, format) {
            return Ok(truncate(parsed.with_timezone(&Utc)));
        }
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(trimmed, format).ok());
    match (local, rules.local_zone) {
        (Some(local), Some(zone)) => chrono::TimeZone::from_local_datetime(&zone, &local)
            .earliest()
            .map(|dt| truncate(dt.with_timezone(&Utc)))
            .ok_or_else(|| format!("{raw:?} does not exist in {zone} (skipped by the clock change)")),
        (Some(_), None) => Err(format!(
            "{raw:?} has no time zone offset: send RFC 3339 with an offset (e.g. 2022-03-14T09:30:00-04:00), \
             or set ingestion.assume_local_time = true to read such times in the city's time zone"
        )),
        (None, _) => {
            Err(format!("{raw:?} is not a date-time; expected RFC 3339 with an offset, e.g. 2022-03-14T09:30:00-04:00"))
        }
    }
}

/// RFC 3339 with an explicit offset (`2022-03-14T09:30:00-04:00` or `...Z`). A time without an
/// offset is refused: guessing the zone would shift every request near midnight.
pub fn parse_rfc3339(raw: &str) -> Result<DateTime<Utc>, String> {
    // Microseconds: what both databases keep, so a re-sent item compares equal.
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|dt| chrono::SubsecRound::trunc_subsecs(dt.with_timezone(&Utc), 6))
        .map_err(|err| {
            format!("{raw:?} is not an RFC 3339 date-time with offset, e.g. 2022-03-14T09:30:00-04:00 ({err})")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> RawItem {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn date_times_as_servers_write_them() {
        let strict = TimeRules::default();
        let at = |raw: &str, rules: &TimeRules| parse_datetime(raw, rules).map(|d| d.to_rfc3339());
        let utc = Ok("2022-04-14T10:37:38+00:00".to_owned());
        assert_eq!(at("2022-04-14T06:37:38-04:00", &strict), utc);
        assert_eq!(at("2022-04-14T06:37:38-0400", &strict), utc);
        assert_eq!(at("2022-04-14T06:37:38-04", &strict), utc);
        assert_eq!(at("2022-04-14 06:37:38-04:00", &strict), utc);
        assert_eq!(at("2022-04-14T10:37:38.000Z", &strict), utc);
        let refused = at("2022-04-14T06:37:38", &strict).unwrap_err();
        assert!(refused.contains("no time zone offset") && refused.contains("assume_local_time"), "{refused}");
        let local = TimeRules { local_zone: Some(chrono_tz::America::Toronto) };
        assert_eq!(at("2022-04-14T06:37:38", &local), utc, "EDT in April");
        assert_eq!(at("2022-01-14 05:37:38", &local), Ok("2022-01-14T10:37:38+00:00".to_owned()), "EST");
        assert!(at("2022-03-13T02:30:00", &local).unwrap_err().contains("does not exist"));
        assert!(at("14/04/2022", &local).unwrap_err().contains("is not a date-time"));
    }

    #[test]
    fn empty_and_null_words_mean_absent() {
        let parsed = parse_request(&item(json!({
            "service_request_id": 638344, "status": "closed", "agency_responsible": "TP", "channel": "phone",
            "closed_datetime": "2026-11-20T10:00:00Z", "contact_email": "null", "contact_phone": "", "locale": "NULL"
        })))
        .unwrap();
        assert_eq!(parsed.crm_id, "638344");
        assert!(parsed.contact_email.is_none() && parsed.contact_phone.is_none());
        let refused = parse_request(&item(json!({"service_request_id": "null", "status": "closed"}))).unwrap_err();
        assert!(refused.iter().any(|e| e.field.as_deref() == Some("service_request_id") && e.message == "required"));
    }

    #[test]
    fn control_characters_are_named_and_escaped() {
        let refused = parse_request(&item(json!({"service_request_id": "A\u{0}B"}))).unwrap_err();
        assert!(refused[0].message.contains("U+0000"), "{refused:?}");
        assert_eq!(printable("A\u{0}B\u{7}"), "A\\u{0}B\\u{7}");
        assert_eq!(printable("ligne 1\nligne 2"), "ligne 1\nligne 2");
    }

    fn valid() -> Value {
        json!({
            "service_request_id": "2022-000123",
            "status": "closed",
            "service_code": "NID-POULE",
            "service_name": "Nid-de-poule",
            "agency_responsible": "TP",
            "channel": "phone",
            "requested_datetime": "2022-03-14T09:30:00-04:00",
            "updated_datetime": "2022-03-15T10:00:00-04:00",
            "closed_datetime": "2022-03-15T10:00:00-04:00",
            "contact_email": "Citoyen@Example.CA",
            "contact_phone": "418 555-0134",
            "locale": "fr"
        })
    }

    #[test]
    fn a_complete_item_is_normalised() {
        let request = parse_request(&item(valid())).unwrap();
        assert_eq!(request.crm_id, "2022-000123");
        assert_eq!(request.status, RequestStatus::Closed);
        assert_eq!(request.contact_email.unwrap().as_str(), "citoyen@example.ca");
        assert_eq!(request.contact_phone.unwrap().as_str(), "+14185550134");
        assert_eq!(request.closed_at.unwrap().to_rfc3339(), "2022-03-15T14:00:00+00:00");
        assert_eq!(request.locale, Locale::Fr);
    }

    #[test]
    fn numeric_ids_and_missing_optional_fields_are_fine() {
        let request = parse_request(&item(json!({
            "service_request_id": 98765, "status": "open", "agency_responsible": "ENV", "channel": "WEB_FORM"
        })))
        .unwrap();
        assert_eq!(request.crm_id, "98765");
        assert_eq!(request.channel_code, "web_form");
        assert!(request.contact_email.is_none() && request.closed_at.is_none());
    }

    #[test]
    fn every_reason_is_reported() {
        let errors = parse_request(&item(json!({
            "service_request_id": "",
            "status": "solved",
            "agency_responsible": 12,
            "channel": "fax",
            "requested_datetime": "2022-03-14 09:30",
            "contact_email": "nobody",
            "contact_phone": "12",
            "locale": "de"
        })))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().filter_map(|e| e.field.as_deref()).collect();
        for field in [
            "service_request_id",
            "status",
            "agency_responsible",
            "channel",
            "requested_datetime",
            "contact_email",
            "contact_phone",
            "locale",
        ] {
            assert!(fields.contains(&field), "{field} not reported in {errors:?}");
        }
        let agency = errors.iter().find(|e| e.field.as_deref() == Some("agency_responsible")).unwrap();
        assert_eq!(agency.message, "expected a string, got a number");
    }

    #[test]
    fn closed_requests_need_a_closing_time_after_the_opening() {
        let mut raw = valid();
        raw.as_object_mut().unwrap().remove("closed_datetime");
        let errors = parse_request(&item(raw)).unwrap_err();
        assert_eq!(errors, vec![FieldError::new("closed_datetime", "required when status is closed")]);

        let mut raw = valid();
        raw["closed_datetime"] = json!("2022-03-01T00:00:00Z");
        let errors = parse_request(&item(raw)).unwrap_err();
        assert!(errors[0].message.contains("before requested_datetime"), "{errors:?}");
    }

    #[test]
    fn oversized_and_control_text_is_refused() {
        let mut raw = valid();
        raw["service_name"] = json!("x".repeat(301));
        raw["service_code"] = json!("a\u{0}b");
        let errors = parse_request(&item(raw)).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn dates_need_an_offset() {
        assert!(parse_rfc3339("2022-03-14T09:30:00Z").is_ok());
        assert!(parse_rfc3339("2022-03-14T09:30:00.123-05:00").is_ok());
        assert!(parse_rfc3339("2022-03-14T09:30:00").is_err());
        assert!(parse_rfc3339("14/03/2022").is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_json_objects_never_panic(
                fields in proptest::collection::btree_map(
                    prop_oneof![Just("service_request_id".to_owned()), Just("status".to_owned()), Just("channel".to_owned()),
                                Just("closed_datetime".to_owned()), Just("contact_phone".to_owned()), Just("contact_email".to_owned()),
                                Just("agency_responsible".to_owned()), Just("locale".to_owned()), "[a-z_]{1,12}"],
                    prop_oneof![any::<String>().prop_map(Value::from), any::<i64>().prop_map(Value::from),
                                any::<f64>().prop_map(Value::from), any::<bool>().prop_map(Value::from), Just(Value::Null)],
                    0..10)
            ) {
                let raw: RawItem = fields.into_iter().collect();
                let _ = parse_request(&raw);
            }

            #[test]
            fn arbitrary_dates_never_panic(raw in any::<String>()) {
                let _ = parse_rfc3339(&raw);
            }

            #[test]
            fn valid_items_with_any_id_and_time_parse(id in "[A-Za-z0-9-]{1,40}", secs in 0i64..4_000_000_000) {
                let mut raw = valid();
                let when = DateTime::from_timestamp(secs, 0).unwrap();
                raw["service_request_id"] = json!(id);
                raw["requested_datetime"] = json!(when.to_rfc3339());
                raw["closed_datetime"] = json!(when.to_rfc3339());
                let parsed = parse_request(&item(raw)).unwrap();
                prop_assert_eq!(parsed.closed_at, Some(when));
            }
        }
    }
}
