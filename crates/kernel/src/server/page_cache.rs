//! Whole responses from the cache: the per-view cache (`cache_page` on a route, Django's
//! `@cache_page`) and the per-site cache (every anonymous page, Django's
//! `UpdateCacheMiddleware`/`FetchFromCacheMiddleware`).
//!
//! A response is kept only when it is a `200` to `GET` or `HEAD`, sets no cookie, says
//! neither `Cache-Control: private` nor `no-store`, and showed no flash message. Its key holds the
//! URL, the page's language, the values of the request headers its `Vary` names (learnt from
//! the first response for the URL, as Django does), and the version of the [`PAGES`] namespace,
//! which every committed change bumps: a cached page is never older than the data.
//!
//! The per-site cache takes anonymous visitors only (no session cookie) and never keeps a page
//! that carries a CSRF token. The per-view cache also serves signed-in users, each their own
//! copy, and keeps a page with a token per `Cookie` (so the token on it is the visitor's).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::CoreState;
use crate::cache::PAGES;
use crate::http::Personal;
use crate::http::csrf::Csrf;

/// The largest response kept (bodies are read into memory to be kept).
pub const MAX_CACHED_BYTES: usize = 2 * 1024 * 1024;

/// Which cache a response goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    View,
    Site,
}

/// What the per-view layer runs: the site and the seconds a response is kept.
type ViewState = (CoreState, u64);
/// The per-view layer's function.
type PerView = fn(State<ViewState>, Request, Next) -> futures_util::future::BoxFuture<'static, Response>;
/// The layer [`cache_page`] gives.
pub type CachePage = axum::middleware::FromFnLayer<PerView, ViewState, (State<ViewState>, Request)>;

/// The per-view cache of a route for `seconds` (`cache.view_seconds` when `None`), as a layer:
/// `get(views::post_feed).layer(server::cache_page(core, None))`.
pub fn cache_page(core: &CoreState, seconds: Option<u64>) -> CachePage {
    let seconds = seconds.unwrap_or(core.settings.cache.view_seconds);
    let per_view: PerView =
        |State((core, seconds)), request, next| Box::pin(cached(core, Level::View, seconds, request, next));
    axum::middleware::from_fn_with_state((core.clone(), seconds), per_view)
}

/// The per-site layer (`cache.site_seconds`), put around every page by the server.
pub(crate) async fn site(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    let seconds = core.settings.cache.site_seconds;
    if seconds == 0 {
        return next.run(request).await;
    }
    cached(core, Level::Site, seconds, request, next).await
}

/// The key of the header list learnt for `url`, and of a response for given header values.
fn keys(core: &CoreState, level: Level, base: &str, version: u64, vary_values: Option<&str>) -> String {
    let level = if level == Level::View { "view" } else { "site" };
    let rest = match vary_values {
        None => format!("{level}:headers:{base}"),
        Some(values) => format!("{level}:page:{base}:{values}"),
    };
    crate::cache::key_for(core.cache.prefix(), &[PAGES], &[version], &rest)
}

