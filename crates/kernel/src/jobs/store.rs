//! The writes of the enqueue side: a new job row, the row of a job that already ran (the
//! inline backend), and the records of side effects that must not run twice. The claiming,
//! finishing and rescuing queries of the workers are the `quartet_jobs` crate's.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};

use super::{JobDef, effect, job};
use crate::db::Db;

/// The states of a job.
pub mod status {
    /// Waiting for a worker (or, with RabbitMQ, in the broker).
    pub const QUEUED: &str = "queued";
    /// Held by a worker.
    pub const RUNNING: &str = "running";
    /// Done.
    pub const SUCCEEDED: &str = "succeeded";
    /// Failed its last attempt (dead-lettered); waits for someone to retry or discard it.
    pub const FAILED: &str = "failed";
    /// Every state, in the order the monitoring page shows them.
    pub const ALL: [&str; 4] = [QUEUED, RUNNING, SUCCEEDED, FAILED];
}

/// Longest error text kept for a job.
pub const ERROR_LIMIT: usize = 4000;

pub fn clip(text: &str) -> String {
    if text.len() <= ERROR_LIMIT {
        return text.to_owned();
    }
    let mut end = ERROR_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Writes a new job on `conn` (the caller's transaction).
pub async fn insert(
    conn: &impl ConnectionTrait,
    def: &JobDef,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let row = job::ActiveModel {
        name: Set(def.name.to_owned()),
        queue: Set(def.queue.to_owned()),
        payload: Set(payload.to_owned()),
        status: Set(status::QUEUED.to_owned()),
        attempts: Set(0),
        max_attempts: Set(max_attempts(def)),
        run_at: Set(now),
        created_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        heartbeat_at: Set(None),
        worker: Set(None),
        last_error: Set(String::new()),
        duration_ms: Set(None),
        published_at: Set(None),
        ..Default::default()
    };
    Ok(row.insert(conn).await?.id)
}

/// Writes a job that already ran (the inline backend).
pub async fn insert_finished(
    conn: &impl ConnectionTrait,
    def: &JobDef,
    payload: &str,
    outcome: (&str, i32, &str),
    started: DateTime<Utc>,
    duration_ms: i64,
) -> Result<i64, DbErr> {
    let (state, attempts, error) = outcome;
    let row = job::ActiveModel {
        name: Set(def.name.to_owned()),
        queue: Set(def.queue.to_owned()),
        payload: Set(payload.to_owned()),
        status: Set(state.to_owned()),
        attempts: Set(attempts),
        max_attempts: Set(max_attempts(def)),
        run_at: Set(started),
        created_at: Set(started),
        started_at: Set(Some(started)),
        finished_at: Set(Some(started)),
        heartbeat_at: Set(None),
        worker: Set(Some("inline".into())),
        last_error: Set(clip(error)),
        duration_ms: Set(Some(duration_ms)),
        published_at: Set(None),
        ..Default::default()
    };
    Ok(row.insert(conn).await?.id)
}

pub fn max_attempts(def: &JobDef) -> i32 {
    i32::try_from(std::cmp::max(def.retry.max_attempts, 1)).unwrap_or(i32::MAX)
}

/// Whether the effect `key` was recorded.
pub async fn effect_done(db: &Db, key: &str) -> Result<bool, DbErr> {
    Ok(effect::Entity::find_by_id(key.to_owned()).one(db).await?.is_some())
}

/// Records the effect `key` (a second record of the same key is ignored).
pub async fn record_effect(db: &Db, key: &str, job_id: i64, now: DateTime<Utc>) -> Result<(), DbErr> {
    let row = effect::ActiveModel { key: Set(key.to_owned()), job_id: Set(job_id), created_at: Set(now) };
    match row.insert(db).await {
        Ok(_) => Ok(()),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e),
    }
}
