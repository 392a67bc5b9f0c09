//! The key-value store on the database (SQLite and PostgreSQL) and on Redis: the same answers
//! from both, atomic counts, batched increments on the database, and a stopped Redis failing
//! fast, then answering again.

use std::sync::Arc;
use std::time::Duration;

use quartet_core::kv::{Kv, KvError, RedisKv};
use quartet_testkit::{TcpProxy, dbtest, service_url};

/// What every backend answers alike.
async fn counts_and_ranks(kv: &Kv) {
    assert_eq!(kv.incr("image:1:views", 1).await.unwrap(), 1);
    assert_eq!(kv.incr("image:1:views", 5).await.unwrap(), 6);
    assert_eq!(kv.get("image:1:views").await.unwrap(), 6);
    assert_eq!(kv.get("image:2:views").await.unwrap(), 0, "a missing counter is 0");
    assert_eq!(
        kv.get_many(&["image:2:views".into(), "image:1:views".into()]).await.unwrap(),
        [None, Some(6)],
        "in the order asked"
    );

    assert_eq!(kv.zincrby("image_ranking", "1", 1.0).await.unwrap(), 1.0);
    kv.zincrby("image_ranking", "2", 3.0).await.unwrap();
    kv.zincrby("image_ranking", "3", 2.0).await.unwrap();
    assert_eq!(kv.zincrby("image_ranking", "1", 2.5).await.unwrap(), 3.5);
    let top: Vec<(String, f64)> = kv.ztop("image_ranking", 2).await.unwrap();
    assert_eq!(top, [("1".to_owned(), 3.5), ("2".to_owned(), 3.0)]);
    assert_eq!(kv.ztop("image_ranking", 10).await.unwrap().len(), 3);
    assert_eq!(kv.zscore("image_ranking", "3").await.unwrap(), Some(2.0));
    assert_eq!(kv.zscore("image_ranking", "9").await.unwrap(), None);
    assert!(kv.ztop("nothing_here", 5).await.unwrap().is_empty());

    // The shop's "bought together": product 1 was bought with 2 (twice) and 3; product 4 with 2
    // and 5. For a cart holding 1 and 4, the others, best first, the cart's own left out.
    for (set, member, score) in [
        ("product:1:bought_with", "2", 2.0),
        ("product:1:bought_with", "3", 1.0),
        ("product:1:bought_with", "4", 1.0),
        ("product:4:bought_with", "2", 1.0),
        ("product:4:bought_with", "5", 1.0),
        ("product:4:bought_with", "1", 1.0),
    ] {
        kv.zincrby(set, member, score).await.unwrap();
    }
    let sets = ["product:1:bought_with".to_owned(), "product:4:bought_with".to_owned()];
    let exclude = ["1".to_owned(), "4".to_owned()];
    let suggested = kv.zunion_top(&sets, &exclude, 10).await.unwrap();
    assert_eq!(suggested, [("2".to_owned(), 3.0), ("5".to_owned(), 1.0), ("3".to_owned(), 1.0)]);
    assert_eq!(kv.zunion_top(&sets, &exclude, 1).await.unwrap(), [("2".to_owned(), 3.0)]);
    assert_eq!(kv.zunion_top(&sets, &[], 10).await.unwrap().len(), 5);

    // Deleting by prefix takes counters and sets under it, and nothing else.
    kv.incr("product:1:views", 1).await.unwrap();
    assert_eq!(kv.delete_prefix("product:").await.unwrap(), 3);
    assert!(kv.zunion_top(&sets, &[], 10).await.unwrap().is_empty());
    assert_eq!(kv.get("image:1:views").await.unwrap(), 6, "other keys stay");
    assert_eq!(kv.delete_prefix("product%").await.unwrap(), 0, "the prefix is not a pattern");

    // Keys are bounded (the database column holds 200 bytes).
    assert!(matches!(kv.incr(&"k".repeat(201), 1).await, Err(KvError::Invalid(_))));
    assert_eq!(kv.incr(&"k".repeat(200), 1).await.unwrap(), 1);
    assert!(matches!(kv.zunion_top(&vec!["s".to_owned(); 101], &[], 5).await, Err(KvError::Invalid(_))));
}

