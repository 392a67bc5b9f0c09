//! The key-value store: counters and rankings (a view count per image, the most viewed images,
//! products bought together). Tables in the database by default (`kv.backend = "database"`),
//! Redis in production (`"redis"`, at `redis.url`: string counters and sorted sets).
//!
//! ```ignore
//! let views = core.kv.incr(&format!("image:{id}:views"), 1).await?;
//! core.kv.zincrby("image_ranking", &id.to_string(), 1.0).await?;
//! let top = core.kv.ztop("image_ranking", 10).await?;
//! ```
//!
//! `quartet serve` batches increments ([`Kv::start_batching`], `kv.flush_interval_ms`): they
//! are added in memory and written together about once a second and when the server stops, so
//! reads (`get`, `ztop`) are exact after a write. An increment of a key held in memory never
//! waits, so a request its client abandons either counted in full or not at all.
//!
//! Every call answers within `redis.io_timeout_ms` on Redis. A store that fails is not asked
//! again for `redis.retry_seconds`: calls then fail at once with [`KvError::Unavailable`], and
//! the page that asked shows no count or ranking rather than an error (see each app).

mod batch;
mod database;
mod redis;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use batch::Batch;
pub use batch::{Member, Writes};

pub use database::DatabaseKv;
pub use redis::RedisKv;

use crate::config::{KvBackendKind, Settings};

/// The longest key or member, in bytes (the database columns hold 200).
pub const MAX_KEY_BYTES: usize = 200;
/// The most sets one union reads, and the most members it leaves out.
pub const MAX_UNION: usize = 100;

/// Why the store could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KvError {
    /// The store is down or did not answer in time (the caller shows its page without the
    /// figures).
    #[error("the key-value store is unavailable: {0}")]
    Unavailable(String),
    /// A key, member or list too long (a programming error: keys are made by apps).
    #[error("{0}")]
    Invalid(String),
}

/// The answer of the store.
pub type KvResult<T> = Result<T, KvError>;

/// A place for counters and sorted sets.
#[async_trait::async_trait]
pub trait KvStore: Send + Sync {
    /// `database` or `redis`.
    fn name(&self) -> &'static str;
    /// Adds `by` to the counter `key` (made at 0) and returns the new value.
    async fn incr(&self, key: &str, by: i64) -> KvResult<i64>;
    /// The counters of `keys`, in order (`None` for a missing one).
    async fn get_many(&self, keys: &[String]) -> KvResult<Vec<Option<i64>>>;
    /// Adds `by` to the score of `member` in the sorted set `set` and returns the new score.
    async fn zincrby(&self, set: &str, member: &str, by: f64) -> KvResult<f64>;
    /// The score of `member` in `set`.
    async fn zscore(&self, set: &str, member: &str) -> KvResult<Option<f64>>;
    /// The `n` members of `set` with the highest scores, highest first (ties: the greater
    /// member first, as Redis orders them).
    async fn ztop(&self, set: &str, n: usize) -> KvResult<Vec<(String, f64)>>;
    /// The `n` members with the highest summed scores over `sets`, less the members in
    /// `exclude` (Redis's `ZUNIONSTORE` then `ZREM`: "bought together").
    async fn zunion_top(&self, sets: &[String], exclude: &[String], n: usize) -> KvResult<Vec<(String, f64)>>;
    /// Removes every counter and set whose key starts with `prefix`; returns how many.
    async fn delete_prefix(&self, prefix: &str) -> KvResult<u64>;
    /// Checks the store answers.
    async fn ping(&self) -> KvResult<()>;
    /// Adds every counter and score of `writes` and answers their new values (a store writes
    /// them together where it can: the database in one transaction).
    async fn apply(&self, writes: &Writes) -> KvResult<(Vec<(String, i64)>, Vec<(Member, f64)>)> {
        let mut counters = Vec::with_capacity(writes.counters.len());
        for (key, by) in &writes.counters {
            counters.push((key.clone(), self.incr(key, *by).await?));
        }
        let mut scores = Vec::with_capacity(writes.scores.len());
        for ((set, member), by) in &writes.scores {
            scores.push(((set.clone(), member.clone()), self.zincrby(set, member, *by).await?));
        }
        Ok((counters, scores))
    }
}

