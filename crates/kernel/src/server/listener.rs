//! The accept loop: HTTP/1.1 and HTTP/2 (with upgrades for WebSockets), bounded connections,
//! timeouts from the first byte, the client address for every request, and a graceful stop.
//!
//! - A connection must send its first request's headers within
//!   `server.header_read_timeout_seconds` of being accepted (hyper's own timer only starts
//!   once it knows the protocol, so the first bytes are awaited here, with that deadline); a
//!   kept-alive HTTP/1.1 connection gets the same time between requests.
//! - HTTP/2 connections are pinged every `server.http2_keepalive_seconds` (a peer that does not
//!   answer is dropped) and closed after `server.idle_timeout_seconds` without a request.
//! - At most `server.max_connections` connections are open (lowered to what the descriptor
//!   limit allows), and at most `server.max_connections_per_ip` from one address; a connection
//!   past either is closed as soon as it is accepted, so it holds nothing.
//! - Accept errors (out of descriptors and the like) are logged at most once a second, with the
//!   number of those not logged.
//!
//! On the shutdown signal the listener closes at once (new connections are refused), every
//! open connection finishes its in-flight requests, and the loop returns when all are done or
//! `server.shutdown_grace_seconds` have passed.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulConnection;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::app::CoreState;
use crate::config::ServerSettings;

/// The first bytes of an HTTP/2 connection without TLS (h2c with prior knowledge).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Descriptors kept free for the database pool, files and the like.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises the soft limit of open files to the hard limit (logged); returns the new soft limit.
pub fn raise_descriptor_limit() -> Option<u64> {
    let (soft, hard) = match rlimit::Resource::NOFILE.get() {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-files limit");
            return None;
        }
    };
    if soft >= hard {
        tracing::info!(soft, hard, "open-files limit");
        return Some(soft);
    }
    match rlimit::Resource::NOFILE.set(hard, hard) {
        Ok(()) => {
            tracing::info!(before = soft, after = hard, hard, "open-files limit raised to the hard limit");
            Some(hard)
        }
        Err(e) => {
            tracing::warn!(error = %e, soft, hard, "cannot raise the open-files limit");
            Some(soft)
        }
    }
}

/// The connection cap: the setting, lowered to what the open-files limit allows.
pub fn connection_cap(settings: &ServerSettings) -> usize {
    let by_descriptors = rlimit::Resource::NOFILE
        .get()
        .ok()
        .map(|(soft, _)| usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS).max(16)).unwrap_or(usize::MAX));
    let cap = by_descriptors.map_or(settings.max_connections, |d| d.min(settings.max_connections));
    cap.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize))
}

/// Logs an event at most once a second, with the count of those not logged.
#[derive(Debug)]
struct LogThrottle {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    const fn new() -> Self {
        Self { last: None, suppressed: 0 }
    }

    /// `Some(suppressed since the last time)` when this event may be logged.
    fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < Duration::from_secs(1)) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Open connections per client address.
#[derive(Debug, Clone, Default)]
struct PerAddress {
    limit: Option<usize>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection counted for its address; uncounted when dropped.
#[derive(Debug)]
struct AddressSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    fn enter(&self, ip: IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().expect("connection table lock");
        let count = open.entry(ip).or_insert(0);
        if self.limit.is_some_and(|limit| *count >= limit) {
            return None;
        }
        *count += 1;
        Some(AddressSlot { ip, open: self.open.clone() })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("connection table lock");
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Requests in progress on a connection and when the last one started or ended.
#[derive(Debug)]
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self { in_flight: AtomicUsize::new(0), last: Mutex::new(Instant::now()) })
    }

    fn touch(&self) {
        *self.last.lock().expect("activity lock") = Instant::now();
    }

    fn idle_for(&self) -> Option<Duration> {
        (self.in_flight.load(Ordering::Acquire) == 0).then(|| self.last.lock().expect("activity lock").elapsed())
    }
}

/// A request counted on its connection's [`Activity`] until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.touch();
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

