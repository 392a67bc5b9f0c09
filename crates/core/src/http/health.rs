//! `/healthz` (the process answers) and `/readyz` (it can reach the database).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::state::CoreState;

/// Always 200 while the process serves requests.
pub async fn healthz() -> impl IntoResponse {
    "ok\n"
}

/// 200 when the database answers, 503 otherwise.
pub async fn readyz(State(core): State<CoreState>) -> impl IntoResponse {
    match crate::db::ping(&core.db).await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}