/// The site's key-value store, with the bypass of a store that failed.
pub struct Kv {
    store: Arc<dyn KvStore>,
    retry: Duration,
    down_until: AtomicU64,
    /// Set by [`Kv::start_batching`].
    batch: OnceLock<Arc<Batch>>,
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kv").field("store", &self.store.name()).finish_non_exhaustive()
    }
}

fn now_millis() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

fn check_key(key: &str) -> KvResult<()> {
    if key.len() > MAX_KEY_BYTES || key.is_empty() {
        return Err(KvError::Invalid(format!("a key-value key must have 1 to {MAX_KEY_BYTES} bytes (`{key:.40}`)")));
    }
    Ok(())
}

impl Kv {
    /// The store `settings` configure (Redis is connected on first use).
    pub fn new(settings: &Settings, db: crate::db::Db) -> anyhow::Result<Self> {
        let store: Box<dyn KvStore> = match settings.kv.backend {
            KvBackendKind::Database => Box::new(DatabaseKv::new(db)),
            KvBackendKind::Redis => Box::new(RedisKv::new(
                settings.redis.url.expose(),
                &settings.kv.key_prefix,
                Duration::from_millis(settings.redis.io_timeout_ms),
            )?),
        };
        Ok(Self::with_store(store, Duration::from_secs(settings.redis.retry_seconds)))
    }

    /// A store of the tests' choosing.
    pub fn with_store(store: Box<dyn KvStore>, retry: Duration) -> Self {
        Self { store: Arc::from(store), retry, down_until: AtomicU64::new(0), batch: OnceLock::new() }
    }

