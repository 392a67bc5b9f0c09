//! The background-jobs runtime: the workers that claim jobs from the database queue, the
//! RabbitMQ relay and consumers, the `quartet worker` command and the monitoring page in the
//! admin (`/admin/jobs/`).
//!
//! The enqueue side (the [`Job`] trait, the `core_job` table, [`CoreState::enqueue`]) is the
//! kernel's, so an app that only enqueues jobs needs nothing from this crate; this crate runs
//! them. It is installed as the `jobs` app ([`JobsApp`]).

pub mod admin;
pub mod amqp;
mod app;
mod store;
pub mod worker;

use std::time::Duration;

use quartet_kernel::CoreState;
use quartet_kernel::config::JobBackendKind;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use app::JobsApp;
pub use quartet_kernel::jobs::{Job, JobContext, JobDef, RetryPolicy, status};
pub use store::{JobCounts, counts};
pub use worker::{WorkerOptions, WorkerReport, run_due};

/// The background parts of a running site: a worker and, for RabbitMQ, the relay.
#[derive(Debug)]
pub struct Background {
    worker: Option<Worker>,
    relay: Option<amqp::Relay>,
}

impl Background {
    /// Starts what `jobs` settings ask for inside `serve` (`worker` is false) or `quartet worker`.
    pub fn start(core: &CoreState, options: Option<WorkerOptions>) -> Self {
        let jobs = &core.settings.jobs;
        let relay = (jobs.backend == JobBackendKind::Rabbitmq).then(|| amqp::Relay::start(core.clone()));
        let worker = match (jobs.backend, options) {
            (JobBackendKind::Inline, _) | (_, None) => None,
            (_, Some(options)) => Some(Worker::start(core.clone(), options)),
        };
        Self { worker, relay }
    }

    /// The worker's id, if one runs.
    pub fn worker_id(&self) -> Option<&str> {
        self.worker.as_ref().map(Worker::id)
    }

    /// Stops taking jobs, lets running ones finish within `grace`, hands the rest back.
    pub async fn stop(self, grace: Duration) -> Option<WorkerReport> {
        let report = match self.worker {
            Some(worker) => Some(worker.stop(grace).await),
            None => None,
        };
        if let Some(relay) = self.relay {
            relay.stop().await;
        }
        report
    }
}

/// A running worker.
#[derive(Debug)]
pub struct Worker {
    id: String,
    stop: watch::Sender<Option<Duration>>,
    task: JoinHandle<WorkerReport>,
}

/// `<host>-<pid>-<random>`: unique among workers, readable on the monitoring page.
fn worker_id() -> String {
    let host = quartet_kernel::config::hostname();
    format!(
        "{host}-{}-{}",
        std::process::id(),
        quartet_kernel::crypto::random_string(6, quartet_kernel::crypto::LOWER_ALNUM)
    )
}

impl Worker {
    /// Starts a worker on the configured backend (database queue or RabbitMQ).
    pub fn start(core: CoreState, mut options: WorkerOptions) -> Self {
        if options.queues.is_empty() {
            options.queues = core.job_queues();
        }
        options.concurrency = options.concurrency.max(1);
        let id = worker_id();
        let (stop, stopped) = watch::channel(None);
        let task = match core.settings.jobs.backend {
            JobBackendKind::Rabbitmq => tokio::spawn(crate::amqp::consume(core, id.clone(), options, stopped)),
            _ => tokio::spawn(worker::database_loop(core, id.clone(), options, stopped)),
        };
        Self { id, stop, task }
    }

    /// The worker's id (as on the monitoring page).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Takes no new job, lets running ones finish within `grace`, hands the others back.
    pub async fn stop(self, grace: Duration) -> WorkerReport {
        let _ = self.stop.send(Some(grace));
        match self.task.await {
            Ok(report) => report,
            Err(e) => {
                tracing::error!(target: "quartet::jobs", error = %e, "the worker ended abnormally");
                WorkerReport::default()
            }
        }
    }

    /// Ends the worker at once, as `SIGKILL` would: running jobs are cut off and nothing is
    /// recorded (tests of crash recovery).
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
