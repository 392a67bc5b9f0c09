//! The services CI starts answer (Redis, RabbitMQ); in CI a missing one fails the run.

use std::time::Duration;

use quartet_testkit::service_url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn host_port(url: &str, default_port: u16) -> String {
    let parsed = url::Url::parse(url).expect("a valid service URL");
    format!("{}:{}", parsed.host_str().unwrap_or("127.0.0.1"), parsed.port().unwrap_or(default_port))
}

#[tokio::test]
#[cfg_attr(not(quartet_redis), ignore = "set QUARTET_TEST_REDIS_URL to run it")]
async fn redis_answers_ping() {
    let Some(url) = service_url("QUARTET_TEST_REDIS_URL") else { return };
    let mut stream =
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(host_port(&url, 6379))).await.unwrap().unwrap();
    stream.write_all(b"PING\r\n").await.unwrap();
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"+PONG\r\n");
}

#[tokio::test]
#[cfg_attr(not(quartet_amqp), ignore = "set QUARTET_TEST_AMQP_URL to run it")]
async fn rabbitmq_speaks_amqp_0_9_1() {
    let Some(url) = service_url("QUARTET_TEST_AMQP_URL") else { return };
    let mut stream =
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(host_port(&url, 5672))).await.unwrap().unwrap();
    stream.write_all(b"AMQP\x00\x00\x09\x01").await.unwrap();
    let mut frame = [0u8; 11];
    stream.read_exact(&mut frame).await.unwrap();
    // A method frame (type 1) on channel 0 carrying connection.start (class 10, method 10).
    assert_eq!(frame[0], 1);
    assert_eq!(&frame[1..3], &[0, 0]);
    assert_eq!(&frame[7..11], &[0, 10, 0, 10]);
}

/// Every optional service on a Redis that stops (through a relay that is cut), then returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_redis), ignore = "set QUARTET_TEST_REDIS_URL to run it")]
async fn a_stopped_redis_degrades_the_site_and_readyz_names_what_is_missing() {
    use quartet_core::config::{CacheBackendKind, ChannelsBackendKind, KvBackendKind, Secret};
    let Some(url) = service_url("QUARTET_TEST_REDIS_URL") else { return };
    let proxy = quartet_testkit::TcpProxy::start(&host_port(&url, 6379)).await;
    let redis = proxy.url(&url);
    let site = quartet_testkit::TestSite::builder()
        .settings(move |s| {
            s.redis.url = Secret::new(redis.clone());
            s.redis.retry_seconds = 1;
            s.cache.backend = CacheBackendKind::Redis;
            s.cache.retry_seconds = 1;
            s.kv.backend = KvBackendKind::Redis;
            s.channels.backend = ChannelsBackendKind::Redis;
        })
        .start(quartet_testkit::Backend::Sqlite)
        .await;
    let client = site.client();
    let ready = client.get("/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));

    proxy.cut().await;
    for path in ["/", "/account/login/", "/sitemap.xml"] {
        assert_eq!(client.get(path).await.status, 200, "{path} answers without Redis");
    }
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, 200, "the instance can still serve: it stays in the load balancer");
    assert!(ready.body.starts_with("ready, degraded: cache: redis"), "{}", ready.body);
    assert_eq!(ready.header("x-quartet-degraded"), Some("cache, key-value store, channel layer"));

    proxy.restore();
    let mut back = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let ready = client.get("/readyz").await;
        if ready.body == "ready\n" {
            back = true;
            break;
        }
    }
    assert!(back, "every service is used again once Redis answers, without a restart");
    assert_eq!(client.get("/").await.status, 200);
}
