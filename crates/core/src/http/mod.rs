//! HTTP: the middleware stack, error pages, health checks and the server loop.
//!
//! Order of the layers, outermost first: request log → compression → security headers →
//! error pages → panic catcher → host validation → HTTPS redirect → (static, media, health)
//! or the page routes, which add language → session → request guard (limits + CSRF).

pub mod body;
pub mod cookies;
pub mod csrf;
pub mod error_pages;
pub mod guard;
pub mod health;
pub mod host;
pub mod redirect;
pub mod security;
pub mod server;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::error::Error;
use crate::state::CoreState;

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
/// `server.trust_forwarded_for` says a proxy in front sets it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientIp
where
    CoreState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let core = CoreState::from_ref(state);
        if core.settings.server.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(Self(Some(ip)));
        }
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
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
