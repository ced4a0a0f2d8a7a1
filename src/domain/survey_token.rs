use sha2::{Digest, Sha256};

/// The secret in a survey link: 128 random bits, hex-encoded (32 characters). Only its SHA-256
/// is stored: with 128 bits of entropy a fast hash cannot be reversed by guessing, and a
/// deterministic hash is what lets `/s/<token>` find its invitation through a unique index.
#[derive(Clone, PartialEq, Eq)]
pub struct SurveyToken(String);

impl SurveyToken {
    pub fn generate() -> SurveyToken {
        SurveyToken(hex::encode(rand::random::<[u8; 16]>()))
    }

    /// A token as it arrives in a URL; `None` unless it is exactly 32 hex digits.
    pub fn parse(raw: &str) -> Option<SurveyToken> {
        let lowered = raw.trim().to_ascii_lowercase();
        (lowered.len() == 32 && lowered.bytes().all(|b| b.is_ascii_hexdigit())).then_some(SurveyToken(lowered))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database keeps: hex SHA-256 of the token.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for SurveyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SurveyToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_parseable_and_hashed() {
        let token = SurveyToken::generate();
        assert_eq!(token.as_str().len(), 32);
        assert_ne!(token, SurveyToken::generate());
        assert_eq!(SurveyToken::parse(&token.as_str().to_uppercase()), Some(token.clone()));
        assert_eq!(token.hash().len(), 64);
        assert_ne!(token.hash(), token.as_str());
        assert!(!format!("{token:?}").contains(token.as_str()), "never in logs");
        for bad in ["", "abc", "zz000000000000000000000000000000", "0123456789abcdef0123456789abcdef0"] {
            assert!(SurveyToken::parse(bad).is_none(), "{bad}");
        }
    }
}
