//! The channel layer (Django Channels' groups): sockets join groups, and a message sent to a
//! group reaches every socket in it, on every instance. In this process's memory by default
//! (`channels.backend = "memory"`), Redis pub/sub in production (`"redis"`), so a message sent
//! on instance A reaches the sockets instance B holds.
//!
//! Every buffer is bounded: a group keeps at most `channels.group_buffer` messages for its
//! slowest reader, and a reader that falls further behind is told it lagged (the socket layer
//! then disconnects it, [`crate::ws`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};

use crate::config::{ChannelsBackendKind, Settings};

/// A message as groups carry it (text, shared by every reader).
pub type GroupMessage = Arc<str>;

/// Why a message could not be sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the channel layer is unavailable: {0}")]
pub struct ChannelError(pub String);

/// Membership of one group: the messages sent to it from now on. Leaving is dropping it.
pub struct Subscription {
    receiver: broadcast::Receiver<GroupMessage>,
    group: String,
    groups: Weak<Groups>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("group", &self.group).finish_non_exhaustive()
    }
}

/// What a member reads next.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// A message.
    Message(GroupMessage),
    /// The member fell behind by this many messages (it is too slow for the group).
    Lagged(u64),
    /// The layer is gone.
    Closed,
}

impl Subscription {
    /// The group's name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The next message sent to the group.
    pub async fn recv(&mut self) -> Received {
        match self.receiver.recv().await {
            Ok(message) => Received::Message(message),
            Err(broadcast::error::RecvError::Lagged(n)) => Received::Lagged(n),
            Err(broadcast::error::RecvError::Closed) => Received::Closed,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(groups) = self.groups.upgrade() {
            groups.leave(&self.group);
        }
    }
}

/// The groups of this process: one bounded broadcast per group that has members here.
struct Groups {
    by_name: Mutex<HashMap<String, broadcast::Sender<GroupMessage>>>,
    buffer: usize,
    /// Told when a group gains its first member here or loses its last (Redis subscribes and
    /// unsubscribes then).
    changes: Option<mpsc::UnboundedSender<Change>>,
}

enum Change {
    /// A group's first member here: subscribe, then say so.
    Joined(String, tokio::sync::oneshot::Sender<()>),
    Left(String),
}

impl Groups {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<GroupMessage>>> {
        self.by_name.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Joins `group`; for a group new here, also what says when Redis has subscribed to it.
    fn join(self: &Arc<Self>, group: &str) -> (Subscription, Option<tokio::sync::oneshot::Receiver<()>>) {
        let mut by_name = self.lock();
        let mut subscribed = None;
        let receiver = match by_name.get(group) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = broadcast::channel(self.buffer);
                by_name.insert(group.to_owned(), sender);
                if let Some(changes) = &self.changes {
                    let (done, wait) = tokio::sync::oneshot::channel();
                    let _ = changes.send(Change::Joined(group.to_owned(), done));
                    subscribed = Some(wait);
                }
                receiver
            }
        };
        (Subscription { receiver, group: group.to_owned(), groups: Arc::downgrade(self) }, subscribed)
    }

    fn leave(&self, group: &str) {
        let mut by_name = self.lock();
        // The member leaving still counts until its receiver is dropped, after this.
        if by_name.get(group).is_some_and(|sender| sender.receiver_count() <= 1) {
            by_name.remove(group);
            if let Some(changes) = &self.changes {
                let _ = changes.send(Change::Left(group.to_owned()));
            }
        }
    }

    /// Hands `message` to the members of `group` in this process.
    fn deliver(&self, group: &str, message: GroupMessage) {
        if let Some(sender) = self.lock().get(group) {
            let _ = sender.send(message);
        }
    }

    fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Groups with members here, and members in all.
    fn counts(&self) -> (usize, usize) {
        let by_name = self.lock();
        (by_name.len(), by_name.values().map(broadcast::Sender::receiver_count).sum())
    }
}

/// The site's channel layer.
pub struct ChannelLayer {
    groups: Arc<Groups>,
    redis: Option<RedisFanOut>,
    sockets: Arc<std::sync::atomic::AtomicUsize>,
}

/// One open socket, counted while it lives.
#[derive(Debug)]
pub struct SocketSlot(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl std::fmt::Debug for ChannelLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelLayer").field("backend", &self.backend()).finish_non_exhaustive()
    }
}

