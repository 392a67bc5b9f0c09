//! The server: the middleware stack around the apps' routes, error pages, health checks and
//! the accept loop.
//!
//! Order of the layers, outermost first: request log (and `/metrics` counts) → the request's
//! cache versions → compression → the development toolbar → security headers →
//! error pages → panic catcher → host validation → HTTPS redirect → the apps' layers
//! ([`crate::app::SiteLayer`], first installed outermost) → (static, media, health) or the page
//! routes, which add language → the per-site cache → session → request guard (limits + CSRF).

pub mod devtools;
pub mod error_pages;
pub mod guard;
pub mod health;
mod host;
mod language;
pub mod listener;
pub mod metrics;
pub mod page_cache;
pub mod security;
mod sessions;
pub mod tls;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::app::{CoreState, Fallback};
use crate::error::Error;

pub use language::set_language;
pub use listener::{serve, shutdown_signal};
pub use page_cache::cache_page;
pub use sessions::from_cookie;

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Error::internal(anyhow::anyhow!("a request handler panicked")).into_response()
}

/// An address no route has: the [`Fallback`] of the app owning the longest matching prefix,
/// else 404.
async fn not_found(core: CoreState, request: axum::extract::Request) -> Response {
    let path = request.uri().path();
    let owner = core.urls().owner(path, core.registry.contributions::<Fallback>().iter().map(|c| (c.app, c.item)));
    match owner {
        Some(fallback) => (fallback.answer)(core, request).await,
        None => Error::NotFound.into_response(),
    }
}

/// Gives the request its own record of cache versions, so each is read from the store once
/// ([`crate::cache::Cache::scope`]).
async fn cache_scope(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    crate::cache::Cache::scope(next.run(request)).await
}

/// Puts the middleware stack around the apps' routes (in the order of the module's doc).
pub fn assemble(core: &CoreState, pages: Router) -> Router {
    let pages = pages
        .layer(from_fn_with_state(core.clone(), guard::layer))
        .layer(from_fn_with_state(core.clone(), sessions::layer))
        .layer(from_fn_with_state(core.clone(), page_cache::site))
        .layer(from_fn_with_state(core.clone(), language::layer));
    let routes = Router::new()
        .route("/static/{*path}", get(crate::staticfiles::serve).with_state(core.assets.clone()))
        .route("/media/thumbs/{size}/{*path}", get(crate::thumbnails::serve).with_state(core.clone()))
        .route("/media/{*path}", get(crate::media::serve).with_state(core.clone()))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz).with_state(core.clone()))
        .route("/metrics", get(metrics::serve).with_state(core.clone()))
        .merge(pages)
        .route_layer(axum::middleware::from_fn(crate::metrics::mark_route))
        .fallback({
            let core = core.clone();
            move |request: axum::extract::Request| not_found(core.clone(), request)
        });
    // The apps' layers, the first installed outermost.
    let layers = core.registry.contributions::<crate::app::SiteLayer>();
    let routes = layers.iter().rev().fold(routes, |routes, layer| (layer.item.wrap)(core.clone(), routes));
    routes
        .layer(from_fn_with_state(core.clone(), security::ssl_redirect))
        .layer(from_fn_with_state(core.clone(), host::layer))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(core.settings.server.request_timeout_seconds),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(core.clone(), error_pages::layer))
        .layer(from_fn_with_state(core.clone(), security::headers))
        .layer(from_fn_with_state(core.clone(), devtools::layer))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(cache_scope))
        .layer(from_fn_with_state(core.clone(), listener::request_log))
}
