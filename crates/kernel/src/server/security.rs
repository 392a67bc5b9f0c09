//! Security headers on every response, HSTS on HTTPS, and the redirect from HTTP to HTTPS.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::CoreState;
use crate::http::host::RequestHost;

/// Paths never redirected to HTTPS (load balancer probes often speak plain HTTP).
const REDIRECT_EXEMPT: &[&str] = &["/healthz", "/readyz"];

/// Middleware (after host validation): redirects plain HTTP to HTTPS when
/// `security.ssl_redirect` is on.
pub async fn ssl_redirect(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    if core.settings.security.ssl_redirect
        && !REDIRECT_EXEMPT.contains(&request.uri().path())
        && let Some(host) = request.extensions().get::<RequestHost>().filter(|h| !h.secure)
    {
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        if let Ok(location) = HeaderValue::from_str(&format!("https://{}{}", host.host, path)) {
            return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response();
        }
    }
    next.run(request).await
}

/// Middleware (outermost, so error pages get them too): adds `X-Frame-Options`,
/// `X-Content-Type-Options`, `Referrer-Policy`, `Cross-Origin-Opener-Policy` and a CSP to every
/// response, and HSTS to HTTPS responses.
pub async fn headers(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    let security = &core.settings.security;
    let secure = crate::http::host::is_secure(&request, &core.settings);
    let is_media = request.uri().path().starts_with("/media/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.entry(name).or_insert(value);
        }
    };
    set(header::X_FRAME_OPTIONS, &security.x_frame_options);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if !security.referrer_policy.is_empty() {
        set(header::REFERRER_POLICY, &security.referrer_policy);
    }
    if !security.cross_origin_opener_policy.is_empty() {
        set(HeaderName::from_static("cross-origin-opener-policy"), &security.cross_origin_opener_policy);
    }
    if is_media {
        // Uploaded files never run as documents of this origin.
        set(header::CONTENT_SECURITY_POLICY, "default-src 'none'; img-src 'self'; sandbox; frame-ancestors 'none'");
    } else if !security.content_security_policy.is_empty() {
        set(header::CONTENT_SECURITY_POLICY, &security.content_security_policy);
    }
    if secure && security.hsts_seconds > 0 {
        let mut hsts = format!("max-age={}", security.hsts_seconds);
        if security.hsts_include_subdomains {
            hsts.push_str("; includeSubDomains");
        }
        if security.hsts_preload {
            hsts.push_str("; preload");
        }
        set(header::STRICT_TRANSPORT_SECURITY, &hsts);
    }
    response
}
