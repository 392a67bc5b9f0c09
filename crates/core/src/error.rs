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
    /// The body is larger than allowed (413).
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// Too many attempts (429); retry after the given number of seconds.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until the next attempt may succeed.
        retry_after: u64,
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
    /// A message safe to show the user.
    pub message: String,
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
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> ErrorDetail {
        let (code, message) = match self {
            Self::NotFound => ("not_found", "The page you asked for does not exist.".to_owned()),
            Self::BadRequest(m) => ("bad_request", m.clone()),
            Self::Unauthorized | Self::LoginRequired(_) => {
                ("not_authenticated", "Authentication credentials were not provided or are wrong.".to_owned())
            }
            Self::Forbidden(m) => ("permission_denied", m.clone()),
            Self::MethodNotAllowed => ("method_not_allowed", "This address does not accept that method.".to_owned()),
            Self::PayloadTooLarge(m) => ("payload_too_large", m.clone()),
            Self::TooManyRequests { .. } => {
                ("throttled", "Too many attempts. Please wait a while and try again.".to_owned())
            }
            Self::Unavailable(_) => {
                ("unavailable", "The service is temporarily unavailable. Please try again shortly.".to_owned())
            }
            Self::Internal(_) => (
                "server_error",
                "Something went wrong on our side. It has been logged and we will look into it.".to_owned(),
            ),
        };
        ErrorDetail { code, message }
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
        if let Self::TooManyRequests { retry_after } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        response.extensions_mut().insert(self.detail());
        response
    }
}

/// The result type of handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;