/// 40 increments at once from two threads: none is lost.
async fn counts_atomically(kv: Arc<Kv>) {
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let kv = kv.clone();
        tasks.push(tokio::spawn(async move { kv.incr("hits", 1).await.unwrap() }));
    }
    let mut seen: Vec<i64> = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=40).collect::<Vec<_>>(), "each caller got its own count");
}

dbtest! {
    async fn the_database_store_counts_and_ranks(site) {
        assert_eq!(site.core.kv.backend(), "database");
        counts_and_ranks(&site.core.kv).await;
        let kv = Arc::new(Kv::new(&site.core.settings, site.core.db.clone()).unwrap());
        counts_atomically(kv).await;
    }
}

dbtest! {
    async fn batched_increments_are_one_read_per_key_then_one_write_for_all(site) {
        let batched = Kv::new(&site.core.settings, site.core.db.clone()).unwrap();
        batched.start_batching(Duration::from_secs(3600), 1000);
        let plain = &site.core.kv;
        plain.incr("image:7:views", 10).await.unwrap();

        let before = site.core.queries.total();
        for n in 1..=100 {
            assert_eq!(batched.incr("image:7:views", 1).await.unwrap(), 10 + n, "each caller sees its count");
            batched.zincrby("image_ranking", "7", 1.0).await.unwrap();
        }
        assert_eq!(site.core.queries.total() - before, 2, "one read per key, no write");
        assert_eq!(plain.get("image:7:views").await.unwrap(), 10, "nothing written before the flush");
        assert!(plain.ztop("image_ranking", 10).await.unwrap().is_empty());

        plain.incr("image:7:views", 5).await.unwrap(); // another instance
        let before = site.core.queries.total();
        assert_eq!(batched.flush().await.unwrap(), 2, "one counter and one score written");
        assert!(site.core.queries.total() - before <= 4, "one transaction: begin, two upserts, commit");
        assert_eq!(plain.get("image:7:views").await.unwrap(), 115, "exact after the flush");
        assert_eq!(plain.ztop("image_ranking", 10).await.unwrap(), [("7".to_owned(), 100.0)]);
        assert_eq!(batched.incr("image:7:views", 1).await.unwrap(), 116, "the other instance's 5 seen after the write");
        assert_eq!(batched.flush().await.unwrap(), 1);
        assert_eq!(batched.flush().await.unwrap(), 0, "nothing held: nothing written");
        assert_eq!(plain.get("image:7:views").await.unwrap(), 116);
    }
}

dbtest! {
    async fn batched_increments_are_written_by_the_timer_and_a_full_batch_writes_through(site) {
        let batched = Arc::new(Kv::new(&site.core.settings, site.core.db.clone()).unwrap());
        batched.start_batching(Duration::from_millis(50), 2);
        counts_atomically(batched.clone()).await;
        batched.zincrby("ranking", "a", 2.0).await.unwrap();
        assert_eq!(batched.incr("third", 3).await.unwrap(), 3, "a third key: past the bound, written at once");
        assert_eq!(site.core.kv.get("third").await.unwrap(), 3);

        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while site.core.kv.get("hits").await.unwrap() != 40 || site.core.kv.zscore("ranking", "a").await.unwrap() != Some(2.0) {
            assert!(std::time::Instant::now() < deadline, "the timer wrote the counts");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(batched);
    }
}

fn redis_kv(url: &str, retry: Duration) -> Kv {
    let prefix = format!("qt-{}:", quartet_core::crypto::random_string(12, quartet_core::crypto::LOWER_ALNUM));
    Kv::with_store(Box::new(RedisKv::new(url, &prefix, Duration::from_millis(250)).unwrap()), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_redis), ignore = "set QUARTET_TEST_REDIS_URL to run it")]
