//! The connection every Redis-backed service uses (the cache, the key-value store, sessions,
//! the channel layer): redis-rs's `ConnectionManager`, which multiplexes one connection and
//! reconnects by itself, made lazily so the site starts while Redis is down.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Why Redis did not answer (down, slow, or an unexpected reply).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct RedisError(pub String);

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

/// Runs one Redis command within `timeout`, an error of any kind becoming a [`RedisError`].
///
/// The connection's own limits (connecting and answering, both `timeout`) end a call first,
/// so it sees its errors and reconnects; the limit here, twice as long, only guards against a
/// call that would hang anyway.
pub async fn run<T: redis::FromRedisValue>(
    connection: &ConnectionManager,
    timeout: Duration,
    command: &redis::Cmd,
) -> Result<T, RedisError> {
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
        Ok(Err(e)) => Err(RedisError(format!("redis: {e}"))),
        Err(_) => Err(RedisError(format!("redis did not answer within {} ms", timeout.as_millis()))),
    }
}

/// `prefix` with the characters `SCAN MATCH` reads as patterns escaped, then `*`.
pub fn pattern(prefix: &str) -> String {
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

#[cfg(test)]
mod tests {
    #[test]
    fn scan_patterns_escape_the_prefix() {
        assert_eq!(super::pattern("quartet:"), "quartet:*");
        assert_eq!(super::pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
    }
}
