//! The job tables as the workers use them: claim, heartbeat, finish, rescue, and the counts
//! the monitoring page shows. Every function is one or two statements that are correct with
//! several workers. (The enqueue side's writes are the kernel's `jobs::store`.)

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use quartet_kernel::db::{Db, statement};
use quartet_kernel::jobs::store::{clip, status};
use quartet_kernel::jobs::{effect, job, worker_row};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Set, Value,
};

#[derive(Debug, FromQueryResult)]
struct IdRow {
    id: i64,
}

/// Takes up to `limit` due jobs of `queues` for `worker`: they become `running`, their attempt
/// count goes up. Two workers never take the same job (row locks skipped on PostgreSQL; one
/// write at a time on SQLite).
pub(crate) async fn claim(
    db: &Db,
    worker: &str,
    queues: &[String],
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<job::Model>, DbErr> {
    if queues.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; queues.len()].join(", ");
    let lock = if db.get_database_backend() == sea_orm::DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE core_job SET status = 'running', worker = ?, attempts = attempts + 1, started_at = ?, \
         heartbeat_at = ?, finished_at = NULL, duration_ms = NULL \
         WHERE id IN (SELECT id FROM core_job WHERE status = 'queued' AND run_at <= ? AND queue IN ({marks}) \
         ORDER BY run_at, id LIMIT {limit}{lock}) RETURNING id"
    );
    let mut values: Vec<Value> = vec![worker.into(), now.into(), now.into(), now.into()];
    values.extend(queues.iter().map(|q| Value::from(q.as_str())));
    let ids: Vec<i64> =
        IdRow::find_by_statement(statement(db, &sql, values)).all(db).await?.into_iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = job::Entity::find().filter(job::Column::Id.is_in(ids)).all(db).await?;
    rows.sort_by_key(|r| (r.run_at, r.id));
    Ok(rows)
}

/// Marks one job `running` for a RabbitMQ delivery. A queued job is taken; a running one only
/// if the broker says the message is redelivered (its holder's connection died). `None` for a
/// job that is gone (discarded), finished, or held by a live worker (a duplicate message).
pub(crate) async fn start_delivered(
    db: &Db,
    id: i64,
    worker: &str,
    redelivered: bool,
    now: DateTime<Utc>,
) -> Result<Option<job::Model>, DbErr> {
    let states: &[&str] = if redelivered { &[status::QUEUED, status::RUNNING] } else { &[status::QUEUED] };
    let updated = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status::RUNNING))
        .col_expr(job::Column::Worker, Expr::value(worker))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(1))
        .col_expr(job::Column::StartedAt, Expr::value(now))
        .col_expr(job::Column::HeartbeatAt, Expr::value(now))
        .col_expr(job::Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.is_in(states.iter().copied()))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(None);
    }
    job::Entity::find_by_id(id).one(db).await
}

fn held_by(id: i64, worker: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(job::Column::Id.eq(id))
        .add(job::Column::Worker.eq(worker))
        .add(job::Column::Status.eq(status::RUNNING))
}

/// Records a successful attempt (only if `worker` still holds the job).
pub(crate) async fn succeed(
    db: &Db,
    id: i64,
    worker: &str,
    now: DateTime<Utc>,
    duration_ms: i64,
) -> Result<bool, DbErr> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status::SUCCEEDED))
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::DurationMs, Expr::value(duration_ms))
        .col_expr(job::Column::LastError, Expr::value(""))
        .filter(held_by(id, worker))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a failed attempt: queued again at `retry_at`, or `failed` for good when `None`.
pub(crate) async fn fail(
    db: &Db,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    duration_ms: i64,
) -> Result<bool, DbErr> {
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::LastError, Expr::value(clip(error)))
        .col_expr(job::Column::DurationMs, Expr::value(duration_ms))
        .col_expr(job::Column::FinishedAt, Expr::value(now));
    update = match retry_at {
        Some(at) => update
            .col_expr(job::Column::Status, Expr::value(status::QUEUED))
            .col_expr(job::Column::RunAt, Expr::value(at)),
        None => update.col_expr(job::Column::Status, Expr::value(status::FAILED)),
    };
    Ok(update.filter(held_by(id, worker)).exec(db).await?.rows_affected == 1)
}

/// Queues a failed job again with fresh attempts (and, for RabbitMQ, to be published again);
/// `false` if it is not failed.
pub(crate) async fn requeue_failed(db: &Db, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let updated = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status::QUEUED))
        .col_expr(job::Column::Attempts, Expr::value(0))
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(job::Column::PublishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::Worker, Expr::value(Option::<String>::None))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(status::FAILED))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Deletes a failed job and its effect records; `false` if it is not failed.
pub(crate) async fn discard_failed(db: &Db, id: i64) -> Result<bool, DbErr> {
    let deleted = job::Entity::delete_many()
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(status::FAILED))
        .exec(db)
        .await?;
    if deleted.rows_affected == 1 {
        effect::Entity::delete_many().filter(effect::Column::JobId.eq(id)).exec(db).await?;
    }
    Ok(deleted.rows_affected == 1)
}