/// Waits (until `deadline`) for enough bytes to tell HTTP/2's preface from HTTP/1; `None` if
/// the client closed the connection or sent nothing in time.
async fn sniff(stream: &TcpStream, deadline: tokio::time::Instant) -> Option<Protocol> {
    let mut buf = [0u8; 24];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) | Err(_) => return None,
        };
        if n == 0 {
            return None;
        }
        if buf[..n] != H2_PREFACE[..n] {
            return Some(Protocol::Http1);
        }
        if n == H2_PREFACE.len() {
            return Some(Protocol::Http2);
        }
        // A part of the preface: the rest is on its way (or never comes, and the deadline ends it).
        if tokio::time::timeout_at(deadline, tokio::time::sleep(Duration::from_millis(20))).await.is_err() {
            return None;
        }
    }
}

/// What serving one accepted connection needs.
struct Connection {
    h1: Arc<Builder<TokioExecutor>>,
    h2: Arc<Builder<TokioExecutor>>,
    router: Router,
    stop: watch::Receiver<bool>,
    idle_timeout: Duration,
    peer: SocketAddr,
}

impl Connection {
    /// Serves HTTP/1.1 or HTTP/2 on `io` (a TCP stream, or a TLS stream when `tls`).
    async fn run<I>(self, io: TokioIo<I>, protocol: Protocol, tls: bool)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Self { h1, h2, router, stop, idle_timeout, peer } = self;
        let activity = Activity::new();
        let counted = activity.clone();
        let service = router
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                if tls {
                    request.extensions_mut().insert(crate::http::host::TlsConnection);
                }
                request
            })
            .map_future(move |future| {
                let in_flight = InFlight::begin(&counted);
                async move {
                    let response = future.await;
                    drop(in_flight);
                    response
                }
            });
        let service = TowerToHyperService::new(service);
        match protocol {
            Protocol::Http1 => {
                let conn = h1.serve_connection_with_upgrades(io, service);
                drive(conn, stop, None, peer).await;
            }
            Protocol::Http2 => {
                let conn = h2.serve_connection_with_upgrades(io, service);
                drive(conn, stop, Some((activity, idle_timeout)), peer).await;
            }
        }
    }
}

