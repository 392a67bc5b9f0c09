//! Reading and writing cookies.

use axum::http::{HeaderMap, header};
use cookie::{Cookie, SameSite};

/// The value of the first cookie named `name`.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value with `Path=/` and `SameSite=Lax`; `max_age` 0 deletes the cookie.
pub fn build(name: &str, value: &str, max_age: Option<u64>, secure: bool, http_only: bool) -> String {
    let mut cookie = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .same_site(SameSite::Lax)
        .secure(secure)
        .http_only(http_only);
    if let Some(age) = max_age {
        cookie = cookie.max_age(cookie::time::Duration::seconds(i64::try_from(age).unwrap_or(i64::MAX)));
    }
    cookie.build().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; sessionid=abc"));
        h.append(header::COOKIE, HeaderValue::from_static("csrftoken=xyz"));
        assert_eq!(get(&h, "sessionid").as_deref(), Some("abc"));
        assert_eq!(get(&h, "csrftoken").as_deref(), Some("xyz"));
        assert_eq!(get(&h, "nope"), None);
    }

    #[test]
    fn built_cookies_carry_the_attributes() {
        let c = build("sessionid", "k", Some(1_209_600), true, true);
        for part in ["sessionid=k", "Path=/", "SameSite=Lax", "Secure", "HttpOnly", "Max-Age=1209600"] {
            assert!(c.contains(part), "{c} lacks {part}");
        }
        assert!(!build("csrftoken", "k", None, false, false).contains("HttpOnly"));
    }
}
