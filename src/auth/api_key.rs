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
///
/// argon2id costs tens of milliseconds of CPU by design, which capped every API endpoint at
/// ≈ 100 requests/s on two cores (`benches/http_load.sh`). So a secret that verified once is
/// remembered, in this process only, as its SHA-256 next to the stored hash it matched: the next
/// presentation of the same key costs one SHA-256. The stored hash (salted, so unique to its key)
/// is still read from the database on every call, so a revoked or replaced key is refused at
/// once. SHA-256 is enough here: the secrets are 192 random bits, and the memo never leaves
/// memory.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    if let Some(known) = verify_remembered(secret, stored_hash) {
        return known;
    }
    let digest = sha256(secret);
    let valid = password::verify(secret, stored_hash);
    if valid && let Ok(mut memo) = VERIFIED.lock() {
        // A few keys per city system; a bound all the same.
        if memo.len() >= VERIFIED_CAPACITY {
            memo.clear();
        }
        memo.insert(stored_hash.to_owned(), digest);
    }
    valid
}

/// The answer for a key verified before in this process, without argon2id (microseconds, so
/// callers may skip the blocking thread `verify` needs); `None` for a key not seen yet.
pub fn verify_remembered(secret: &str, stored_hash: &str) -> Option<bool> {
    let known = VERIFIED.lock().ok().and_then(|memo| memo.get(stored_hash).copied())?;
    Some(constant_time_eq(&known, &sha256(secret)))
}

fn sha256(secret: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes()).into()
}

/// One argon2id verification that always fails, as costly as a real one: what a presented key
/// whose prefix matches no key costs, so that its answer takes as long as a wrong secret's.
pub fn verify_against_nothing(secret: &str) -> bool {
    static NOTHING: std::sync::LazyLock<Option<String>> =
        std::sync::LazyLock::new(|| password::hash(&hex::encode(rand::random::<[u8; SECRET_BYTES]>())).ok());
    NOTHING.as_deref().is_some_and(|hash| password::verify(secret, hash))
}

const VERIFIED_CAPACITY: usize = 1024;

/// Stored hash → SHA-256 of the secret that matched it.
static VERIFIED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, [u8; 32]>>> =
    std::sync::LazyLock::new(Default::default);

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    fn a_remembered_key_still_refuses_other_secrets() {
        let key = generate().unwrap();
        let (_, secret) = parse(&key.clear).unwrap();
        assert!(verify(secret, &key.hash), "first time: argon2id");
        assert!(verify(secret, &key.hash), "second time: from memory");
        let other = generate().unwrap();
        let (_, other_secret) = parse(&other.clear).unwrap();
        assert!(!verify(other_secret, &key.hash), "a remembered hash accepts only its own secret");
        let mut near = secret.to_owned();
        near.replace_range(0..1, if secret.starts_with('0') { "1" } else { "0" });
        assert!(!verify(&near, &key.hash));
        // A secret is remembered with the hash it matched, not on its own.
        let replacement = generate().unwrap();
        assert!(!verify(secret, &replacement.hash));
    }

    #[test]
    fn verifying_against_nothing_never_succeeds() {
        let key = generate().unwrap();
        let (_, secret) = parse(&key.clear).unwrap();
        assert!(!verify_against_nothing(secret));
        assert!(!verify_against_nothing(""));
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
