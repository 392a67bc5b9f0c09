//! Turns error responses into pages in the site's style (or JSON under `/api/`), and adds the
//! missing trailing slash to addresses that only exist with one (Django's `APPEND_SLASH`).
//!
//! A response is rewritten when its status is 4xx or 5xx and it either carries an
//! [`ErrorDetail`] (from [`Error`]) or has no HTML/JSON body of its own (axum's plain-text
//! rejections, 404 and 405). Headers such as `Allow` and `Retry-After` are kept.
//!
//! The page knows who is asking: the signed-in user's header and the language switch are
//! there as on any page (the session is read from its cookie, never changed), and an error
//! under the mount point of an app that contributed an [`ErrorLayout`] (the admin's `/admin/`)
//! is shown in that app's layout.

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::CoreState;
use crate::error::{Error, ErrorDetail};
use crate::http::csrf::{self, Csrf};
use crate::session::Session;
use crate::templates::PageContext;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageContext,
    status: u16,
    title: String,
    message: String,
    retry: String,
}

impl From<ErrorContent> for ErrorPage {
    fn from(c: ErrorContent) -> Self {
        Self { ctx: c.ctx, status: c.status, title: c.title, message: c.message, retry: c.retry }
    }
}

/// What an error page shows, for an [`ErrorLayout`] to lay out.
#[derive(Debug)]
pub struct ErrorContent {
    /// The page's context (user, language, CSRF token).
    pub ctx: PageContext,
    /// The HTTP status (`404`).
    pub status: u16,
    /// The translated title ("Page not found (404)").
    pub title: String,
    /// The translated explanation.
    pub message: String,
    /// When to try again (429 only), or empty.
    pub retry: String,
}

/// An app's own layout for the error pages under its mount point, contributed with
/// `app.add(ErrorLayout { … })` (the admin shows its errors in the admin's frame). The longest
/// matching mount point wins; elsewhere the site's `error.html` is used.
#[derive(Debug, Clone, Copy)]
pub struct ErrorLayout {
    /// Renders the page.
    pub render: fn(ErrorContent) -> askama::Result<String>,
}

fn default_detail(status: StatusCode) -> ErrorDetail {
    let error = match status {
        StatusCode::NOT_FOUND => Error::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => {
            Error::PayloadTooLarge { message: "The request is too large (at most {size}).", limit: 2_621_440 }
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::bad_request("The request's content type is not accepted here."),
        StatusCode::FORBIDDEN => Error::forbidden("You do not have permission to see this page."),
        StatusCode::UNAUTHORIZED => Error::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => Error::too_many(60),
        StatusCode::REQUEST_TIMEOUT => Error::RequestTimeout,
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
        StatusCode::REQUEST_TIMEOUT => "Request timeout (408)",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type (415)",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests (429)",
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable (503)",
        s if s.is_server_error() => "Server error (500)",
        _ => "Request error",
    }
}

/// A response marked with this extension keeps its own body (health checks answer in plain text).
#[derive(Debug, Clone, Copy)]
pub struct OwnBody;

/// Middleware: styled error pages and the trailing-slash redirect.
pub async fn layer(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(ToOwned::to_owned);
    let method = request.method().clone();
    let lang = crate::i18n::choose_language(&core.i18n, &core.settings.i18n.cookie_name, request.headers(), &path);
    let mut cookies = axum::http::HeaderMap::new();
    for value in request.headers().get_all(header::COOKIE) {
        cookies.append(header::COOKIE, value.clone());
    }
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
    if response.extensions().get::<OwnBody>().is_some() {
        return response;
    }
    let detail = response.extensions().get::<ErrorDetail>().cloned();
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let own_body = content_type.starts_with("text/html") || content_type.starts_with("application/json");
    if detail.is_none() && own_body {
        return response;
    }
    let detail = detail.unwrap_or_else(|| default_detail(status));
    let inner_session = response.extensions().get::<Session>().cloned();
    let inner_csrf = response.extensions().get::<Csrf>().cloned();
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if path.starts_with("/api/") {
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let message = crate::i18n::fill(&detail.message, &args(&detail));
        Body::from(serde_json::json!({ "detail": message, "code": detail.code }).to_string())
    } else {
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        let csrf = inner_csrf.unwrap_or_else(|| Csrf::new(crate::http::cookies::get(&cookies, csrf::COOKIE_NAME)));
        let session = inner_session.or_else(|| crate::server::from_cookie(&core, &cookies));
        let user = match &session {
            // Only to show who is signed in: a failure here leaves the page anonymous.
            Some(session) => crate::auth::user_of_session(&core, session).await.ok().flatten(),
            None => None,
        };
        // Without flash messages (they wait for the next real page), with the header's items.
        let ctx = PageContext::for_error(core.clone(), path.clone(), lang, user, csrf.clone())
            .with_session(session)
            .with_extras()
            .await;
        let layout =
            core.urls().owner(&path, core.registry.contributions::<ErrorLayout>().iter().map(|c| (c.app, c.item)));
        let html = render_page(ctx, status, &detail, layout);
        if let Some(secret) = csrf.cookie_to_send() {
            let already = parts
                .headers
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v.starts_with(&format!("{}=", csrf::COOKIE_NAME))));
            if !already {
                super::guard::set_cookie(&core, &mut parts.headers, &secret);
            }
        }
        Body::from(html)
    };
    Response::from_parts(parts, body)
}

fn args(detail: &ErrorDetail) -> Vec<(&str, &(dyn std::fmt::Display + Sync))> {
    detail.args.iter().map(|(name, value)| (*name, value as &(dyn std::fmt::Display + Sync))).collect()
}

fn render_page(ctx: PageContext, status: StatusCode, detail: &ErrorDetail, layout: Option<ErrorLayout>) -> String {
    let title_text = ctx.t(title(status)).to_owned();
    let message = crate::i18n::fill(ctx.t(&detail.message), &args(detail));
    let retry = match detail.retry_after {
        Some(seconds) if status == StatusCode::TOO_MANY_REQUESTS && seconds >= 60 => ctx.tr().n(
            "You can try again in {n} minute.",
            "You can try again in {n} minutes.",
            seconds.div_ceil(60),
            &[],
        ),
        Some(seconds) if status == StatusCode::TOO_MANY_REQUESTS => {
            ctx.tr().n("You can try again in {n} second.", "You can try again in {n} seconds.", seconds, &[])
        }
        _ => String::new(),
    };
    let content = ErrorContent { status: status.as_u16(), title: title_text, message, retry, ctx };
    let rendered = match layout {
        Some(layout) => (layout.render)(content),
        None => ErrorPage::from(content).render(),
    };
    rendered.unwrap_or_else(|e| {
        tracing::error!(error = %e, "the error page could not be rendered");
        format!("{}\n", title(status))
    })
}
