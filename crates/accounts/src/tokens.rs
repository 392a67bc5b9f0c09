//! Password-reset links: `<uidb64>/<timestamp base36>-<32 hex>`, Django's construction.
//!
//! The token is an HMAC (keyed by the secret key) over the user's id, password hash, last
//! sign-in, e-mail and the timestamp. It therefore stops working when the password changes
//! (so it is single-use), after the next sign-in, after an e-mail change, and after
//! `auth.password_reset_timeout_seconds`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};

use quartet_kernel::auth::User;
use quartet_kernel::crypto::{constant_time_eq, salted_hmac_hex};

const KEY_SALT: &str = "quartet.auth.tokens.PasswordResetTokenGenerator";

/// Seconds since 2001-01-01 UTC (Django's epoch for these tokens).
fn seconds_since_2001(at: DateTime<Utc>) -> i64 {
    let epoch = Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).single().expect("a valid date");
    (at - epoch).num_seconds()
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

fn from_base36(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 13 {
        return None;
    }
    u64::from_str_radix(s, 36).ok()
}

fn hash_value(user: &User, timestamp: u64) -> String {
    let login = user.last_login.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default();
    format!("{}{}{}{}{}", user.id, user.password, login, timestamp, user.email)
}

fn token_at(user: &User, timestamp: u64, secret: &str) -> String {
    let digest = salted_hmac_hex(KEY_SALT, &hash_value(user, timestamp), secret);
    let every_other: String = digest.chars().step_by(2).collect();
    format!("{}-{every_other}", to_base36(timestamp))
}

/// A reset token for `user`, made at `now`.
pub fn make_token(user: &User, now: DateTime<Utc>, secret: &str) -> String {
    token_at(user, u64::try_from(seconds_since_2001(now)).unwrap_or(0), secret)
}

/// Whether `token` is valid for `user` at `now`.
pub fn check_token(user: &User, token: &str, now: DateTime<Utc>, secret: &str, timeout_seconds: u64) -> bool {
    let Some((ts, _)) = token.split_once('-') else { return false };
    let Some(timestamp) = from_base36(ts) else { return false };
    if !constant_time_eq(token_at(user, timestamp, secret).as_bytes(), token.as_bytes()) {
        return false;
    }
    let age = seconds_since_2001(now) - i64::try_from(timestamp).unwrap_or(i64::MAX);
    age >= 0 && u64::try_from(age).unwrap_or(u64::MAX) <= timeout_seconds
}

/// The user id encoded for a link (`1` → `MQ`).
pub fn encode_uid(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(id.to_string())
}

/// The user id from a link, if well-formed.
pub fn decode_uid(uidb64: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(uidb64.trim_end_matches('=')).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn user() -> User {
        User {
            id: 7,
            password: "pbkdf2_sha256$1$salt$hash".into(),
            last_login: None,
            is_superuser: false,
            username: "alice".into(),
            first_name: "Alice".into(),
            last_name: String::new(),
            email: "alice@example.com".into(),
            is_staff: false,
            is_active: true,
            date_joined: Utc::now(),
        }
    }

    const SECRET: &str = "a-test-secret-key-that-is-long-enough-for-anything-at-all";
    const TIMEOUT: u64 = 259_200;

    #[test]
    fn uids_round_trip_like_django() {
        assert_eq!(encode_uid(1), "MQ");
        assert_eq!(decode_uid("MQ"), Some(1));
        assert_eq!(decode_uid(&encode_uid(123_456)), Some(123_456));
        assert_eq!(decode_uid("!!"), None);
        assert_eq!(decode_uid("YWJj"), None);
    }

    #[test]
    fn tokens_expire_after_exactly_the_timeout() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let u = user();
        let token = make_token(&u, now, SECRET);
        assert_eq!(token.split('-').nth(1).unwrap().len(), 32);
        assert!(check_token(&u, &token, now, SECRET, TIMEOUT));
        assert!(check_token(&u, &token, now + Duration::seconds(259_200), SECRET, TIMEOUT));
        assert!(!check_token(&u, &token, now + Duration::seconds(259_201), SECRET, TIMEOUT));
    }

    #[test]
    fn tokens_die_with_a_new_password_a_new_login_or_a_new_email() {
        let now = Utc::now();
        let u = user();
        let token = make_token(&u, now, SECRET);
        let mut changed = u.clone();
        changed.password = "pbkdf2_sha256$1$salt$other".into();
        assert!(!check_token(&changed, &token, now, SECRET, TIMEOUT));
        let mut logged_in = u.clone();
        logged_in.last_login = Some(now);
        assert!(!check_token(&logged_in, &token, now, SECRET, TIMEOUT));
        let mut moved = u.clone();
        moved.email = "new@example.com".into();
        assert!(!check_token(&moved, &token, now, SECRET, TIMEOUT));
        assert!(!check_token(&u, &token, now, "another-secret", TIMEOUT));
    }

    #[test]
    fn tampered_tokens_fail() {
        let now = Utc::now();
        let u = user();
        let token = make_token(&u, now, SECRET);
        let (ts, hash) = token.split_once('-').unwrap();
        let later = to_base36(from_base36(ts).unwrap() + 1000);
        assert!(!check_token(&u, &format!("{later}-{hash}"), now, SECRET, TIMEOUT));
        let mut flipped = hash.to_owned();
        flipped.replace_range(0..1, if hash.starts_with('0') { "1" } else { "0" });
        assert!(!check_token(&u, &format!("{ts}-{flipped}"), now, SECRET, TIMEOUT));
        for junk in ["", "-", "abc", "zzzzzzzzzzzzzzzzz-abc", &token.replace('-', "")] {
            assert!(!check_token(&u, junk, now, SECRET, TIMEOUT), "{junk}");
        }
    }
}
