//! Contact data: phone numbers normalised to E.164, and the keyed contact hash.
//!
//! The hash is HMAC-SHA256 over the normalised contact ("email:..." or "phone:+1..."), with a
//! secret key, hex-encoded. It lets the quarantine and opt-out rules recognise a citizen after
//! their personal data is purged, without the table being a reversible directory of contacts.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Email;

/// A phone number in E.164 form (`+14185550134`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parse a phone number as a 311 agent would type it; numbers without a country code are
/// Canadian (the default region, CA).
pub fn parse_phone(raw: &str) -> Result<PhoneNumber, String> {
    let parsed = phonenumber::parse(Some(phonenumber::country::Id::CA), raw.trim())
        .map_err(|err| format!("{raw:?} is not a phone number ({err})"))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(format!("{raw:?} is not a valid phone number"));
    }
    Ok(PhoneNumber(parsed.format().mode(phonenumber::Mode::E164).to_string()))
}

/// Computes contact hashes with the installation's key.
#[derive(Clone)]
pub struct ContactHasher {
    key: Vec<u8>,
}

impl ContactHasher {
    pub fn new(key: &[u8]) -> ContactHasher {
        ContactHasher { key: key.to_vec() }
    }

    fn hash(&self, kind: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn email(&self, email: &Email) -> String {
        self.hash("email", email.as_str())
    }

    pub fn phone(&self, phone: &PhoneNumber) -> String {
        self.hash("phone", phone.as_str())
    }

    /// The hash of the contact invitations would go to: the e-mail if any, else the phone.
    pub fn contact(&self, email: Option<&Email>, phone: Option<&PhoneNumber>) -> Option<String> {
        email.map(|e| self.email(e)).or_else(|| phone.map(|p| self.phone(p)))
    }
}

/// A contact hash in 32 bytes rather than 64 hex characters: a sampling run holds one per
/// candidate.
pub type ContactKey = [u8; 32];

/// The hex contact hash as bytes (anything else is hashed, so distinct strings stay distinct).
pub fn contact_key(hash: &str) -> ContactKey {
    let mut key = [0u8; 32];
    if hex::decode_to_slice(hash, &mut key).is_err() {
        use sha2::Digest;
        key.copy_from_slice(&Sha256::digest(hash.as_bytes()));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canadian_numbers_in_any_usual_form() {
        for raw in ["418 555-0134", "(418) 555-0134", "1-418-555-0134", "+1 418 555 0134", "418.555.0134"] {
            assert_eq!(parse_phone(raw).unwrap().as_str(), "+14185550134", "{raw}");
        }
        assert_eq!(parse_phone("+33 6 12 34 56 78").unwrap().as_str(), "+33612345678");
        assert!(parse_phone("12").is_err());
        assert!(parse_phone("not a number").is_err());
        assert!(parse_phone("").is_err());
    }

    #[test]
    fn hashes_are_keyed_stable_and_distinct() {
        let hasher = ContactHasher::new(b"key one");
        let email = Email::parse("a@ville.example").unwrap();
        let first = hasher.email(&email);
        assert_eq!(first.len(), 64);
        assert_eq!(first, hasher.email(&Email::parse("A@Ville.Example").unwrap()));
        assert_ne!(first, ContactHasher::new(b"key two").email(&email));
        let phone = parse_phone("418 555-0134").unwrap();
        assert_ne!(hasher.phone(&phone), first);
        assert_eq!(hasher.contact(Some(&email), Some(&phone)), Some(first));
        assert_eq!(hasher.contact(None, Some(&phone)), Some(hasher.phone(&phone)));
        assert_eq!(hasher.contact(None, None), None);
    }

    proptest! {
        #[test]
        fn phone_parsing_never_panics(raw in any::<String>()) {
            let _ = parse_phone(&raw);
        }

        #[test]
        fn phone_like_strings_never_panic(raw in "[0-9 ()+.-]{0,25}") {
            if let Ok(phone) = parse_phone(&raw) {
                prop_assert!(phone.as_str().starts_with('+'));
            }
        }
    }
}
