//! Flash messages: one-time notes kept in the session until the next page shows them
//! ("Profile updated successfully").

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use super::Session;
use crate::error::{Error, Result};

/// Session key of pending flash messages.
const MESSAGES_KEY: &str = "_messages";

/// A one-time message shown on the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `success`, `info`, `warning` or `error` (also the CSS class).
    pub level: String,
    /// The text (already translated).
    pub text: String,
}

impl Message {
    /// The text as HTML: escaped, with `backticked` words as `<code>` (commands, passwords).
    pub fn html(&self) -> String {
        crate::html::inline_code(&self.text)
    }
}

/// Takes the pending messages out of a loaded session (the page that shows them).
pub fn take_messages(session: &Session) -> Vec<Message> {
    session.take_loaded(MESSAGES_KEY).and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

/// Queues flash messages in the session.
#[derive(Debug, Clone)]
pub struct Flash(Session);

impl Flash {
    async fn push(&self, level: &str, text: impl Into<String>) -> Result<()> {
        let mut messages: Vec<Message> = self.0.get(MESSAGES_KEY).await?.unwrap_or_default();
        messages.push(Message { level: level.to_owned(), text: text.into() });
        self.0.insert(MESSAGES_KEY, messages).await
    }

    /// A success message.
    pub async fn success(&self, text: impl Into<String>) -> Result<()> {
        self.push("success", text).await
    }

    /// An informational message.
    pub async fn info(&self, text: impl Into<String>) -> Result<()> {
        self.push("info", text).await
    }

    /// A warning.
    pub async fn warning(&self, text: impl Into<String>) -> Result<()> {
        self.push("warning", text).await
    }

    /// An error message.
    pub async fn error(&self, text: impl Into<String>) -> Result<()> {
        self.push("error", text).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Session::from_request_parts(parts, state).await.map(Flash)
    }
}
