//! The cache (Django's cache framework): data pages are made from, rendered fragments, whole
//! responses.
//!
//! **Stores.** `cache.backend` picks where entries live: this process's memory (`memory`, moka,
//! bounded by `cache.max_bytes`), Redis (`redis`), Memcached (`memcached`) or nowhere (`none`).
//! Values leave the process as JSON, so any instance can read what another stored. In front of
//! Redis and Memcached an in-process tier (`cache.local_max_bytes`) keeps values as they are.
//!
//! **Versions.** Keys are grouped in namespaces (an app's label, `blog`); each namespace has a
//! version kept *in the store*, and a key carries the versions of its namespaces
//! (`quartet:blog:1733…:list:1`). A change bumps the version, so every instance stops reading the
//! old entries at once, and they age out. Versions are read once per request ([`Cache::scope`])
//! and start from the time they were first made, so a version evicted from the store never
//! comes back to a number it had before.
//!
//! **Invalidation on commit.** Nobody bumps by hand: every committed write to a registered
//! model's table bumps the model's namespaces (its app's label unless it declares others) and
//! [`PAGES`], through the database's [`crate::db::ChangeSink`] (see [`Invalidation`]).
//!
//! **A store that is down** is bypassed: loads run directly, nothing is waited for longer than
//! `cache.io_timeout_ms`, the store is asked again after `cache.retry_seconds`, and the versions
//! that could not be bumped meanwhile are bumped when it answers again.
//!
//! ```ignore
//! let posts = core.cache.get_or_load_in("blog", format!("list:{page}"), || load_posts(db, page)).await?;
//! ```

mod keys;
mod memcached;
mod redis;
mod store;
mod watch;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use keys::key_for;
pub use memcached::MemcachedStore;
pub use redis::RedisStore;
use store::Slot;
pub use store::{CacheStore, MemoryStore, NoStore, StoreError, StoreResult};

use crate::config::{CacheBackendKind, CacheSettings, Settings};

/// The namespace every change bumps: whole pages (the per-view and per-site caches) depend on
/// any data.
pub const PAGES: &str = "pages";

tokio::task_local! {
    /// The versions read during the current request.
    static VERSIONS: Arc<Mutex<HashMap<String, u64>>>;
}

/// Whether the store answers, and since when it did not.
#[derive(Default)]
struct Health {
    /// Milliseconds since the epoch before which the store is not asked.
    down_until: AtomicU64,
    /// Whether the outage was logged (once per outage).
    down: AtomicBool,
}

/// Namespaces read together at a request's first read, at most (the code names them, so the
/// set stays small; a bound all the same).
const MAX_SEEN_NAMESPACES: usize = 256;

/// A version as the store keeps it (decimal text).
fn parse_version(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

fn now_millis() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

/// Hits and misses of the typed and byte lookups, for `/metrics`.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: AtomicU64,
    /// Lookups that had to load.
    pub misses: AtomicU64,
    /// Lookups that bypassed a store that was down.
    pub bypassed: AtomicU64,
}

/// The cache; shared through `CoreState`.
pub struct Cache {
    store: Arc<dyn CacheStore>,
    /// Values kept as they are in this process (the memory store itself for `memory`).
    local: Option<Arc<MemoryStore>>,
    /// Whether values also go to `store` as JSON (Redis, Memcached).
    remote: bool,
    prefix: String,
    timeout: Duration,
    retry: Duration,
    fragments: bool,
    health: Health,
    /// Namespaces whose bump failed while the store was down.
    pending: Mutex<BTreeSet<String>>,
    /// Versions kept in this process while bumps are heard (Redis; see [`watch`]).
    watched: Option<Arc<watch::Watched>>,
    /// Namespaces asked for so far, read together at a request's first read.
    seen: std::sync::RwLock<BTreeSet<String>>,
    /// Hits and misses.
    pub stats: CacheStats,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("store", &self.store.name()).finish_non_exhaustive()
    }
}

