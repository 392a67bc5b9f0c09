//! Background jobs, the enqueue side: typed payloads, their table, and how apps enqueue them.
//!
//! A job is a serialisable value implementing [`Job`]: a name, a queue, a retry policy and a
//! time limit. Apps hand their job types over in [`crate::App::register`] (`app.add(JobDef::of::<J>())`); handlers enqueue values with
//! [`CoreState::enqueue`], passing the connection or transaction of the write that causes the
//! job. Every job is first a row of `core_job`, written on that connection, so a rolled-back
//! write leaves no job and a committed one never loses its job. Then, by `jobs.backend`:
//!
//! - **database** (default): workers claim rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, one
//!   `UPDATE … RETURNING` on SQLite), keep a heartbeat, and rows held by a worker whose
//!   heartbeat stopped go back to the queue (the `quartet_jobs` crate's `worker`).
//! - **rabbitmq**: a relay publishes committed rows to a durable queue as persistent messages
//!   (the outbox pattern); consumers acknowledge after the job succeeded, retry through
//!   per-delay queues and dead-letter after the last attempt (the `quartet_jobs` crate's `amqp`).
//! - **inline**: the job runs while it is enqueued (tests; Celery's eager mode).
//!
//! Delivery is at least once, so jobs are written to be safe to run twice: a side effect such
//! as an e-mail goes through [`JobContext::once`], which records it and skips it on a rerun.

pub mod store;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::CoreState;
use crate::config::JobBackendKind;
use crate::error::{Error, Result};

pub use store::status;

/// The `core_job` table: every job, whatever the backend, and what became of it.
pub mod job {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `core_job`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "core_job")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The job type (`blog.share_post`).
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub name: String,
        /// The queue it waits in (`mail`).
        #[sea_orm(column_type = "String(StringLen::N(50))")]
        pub queue: String,
        /// The job's arguments as JSON.
        #[sea_orm(column_type = "Text")]
        pub payload: String,
        /// `queued`, `running`, `succeeded` or `failed` (see [`super::status`]).
        #[sea_orm(column_type = "String(StringLen::N(16))")]
        pub status: String,
        /// Attempts started so far.
        pub attempts: i32,
        /// Attempts allowed in all.
        pub max_attempts: i32,
        /// Not run before this time (the backoff of a retry).
        pub run_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub started_at: Option<DateTimeUtc>,
        pub finished_at: Option<DateTimeUtc>,
        /// The last sign of life of the worker running it.
        pub heartbeat_at: Option<DateTimeUtc>,
        /// The worker running (or that last ran) it.
        #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
        pub worker: Option<String>,
        /// Why the last attempt failed.
        #[sea_orm(column_type = "Text")]
        pub last_error: String,
        /// How long the last attempt took.
        pub duration_ms: Option<i64>,
        /// When the RabbitMQ relay published it (the outbox mark); unused by the other backends.
        pub published_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `core_job_effect` table: side effects that jobs have carried out, by key.
pub mod effect {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `core_job_effect`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "core_job_effect")]
    pub struct Model {
        /// `<job id>:<effect>`.
        #[sea_orm(primary_key, auto_increment = false, column_type = "String(StringLen::N(200))")]
        pub key: String,
        pub job_id: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `core_worker` table: workers and their heartbeats, for the monitoring page.
pub mod worker_row {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `core_worker`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "core_worker")]
    pub struct Model {
        /// `<host>-<pid>-<random>`.
        #[sea_orm(primary_key, auto_increment = false, column_type = "String(StringLen::N(100))")]
        pub id: String,
        /// Comma-separated queue names.
        #[sea_orm(column_type = "Text")]
        pub queues: String,
        pub concurrency: i32,
        pub started_at: DateTimeUtc,
        pub heartbeat_at: DateTimeUtc,
        pub stopped_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// How often and how soon a failed job is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (4: one try and three retries).
    pub max_attempts: u32,
    /// Wait before the first retry; each further retry waits twice as long.
    pub backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 4, backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(600) }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based): backoff × 2^(attempt − 1).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// A kind of background work.
///
/// ```ignore
/// #[derive(Serialize, Deserialize)]
/// struct SharePost { post_id: i64, to: String }
///
/// #[async_trait::async_trait]
/// impl Job for SharePost {
///     const NAME: &'static str = "blog.share_post";
///     const QUEUE: &'static str = "mail";
///     async fn run(self, ctx: JobContext) -> anyhow::Result<()> {
///         let email = /* … */;
///         ctx.send_email("email", &email).await
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// A name unique on the site, `app.verb_noun`.
    const NAME: &'static str;
    /// The queue it waits in.
    const QUEUE: &'static str = "default";

    /// Attempts and backoff.
    fn retry_policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    /// How long one attempt may take before it is cancelled and counted as failed.
    fn time_limit() -> Duration {
        Duration::from_secs(120)
    }

    /// Does the work. An error (or running past the time limit) schedules a retry.
    async fn run(self, ctx: JobContext) -> anyhow::Result<()>;
}