/// The values of `names` in `headers`, hashed (a `Cookie` value never appears in a key).
fn vary_values(headers: &HeaderMap, names: &[String]) -> String {
    let joined = names
        .iter()
        .map(|name| headers.get(name.as_str()).and_then(|v| v.to_str().ok()).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\u{1f}");
    crate::crypto::sha256_hex(joined.as_bytes())
}

async fn cached(core: CoreState, level: Level, seconds: u64, mut request: Request, next: Next) -> Response {
    if seconds == 0 || !(request.method() == Method::GET || request.method() == Method::HEAD) {
        return next.run(request).await;
    }
    let session_cookie = crate::http::cookies::get(request.headers(), &core.settings.session.cookie_name);
    if level == Level::Site && session_cookie.is_some() {
        return next.run(request).await;
    }
    let Some(version) = core.cache.versions(&[PAGES]).await.map(|v| v[0]) else {
        return next.run(request).await;
    };
    let lang = request.extensions().get::<crate::i18n::Locale>().map(|l| l.0.clone()).unwrap_or_default();
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("").to_owned();
    let url = request.uri().path_and_query().map_or_else(|| request.uri().path().to_owned(), |p| p.as_str().to_owned());
    // The per-view cache keeps a copy per signed-in session, hashed with the site's secret: no
    // session key appears in the cache's keys.
    let who = match (level, session_cookie) {
        (Level::View, Some(session)) => {
            crate::crypto::salted_hmac_hex("quartet.page_cache", &session, core.settings.secret_key.expose())
        }
        _ => String::new(),
    };
    let base = format!("{host}{url}|{lang}|{who}|{}", request.method());
    let headers_key = keys(&core, level, &base, version, None);
    if let Some(names) = core.cache.get_bytes(&headers_key).await
        && let Ok(names) = serde_json::from_slice::<Vec<String>>(&names)
        && let Some(stored) = core
            .cache
            .get_bytes(&keys(&core, level, &base, version, Some(&vary_values(request.headers(), &names))))
            .await
        && let Some(response) = decode(&stored)
    {
        return response;
    }

    let personal = Personal::default();
    request.extensions_mut().insert(personal.clone());
    let csrf = request.extensions().get::<Csrf>().cloned();
    let request_headers = request.headers().clone();
    let response = next.run(request).await;
    if !keepable(&response, &personal, level, csrf.as_ref()) {
        return response;
    }
    // Only a body of known length within the bound is read to be kept; others pass through.
    let length = axum::body::HttpBody::size_hint(response.body()).exact();
    if length.is_none_or(|n| n > MAX_CACHED_BYTES as u64) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_CACHED_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut names: Vec<String> = parts
        .headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    // A page with a CSRF token is its visitor's: kept per cookie (as Django's `Vary: Cookie`).
    if csrf.as_ref().is_some_and(Csrf::was_used) && !names.iter().any(|n| n == "cookie") {
        names.push("cookie".to_owned());
    }
    if !names.iter().any(|n| n == "*") {
        let ttl = Duration::from_secs(seconds);
        let names_json = serde_json::to_vec(&names).unwrap_or_default();
        core.cache.set_bytes(&headers_key, Bytes::from(names_json), ttl).await;
        let key = keys(&core, level, &base, version, Some(&vary_values(&request_headers, &names)));
        core.cache.set_bytes(&key, encode(parts.status, &parts.headers, &bytes), ttl).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Whether a response may be kept.
fn keepable(response: &Response, personal: &Personal, level: Level, csrf: Option<&Csrf>) -> bool {
    if response.status() != StatusCode::OK || personal.is_marked() {
        return false;
    }
    let headers = response.headers();
    // A cookie set here, or by the CSRF layer around this one (a new secret), is the visitor's.
    if headers.contains_key(header::SET_COOKIE) || csrf.is_some_and(|c| c.cookie_to_send().is_some()) {
        return false;
    }
    let private = headers.get_all(header::CACHE_CONTROL).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|d| matches!(d.trim().to_ascii_lowercase().as_str(), "private" | "no-store" | "no-cache"))
    });
    if private {
        return false;
    }
    // A page with a CSRF token is for its visitor: never shared by the per-site cache.
    !(level == Level::Site && csrf.is_some_and(Csrf::was_used))
}

/// Headers not kept with a response (they are the connection's, or made per request).
fn kept(name: &HeaderName) -> bool {
    !matches!(name.as_str(), "content-length" | "date" | "connection" | "transfer-encoding" | "set-cookie")
}

/// `status (2 bytes) | header count (2) | (name length (2), name, value length (2), value)* | body`.
fn encode(status: StatusCode, headers: &HeaderMap, body: &Bytes) -> Bytes {
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(&status.as_u16().to_be_bytes());
    let kept: Vec<(&HeaderName, &HeaderValue)> = headers.iter().filter(|(name, _)| kept(name)).collect();
    out.extend_from_slice(&u16::try_from(kept.len()).unwrap_or(0).to_be_bytes());
    for (name, value) in kept {
        for part in [name.as_str().as_bytes(), value.as_bytes()] {
            out.extend_from_slice(&u16::try_from(part.len()).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out.extend_from_slice(body);
    Bytes::from(out)
}

fn decode(stored: &Bytes) -> Option<Response> {
    let mut at = 0;
    let mut take = |n: usize| -> Option<&[u8]> {
        let part = stored.get(at..at + n)?;
        at += n;
        Some(part)
    };
    let u16_of = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    let status = StatusCode::from_u16(u16_of(take(2)?)).ok()?;
    let count = u16_of(take(2)?);
    let mut headers = HeaderMap::new();
    for _ in 0..count {
        let name_len = usize::from(u16_of(take(2)?));
        let name = HeaderName::from_bytes(take(name_len)?).ok()?;
        let value_len = usize::from(u16_of(take(2)?));
        let value = HeaderValue::from_bytes(take(value_len)?).ok()?;
        headers.append(name, value);
    }
    let body = stored.slice(at..);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_kept_and_read_back_whole() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        headers.append(header::VARY, HeaderValue::from_static("Cookie"));
        headers.append(header::VARY, HeaderValue::from_static("Accept-Language"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        let stored = encode(StatusCode::OK, &headers, &Bytes::from_static(b"<p>hi</p>"));
        let response = decode(&stored).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get_all(header::VARY).iter().count(), 2);
        assert!(response.headers().get(header::CONTENT_LENGTH).is_none(), "made again for the body");
        assert!(decode(&Bytes::from_static(b"\x00")).is_none(), "a short record is no response");
        assert!(decode(&stored.slice(..10)).is_none());
    }
}
