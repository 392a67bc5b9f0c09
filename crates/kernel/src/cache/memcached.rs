//! Memcached (`cache.backend = "memcached"`, `cache.url = "memcached://127.0.0.1:11211"`):
//! the ASCII protocol of `memcache-async` over a small pool of TCP connections of our own.
//!
//! At most `cache.max_connections` connections are open; a call waits for one at most
//! `cache.io_timeout_ms`, and so does each exchange. A connection whose exchange failed or was
//! cut off is closed, never reused (its replies would be out of step). Values above 1,000,000
//! bytes (Memcached's item limit) are not kept.

use std::time::Duration;

use bytes::Bytes;
use memcache_async::ascii::Protocol;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Semaphore};

use super::store::{CacheStore, StoreError, StoreResult};

/// The largest value kept (Memcached refuses items over 1 MiB with their key and header).
pub const MAX_VALUE_BYTES: usize = 1_000_000;
/// Memcached reads an expiry over 30 days as a date; entries never live that long here.
const MAX_EXPIRY_SECONDS: u64 = 30 * 24 * 3600;

type Connection = Protocol<TcpStream>;

/// A Memcached server.
pub struct MemcachedStore {
    address: String,
    io_timeout: Duration,
    permits: Semaphore,
    idle: Mutex<Vec<Connection>>,
}

impl MemcachedStore {
    /// A store for the server of `url` (`memcached://host:port`); nothing is connected yet.
    pub fn new(url: &str, io_timeout: Duration, max_connections: usize) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("cache.url: `{url}` is not a URL ({e})"))?;
        if parsed.scheme() != "memcached" {
            anyhow::bail!("cache.url: a Memcached URL starts with memcached:// (`{url}`)");
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| anyhow::anyhow!("cache.url: no host in `{url}`"))?;
        let port = parsed.port().unwrap_or(11211);
        Ok(Self {
            address: format!("{host}:{port}"),
            io_timeout,
            permits: Semaphore::new(max_connections.max(1)),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `exchange` on a pooled connection (opened if none is idle) within the time limit;
    /// the connection goes back to the pool only if the exchange completed. An idle connection
    /// that fails (the server restarted since it was opened) is closed and the exchange tried
    /// once more on a new one.
    async fn with<T>(
        &self,
        exchange: impl for<'c> Fn(&'c mut Connection) -> futures_util::future::BoxFuture<'c, std::io::Result<T>>,
    ) -> StoreResult<T> {
        let work = async {
            let _permit = self.permits.acquire().await.map_err(|_| StoreError::new("the pool is closed"))?;
            let idle = self.idle.lock().await.pop();
            let pooled = idle.is_some();
            let mut connection = match idle {
                Some(c) => c,
                None => self.connect().await?,
            };
            let mut result = exchange(&mut connection).await;
            if pooled && matches!(&result, Err(e) if !is_answer(e)) {
                connection = self.connect().await?;
                result = exchange(&mut connection).await;
            }
            if result.is_ok() || matches!(&result, Err(e) if is_answer(e)) {
                self.idle.lock().await.push(connection);
            }
            Ok(result)
        };
        match tokio::time::timeout(self.io_timeout, work).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(e))) => Err(StoreError::new(format!("memcached at {}: {e}", self.address))),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::new(format!(
                "memcached at {} did not answer within {} ms",
                self.address,
                self.io_timeout.as_millis()
            ))),
        }
    }

    async fn connect(&self) -> StoreResult<Connection> {
        let stream = TcpStream::connect(&self.address)
            .await
            .map_err(|e| StoreError::new(format!("memcached at {}: {e}", self.address)))?;
        let _ = stream.set_nodelay(true);
        Ok(Protocol::new(stream))
    }
}

/// Whether an error is a complete answer of the server (not found, already there), after which
/// the connection is still in step.
fn is_answer(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::AlreadyExists)
}

fn expiry(ttl: Duration) -> u32 {
    u32::try_from(ttl.as_secs().clamp(1, MAX_EXPIRY_SECONDS)).unwrap_or(u32::MAX)
}

#[async_trait::async_trait]
impl CacheStore for MemcachedStore {
    fn name(&self) -> &'static str {
        "memcached"
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        let key = key.to_owned();
        self.with(move |c| {
            let key = key.clone();
            Box::pin(async move {
                match c.get(&key).await {
                    Ok(value) => Ok(Some(Bytes::from(value))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            })
        })
        .await
    }

    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Bytes>>> {
        let asked = keys.to_vec();
        let mut found = self
            .with(move |c| {
                let asked = asked.clone();
                Box::pin(async move { c.get_multi(&asked).await })
            })
            .await?;
        Ok(keys.iter().map(|k| found.remove(k).map(Bytes::from)).collect())
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> StoreResult<()> {
        if value.len() > MAX_VALUE_BYTES {
            tracing::debug!(target: "quartet::cache", key, bytes = value.len(), "too large for memcached; not kept");
            return Ok(());
        }
        // `set` asks for no reply; `version` after it is answered once the set was handled, so
        // another instance reads the value next, and an error line would put the exchange out
        // of step and close the connection rather than be read as the next answer.
        let key = key.to_owned();
        self.with(move |c| {
            let (key, value) = (key.clone(), value.clone());
            Box::pin(async move {
                c.set(&key, &value, expiry(ttl)).await?;
                c.version().await.map(|_| ())
            })
        })
        .await
    }

    async fn add(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> StoreResult<bool> {
        let expiration = ttl.map_or(0, expiry);
        let key = key.to_owned();
        self.with(move |c| {
            let (key, value) = (key.clone(), value.clone());
            Box::pin(async move {
                match c.add(&key, &value, expiration).await {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(e),
                }
            })
        })
        .await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.with(move |c| {
            let key = key.clone();
            Box::pin(async move {
                c.delete(&key).await?;
                c.version().await.map(|_| ())
            })
        })
        .await
    }

    async fn incr(&self, key: &str, by: u64) -> StoreResult<Option<u64>> {
        let key = key.to_owned();
        self.with(move |c| {
            let key = key.clone();
            Box::pin(async move {
                match c.increment(&key, by).await {
                    Ok(value) => Ok(Some(value)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            })
        })
        .await
    }

    async fn clear(&self, _prefix: &str) -> StoreResult<()> {
        // Memcached cannot list keys: everything goes, as Django's `cache.clear()` does there.
        self.with(|c| Box::pin(async move { c.flush().await })).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.with(|c| Box::pin(async move { c.version().await.map(|_| ()) })).await
    }
}