type RunFn = fn(JobContext, serde_json::Value) -> BoxFuture<'static, anyhow::Result<()>>;

/// A job type as the site knows it (an app's contribution in [`crate::App::register`]).
#[derive(Clone)]
pub struct JobDef {
    /// [`Job::NAME`].
    pub name: &'static str,
    /// [`Job::QUEUE`].
    pub queue: &'static str,
    /// [`Job::retry_policy`].
    pub retry: RetryPolicy,
    /// [`Job::time_limit`].
    pub time_limit: Duration,
    run: RunFn,
}

impl fmt::Debug for JobDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobDef").field("name", &self.name).field("queue", &self.queue).finish_non_exhaustive()
    }
}

impl JobDef {
    /// The definition of job type `J`.
    pub fn of<J: Job>() -> Self {
        Self {
            name: J::NAME,
            queue: J::QUEUE,
            retry: J::retry_policy(),
            time_limit: J::time_limit(),
            run: |ctx, payload| {
                Box::pin(async move {
                    let job: J = serde_json::from_value(payload)
                        .map_err(|e| anyhow::anyhow!("the arguments do not fit {}: {e}", J::NAME))?;
                    job.run(ctx).await
                })
            },
        }
    }
}

pub use crate::config::valid_queue_name;

/// What a running job can reach.
#[derive(Debug, Clone)]
pub struct JobContext {
    core: CoreState,
    job_id: Option<i64>,
    attempt: u32,
}

impl JobContext {
    /// The site's services.
    pub fn core(&self) -> &CoreState {
        &self.core
    }

    /// The job's row in `core_job` (`None` when run inline).
    pub fn job_id(&self) -> Option<i64> {
        self.job_id
    }

    /// Which attempt this is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Carries out the side effect named `effect` unless this job already did (in an earlier
    /// attempt or delivery), then records it. Returns whether it ran now.
    ///
    /// A crash between the effect and its record repeats the effect once; everything else
    /// (retries, redeliveries, a second copy of the message) does not.
    pub async fn once<F, Fut>(&self, effect: &str, run: F) -> anyhow::Result<bool>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = anyhow::Result<()>> + Send,
    {
        let Some(job_id) = self.job_id else {
            run().await?;
            return Ok(true);
        };
        let key = format!("{job_id}:{effect}");
        if store::effect_done(&self.core.db, &key).await? {
            tracing::info!(target: "quartet::jobs", job_id, effect, "effect already done; skipped");
            return Ok(false);
        }
        run().await?;
        store::record_effect(&self.core.db, &key, job_id, self.core.now()).await?;
        Ok(true)
    }

    /// Sends an e-mail once (see [`JobContext::once`]).
    pub async fn send_email(&self, effect: &str, email: &crate::mail::Email) -> anyhow::Result<bool> {
        let mailer = self.core.mailer.clone();
        self.once(effect, || async move { mailer.send(email).await }).await
    }
}

/// Wakes in-process workers and the relay when a job is enqueued.
#[derive(Debug, Default)]
pub struct JobSignal(tokio::sync::Notify);

impl JobSignal {
    /// Wakes every waiting worker.
    pub fn wake(&self) {
        self.0.notify_waiters();
    }

    /// Completes at the next [`JobSignal::wake`].
    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// The job types of every installed app, by name (a service the `core` app builds from the
/// apps' [`JobDef`] contributions).
#[derive(Debug, Default)]
pub struct JobTypes(HashMap<&'static str, JobDef>);

impl JobTypes {
    /// Collects the job types apps contributed; fails on a bad queue name or two types with
    /// one name.
    pub fn collect(registry: &mut crate::app::Registry) -> anyhow::Result<Self> {
        let mut types = HashMap::new();
        for contribution in registry.take_contributions::<JobDef>() {
            let def = contribution.item;
            if !valid_queue_name(def.queue) {
                anyhow::bail!(
                    "the job type `{}` of `{}` has an invalid queue name `{}`",
                    def.name,
                    contribution.app,
                    def.queue
                );
            }
            if let Some(other) = types.insert(def.name, def) {
                anyhow::bail!("two job types are named `{}`", other.name);
            }
        }
        Ok(Self(types))
    }

    /// The job type named `name`.
    pub fn get(&self, name: &str) -> Option<&JobDef> {
        self.0.get(name)
    }

    /// Every job type's name.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.keys().copied()
    }

    /// Every queue the job types use, sorted.
    pub fn queues(&self) -> Vec<String> {
        let mut queues: Vec<String> = self.0.values().map(|d| d.queue.to_owned()).collect();
        queues.sort();
        queues.dedup();
        queues
    }
}

/// Jobs in the queue table by status (`/metrics`): one grouped count.
pub async fn counts_by_status(db: &crate::db::Db) -> std::result::Result<Vec<(String, i64)>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QuerySelect};
    job::Entity::find()
        .select_only()
        .column(job::Column::Status)
        .column_as(job::Column::Id.count(), "n")
        .group_by(job::Column::Status)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await
}

