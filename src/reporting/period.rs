//! Periods are dates in the city's time zone, `from` and `to` both inclusive.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::db::repo::cells::MonthBoundary;
pub use crate::domain::month::start_of_day;

pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{field} must be a date YYYY-MM-DD, got {raw:?}"))
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
    MonthBoundary::months(first, last, zone)
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
