//! WebSockets (Django Channels' consumers): an app declares a socket route like a page route,
//! `.route("chat-room", "room/{id}/", ws::socket(ChatConsumer))`, and writes a [`Consumer`].
//!
//! Before the upgrade the platform checks the `Origin` against `allowed_hosts` (a page of
//! another site cannot open a socket with the visitor's cookies), reads the signed-in user from
//! the session cookie, refuses more than `channels.max_sockets` open sockets, and asks the
//! consumer's [`Consumer::connect`] (which may refuse, and names the groups to join). Then, per
//! socket:
//!
//! - a message over `channels.max_message_bytes` closes the socket (1009);
//! - more than `channels.messages_per_second` (bursts of twice that) close it (1008);
//! - an idle socket is pinged every `channels.ping_seconds`; one that sends nothing, not even a
//!   pong, for `channels.idle_timeout_seconds` is closed (1001);
//! - what is written to it waits in a buffer of `channels.send_buffer` messages: a client that
//!   does not read fast enough to make room within `channels.send_timeout_ms`, or that falls
//!   behind its group by more than `channels.group_buffer` messages, is disconnected (1013)
//!   instead of growing memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRef, FromRequestParts, RawPathParams, Request, State};
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Notify, mpsc};

use crate::app::CoreState;
use crate::auth::User;
use crate::channels::{ChannelError, GroupMessage, Received};
use crate::error::{Error, Result};

/// The read and write buffers of one socket.
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;

/// Close codes (RFC 6455).
pub mod close {
    /// The server is going away, or the socket was idle.
    pub const GOING_AWAY: u16 = 1001;
    /// A binary frame where text was expected.
    pub const UNSUPPORTED: u16 = 1003;
    /// Too many messages.
    pub const POLICY: u16 = 1008;
    /// A message too large.
    pub const TOO_BIG: u16 = 1009;
    /// The consumer failed.
    pub const SERVER_ERROR: u16 = 1011;
    /// The client did not keep up with what was sent to it.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// What a consumer knows of its socket.
#[derive(Debug, Clone)]
pub struct SocketInfo {
    /// The site's services.
    pub core: CoreState,
    /// The signed-in user, if any.
    pub user: Option<User>,
    /// The route's parameters, in order (`room/{id}/` → the id).
    pub params: Vec<String>,
    /// The language of the page that opened it.
    pub lang: String,
}

/// What a socket does (Django Channels' `AsyncWebsocketConsumer`).
#[async_trait::async_trait]
pub trait Consumer: Send + Sync + 'static {
    /// Accepts the socket and names the groups it joins, or refuses it (the error's status is
    /// the answer to the upgrade request: 403 for a visitor who may not, 404 for no such room).
    async fn connect(&self, socket: &SocketInfo) -> Result<Vec<String>>;

    /// A text message from the client.
    async fn receive(&self, socket: &SocketInfo, text: String, out: &Outbox) -> Result<()>;

    /// A message sent to one of the socket's groups; by default written to the client as it is.
    async fn group_message(&self, _socket: &SocketInfo, message: GroupMessage, out: &Outbox) {
        out.send(message.as_ref()).await;
    }

    /// The socket closed (for whatever reason).
    async fn disconnect(&self, _socket: &SocketInfo) {}
}

/// Writing to one socket, and to groups.
#[derive(Clone)]
pub struct Outbox {
    to_client: mpsc::Sender<Message>,
    core: CoreState,
    ending: Arc<Ending>,
    wait: Duration,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

/// Why the socket ends, once decided.
#[derive(Default)]
struct Ending {
    decided: AtomicBool,
    frame: std::sync::Mutex<Option<(u16, &'static str)>>,
    notify: Notify,
}

impl Ending {
    fn end(&self, code: u16, reason: &'static str) {
        if !self.decided.swap(true, Ordering::SeqCst) {
            *self.frame.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((code, reason));
            self.notify.notify_one();
        }
    }

