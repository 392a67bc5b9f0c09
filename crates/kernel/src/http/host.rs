//! `Host` header validation against `allowed_hosts` (Django's `ALLOWED_HOSTS`), and the
//! request's scheme.
//!
//! A request whose host is malformed or not allowed is answered 400 and logged; nothing else
//! runs, so a poisoned host can never reach an absolute URL such as a password-reset link.

use axum::extract::Request;
use axum::http::{HeaderMap, header};

use crate::config::Settings;

/// The validated host of a request, and whether it arrived over HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHost {
    /// Host with port as the client sent it, lower-cased (`example.com:8000`).
    pub host: String,
    /// Whether the request is HTTPS (TLS here or at a trusted proxy).
    pub secure: bool,
}

impl RequestHost {
    /// `https://example.com:8000` or `http://...`.
    pub fn origin(&self) -> String {
        format!("{}://{}", if self.secure { "https" } else { "http" }, self.host)
    }

    /// The scheme and host for absolute links (e-mails, feeds, sitemaps): `site.base_url` when
    /// it is set, else this request's (already validated) host.
    pub fn link_base(&self, settings: &Settings) -> (String, String) {
        if let Ok(url) = url::Url::parse(&settings.site.base_url) {
            let domain = match url.port() {
                Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                None => url.host_str().unwrap_or_default().to_owned(),
            };
            return (url.scheme().to_owned(), domain);
        }
        ((if self.secure { "https" } else { "http" }).to_owned(), self.host.clone())
    }

    /// `path` as an absolute URL (see [`RequestHost::link_base`]).
    pub fn absolute(&self, settings: &Settings, path: &str) -> String {
        let (scheme, domain) = self.link_base(settings);
        format!("{scheme}://{domain}{path}")
    }
}

/// Marks a request that arrived over TLS terminated by this process.
#[derive(Debug, Clone, Copy)]
pub struct TlsConnection;

/// Splits a host into domain and port after Django's validation pattern
/// `^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$`; `None` if it does not match.
pub fn split_domain_port(host: &str) -> Option<(String, String)> {
    let host = host.to_ascii_lowercase();
    let (domain, port) = if host.starts_with('[') {
        let close = host.find(']')?;
        let (domain, rest) = host.split_at(close + 1);
        let inner = &domain[1..domain.len() - 1];
        let colon = inner.find(':')?;
        let (head, tail) = inner.split_at(colon);
        let valid = head.bytes().all(|b| b.is_ascii_hexdigit())
            && tail.len() > 1
            && tail.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !valid {
            return None;
        }
        (domain.to_owned(), rest.to_owned())
    } else {
        let (domain, rest) = host.find(':').map_or((host.as_str(), ""), |i| host.split_at(i));
        if domain.is_empty()
            || !domain.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return None;
        }
        (domain.trim_end_matches('.').to_owned(), rest.to_owned())
    };
    let port = match port.strip_prefix(':') {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => digits.to_owned(),
        Some(_) => return None,
        None if port.is_empty() => String::new(),
        None => return None,
    };
    Some((domain, port))
}

/// Whether `host` equals `pattern`, or is a subdomain of it when `pattern` starts with a dot.
pub fn is_same_domain(host: &str, pattern: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix('.') {
        Some(base) => host.ends_with(&pattern) || host == base,
        None => host == pattern,
    }
}

/// The allowed hosts in effect: in debug an empty list means local addresses only.
pub fn effective_allowed_hosts(settings: &Settings) -> Vec<String> {
    if settings.allowed_hosts.is_empty() && settings.debug {
        vec![".localhost".into(), "127.0.0.1".into(), "[::1]".into()]
    } else {
        settings.allowed_hosts.clone()
    }
}

