//! Workers: take jobs from the database queue (or RabbitMQ, see [`crate::amqp`]), run a
//! bounded number at once, keep a heartbeat, and stop gracefully.
//!
//! A worker's loop claims as many due jobs as it has free slots, runs each on its own task
//! with the job's time limit, and records the outcome: succeeded, queued again after the
//! backoff, or failed for good after the last attempt. Every `jobs.heartbeat_seconds` it
//! refreshes its heartbeat and that of its jobs, gives jobs of silent workers (no heartbeat for
//! `jobs.heartbeat_timeout_seconds`) back to the queue, and deletes old succeeded jobs.
//!
//! On [`Worker::stop`](crate::Worker::stop) it takes no new job, waits for running jobs up to
//! the grace period, and hands the unfinished ones back to the queue.
//! [`Worker::kill`](crate::Worker::kill) stops it like `SIGKILL` would: its jobs stay
//! `running` until their heartbeat is found stale.

use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::store;
use quartet_kernel::app::CoreState;
use quartet_kernel::jobs::{JobDef, execute};

/// What a worker takes on.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Queues to take jobs from; empty means every queue of the installed apps.
    pub queues: Vec<String>,
    /// Jobs run at the same time.
    pub concurrency: usize,
}

impl WorkerOptions {
    /// The options of `jobs` settings.
    pub fn from_settings(core: &CoreState) -> Self {
        Self { queues: core.settings.jobs.queues.clone(), concurrency: core.settings.jobs.concurrency }
    }
}

/// What a stopped worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Attempts finished (succeeded or failed).
    pub finished: u64,
    /// Jobs handed back to the queue because the grace period ended first.
    pub released: u64,
}

/// Runs one attempt of a claimed job; returns the outcome and how long it took.
pub(crate) async fn attempt(core: &CoreState, row: &quartet_kernel::jobs::job::Model) -> (Result<(), String>, i64) {
    let started = Instant::now();
    let attempt = u32::try_from(row.attempts).unwrap_or(1);
    let outcome = match quartet_kernel::jobs::job_types(core).get(row.name.as_str()) {
        None => Err(format!("no installed app has the job type {}", row.name)),
        Some(def) => match serde_json::from_str(&row.payload) {
            Ok(payload) => execute(core, def, payload, Some(row.id), attempt).await,
            Err(e) => Err(format!("the stored arguments are not JSON: {e}")),
        },
    };
    (outcome, i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX))
}

/// When a failed attempt of `row` is tried again, or `None` after its last attempt.
pub(crate) fn next_attempt(core: &CoreState, row: &quartet_kernel::jobs::job::Model) -> Option<chrono::DateTime<Utc>> {
    let attempt = u32::try_from(row.attempts).unwrap_or(1);
    retry_time(quartet_kernel::jobs::job_types(core).get(row.name.as_str()), attempt, row.max_attempts, core.now())
}

/// Logs an attempt's outcome.
pub(crate) fn log_outcome(
    row: &quartet_kernel::jobs::job::Model,
    outcome: &Result<(), String>,
    millis: i64,
    retry: bool,
) {
    let (id, name, attempt) = (row.id, row.name.as_str(), row.attempts);
    match outcome {
        Ok(()) => tracing::info!(target: "quartet::jobs", job_id = id, name, attempt, ms = millis, "job succeeded"),
        Err(error) if retry => {
            tracing::warn!(target: "quartet::jobs", job_id = id, name, attempt, %error, "job failed; will retry");
        }
        Err(error) => {
            tracing::error!(target: "quartet::jobs", job_id = id, name, attempt, %error, "job failed for good")
        }
    }
}

/// Runs one claimed job and records the outcome; returns whether it succeeded.
pub(crate) async fn run_claimed(core: &CoreState, row: quartet_kernel::jobs::job::Model, worker: &str) -> bool {
    let (outcome, millis) = attempt(core, &row).await;
    let now = core.now();
    let recorded = match &outcome {
        Ok(()) => {
            log_outcome(&row, &outcome, millis, false);
            store::succeed(&core.db, row.id, worker, now, millis).await
        }
        Err(error) => {
            let retry_at = next_attempt(core, &row);
            log_outcome(&row, &outcome, millis, retry_at.is_some());
            store::fail(&core.db, row.id, worker, error, retry_at, now, millis).await
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(target: "quartet::jobs", job_id = row.id, "the job was taken from this worker before it finished");
        }
        Err(e) => {
            tracing::error!(target: "quartet::jobs", job_id = row.id, error = %e, "could not record the job's outcome")
        }
    }
    outcome.is_ok()
}

/// When to try again after failed attempt `attempt`, or `None` after the last one.
pub(crate) fn retry_time(
    def: Option<&JobDef>,
    attempt: u32,
    max_attempts: i32,
    now: chrono::DateTime<Utc>,
) -> Option<chrono::DateTime<Utc>> {
    let def = def?;
    if i64::from(attempt) >= i64::from(max_attempts) {
        return None;
    }
    let delay = def.retry.delay_after(attempt);
    Some(now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX))
}