    fn frame(&self) -> Option<(u16, &'static str)> {
        *self.frame.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Outbox {
    /// Writes `text` to the client. When its buffer is full the message waits at most
    /// `channels.send_timeout_ms` for room; then the socket closes and this returns `false`: a
    /// client that does not read is not kept.
    pub async fn send(&self, text: &str) -> bool {
        let message = Message::Text(Utf8Bytes::from(text));
        match tokio::time::timeout(self.wait, self.to_client.send(message)).await {
            Ok(Ok(())) => true,
            Ok(Err(_)) => false,
            Err(_) => {
                self.ending.end(close::TRY_AGAIN_LATER, "too slow");
                false
            }
        }
    }

    /// Sends `text` to every member of `group`, on every instance.
    pub async fn group_send(&self, group: &str, text: &str) -> std::result::Result<(), ChannelError> {
        self.core.channels.send(group, text).await
    }

    /// Closes the socket with `code` and `reason`.
    pub fn close(&self, code: u16, reason: &'static str) {
        self.ending.end(code, reason);
    }
}

/// A route answering WebSocket upgrades with `consumer` (any other request gets 400).
pub fn socket<S, C>(consumer: C) -> MethodRouter<S>
where
    C: Consumer,
    S: Clone + Send + Sync + 'static,
    CoreState: FromRef<S>,
{
    let consumer = Arc::new(consumer);
    get(move |State(core): State<CoreState>, request: Request| {
        let consumer = consumer.clone();
        async move { upgrade(core, consumer, request).await.unwrap_or_else(IntoResponse::into_response) }
    })
}

/// Whether the upgrade request comes from a page of this site: its `Origin` names an allowed
/// host (browsers always send one with a WebSocket handshake).
fn origin_allowed(parts: &Parts, core: &CoreState) -> bool {
    let Some(origin) = parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let Ok(url) = url::Url::parse(origin) else { return false };
    let Some(host) = url.host_str() else { return false };
    let allowed = crate::http::host::effective_allowed_hosts(&core.settings);
    let host = host.to_ascii_lowercase();
    allowed.iter().any(|pattern| pattern == "*" || crate::http::host::is_same_domain(&host, pattern))
        || core.settings.security.csrf_trusted_origins.iter().any(|trusted| trusted.trim_end_matches('/') == origin)
}

async fn upgrade(core: CoreState, consumer: Arc<dyn Consumer>, request: Request) -> Result<Response> {
    let (mut parts, _) = request.into_parts();
    let Ok(ws) = WebSocketUpgrade::from_request_parts(&mut parts, &()).await else {
        return Err(Error::bad_request("This address takes WebSocket connections only."));
    };
    if !origin_allowed(&parts, &core) {
        tracing::warn!(target: "quartet::security", origin = ?parts.headers.get(header::ORIGIN), path = %parts.uri.path(), "WebSocket refused: origin not allowed");
        return Err(Error::Forbidden("This socket may be opened from this site's pages only.".into()));
    }
    let Some(slot) = core.channels.open_socket(core.settings.channels.max_sockets) else {
        return Err(Error::Unavailable("sockets (channels.max_sockets)".into()));
    };
    let user = crate::auth::current_user(&parts, &core).await?;
    let params = match RawPathParams::from_request_parts(&mut parts, &()).await {
        Ok(raw) => raw.iter().map(|(_, v)| v.to_owned()).collect(),
        Err(_) => Vec::new(),
    };
    let lang = parts
        .extensions
        .get::<crate::i18n::Locale>()
        .map_or_else(|| core.i18n.default_language().to_owned(), |l| l.0.clone());
    let info = SocketInfo { core: core.clone(), user, params, lang };
    let groups = consumer.connect(&info).await?;
    // Joined before the upgrade is answered: whatever is sent to the groups from then on arrives.
    let mut subscriptions = Vec::with_capacity(groups.len());
    for group in &groups {
        subscriptions.push(core.channels.join(group).await);
    }
    let limit = core.settings.channels.max_message_bytes;
    // tungstenite's default buffers are 128 KiB each way, allocated per socket up front: 8 KiB
    // is plenty for chat-sized frames (a larger frame grows the read buffer up to the message
    // limit), and an idle socket costs a few KiB instead of about 140.
    Ok(ws
        .max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_write_buffer_size(SOCKET_BUFFER_BYTES + 2 * limit)
        .on_upgrade(move |socket| async move {
            run(socket, consumer, info, subscriptions).await;
            drop(slot);
        })
        .into_response())
}

/// A token bucket: `rate` a second, bursts of twice that.
struct Bucket {
    tokens: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u32) -> Self {
        let rate = f64::from(rate);
        Self { tokens: rate * 2.0, rate, at: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.rate * 2.0);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn run(
    socket: WebSocket,
    consumer: Arc<dyn Consumer>,
    info: SocketInfo,
    subscriptions: Vec<crate::channels::Subscription>,
) {
    let settings = info.core.settings.channels.clone();
    let (mut sink, mut stream) = socket.split();
    let (to_client, mut outgoing) = mpsc::channel::<Message>(settings.send_buffer);
    let ending = Arc::new(Ending::default());
    let wait = Duration::from_millis(settings.send_timeout_ms);
    let out = Outbox { to_client, core: info.core.clone(), ending: ending.clone(), wait };

    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
        sink
    });
    let mut members = Vec::with_capacity(subscriptions.len());
    for mut subscription in subscriptions {
        let (consumer, info, out) = (consumer.clone(), info.clone(), out.clone());
        members.push(tokio::spawn(async move {
            loop {
                match subscription.recv().await {
                    Received::Message(message) => consumer.group_message(&info, message, &out).await,
                    Received::Lagged(_) => return out.close(close::TRY_AGAIN_LATER, "too slow"),
                    Received::Closed => return,
                }
            }
        }));
    }

    let mut bucket = Bucket::new(settings.messages_per_second);
    let mut last_seen = Instant::now();
    let mut pings = tokio::time::interval(Duration::from_secs(settings.ping_seconds));
    pings.tick().await;
    let idle = Duration::from_secs(settings.idle_timeout_seconds);
    loop {
        tokio::select! {
            () = ending.notify.notified() => break,
            _ = pings.tick() => {
                if last_seen.elapsed() >= idle {
                    ending.end(close::GOING_AWAY, "idle");
                    break;
                }
                // A full buffer is a socket being written to: it needs no ping.
                let _ = out.to_client.try_send(Message::Ping(Default::default()));
            }
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else {
                    if let Some(Err(e)) = frame {
                        // Above the size limit among others: the peer is told when it can be.
                        let too_big = e.to_string().to_ascii_lowercase().contains("too long");
                        ending.end(if too_big { close::TOO_BIG } else { close::GOING_AWAY }, "");
                    }
                    break;
                };
                last_seen = Instant::now();
                match frame {
                    Message::Text(text) => {
                        if !bucket.take() {
                            ending.end(close::POLICY, "too many messages");
                            break;
                        }
                        if let Err(e) = consumer.receive(&info, text.to_string(), &out).await {
                            tracing::warn!(target: "quartet::ws", error = %e, "a consumer failed; the socket is closed");
                            ending.end(close::SERVER_ERROR, "");
                            break;
                        }
                    }
                    Message::Binary(_) => {
                        ending.end(close::UNSUPPORTED, "text only");
                        break;
                    }
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
        }
    }
    for member in members {
        member.abort();
    }
    consumer.disconnect(&info).await;
    let frame = ending.frame();
    drop(out);
    // A writer stuck on a client that does not read is not waited for.
    let mut writer = writer;
    match tokio::time::timeout(Duration::from_secs(1), &mut writer).await {
        Ok(Ok(mut sink)) => {
            if let Some((code, reason)) = frame {
                let close = Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }));
                let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(close)).await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
        }
        _ => {
            writer.abort();
            tracing::info!(target: "quartet::ws", "a socket that did not read was dropped");
        }
    }
}
