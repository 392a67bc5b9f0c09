//! The cache of data that pages are made from (Django's low-level cache API).
//!
//! Values are kept in this process's memory, bounded by `cache.max_bytes` (each value says
//! about how much it holds, [`Weigh`]) and living at most `cache.timeout_seconds`, so keys
//! made from what visitors type (a search) cannot grow the cache past that bound. Keys are
//! grouped in namespaces (an app's label): a change to an app's data bumps its namespace's
//! version, so every key made with the old version is never read again and ages out. Bump
//! after the change is committed. Changes made by another process (another instance,
//! `quartet seed`) are seen when the entries expire.
//!
//! ```ignore
//! let posts = core.cache.get_or_load_in("blog", format!("list:{page}"), || load_posts(db, page)).await?;
//! core.cache.bump("blog"); // after a write
//! ```

use std::any::Any;
use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{CacheBackendKind, CacheSettings};

/// A kept value and what it weighs.
#[derive(Clone)]
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    bytes: u32,
}

/// About how many bytes a value holds, its own size and the heap data it owns, so that the
/// cache is bounded by memory.
pub trait Weigh {
    /// The bytes.
    fn weigh(&self) -> usize;
}

macro_rules! weigh_by_size {
    ($($t:ty),*) => {$(
        impl Weigh for $t {
            fn weigh(&self) -> usize {
                std::mem::size_of::<$t>()
            }
        }
    )*};
}

