//! Periods are dates in the city's time zone, `from` and `to` both inclusive.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::db::repo::cells::MonthBoundary;

pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{field} must be a date YYYY-MM-DD, got {raw:?}"))
}

/// The instant local midnight of `date` happens (the first instant of the day if midnight is
/// skipped by a clock change).
pub fn start_of_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    zone.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest())
        .map(|dt| dt.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// [from, to] inclusive dates as a half-open UTC interval.
pub fn bounds(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    zone: Tz,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    (from.map(|d| start_of_day(d, zone)), to.and_then(|d| d.succ_opt()).map(|d| start_of_day(d, zone)))
}

/// The months from `first` to `last` (inclusive), each with the instant it starts.
pub fn months(first: NaiveDate, last: NaiveDate, zone: Tz) -> Vec<MonthBoundary> {
    let mut out = Vec::new();
    let mut cursor = NaiveDate::from_ymd_opt(first.year(), first.month(), 1).expect("first of month");
    while cursor <= last && out.len() < 1200 {
        out.push(MonthBoundary {
            label: format!("{:04}-{:02}", cursor.year(), cursor.month()),
            starts: start_of_day(cursor, zone),
        });
        cursor = if cursor.month() == 12 {
            NaiveDate::from_ymd_opt(cursor.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(cursor.year(), cursor.month() + 1, 1)
        }
        .expect("next month");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: Tz = chrono_tz::America::Toronto;

    #[test]
    fn periods_are_local_days() {
        let (from, to) = bounds(
            Some(parse_date("from", "2022-01-01").unwrap()),
            Some(parse_date("to", "2022-12-31").unwrap()),
            ZONE,
        );
        assert_eq!(from.unwrap().to_rfc3339(), "2022-01-01T05:00:00+00:00");
        assert_eq!(to.unwrap().to_rfc3339(), "2023-01-01T05:00:00+00:00");
        assert!(parse_date("from", "01/01/2022").unwrap_err().contains("YYYY-MM-DD"));
    }

    #[test]
    fn months_follow_the_clock_changes() {
        let months =
            months(NaiveDate::from_ymd_opt(2022, 2, 14).unwrap(), NaiveDate::from_ymd_opt(2022, 4, 2).unwrap(), ZONE);
        let labels: Vec<&str> = months.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["2022-02", "2022-03", "2022-04"]);
        assert_eq!(months[1].starts.to_rfc3339(), "2022-03-01T05:00:00+00:00");
        assert_eq!(months[2].starts.to_rfc3339(), "2022-04-01T04:00:00+00:00", "daylight time in April");
    }
}
