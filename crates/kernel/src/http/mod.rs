//! HTTP building blocks: request bodies and forms within limits, cookies, CSRF tokens, the
//! request's host and client address, safe redirects, `Vary`. The middleware stack that uses
//! them is in [`crate::server`].

pub mod body;
pub mod cookies;
pub mod csrf;
pub mod fetch;
pub mod form_data;
pub mod host;
pub mod redirect;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::Error;

/// Whether a method may change state.
pub fn is_unsafe(method: &axum::http::Method) -> bool {
    !matches!(
        *method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS | axum::http::Method::TRACE
    )
}

/// Adds `value` to the response's `Vary` header unless it is already there.
pub fn add_vary(headers: &mut axum::http::HeaderMap, value: &'static str) {
    let present = headers
        .get_all(axum::http::header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(value));
    if !present {
        headers.append(axum::http::header::VARY, axum::http::HeaderValue::from_static(value));
    }
}

/// The client's address: the peer, or the last `X-Forwarded-For` entry when
/// `server.trust_forwarded_for` says a proxy in front sets it (decided by the host layer).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// The address of `parts`' client: the proxy's `X-Forwarded-For` when `trust_forwarded_for`,
    /// else the peer.
    pub fn of(headers: &axum::http::HeaderMap, extensions: &axum::http::Extensions, trust_forwarded_for: bool) -> Self {
        if trust_forwarded_for
            && let Some(ip) = headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Self(Some(ip));
        }
        Self(extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Error;

    /// The address the host layer recorded (the peer's when the layer is not installed).
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or_else(|| Self::of(&parts.headers, &parts.extensions, false)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for host::RequestHost {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<host::RequestHost>()
            .cloned()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("the host layer is not installed")))
    }
}

/// A request-scoped mark set by the page when it shows something for this visitor alone (a
/// flash message): such a response is never kept.
#[derive(Debug, Clone, Default)]
pub struct Personal(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Personal {
    /// Marks the response as made for this visitor alone.
    pub fn mark(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the response was marked.
    pub fn is_marked(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Whether a request came from this machine and no proxy forwarded it: its connection's peer
/// is a loopback address and it carries no `Forwarded`, `X-Forwarded-For` or `X-Real-IP`
/// header (what `/metrics` and the development toolbar are shown to).
pub fn is_local_request(headers: &axum::http::HeaderMap, peer: Option<std::net::SocketAddr>) -> bool {
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"].iter().any(|h| headers.contains_key(*h));
    !forwarded && peer.is_some_and(|p| p.ip().is_loopback() || p.ip().to_canonical().is_loopback())
}
