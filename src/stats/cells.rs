//! Cells: the sufficient statistics the database hands to the statistics module.

use serde::Serialize;

/// Responses sharing a direction, channel, month, class month, sampling stratum and score.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub direction: String,
    pub channel: String,
    /// "YYYY-MM" in the city's time zone (of submission; '' when the breakdown has no months).
    pub month: String,
    /// The city month ("YYYY-MM") the responses' requests closed in, which with the direction
    /// and channel makes their weighting class (`adjust`); '' when they have none (imported
    /// from an earlier tool) or when the cells were read without classes.
    pub class_month: String,
    pub stratum: String,
    /// 0..=10
    pub score: u8,
    pub count: u64,
    /// Σ w over the cell's responses.
    pub sum_w: f64,
    /// Σ w² over the cell's responses.
    pub sum_w2: f64,
}

/// The sums the roll-ups keep for a cell of responses: their count, Σw and Σw², and of the
/// same responses' overall score y, Σy, Σy², Σwy and Σwy² (a driver's joint moments with the
/// overall score: with x the cell's driver score, Σwxy = x·Σwy).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    pub n: i64,
    pub sum_w: f64,
    pub sum_w2: f64,
    pub sum_y: f64,
    pub sum_y2: f64,
    pub sum_wy: f64,
    pub sum_wy2: f64,
}

impl Sums {
    /// What one response of weight `w` and overall score `y` adds (`sign` = 1) or takes away
    /// (`sign` = −1).
    pub fn of_one(w: f64, y: i16, sign: i8) -> Sums {
        let (s, y) = (f64::from(sign.signum()), f64::from(y));
        Sums {
            n: i64::from(sign.signum()),
            sum_w: s * w,
            sum_w2: s * w * w,
            sum_y: s * y,
            sum_y2: s * y * y,
            sum_wy: s * w * y,
            sum_wy2: s * w * y * y,
        }
    }

    /// `count` responses of weight `w` and overall score `y`.
    pub fn of_many(count: u64, w: f64, y: u8) -> Sums {
        let (k, y) = (count as f64, f64::from(y));
        Sums {
            n: count as i64,
            sum_w: w * k,
            sum_w2: w * w * k,
            sum_y: y * k,
            sum_y2: y * y * k,
            sum_wy: w * y * k,
            sum_wy2: w * y * y * k,
        }
    }

    pub fn add(&mut self, other: &Sums) {
        self.n += other.n;
        self.sum_w += other.sum_w;
        self.sum_w2 += other.sum_w2;
        self.sum_y += other.sum_y;
        self.sum_y2 += other.sum_y2;
        self.sum_wy += other.sum_wy;
        self.sum_wy2 += other.sum_wy2;
    }
}

/// The breakdowns the API offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GroupBy {
    None,
    Direction,
    Channel,
    Month,
    DirectionChannel,
    DirectionMonth,
    ChannelMonth,
}

impl GroupBy {
    /// `direction`, `channel`, `month`, `direction,channel`, ... (either order, spaces allowed).
    pub fn parse(raw: &str) -> Result<GroupBy, String> {
        let mut parts: Vec<String> =
            raw.split(',').map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty()).collect();
        parts.sort();
        parts.dedup();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        Ok(match parts.as_slice() {
            [] => GroupBy::None,
            ["direction"] => GroupBy::Direction,
            ["channel"] => GroupBy::Channel,
            ["month"] => GroupBy::Month,
            ["channel", "direction"] => GroupBy::DirectionChannel,
            ["direction", "month"] => GroupBy::DirectionMonth,
            ["channel", "month"] => GroupBy::ChannelMonth,
            _ => {
                return Err(format!(
                    "unknown breakdown {raw:?}; expected direction, channel, month, direction,channel, direction,month or channel,month"
                ));
            }
        })
    }

    /// Whether `cell` belongs to the group `key` (no allocation: called for every cell of every
    /// group).
    pub fn matches(self, cell: &Cell, key: &GroupKey) -> bool {
        let (d, c, m) = self.dimensions();
        (!d || key.direction.as_deref() == Some(cell.direction.as_str()))
            && (!c || key.channel.as_deref() == Some(cell.channel.as_str()))
            && (!m || key.month.as_deref() == Some(cell.month.as_str()))
    }

    fn dimensions(self) -> (bool, bool, bool) {
        match self {
            GroupBy::None => (false, false, false),
            GroupBy::Direction => (true, false, false),
            GroupBy::Channel => (false, true, false),
            GroupBy::Month => (false, false, true),
            GroupBy::DirectionChannel => (true, true, false),
            GroupBy::DirectionMonth => (true, false, true),
            GroupBy::ChannelMonth => (false, true, true),
        }
    }

    pub fn key(self, cell: &Cell) -> GroupKey {
        let (d, c, m) = self.dimensions();
        GroupKey {
            direction: d.then(|| cell.direction.clone()),
            channel: c.then(|| cell.channel.clone()),
            month: m.then(|| cell.month.clone()),
        }
    }
}

/// A group of a breakdown; `None` where the breakdown does not split on that dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct GroupKey {
    pub direction: Option<String>,
    pub channel: Option<String>,
    pub month: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakdowns_parse_in_any_order() {
        assert_eq!(GroupBy::parse("direction"), Ok(GroupBy::Direction));
        assert_eq!(GroupBy::parse("channel, direction"), Ok(GroupBy::DirectionChannel));
        assert_eq!(GroupBy::parse("month,direction"), Ok(GroupBy::DirectionMonth));
        assert_eq!(GroupBy::parse(""), Ok(GroupBy::None));
        assert!(GroupBy::parse("weekday").unwrap_err().contains("unknown breakdown"));
        assert!(GroupBy::parse("direction,channel,month").is_err());
    }
}
