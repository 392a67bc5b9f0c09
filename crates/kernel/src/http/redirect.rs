//! Open-redirect protection for `next` parameters (Django's `url_has_allowed_host_and_scheme`).

/// Whether redirecting to `url` stays on `allowed_host` (host with port) with an allowed scheme.
///
/// Relative paths pass; absolute URLs must name `allowed_host`. Scheme-relative URLs,
/// backslash tricks, `///`, schemes without a host, other schemes such as `javascript:`, and
/// URLs with control characters or other bytes a `Location` header cannot carry fail.
pub fn is_safe(url: &str, allowed_host: &str, require_https: bool) -> bool {
    let url = url.trim();
    // Only what a `Location` header can carry: printable ASCII (browsers send links
    // percent-encoded). A control character or anything else is an unsafe `next`, never a 500.
    if url.is_empty() || !url.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return false;
    }
    // Browsers treat `\` like `/`; both readings must be safe.
    check(url, allowed_host, require_https) && check(&url.replace('\\', "/"), allowed_host, require_https)
}

fn check(url: &str, allowed_host: &str, require_https: bool) -> bool {
    if url.starts_with("///") {
        return false;
    }
    if url.chars().next().is_some_and(char::is_control) {
        return false;
    }
    let Some(parts) = split(url) else { return false };
    if parts.netloc.is_empty() && !parts.scheme.is_empty() {
        return false;
    }
    let scheme = if parts.scheme.is_empty() && !parts.netloc.is_empty() { "http" } else { parts.scheme.as_str() };
    let schemes: &[&str] = if require_https { &["https"] } else { &["http", "https"] };
    (parts.netloc.is_empty() || parts.netloc.eq_ignore_ascii_case(allowed_host))
        && (scheme.is_empty() || schemes.contains(&scheme))
}

struct Split {
    scheme: String,
    netloc: String,
}

/// Python's `urlsplit` as far as scheme and netloc go; `None` where it raises.
fn split(url: &str) -> Option<Split> {
    let url: String =
        url.trim_start_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\r' | '\n')).collect();
    let mut rest = url.as_str();
    let mut scheme = String::new();
    if let Some(i) = rest.find(':') {
        let candidate = &rest[..i];
        let first_ok = candidate.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if i > 0 && first_ok && candidate.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
            scheme = candidate.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let mut netloc = String::new();
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = after[..end].to_owned();
        let (open, close) = (netloc.contains('['), netloc.contains(']'));
        if open != close {
            return None;
        }
    }
    Some(Split { scheme, netloc })
}

#[cfg(test)]
mod tests {
    use super::is_safe;

    const HOST: &str = "testserver";

    #[test]
    fn bad_urls_are_refused() {
        let bad = [
            "http://example.com",
            "http:///example.com",
            "https://example.com",
            "ftp://example.com",
            r"\\example.com",
            r"\\\example.com",
            r"/\\/example.com",
            r"\\\example.com",
            r"\\example.com",
            r"\\//example.com",
            r"/\/example.com",
            r"\/example.com",
            r"/\example.com",
            "http:///example.com",
            r"http:/\//example.com",
            r"http:\/example.com",
            r"http:/\example.com",
            "javascript:alert(\"XSS\")",
            "\njavascript:alert(x)",
            "java\nscript:alert(x)",
            "\x08//example.com",
            r"http://otherserver\@example.com",
            r"http:\\testserver\@example.com",
            r"http://testserver\me:pass@example.com",
            r"http://testserver\@example.com",
            r"http:\\testserver\confirm\me@example.com",
            "http:999999999",
            "ftp:9999999999",
            "\n",
            "http://[2001:cdba:0000:0000:0000:0000:3257:9652/",
            "http://2001:cdba:0000:0000:0000:0000:3257:9652]/",
            "//example.com/path",
            "///example.com",
            "data:text/html,<script>alert(1)</script>",
            "\t//example.com",
            "",
            "   ",
            "/account/\x01",
            "/a\rb",
            "/a\x7fb",
            "/caf\u{e9}/",
        ];
        for url in bad {
            assert!(!is_safe(url, HOST, false), "{url:?} should be refused");
        }
    }

    #[test]
    fn good_urls_are_kept() {
        let good = [
            "/view/?param=http://example.com",
            "/view/?param=https://example.com",
            "/view?param=ftp://example.com",
            "view/?param=//example.com",
            "https://testserver/",
            "HTTPS://testserver/",
            "//testserver/",
            "http://testserver/confirm?email=me@example.com",
            "/url%20with%20spaces/",
            "path/http:2222222222",
            "/account/",
            "?page=2",
        ];
        for url in good {
            assert!(is_safe(url, HOST, false), "{url:?} should be kept");
        }
    }

    #[test]
    fn https_can_be_required() {
        assert!(is_safe("https://testserver/", HOST, true));
        assert!(!is_safe("http://testserver/", HOST, true));
        assert!(!is_safe("//testserver/", HOST, true));
        assert!(is_safe("/relative/", HOST, true));
    }
}
