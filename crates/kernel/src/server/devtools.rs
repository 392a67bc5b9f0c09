//! The development toolbar: a `Server-Timing` header and, on HTML pages, a collapsible SQL
//! panel listing each statement the request ran with its time, duplicates flagged (Django
//! Debug Toolbar's SQL panel). On with `devtools.toolbar` (the development default), for
//! requests from this machine only ([`crate::http::is_local_request`]).
//!
//! Statements are collected by the pool's metric callback into a task-local log
//! ([`StatementLog::collect`]) around the request, so concurrent requests never see each
//! other's statements.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::CoreState;
use crate::db::StatementLog;

/// The largest HTML page the panel is added to; larger ones pass untouched.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Middleware: collects the request's statements, then adds `Server-Timing` and the panel.
pub async fn layer(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    let settings = &core.settings.devtools;
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if !settings.toolbar || !crate::http::is_local_request(request.headers(), peer) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let (response, log) = StatementLog::collect(settings.max_statements, next.run(request)).await;
    let elapsed = started.elapsed();
    let (mut parts, body) = response.into_parts();
    let timing = format!(
        "db;desc=\"{} statements\";dur={:.2}, app;dur={:.2}, total;dur={:.2}",
        log.count,
        millis(log.total),
        millis(elapsed.saturating_sub(log.total)),
        millis(elapsed)
    );
    if let Ok(value) = HeaderValue::from_str(&timing) {
        parts.headers.append("server-timing", value);
    }
    let html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let small = axum::body::HttpBody::size_hint(&body).upper().is_some_and(|n| n <= MAX_PAGE_BYTES as u64);
    if !html || !small || parts.headers.contains_key(header::CONTENT_ENCODING) {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_BYTES).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let page = String::from_utf8_lossy(&bytes);
    let Some(end) = page.rfind("</body>") else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    let panel = panel(&log, elapsed);
    let mut out = String::with_capacity(page.len() + panel.len());
    out.push_str(&page[..end]);
    out.push_str(&panel);
    out.push_str(&page[end..]);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
}

/// The panel's HTML.
fn panel(log: &StatementLog, elapsed: Duration) -> String {
    let mut same: HashMap<&str, usize> = HashMap::new();
    let mut similar: HashMap<&str, usize> = HashMap::new();
    for (full, sql, _) in &log.entries {
        *same.entry(full).or_default() += 1;
        *similar.entry(sql).or_default() += 1;
    }
    let duplicated = log.entries.iter().filter(|(full, _, _)| same[full.as_str()] > 1).count();
    let mut out = String::with_capacity(512 + log.entries.len() * 200);
    let _ = write!(
        out,
        "<details class=\"devtools-sql\" id=\"devtools-sql\"><summary>SQL: {} statements in {:.2} ms \
         ({duplicated} duplicated) · page {:.2} ms</summary><table><thead><tr><th>#</th><th>ms</th>\
         <th>Statement</th></tr></thead><tbody>",
        log.count,
        millis(log.total),
        millis(elapsed)
    );
    for (i, (full, sql, time)) in log.entries.iter().enumerate() {
        let (n_same, n_similar) = (same[full.as_str()], similar[sql.as_str()]);
        let class = if n_same > 1 { " class=\"duplicated\"" } else { "" };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{:.2}</td><td><code>{}</code>",
            i + 1,
            millis(*time),
            crate::html::escape_html(full)
        );
        if n_same > 1 {
            let _ = write!(out, " <span class=\"flag\">duplicated {n_same}×</span>");
        } else if n_similar > 1 {
            let _ = write!(out, " <span class=\"flag similar\">similar {n_similar}×</span>");
        }
        out.push_str("</td></tr>");
    }
    if log.count > log.entries.len() {
        let _ = write!(out, "<tr><td colspan=\"3\">… and {} more</td></tr>", log.count - log.entries.len());
    }
    out.push_str("</tbody></table></details>");
    out
}
