//! The cache's rules, on the memory store and on a shared store that can be switched off (the
//! Redis and Memcached stores are tested against real servers in `quartet_core`'s tests).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::*;
use crate::config::{Profile, Settings};

fn settings() -> CacheSettings {
    Settings::defaults(Profile::Development).cache
}

fn memory() -> Cache {
    let mut s = Settings::defaults(Profile::Development);
    s.cache.max_bytes = 1 << 20;
    Cache::new(&s).unwrap()
}

/// A shared store in memory that can be made to fail, counting the calls that reach it.
#[derive(Default)]
struct Flaky {
    inner: NoCounterLoss,
    down: AtomicBool,
    calls: AtomicU32,
}

/// A store shared by several [`Cache`]s, as Redis is by several instances.
struct NoCounterLoss(MemoryStore);

impl Default for NoCounterLoss {
    fn default() -> Self {
        Self(MemoryStore::new(1 << 20, Duration::from_secs(60)))
    }
}

impl Flaky {
    fn check(&self) -> StoreResult<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) { Err(StoreError::new("connection refused")) } else { Ok(()) }
    }
}

#[async_trait::async_trait]
impl CacheStore for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        self.check()?;
        self.inner.0.get(key).await
    }
    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        self.check()?;
        self.inner.0.get_many(keys).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> StoreResult<()> {
        self.check()?;
        self.inner.0.set(key, value, ttl).await
    }
    async fn add(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> StoreResult<bool> {
        self.check()?;
        self.inner.0.add(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.check()?;
        self.inner.0.delete(key).await
    }
    async fn incr(&self, key: &str, by: u64) -> StoreResult<Option<u64>> {
        self.check()?;
        self.inner.0.incr(key, by).await
    }
    async fn clear(&self, prefix: &str) -> StoreResult<()> {
        self.check()?;
        self.inner.0.clear(prefix).await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.check()
    }
}

fn on(store: &Arc<Flaky>, local_max_bytes: u64) -> Cache {
    let mut s = settings();
    s.local_max_bytes = local_max_bytes;
    s.retry_seconds = 3600;
    Cache::with_store(store.clone(), &s)
}

async fn counted(cache: &Cache, key: &str, loads: &AtomicU32, value: u32) -> u32 {
    *cache
        .get_or_load_in("blog", key, || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(value)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn values_are_loaded_once_until_their_namespace_is_bumped() {
    let cache = memory();
    let loads = AtomicU32::new(0);
    assert_eq!(counted(&cache, "list:1", &loads, 1).await, 1);
    assert_eq!(counted(&cache, "list:1", &loads, 2).await, 1, "kept");
    cache.bump(&["shop"]).await;
    assert_eq!(counted(&cache, "list:1", &loads, 3).await, 1, "another namespace's bump changes nothing");
    cache.bump(&["blog"]).await;
    assert_eq!(counted(&cache, "list:1", &loads, 4).await, 4, "made again after the bump");
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn versions_start_from_the_time_and_keys_carry_them() {
    let cache = memory();
    let before = now_millis();
    let v = cache.versions(&["blog", "shop"]).await.unwrap();
    assert!(v[0] >= before && v[1] >= before, "{v:?}");
    cache.bump(&["blog"]).await;
    assert_eq!(cache.versions(&["blog"]).await.unwrap(), [v[0] + 1]);
    let key = cache.key(&["blog", "shop"], "list").await.unwrap();
    assert_eq!(key, format!("quartet:blog.shop:{}.{}:list", v[0] + 1, v[1]));
}

#[tokio::test]
async fn a_bump_on_one_instance_is_seen_by_another_sharing_the_store() {
    let store = Arc::new(Flaky::default());
    let (a, b) = (on(&store, 1 << 20), on(&store, 1 << 20));
    let loads = AtomicU32::new(0);
    assert_eq!(counted(&a, "post:1", &loads, 1).await, 1);
    assert_eq!(counted(&b, "post:1", &loads, 2).await, 1, "B reads what A stored");
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    a.bump(&["blog"]).await;
    assert_eq!(
        counted(&b, "post:1", &loads, 3).await,
        3,
        "B sees A's bump at once, in spite of its own in-process copy"
    );
    assert_eq!(counted(&a, "post:1", &loads, 4).await, 3, "and A reads what B stored");
}

#[tokio::test]
async fn a_request_reads_each_version_once() {
    let store = Arc::new(Flaky::default());
    let cache = on(&store, 1 << 20);
    let loads = AtomicU32::new(0);
    counted(&cache, "warm", &loads, 1).await;
    let calls = Cache::scope(async {
        let before = store.calls.load(Ordering::SeqCst);
        for _ in 0..5 {
            counted(&cache, "warm", &loads, 1).await;
        }
        store.calls.load(Ordering::SeqCst) - before
    })
    .await;
    assert_eq!(calls, 1, "one read of the version for five lookups answered by the in-process tier");
    let outside = store.calls.load(Ordering::SeqCst);
    counted(&cache, "warm", &loads, 1).await;
    counted(&cache, "warm", &loads, 1).await;
    assert_eq!(store.calls.load(Ordering::SeqCst) - outside, 2, "outside a request every lookup reads it");
}

#[tokio::test]
async fn a_request_reads_every_namespace_it_will_need_in_one_call() {
    let store = Arc::new(Flaky::default());
    let cache = on(&store, 1 << 20);
    // An earlier request asked for two namespaces in two steps.
    Cache::scope(async {
        cache.versions(&["blog.post"]).await.unwrap();
        cache.versions(&["blog.comment", "blog.post"]).await.unwrap();
    })
    .await;
    let (calls, versions) = Cache::scope(async {
        let before = store.calls.load(Ordering::SeqCst);
        let first = cache.versions(&["blog.post"]).await.unwrap();
        let second = cache.versions(&["blog.comment"]).await.unwrap();
        (store.calls.load(Ordering::SeqCst) - before, (first, second))
    })
    .await;
    assert_eq!(calls, 1, "the first read of the request fetched blog.comment too");
    let direct = cache.versions(&["blog.post", "blog.comment"]).await.unwrap();
    assert_eq!(vec![versions.0[0], versions.1[0]], direct, "the same versions as read one by one");
}

#[tokio::test]
async fn a_request_sees_its_own_bump() {
    let cache = memory();
    Cache::scope(async {
        let before = cache.versions(&["blog"]).await.unwrap()[0];
        cache.bump(&["blog"]).await;
        assert_eq!(cache.versions(&["blog"]).await.unwrap()[0], before + 1);
    })
    .await;
}

#[tokio::test]
async fn without_the_in_process_tier_values_come_from_the_store() {
    let store = Arc::new(Flaky::default());
    let cache = on(&store, 0);
    let loads = AtomicU32::new(0);
    assert_eq!(counted(&cache, "k", &loads, 1).await, 1);
    assert_eq!(counted(&cache, "k", &loads, 2).await, 1);
    assert_eq!(loads.load(Ordering::SeqCst), 1, "the second lookup read the stored JSON");
    assert_eq!(cache.stats.misses.load(Ordering::Relaxed), 1);
    assert_eq!(cache.stats.hits.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn errors_are_not_kept_and_types_do_not_mix() {
    let cache = memory();
    assert_eq!(cache.get_or_load_in("blog", "k", || async { Err::<u32, _>("down") }).await.unwrap_err(), "down");
    assert_eq!(*cache.get_or_load_in("blog", "k", || async { Ok::<u32, ()>(7) }).await.unwrap(), 7);
    let other = cache.get_or_load_in("blog", "k", || async { Ok::<String, ()>("text".into()) }).await.unwrap();
    assert_eq!(*other, "text", "a value of another type under the key is loaded, not misread");
    cache.clear().await;
    assert_eq!(*cache.get_or_load_in("blog", "k", || async { Ok::<u32, ()>(8) }).await.unwrap(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_missing_one_key_share_one_load() {
    for local in [1 << 20, 0] {
        let store = Arc::new(Flaky::default());
        let cache = Arc::new(on(&store, local));
        let loads = Arc::new(AtomicU32::new(0));
        let mut callers = Vec::new();
        for _ in 0..32 {
            let (cache, loads) = (cache.clone(), loads.clone());
            callers.push(tokio::spawn(async move {
                let value = cache
                    .get_or_load_in("blog", "page", || async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
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
        assert_eq!(loads.load(Ordering::SeqCst), 1, "in-process tier of {local} bytes");
    }
}

#[tokio::test]
async fn memory_is_bounded_by_what_values_weigh() {
    let mut s = Settings::defaults(Profile::Development);
    s.cache.max_bytes = 100_000;
    let cache = Cache::new(&s).unwrap();
    let value = "x".repeat(1000);
    for i in 0..1000 {
        let v = value.clone();
        cache.get_or_load_in("search", i, || async move { Ok::<_, ()>(v) }).await.unwrap();
        cache.set_bytes(&format!("page:{i}"), Bytes::from(value.clone()), Duration::from_secs(60)).await;
    }
    let local = cache.local.as_ref().unwrap();
    let kept = local.weighted_size().await;
    assert!(kept <= 100_000, "{kept} bytes kept");
    assert!(local.slots.entry_count() < 100, "{} entries kept", local.slots.entry_count());
}

#[tokio::test]
async fn the_none_backend_keeps_nothing() {
    let mut s = Settings::defaults(Profile::Development);
    s.cache.backend = CacheBackendKind::None;
    let cache = Cache::new(&s).unwrap();
    let loads = AtomicU32::new(0);
    counted(&cache, "k", &loads, 1).await;
    counted(&cache, "k", &loads, 1).await;
    assert_eq!(loads.load(Ordering::SeqCst), 2);
    cache.set_bytes("b", Bytes::from_static(b"x"), Duration::from_secs(1)).await;
    assert!(cache.get_bytes("b").await.is_none());
}

#[tokio::test]
async fn bytes_are_shared_through_the_store() {
    let store = Arc::new(Flaky::default());
    let (a, b) = (on(&store, 1 << 20), on(&store, 1 << 20));
    a.set_bytes("quartet:page", Bytes::from_static(b"<html>"), Duration::from_secs(60)).await;
    assert_eq!(b.get_bytes("quartet:page").await.as_deref(), Some(&b"<html>"[..]));
    assert!(b.get_bytes("quartet:other").await.is_none());
}

#[tokio::test]
async fn a_store_that_is_down_is_bypassed_and_missed_bumps_are_made_when_it_is_back() {
    let store = Arc::new(Flaky::default());
    let (a, b) = (on(&store, 1 << 20), on(&store, 1 << 20));
    let loads = AtomicU32::new(0);
    assert_eq!(counted(&b, "post", &loads, 1).await, 1);

    store.down.store(true, Ordering::SeqCst);
    // Pages are made from the data while the store is down, every time, without waiting on it.
    assert_eq!(counted(&a, "post", &loads, 2).await, 2);
    assert!(a.is_down());
    let calls = store.calls.load(Ordering::SeqCst);
    assert_eq!(counted(&a, "post", &loads, 3).await, 3);
    assert_eq!(store.calls.load(Ordering::SeqCst), calls, "a store known to be down is not asked again at once");
    a.bump(&["blog"]).await; // a change committed on A while the store is down

    store.down.store(false, Ordering::SeqCst);
    a.ping().await.unwrap();
    assert!(!a.is_down());
    // A's first lookup after the outage makes the bump it could not make, so B sees the change.
    assert_eq!(counted(&a, "post", &loads, 4).await, 4);
    assert_eq!(counted(&b, "post", &loads, 5).await, 4, "B does not serve the copy from before the change");
}

#[tokio::test]
async fn a_version_evicted_from_the_store_never_comes_back_to_an_old_number() {
    let store = Arc::new(Flaky::default());
    let cache = on(&store, 0);
    let first = cache.versions(&["blog"]).await.unwrap()[0];
    cache.bump(&["blog"]).await;
    store.inner.0.delete("quartet:v:blog").await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = cache.versions(&["blog"]).await.unwrap()[0];
    assert!(again > first + 1, "{again} after {first}");
}

#[tokio::test]
async fn fragments_are_kept_by_name_and_values_until_their_data_changes() {
    let cache = memory();
    let renders = AtomicU32::new(0);
    let fragment = |lang: &'static str| {
        let renders = &renders;
        let cache = &cache;
        async move {
            cache
                .fragment("sidebar", &[&lang, &true], &["blog"], Duration::from_secs(60), || async move {
                    let n = renders.fetch_add(1, Ordering::SeqCst) + 1;
                    Ok::<_, ()>(format!("<aside>{lang} {n}</aside>"))
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(fragment("en").await, "<aside>en 1</aside>");
    assert_eq!(fragment("en").await, "<aside>en 1</aside>", "kept");
    assert_eq!(fragment("es").await, "<aside>es 2</aside>", "another value, another fragment");
    cache.bump(&["blog"]).await;
    assert_eq!(fragment("en").await, "<aside>en 3</aside>", "made anew when its data changed");

    let mut s = Settings::defaults(Profile::Development);
    s.cache.fragments = false;
    let off = Cache::new(&s).unwrap();
    for n in 1..=2 {
        let html = off
            .fragment("sidebar", &[], &["blog"], Duration::from_secs(60), || async move { Ok::<_, ()>(n.to_string()) })
            .await
            .unwrap();
        assert_eq!(html, n.to_string(), "cache.fragments = false renders every time");
    }
}
