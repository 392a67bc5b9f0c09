//! Fixed-window counters in the database, shared by every instance: brute-force limits on
//! sign-in, password reset and other costly actions.
//!
//! A window opens at the first event for a key and lasts `window`; events inside it are counted,
//! and the first event after it opens a new window. Each hit is one atomic upsert that returns
//! the new count, so a limit is enforced with [`RateLimiter::take`] *before* the costly work it
//! guards (a password hash, an e-mail), never by a check followed by a later count.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

use crate::db::Db;

const TABLE: &str = "core_rate_limit";
/// Longest key stored as it is (the column holds 255 characters).
const MAX_PLAIN_KEY: usize = 128;

/// The key as stored: keys made from what visitors type (an e-mail address, a user name) may be
/// long or hold characters a database cannot store (NUL); those are kept as a prefix and a hash.
fn stored_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.len() <= MAX_PLAIN_KEY && !key.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(key);
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex = hex::encode(digest);
    let prefix: String = key.chars().take_while(|c| !c.is_control()).take(48).collect();
    std::borrow::Cow::Owned(format!("{prefix}#{hex}"))
}

/// Counters of events per key.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    db: Db,
}

/// The state of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Events in the current window.
    pub count: u32,
    /// Seconds until the window closes.
    pub resets_in: u64,
}

impl RateLimiter {
    /// Counters stored in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Events counted for `key` in its current window (0 if the window has closed).
    pub async fn usage(&self, key: &str, window: Duration, now: DateTime<Utc>) -> Result<Usage, DbErr> {
        let mut select = Query::select();
        select.columns(["count", "window_start"]).from(TABLE).and_where(Expr::col("key").eq(stored_key(key).as_ref()));
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(Usage { count: 0, resets_in: 0 });
        };
        let start: DateTime<Utc> = row.try_get("", "window_start")?;
        let count: i64 = row.try_get("", "count")?;
        if start + window <= now {
            return Ok(Usage { count: 0, resets_in: 0 });
        }
        Ok(Usage {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            resets_in: std::cmp::max(u64::try_from((start + window - now).num_seconds()).unwrap_or(0), 1),
        })
    }

    /// Whether `key` has reached `limit` events in its window; if so, the seconds to wait.
    pub async fn check(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, DbErr> {
        let usage = self.usage(key, window, now).await?;
        Ok((usage.count >= limit).then_some(usage.resets_in))
    }

    /// Counts one event for `key` and returns the count in the window, in one statement (an
    /// upsert that returns the new row), so concurrent callers each see their own count.
    pub async fn hit(&self, key: &str, window: Duration, now: DateTime<Utc>) -> Result<u32, DbErr> {
        Ok(self.count(key, window, now).await?.count)
    }

    /// Takes one of `limit` events of `key`'s window, atomically, before the work it guards:
    /// `Ok(count)` if the event is within the limit, `Err(seconds to wait)` if not. Concurrent
    /// callers cannot all pass a check made before their counts land (check-then-act): the
    /// count is taken first. A refused event is counted too.
    pub async fn take(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<Result<u32, u64>, DbErr> {
        let usage = self.count(key, window, now).await?;
        Ok(if usage.count > limit { Err(usage.resets_in) } else { Ok(usage.count) })
    }

    /// Gives back one event taken by [`Self::take`] (a sign-in that succeeded was no failure).
    pub async fn give_back(&self, key: &str) -> Result<(), DbErr> {
        let mut update = Query::update();
        update
            .table(TABLE)
            .value("count", Expr::case(Expr::col("count").gt(0i64), Expr::col("count").sub(1i64)).finally(0i64))
            .and_where(Expr::col("key").eq(stored_key(key).as_ref()));
        self.db.execute(&update).await.map(|_| ())
    }

    async fn count(&self, key: &str, window: Duration, now: DateTime<Utc>) -> Result<Usage, DbErr> {
        let cutoff = now - window;
        let mut insert = Query::insert();
        insert
            .into_table(TABLE)
            .columns(["key", "window_start", "count"])
            .values_panic([stored_key(key).as_ref().into(), now.into(), 1i64.into()])
            .on_conflict(
                OnConflict::column("key")
                    .values([
                        (
                            "count",
                            Expr::case(
                                Expr::col((TABLE, "window_start")).gt(cutoff),
                                Expr::col((TABLE, "count")).add(1i64),
                            )
                            .finally(1i64)
                            .into(),
                        ),
                        (
                            "window_start",
                            Expr::case(
                                Expr::col((TABLE, "window_start")).gt(cutoff),
                                Expr::col((TABLE, "window_start")),
                            )
                            .finally(now)
                            .into(),
                        ),
                    ])
                    .to_owned(),
            )
            .returning(Query::returning().columns(["count", "window_start"]));
        let row = self.db.query_one(&insert).await?.ok_or_else(|| DbErr::RecordNotFound(key.to_owned()))?;
        let start: DateTime<Utc> = row.try_get("", "window_start")?;
        let count: i64 = row.try_get("", "count")?;
        Ok(Usage {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            resets_in: std::cmp::max(u64::try_from((start + window - now).num_seconds()).unwrap_or(0), 1),
        })
    }

    /// Forgets `key` (after a successful sign-in, for example).
    pub async fn reset(&self, key: &str) -> Result<(), DbErr> {
        let mut delete = Query::delete();
        delete.from_table(TABLE).and_where(Expr::col("key").eq(stored_key(key).as_ref()));
        self.db.execute(&delete).await.map(|_| ())
    }

    /// Deletes counters whose window closed before `before`.
    pub async fn purge(&self, before: DateTime<Utc>) -> Result<u64, DbErr> {
        let mut delete = Query::delete();
        delete.from_table(TABLE).and_where(Expr::col("window_start").lt(before));
        Ok(self.db.execute(&delete).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::stored_key;

    #[test]
    fn long_or_odd_keys_are_hashed_to_fit_the_column() {
        assert_eq!(stored_key("login:ip:127.0.0.1"), "login:ip:127.0.0.1");
        let long = format!("blog:share:to:{}@example.com", "a".repeat(300));
        let stored = stored_key(&long);
        assert!(stored.len() <= 255 && stored.starts_with("blog:share:to:aaa"), "{stored}");
        assert_ne!(stored_key(&format!("{long}x")), stored, "different keys stay different");
        let nul = stored_key("login:name:a\0b");
        assert!(!nul.contains('\0') && nul.starts_with("login:name:a#"), "{nul}");
    }
}
