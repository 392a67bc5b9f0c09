//! Cross-site request forgery protection with Django's rules.
//!
//! A 32-character secret lives in the `csrftoken` cookie. Forms carry a *masked* 64-character
//! token (a fresh random mask per page, so the token never repeats and resists BREACH);
//! JavaScript sends the token in the `X-CSRFToken` header. An unsafe request (anything but
//! GET, HEAD, OPTIONS, TRACE) passes only if its `Origin` (or, over HTTPS without `Origin`, its
//! `Referer`) is this site or a trusted origin, and its token unmasks to the cookie's secret.
//! The secret is replaced at sign-in.

use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::crypto::{ALNUM, constant_time_eq, random_string};
use crate::error::Error;

/// Name of the CSRF cookie.
pub const COOKIE_NAME: &str = "csrftoken";
/// Lifetime of the CSRF cookie (one year, as Django).
pub const COOKIE_AGE: u64 = 31_449_600;
/// Form field carrying the token.
pub const FORM_FIELD: &str = "csrfmiddlewaretoken";
/// Header carrying the token.
pub const HEADER: &str = "x-csrftoken";
/// Length of the secret.
pub const SECRET_LENGTH: usize = 32;
/// Length of a masked token.
pub const TOKEN_LENGTH: usize = 64;

fn index(c: u8) -> Option<usize> {
    ALNUM.iter().position(|&a| a == c)
}

/// Masks `secret` with a fresh random mask: `mask + cipher`, 64 characters.
pub fn mask(secret: &str) -> String {
    let mask = random_string(SECRET_LENGTH, ALNUM);
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(s, m)| {
            let (s, m) = (index(s).unwrap_or(0), index(m).unwrap_or(0));
            char::from(ALNUM[(s + m) % ALNUM.len()])
        })
        .collect();
    mask + &cipher
}

/// Recovers the secret from a masked token.
pub fn unmask(token: &str) -> String {
    let (mask, cipher) = token.split_at(SECRET_LENGTH.min(token.len()));
    cipher
        .bytes()
        .zip(mask.bytes())
        .map(|(c, m)| {
            let (c, m) = (index(c).unwrap_or(0), index(m).unwrap_or(0));
            char::from(ALNUM[(c + ALNUM.len() - m) % ALNUM.len()])
        })
        .collect()
}

/// Checks a token's shape: 32 (unmasked) or 64 (masked) letters and digits.
pub fn check_format(token: &str) -> Result<(), &'static str> {
    if token.len() != SECRET_LENGTH && token.len() != TOKEN_LENGTH {
        return Err("has incorrect length");
    }
    if !token.bytes().all(|b| ALNUM.contains(&b)) {
        return Err("has invalid characters");
    }
    Ok(())
}

/// Whether a request token (masked or not) matches the cookie secret, in constant time.
pub fn tokens_match(request_token: &str, secret: &str) -> bool {
    let unmasked = if request_token.len() == TOKEN_LENGTH { unmask(request_token) } else { request_token.to_owned() };
    constant_time_eq(unmasked.as_bytes(), secret.as_bytes())
}

/// The request's CSRF state: the cookie's secret, and whether the response must set it.
#[derive(Clone, Debug)]
pub struct Csrf(Arc<Mutex<CsrfState>>);

#[derive(Debug)]
struct CsrfState {
    secret: Option<String>,
    send_cookie: bool,
    used: bool,
}

impl Csrf {
    /// The state for a request whose cookie held `secret` (if well-formed).
    pub fn new(secret: Option<String>) -> Self {
        let secret = secret.filter(|s| s.len() == SECRET_LENGTH && s.bytes().all(|b| ALNUM.contains(&b)));
        Self(Arc::new(Mutex::new(CsrfState { secret, send_cookie: false, used: false })))
    }

    /// The secret from the cookie, if the request sent a valid one.
    pub fn secret(&self) -> Option<String> {
        self.0.lock().expect("csrf lock").secret.clone()
    }

