//! `/healthz` (the process answers) and `/readyz` (it can reach the database and write to its
//! data folder). `/readyz` answers within [`READY_TIMEOUT`] even when the database hangs.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::app::CoreState;

/// Always 200 while the process serves requests.
pub async fn healthz() -> impl IntoResponse {
    "ok\n"
}

/// The longest `/readyz` waits for the database.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Writes and removes a small file in the data folder: fails when the disk is full.
async fn probe_disk(core: &CoreState) -> std::io::Result<()> {
    let dir = core.settings.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir).await?;
    let path = dir.join(format!("readyz-{}", crate::crypto::random_string(12, crate::crypto::LOWER_ALNUM)));
    let written = async {
        let mut file = tokio::fs::File::create(&path).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &[0u8; 4096]).await?;
        file.sync_data().await
    }
    .await;
    let _ = tokio::fs::remove_file(&path).await;
    written
}

/// 200 when the database answers within two seconds and the data folder takes writes, 503
/// otherwise.
pub async fn readyz(State(core): State<CoreState>) -> impl IntoResponse {
    let mut response = check(&core).await.into_response();
    response.extensions_mut().insert(super::error_pages::OwnBody);
    response
}

async fn check(core: &CoreState) -> (StatusCode, &'static str) {
    match tokio::time::timeout(READY_TIMEOUT, crate::db::ping(&core.db)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed: the database");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n");
        }
        Err(_) => {
            tracing::warn!("readiness check failed: the database did not answer within 2 s");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n");
        }
    }
    if let Err(e) = probe_disk(core).await {
        tracing::warn!(error = %e, "readiness check failed: the data folder cannot be written");
        return (StatusCode::SERVICE_UNAVAILABLE, "data folder not writable\n");
    }
    (StatusCode::OK, "ready\n")
}
