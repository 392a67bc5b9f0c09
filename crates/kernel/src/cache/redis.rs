//! Redis (`cache.backend = "redis"`, `cache.url = "redis://127.0.0.1:6379/0"`): one multiplexed
//! connection (redis-rs's `ConnectionManager`, which reconnects by itself), connected on first
//! use so the site starts while Redis is down. Every command waits at most
//! `cache.io_timeout_ms`.

use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::store::{CacheStore, StoreError, StoreResult};

/// A connection to the Redis server of `url`, made on first use, each command (and each
/// connection attempt) given at most `io_timeout`. Shared by the cache, the key-value store,
/// the sessions and the channel layer.
pub fn connection(url: &str, io_timeout: Duration) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("`{}` is not a Redis URL ({e})", redact(url)))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(io_timeout))
        .set_response_timeout(Some(io_timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(io_timeout);
    client
        .get_connection_manager_lazy(config)
        .map_err(|e| anyhow::anyhow!("cannot prepare the Redis connection to {}: {e}", redact(url)))
}

/// A Redis URL without its password, for messages.
pub fn redact(url: &str) -> String {
    crate::db::redact_url(url)
}

/// Runs one Redis command within `timeout`, an error of any kind becoming a [`StoreError`].
///
/// The connection's own limits (connecting and answering, both `timeout`) end a call first,
/// so it sees its errors and reconnects; the limit here, twice as long, only guards against a
/// call that would hang anyway.
pub async fn run<T: redis::FromRedisValue>(
    connection: &ConnectionManager,
    timeout: Duration,
    command: &redis::Cmd,
) -> StoreResult<T> {
    let mut connection = connection.clone();
    let call = async {
        match command.query_async::<T>(&mut connection).await {
            // The connection was lost (Redis restarted): it reconnects, and the command is
            // tried once more on the new connection.
            Err(e) if e.is_unrecoverable_error() || e.is_connection_dropped() => {
                command.query_async::<T>(&mut connection).await
            }
            other => other,
        }
    };
    match tokio::time::timeout(timeout * 2, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(StoreError::new(format!("redis: {e}"))),
        Err(_) => Err(StoreError::new(format!("redis did not answer within {} ms", timeout.as_millis()))),
    }
}

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
        run(&self.connection, self.timeout, command).await
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `prefix` with the characters `SCAN MATCH` reads as patterns escaped, then `*`.
fn pattern(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 2);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('*');
    out
}

#[async_trait::async_trait]
impl CacheStore for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
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

#[cfg(test)]
mod tests {
    #[test]
    fn scan_patterns_escape_the_prefix() {
        assert_eq!(super::pattern("quartet:"), "quartet:*");
        assert_eq!(super::pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
    }
}