/// The Redis side: a connection for `PUBLISH`, and a task holding the `SUBSCRIBE` connection.
struct RedisFanOut {
    publish: redis::aio::ConnectionManager,
    prefix: String,
    timeout: Duration,
    health: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RedisFanOut {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ChannelLayer {
    /// The layer `settings` configure (Redis is connected in the background, and again after a
    /// failure, every `redis.retry_seconds`).
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let buffer = settings.channels.group_buffer.max(1);
        match settings.channels.backend {
            ChannelsBackendKind::Memory => Ok(Self::memory(buffer)),
            ChannelsBackendKind::Redis => Self::redis(
                settings.redis.url.expose(),
                &settings.channels.key_prefix,
                buffer,
                Duration::from_millis(settings.redis.io_timeout_ms),
                Duration::from_secs(settings.redis.retry_seconds.max(1)),
            ),
        }
    }

    /// Groups in this process only.
    pub fn memory(buffer: usize) -> Self {
        Self {
            groups: Arc::new(Groups { by_name: Mutex::default(), buffer, changes: None }),
            redis: None,
            sockets: Arc::default(),
        }
    }

    /// Groups shared through the Redis server at `url`, channels named `<prefix><group>`.
    pub fn redis(url: &str, prefix: &str, buffer: usize, timeout: Duration, retry: Duration) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("redis.url (channels.backend = \"redis\"): {e}"))?;
        let publish = crate::redis_client::connection(url, timeout)?;
        let (changes, commands) = mpsc::unbounded_channel();
        let groups = Arc::new(Groups { by_name: Mutex::default(), buffer, changes: Some(changes) });
        let health = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = tokio::spawn(subscriber(
            client,
            prefix.to_owned(),
            Arc::downgrade(&groups),
            commands,
            health.clone(),
            timeout,
            retry,
        ));
        Ok(Self {
            groups,
            redis: Some(RedisFanOut { publish, prefix: prefix.to_owned(), timeout, health, task }),
            sockets: Arc::default(),
        })
    }

    /// `memory` or `redis`.
    pub fn backend(&self) -> &'static str {
        if self.redis.is_some() { "redis" } else { "memory" }
    }

    /// Joins `group`: the messages sent to it from now on, on every instance. On Redis the
    /// first member of a group here waits (at most twice `redis.io_timeout_ms`) until Redis has
    /// subscribed, so what is sent after `join` returns is received.
    pub async fn join(&self, group: &str) -> Subscription {
        let (subscription, subscribed) = self.groups.join(group);
        if let (Some(wait), Some(redis)) = (subscribed, &self.redis)
            && redis.health.load(std::sync::atomic::Ordering::Relaxed)
        {
            let _ = tokio::time::timeout(redis.timeout * 2, wait).await;
        }
        subscription
    }

    /// Sends `message` to every member of `group`, on every instance.
    pub async fn send(&self, group: &str, message: &str) -> Result<(), ChannelError> {
        let Some(redis) = &self.redis else {
            self.groups.deliver(group, Arc::from(message));
            return Ok(());
        };
        // Published only: this instance's members get it back from Redis, as everyone else does.
        let command = redis::cmd("PUBLISH").arg(format!("{}{group}", redis.prefix)).arg(message).clone();
        crate::redis_client::run::<i64>(&redis.publish, redis.timeout, &command)
            .await
            .map(|_| ())
            .map_err(|e| ChannelError(e.0))
    }

    /// Whether messages can cross instances now (always, in memory; while the subscription
    /// connection is up, on Redis).
    pub fn is_up(&self) -> bool {
        self.redis.as_ref().is_none_or(|r| r.health.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Checks the layer can send (`/readyz`).
    pub async fn ping(&self) -> Result<(), ChannelError> {
        let Some(redis) = &self.redis else { return Ok(()) };
        crate::redis_client::run::<String>(&redis.publish, redis.timeout, &redis::cmd("PING"))
            .await
            .map(|_| ())
            .map_err(|e| ChannelError(e.0))?;
        if !self.is_up() {
            return Err(ChannelError("the subscription connection is not up yet".into()));
        }
        Ok(())
    }

    /// Counts a new socket, unless `max` are open.
    pub fn open_socket(&self, max: usize) -> Option<SocketSlot> {
        use std::sync::atomic::Ordering;
        self.sockets.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < max).then_some(n + 1)).ok()?;
        Some(SocketSlot(self.sockets.clone()))
    }

    /// Sockets open now.
    pub fn open_sockets(&self) -> usize {
        self.sockets.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Groups with members in this process, and their members in all (metrics).
    pub fn counts(&self) -> (usize, usize) {
        self.groups.counts()
    }
}

