//! Namespace versions kept in this process while it hears every bump (Redis pub/sub), so a
//! cached page costs no round trip to Redis and a change made on any instance is still seen by
//! every instance as soon as its announcement arrives (Redis writes it to every subscriber
//! before `PUBLISH` returns to the instance that bumped).
//!
//! The versions are trusted only while the subscription is live. When it drops, they are
//! forgotten and each request reads them from the store again (or bypasses a store that is
//! down); when it is back, the instance starts from nothing. A version read from the store is
//! kept only if no reconnection happened since the read began (an `epoch`), and versions only
//! grow, so an announcement and a read that cross keep the newer one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{RwLock, Weak};
use std::time::Duration;

use futures_util::StreamExt as _;

/// Versions heard, and whether they can be trusted.
#[derive(Debug, Default)]
pub(crate) struct Watched {
    live: AtomicBool,
    epoch: AtomicU64,
    known: RwLock<HashMap<String, u64>>,
}

impl Watched {
    /// The versions of `namespaces`, if every one is known and the subscription is live.
    pub(crate) fn get(&self, namespaces: &[&str]) -> Option<Vec<u64>> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let known = self.known.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        namespaces.iter().map(|n| known.get(*n).copied()).collect()
    }

    /// The current epoch: take it before reading versions from the store.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Keeps versions read from the store since `epoch`, unless the subscription changed since.
    pub(crate) fn learn(&self, epoch: u64, versions: &[(&str, u64)]) {
        let mut known = self.known.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !self.live.load(Ordering::Acquire) || self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        for (namespace, version) in versions {
            let entry = known.entry((*namespace).to_owned()).or_default();
            *entry = (*entry).max(*version);
        }
    }

    /// An announced version (or this instance's own bump).
    pub(crate) fn heard(&self, namespace: &str, version: u64) {
        let mut known = self.known.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = known.entry(namespace.to_owned()).or_default();
        *entry = (*entry).max(version);
    }

    /// Forgets every version; trusted from now on only if `live`.
    fn reset(&self, live: bool) {
        let mut known = self.known.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        known.clear();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.live.store(live, Ordering::Release);
    }
}

/// `namespace version`, as announced.
pub(crate) fn announcement(namespace: &str, version: u64) -> String {
    format!("{version} {namespace}")
}

fn parse(message: &str) -> Option<(&str, u64)> {
    let (version, namespace) = message.split_once(' ')?;
    Some((namespace, version.parse().ok()?))
}

/// Subscribes to `channel` and keeps `watched` up to date until it is dropped; connects again
/// after `retry` when the subscription fails.
pub(crate) async fn run(
    client: redis::Client,
    channel: String,
    watched: Weak<Watched>,
    timeout: Duration,
    retry: Duration,
) {
    loop {
        let Some(strong) = watched.upgrade() else { return };
        strong.reset(false);
        drop(strong);
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let mut pubsub = match tokio::time::timeout(timeout * 4, subscribed).await {
            Ok(Ok(pubsub)) => pubsub,
            _ => {
                tokio::time::sleep(retry).await;
                continue;
            }
        };
        // Subscribed: every bump from now on arrives, so versions read from now on can be kept.
        match watched.upgrade() {
            Some(strong) => strong.reset(true),
            None => return,
        }
        let mut messages = pubsub.on_message();
        loop {
            tokio::select! {
                message = messages.next() => {
                    let Some(message) = message else { break };
                    let Ok(text) = message.get_payload::<String>() else { continue };
                    let (Some((namespace, version)), Some(strong)) = (parse(&text), watched.upgrade()) else { continue };
                    strong.heard(namespace, version);
                }
                () = tokio::time::sleep(Duration::from_secs(5)) => {
                    if watched.upgrade().is_none() {
                        return;
                    }
                }
            }
        }
        tracing::debug!(target: "quartet::cache", "the subscription to version announcements ended; reading versions from the store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_trusted_only_while_live_and_only_grow() {
        let watched = Watched::default();
        watched.heard("blog", 5);
        assert_eq!(watched.get(&["blog"]), None, "not live yet");
        watched.reset(true);
        assert_eq!(watched.get(&["blog"]), None, "forgotten on (re)subscribing");
        let epoch = watched.epoch();
        watched.heard("blog", 7);
        watched.learn(epoch, &[("blog", 6), ("tags", 3)]);
        assert_eq!(watched.get(&["blog", "tags"]), Some(vec![7, 3]), "the newer of read and heard");
        assert_eq!(watched.get(&["blog", "other"]), None, "all or nothing");
        let stale = watched.epoch();
        watched.reset(true);
        watched.learn(stale, &[("blog", 1)]);
        assert_eq!(watched.get(&["blog"]), None, "a read from before a reconnection is not kept");
        watched.reset(false);
        watched.heard("blog", 9);
        assert_eq!(watched.get(&["blog"]), None, "not trusted while the subscription is down");
        assert_eq!(parse(&announcement("blog.post", 42)), Some(("blog.post", 42)));
        assert_eq!(parse("garbage"), None);
    }
}
