//! API keys for the CRM and other systems: `sat_<prefix>_<secret>`.
//!
//! The prefix (64 random bits, hex) is stored in clear to find the row; the secret
//! (192 random bits, hex) is only stored as an argon2id hash, so a leaked database does not
//! leak usable keys. The key is shown once, when created.

use super::password;

const KEY_TAG: &str = "sat";
const PREFIX_BYTES: usize = 8;
const SECRET_BYTES: usize = 24;

/// A freshly generated key: `clear` is shown to the operator once and never stored.
pub struct GeneratedKey {
    pub prefix: String,
    pub clear: String,
    pub hash: String,
}

pub fn generate() -> Result<GeneratedKey, password::PasswordError> {
    let prefix = hex::encode(rand::random::<[u8; PREFIX_BYTES]>());
    let secret = hex::encode(rand::random::<[u8; SECRET_BYTES]>());
    let hash = password::hash(&secret)?;
    Ok(GeneratedKey { clear: format!("{KEY_TAG}_{prefix}_{secret}"), prefix, hash })
}

/// Split a presented key into (prefix, secret) if it has the right shape.
pub fn parse(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.trim().strip_prefix(KEY_TAG)?.strip_prefix('_')?;
    let (prefix, secret) = rest.split_once('_')?;
    let is_hex = |s: &str, bytes: usize| s.len() == bytes * 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hex(prefix, PREFIX_BYTES) && is_hex(secret, SECRET_BYTES)).then_some((prefix, secret))
}

/// Does the presented secret match the stored hash?
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    password::verify(secret, stored_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_verify() {
        let key = generate().unwrap();
        let (prefix, secret) = parse(&key.clear).expect("well-formed");
        assert_eq!(prefix, key.prefix);
        assert!(verify(secret, &key.hash));
        assert!(!key.hash.contains(secret), "only the hash is kept");
        let other = generate().unwrap();
        assert_ne!(other.prefix, key.prefix);
        let (_, other_secret) = parse(&other.clear).unwrap();
        assert!(!verify(other_secret, &key.hash));
    }

    #[test]
    fn malformed_keys_are_rejected() {
        for bad in [
            "",
            "sat_",
            "sat_abc_def",
            "xyz_0011223344556677_00",
            "sat_00112233445566zz_001122334455667788990011223344556677889900112233",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
