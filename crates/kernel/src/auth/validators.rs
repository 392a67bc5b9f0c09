//! Password validation: Django's four validators with Django's messages.
//!
//! Applied on registration, password change, password reset and `createsuperuser`:
//! similarity to the username, names and e-mail; a minimum length; a list of 20,321 common
//! passwords; and all-digit passwords. No composition rules and no maximum below the body
//! limit, as ASVS asks.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::OnceLock;

use crate::i18n::Tr;

/// The highest similarity accepted between a password and a user attribute.
pub const MAX_SIMILARITY: f64 = 0.7;

/// The user attributes a password must not resemble.
#[derive(Debug, Clone, Default)]
pub struct UserAttributes<'a> {
    /// Username.
    pub username: &'a str,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
    /// E-mail address.
    pub email: &'a str,
}

fn common_passwords() -> &'static HashSet<String> {
    static LIST: OnceLock<HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let gz: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz).read_to_string(&mut text).expect("the bundled password list is valid gzip");
        text.lines().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect()
    })
}

/// How many passwords the common-password list holds.
pub fn common_password_count() -> usize {
    common_passwords().len()
}

/// Python's `SequenceMatcher(a, b).quick_ratio()`: an upper bound of similarity from the
/// characters the two strings share.
pub fn quick_ratio(a: &str, b: &str) -> f64 {
    let mut available: HashMap<char, i64> = HashMap::new();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        let left = available.entry(c).or_default();
        if *left > 0 {
            matches += 1;
        }
        *left -= 1;
    }
    let length = a.chars().count() + b.chars().count();
    if length == 0 { 1.0 } else { 2.0 * matches as f64 / length as f64 }
}

/// Django's shortcut: a password ten times longer than a short value cannot be too similar.
fn exceeds_maximum_length_ratio(password: &str, value: &str) -> bool {
    let password_len = password.chars().count() as f64;
    let value_len = value.chars().count() as f64;
    password_len >= 10.0 * value_len && value_len < MAX_SIMILARITY / 2.0 * password_len
}

/// Every reason `password` is refused (empty when it is accepted), translated.
pub fn validate_password(password: &str, user: &UserAttributes<'_>, min_length: usize, tr: &Tr) -> Vec<String> {
    let mut errors = Vec::new();
    let lower = password.to_lowercase();
    let attributes = [
        (user.username, "username"),
        (user.first_name, "first name"),
        (user.last_name, "last name"),
        (user.email, "email address"),
    ];
    'attributes: for (value, verbose_name) in attributes {
        if value.is_empty() {
            continue;
        }
        let value = value.to_lowercase();
        let mut parts: Vec<&str> = value.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
        parts.push(&value);
        for part in parts {
            if exceeds_maximum_length_ratio(&lower, part) {
                continue;
            }
            if quick_ratio(&lower, part) >= MAX_SIMILARITY {
                errors.push(
                    tr.f(
                        "The password is too similar to the {verbose_name}.",
                        &[("verbose_name", &tr.t(verbose_name))],
                    ),
                );
                break 'attributes;
            }
        }
    }
    if password.chars().count() < min_length {
        errors.push(tr.n(
            "This password is too short. It must contain at least {n} character.",
            "This password is too short. It must contain at least {n} characters.",
            min_length as u64,
            &[],
        ));
    }
    if common_passwords().contains(lower.trim()) {
        errors.push(tr.t("This password is too common.").to_owned());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        errors.push(tr.t("This password is entirely numeric.").to_owned());
    }
    errors
}

/// Help text listing the rules, as Django's `password_validators_help_text_html` does.
pub fn help_texts(min_length: usize, tr: &Tr) -> Vec<String> {
    vec![
        tr.t("Your password can’t be too similar to your other personal information.").to_owned(),
        tr.n(
            "Your password must contain at least {n} character.",
            "Your password must contain at least {n} characters.",
            min_length as u64,
            &[],
        ),
        tr.t("Your password can’t be a commonly used password.").to_owned(),
        tr.t("Your password can’t be entirely numeric.").to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_ratio_matches_python() {
        // difflib.SequenceMatcher(a=..., b=...).quick_ratio()
        assert!((quick_ratio("alice1234", "alice") - 10.0 / 14.0).abs() < 1e-9);
        assert!((quick_ratio("abc", "xyz")).abs() < 1e-9);
        assert!((quick_ratio("", "") - 1.0).abs() < 1e-9);
        assert!((quick_ratio("aab", "ab") - 0.8).abs() < 1e-9);
    }

    #[test]
    fn the_list_has_at_least_twenty_thousand_passwords() {
        assert!(common_password_count() >= 20_000, "{}", common_password_count());
    }
}
