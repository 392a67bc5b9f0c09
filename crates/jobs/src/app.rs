//! The `jobs` app: the worker command, the workers and relay that run inside `serve`, and the
//! monitoring page in the admin.

use std::time::Duration;

use axum::routing::{get, post};
use clap::{Arg, ArgMatches, Command};
use futures_util::FutureExt as _;

use crate::{Background, WorkerOptions, admin};
use quartet_kernel::app::{App, AppCommand, AppRegistry, BackgroundTask, CoreState, Translation};
use quartet_kernel::config::JobBackendKind;
use quartet_kernel::urls::{Routes, RoutesBuilder};

/// Background jobs: workers, the RabbitMQ relay and the monitoring page.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobsApp;

#[async_trait::async_trait]
impl App for JobsApp {
    fn label(&self) -> &'static str {
        "jobs"
    }

    fn name(&self) -> &'static str {
        "Background jobs"
    }

    fn mount(&self) -> &'static str {
        "/admin/jobs/"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("dashboard", "", get(admin::dashboard))
            .route("retry", "{id}/retry/", post(admin::retry))
            .route("discard", "{id}/discard/", post(admin::discard))
            .with_state(core.clone())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.add(quartet_admin::AdminLink::new("Background jobs", "jobs:dashboard").permission(admin::VIEW))
            .translation(Translation { language: "es", po: include_str!("../locales/es/LC_MESSAGES/jobs.po") })
            .command(AppCommand {
                command: worker_command(),
                logs: true,
                run: |core, args| worker(core, args).boxed(),
            });
    }

    fn start_background(&self, core: &CoreState) -> Option<BackgroundTask> {
        let jobs = &core.settings.jobs;
        let options = jobs.workers_in_serve.then(|| WorkerOptions::from_settings(core));
        let background = Background::start(core, options);
        let grace = Duration::from_secs(jobs.shutdown_grace_seconds);
        Some(BackgroundTask::new(move || {
            async move {
                background.stop(grace).await;
            }
            .boxed()
        }))
    }
}

fn worker_command() -> Command {
    Command::new("worker")
        .about("Run background jobs (database queue or RabbitMQ) until SIGTERM or Ctrl-C")
        .arg(
            Arg::new("queues")
                .long("queues")
                .short('Q')
                .value_delimiter(',')
                .help("Queues to take jobs from, comma-separated (default: jobs.queues, else every queue)"),
        )
        .arg(
            Arg::new("concurrency")
                .long("concurrency")
                .short('c')
                .value_parser(clap::value_parser!(u16).range(1..=1000))
                .help("Jobs run at the same time (default: jobs.concurrency)"),
        )
}

async fn worker(core: CoreState, args: ArgMatches) -> anyhow::Result<()> {
    let queues: Vec<String> = args.get_many::<String>("queues").map(|q| q.cloned().collect()).unwrap_or_default();
    let concurrency = args.get_one::<u16>("concurrency").copied();
    let settings = &core.settings.jobs;
    if settings.backend == JobBackendKind::Inline {
        anyhow::bail!("jobs.backend is `inline`: jobs run where they are enqueued, so a worker has nothing to do");
    }
    let known = core.job_queues();
    for queue in &queues {
        if !known.contains(queue) {
            anyhow::bail!("no installed job type uses the queue `{queue}` (queues: {})", known.join(", "));
        }
    }
    let mut options = WorkerOptions::from_settings(&core);
    if !queues.is_empty() {
        options.queues = queues;
    }
    if let Some(n) = concurrency {
        options.concurrency = usize::from(n);
    }
    if options.queues.is_empty() {
        options.queues = known;
    }
    let (queue_list, n) = (options.queues.join(", "), options.concurrency);
    let background = Background::start(&core, Some(options));
    // Listening for SIGTERM from before the banner: a stop asked for at once is a clean stop.
    let stop = quartet_kernel::server::shutdown_signal();
    println!(
        "Worker {} is taking jobs from {queue_list} ({}, {n} at a time). Press Ctrl-C to stop.",
        background.worker_id().unwrap_or("?"),
        match settings.backend {
            JobBackendKind::Rabbitmq => "RabbitMQ",
            _ => "database queue",
        }
    );
    stop.await;
    println!("Stopping: running jobs get {} s to finish…", settings.shutdown_grace_seconds);
    let report = background.stop(Duration::from_secs(settings.shutdown_grace_seconds)).await.unwrap_or_default();
    println!(
        "Worker stopped: {} job attempt(s) finished, {} handed back to the queue.",
        report.finished, report.released
    );
    Ok(())
}