/// Runs one connection until it ends, the server stops (graceful), or it is idle too long.
async fn drive<C>(conn: C, mut stop: watch::Receiver<bool>, idle: Option<(Arc<Activity>, Duration)>, peer: SocketAddr)
where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    tokio::pin!(conn);
    let mut closing = *stop.borrow();
    if closing {
        conn.as_mut().graceful_shutdown();
    }
    let check_every =
        idle.as_ref().map_or(Duration::from_secs(3600), |(_, d)| (*d / 4).max(Duration::from_millis(250)));
    let mut ticks = tokio::time::interval(check_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            changed = stop.changed(), if !closing => {
                if changed.is_err() || *stop.borrow() {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = ticks.tick(), if !closing && idle.is_some() => {
                if let Some((activity, limit)) = &idle
                    && activity.idle_for().is_some_and(|d| d >= *limit)
                {
                    tracing::debug!(%peer, "closing an idle HTTP/2 connection");
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains connections; over
/// TLS (HTTP/2 or HTTP/1.1 by ALPN) when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &ServerSettings,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let header_timeout = Duration::from_secs(settings.header_read_timeout_seconds);
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(settings.http2_keepalive_seconds))
        .keep_alive_timeout(Duration::from_secs(settings.http2_keepalive_seconds))
        .max_concurrent_streams(250);
    let h1 = Arc::new(builder.clone().http1_only());
    let h2 = Arc::new(builder.http2_only());
    let idle_timeout = Duration::from_secs(settings.idle_timeout_seconds);

    let cap = connection_cap(settings);
    let slots = Arc::new(Semaphore::new(cap));
    let per_address = PerAddress {
        limit: (settings.max_connections_per_ip > 0 && !settings.trust_forwarded_for)
            .then_some(settings.max_connections_per_ip),
        open: Arc::default(),
    };
    tracing::info!(max_connections = cap, per_address = ?per_address.limit, "accepting connections");
    let (stop_tx, stop_rx) = watch::channel(false);
    let (mut accept_errors, mut refusals) = (LogThrottle::new(), LogThrottle::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        if let Some(suppressed) = accept_errors.allow() {
                            tracing::warn!(error = %e, suppressed, "accept failed");
                        }
                        // Out of descriptors and the like: wait instead of spinning.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    if let Some(suppressed) = refusals.allow() {
                        tracing::warn!(%peer, limit = cap, suppressed, "connection refused: too many open connections");
                    }
                    drop(stream);
                    continue;
                };
                let Some(address_slot) = per_address.enter(peer.ip()) else {
                    if let Some(suppressed) = refusals.allow() {
                        tracing::warn!(%peer, limit = ?per_address.limit, suppressed, "connection refused: too many open connections from this address");
                    }
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let connection = Connection {
                    h1: h1.clone(),
                    h2: h2.clone(),
                    router: router.clone(),
                    stop: stop_rx.clone(),
                    idle_timeout,
                    peer,
                };
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _held = (slot, address_slot, crate::metrics::OpenConnection::count());
                    let deadline = tokio::time::Instant::now() + header_timeout;
                    match tls {
                        None => {
                            let Some(protocol) = sniff(&stream, deadline).await else { return };
                            connection.run(TokioIo::new(stream), protocol, false).await;
                        }
                        Some(acceptor) => {
                            // The handshake counts against the same first-bytes deadline.
                            let stream = match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, %peer, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => return,
                            };
                            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                            let protocol = if h2 { Protocol::Http2 } else { Protocol::Http1 };
                            connection.run(TokioIo::new(stream), protocol, true).await;
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("stopping: finishing in-flight requests");
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(settings.shutdown_grace_seconds);
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all)).await.is_err() {
        tracing::warn!(
            seconds = settings.shutdown_grace_seconds,
            "connections still open after the grace period; closing them"
        );
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    // The handlers are installed now, not when the future is first polled: a signal that
    // arrives between the "running" banner and the first poll must not kill the process.
    #[cfg(unix)]
    let (terminate, interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(terminate) => {},
                () = wait(interrupt) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Counts the request for `/metrics` under the route it matched.
fn observe(core: &CoreState, response: &Response, started: Instant) {
    let route = response.extensions().get::<crate::metrics::RouteLabel>().map(|r| r.0.as_str());
    core.metrics.observe(route, response.status().as_u16(), started.elapsed());
}

/// Middleware: one structured log line per request (when `log.requests` is on).
pub async fn request_log(State(core): State<CoreState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    if !core.settings.log.requests {
        let response = next.run(request).await;
        observe(&core, &response, started);
        return response;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let client =
        request.extensions().get::<ConnectInfo<SocketAddr>>().map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string());
    let response = next.run(request).await;
    observe(&core, &response, started);
    let status = response.status().as_u16();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(target: "quartet::request", %method, %path, status, ms = format!("{millis:.1}"), %client, "request");
    } else {
        tracing::info!(target: "quartet::request", %method, %path, status, ms = format!("{millis:.1}"), %client, "request");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_are_logged_at_most_once_a_second_with_the_rest_counted() {
        let mut throttle = LogThrottle::new();
        assert_eq!(throttle.allow(), Some(0));
        for _ in 0..20 {
            assert_eq!(throttle.allow(), None, "within the second");
        }
        throttle.last = throttle.last.map(|t| t - Duration::from_millis(1001));
        assert_eq!(throttle.allow(), Some(20), "the next line says how many were not logged");
    }

    #[test]
    fn one_address_gets_its_share_of_connections() {
        let table = PerAddress { limit: Some(2), open: Arc::default() };
        let ip: IpAddr = [127, 0, 0, 2].into();
        let (a, b) = (table.enter(ip).unwrap(), table.enter(ip).unwrap());
        assert!(table.enter(ip).is_none(), "a third from the same address");
        assert!(table.enter([127, 0, 0, 3].into()).is_some(), "another address");
        drop(a);
        assert!(table.enter(ip).is_some(), "a place is given back on close");
        drop(b);
        let unlimited = PerAddress { limit: None, open: Arc::default() };
        let held: Vec<_> = (0..1000).map(|_| unlimited.enter(ip).unwrap()).collect();
        assert_eq!(held.len(), 1000);
    }
}