impl Cache {
    /// The cache `settings` configure. Redis and Memcached are connected on first use, so a site
    /// starts while they are down.
    pub fn new(site: &Settings) -> anyhow::Result<Cache> {
        let settings = &site.cache;
        let url = site.cache_url();
        let timeout = Duration::from_secs(settings.timeout_seconds);
        let io = Duration::from_millis(settings.io_timeout_ms);
        let store: Arc<dyn CacheStore> = match settings.backend {
            CacheBackendKind::Memory => {
                let memory = Arc::new(MemoryStore::new(settings.max_bytes, timeout));
                return Ok(Self::assemble(memory.clone(), Some(memory), false, settings));
            }
            CacheBackendKind::None => Arc::new(NoStore::default()),
            CacheBackendKind::Redis => {
                let mut cache = Self::with_store(Arc::new(RedisStore::new(&url, io)?), settings);
                if settings.announced_versions {
                    let client = ::redis::Client::open(url.as_str()).map_err(|e| anyhow::anyhow!("cache.url: {e}"))?;
                    cache.watch_versions(client, io);
                }
                return Ok(cache);
            }
            CacheBackendKind::Memcached => Arc::new(MemcachedStore::new(&url, io, settings.max_connections)?),
        };
        Ok(Self::with_store(store, settings))
    }

    /// A cache over `store` (Redis, Memcached, or one of the tests'), with the in-process tier
    /// `settings` ask for.
    pub fn with_store(store: Arc<dyn CacheStore>, settings: &CacheSettings) -> Cache {
        if store.name() == "none" {
            return Self::assemble(store, None, false, settings);
        }
        // The in-process tier also makes many callers missing one key share one load, so it
        // exists even with no room (`local_max_bytes = 0`): it then keeps nothing.
        let local = MemoryStore::new(settings.local_max_bytes, Duration::from_secs(settings.timeout_seconds));
        Self::assemble(store, Some(Arc::new(local)), true, settings)
    }

    fn assemble(
        store: Arc<dyn CacheStore>,
        local: Option<Arc<MemoryStore>>,
        remote: bool,
        settings: &CacheSettings,
    ) -> Self {
        Self {
            store,
            local,
            remote,
            prefix: settings.key_prefix.clone(),
            fragments: settings.fragments,
            timeout: Duration::from_secs(settings.timeout_seconds),
            retry: Duration::from_secs(settings.retry_seconds),
            health: Health::default(),
            pending: Mutex::default(),
            watched: None,
            seen: std::sync::RwLock::default(),
            stats: CacheStats::default(),
        }
    }

    /// Keeps the versions in this process while the announcements of every bump on `client`'s
    /// server are heard (the Redis store publishes them), so reading them costs no round trip.
    /// Without a Tokio runtime (some tests) nothing is watched and versions are read as before.
    pub fn watch_versions(&mut self, client: ::redis::Client, io_timeout: Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let watched = Arc::new(watch::Watched::default());
        runtime.spawn(watch::run(client, self.announcements(), Arc::downgrade(&watched), io_timeout, self.retry));
        self.watched = Some(watched);
    }

    fn announcements(&self) -> String {
        format!("{}versions", self.prefix)
    }

    /// Runs `request` with its own record of the versions read, so each is read from the store
    /// once however often the request asks (the server wraps every request in it).
    pub async fn scope<F: Future>(request: F) -> F::Output {
        VERSIONS.scope(Arc::default(), request).await
    }