weigh_by_size!(bool, u8, u16, u32, u64, usize, i16, i32, i64, f32, f64, chrono::DateTime<chrono::Utc>, &'static str);

impl Weigh for String {
    fn weigh(&self) -> usize {
        std::mem::size_of::<String>() + self.capacity()
    }
}

impl Weigh for bytes::Bytes {
    fn weigh(&self) -> usize {
        std::mem::size_of::<bytes::Bytes>() + self.len()
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weigh(&self) -> usize {
        std::mem::size_of::<Vec<T>>()
            + (self.capacity() - self.len()) * std::mem::size_of::<T>()
            + self.iter().map(Weigh::weigh).sum::<usize>()
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weigh(&self) -> usize {
        std::mem::size_of::<Option<T>>()
            + self.as_ref().map_or(0, |v| v.weigh().saturating_sub(std::mem::size_of::<T>()))
    }
}

impl<A: Weigh, B: Weigh> Weigh for (A, B) {
    fn weigh(&self) -> usize {
        self.0.weigh() + self.1.weigh()
    }
}

/// Implements [`Weigh`] for a struct as the sum of its fields' weights:
/// `weigh_fields!(Card { title, tags })`.
#[macro_export]
macro_rules! weigh_fields {
    ($t:ty { $($field:ident),* $(,)? }) => {
        impl $crate::cache::Weigh for $t {
            fn weigh(&self) -> usize {
                0 $(+ $crate::cache::Weigh::weigh(&self.$field))*
            }
        }
    };
}

/// The cache; cheap to share through `CoreState`.
pub struct Cache {
    store: Option<moka::sync::Cache<String, Entry>>,
    versions: Mutex<HashMap<String, u64>>,
    /// One gate per key being loaded, so that many requests missing the same key at once
    /// (after it expired or went stale) run one load and share its result.
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Cache {
    /// A cache configured by `settings`.
    pub fn new(settings: &CacheSettings) -> Cache {
        let store = match settings.backend {
            CacheBackendKind::Memory => Some(
                moka::sync::Cache::builder()
                    .max_capacity(settings.max_bytes)
                    .weigher(|key: &String, entry: &Entry| entry.bytes.saturating_add(key.len() as u32))
                    .time_to_live(Duration::from_secs(settings.timeout_seconds))
                    .build(),
            ),
            CacheBackendKind::None => None,
        };
        Cache { store, versions: Mutex::new(HashMap::new()), loading: Mutex::new(HashMap::new()) }
    }

    /// The current version of `namespace`'s data.
    pub fn version(&self, namespace: &str) -> u64 {
        self.versions.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(namespace).copied().unwrap_or(0)
    }

    /// Marks every entry of `namespace` as stale (call after changing its data).
    pub fn bump(&self, namespace: &str) {
        let mut versions = self.versions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *versions.entry(namespace.to_owned()).or_insert(0) += 1;
    }

    /// A key in `namespace` at its current version: `blog:3:list:1`.
    pub fn key(&self, namespace: &str, rest: impl Display) -> String {
        format!("{namespace}:{}:{rest}", self.version(namespace))
    }

    /// The value kept under `key`, if any and of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self, key: &str) -> Option<Arc<T>> {
        self.store.as_ref()?.get(key).and_then(|entry| entry.value.downcast::<T>().ok())
    }

    /// Keeps `value` under `key`.
    pub fn set<T: Weigh + Send + Sync + 'static>(&self, key: String, value: Arc<T>) {
        if let Some(store) = &self.store {
            let bytes = u32::try_from(value.weigh()).unwrap_or(u32::MAX);
            store.insert(key, Entry { value, bytes });
        }
    }

    /// The value under `key`, made by `load` and kept when missing. Errors are not kept.
    /// Callers missing the same key at the same time wait for one load instead of each running
    /// their own.
    pub async fn get_or_load<T, E, F, Fut>(&self, key: &str, load: F) -> Result<Arc<T>, E>
    where
        T: Weigh + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(found) = self.get::<T>(key) {
            return Ok(found);
        }
        if self.store.is_none() {
            return Ok(Arc::new(load().await?));
        }
        let gate = self.gate(key);
        let result = async {
            let _turn = gate.lock().await;
            if let Some(found) = self.get::<T>(key) {
                return Ok(found);
            }
            let value = Arc::new(load().await?);
            self.set(key.to_owned(), value.clone());
            Ok(value)
        }
        .await;
        self.close_gate(key, gate);
        result
    }

    /// [`Cache::get_or_load`] with the key `rest` in `namespace` at its current version.
    pub async fn get_or_load_in<T, E, F, Fut>(&self, namespace: &str, rest: impl Display, load: F) -> Result<Arc<T>, E>
    where
        T: Weigh + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = self.key(namespace, rest);
        self.get_or_load(&key, load).await
    }

    fn gate(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut loading = self.loading.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loading.entry(key.to_owned()).or_default().clone()
    }

    /// Forgets the gate of `key` once no other caller holds it.
    fn close_gate(&self, key: &str, gate: Arc<tokio::sync::Mutex<()>>) {
        let mut loading = self.loading.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Held by the map and by us only.
        if Arc::strong_count(&gate) == 2 {
            loading.remove(key);
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        if let Some(store) = &self.store {
            store.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Cache {
        Cache::new(&CacheSettings { backend: CacheBackendKind::Memory, max_bytes: 1 << 20, timeout_seconds: 60 })
    }

    #[tokio::test]
    async fn values_are_loaded_once_until_their_namespace_changes() {
        let cache = memory();
        let loads = std::sync::atomic::AtomicU32::new(0);
        let load = || async {
            loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, ()>(vec![1, 2, 3])
        };
        let key = cache.key("blog", "list:1");
        assert_eq!(key, "blog:0:list:1");
        assert_eq!(*cache.get_or_load(&key, load).await.unwrap(), vec![1, 2, 3]);
        assert_eq!(*cache.get_or_load(&key, load).await.unwrap(), vec![1, 2, 3]);
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);

        cache.bump("blog");
        cache.bump("shop");
        assert_eq!(cache.version("blog"), 1);
        let key = cache.key("blog", "list:1");
        assert_eq!(key, "blog:1:list:1");
        cache.get_or_load(&key, load).await.unwrap();
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn errors_are_not_kept_and_types_do_not_mix() {
        let cache = memory();
        assert_eq!(cache.get_or_load("k", || async { Err::<u32, _>("down") }).await.unwrap_err(), "down");
        assert_eq!(*cache.get_or_load("k", || async { Ok::<u32, ()>(7) }).await.unwrap(), 7);
        assert!(cache.get::<u64>("k").is_none(), "a u32 is not a u64");
        cache.clear();
        assert!(cache.get::<u32>("k").is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_callers_missing_one_key_share_one_load() {
        let cache = Arc::new(memory());
        let loads = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let mut callers = Vec::new();
        for _ in 0..32 {
            let (cache, loads) = (cache.clone(), loads.clone());
            callers.push(tokio::spawn(async move {
                let value = cache
                    .get_or_load("page", || async {
                        loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok::<_, ()>(42u64)
                    })
                    .await
                    .unwrap();
                assert_eq!(*value, 42);
            }));
        }
        for caller in callers {
            caller.await.unwrap();
        }
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(cache.loading.lock().unwrap().is_empty(), "gates are forgotten after the load");
    }

    #[test]
    fn memory_is_bounded_by_what_values_weigh() {
        let cache =
            Cache::new(&CacheSettings { backend: CacheBackendKind::Memory, max_bytes: 100_000, timeout_seconds: 60 });
        let value = "x".repeat(1000);
        assert!(value.weigh() >= 1000);
        assert_eq!(vec![value.clone(), value.clone()].weigh(), std::mem::size_of::<Vec<String>>() + 2 * value.weigh());
        for i in 0..1000 {
            cache.set(format!("search:{i}"), Arc::new(value.clone()));
        }
        let store = cache.store.as_ref().unwrap();
        store.run_pending_tasks();
        assert!(store.weighted_size() <= 100_000, "{} bytes kept", store.weighted_size());
        assert!(store.entry_count() < 100, "{} entries kept", store.entry_count());
    }

    #[tokio::test]
    async fn the_none_backend_keeps_nothing() {
        let cache = Cache::new(&CacheSettings { backend: CacheBackendKind::None, max_bytes: 1, timeout_seconds: 1 });
        cache.set("k".into(), Arc::new(1u8));
        assert!(cache.get::<u8>("k").is_none());
        assert_eq!(*cache.get_or_load("k", || async { Ok::<u8, ()>(2) }).await.unwrap(), 2);
    }
}
