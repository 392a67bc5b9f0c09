//! The cache on every backend: values and versions shared by two instances through Redis and
//! Memcached, a stopped store bypassed without errors or waits, and everything back when the
//! store answers again, without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use quartet_core::cache::Cache;
use quartet_core::config::{CacheBackendKind, Profile, Settings};
use quartet_testkit::{TcpProxy, service_url};

/// Held by each test of this binary that uses Memcached: Memcached cannot clear one prefix, so
/// `clear()` (in [`shared_between_instances`]) empties the whole server, and another test's
/// keys with it.
static MEMCACHED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Settings for a cache on `url` with a key prefix of its own (tests share the servers).
fn settings(backend: CacheBackendKind, url: &str) -> Settings {
    let mut s = Settings::defaults(Profile::Development);
    s.cache.backend = backend;
    s.cache.url = quartet_core::config::Secret::new(url.to_owned());
    s.cache.key_prefix = format!("qt-{}:", quartet_core::crypto::random_string(12, quartet_core::crypto::LOWER_ALNUM));
    s.cache.retry_seconds = 1;
    s
}

async fn load(cache: &Cache, key: &str, loads: &AtomicU32, value: &str) -> String {
    let value = value.to_owned();
    String::clone(
        &cache
            .get_or_load_in("blog", key, || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(value)
            })
            .await
            .unwrap(),
    )
}

/// Two instances (two caches on one server): values, bumps and bytes cross between them.
async fn shared_between_instances(backend: CacheBackendKind, url: &str) {
    let s = settings(backend, url);
    let (a, b) = (Cache::new(&s).unwrap(), Cache::new(&s).unwrap());
    a.ping().await.unwrap();
    let loads = AtomicU32::new(0);
    assert_eq!(load(&a, "post:1", &loads, "first").await, "first");
    assert_eq!(load(&b, "post:1", &loads, "second").await, "first", "B reads A's value from {url}");
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    a.bump(&["blog"]).await;
    assert_eq!(load(&b, "post:1", &loads, "third").await, "third", "A's bump is seen by B at once");
    assert_eq!(load(&a, "post:1", &loads, "fourth").await, "third");

    let key = format!("{}page", s.cache.key_prefix);
    a.set_bytes(&key, Bytes::from_static(b"<html>"), Duration::from_secs(60)).await;
    assert_eq!(b.get_bytes(&key).await.as_deref(), Some(&b"<html>"[..]));

    // Search keys (spaces, any length) are hashed into keys Memcached takes.
    let long = "rust web ".repeat(40);
    assert_eq!(load(&a, &format!("search:{long}"), &loads, "found").await, "found");
    assert_eq!(load(&b, &format!("search:{long}"), &loads, "again").await, "found");

    // A value too large for the server is not kept, and the page is still made.
    let big = "x".repeat(2_000_000);
    assert_eq!(load(&a, "big", &loads, &big).await.len(), 2_000_000);

    a.clear().await;
    assert_eq!(load(&b, "post:1", &loads, "fifth").await, "fifth", "cleared (B's own copy is of an older version)");
}

/// Without the in-process tier every hit reads the stored JSON; many callers still share one
/// load.
async fn one_load_for_many_callers(backend: CacheBackendKind, url: &str) {
    let mut s = settings(backend, url);
    s.cache.local_max_bytes = 0;
    let cache = Arc::new(Cache::new(&s).unwrap());
    let loads = Arc::new(AtomicU32::new(0));
    let mut callers = Vec::new();
    for _ in 0..16 {
        let (cache, loads) = (cache.clone(), loads.clone());
        callers.push(tokio::spawn(async move {
            cache
                .get_or_load_in("blog", "list", || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, ()>(vec![1u32, 2, 3])
                })
                .await
                .unwrap()
        }));
    }
    for caller in callers {
        assert_eq!(*caller.await.unwrap(), [1, 2, 3]);
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    let hits = cache.stats.hits.load(Ordering::Relaxed);
    let other = Cache::new(&s).unwrap();
    assert_eq!(
        *other.get_or_load_in("blog", "list", || async { Ok::<Vec<u32>, ()>(vec![]) }).await.unwrap(),
        [1, 2, 3]
    );
    assert_eq!(other.stats.hits.load(Ordering::Relaxed), 1, "read from the server");
    assert!(hits <= 16);
}

/// The store stops answering (the relay is cut): pages are made from the data without
/// waiting, the change made meanwhile is not lost, and the cache is used again once the store
/// is back, with no restart.
async fn down_and_back(backend: CacheBackendKind, url: &str, default_port: u16) {
    let parsed = url::Url::parse(url).unwrap();
    let target = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap_or(default_port));
    let proxy = TcpProxy::start(&target).await;
    let s = settings(backend, &proxy.url(url));
    let (a, b) = (Cache::new(&s).unwrap(), Cache::new(&s).unwrap());
    let loads = AtomicU32::new(0);
    assert_eq!(load(&a, "post", &loads, "v1").await, "v1");
    assert_eq!(load(&b, "post", &loads, "v2").await, "v1");

    proxy.cut().await;
    let started = Instant::now();
    assert_eq!(load(&a, "post", &loads, "v3").await, "v3", "made from the data while the store is down");
    assert!(a.is_down());
    a.bump(&["blog"]).await; // a change committed on A meanwhile
    for _ in 0..20 {
        load(&a, "post", &loads, "v3").await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no waiting on a store known to be down: {:?}",
        started.elapsed()
    );

    proxy.restore();
    tokio::time::sleep(Duration::from_millis(1100)).await; // past cache.retry_seconds
    let mut back = false;
    for _ in 0..50 {
        if a.ping().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "the store answers again through the restored relay");
    assert_eq!(load(&a, "post", &loads, "v4").await, "v4", "A makes its missed bump, then stores the new value");
    // B's own connection may have been cut too: it answers again after its retry pause.
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.ping().await.is_err() || b.is_down() {
        assert!(Instant::now() < deadline, "B reaches the store again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(load(&b, "post", &loads, "v5").await, "v4", "B sees the change made while the store was down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_redis), ignore = "set QUARTET_TEST_REDIS_URL to run it")]