    /// The store's name (`memory`, `redis`, `memcached`, `none`).
    pub fn backend(&self) -> &'static str {
        self.store.name()
    }

    /// The store (the admin's Redis page, tests).
    pub fn store(&self) -> &Arc<dyn CacheStore> {
        &self.store
    }

    /// Whether the store is being bypassed because it did not answer.
    pub fn is_down(&self) -> bool {
        !self.available()
    }

    fn available(&self) -> bool {
        now_millis() >= self.health.down_until.load(Ordering::Relaxed)
    }

    fn failed(&self, what: &str, error: &StoreError) {
        let retry = u64::try_from(self.retry.as_millis()).unwrap_or(u64::MAX);
        self.health.down_until.store(now_millis().saturating_add(retry), Ordering::Relaxed);
        if !self.health.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(target: "quartet::cache", store = self.store.name(), what, %error,
                retry_seconds = self.retry.as_secs(), "the cache store did not answer; pages are made without it");
        }
    }

    fn answered(&self) {
        if self.health.down.swap(false, Ordering::Relaxed) {
            tracing::info!(target: "quartet::cache", store = self.store.name(), "the cache store answers again");
        }
    }

    /// Runs one call to the store unless it is being bypassed; an error starts a bypass.
    async fn call<T>(&self, what: &str, call: impl Future<Output = StoreResult<T>>) -> Option<T> {
        if !self.available() {
            return None;
        }
        match call.await {
            Ok(value) => {
                self.answered();
                Some(value)
            }
            Err(e) => {
                self.failed(what, &e);
                None
            }
        }
    }

    fn version_key(&self, namespace: &str) -> String {
        format!("{}v:{namespace}", self.prefix)
    }

    /// The current versions of `namespaces`, read from the store once per request; `None` while
    /// the store is down (the caller then loads without the cache).
    pub async fn versions(&self, namespaces: &[&str]) -> Option<Vec<u64>> {
        self.retry_pending().await;
        let memo = VERSIONS.try_with(Arc::clone).ok();
        let mut out = vec![0; namespaces.len()];
        let mut missing = Vec::new();
        {
            let known = memo.as_ref().map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            for (i, namespace) in namespaces.iter().enumerate() {
                match known.as_ref().and_then(|k| k.get(*namespace)) {
                    Some(v) => out[i] = *v,
                    None => missing.push(i),
                }
            }
        }
        if missing.is_empty() {
            return Some(out);
        }
        let wanted: Vec<&str> = missing.iter().map(|&i| namespaces[i]).collect();
        let heard = self.watched.as_ref().and_then(|w| w.get(&wanted).map(|v| (v, w.epoch())));
        let epoch = match heard {
            Some((versions, _)) => {
                for (&i, v) in missing.iter().zip(versions) {
                    out[i] = v;
                }
                None
            }
            None => {
                let epoch = self.watched.as_ref().map(|w| w.epoch());
                // The first read of a request also reads every namespace asked for before (by
                // any request), so a page that asks in several steps costs one round trip.
                let extra: Vec<String> = match &memo {
                    Some(memo) if memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty() => {
                        let seen = self.seen.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                        seen.iter().filter(|n| !wanted.contains(&n.as_str())).cloned().collect()
                    }
                    _ => Vec::new(),
                };
                let keys: Vec<String> = wanted
                    .iter()
                    .copied()
                    .chain(extra.iter().map(String::as_str))
                    .map(|n| self.version_key(n))
                    .collect();
                let found = self.call("versions", self.store.get_many(&keys)).await?;
                let mut found = found.into_iter();
                for (&i, key) in missing.iter().zip(&keys) {
                    let value = found.next().flatten();
                    let parsed = value.and_then(|v| parse_version(&v));
                    out[i] = match parsed {
                        Some(v) => v,
                        None => self.start_version(key).await?,
                    };
                }
                if let Some(memo) = &memo {
                    let mut known = memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    for (namespace, value) in extra.iter().zip(found) {
                        if let Some(v) = value.and_then(|v| parse_version(&v)) {
                            known.insert(namespace.clone(), v);
                        }
                    }
                }
                let mut seen = self.seen.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                if seen.len() < MAX_SEEN_NAMESPACES {
                    seen.extend(wanted.iter().map(|n| (*n).to_owned()));
                }
                epoch
            }
        };
        if let (Some(watched), Some(epoch)) = (&self.watched, epoch) {
            let read: Vec<(&str, u64)> = missing.iter().map(|&i| (namespaces[i], out[i])).collect();
            watched.learn(epoch, &read);
        }
        if let Some(memo) = memo {
            let mut known = memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for &i in &missing {
                known.insert(namespaces[i].to_owned(), out[i]);
            }
        }
        Some(out)
    }

    /// Makes a version that is missing from the store: the current time in milliseconds, so it
    /// is above any number the namespace had before.
    async fn start_version(&self, key: &str) -> Option<u64> {
        let start = now_millis();
        if self.call("versions", self.store.add(key, Bytes::from(start.to_string()), None)).await? {
            return Some(start);
        }
        // Another instance made it first.
        let value = self.call("versions", self.store.get(key)).await?;
        value.and_then(|v| parse_version(&v)).or(Some(start))
    }

    /// Makes every entry of `namespaces` stale, on every instance. The site calls it when a
    /// write is committed (see [`Invalidation`]); apps do not.
    pub async fn bump(&self, namespaces: &[&str]) {
        for namespace in namespaces {
            let key = self.version_key(namespace);
            let bumped = match self.call("bump", self.store.incr(&key, 1)).await {
                Some(Some(v)) => Some(v),
                Some(None) => self.start_version(&key).await,
                None => None,
            };
            // Heard by every instance that watches versions; one that cannot be told now is
            // told by a bump made again when the store answers.
            let announced = match (bumped, &self.watched) {
                (Some(v), Some(watched)) => {
                    watched.heard(namespace, v);
                    let message = watch::announcement(namespace, v);
                    self.call("announce", self.store.publish(&self.announcements(), &message)).await.is_some()
                }
                _ => true,
            };
            match bumped.filter(|_| announced) {
                Some(v) => {
                    let _ = VERSIONS.try_with(|memo| {
                        memo.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert((*namespace).to_owned(), v)
                    });
                }
                None => {
                    self.pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert((*namespace).to_owned());
                }
            }
        }
    }

    /// Bumps what could not be bumped while the store was down, once it answers.
    async fn retry_pending(&self) {
        if !self.available() {
            return;
        }
        let pending: Vec<String> = {
            let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if pending.is_empty() {
                return;
            }
            std::mem::take(&mut *pending).into_iter().collect()
        };
        tracing::info!(target: "quartet::cache", namespaces = ?pending, "bumping the versions changed while the cache store was down");
        let names: Vec<&str> = pending.iter().map(String::as_str).collect();
        self.bump(&names).await;
    }

    /// The key of `rest` in `namespaces` at their current versions (`None` while the store is
    /// down).
    pub async fn key(&self, namespaces: &[&str], rest: impl Display) -> Option<String> {
        let versions = self.versions(namespaces).await?;
        Some(key_for(&self.prefix, namespaces, &versions, &rest.to_string()))
    }

    /// [`Cache::get_or_load_for`] in one namespace.
    pub async fn get_or_load_in<T, E, F, Fut>(&self, namespace: &str, rest: impl Display, load: F) -> Result<Arc<T>, E>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
        E: Send + 'static,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        self.get_or_load_for(&[namespace], rest, load).await
    }

    /// The value of `rest` in `namespaces` (made from the data of all of them), made by `load`
    /// and kept when missing or stale. Errors are not kept. Callers missing one key at once
    /// share one load.
    pub async fn get_or_load_for<T, E, F, Fut>(
        &self,
        namespaces: &[&str],
        rest: impl Display,
        load: F,
    ) -> Result<Arc<T>, E>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
        E: Send + 'static,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        if self.local.is_none() {
            return load().await.map(Arc::new);
        }
        let Some(key) = self.key(namespaces, rest).await else {
            self.stats.bypassed.fetch_add(1, Ordering::Relaxed);
            return load().await.map(Arc::new);
        };
        self.get_or_load(&key, load).await
    }

    /// The value under the full key `key` (no namespace: it lives until `cache.timeout_seconds`),
    /// made by `load` and kept when missing. Errors are not kept; callers missing one key at
    /// once share one load.
    pub async fn get_or_load<T, E, F, Fut>(&self, key: &str, load: F) -> Result<Arc<T>, E>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
        E: Send + 'static,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        let Some(local) = &self.local else {
            return load().await.map(Arc::new);
        };
        let mut load = Some(load);
        let mut own_error = None;
        let mut loaded = false;
        let found = local
            .slots
            .try_get_with(key.to_owned(), async {
                if self.remote
                    && let Some(Some(bytes)) = self.call("get", self.store.get(key)).await
                    && let Ok(value) = serde_json::from_slice::<T>(&bytes)
                {
                    return Ok(Slot::Value(Arc::new(value), weight(bytes.len())));
                }
                loaded = true;
                let load = load.take().expect("the load runs once");
                match load().await {
                    Ok(value) => {
                        let bytes = match serde_json::to_vec(&value) {
                            Ok(bytes) => bytes,
                            Err(e) => {
                                tracing::error!(target: "quartet::cache", key, error = %e, "a cached value cannot be serialised");
                                Vec::new()
                            }
                        };
                        if self.remote && !bytes.is_empty() {
                            let _ = self.call("set", self.store.set(key, Bytes::from(bytes.clone()), self.timeout)).await;
                        }
                        Ok(Slot::Value(Arc::new(value), weight(bytes.len())))
                    }
                    Err(e) => {
                        own_error = Some(e);
                        Err(())
                    }
                }
            })
            .await;
        let counter = if loaded { &self.stats.misses } else { &self.stats.hits };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = own_error {
            return Err(e);
        }
        if let Ok(Slot::Value(value, _)) = found
            && let Ok(value) = value.downcast::<T>()
        {
            return Ok(value);
        }
        // Another caller's load failed, or the key holds something else: load for ourselves.
        match load.take() {
            Some(load) => load().await.map(Arc::new),
            None => unreachable!("a load that ran either kept its value or returned its error"),
        }
    }

    /// The bytes kept under `key` (fragments, pages).
    pub async fn get_bytes(&self, key: &str) -> Option<Bytes> {
        if let Some(local) = &self.local
            && let Some(Slot::Bytes(bytes)) = local.slots.get(key).await
        {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Some(bytes);
        }
        let found = if self.remote { self.call("get", self.store.get(key)).await.flatten() } else { None };
        match &found {
            Some(bytes) => {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                if let Some(local) = &self.local {
                    local.slots.insert(key.to_owned(), Slot::Bytes(bytes.clone())).await;
                }
            }
            None => {
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
            }
        }
        found
    }

    /// Keeps `value` under `key` for `ttl` (at most `cache.timeout_seconds` in the in-process
    /// tier).
    pub async fn set_bytes(&self, key: &str, value: Bytes, ttl: Duration) {
        if let Some(local) = &self.local {
            local.slots.insert(key.to_owned(), Slot::Bytes(value.clone())).await;
        }
        if self.remote {
            let _ = self.call("set", self.store.set(key, value, ttl)).await;
        }
    }

    /// A rendered fragment of a page (Django's `{% cache %}` tag): the HTML `render` makes,
    /// kept for `timeout` under `name` and the values it `vary_on`s (the language, whether a
    /// visitor is signed in), at the versions of `namespaces`, so a change to their data makes
    /// it anew at once. `cache.fragments = false` renders every time.
    pub async fn fragment<E, F, Fut>(
        &self,
        name: &str,
        vary_on: &[&(dyn Display + Sync)],
        namespaces: &[&str],
        timeout: Duration,
        render: F,
    ) -> Result<String, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        if !self.fragments || self.local.is_none() {
            return render().await;
        }
        let values: Vec<String> = vary_on.iter().map(ToString::to_string).collect();
        let Some(key) = self.key(namespaces, format!("fragment:{name}:{}", values.join(":"))).await else {
            return render().await;
        };
        if let Some(html) = self.get_bytes(&key).await
            && let Ok(html) = String::from_utf8(html.to_vec())
        {
            return Ok(html);
        }
        let html = render().await?;
        self.set_bytes(&key, Bytes::from(html.clone()), timeout.min(self.timeout)).await;
        Ok(html)
    }

    /// The bytes under `key` in the store itself, never from this process's tier: data another
    /// instance may change or delete at any time (a cached session).
    pub async fn get_shared(&self, key: &str) -> Option<Bytes> {
        self.call("get", self.store.get(key)).await.flatten()
    }

    /// Keeps `value` under `key` in the store only (see [`Cache::get_shared`]).
    pub async fn set_shared(&self, key: &str, value: Bytes, ttl: Duration) {
        let _ = self.call("set", self.store.set(key, value, ttl)).await;
    }

    /// Forgets `key` in the store.
    pub async fn delete_shared(&self, key: &str) {
        let _ = self.call("delete", self.store.delete(key)).await;
    }

    /// The longest an entry lives (`cache.timeout_seconds`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The prefix of this site's keys (`cache.key_prefix`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Forgets everything this site cached.
    pub async fn clear(&self) {
        if let Some(local) = &self.local {
            local.slots.invalidate_all();
        }
        let _ = self.call("clear", self.store.clear(&self.prefix)).await;
    }

    /// Checks the store answers (for `/readyz`), however recently it failed.
    pub async fn ping(&self) -> StoreResult<()> {
        let result = self.store.ping().await;
        match &result {
            Ok(()) => {
                self.health.down_until.store(0, Ordering::Relaxed);
                self.answered();
            }
            Err(e) => self.failed("ping", e),
        }
        result
    }
}

