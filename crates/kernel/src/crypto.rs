//! Random tokens, keyed hashes and constant-time comparison.

use hmac::{KeyInit, Mac};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// Lower-case letters and digits (Django's session key alphabet).
pub const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Letters and digits (Django's CSRF and salt alphabet).
pub const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A random string of `len` characters drawn uniformly from `alphabet` by the OS-seeded CSPRNG.
pub fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect()
}

/// `len` random bytes.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::rng().fill(&mut bytes[..]);
    bytes
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// HMAC-SHA256 of `value` under a key derived from `secret` and a purpose-specific `salt`
/// (Django's `salted_hmac`), as lower-case hex.
pub fn salted_hmac_hex(salt: &str, value: &str, secret: &str) -> String {
    let key = Sha256::digest(format!("{salt}{secret}").as_bytes());
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_use_only_the_alphabet_and_differ() {
        let a = random_string(32, LOWER_ALNUM);
        let b = random_string(32, LOWER_ALNUM);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| LOWER_ALNUM.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn salted_hmac_matches_djangos_construction() {
        // Python: hmac.new(hashlib.sha256(b"salt" + b"secret").digest(), b"value", hashlib.sha256).hexdigest()
        assert_eq!(
            salted_hmac_hex("salt", "value", "secret"),
            "debaddcd9ecbaab181289870baf8af49b0af0a7050d620d1a63f1e69bd87ceb8"
        );
        assert_ne!(salted_hmac_hex("salt", "value", "secret"), salted_hmac_hex("salt2", "value", "secret"));
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
