//! The request guard: body, field and file limits, then CSRF verification.
//!
//! Runs on every page route (after routing, so it knows which routes are CSRF-exempt and which
//! take files). For an unsafe request it first runs every check that needs no body (the query
//! string's field count, `Content-Length` against the limits, the CSRF cookie and `Origin`,
//! whether the route takes files and the sender is signed in), then reads the body with
//! [`crate::http::body::read`] within the limits and the shared memory budget, then checks the CSRF
//! token. The form it read is handed to the handler as [`crate::forms::FormData`].

use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::CoreState;
use crate::error::Error;
use crate::http::body::{self, BodyKind};
use crate::http::csrf::{self, Csrf, Evidence};
use crate::http::host::RequestHost;

pub use crate::http::is_unsafe;

/// Middleware: limits, then CSRF for unsafe methods; sets the CSRF cookie when a token was used.
pub async fn layer(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    let csrf = Csrf::new(crate::http::cookies::get(request.headers(), csrf::COOKIE_NAME));
    let mut response = match guard(&core, &csrf, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if response.status().is_client_error() || response.status().is_server_error() {
        // The error page renders forms (the language switch) with this request's secret.
        response.extensions_mut().insert(csrf.clone());
    }
    if let Some(secret) = csrf.cookie_to_send() {
        set_cookie(&core, response.headers_mut(), &secret);
    }
    response
}

/// Adds the CSRF cookie carrying `secret` to a response.
pub fn set_cookie(core: &CoreState, headers: &mut axum::http::HeaderMap, secret: &str) {
    let cookie = crate::http::cookies::build(
        csrf::COOKIE_NAME,
        secret,
        Some(csrf::COOKIE_AGE),
        core.settings.security.csrf_cookie_secure,
        false,
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, value);
        crate::http::add_vary(headers, "Cookie");
    }
}

async fn guard(core: &CoreState, csrf: &Csrf, request: Request, next: Next) -> Result<Response, Error> {
    let limits = &core.settings.uploads;
    if request.uri().path().contains("%00") {
        // A NUL in a path segment names no page (and no database stores it as text).
        return Err(Error::NotFound);
    }
    if request.uri().query().is_some_and(|q| body::count_pairs(q) > limits.max_fields) {
        return Err(Error::bad_request(format!("Too many fields were sent (more than {}).", limits.max_fields)));
    }
    let (mut parts, request_body) = request.into_parts();
    parts.extensions.insert(csrf.clone());
    if !is_unsafe(&parts.method) {
        return Ok(next.run(Request::from_parts(parts, request_body)).await);
    }

    let pattern = parts.extensions.get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let exempt = core.urls().is_csrf_exempt(&pattern);
    let kind = body::body_kind(&parts.headers);
    let takes_files = core.urls().accepts_uploads(&pattern);
    let declared = body::content_length(&parts.headers);
    let user_id = match refuse_early(core, csrf, &parts, &kind, declared, exempt, takes_files).await {
        Ok(user_id) => user_id,
        Err(e) => {
            // Refused without its body: what the client is still sending is read and dropped
            // (within bounds), so it gets this answer instead of a reset connection.
            let limit = if takes_files { limits.max_request_bytes } else { limits.max_body_bytes };
            body::drain_refused(request_body, declared, limit).await;
            return Err(e);
        }
    };
    let temp_dir = core.settings.data_dir.join("tmp");
    let on_first_file = user_id.map(|id| -> futures_util::future::BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let key = format!("uploads:user:{id}");
            let limit = core.settings.uploads.uploads_per_user_per_hour;
            match core.limiter.take(&key, limit, chrono::Duration::hours(1), core.now()).await? {
                Ok(_) => Ok(()),
                Err(retry_after) => {
                    tracing::warn!(target: "quartet::security", user_id = id, "upload refused: hourly limit reached");
                    Err(Error::TooManyRequests {
                        retry_after,
                        message: "You have sent too many files in the last hour. Please try again later.",
                    })
                }
            }
        })
    });
    let read = body::read(
        &kind,
        request_body,
        limits,
        &core.bodies,
        Duration::from_secs(core.settings.server.body_read_timeout_seconds),
        body::UploadContext { temp_dir: &temp_dir, on_first_file },
    )
    .await?;
    if !exempt {
        let form_token = read.form.as_ref().and_then(|f| f.get(csrf::FORM_FIELD)).map(ToOwned::to_owned);
        check(core, &parts, csrf, form_token.as_deref(), csrf::verify_token)?;
    }
    if let Some(form) = read.form {
        parts.extensions.insert(form);
    }
    Ok(next.run(Request::from_parts(parts, Body::from(read.raw))).await)
}

/// Every check of an unsafe request that needs no body: the CSRF cookie and `Origin`, whether
/// the route takes files (and the sender is signed in to send them), the `declared`
/// `Content-Length` against the limits. Returns the signed-in user of a multipart request.
async fn refuse_early(
    core: &CoreState,
    csrf: &Csrf,
    parts: &axum::http::request::Parts,
    kind: &BodyKind,
    declared: Option<u64>,
    exempt: bool,
    takes_files: bool,
) -> Result<Option<i64>, Error> {
    let limits = &core.settings.uploads;
    if !exempt {
        check(core, parts, csrf, None, csrf::verify_before_body)?;
    }
    match kind {
        BodyKind::Multipart(_) => {
            if !takes_files {
                return Err(Error::UnsupportedMediaType(
                    "This address does not accept files; send the form as application/x-www-form-urlencoded.",
                ));
            }
            if declared.is_some_and(|n| n > limits.max_request_bytes as u64) {
                return Err(Error::PayloadTooLarge {
                    message: "The upload is too large (at most {size} in all).",
                    limit: limits.max_request_bytes as u64,
                });
            }
            let session = parts.extensions.get::<crate::session::Session>().cloned();
            let user_id = match session {
                Some(session) => crate::auth::session_user_id(&session).await?,
                None => None,
            };
            if user_id.is_none() {
                return Err(Error::forbidden("Sign in to send files."));
            }
            Ok(user_id)
        }
        _ if declared.is_some_and(|n| n > limits.max_body_bytes as u64) => Err(Error::PayloadTooLarge {
            message: "The request is too large (at most {size}).",
            limit: limits.max_body_bytes as u64,
        }),
        _ => Ok(None),
    }
}

fn check(
    core: &CoreState,
    parts: &axum::http::request::Parts,
    csrf: &Csrf,
    form_token: Option<&str>,
    verify: fn(&Evidence<'_>) -> Result<(), String>,
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
    verify(&evidence).map_err(|reason| {
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
    fn safe_methods_are_never_checked() {
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(!is_unsafe(&m));
        }
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_unsafe(&m));
        }
    }
}