/// Hands jobs a stopping worker could not finish back to the queue; the interrupted attempt
/// does not count.
pub(crate) async fn release(db: &Db, worker: &str, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status::QUEUED))
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).sub(1))
        .col_expr(job::Column::LastError, Expr::value("interrupted: the worker stopped before the job finished"))
        .filter(job::Column::Worker.eq(worker))
        .filter(job::Column::Status.eq(status::RUNNING))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// A heartbeat of `worker`: its row and every job it runs.
pub(crate) async fn heartbeat(db: &Db, worker: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(job::Column::HeartbeatAt, Expr::value(now))
        .filter(job::Column::Worker.eq(worker))
        .filter(job::Column::Status.eq(status::RUNNING))
        .exec(db)
        .await?;
    worker_row::Entity::update_many()
        .col_expr(worker_row::Column::HeartbeatAt, Expr::value(now))
        .filter(worker_row::Column::Id.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// Jobs whose worker has given no heartbeat since `stale_before` go back to the queue (or fail
/// for good if that was their last attempt). Returns how many were requeued and failed.
pub(crate) async fn rescue(db: &Db, stale_before: DateTime<Utc>, now: DateTime<Utc>) -> Result<(u64, u64), DbErr> {
    let stale = || {
        sea_orm::Condition::all()
            .add(job::Column::Status.eq(status::RUNNING))
            .add(job::Column::HeartbeatAt.lt(stale_before))
    };
    let lost = "the worker running it stopped giving heartbeats";
    let failed = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status::FAILED))
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::LastError, Expr::value(format!("{lost} (last attempt)")))
        .filter(stale())
        .filter(Expr::col(job::Column::Attempts).gte(Expr::col(job::Column::MaxAttempts)))
        .exec(db)
        .await?
        .rows_affected;
    let requeued = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status::QUEUED))
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(job::Column::LastError, Expr::value(lost))
        .filter(stale())
        .exec(db)
        .await?
        .rows_affected;
    Ok((requeued, failed))
}

/// Deletes succeeded jobs (and their effect records) finished before `before`.
pub(crate) async fn purge(db: &Db, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let old = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::Status.eq(status::SUCCEEDED))
        .filter(job::Column::FinishedAt.lt(before))
        .limit(1000)
        .into_tuple::<i64>()
        .all(db)
        .await?;
    if old.is_empty() {
        return Ok(0);
    }
    effect::Entity::delete_many().filter(effect::Column::JobId.is_in(old.clone())).exec(db).await?;
    Ok(job::Entity::delete_many().filter(job::Column::Id.is_in(old)).exec(db).await?.rows_affected)
}

/// Registers a starting worker.
pub(crate) async fn register_worker(
    db: &Db,
    id: &str,
    queues: &[String],
    concurrency: usize,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    worker_row::ActiveModel {
        id: Set(id.to_owned()),
        queues: Set(queues.join(",")),
        concurrency: Set(i32::try_from(concurrency).unwrap_or(i32::MAX)),
        started_at: Set(now),
        heartbeat_at: Set(now),
        stopped_at: Set(None),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// Marks a worker stopped.
pub(crate) async fn worker_stopped(db: &Db, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    worker_row::Entity::update_many()
        .col_expr(worker_row::Column::StoppedAt, Expr::value(now))
        .col_expr(worker_row::Column::HeartbeatAt, Expr::value(now))
        .filter(worker_row::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Jobs per type and state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// `name → [queued, running, succeeded, failed]`.
    pub by_name: BTreeMap<String, [u64; 4]>,
}

impl JobCounts {
    /// The totals of every type, in [`status::ALL`] order.
    pub fn totals(&self) -> [u64; 4] {
        let mut totals = [0; 4];
        for counts in self.by_name.values() {
            for (t, c) in totals.iter_mut().zip(counts) {
                *t += c;
            }
        }
        totals
    }
}

/// Counts jobs per type and state (one query).
pub async fn counts(db: &Db) -> Result<JobCounts, DbErr> {
    let rows: Vec<(String, String, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::Name)
        .column(job::Column::Status)
        .column_as(job::Column::Id.count(), "n")
        .group_by(job::Column::Name)
        .group_by(job::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts = JobCounts::default();
    for (name, state, n) in rows {
        if let Some(i) = status::ALL.iter().position(|s| *s == state) {
            counts.by_name.entry(name).or_default()[i] = u64::try_from(n).unwrap_or(0);
        }
    }
    Ok(counts)
}
