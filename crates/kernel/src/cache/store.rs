//! Where cached bytes live: the [`CacheStore`] trait and the memory and empty stores (Redis and
//! Memcached are in their own modules).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

/// Why a store could not answer: it is down, slow or said something unexpected. The cache treats
/// every such error as a miss and stops asking for a while.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// An error with this text.
    pub fn new(text: impl std::fmt::Display) -> Self {
        Self(text.to_string())
    }
}

/// The answer of a store.
pub type StoreResult<T> = Result<T, StoreError>;

/// A place cached bytes can be kept and shared: this process's memory, Redis or Memcached.
#[async_trait::async_trait]
pub trait CacheStore: Send + Sync {
    /// The backend's name for logs and `/readyz` (`memory`, `redis`, `memcached`, `none`).
    fn name(&self) -> &'static str;

    /// Whether the values live outside this process (other instances see them).
    fn shared(&self) -> bool {
        true
    }

    /// The value under `key`.
    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>>;

    /// The values under `keys`, in order.
    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>>;

    /// Keeps `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> StoreResult<()>;

    /// Keeps `value` under `key` unless the key exists; whether it was kept. `ttl` of `None`
    /// keeps it until evicted.
    async fn add(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> StoreResult<bool>;

    /// Forgets `key`.
    async fn delete(&self, key: &str) -> StoreResult<()>;

    /// Adds `by` to the number under `key` and returns the sum; `None` when the key is missing
    /// (it is not created: a version that was evicted must not start again from 1).
    async fn incr(&self, key: &str, by: u64) -> StoreResult<Option<u64>>;

    /// Forgets every key of this site (the keys under `prefix`, or everything where the store
    /// cannot list keys).
    async fn clear(&self, prefix: &str) -> StoreResult<()>;

    /// Checks the store answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Announces `message` on `channel` to every instance that listens (Redis `PUBLISH`);
    /// stores without messaging do nothing.
    async fn publish(&self, _channel: &str, _message: &str) -> StoreResult<()> {
        Ok(())
    }
}

/// A slot of the memory store: bytes (shared with the other cache levels) or a value kept as
/// it is, never serialised (the in-process tier).
#[derive(Clone)]
pub(crate) enum Slot {
    Bytes(Bytes),
    Value(Arc<dyn Any + Send + Sync>, u32),
}

impl Slot {
    fn weight(&self) -> u32 {
        match self {
            Slot::Bytes(b) => u32::try_from(b.len()).unwrap_or(u32::MAX),
            Slot::Value(_, w) => *w,
        }
    }
}

/// Numbers kept without a time limit (namespace versions): one per namespace, never evicted.
#[derive(Default)]
struct Counters(Mutex<HashMap<String, u64>>);

impl Counters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, key: &str) -> Option<Bytes> {
        self.lock().get(key).map(|n| Bytes::from(n.to_string()))
    }

    /// Adds a counter from `value` (a number) unless it exists.
    fn add(&self, key: &str, value: &[u8]) -> StoreResult<bool> {
        let Some(n) = std::str::from_utf8(value).ok().and_then(|s| s.parse::<u64>().ok()) else {
            return Err(StoreError::new("only numbers are kept without a time limit"));
        };
        let mut counters = self.lock();
        if counters.contains_key(key) {
            return Ok(false);
        }
        counters.insert(key.to_owned(), n);
        Ok(true)
    }

    fn incr(&self, key: &str, by: u64) -> Option<u64> {
        self.lock().get_mut(key).map(|n| {
            *n = n.saturating_add(by);
            *n
        })
    }

    fn remove(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// This process's memory (moka), bounded by weight (`cache.max_bytes`) and time.
pub struct MemoryStore {
    pub(crate) slots: moka::future::Cache<String, Slot>,
    /// Counters (namespace versions) live apart from the bounded entries: never evicted.
    counters: Counters,
}

impl MemoryStore {
    /// A store keeping at most about `max_bytes`, each entry at most `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        let slots = moka::future::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, slot: &Slot| slot.weight().saturating_add(u32::try_from(key.len()).unwrap_or(0)))
            .time_to_live(ttl)
            .build();
        Self { slots, counters: Counters::default() }
    }

    /// The weight of what is kept (tests and metrics).
    pub async fn weighted_size(&self) -> u64 {
        self.slots.run_pending_tasks().await;
        self.slots.weighted_size()
    }
}

#[async_trait::async_trait]
impl CacheStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn shared(&self) -> bool {
        false
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        Ok(match self.slots.get(key).await {
            Some(Slot::Bytes(b)) => Some(b),
            _ => None,
        })
    }

    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            // Counters are read through `get_many` too (versions).
            out.push(match self.counters.get(key) {
                Some(n) => Some(n),
                None => self.get(key).await?,
            });
        }
        Ok(out)
    }

    async fn set(&self, key: &str, value: Bytes, _ttl: Duration) -> StoreResult<()> {
        self.slots.insert(key.to_owned(), Slot::Bytes(value)).await;
        Ok(())
    }

    async fn add(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> StoreResult<bool> {
        if ttl.is_none() {
            // Kept until the process ends: a counter.
            return self.counters.add(key, &value);
        }
        let entry = self.slots.entry(key.to_owned()).or_insert(Slot::Bytes(value)).await;
        Ok(entry.is_fresh())
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.slots.invalidate(key).await;
        self.counters.remove(key);
        Ok(())
    }

    async fn incr(&self, key: &str, by: u64) -> StoreResult<Option<u64>> {
        Ok(self.counters.incr(key, by))
    }

    async fn clear(&self, _prefix: &str) -> StoreResult<()> {
        self.slots.invalidate_all();
        self.counters.lock().clear();
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// No store: nothing is kept (`cache.backend = "none"`, Django's `DummyCache`). Counters still
/// count, so versions stay coherent within the process.
#[derive(Default)]
pub struct NoStore {
    counters: Counters,
}

#[async_trait::async_trait]
impl CacheStore for NoStore {
    fn name(&self) -> &'static str {
        "none"
    }

    fn shared(&self) -> bool {
        false
    }

    async fn get(&self, _key: &str) -> StoreResult<Option<Bytes>> {
        Ok(None)
    }

    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        Ok(keys.iter().map(|k| self.counters.get(k)).collect())
    }

    async fn set(&self, _key: &str, _value: Bytes, _ttl: Duration) -> StoreResult<()> {
        Ok(())
    }

    async fn add(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> StoreResult<bool> {
        if ttl.is_some() {
            return Ok(false);
        }
        self.counters.add(key, &value)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.counters.remove(key);
        Ok(())
    }

    async fn incr(&self, key: &str, by: u64) -> StoreResult<Option<u64>> {
        Ok(self.counters.incr(key, by))
    }

    async fn clear(&self, _prefix: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
