//! The one error type of request handlers, with its HTTP meaning.
//!
//! Policy: a handler returns `Result<_, Error>`. Variants other than [`Error::Internal`] carry a
//! message that is safe to show the user. `Internal` causes are logged with their full chain
//! and shown as a generic "Server error" page; nothing of them reaches the response. The
//! response carries an [`ErrorDetail`] extension and no body: the error-page middleware turns
//! it into an HTML page in the site's style, or JSON with a stable `code` under `/api/`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The resource does not exist (404).
    #[error("not found")]
    NotFound,
    /// The request is malformed (400); the message is shown.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Credentials are missing or wrong (401).
    #[error("unauthorized")]
    Unauthorized,
    /// A page needs a signed-in user: 303 to this sign-in page (which carries `next`).
    #[error("sign-in required")]
    LoginRequired(String),
    /// The user may not do this (403); the message is shown.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The method is not supported here (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than allowed (413). `message` is a message id with a `{size}`
    /// placeholder, filled with `limit` in words ("2.5 MB").
    #[error("payload too large: {message} ({limit} bytes)")]
    PayloadTooLarge {
        /// What is too large, with `{size}` for the limit.
        message: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// The body's content type is not accepted here (415); the message is shown.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(&'static str),
    /// The client took longer than allowed to send its request (408).
    #[error("request timeout")]
    RequestTimeout,
    /// Too many attempts (429); retry after the given number of seconds.
    #[error("too many requests: {message}")]
    TooManyRequests {
        /// Seconds until the next attempt may succeed.
        retry_after: u64,
        /// What was refused (a message id shown on the page).
        message: &'static str,
    },
    /// A backing service is temporarily unavailable (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected (500); logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The public face of an error, attached to the response for the error-page middleware.
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    /// A stable, snake_case code (`not_found`, `csrf_failed`, ...).
    pub code: &'static str,
    /// A message safe to show the user (a message id, translated when shown).
    pub message: String,
    /// Values of the message's `{name}` placeholders.
    pub args: Vec<(&'static str, String)>,
    /// Seconds after which the client may try again (429, 503).
    pub retry_after: Option<u64>,
}

/// The default text of [`Error::TooManyRequests`].
pub const TOO_MANY_ATTEMPTS: &str = "Too many attempts. Please wait a while and try again.";

/// A size limit in words, as Django's `filesizeformat` writes it: `10 MB`, `2.5 MB`, `512 KB`.
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    let (value, unit) = if b >= KB * KB * KB {
        (b / (KB * KB * KB), "GB")
    } else if b >= KB * KB {
        (b / (KB * KB), "MB")
    } else if b >= KB {
        (b / KB, "KB")
    } else {
        return if bytes == 1 { "1 byte".to_owned() } else { format!("{bytes} bytes") };
    };
    let text = format!("{value:.1}");
    format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
}

impl Error {
    /// A forbidden error with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// A bad-request error with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// A 429 with the default message.
    pub fn too_many(retry_after: u64) -> Self {
        Self::TooManyRequests { retry_after, message: TOO_MANY_ATTEMPTS }
    }

    /// Wraps any error as an internal one.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::LoginRequired(_) => StatusCode::SEE_OTHER,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> ErrorDetail {
        let mut args = Vec::new();
        let mut retry_after = None;
        let (code, message) = match self {
            Self::NotFound => ("not_found", "The page you asked for does not exist.".to_owned()),
            Self::BadRequest(m) => ("bad_request", m.clone()),
            Self::Unauthorized | Self::LoginRequired(_) => {
                ("not_authenticated", "Authentication credentials were not provided or are wrong.".to_owned())
            }
            Self::Forbidden(m) => ("permission_denied", m.clone()),
            Self::MethodNotAllowed => ("method_not_allowed", "This address does not accept that method.".to_owned()),
            Self::PayloadTooLarge { message, limit } => {
                args.push(("size", human_size(*limit)));
                ("payload_too_large", (*message).to_owned())
            }
            Self::UnsupportedMediaType(m) => ("unsupported_media_type", (*m).to_owned()),
            Self::RequestTimeout => {
                ("request_timeout", "The request took too long to arrive. Please try again.".to_owned())
            }
            Self::TooManyRequests { retry_after: wait, message } => {
                retry_after = Some(*wait);
                ("throttled", (*message).to_owned())
            }
            Self::Unavailable(_) => {
                retry_after = Some(5);
                ("unavailable", "The service is temporarily unavailable. Please try again shortly.".to_owned())
            }
            Self::Internal(_) => (
                "server_error",
                "Something went wrong on our side. It has been logged and we will look into it.".to_owned(),
            ),
        };
        ErrorDetail { code, message, args, retry_after }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        if crate::db::is_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::Unavailable("database".into());
        }
        Self::Internal(anyhow::Error::new(err))
    }
}

impl From<askama::Error> for Error {
    fn from(err: askama::Error) -> Self {
        Self::Internal(anyhow::Error::new(err).context("rendering a template"))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Self::LoginRequired(login) = &self {
            return axum::response::Redirect::to(login).into_response();
        }
        match &self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            Self::Unavailable(what) => tracing::warn!(service = %what, "service unavailable"),
            _ => {}
        }
        let mut response = self.status().into_response();
        let detail = self.detail();
        if let Some(wait) = detail.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response.extensions_mut().insert(detail);
        response
    }
}

/// The result type of handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_like_django_filesizeformat() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MB");
        assert_eq!(human_size(2_621_440), "2.5 MB");
        assert_eq!(human_size(512 * 1024), "512 KB");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(100), "100 bytes");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3 GB");
    }
}