fn weight(bytes: usize) -> u32 {
    // A value in memory takes about what its JSON takes; never nothing, so the bound holds.
    u32::try_from(bytes.max(64)).unwrap_or(u32::MAX)
}

/// Which cache namespaces a committed write to one table makes stale.
#[derive(Debug, Clone)]
pub struct CacheRule {
    /// The table.
    pub table: String,
    /// The namespaces any write makes stale (empty: none, a table no page is made from).
    pub namespaces: Vec<&'static str>,
    /// Narrower rules: an `UPDATE` that sets only these columns makes only these namespaces
    /// stale (a denormalised count shown in one place).
    pub only_columns: Vec<(&'static [&'static str], Vec<&'static str>)>,
}

/// Makes the cached data of changed models stale, on commit: the site's
/// [`crate::db::ChangeSink`] asks it which namespaces a write changes, then calls
/// [`Invalidation::bump`] with them once the write is committed.
pub struct Invalidation {
    cache: Arc<Cache>,
    tables: HashMap<String, TableRule>,
}

/// A table's namespaces, and the narrower ones of updates that set only some columns.
type TableRule = (Vec<&'static str>, Vec<(&'static [&'static str], Vec<&'static str>)>);

impl Invalidation {
    /// The invalidation of these rules; every namespace list gets [`PAGES`] too, and tables
    /// without a rule (sessions, jobs, rate limits) change no cached data.
    pub fn new(cache: Arc<Cache>, rules: impl IntoIterator<Item = CacheRule>) -> Self {
        let with_pages = |mut namespaces: Vec<&'static str>| {
            if !namespaces.is_empty() && !namespaces.contains(&PAGES) {
                namespaces.push(PAGES);
            }
            namespaces
        };
        let tables = rules
            .into_iter()
            .filter(|rule| !rule.namespaces.is_empty())
            .map(|rule| {
                let narrower = rule.only_columns.into_iter().map(|(columns, ns)| (columns, with_pages(ns))).collect();
                (rule.table, (with_pages(rule.namespaces), narrower))
            })
            .collect();
        Self { cache, tables }
    }

    /// The namespaces `write` makes stale once committed.
    pub fn changes(&self, write: &crate::db::Write<'_>) -> &[&'static str] {
        let Some((all, narrower)) = self.tables.get(write.table) else {
            return &[];
        };
        if !write.columns.is_empty()
            && let Some((_, namespaces)) =
                narrower.iter().find(|(columns, _)| write.columns.iter().all(|c| columns.contains(c)))
        {
            return namespaces;
        }
        all
    }

    /// Bumps the namespaces a committed write changed.
    pub async fn bump(&self, namespaces: &[&'static str]) {
        tracing::debug!(target: "quartet::cache", ?namespaces, "committed changes make cached data stale");
        self.cache.bump(namespaces).await;
    }
}

#[cfg(test)]
mod tests;
