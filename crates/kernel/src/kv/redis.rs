//! The key-value store in Redis: `INCRBY`, `MGET`, `ZINCRBY`, `ZSCORE`, `ZREVRANGE`, and a
//! union of sorted sets less some members made in one script (`ZUNIONSTORE` into a key of its
//! own, `ZREM`, `ZREVRANGE`, `DEL`), as the reference's recommender does in four calls; a
//! batched write is one script too.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{KvError, KvResult, KvStore, Member, Writes};

/// Counters and sorted sets in Redis, every key after `kv.key_prefix`.
pub struct RedisKv {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

const UNION: &str = "local n = tonumber(ARGV[1]) \
    redis.call('ZUNIONSTORE', KEYS[1], #KEYS - 1, unpack(KEYS, 2)) \
    if #ARGV > 1 then redis.call('ZREM', KEYS[1], unpack(ARGV, 2)) end \
    local top = redis.call('ZREVRANGE', KEYS[1], 0, n - 1, 'WITHSCORES') \
    redis.call('DEL', KEYS[1]) \
    return top";

/// A batched write in one call: `KEYS` are the counters then the sets, `ARGV[1]` the number
/// of counters, then each counter's increment, then each set's member and increment.
const APPLY: &str = "local n = tonumber(ARGV[1]) \
    local counts = {} \
    for i = 1, n do counts[i] = redis.call('INCRBY', KEYS[i], ARGV[1 + i]) end \
    local scores = {} \
    for k = 1, #KEYS - n do \
      scores[k] = redis.call('ZINCRBY', KEYS[n + k], ARGV[n + 2 * k + 1], ARGV[n + 2 * k]) \
    end \
    return {counts, scores}";

impl RedisKv {
    /// A store at `url` (connected on first use).
    pub fn new(url: &str, prefix: &str, io_timeout: Duration) -> anyhow::Result<Self> {
        let connection = crate::redis_client::connection(url, io_timeout)
            .map_err(|e| anyhow::anyhow!("redis.url (kv.backend = \"redis\"): {e}"))?;
        Ok(Self { connection, prefix: prefix.to_owned(), timeout: io_timeout })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> KvResult<T> {
        crate::redis_client::run(&self.connection, self.timeout, command).await.map_err(|e| KvError::Unavailable(e.0))
    }
}

/// `[member, score, member, score…]` as pairs.
fn pairs(flat: Vec<String>) -> Vec<(String, f64)> {
    flat.chunks(2).filter_map(|pair| Some((pair[0].clone(), pair.get(1)?.parse().ok()?))).collect()
}

#[async_trait::async_trait]
impl KvStore for RedisKv {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn incr(&self, key: &str, by: i64) -> KvResult<i64> {
        self.run(redis::cmd("INCRBY").arg(self.key(key)).arg(by)).await
    }

    async fn get_many(&self, keys: &[String]) -> KvResult<Vec<Option<i64>>> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.run(redis::cmd("MGET").arg(keys)).await
    }

    async fn zincrby(&self, set: &str, member: &str, by: f64) -> KvResult<f64> {
        self.run(redis::cmd("ZINCRBY").arg(self.key(set)).arg(by).arg(member)).await
    }

    async fn zscore(&self, set: &str, member: &str) -> KvResult<Option<f64>> {
        self.run(redis::cmd("ZSCORE").arg(self.key(set)).arg(member)).await
    }

    async fn ztop(&self, set: &str, n: usize) -> KvResult<Vec<(String, f64)>> {
        let flat: Vec<String> = self
            .run(redis::cmd("ZREVRANGE").arg(self.key(set)).arg(0).arg(n.saturating_sub(1)).arg("WITHSCORES"))
            .await?;
        Ok(pairs(flat))
    }

    async fn zunion_top(&self, sets: &[String], exclude: &[String], n: usize) -> KvResult<Vec<(String, f64)>> {
        let scratch = self.key(&format!("tmp:{}", crate::crypto::random_string(16, crate::crypto::LOWER_ALNUM)));
        let mut command = redis::cmd("EVAL");
        command.arg(UNION).arg(sets.len() + 1).arg(scratch);
        for set in sets {
            command.arg(self.key(set));
        }
        command.arg(n);
        for member in exclude {
            command.arg(member);
        }
        Ok(pairs(self.run(&command).await?))
    }

    async fn delete_prefix(&self, prefix: &str) -> KvResult<u64> {
        let pattern = crate::redis_client::pattern(&self.key(prefix));
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, keys): (u64, Vec<String>) =
                self.run(redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(500)).await?;
            if !keys.is_empty() {
                removed += self.run::<u64>(redis::cmd("UNLINK").arg(&keys)).await?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    async fn ping(&self) -> KvResult<()> {
        self.run::<String>(&redis::cmd("PING")).await.map(|_| ())
    }

    /// One script for the whole batch: one round trip, applied atomically.
    async fn apply(&self, writes: &Writes) -> KvResult<(Vec<(String, i64)>, Vec<(Member, f64)>)> {
        let mut command = redis::cmd("EVAL");
        command.arg(APPLY).arg(writes.counters.len() + writes.scores.len());
        for (key, _) in &writes.counters {
            command.arg(self.key(key));
        }
        for ((set, _), _) in &writes.scores {
            command.arg(self.key(set));
        }
        command.arg(writes.counters.len());
        for (_, by) in &writes.counters {
            command.arg(*by);
        }
        for ((_, member), by) in &writes.scores {
            command.arg(member).arg(*by);
        }
        let (counts, scores): (Vec<i64>, Vec<String>) = self.run(&command).await?;
        if counts.len() != writes.counters.len() || scores.len() != writes.scores.len() {
            return Err(KvError::Unavailable("the batched write answered another number of values".into()));
        }
        let scores = scores
            .iter()
            .map(|s| s.parse::<f64>().map_err(|_| KvError::Unavailable(format!("`{s}` is not a score"))))
            .collect::<KvResult<Vec<f64>>>()?;
        Ok((
            writes.counters.iter().map(|(k, _)| k.clone()).zip(counts).collect(),
            writes.scores.iter().map(|(m, _)| m.clone()).zip(scores).collect(),
        ))
    }
}