async fn redis_is_shared_between_instances() {
    let Some(url) = service_url("QUARTET_TEST_REDIS_URL") else { return };
    shared_between_instances(CacheBackendKind::Redis, &url).await;
    one_load_for_many_callers(CacheBackendKind::Redis, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_memcached), ignore = "set QUARTET_TEST_MEMCACHED_URL to run it")]
async fn memcached_is_shared_between_instances() {
    let Some(url) = service_url("QUARTET_TEST_MEMCACHED_URL") else { return };
    let _alone = MEMCACHED.lock().await;
    shared_between_instances(CacheBackendKind::Memcached, &url).await;
    one_load_for_many_callers(CacheBackendKind::Memcached, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_redis), ignore = "set QUARTET_TEST_REDIS_URL to run it")]
async fn a_stopped_redis_is_bypassed_and_used_again_when_back() {
    let Some(url) = service_url("QUARTET_TEST_REDIS_URL") else { return };
    down_and_back(CacheBackendKind::Redis, &url, 6379).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_memcached), ignore = "set QUARTET_TEST_MEMCACHED_URL to run it")]
async fn a_stopped_memcached_is_bypassed_and_used_again_when_back() {
    let Some(url) = service_url("QUARTET_TEST_MEMCACHED_URL") else { return };
    let _alone = MEMCACHED.lock().await;
    down_and_back(CacheBackendKind::Memcached, &url, 11211).await;
}

#[tokio::test]
async fn a_cache_server_that_never_answered_costs_no_error() {
    // Nothing listens on port 9 of the loopback: every call is refused at once.
    for (backend, url) in
        [(CacheBackendKind::Redis, "redis://127.0.0.1:9/0"), (CacheBackendKind::Memcached, "memcached://127.0.0.1:9")]
    {
        let cache = Cache::new(&settings(backend, url)).unwrap();
        let loads = AtomicU32::new(0);
        assert_eq!(load(&cache, "k", &loads, "made").await, "made");
        assert_eq!(load(&cache, "k", &loads, "again").await, "again");
        assert!(cache.is_down());
        assert!(cache.ping().await.is_err());
    }
}

/// Loads `key` on `cache` until it gives `expected` (at most `within`); how long that took.
async fn seen_within(
    cache: &Cache,
    key: &str,
    loads: &AtomicU32,
    fresh: &str,
    expected: &str,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        if load(cache, key, loads, fresh).await == expected {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{expected:?} not seen within {within:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `cache.announced_versions`: versions kept in process, learnt from announcements; a cached
/// value costs no call to Redis, another instance's bump arrives within milliseconds, and a
/// stopped Redis falls back to reading versions (bypassed) and back again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_redis), ignore = "set QUARTET_TEST_REDIS_URL to run it")]
async fn redis_announced_versions_cost_no_round_trip_and_arrive_in_milliseconds() {
    let Some(url) = service_url("QUARTET_TEST_REDIS_URL") else { return };
    let parsed = url::Url::parse(&url).unwrap();
    let proxy = TcpProxy::start(&format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap_or(6379))).await;
    let mut s = settings(CacheBackendKind::Redis, &proxy.url(&url));
    s.cache.announced_versions = true;
    let (a, b) = (Cache::new(&s).unwrap(), Cache::new(&s).unwrap());
    let loads = AtomicU32::new(0);
    // The subscriptions are made in the background: wait until B keeps what it reads.
    assert_eq!(load(&a, "post", &loads, "v1").await, "v1");
    seen_within(&b, "post", &loads, "v1", "v1", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    load(&b, "post", &loads, "v1").await;

    // Cached: no command reaches Redis at all (the relay carries nothing).
    let before = proxy.bytes_relayed();
    for _ in 0..50 {
        assert_eq!(load(&b, "post", &loads, "never").await, "v1");
    }
    assert_eq!(proxy.bytes_relayed(), before, "versions and value from this process");

    a.bump(&["blog"]).await;
    let took = seen_within(&b, "post", &loads, "v2", "v2", Duration::from_secs(1)).await;
    assert!(took < Duration::from_millis(500), "A's bump reached B in {took:?}");

    // Redis stops: the versions are forgotten, the cache bypassed, pages made from the data.
    proxy.cut().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(load(&b, "post", &loads, "v3").await, "v3", "made from the data while Redis is down");
    a.bump(&["blog"]).await;
    proxy.restore();
    tokio::time::sleep(Duration::from_millis(1100)).await; // past cache.retry_seconds
    for _ in 0..50 {
        if a.ping().await.is_ok() && b.ping().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(load(&a, "post", &loads, "v4").await, "v4", "A makes its missed bump");
    seen_within(&b, "post", &loads, "v5", "v4", Duration::from_secs(5)).await;
}
