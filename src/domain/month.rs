//! Calendar months and days in the city's time zone: reports, the roll-up and the weighting
//! classes all cut time this way, so the label ("2026-11") and the instants are computed here once.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    year: i32,
    /// 1..=12
    month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        NaiveDate::from_ymd_opt(year, month, 1).map(|_| Month { year, month })
    }

    /// The month `at` falls in, on the city's clocks.
    pub fn of(at: DateTime<Utc>, zone: Tz) -> Month {
        Month::containing(at.with_timezone(&zone).date_naive())
    }

    pub fn containing(date: NaiveDate) -> Month {
        Month { year: date.year(), month: date.month() }
    }

    /// "YYYY-MM".
    pub fn parse(raw: &str) -> Option<Month> {
        let (year, month) = raw.trim().split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        Month::new(year.parse().ok()?, month.parse().ok()?)
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a Month is always a valid date")
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    /// The instant the month begins in `zone`.
    pub fn starts(self, zone: Tz) -> DateTime<Utc> {
        start_of_day(self.first_day(), zone)
    }

    /// `[start, end)` in UTC.
    pub fn bounds(self, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.starts(zone), self.next().starts(zone))
    }

    /// The label, "YYYY-MM": how months are stored and shown.
    pub fn label(self) -> String {
        self.to_string()
    }

    /// The months from the one holding `first` to the one holding `last`, inclusive (at most 1,200).
    pub fn range(first: NaiveDate, last: NaiveDate) -> Vec<Month> {
        let (mut cursor, end) = (Month::containing(first), Month::containing(last));
        let mut out = Vec::new();
        while cursor <= end && out.len() < 1200 {
            out.push(cursor);
            cursor = cursor.next();
        }
        out
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: Tz = chrono_tz::America::Toronto;

    #[test]
    fn a_month_is_local_and_labelled_once() {
        // 03:00 UTC on 1 December is still 30 November in Québec.
        let at: DateTime<Utc> = "2026-12-01T03:00:00Z".parse().unwrap();
        assert_eq!(Month::of(at, ZONE).label(), "2026-11");
        assert_eq!(Month::parse("2026-11"), Month::new(2026, 11));
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(Month::parse("26-11"), None);
        assert_eq!(Month::new(2026, 12).unwrap().next().label(), "2027-01");
    }

    #[test]
    fn months_follow_the_clock_changes() {
        let months =
            Month::range(NaiveDate::from_ymd_opt(2022, 2, 14).unwrap(), NaiveDate::from_ymd_opt(2022, 4, 2).unwrap());
        let labels: Vec<String> = months.iter().map(|m| m.label()).collect();
        assert_eq!(labels, ["2022-02", "2022-03", "2022-04"]);
        assert_eq!(months[1].starts(ZONE).to_rfc3339(), "2022-03-01T05:00:00+00:00");
        assert_eq!(months[2].starts(ZONE).to_rfc3339(), "2022-04-01T04:00:00+00:00", "daylight time in April");
        let (start, end) = months[0].bounds(ZONE);
        assert_eq!(
            (start.to_rfc3339(), end.to_rfc3339()),
            ("2022-02-01T05:00:00+00:00".into(), "2022-03-01T05:00:00+00:00".into())
        );
    }
}
