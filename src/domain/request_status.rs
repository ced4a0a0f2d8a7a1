//! The status of a service request, as the CRM reports it (Open311 knows open and closed; 311
//! systems add cancelled and duplicate).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    Open,
    Closed,
    Cancelled,
    Duplicate,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 4] =
        [RequestStatus::Open, RequestStatus::Closed, RequestStatus::Cancelled, RequestStatus::Duplicate];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Closed => "closed",
            RequestStatus::Cancelled => "cancelled",
            RequestStatus::Duplicate => "duplicate",
        }
    }

    /// In any case; `None` for anything else.
    pub fn parse(raw: &str) -> Option<RequestStatus> {
        let lowered = raw.trim().to_ascii_lowercase();
        RequestStatus::ALL.into_iter().find(|s| s.as_str() == lowered)
    }

    /// A cancelled or duplicate request measures no service: it is never surveyed nor counted.
    pub fn is_void(self) -> bool {
        matches!(self, RequestStatus::Cancelled | RequestStatus::Duplicate)
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_in_any_case() {
        for status in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(&status.as_str().to_uppercase()), Some(status));
        }
        assert_eq!(RequestStatus::parse("reopened"), None);
        assert!(RequestStatus::Duplicate.is_void() && !RequestStatus::Closed.is_void());
    }
}
