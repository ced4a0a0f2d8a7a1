use std::fmt;

/// An e-mail address, trimmed and lower-cased. The check is deliberately structural
/// (one `@`, a local part, a dotted domain, no spaces, RFC 5321 lengths): deliverability is
/// only ever proven by delivering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("the e-mail address is empty")]
    Empty,
    #[error("the e-mail address {0:?} has no '@'")]
    MissingAt(String),
    #[error("the e-mail address {0:?} must have exactly one '@'")]
    SeveralAt(String),
    #[error("the e-mail address {0:?} has an empty part before or after '@'")]
    EmptyPart(String),
    #[error("the e-mail address {0:?} contains a space or control character")]
    Whitespace(String),
    #[error("the domain of {0:?} is not a domain name (example: ville.quebec.ca)")]
    BadDomain(String),
    #[error("the e-mail address is longer than 254 characters")]
    TooLong,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Whitespace(trimmed.into()));
        }
        let mut parts = trimmed.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(_), None, _) => return Err(EmailError::MissingAt(trimmed.into())),
            (Some(local), Some(domain), None) => (local, domain),
            _ => return Err(EmailError::SeveralAt(trimmed.into())),
        };
        if local.is_empty() || domain.is_empty() || local.len() > 64 {
            return Err(EmailError::EmptyPart(trimmed.into()));
        }
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !domain.contains('.') || !labels_ok {
            return Err(EmailError::BadDomain(trimmed.into()));
        }
        Ok(Email(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_spaces() {
        assert_eq!(
            Email::parse("  Marie.Tremblay@Ville.Levis.QC.ca ").unwrap().as_str(),
            "marie.tremblay@ville.levis.qc.ca"
        );
    }

    #[test]
    fn accepts_accented_domains_and_plus_addressing() {
        assert!(Email::parse("jean+311@hôtel-de-ville.ca").is_ok());
    }

    #[test]
    fn each_rejection_says_why() {
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert!(matches!(Email::parse("marie.example.ca"), Err(EmailError::MissingAt(_))));
        assert!(matches!(Email::parse("a@b@c.ca"), Err(EmailError::SeveralAt(_))));
        assert!(matches!(Email::parse("@ville.ca"), Err(EmailError::EmptyPart(_))));
        assert!(matches!(Email::parse("marie@"), Err(EmailError::EmptyPart(_))));
        assert!(matches!(Email::parse("ma rie@ville.ca"), Err(EmailError::Whitespace(_))));
        assert!(matches!(Email::parse("marie@localhost"), Err(EmailError::BadDomain(_))));
        assert!(matches!(Email::parse("marie@ville..ca"), Err(EmailError::BadDomain(_))));
        assert!(matches!(Email::parse("marie@-ville.ca"), Err(EmailError::BadDomain(_))));
        assert_eq!(Email::parse(&format!("{}@ville.ca", "a".repeat(250))), Err(EmailError::TooLong));
    }

    #[test]
    fn never_panics_on_arbitrary_text() {
        for raw in ["@", "@@", ".", "a@.", "a@b.", "\u{0}@a.b", "é@é.é", "a@b.c\n"] {
            let _ = Email::parse(raw);
        }
    }
}
