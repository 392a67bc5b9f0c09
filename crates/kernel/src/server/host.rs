//! The host layer: refuses requests for hosts this site does not serve.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::CoreState;
use crate::error::Error;
use crate::http::ClientIp;
use crate::http::host::{RequestHost, effective_allowed_hosts, is_secure, validate};

/// Middleware: rejects disallowed hosts with 400 and records the [`RequestHost`].
pub async fn layer(State(core): State<CoreState>, mut request: Request, next: Next) -> Response {
    let allowed = effective_allowed_hosts(&core.settings);
    let uri_host = request.uri().authority().map(|a| a.as_str().to_owned());
    match validate(request.headers(), uri_host.as_deref(), &core.settings, &allowed) {
        Ok(host) => {
            let secure = is_secure(&request, &core.settings);
            let client =
                ClientIp::of(request.headers(), request.extensions(), core.settings.server.trust_forwarded_for);
            request.extensions_mut().insert(RequestHost { host, secure });
            request.extensions_mut().insert(client);
            next.run(request).await
        }
        Err(reason) => {
            tracing::warn!(target: "quartet::security::disallowed_host", %reason, path = %request.uri().path(), "rejected request");
            Error::bad_request("The request's host is not served here.").into_response()
        }
    }
}