    /// A masked token for a form or page; creates the secret (and the cookie) if needed.
    /// As Django 4.1 and later, the cookie is sent only when the secret is new, so a page
    /// whose visitor already has one sets no cookie (and can be cached for that visitor).
    pub fn token(&self) -> String {
        let mut state = self.0.lock().expect("csrf lock");
        state.used = true;
        if state.secret.is_none() {
            state.secret = Some(random_string(SECRET_LENGTH, ALNUM));
            state.send_cookie = true;
        }
        mask(state.secret.as_deref().unwrap_or_default())
    }

    /// Whether a token was put on the page (it is then the visitor's own page).
    pub fn was_used(&self) -> bool {
        self.0.lock().expect("csrf lock").used
    }

    /// Replaces the secret (at sign-in), so tokens from before no longer work.
    pub fn rotate(&self) {
        let mut state = self.0.lock().expect("csrf lock");
        state.secret = Some(random_string(SECRET_LENGTH, ALNUM));
        state.send_cookie = true;
    }

    /// The secret to send in the response's cookie, if it was made or rotated by this request.
    pub fn cookie_to_send(&self) -> Option<String> {
        let state = self.0.lock().expect("csrf lock");
        state.send_cookie.then(|| state.secret.clone()).flatten()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Csrf {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Csrf>()
            .cloned()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("the request guard is not installed on this route")))
    }
}

/// What an unsafe request brings for the check.
#[derive(Debug)]
pub struct Evidence<'a> {
    /// `https://host:port` or `http://...` of this request.
    pub request_origin: &'a str,
    /// The request's host with port.
    pub host: &'a str,
    /// Whether the request is HTTPS.
    pub secure: bool,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `Referer` header.
    pub referer: Option<&'a str>,
    /// The cookie secret.
    pub secret: Option<&'a str>,
    /// The token from the form (POST) or header, and which of the two it came from.
    pub token: Option<(&'a str, &'static str)>,
    /// Configured trusted origins.
    pub trusted_origins: &'a [String],
}

fn origin_is_trusted(origin: &str, trusted: &[String]) -> bool {
    let Ok(url) = url::Url::parse(origin) else { return false };
    let Some(host) = url.host_str() else { return false };
    let netloc = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    trusted.iter().any(|t| {
        if t == origin {
            return true;
        }
        let Some((scheme, rest)) = t.split_once("://") else { return false };
        match rest.strip_prefix('*') {
            Some(suffix) => scheme == url.scheme() && super::host::is_same_domain(&netloc, suffix),
            None => false,
        }
    })
}

/// Django's checks in Django's order; `Err` is the reason to log.
pub fn verify(e: &Evidence<'_>) -> Result<(), String> {
    verify_before_body(e)?;
    verify_token(e)
}

/// The checks that need no body: `Origin` (or `Referer` over HTTPS) and the cookie. The
/// request guard runs them before it reads a body, so a forged request is refused unread.
pub fn verify_before_body(e: &Evidence<'_>) -> Result<(), String> {
    if let Some(origin) = e.origin {
        if origin != e.request_origin && !origin_is_trusted(origin, e.trusted_origins) {
            return Err(format!("Origin checking failed - {origin} does not match any trusted origins."));
        }
    } else if e.secure {
        let referer = e.referer.ok_or("Referer checking failed - no Referer.")?;
        let url = url::Url::parse(referer).map_err(|_| "Referer checking failed - Referer is malformed.".to_owned())?;
        let Some(referer_host) = url.host_str() else {
            return Err("Referer checking failed - Referer is malformed.".into());
        };
        if url.scheme() != "https" {
            return Err("Referer checking failed - Referer is insecure while host is secure.".into());
        }
        let netloc = match url.port() {
            Some(port) => format!("{referer_host}:{port}"),
            None => referer_host.to_owned(),
        };
        let trusted = e.trusted_origins.iter().any(|t| {
            t.split_once("://").is_some_and(|(_, h)| {
                let h = h.strip_prefix('*').unwrap_or(h);
                super::host::is_same_domain(&netloc, h)
            })
        });
        if !trusted && !super::host::is_same_domain(&netloc, e.host) {
            return Err(format!("Referer checking failed - {referer} does not match any trusted origins."));
        }
    }
    e.secret.ok_or("CSRF cookie not set.")?;
    Ok(())
}