async fn redis_counts_and_ranks_as_the_database_does() {
    let Some(url) = service_url("QUARTET_TEST_REDIS_URL") else { return };
    let kv = redis_kv(&url, Duration::from_secs(5));
    assert_eq!(kv.backend(), "redis");
    counts_and_ranks(&kv).await;
    counts_atomically(Arc::new(redis_kv(&url, Duration::from_secs(5)))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_redis), ignore = "set QUARTET_TEST_REDIS_URL to run it")]
async fn redis_batches_increments_as_the_database_does() {
    let Some(url) = service_url("QUARTET_TEST_REDIS_URL") else { return };
    let prefix = format!("qt-{}:", quartet_core::crypto::random_string(12, quartet_core::crypto::LOWER_ALNUM));
    let store = || Box::new(RedisKv::new(&url, &prefix, Duration::from_millis(250)).unwrap());
    let (batched, plain) =
        (Kv::with_store(store(), Duration::from_secs(5)), Kv::with_store(store(), Duration::from_secs(5)));
    batched.start_batching(Duration::from_secs(3600), 1000);
    plain.incr("image:7:views", 10).await.unwrap();
    for n in 1..=50 {
        assert_eq!(batched.incr("image:7:views", 1).await.unwrap(), 10 + n);
        batched.zincrby("image_ranking", "7", 1.0).await.unwrap();
    }
    assert_eq!(plain.get("image:7:views").await.unwrap(), 10, "nothing written before the flush");
    assert_eq!(batched.flush().await.unwrap(), 2);
    assert_eq!(plain.get("image:7:views").await.unwrap(), 60);
    assert_eq!(plain.ztop("image_ranking", 10).await.unwrap(), [("7".to_owned(), 50.0)]);
    // Several keys and sets in one write (one script); the values come back to each key.
    plain.incr("image:8:views", 3).await.unwrap();
    batched.incr("image:8:views", 2).await.unwrap();
    batched.zincrby("image_ranking", "8", 2.5).await.unwrap();
    batched.zincrby("other_ranking", "x", 1.0).await.unwrap();
    batched.incr("image:7:views", 1).await.unwrap();
    plain.incr("image:8:views", 10).await.unwrap(); // another instance
    assert_eq!(batched.flush().await.unwrap(), 4);
    assert_eq!(plain.get_many(&["image:7:views".into(), "image:8:views".into()]).await.unwrap(), [Some(61), Some(15)]);
    assert_eq!(plain.zscore("image_ranking", "8").await.unwrap(), Some(2.5));
    assert_eq!(plain.zscore("other_ranking", "x").await.unwrap(), Some(1.0));
    assert_eq!(batched.incr("image:8:views", 0).await.unwrap(), 15, "the stored value came back from the write");
    plain.delete_prefix("other").await.unwrap();
    plain.delete_prefix("image").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_redis), ignore = "set QUARTET_TEST_REDIS_URL to run it")]
async fn a_stopped_redis_fails_fast_and_answers_again_when_back() {
    let Some(url) = service_url("QUARTET_TEST_REDIS_URL") else { return };
    let parsed = url::Url::parse(&url).unwrap();
    let proxy = TcpProxy::start(&format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap_or(6379))).await;
    let kv = redis_kv(&proxy.url(&url), Duration::from_secs(1));
    assert_eq!(kv.incr("views", 1).await.unwrap(), 1);

    proxy.cut().await;
    assert!(matches!(kv.incr("views", 1).await, Err(KvError::Unavailable(_))));
    assert!(kv.is_down());
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert!(matches!(kv.ztop("ranking", 10).await, Err(KvError::Unavailable(_))));
    }
    assert!(started.elapsed() < Duration::from_millis(200), "no waiting while known down: {:?}", started.elapsed());

    proxy.restore();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(kv.incr("views", 1).await.unwrap(), 2, "the count kept in Redis goes on");
}