/// Validates the host of a request; `Err` carries the reason to log.
pub fn validate(
    headers: &HeaderMap,
    uri_host: Option<&str>,
    settings: &Settings,
    allowed: &[String],
) -> Result<String, String> {
    let raw = if settings.security.use_x_forwarded_host {
        headers.get("x-forwarded-host").and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or("").trim())
    } else {
        None
    }
    .or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()))
    .or(uri_host)
    .ok_or_else(|| "no Host header".to_owned())?;
    let (domain, _) = split_domain_port(raw).ok_or_else(|| format!("invalid HTTP_HOST header: {raw:?}"))?;
    if allowed.iter().any(|pattern| pattern == "*" || is_same_domain(&domain, pattern)) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(format!("invalid HTTP_HOST header: {raw:?}; add {domain:?} to allowed_hosts"))
    }
}

/// Whether a request counts as HTTPS.
pub fn is_secure(request: &Request, settings: &Settings) -> bool {
    match settings.proxy_ssl_header() {
        Some((name, value)) => {
            request.headers().get(name.as_str()).and_then(|v| v.to_str().ok()) == Some(value.as_str())
        }
        None => request.extensions().get::<TlsConnection>().is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Profile, Settings};
    use axum::http::HeaderValue;

    fn check(host: &str, allowed: &[&str]) -> bool {
        let mut settings = Settings::defaults(Profile::Production);
        settings.allowed_hosts = allowed.iter().map(|s| (*s).to_owned()).collect();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        let allowed = effective_allowed_hosts(&settings);
        validate(&h, None, &settings, &allowed).is_ok()
    }

    #[test]
    fn legitimate_hosts_pass() {
        let allowed = [
            "forward.com",
            "example.com",
            "internal.com",
            "12.34.56.78",
            "[2001:19f0:feee::dead:beef:cafe]",
            "xn--4ca9at.com",
            ".multitenant.com",
            "insensitive.com",
            "[::ffff:169.254.169.254]",
        ];
        for host in [
            "example.com",
            "example.com:80",
            "12.34.56.78",
            "12.34.56.78:443",
            "[2001:19f0:feee::dead:beef:cafe]",
            "[2001:19f0:feee::dead:beef:cafe]:8080",
            "xn--4ca9at.com",
            "anything.multitenant.com",
            "multitenant.com",
            "insensitive.com",
            "INSENSITIVE.com",
            "INSENSITIVE.COM",
            "[::ffff:169.254.169.254]",
            "example.com.",
        ] {
            assert!(check(host, &allowed), "{host} should pass");
        }
    }

    #[test]
    fn poisoned_hosts_fail() {
        let allowed = ["example.com", ".multitenant.com"];
        for host in [
            "example.com@evil.tld",
            "example.com:dr.frankenstein@evil.tld",
            "example.com:dr.frankenstein@evil.tld:80",
            "example.com:80/badpath",
            "example.com: recovermypassword.com",
            "other.com",
            "evilmultitenant.com",
            "[2001:19f0:feee::dead:beef:cafe]",
            "example.com:",
            "exa mple.com",
            "",
            "[::1",
            "example.com:8o",
        ] {
            assert!(!check(host, &allowed), "{host} should fail");
        }
    }

    #[test]
    fn debug_with_no_hosts_allows_local_addresses_only() {
        let mut settings = Settings::defaults(Profile::Development);
        settings.allowed_hosts.clear();
        let allowed = effective_allowed_hosts(&settings);
        for (host, ok) in [
            ("localhost:8000", true),
            ("app.localhost", true),
            ("127.0.0.1:8000", true),
            ("[::1]:8000", true),
            ("example.com", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
            assert_eq!(validate(&h, None, &settings, &allowed).is_ok(), ok, "{host}");
        }
    }

    #[test]
    fn x_forwarded_host_is_ignored_unless_trusted() {
        let mut settings = Settings::defaults(Profile::Production);
        settings.allowed_hosts = vec!["example.com".into()];
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("example.com"));
        h.insert("x-forwarded-host", HeaderValue::from_static("evil.com"));
        let allowed = effective_allowed_hosts(&settings);
        assert_eq!(validate(&h, None, &settings, &allowed).unwrap(), "example.com");
        settings.security.use_x_forwarded_host = true;
        assert!(validate(&h, None, &settings, &allowed).is_err());
    }
}