/// The token check (the token comes from the form body or the `X-CSRFToken` header).
pub fn verify_token(e: &Evidence<'_>) -> Result<(), String> {
    let secret = e.secret.ok_or("CSRF cookie not set.")?;
    let Some((token, source)) = e.token.filter(|(t, _)| !t.is_empty()) else {
        return Err("CSRF token missing.".into());
    };
    check_format(token).map_err(|why| format!("CSRF token from {source} {why}."))?;
    if !tokens_match(token, secret) {
        return Err(format!("CSRF token from {source} incorrect."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_round_trips_and_never_repeats() {
        let secret = random_string(SECRET_LENGTH, ALNUM);
        let (a, b) = (mask(&secret), mask(&secret));
        assert_eq!(a.len(), TOKEN_LENGTH);
        assert_ne!(a, b);
        assert_eq!(unmask(&a), secret);
        assert!(tokens_match(&a, &secret) && tokens_match(&b, &secret) && tokens_match(&secret, &secret));
        assert!(!tokens_match(&mask(&random_string(SECRET_LENGTH, ALNUM)), &secret));
    }

    #[test]
    fn token_formats_are_checked() {
        assert!(check_format(&"a".repeat(32)).is_ok());
        assert!(check_format(&"a".repeat(64)).is_ok());
        assert_eq!(check_format(&"a".repeat(33)), Err("has incorrect length"));
        assert_eq!(check_format(&format!("{}-", "a".repeat(31))), Err("has invalid characters"));
    }

    fn evidence<'a>(secret: &'a str, token: &'a str) -> Evidence<'a> {
        Evidence {
            request_origin: "https://example.com",
            host: "example.com",
            secure: true,
            origin: Some("https://example.com"),
            referer: None,
            secret: Some(secret),
            token: Some((token, "POST")),
            trusted_origins: &[],
        }
    }

    #[test]
    fn origins_must_match_or_be_trusted() {
        let secret = random_string(32, ALNUM);
        let token = mask(&secret);
        assert!(verify(&evidence(&secret, &token)).is_ok());
        for bad in
            ["https://evil.com", "null", "http://example.com", "https://example.com:444", "https://sub.example.com"]
        {
            let mut e = evidence(&secret, &token);
            e.origin = Some(bad);
            assert!(verify(&e).unwrap_err().starts_with("Origin checking failed"), "{bad}");
        }
        let trusted = vec!["https://*.example.org".to_owned(), "https://partner.com".to_owned()];
        for good in ["https://a.example.org", "https://partner.com"] {
            let mut e = evidence(&secret, &token);
            e.origin = Some(good);
            e.trusted_origins = &trusted;
            assert!(verify(&e).is_ok(), "{good}");
        }
    }

    #[test]
    fn https_without_origin_needs_a_good_referer() {
        let secret = random_string(32, ALNUM);
        let token = mask(&secret);
        let cases = [
            (None, "no Referer"),
            (Some("not a url"), "malformed"),
            (Some("http://example.com/x"), "insecure"),
            (Some("https://evil.com/x"), "does not match"),
        ];
        for (referer, why) in cases {
            let mut e = evidence(&secret, &token);
            e.origin = None;
            e.referer = referer;
            assert!(verify(&e).unwrap_err().contains(why), "{referer:?}");
        }
        let mut e = evidence(&secret, &token);
        e.origin = None;
        e.referer = Some("https://example.com/account/login/");
        assert!(verify(&e).is_ok());
        e.secure = false;
        e.referer = None;
        assert!(verify(&e).is_ok(), "plain HTTP does not check the Referer");
    }

    #[test]
    fn the_token_must_exist_be_well_formed_and_match() {
        let secret = random_string(32, ALNUM);
        let mut e = evidence(&secret, "");
        assert_eq!(verify(&e).unwrap_err(), "CSRF token missing.");
        let short = "abc";
        e.token = Some((short, "POST"));
        assert_eq!(verify(&e).unwrap_err(), "CSRF token from POST has incorrect length.");
        let other = mask(&random_string(32, ALNUM));
        e.token = Some((&other, "'X-CSRFToken' HTTP header"));
        assert_eq!(verify(&e).unwrap_err(), "CSRF token from 'X-CSRFToken' HTTP header incorrect.");
        e.secret = None;
        assert_eq!(verify(&e).unwrap_err(), "CSRF cookie not set.");
    }
}