/// A worker's periodic duties: its heartbeat, rescuing jobs of silent workers (database queue
/// only: on RabbitMQ the broker redelivers them), and deleting old succeeded jobs.
pub(crate) async fn maintenance(core: &CoreState, id: &str, rescue: bool) {
    let now = core.now();
    let settings = &core.settings.jobs;
    if let Err(e) = store::heartbeat(&core.db, id, now).await {
        tracing::warn!(target: "quartet::jobs", error = %e, "heartbeat failed");
    }
    if rescue {
        match rescue_stale(core).await {
            Ok((0, 0)) => {}
            Ok((requeued, failed)) => tracing::warn!(
                target: "quartet::jobs",
                requeued,
                failed,
                "jobs of a silent worker taken back"
            ),
            Err(e) => tracing::warn!(target: "quartet::jobs", error = %e, "rescuing jobs failed"),
        }
    }
    let keep = chrono::Duration::days(i64::try_from(settings.keep_finished_days).unwrap_or(7));
    if let Err(e) = store::purge(&core.db, now - keep).await {
        tracing::warn!(target: "quartet::jobs", error = %e, "deleting old jobs failed");
    }
}

/// Rescues jobs of silent workers now (what every worker does at each heartbeat).
pub async fn rescue_stale(core: &CoreState) -> Result<(u64, u64), sea_orm::DbErr> {
    let now = core.now();
    let timeout = i64::try_from(core.settings.jobs.heartbeat_timeout_seconds).unwrap_or(300);
    store::rescue(&core.db, now - chrono::Duration::seconds(timeout), now).await
}

pub(crate) async fn database_loop(
    core: CoreState,
    id: String,
    options: WorkerOptions,
    mut stop: watch::Receiver<Option<Duration>>,
) -> WorkerReport {
    let settings = core.settings.jobs.clone();
    announce(&core, &id, &options).await;
    let slots = std::sync::Arc::new(Semaphore::new(options.concurrency));
    let mut running: JoinSet<bool> = JoinSet::new();
    let mut report = WorkerReport::default();
    let poll = Duration::from_millis(settings.poll_interval_ms);
    let mut heartbeat = tokio::time::interval(Duration::from_secs(settings.heartbeat_seconds));
    let mut backoff = poll;
    let grace = loop {
        if let Some(grace) = *stop.borrow() {
            break grace;
        }
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match store::claim(&core.db, &id, &options.queues, free, core.now()).await {
                Ok(rows) => {
                    backoff = poll;
                    claimed = rows.len();
                    for row in rows {
                        let Ok(permit) = slots.clone().try_acquire_owned() else { break };
                        let (core, id) = (core.clone(), id.clone());
                        running.spawn(async move {
                            let ok = run_claimed(&core, row, &id).await;
                            drop(permit);
                            ok
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(target: "quartet::jobs", error = %e, "could not take jobs; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        if claimed > 0 && claimed == free {
            // Every slot was filled: wait for one to free up.
            tokio::select! {
                Some(_) = running.join_next() => report.finished += 1,
                _ = heartbeat.tick() => maintenance(&core, &id, true).await,
                _ = stop.changed() => {}
            }
            continue;
        }
        if claimed > 0 {
            continue;
        }
        tokio::select! {
            Some(_) = running.join_next() => report.finished += 1,
            _ = heartbeat.tick() => maintenance(&core, &id, true).await,
            () = quartet_kernel::jobs::signal(&core).woken() => {
                // The enqueuing transaction may not be committed yet: look again shortly too.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            () = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => {}
        }
    };
    tracing::info!(target: "quartet::jobs", worker = %id, running = running.len(), "worker stopping");
    report.finished += drain(&mut running, grace).await;
    match store::release(&core.db, &id, core.now()).await {
        Ok(n) => report.released = n,
        Err(e) => tracing::error!(target: "quartet::jobs", error = %e, "could not hand unfinished jobs back"),
    }
    retire(&core, &id, report).await;
    report
}

/// Records a starting worker for the monitoring page (a failure is logged, not fatal).
pub(crate) async fn announce(core: &CoreState, id: &str, options: &WorkerOptions) {
    if let Err(e) = store::register_worker(&core.db, id, &options.queues, options.concurrency, core.now()).await {
        tracing::warn!(target: "quartet::jobs", error = %e, "could not register the worker");
    }
    tracing::info!(target: "quartet::jobs", worker = %id, queues = %options.queues.join(","), concurrency = options.concurrency, "worker started");
}

/// Records a stopped worker and what it did.
pub(crate) async fn retire(core: &CoreState, id: &str, report: WorkerReport) {
    if let Err(e) = store::worker_stopped(&core.db, id, core.now()).await {
        tracing::warn!(target: "quartet::jobs", error = %e, "could not record the worker's stop");
    }
    tracing::info!(target: "quartet::jobs", worker = %id, finished = report.finished, released = report.released, "worker stopped");
}

/// Waits up to `grace` for the running jobs, then cuts off the rest; returns how many finished.
pub(crate) async fn drain(running: &mut JoinSet<bool>, grace: Duration) -> u64 {
    let deadline = tokio::time::Instant::now() + grace;
    let mut finished = 0;
    while !running.is_empty() {
        match tokio::time::timeout_at(deadline, running.join_next()).await {
            Ok(Some(_)) => finished += 1,
            Ok(None) => break,
            Err(_) => {
                running.abort_all();
                while running.join_next().await.is_some() {}
                break;
            }
        }
    }
    finished
}

/// Runs every due job of the database queue, one at a time, until none is left; returns how
/// many attempts ran (tests and one-off maintenance).
pub async fn run_due(core: &CoreState) -> usize {
    let queues = core.job_queues();
    let id = format!("drain-{}", quartet_kernel::crypto::random_string(6, quartet_kernel::crypto::LOWER_ALNUM));
    let mut ran = 0;
    loop {
        let rows = match store::claim(&core.db, &id, &queues, 1, core.now()).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(target: "quartet::jobs", error = %e, "could not take jobs");
                return ran;
            }
        };
        let Some(row) = rows.into_iter().next() else { return ran };
        run_claimed(core, row, &id).await;
        ran += 1;
    }
}
