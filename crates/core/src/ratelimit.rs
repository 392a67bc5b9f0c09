//! Fixed-window counters in the database, shared by every instance: brute-force limits on
//! sign-in, password reset and other costly actions.
//!
//! A window opens at the first event for a key and lasts `window`; events inside it are counted,
//! and the first event after it opens a new window. Each hit is one atomic upsert.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

use crate::db::Db;

const TABLE: &str = "core_rate_limit";

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
        select.columns(["count", "window_start"]).from(TABLE).and_where(Expr::col("key").eq(key));
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

    /// Counts one event for `key`; returns the count in the window.
    pub async fn hit(&self, key: &str, window: Duration, now: DateTime<Utc>) -> Result<u32, DbErr> {
        let cutoff = now - window;
        let mut insert = Query::insert();
        insert
            .into_table(TABLE)
            .columns(["key", "window_start", "count"])
            .values_panic([key.into(), now.into(), 1i64.into()])
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
            );
        self.db.execute(&insert).await?;
        Ok(self.usage(key, window, now).await?.count)
    }

    /// Forgets `key` (after a successful sign-in, for example).
    pub async fn reset(&self, key: &str) -> Result<(), DbErr> {
        let mut delete = Query::delete();
        delete.from_table(TABLE).and_where(Expr::col("key").eq(key));
        self.db.execute(&delete).await.map(|_| ())
    }

    /// Deletes counters whose window closed before `before`.
    pub async fn purge(&self, before: DateTime<Utc>) -> Result<u64, DbErr> {
        let mut delete = Query::delete();
        delete.from_table(TABLE).and_where(Expr::col("window_start").lt(before));
        Ok(self.db.execute(&delete).await?.rows_affected())
    }
}
