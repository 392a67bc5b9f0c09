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

/// What a Redis server says of itself (the admin's services page, the reference's redisboard).
#[derive(Debug, Clone, Default)]
pub struct RedisReport {
    /// `redis_version`.
    pub version: String,
    /// Seconds since the server started.
    pub uptime_seconds: u64,
    /// Memory in use, as Redis writes it (`1.05M`).
    pub memory_used: String,
    /// The most memory used since start.
    pub memory_peak: String,
    /// The memory limit (`0B`: none).
    pub memory_limit: String,
    /// Connected clients.
    pub clients: u64,
    /// Lookups that found their key, and that did not.
    pub hits: u64,
    /// See `hits`.
    pub misses: u64,
    /// Commands per second now.
    pub ops_per_second: u64,
    /// Each database with keys: its name, keys, keys with an expiry.
    pub databases: Vec<(String, u64, u64)>,
    /// The slowest recent commands.
    pub slow: Vec<SlowCommand>,
}

impl RedisReport {
    /// Hits among lookups, in percent (`None` before any lookup).
    pub fn hit_ratio(&self) -> Option<f64> {
        let total = self.hits + self.misses;
        (total > 0).then(|| self.hits as f64 * 100.0 / total as f64)
    }
}

/// One entry of `SLOWLOG GET`.
#[derive(Debug, Clone)]
pub struct SlowCommand {
    /// When it ran.
    pub at: chrono::DateTime<chrono::Utc>,
    /// How long it took, in microseconds.
    pub micros: u64,
    /// The command and its first arguments (long ones cut).
    pub command: String,
}

/// One key of the key browser.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// The key.
    pub key: String,
    /// `string`, `zset`, `hash`…
    pub kind: String,
    /// Milliseconds it still lives (`None`: no expiry).
    pub ttl_ms: Option<i64>,
    /// Bytes of a string, members of a collection.
    pub size: u64,
    /// The start of a string or the best members of a sorted set (`None` where hidden).
    pub preview: Option<String>,
}

fn info_fields(text: &str) -> std::collections::HashMap<&str, &str> {
    text.lines().filter_map(|line| line.split_once(':')).map(|(k, v)| (k.trim(), v.trim())).collect()
}

fn text_of(value: &redis::Value) -> String {
    match value {
        redis::Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// The server's state: `INFO` and `SLOWLOG GET 10`.
pub async fn report(connection: &ConnectionManager, timeout: Duration) -> Result<RedisReport, RedisError> {
    let info: String = run(connection, timeout, &redis::cmd("INFO")).await?;
    let fields = info_fields(&info);
    let number = |key: &str| fields.get(key).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let text = |key: &str| fields.get(key).map_or_else(String::new, |v| (*v).to_owned());
    let databases = fields
        .iter()
        .filter(|(k, _)| k.starts_with("db") && k[2..].bytes().all(|b| b.is_ascii_digit()))
        .map(|(name, value)| {
            let part = |key: &str| {
                value.split(',').find_map(|p| p.strip_prefix(key)?.strip_prefix('=')?.parse::<u64>().ok()).unwrap_or(0)
            };
            ((*name).to_owned(), part("keys"), part("expires"))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let entries: redis::Value = run(connection, timeout, redis::cmd("SLOWLOG").arg("GET").arg(10)).await?;
    let slow = match entries {
        redis::Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let redis::Value::Array(parts) = item else { return None };
                let int = |i: usize| match parts.get(i) {
                    Some(redis::Value::Int(n)) => Some(*n),
                    _ => None,
                };
                let args = match parts.get(3) {
                    Some(redis::Value::Array(args)) => {
                        args.iter().take(6).map(|a| cut(&text_of(a), 40)).collect::<Vec<_>>().join(" ")
                    }
                    _ => String::new(),
                };
                Some(SlowCommand {
                    at: chrono::DateTime::from_timestamp(int(1)?, 0)?,
                    micros: u64::try_from(int(2)?).unwrap_or(0),
                    command: args,
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(RedisReport {
        version: text("redis_version"),
        uptime_seconds: number("uptime_in_seconds"),
        memory_used: text("used_memory_human"),
        memory_peak: text("used_memory_peak_human"),
        memory_limit: text("maxmemory_human"),
        clients: number("connected_clients"),
        hits: number("keyspace_hits"),
        misses: number("keyspace_misses"),
        ops_per_second: number("instantaneous_ops_per_sec"),
        databases,
        slow,
    })
}

/// At most `limit` keys starting with `prefix` (read-only: `SCAN`, `TYPE`, `PTTL`, sizes), each
/// string or sorted set previewed unless its key starts with one of `hidden` (sessions). At
/// most 20 `SCAN` rounds are made, so a large database costs a bounded amount of work.
pub async fn browse(
    connection: &ConnectionManager,
    timeout: Duration,
    prefix: &str,
    limit: usize,
    hidden: &[&str],
) -> Result<Vec<KeyInfo>, RedisError> {
    let pattern = pattern(prefix);
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    for _ in 0..20 {
        let (next, found): (u64, Vec<String>) =
            run(connection, timeout, redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(200))
                .await?;
        keys.extend(found);
        if next == 0 || keys.len() >= limit {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    keys.truncate(limit);
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let kind: String = run(connection, timeout, redis::cmd("TYPE").arg(&key)).await?;
        let ttl: i64 = run(connection, timeout, redis::cmd("PTTL").arg(&key)).await?;
        let size_command = match kind.as_str() {
            "string" => "STRLEN",
            "hash" => "HLEN",
            "list" => "LLEN",
            "set" => "SCARD",
            "zset" => "ZCARD",
            "stream" => "XLEN",
            _ => "",
        };
        let size: u64 = if size_command.is_empty() {
            0
        } else {
            run(connection, timeout, redis::cmd(size_command).arg(&key)).await?
        };
        let shown = !hidden.iter().any(|h| !h.is_empty() && key.starts_with(h));
        let preview = match kind.as_str() {
            "string" if shown => {
                let start: Vec<u8> = run(connection, timeout, redis::cmd("GETRANGE").arg(&key).arg(0).arg(199)).await?;
                Some(cut(&String::from_utf8_lossy(&start), 120))
            }
            "zset" if shown => {
                let top: Vec<String> =
                    run(connection, timeout, redis::cmd("ZREVRANGE").arg(&key).arg(0).arg(4).arg("WITHSCORES")).await?;
                Some(top.chunks(2).map(|p| p.join(" ")).collect::<Vec<_>>().join(", "))
            }
            _ => None,
        };
        out.push(KeyInfo { key, kind, ttl_ms: (ttl >= 0).then_some(ttl), size, preview });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn scan_patterns_escape_the_prefix() {
        assert_eq!(super::pattern("quartet:"), "quartet:*");
        assert_eq!(super::pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
    }
}
