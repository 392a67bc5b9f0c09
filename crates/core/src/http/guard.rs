//! The request guard: body, field and file limits, then CSRF verification.
//!
//! Runs on every page route (after routing, so it knows which routes are CSRF-exempt). Bodies
//! of unsafe requests are read into memory within the configured limits: 2.5 MiB without files
//! (413 beyond), `uploads.max_upload_bytes` with files, at most `uploads.max_fields` fields and
//! `uploads.max_files` files (400 beyond). The query string is limited to the same number of
//! fields. The form token is taken from the buffered body, which is then handed on unchanged.

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::csrf::{self, Csrf, Evidence};
use super::host::RequestHost;
use crate::config::UploadSettings;
use crate::error::Error;
use crate::state::CoreState;

/// Whether a method may change state.
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Counts `a=1&b=2` pairs.
fn count_pairs(query: &str) -> usize {
    query.split('&').filter(|p| !p.is_empty()).count()
}

enum BodyKind {
    UrlEncoded,
    Multipart(String),
    Other,
}

fn body_kind(headers: &axum::http::HeaderMap) -> BodyKind {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => BodyKind::UrlEncoded,
        "multipart/form-data" => multer::parse_boundary(content_type).map_or(BodyKind::Other, BodyKind::Multipart),
        _ => BodyKind::Other,
    }
}

async fn read_limited(body: Body, limit: usize) -> Result<Bytes, Error> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            Error::PayloadTooLarge(format!("The request body is larger than the {limit} bytes allowed."))
        } else {
            Error::bad_request("The request body could not be read.")
        }
    })
}

/// Reads an unsafe request's body within the limits; returns it and the form's CSRF token.
async fn read_body(kind: &BodyKind, body: Body, limits: &UploadSettings) -> Result<(Bytes, Option<String>), Error> {
    match kind {
        BodyKind::UrlEncoded => {
            let bytes = read_limited(body, limits.max_body_bytes).await?;
            let text =
                std::str::from_utf8(&bytes).map_err(|_| Error::bad_request("The form data is not valid UTF-8."))?;
            if count_pairs(text) > limits.max_fields {
                return Err(Error::bad_request(format!(
                    "Too many fields were sent (more than {}).",
                    limits.max_fields
                )));
            }
            let token =
                url::form_urlencoded::parse(&bytes).find(|(k, _)| k == csrf::FORM_FIELD).map(|(_, v)| v.into_owned());
            Ok((bytes, token))
        }
        BodyKind::Multipart(boundary) => {
            let bytes = read_limited(body, limits.max_upload_bytes).await?;
            let copy = bytes.clone();
            let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(copy) });
            let mut multipart = multer::Multipart::new(stream, boundary.clone());
            let (mut fields, mut files, mut data_bytes, mut token) = (0usize, 0usize, 0usize, None);
            let malformed = |_| Error::bad_request("The multipart form data is malformed.");
            while let Some(field) = multipart.next_field().await.map_err(malformed)? {
                let is_file = field.file_name().is_some();
                let name = field.name().unwrap_or_default().to_owned();
                let content = field.bytes().await.map_err(malformed)?;
                if is_file {
                    files += 1;
                    if files > limits.max_files {
                        return Err(Error::bad_request(format!(
                            "Too many files were sent (more than {}).",
                            limits.max_files
                        )));
                    }
                } else {
                    fields += 1;
                    data_bytes += content.len();
                    if fields > limits.max_fields {
                        return Err(Error::bad_request(format!(
                            "Too many fields were sent (more than {}).",
                            limits.max_fields
                        )));
                    }
                    if data_bytes > limits.max_body_bytes {
                        return Err(Error::PayloadTooLarge(format!(
                            "The form data is larger than the {} bytes allowed.",
                            limits.max_body_bytes
                        )));
                    }
                    if name == csrf::FORM_FIELD && token.is_none() {
                        token = Some(String::from_utf8_lossy(&content).into_owned());
                    }
                }
            }
            Ok((bytes, token))
        }
        BodyKind::Other => Ok((read_limited(body, limits.max_body_bytes).await?, None)),
    }
}

/// Middleware: limits, then CSRF for unsafe methods; sets the CSRF cookie when a token was used.
pub async fn layer(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    match guard(&core, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn guard(core: &CoreState, request: Request, next: Next) -> Result<Response, Error> {
    let limits = &core.settings.uploads;
    if request.uri().query().is_some_and(|q| count_pairs(q) > limits.max_fields) {
        return Err(Error::bad_request(format!("Too many fields were sent (more than {}).", limits.max_fields)));
    }
    let csrf = Csrf::new(super::cookies::get(request.headers(), csrf::COOKIE_NAME));
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(csrf.clone());

    let request = if is_unsafe(&parts.method) {
        let kind = body_kind(&parts.headers);
        let (bytes, form_token) = read_body(&kind, body, limits).await?;
        let exempt = parts.extensions.get::<MatchedPath>().is_some_and(|p| core.urls().is_csrf_exempt(p.as_str()));
        if !exempt {
            check(core, &parts, &csrf, form_token.as_deref())?;
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        Request::from_parts(parts, body)
    };

    let mut response = next.run(request).await;
    if let Some(secret) = csrf.cookie_to_send() {
        let cookie = super::cookies::build(
            csrf::COOKIE_NAME,
            &secret,
            Some(csrf::COOKIE_AGE),
            core.settings.security.csrf_cookie_secure,
            false,
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
            super::add_vary(response.headers_mut(), "Cookie");
        }
    }
    Ok(response)
}

fn check(
    core: &CoreState,
    parts: &axum::http::request::Parts,
    csrf: &Csrf,
    form_token: Option<&str>,
) -> Result<(), Error> {
    let host =
        parts.extensions.get::<RequestHost>().cloned().unwrap_or(RequestHost { host: String::new(), secure: false });
    let header_value = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let secret = csrf.secret();
    let header_token = header_value(csrf::HEADER);
    let token = match form_token.filter(|t| !t.is_empty() && parts.method == Method::POST) {
        Some(t) => Some((t, "POST")),
        None => header_token.map(|t| (t, "'X-CSRFToken' HTTP header")),
    };
    let request_origin = host.origin();
    let evidence = Evidence {
        request_origin: &request_origin,
        host: &host.host,
        secure: host.secure,
        origin: header_value("origin"),
        referer: header_value("referer"),
        secret: secret.as_deref(),
        token,
        trusted_origins: &core.settings.security.csrf_trusted_origins,
    };
    csrf::verify(&evidence).map_err(|reason| {
        tracing::warn!(target: "quartet::security::csrf", %reason, method = %parts.method, path = %parts.uri.path(), "CSRF verification failed");
        let mut message = "CSRF verification failed. Request aborted.".to_owned();
        if core.settings.debug {
            message.push_str(&format!(" Reason: {reason}"));
        }
        Error::Forbidden(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_counted_like_django_counts_fields() {
        assert_eq!(count_pairs(""), 0);
        assert_eq!(count_pairs("a=1&b=2&&c"), 3);
    }

    #[test]
    fn safe_methods_are_never_checked() {
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(!is_unsafe(&m));
        }
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_unsafe(&m));
        }
    }
}
