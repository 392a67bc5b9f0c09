//! `/healthz` (the process answers) and `/readyz` (it can reach the database and write to its
//! data folder, and which optional services do not answer). `/readyz` answers within
//! [`READY_TIMEOUT`] even when the database hangs.

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
/// otherwise. A service the site can do without for a while (a cache, key-value store, channel
/// layer or session store on Redis or Memcached) that does not answer is named in the body
/// (`ready, degraded: cache (redis) …`) and the `X-Quartet-Degraded` header, with 200: every
/// page still answers, so the instance stays in the load balancer.
pub async fn readyz(State(core): State<CoreState>) -> impl IntoResponse {
    let (status, body) = check(&core).await;
    let mut response = if status == StatusCode::OK {
        let degraded = degraded(&core).await;
        if degraded.is_empty() {
            (status, body.to_owned()).into_response()
        } else {
            let names: Vec<&str> = degraded.iter().map(|(name, _)| *name).collect();
            let details: Vec<String> = degraded.iter().map(|(name, why)| format!("{name}: {why}")).collect();
            let mut response = (status, format!("ready, degraded: {}\n", details.join("; "))).into_response();
            if let Ok(value) = axum::http::HeaderValue::from_str(&names.join(", ")) {
                response.headers_mut().insert("x-quartet-degraded", value);
            }
            response
        }
    } else {
        (status, body.to_owned()).into_response()
    };
    response.extensions_mut().insert(super::error_pages::OwnBody);
    response
}

/// The optional services that do not answer now, each with why.
async fn degraded(core: &CoreState) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let (cache, kv, channels, sessions) = tokio::join!(
        tokio::time::timeout(READY_TIMEOUT, core.cache.ping()),
        tokio::time::timeout(READY_TIMEOUT, core.kv.ping()),
        tokio::time::timeout(READY_TIMEOUT, core.channels.ping()),
        tokio::time::timeout(READY_TIMEOUT, core.sessions.ping()),
    );
    let why = |timed_out: bool, error: Option<String>| {
        if timed_out { "no answer within 2 s".to_owned() } else { error.unwrap_or_default() }
    };
    match cache {
        Ok(Ok(())) => {}
        other => out.push((
            "cache",
            why(other.is_err(), other.ok().and_then(|r| r.err()).map(|e| format!("{} {e}", core.cache.backend()))),
        )),
    }
    match kv {
        Ok(Ok(())) => {}
        other => {
            out.push(("key-value store", why(other.is_err(), other.ok().and_then(|r| r.err()).map(|e| e.to_string()))))
        }
    }
    match channels {
        Ok(Ok(())) => {}
        other => {
            out.push(("channel layer", why(other.is_err(), other.ok().and_then(|r| r.err()).map(|e| e.to_string()))))
        }
    }
    match sessions {
        Ok(Ok(())) => {}
        other => out.push(("sessions", why(other.is_err(), other.ok().and_then(|r| r.err()).map(|e| e.to_string())))),
    }
    for (name, detail) in &out {
        tracing::warn!(service = name, %detail, "readiness: a service does not answer; the site runs without it");
    }
    out
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
