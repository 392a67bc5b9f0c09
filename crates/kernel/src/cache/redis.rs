//! Redis (`cache.backend = "redis"`, `cache.url = "redis://127.0.0.1:6379/0"`): one multiplexed
//! connection (redis-rs's `ConnectionManager`, which reconnects by itself), connected on first
//! use so the site starts while Redis is down. Every command waits at most
//! `cache.io_timeout_ms`.

use std::time::Duration;

use bytes::Bytes;
use redis::aio::ConnectionManager;

use super::store::{CacheStore, StoreError, StoreResult};
use crate::redis_client::{connection, pattern};

/// `INCRBY` only when the key exists (a missing version is made again by the cache, from the
/// time, never from 1).
const INCR_EXISTING: &str =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) else return false end";

/// A Redis server.
pub struct RedisStore {
    connection: ConnectionManager,
    timeout: Duration,
}

impl RedisStore {
    /// A store for the server of `url`; nothing is connected yet.
    pub fn new(url: &str, io_timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            connection: connection(url, io_timeout).map_err(|e| anyhow::anyhow!("cache.url: {e}"))?,
            timeout: io_timeout,
        })
    }

    /// A store on an existing connection.
    pub fn on(connection: ConnectionManager, io_timeout: Duration) -> Self {
        Self { connection, timeout: io_timeout }
    }

    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> StoreResult<T> {
        crate::redis_client::run(&self.connection, self.timeout, command).await.map_err(|e| StoreError(e.0))
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait::async_trait]
impl CacheStore for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, channel: &str, message: &str) -> StoreResult<()> {
        self.run::<i64>(redis::cmd("PUBLISH").arg(channel).arg(message)).await.map(|_| ())
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        let value: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(key)).await?;
        Ok(value.map(Bytes::from))
    }

    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<Vec<u8>>> = self.run(redis::cmd("MGET").arg(keys)).await?;
        Ok(values.into_iter().map(|v| v.map(Bytes::from)).collect())
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> StoreResult<()> {
        self.run::<()>(redis::cmd("SET").arg(key).arg(value.as_ref()).arg("PX").arg(millis(ttl))).await
    }

    async fn add(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> StoreResult<bool> {
        let mut command = redis::cmd("SET");
        command.arg(key).arg(value.as_ref()).arg("NX");
        if let Some(ttl) = ttl {
            command.arg("PX").arg(millis(ttl));
        }
        let stored: Option<String> = self.run(&command).await?;
        Ok(stored.is_some())
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.run::<()>(redis::cmd("UNLINK").arg(key)).await
    }

    async fn incr(&self, key: &str, by: u64) -> StoreResult<Option<u64>> {
        self.run(redis::cmd("EVAL").arg(INCR_EXISTING).arg(1).arg(key).arg(by)).await
    }

    async fn clear(&self, prefix: &str) -> StoreResult<()> {
        let pattern = pattern(prefix);
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) =
                self.run(redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(500)).await?;
            if !keys.is_empty() {
                self.run::<()>(redis::cmd("UNLINK").arg(&keys)).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run::<String>(&redis::cmd("PING")).await.map(|_| ())
    }
}