    /// From now on, holds increments of at most `max_keys` keys in memory and writes them
    /// every `interval` (and at [`Kv::flush`]) — `quartet serve` does this, as
    /// `kv.flush_interval_ms` and `kv.buffer_keys` say. The writer stops when the
    /// store is dropped. A second call changes nothing.
    pub fn start_batching(&self, interval: Duration, max_keys: usize) {
        if interval.is_zero() || max_keys == 0 || self.batch.get().is_some() {
            return;
        }
        let batch = Arc::new(Batch::new(max_keys));
        if self.batch.set(batch.clone()).is_err() {
            return;
        }
        let (batch, store) = (Arc::downgrade(&batch), Arc::downgrade(&self.store));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let (Some(batch), Some(store)) = (batch.upgrade(), store.upgrade()) else { break };
                if let Err(e) = batch.write(store.as_ref()).await {
                    tracing::warn!(target: "quartet::kv", store = store.name(), error = %e, "counts not written; kept for the next try");
                }
            }
        });
    }

    /// Writes the increments held in memory (when batching); answers how many counters and
    /// scores it wrote. `quartet serve` calls it once the server has drained.
    pub async fn flush(&self) -> KvResult<usize> {
        match self.batch.get() {
            Some(batch) => batch.write(self.store.as_ref()).await,
            None => Ok(0),
        }
    }

    /// `database` or `redis`.
    pub fn backend(&self) -> &'static str {
        self.store.name()
    }

    /// Whether calls fail at once because the store failed a moment ago.
    pub fn is_down(&self) -> bool {
        now_millis() < self.down_until.load(Ordering::Relaxed)
    }

    async fn call<T>(&self, call: impl std::future::Future<Output = KvResult<T>>) -> KvResult<T> {
        if self.is_down() {
            return Err(KvError::Unavailable(format!(
                "{} failed less than {} s ago",
                self.store.name(),
                self.retry.as_secs()
            )));
        }
        let result = call.await;
        if let Err(KvError::Unavailable(e)) = &result {
            let was_up = !self.is_down();
            let retry = u64::try_from(self.retry.as_millis()).unwrap_or(u64::MAX);
            self.down_until.store(now_millis().saturating_add(retry), Ordering::Relaxed);
            if was_up {
                tracing::warn!(target: "quartet::kv", store = self.store.name(), error = %e, "the key-value store did not answer; counts and rankings are hidden");
            }
        }
        result
    }

    /// Adds `by` to the counter `key` and returns the new value.
    pub async fn incr(&self, key: &str, by: i64) -> KvResult<i64> {
        check_key(key)?;
        if let Some(batch) = self.batch.get() {
            let read = async {
                Ok(self.call(self.store.get_many(&[key.to_owned()])).await?.first().copied().flatten().unwrap_or(0))
            };
            if let Some(value) = batch.incr(key, by, read).await? {
                return Ok(value);
            }
        }
        self.call(self.store.incr(key, by)).await
    }

    /// The counter `key` (0 when missing).
    pub async fn get(&self, key: &str) -> KvResult<i64> {
        Ok(self.get_many(&[key.to_owned()]).await?.first().copied().flatten().unwrap_or(0))
    }

    /// The counters of `keys`, in order (`None` for a missing one).
    pub async fn get_many(&self, keys: &[String]) -> KvResult<Vec<Option<i64>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        keys.iter().try_for_each(|k| check_key(k))?;
        self.call(self.store.get_many(keys)).await
    }

    /// Adds `by` to the score of `member` in `set` and returns the new score.
    pub async fn zincrby(&self, set: &str, member: &str, by: f64) -> KvResult<f64> {
        check_key(set)?;
        check_key(member)?;
        if let Some(batch) = self.batch.get() {
            let read = async { Ok(self.call(self.store.zscore(set, member)).await?.unwrap_or(0.0)) };
            if let Some(value) = batch.zincrby(set, member, by, read).await? {
                return Ok(value);
            }
        }
        self.call(self.store.zincrby(set, member, by)).await
    }

    /// The score of `member` in `set`.
    pub async fn zscore(&self, set: &str, member: &str) -> KvResult<Option<f64>> {
        check_key(set)?;
        check_key(member)?;
        self.call(self.store.zscore(set, member)).await
    }

    /// The `n` best members of `set`, best first.
    pub async fn ztop(&self, set: &str, n: usize) -> KvResult<Vec<(String, f64)>> {
        check_key(set)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        self.call(self.store.ztop(set, n)).await
    }

    /// The `n` best members over `sets` summed, less `exclude`.
    pub async fn zunion_top(&self, sets: &[String], exclude: &[String], n: usize) -> KvResult<Vec<(String, f64)>> {
        if sets.len() > MAX_UNION || exclude.len() > MAX_UNION {
            return Err(KvError::Invalid(format!(
                "a union reads at most {MAX_UNION} sets and leaves out at most {MAX_UNION} members"
            )));
        }
        sets.iter().chain(exclude).try_for_each(|k| check_key(k))?;
        if sets.is_empty() || n == 0 {
            return Ok(Vec::new());
        }
        self.call(self.store.zunion_top(sets, exclude, n)).await
    }

    /// Removes every counter and set whose key starts with `prefix` (not empty).
    pub async fn delete_prefix(&self, prefix: &str) -> KvResult<u64> {
        check_key(prefix)?;
        self.call(self.store.delete_prefix(prefix)).await
    }

    /// Checks the store answers, however recently it failed (`/readyz`).
    pub async fn ping(&self) -> KvResult<()> {
        let result = self.store.ping().await;
        match &result {
            Ok(()) => self.down_until.store(0, Ordering::Relaxed),
            Err(_) => {
                let _ = self.call(async { result.clone() }).await;
            }
        }
        result
    }
}