/// The installed job types (provided by the `core` app, which every site has).
pub fn job_types(core: &CoreState) -> &JobTypes {
    core.service::<JobTypes>().expect("the core app provides the job types")
}

/// The signal that wakes workers (provided by the `core` app).
pub fn signal(core: &CoreState) -> &JobSignal {
    core.service::<JobSignal>().expect("the core app provides the job signal")
}

impl CoreState {
    /// Enqueues `job` on `conn`: pass the transaction of the write that causes the job, so the
    /// job exists exactly when the write is committed. Returns the job's id.
    ///
    /// With the inline backend the job runs before this returns.
    pub async fn enqueue<J: Job>(&self, conn: &impl ConnectionTrait, job: &J) -> Result<i64> {
        let def = job_types(self).get(J::NAME).ok_or_else(|| {
            Error::internal(anyhow::anyhow!("the job type {} is not listed by any installed app", J::NAME))
        })?;
        let payload = serde_json::to_value(job).map_err(|e| Error::internal(anyhow::anyhow!("{}: {e}", J::NAME)))?;
        if self.settings.jobs.backend == JobBackendKind::Inline {
            return Ok(run_inline(self, conn, def, payload).await?);
        }
        let id = store::insert(conn, def, &payload.to_string(), self.now()).await?;
        tracing::debug!(target: "quartet::jobs", job_id = id, name = J::NAME, "job enqueued");
        signal(self).wake();
        Ok(id)
    }

    /// Every queue of the installed apps' job types, sorted.
    pub fn job_queues(&self) -> Vec<String> {
        job_types(self).queues()
    }
}

/// Runs one attempt of a job with its time limit, on its own task so a panic is an error.
pub async fn execute(
    core: &CoreState,
    def: &JobDef,
    payload: serde_json::Value,
    job_id: Option<i64>,
    attempt: u32,
) -> std::result::Result<(), String> {
    let ctx = JobContext { core: core.clone(), job_id, attempt };
    // Aborted when dropped: a worker that cuts this attempt off (grace period over) stops the job too.
    let mut task = AbortOnDrop(tokio::spawn((def.run)(ctx, payload)));
    match tokio::time::timeout(def.time_limit, &mut task.0).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(format!("{e:#}")),
        Ok(Err(join)) if join.is_panic() => Err(format!("the job panicked: {}", panic_text(join.into_panic()))),
        Ok(Err(_)) => Err("the job was cancelled".into()),
        Err(_) => Err(format!("time limit exceeded ({} s)", def.time_limit.as_secs_f64())),
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// The inline backend: runs every attempt now and writes the finished job on `conn`.
async fn run_inline(
    core: &CoreState,
    conn: &impl ConnectionTrait,
    def: &JobDef,
    payload: serde_json::Value,
) -> Result<i64, sea_orm::DbErr> {
    let started_at = core.now();
    let started = std::time::Instant::now();
    let mut attempt = 0;
    let error = loop {
        attempt += 1;
        match execute(core, def, payload.clone(), None, attempt).await {
            Ok(()) => break None,
            Err(e) if attempt >= def.retry.max_attempts => break Some(e),
            Err(e) => {
                tracing::warn!(target: "quartet::jobs", name = def.name, attempt, error = %e, "inline job failed; retrying")
            }
        }
    };
    let millis = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let state = if error.is_some() { status::FAILED } else { status::SUCCEEDED };
    if let Some(e) = &error {
        tracing::error!(target: "quartet::jobs", name = def.name, error = %e, "inline job failed for good");
    }
    let attempts = i32::try_from(attempt).unwrap_or(i32::MAX);
    store::insert_finished(
        conn,
        def,
        &payload.to_string(),
        (state, attempts, error.as_deref().unwrap_or("")),
        started_at,
        millis,
    )
    .await
}