/// Holds the Redis subscription: subscribes to the groups that have members here, hands what
/// arrives to them, and after a failure connects again and subscribes to them all again.
async fn subscriber(
    client: redis::Client,
    prefix: String,
    groups: Weak<Groups>,
    mut commands: mpsc::UnboundedReceiver<Change>,
    health: Arc<std::sync::atomic::AtomicBool>,
    timeout: Duration,
    retry: Duration,
) {
    use std::sync::atomic::Ordering;
    let mut logged_down = false;
    loop {
        let connected = tokio::time::timeout(timeout * 4, client.get_async_pubsub()).await;
        let pubsub = match connected {
            Ok(Ok(pubsub)) => pubsub,
            failed => {
                if !logged_down {
                    let error = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "no answer".to_owned(),
                    };
                    tracing::warn!(target: "quartet::channels", %error, "the channel layer cannot reach Redis; sockets get no messages from other instances");
                    logged_down = true;
                }
                health.store(false, Ordering::Relaxed);
                // Changes made meanwhile are read from the groups when connected again.
                while commands.try_recv().is_ok() {}
                tokio::time::sleep(retry).await;
                if groups.upgrade().is_none() {
                    return;
                }
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let Some(current) = groups.upgrade().map(|g| g.names()) else { return };
        let channels: Vec<String> = current.iter().map(|g| format!("{prefix}{g}")).collect();
        if !channels.is_empty() && sink.subscribe(&channels).await.is_err() {
            tokio::time::sleep(retry).await;
            continue;
        }
        if logged_down {
            tracing::info!(target: "quartet::channels", "the channel layer reaches Redis again");
            logged_down = false;
        }
        health.store(true, Ordering::Relaxed);
        loop {
            tokio::select! {
                change = commands.recv() => {
                    let result = match change {
                        Some(Change::Joined(group, done)) => {
                            let result = sink.subscribe(format!("{prefix}{group}")).await;
                            let _ = done.send(());
                            result
                        }
                        Some(Change::Left(group)) => sink.unsubscribe(format!("{prefix}{group}")).await,
                        None => return,
                    };
                    if result.is_err() {
                        break;
                    }
                }
                message = stream.next() => {
                    let Some(message) = message else { break };
                    let Some(groups) = groups.upgrade() else { return };
                    let channel = message.get_channel_name();
                    let (Some(group), Ok(text)) = (channel.strip_prefix(&prefix), message.get_payload::<String>()) else {
                        continue;
                    };
                    groups.deliver(group, Arc::from(text));
                }
            }
        }
        health.store(false, Ordering::Relaxed);
        tracing::warn!(target: "quartet::channels", "the Redis subscription was lost; connecting again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_reaches_every_member_of_its_group_only() {
        let layer = ChannelLayer::memory(8);
        let (mut a, mut b, mut other) =
            (layer.join("room.1").await, layer.join("room.1").await, layer.join("room.2").await);
        layer.send("room.1", "hello").await.unwrap();
        assert_eq!(a.recv().await, Received::Message(Arc::from("hello")));
        assert_eq!(b.recv().await, Received::Message(Arc::from("hello")));
        layer.send("room.2", "there").await.unwrap();
        assert_eq!(other.recv().await, Received::Message(Arc::from("there")), "room.2 got only its own");
        layer.send("room.9", "nobody").await.unwrap();
        assert_eq!(layer.counts(), (2, 3));
    }

    #[tokio::test]
    async fn groups_are_forgotten_with_their_last_member_and_buffers_are_bounded() {
        let layer = ChannelLayer::memory(4);
        let fast = layer.join("room").await;
        let mut slow = layer.join("room").await;
        drop(fast);
        assert_eq!(layer.counts(), (1, 1));
        for n in 0..10 {
            layer.send("room", &n.to_string()).await.unwrap();
        }
        assert_eq!(slow.recv().await, Received::Lagged(6), "a reader behind by more than the buffer is told");
        assert_eq!(slow.recv().await, Received::Message(Arc::from("6")));
        drop(slow);
        assert_eq!(layer.counts(), (0, 0), "no member, no group");
    }
}
