//! `/metrics` in Prometheus' text format, and what it counts: requests by route and status,
//! their latency as a histogram per route, the database pool, cache hits and misses, jobs by
//! state, open connections and WebSockets.
//!
//! The page itself is [`crate::server::metrics`]. Requests are counted by the request-log layer with the route's pattern (`/blog/{id}/share/`,
//! never the path itself, so the label set is bounded by the routes the site has); an address
//! no route has is counted as `unmatched`. Access is `metrics.access`: off, loopback only, or a
//! bearer token.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Connections the accept loop holds open now (every site of this process).
static OPEN_CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

/// Connections open now.
pub fn open_connections() -> usize {
    OPEN_CONNECTIONS.load(Ordering::Relaxed)
}

/// One open connection, counted while it lives.
#[derive(Debug)]
pub struct OpenConnection(());

impl OpenConnection {
    /// Counts a connection until the value is dropped.
    pub fn count() -> Self {
        OPEN_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        OPEN_CONNECTIONS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The route a response answered, put in its extensions by [`mark_route`].
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

/// Route layer: remembers the matched route's pattern on the response.
pub async fn mark_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

#[derive(Debug, Default)]
struct RouteStats {
    statuses: HashMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Requests counted since start-up.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<HashMap<String, RouteStats>>,
}

impl Metrics {
    /// Counts one answered request.
    pub fn observe(&self, route: Option<&str>, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut routes = self.routes.lock().expect("metrics lock");
        let stats = match routes.get_mut(route.unwrap_or("unmatched")) {
            Some(stats) => stats,
            None => routes.entry(route.unwrap_or("unmatched").to_owned()).or_default(),
        };
        *stats.statuses.entry(status).or_default() += 1;
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            stats.buckets[i] += 1;
        }
        stats.sum += seconds;
        stats.count += 1;
    }

    /// Writes the request counters and histograms in the text format.
    pub fn write_requests(&self, out: &mut String) {
        let routes = self.routes.lock().expect("metrics lock");
        let mut names: Vec<&String> = routes.keys().collect();
        names.sort();
        out.push_str("# HELP quartet_http_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE quartet_http_requests_total counter\n");
        for name in &names {
            let mut statuses: Vec<(&u16, &u64)> = routes[*name].statuses.iter().collect();
            statuses.sort();
            for (status, n) in statuses {
                let _ =
                    writeln!(out, "quartet_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}", label(name));
            }
        }
        out.push_str("# HELP quartet_http_request_duration_seconds Time to answer a request, by route.\n");
        out.push_str("# TYPE quartet_http_request_duration_seconds histogram\n");
        for name in &names {
            let stats = &routes[*name];
            let route = label(name);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "quartet_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "quartet_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(out, "quartet_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", stats.sum);
            let _ = writeln!(out, "quartet_http_request_duration_seconds_count{{route=\"{route}\"}} {}", stats.count);
        }
    }
}

/// A label value escaped as the text format wants.
pub fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_route_status_and_bucket() {
        let metrics = Metrics::default();
        metrics.observe(Some("/blog/"), 200, Duration::from_millis(3));
        metrics.observe(Some("/blog/"), 200, Duration::from_millis(30));
        metrics.observe(Some("/blog/"), 404, Duration::from_secs(20));
        metrics.observe(None, 404, Duration::from_millis(1));
        let mut out = String::new();
        metrics.write_requests(&mut out);
        for line in [
            "quartet_http_requests_total{route=\"/blog/\",status=\"200\"} 2",
            "quartet_http_requests_total{route=\"/blog/\",status=\"404\"} 1",
            "quartet_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
            "quartet_http_request_duration_seconds_bucket{route=\"/blog/\",le=\"0.005\"} 1",
            "quartet_http_request_duration_seconds_bucket{route=\"/blog/\",le=\"0.05\"} 2",
            "quartet_http_request_duration_seconds_bucket{route=\"/blog/\",le=\"10\"} 2",
            "quartet_http_request_duration_seconds_bucket{route=\"/blog/\",le=\"+Inf\"} 3",
            "quartet_http_request_duration_seconds_count{route=\"/blog/\"} 3",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
        }
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
