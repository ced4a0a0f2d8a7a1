//! Who may be asked: the eligibility rules, as a pure function over the candidates of a run.
//! Each exclusion is counted by reason in the run record.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

pub use crate::db::repo::sampling::Candidate;
use crate::domain::{ContactKey, RequestStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Reopened since it closed: not decided now; it comes back when it closes again.
    NotClosed,
    CancelledOrDuplicate,
    ExcludedService,
    NoContact,
    OptedOut,
    Quarantine,
    /// Another request of the same contact is taken in this run (at most one invitation per
    /// contact per run): the most recently closed one.
    DuplicateContact,
}

impl Exclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::NotClosed => "not_closed",
            Exclusion::CancelledOrDuplicate => "cancelled_or_duplicate",
            Exclusion::ExcludedService => "excluded_service",
            Exclusion::NoContact => "no_contact",
            Exclusion::OptedOut => "opted_out",
            Exclusion::Quarantine => "quarantine",
            Exclusion::DuplicateContact => "duplicate_contact",
        }
    }

    /// Whether the request is decided (never reconsidered) by this run.
    pub fn is_final(self) -> bool {
        self != Exclusion::NotClosed
    }
}

pub struct Rules<'a> {
    pub sms_enabled: bool,
    /// Contacts that opted out.
    pub opted_out: &'a HashSet<ContactKey>,
    /// Contacts invited within the quarantine period.
    pub quarantined: &'a HashSet<ContactKey>,
}

/// For each candidate (same order): `Ok(())` if eligible, or the first rule that excludes it.
pub fn classify(candidates: &[Candidate], rules: &Rules<'_>) -> Vec<Result<(), Exclusion>> {
    let mut verdicts: Vec<Result<(), Exclusion>> = candidates.iter().map(|c| individual(c, rules)).collect();
    // At most one per contact: keep the most recently closed (then the highest id).
    let mut chosen: HashMap<&ContactKey, usize> = HashMap::new();
    for (index, candidate) in candidates.iter().enumerate() {
        if verdicts[index].is_err() {
            continue;
        }
        let Some(hash) = candidate.contact.as_ref() else { continue };
        match chosen.get(hash) {
            None => {
                chosen.insert(hash, index);
            }
            Some(&other) => {
                let current = &candidates[other];
                let newer = (candidate.closed_at, candidate.id) > (current.closed_at, current.id);
                let loser = if newer { other } else { index };
                if newer {
                    chosen.insert(hash, index);
                }
                verdicts[loser] = Err(Exclusion::DuplicateContact);
            }
        }
    }
    verdicts
}

fn individual(candidate: &Candidate, rules: &Rules<'_>) -> Result<(), Exclusion> {
    match candidate.status {
        RequestStatus::Closed => {}
        RequestStatus::Cancelled | RequestStatus::Duplicate => return Err(Exclusion::CancelledOrDuplicate),
        RequestStatus::Open => return Err(Exclusion::NotClosed),
    }
    if candidate.excluded_service {
        return Err(Exclusion::ExcludedService);
    }
    let usable = candidate.has_email || (rules.sms_enabled && candidate.has_phone);
    let Some(hash) = candidate.contact.as_ref().filter(|_| usable) else {
        return Err(Exclusion::NoContact);
    };
    if rules.opted_out.contains(hash) {
        return Err(Exclusion::OptedOut);
    }
    if rules.quarantined.contains(hash) {
        return Err(Exclusion::Quarantine);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::contact_key;
    use chrono::DateTime;

    fn candidate(id: i64, contact: Option<&str>) -> Candidate {
        Candidate {
            id,
            direction_id: 1,
            channel_id: 1,
            status: RequestStatus::Closed,
            excluded_service: false,
            has_email: contact.is_some(),
            has_phone: false,
            contact: contact.map(contact_key),
            closed_at: DateTime::from_timestamp(1_700_000_000 + id, 0).unwrap(),
        }
    }

    fn verdicts(candidates: &[Candidate], sms: bool) -> Vec<Result<(), Exclusion>> {
        let opted: HashSet<ContactKey> = [contact_key("opted")].into();
        let quarantined: HashSet<ContactKey> = [contact_key("recent")].into();
        classify(candidates, &Rules { sms_enabled: sms, opted_out: &opted, quarantined: &quarantined })
    }

    #[test]
    fn each_rule_excludes_with_its_reason() {
        let mut cancelled = candidate(1, Some("a"));
        cancelled.status = RequestStatus::Cancelled;
        let mut reopened = candidate(2, Some("b"));
        reopened.status = RequestStatus::Open;
        let mut sensitive = candidate(3, Some("c"));
        sensitive.excluded_service = true;
        let nobody = candidate(4, None);
        let opted = candidate(5, Some("opted"));
        let recent = candidate(6, Some("recent"));
        let fine = candidate(7, Some("g"));
        let all = [cancelled, reopened, sensitive, nobody, opted, recent, fine];
        assert_eq!(
            verdicts(&all, false),
            [
                Err(Exclusion::CancelledOrDuplicate),
                Err(Exclusion::NotClosed),
                Err(Exclusion::ExcludedService),
                Err(Exclusion::NoContact),
                Err(Exclusion::OptedOut),
                Err(Exclusion::Quarantine),
                Ok(())
            ]
        );
    }

    #[test]
    fn a_phone_only_contact_needs_sms() {
        let mut phone = candidate(1, Some("p"));
        phone.has_email = false;
        phone.has_phone = true;
        assert_eq!(verdicts(std::slice::from_ref(&phone), false), [Err(Exclusion::NoContact)]);
        assert_eq!(verdicts(&[phone], true), [Ok(())]);
    }

    #[test]
    fn one_request_per_contact_the_latest_closed() {
        let all = [
            candidate(1, Some("same")),
            candidate(3, Some("same")),
            candidate(2, Some("same")),
            candidate(4, Some("other")),
        ];
        assert_eq!(
            verdicts(&all, false),
            [Err(Exclusion::DuplicateContact), Ok(()), Err(Exclusion::DuplicateContact), Ok(())]
        );
    }
}
