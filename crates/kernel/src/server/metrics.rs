//! `GET /metrics`: the counters of [`crate::metrics`] and the gauges read when it is asked
//! for, in Prometheus' text format, for whoever `metrics.access` lets in (404 for the rest).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::CoreState;
use crate::config::MetricsAccess;

fn gauge(out: &mut String, name: &str, help: &str, kind: &str, samples: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// Whether this request may read the metrics.
fn allowed(core: &CoreState, headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
    match core.settings.metrics.access {
        MetricsAccess::Off => false,
        MetricsAccess::Loopback => crate::http::is_local_request(headers, peer),
        MetricsAccess::Token => {
            let token = core.settings.metrics.token.expose();
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            !token.is_empty() && crate::crypto::constant_time_eq(given.as_bytes(), token.as_bytes())
        }
    }
}

/// `GET /metrics`: the text format, or 404 for whoever may not read it.
pub async fn serve(State(core): State<CoreState>, request: Request) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if !allowed(&core, request.headers(), peer) {
        return crate::error::Error::NotFound.into_response();
    }
    let mut out = String::with_capacity(4096);
    core.metrics.write_requests(&mut out);
    let conn = core.db.inner();
    let (size, idle) = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = conn.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = conn.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    gauge(
        &mut out,
        "quartet_db_pool_connections",
        "Database connections, by state.",
        "gauge",
        &[
            ("{state=\"idle\"}".into(), idle.to_string()),
            ("{state=\"in_use\"}".into(), (size as usize).saturating_sub(idle).to_string()),
        ],
    );
    gauge(
        &mut out,
        "quartet_db_pool_max_connections",
        "The pool's size limit (database.max_connections).",
        "gauge",
        &[(String::new(), core.settings.database.max_connections.to_string())],
    );
    gauge(
        &mut out,
        "quartet_db_statements_total",
        "Statements run since start-up.",
        "counter",
        &[(String::new(), core.queries.total().to_string())],
    );
    let stats = &core.cache.stats;
    gauge(
        &mut out,
        "quartet_cache_lookups_total",
        "Cache lookups, by result.",
        "counter",
        &[
            ("{result=\"hit\"}".into(), stats.hits.load(Ordering::Relaxed).to_string()),
            ("{result=\"miss\"}".into(), stats.misses.load(Ordering::Relaxed).to_string()),
            ("{result=\"bypassed\"}".into(), stats.bypassed.load(Ordering::Relaxed).to_string()),
        ],
    );
    match crate::jobs::counts_by_status(&core.db).await {
        Ok(counts) => {
            let samples: Vec<(String, String)> = counts
                .iter()
                .map(|(status, n)| (format!("{{state=\"{}\"}}", crate::metrics::label(status)), n.to_string()))
                .collect();
            gauge(&mut out, "quartet_jobs", "Jobs in the queue table, by state.", "gauge", &samples);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: jobs could not be counted"),
    }
    gauge(
        &mut out,
        "quartet_open_connections",
        "Connections open now.",
        "gauge",
        &[(String::new(), crate::metrics::open_connections().to_string())],
    );
    gauge(
        &mut out,
        "quartet_open_websockets",
        "WebSockets open now.",
        "gauge",
        &[(String::new(), core.channels.open_sockets().to_string())],
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}
