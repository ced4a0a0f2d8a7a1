use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The secret in a survey link: 128 bits, hex-encoded (32 characters). Only its SHA-256 is
/// stored: with 128 bits of entropy a fast hash cannot be reversed by guessing, and a
/// deterministic hash is what lets `/s/<token>` find its invitation through a unique index.
///
/// **At rest.** The invitation and the reminder both need the link, yet a database dump alone
/// must not let anyone answer a citizen's survey. A token is therefore *derived*:
/// HMAC-SHA256(token key, salt), truncated to 128 bits, where the salt (128 random bits) is kept
/// on the invitation and the key comes from the configuration (`delivery.token_key`, by default
/// derived from `secret_key`), never from the database. The dispatcher rebuilds the link from the
/// salt at each send; the salt is erased when the invitation ends (answered, expired, opted out,
/// failed), after which nothing, key included, rebuilds the link.
#[derive(Clone, PartialEq, Eq)]
pub struct SurveyToken(String);

/// The random half of a derived token, kept on its invitation while the invitation may still be
/// sent (hex, 32 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSalt(String);

impl TokenSalt {
    pub fn generate() -> TokenSalt {
        TokenSalt(hex::encode(rand::random::<[u8; 16]>()))
    }

    pub fn from_stored(raw: &str) -> TokenSalt {
        TokenSalt(raw.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenSalt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSalt(<redacted>)")
    }
}

impl SurveyToken {
    pub fn generate() -> SurveyToken {
        SurveyToken(hex::encode(rand::random::<[u8; 16]>()))
    }

    /// The token of an invitation's salt under the installation's token key.
    pub fn derive(key: &[u8], salt: &TokenSalt) -> SurveyToken {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(b"survey-token:");
        mac.update(salt.0.as_bytes());
        SurveyToken(hex::encode(&mac.finalize().into_bytes()[..16]))
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

/// The token of a form served under a survey link (the survey, the opt-out page):
/// HMAC(key, purpose ‖ ":" ‖ link token). It binds the form to its link, so a page elsewhere cannot
/// make a citizen's browser post it, and needs no session or cookie.
pub fn form_token(key: &[u8], purpose: &str, raw_token: &str) -> String {
    hex::encode(form_mac(key, purpose, raw_token).finalize().into_bytes())
}

/// Whether `given` is the form token of the link for `purpose` (compared in constant time).
pub fn form_token_matches(key: &[u8], purpose: &str, raw_token: &str, given: &str) -> bool {
    hex::decode(given.trim()).is_ok_and(|bytes| form_mac(key, purpose, raw_token).verify_slice(&bytes).is_ok())
}

fn form_mac(key: &[u8], purpose: &str, raw_token: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.update(b":");
    mac.update(raw_token.trim().to_ascii_lowercase().as_bytes());
    mac
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
        let salt = TokenSalt::generate();
        let derived = SurveyToken::derive(b"key", &salt);
        assert_eq!(derived, SurveyToken::derive(b"key", &TokenSalt::from_stored(salt.as_str())), "stable");
        assert_ne!(derived, SurveyToken::derive(b"other key", &salt), "keyed");
        assert_eq!(SurveyToken::parse(derived.as_str()), Some(derived.clone()));
        for bad in ["", "abc", "zz000000000000000000000000000000", "0123456789abcdef0123456789abcdef0"] {
            assert!(SurveyToken::parse(bad).is_none(), "{bad}");
        }
    }
}
