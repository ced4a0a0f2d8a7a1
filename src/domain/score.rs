//! A rating on the 0–10 scale, and the five driver items asked beside the overall score.

use std::fmt;

/// A whole number from 0 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Score(u8);

impl Score {
    pub const MAX: u8 = 10;

    /// "9", " 10 "; "9.5", "11", "dix" are refused with the reason.
    pub fn parse(raw: &str) -> Result<Score, String> {
        match raw.trim().parse::<i64>() {
            Ok(value) => Score::try_from(value),
            Err(_) => Err(format!("{raw:?} is not a whole number from 0 to 10")),
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Score {
    type Error = String;

    fn try_from(value: i64) -> Result<Score, String> {
        if (0..=i64::from(Score::MAX)).contains(&value) {
            Ok(Score(value as u8))
        } else {
            Err(format!("{value} is outside 0–10"))
        }
    }
}

impl From<Score> for i16 {
    fn from(score: Score) -> i16 {
        i16::from(score.0)
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The driver items of the questionnaire, each rated 0–10 (or not applicable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    Timeliness,
    Courtesy,
    Competence,
    Clarity,
    Fairness,
}

impl Driver {
    pub const ALL: [Driver; 5] =
        [Driver::Timeliness, Driver::Courtesy, Driver::Competence, Driver::Clarity, Driver::Fairness];

    /// The code used in CSV columns, JSON and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Timeliness => "timeliness",
            Driver::Courtesy => "courtesy",
            Driver::Competence => "competence",
            Driver::Clarity => "clarity",
            Driver::Fairness => "fairness",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn out_of_range_and_non_integers_are_refused_with_reasons() {
        assert!(Score::parse("11").unwrap_err().contains("outside"));
        assert!(Score::parse("-1").unwrap_err().contains("outside"));
        assert!(Score::parse("9.5").unwrap_err().contains("whole number"));
        assert!(Score::parse("dix").is_err());
        assert_eq!(Score::parse(" 10 ").unwrap().value(), 10);
    }

    proptest! {
        #[test]
        fn every_score_in_range_round_trips(value in 0u8..=10) {
            let score = Score::parse(&format!(" {value} ")).unwrap();
            prop_assert_eq!(score.value(), value);
            prop_assert_eq!(Score::parse(&score.to_string()), Ok(score));
        }

        #[test]
        fn parsing_never_panics(raw in any::<String>()) {
            let _ = Score::parse(&raw);
        }
    }
}
