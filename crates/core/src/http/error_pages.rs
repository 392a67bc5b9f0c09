//! Turns error responses into pages in the site's style (or JSON under `/api/`), and adds the
//! missing trailing slash to addresses that only exist with one (Django's `APPEND_SLASH`).
//!
//! A response is rewritten when its status is 4xx or 5xx and it either carries an
//! [`ErrorDetail`] (from [`Error`]) or has no HTML/JSON body of its own (axum's plain-text
//! rejections, 404 and 405). Headers such as `Allow` and `Retry-After` are kept.

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{Error, ErrorDetail};
use crate::state::CoreState;
use crate::templates::PageContext;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageContext,
    status: u16,
    title: String,
    message: String,
}

fn default_detail(status: StatusCode) -> ErrorDetail {
    let error = match status {
        StatusCode::NOT_FOUND => Error::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge("The request body is too large.".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::bad_request("The request's content type is not accepted here."),
        StatusCode::FORBIDDEN => Error::forbidden("You do not have permission to see this page."),
        StatusCode::UNAUTHORIZED => Error::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => Error::TooManyRequests { retry_after: 60 },
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => {
            Error::Unavailable("timeout".into())
        }
        s if s.is_server_error() => Error::internal(anyhow::anyhow!("status {s} without detail")),
        _ => Error::bad_request("The request could not be understood."),
    };
    let response = error.into_response();
    response.extensions().get::<ErrorDetail>().cloned().expect("errors carry a detail")
}

fn title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "Bad request (400)",
        StatusCode::UNAUTHORIZED => "Sign-in required (401)",
        StatusCode::FORBIDDEN => "Forbidden (403)",
        StatusCode::NOT_FOUND => "Page not found (404)",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed (405)",
        StatusCode::PAYLOAD_TOO_LARGE => "Request too large (413)",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests (429)",
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable (503)",
        s if s.is_server_error() => "Server error (500)",
        _ => "Request error",
    }
}

/// Middleware: styled error pages and the trailing-slash redirect.
pub async fn layer(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(ToOwned::to_owned);
    let method = request.method().clone();
    let lang = crate::i18n::choose_language(&core, request.headers(), &path);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if status == StatusCode::NOT_FOUND
        && matches!(method, Method::GET | Method::HEAD)
        && !path.ends_with('/')
        && core.urls().matches(&format!("{path}/"))
    {
        let target = match &query {
            Some(q) => format!("{path}/?{q}"),
            None => format!("{path}/"),
        };
        // 301 like Django's APPEND_SLASH (only GET and HEAD get here).
        return match HeaderValue::from_str(&target) {
            Ok(location) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response(),
            Err(_) => Error::NotFound.into_response(),
        };
    }
    let detail = response.extensions().get::<ErrorDetail>().cloned();
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let own_body = content_type.starts_with("text/html") || content_type.starts_with("application/json");
    if detail.is_none() && own_body {
        return response;
    }
    let detail = detail.unwrap_or_else(|| default_detail(status));
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if path.starts_with("/api/") {
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Body::from(serde_json::json!({ "detail": detail.message, "code": detail.code }).to_string())
    } else {
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        let ctx = PageContext::bare(core.clone(), path, lang);
        let page = ErrorPage {
            status: status.as_u16(),
            title: ctx.t(title(status)).to_owned(),
            message: ctx.t(&detail.message).to_owned(),
            ctx,
        };
        match page.render() {
            Ok(html) => Body::from(html),
            Err(e) => {
                tracing::error!(error = %e, "the error page could not be rendered");
                Body::from(format!("{}\n", title(status)))
            }
        }
    };
    Response::from_parts(parts, body)
}
