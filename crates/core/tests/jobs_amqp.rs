//! The job system on RabbitMQ (with QUARTET_TEST_AMQP_URL; required in CI): the outbox relay,
//! acknowledgement after success, redelivery of a killed worker's messages, retries through
//! delay queues, the dead-letter queue, a graceful stop, and queue depths on the monitoring page
//! (delivery, retries, dead letters, the outbox relay, as far as one test process can show them).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use lapin::options::QueueDeleteOptions;
use lapin::{Connection, ConnectionProperties};

use quartet_core::config::{JobBackendKind, Secret};
use quartet_core::jobs::amqp::queue_depths;
use quartet_core::jobs::{Background, Job, Worker, WorkerOptions, status};
use quartet_testkit::{TestSite, TestSiteBuilder, dbtest, service_url};

use crate::jobs::{
    FailFast, JobsApp, Record, Sleepy, effect_recorded, effects, eventually, jobs_of, rolled_back_and_pending, the_job,
    unique,
};

/// A site on RabbitMQ with queue names of its own, or `None` (skip) without a broker.
fn broker_site() -> Option<TestSiteBuilder> {
    let url = service_url("QUARTET_TEST_AMQP_URL")?;
    let prefix = unique("qtest");
    Some(TestSite::builder().app(JobsApp).settings(move |s| {
        s.jobs.backend = JobBackendKind::Rabbitmq;
        s.jobs.amqp_url = Secret::new(url);
        s.jobs.amqp_prefix = prefix;
        s.jobs.poll_interval_ms = 100;
    }))
}

/// Messages waiting in the broker's queue `name` (`default`, `default.dead`).
async fn depth(site: &TestSite, name: &str) -> u32 {
    let full = format!("{}.{name}", site.core.settings.jobs.amqp_prefix);
    let depths = queue_depths(&site.core).await.expect("the broker answers");
    depths.iter().find(|d| d.name == full).map_or_else(|| panic!("no queue {full} in {depths:?}"), |d| d.messages)
}

fn worker(site: &TestSite, concurrency: usize) -> Background {
    Background::start(&site.core, Some(WorkerOptions { queues: vec!["default".into()], concurrency }))
}

/// Runs a test's body, then deletes the queues it declared, also when it failed: a broker that
/// lives across runs would otherwise keep two durable queues per job queue and test, run after
/// run (retry queues expire by themselves).
async fn with_own_queues(site: &TestSite, body: impl Future<Output = ()>) {
    let outcome = AssertUnwindSafe(body).catch_unwind().await;
    if let Err(error) = delete_queues(site).await {
        eprintln!("could not delete the test's queues: {error}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Deletes the site's queues, named as the monitoring page names them ([`queue_depths`]).
async fn delete_queues(site: &TestSite) -> anyhow::Result<()> {
    let queues = queue_depths(&site.core).await?;
    let connection =
        Connection::connect(site.core.settings.jobs.amqp_url.expose(), ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    for queue in queues {
        channel.queue_delete(queue.name.as_str().into(), QueueDeleteOptions::default()).await?;
    }
    Ok(connection.close(200, "done".into()).await?)
}

macro_rules! broker_test {
    (async fn $name:ident($site:ident) $body:block) => {
        dbtest! {
            needs quartet_amqp = "QUARTET_TEST_AMQP_URL";
            using match broker_site() { Some(builder) => builder, None => return };
            async fn $name($site) {
                with_own_queues(&$site, async $body).await
            }
        }
    };
}

broker_test! {
    async fn committed_jobs_are_published_and_run_once_rolled_back_ones_never(site) {
        let (lost, kept, id, txn) = rolled_back_and_pending(&site).await;
        txn.commit().await.unwrap();
        let background = worker(&site, 2);
        eventually("the committed job ran", || async { the_job(&site, id).await.status == status::SUCCEEDED }).await;
        let report = background.stop(Duration::from_secs(5)).await.unwrap();
        assert_eq!(report.finished, 1);
        assert_eq!((effects(&lost), effects(&kept)), (0, 1));
        let row = the_job(&site, id).await;
        assert!(row.published_at.is_some(), "the relay marked the outbox row");
        assert_eq!(jobs_of(&site, Record::NAME).await.len(), 1);
        assert_eq!(depth(&site, "default").await, 0, "acknowledged");
    }
}

broker_test! {
    async fn a_killed_workers_messages_are_redelivered_and_their_effect_happens_once(site) {
        let key = unique("killed");
        let id = site.core.enqueue(&site.core.db, &Sleepy { key: key.clone(), millis: 60_000, sleep_once: true }).await.unwrap();
        let others: Vec<String> = (0..5).map(|i| unique(&format!("after{i}"))).collect();
        for other in &others {
            site.core.enqueue(&site.core.db, &Record { key: other.clone() }).await.unwrap();
        }
        let relay = Background::start(&site.core, None);
        // One job at a time: the first holds the only slot, the rest wait prefetched or queued.
        let first = Worker::start(site.core.clone(), WorkerOptions { queues: vec!["default".into()], concurrency: 1 });
        eventually("the first job did and recorded its effect", || async { effect_recorded(&site, id, &key).await }).await;
        first.kill().await;
        assert_eq!(the_job(&site, id).await.status, status::RUNNING);

        let second = Worker::start(site.core.clone(), WorkerOptions { queues: vec!["default".into()], concurrency: 2 });
        eventually("every job succeeded", || async {
            jobs_of(&site, Sleepy::NAME).await[0].status == status::SUCCEEDED
                && jobs_of(&site, Record::NAME).await.iter().all(|j| j.status == status::SUCCEEDED)
        })
        .await;
        second.stop(Duration::from_secs(5)).await;
        relay.stop(Duration::from_secs(1)).await;
        let row = the_job(&site, id).await;
        assert_eq!(row.attempts, 2, "redelivered once");
        assert_eq!((effects(&key), effects(&format!("{key}:done"))), (1, 1), "the effect happened once");
        assert!(others.iter().all(|k| effects(k) == 1), "prefetched messages were redelivered and run once");
        assert_eq!(depth(&site, "default").await, 0);
    }
}

broker_test! {
    async fn a_poison_job_is_retried_with_backoff_then_dead_lettered_while_others_flow(site) {
        let key = unique("poison");
        let id = site.core.enqueue(&site.core.db, &FailFast { key: key.clone() }).await.unwrap();
        let others: Vec<String> = (0..10).map(|i| unique(&format!("flow{i}"))).collect();
        for other in &others {
            site.core.enqueue(&site.core.db, &Record { key: other.clone() }).await.unwrap();
        }
        let background = worker(&site, 2);
        eventually("the poison job is dead", || async { the_job(&site, id).await.status == status::FAILED }).await;
        eventually("the others ran", || async { others.iter().all(|k| effects(k) == 1) }).await;
        background.stop(Duration::from_secs(5)).await;
        let row = the_job(&site, id).await;
        assert_eq!((row.attempts, row.last_error.as_str()), (3, "boom"));
        assert_eq!(effects(&format!("{key}:attempt")), 3);
        assert_eq!(depth(&site, "default.dead").await, 1, "dead-lettered after the last attempt");
        assert_eq!(depth(&site, "default").await, 0);

        let (root, _) = site.superuser_client("root").await;
        let page = root.get("/admin/jobs/").await;
        let dead = format!("{}.default.dead", site.core.settings.jobs.amqp_prefix);
        let rows = page.texts("#queue-depths tbody tr");
        assert!(rows.iter().any(|r| r.contains(&dead) && r.contains('1')), "queue depths shown: {rows:?}");
        assert!(page.text(&format!("#job-{id}")).contains("Failed"));
    }
}

broker_test! {
    async fn a_stopping_worker_finishes_running_jobs_and_leaves_unstarted_messages_queued(site) {
        let keys: Vec<String> = (0..5).map(|i| unique(&format!("slow{i}"))).collect();
        for key in &keys {
            site.core.enqueue(&site.core.db, &Sleepy { key: key.clone(), millis: 500, sleep_once: false }).await.unwrap();
        }
        let background = worker(&site, 2);
        eventually("two jobs run", || async {
            jobs_of(&site, Sleepy::NAME).await.iter().filter(|j| j.status == status::RUNNING).count() == 2
        })
        .await;
        let report = background.stop(Duration::from_secs(10)).await.unwrap();
        assert_eq!((report.finished, report.released), (2, 0));
        let rows = jobs_of(&site, Sleepy::NAME).await;
        assert_eq!(rows.iter().filter(|j| j.status == status::SUCCEEDED).count(), 2);
        assert_eq!(rows.iter().filter(|j| j.status == status::QUEUED && j.attempts == 0).count(), 3);
        eventually("the unstarted messages are back in the queue", || async { depth(&site, "default").await == 3 }).await;

        let background = worker(&site, 4);
        eventually("the rest ran", || async {
            jobs_of(&site, Sleepy::NAME).await.iter().all(|j| j.status == status::SUCCEEDED)
        })
        .await;
        background.stop(Duration::from_secs(5)).await;
        let counts: Vec<(usize, usize)> = keys.iter().map(|k| (effects(k), effects(&format!("{k}:done")))).collect();
        assert!(counts.iter().all(|c| *c == (1, 1)), "0 lost, 0 duplicated: {counts:?} {:#?}", jobs_of(&site, Sleepy::NAME).await);
    }
}

broker_test! {
    async fn rabbitmq_workers_also_delete_old_succeeded_jobs(site) {
        let done = site.core.enqueue(&site.core.db, &Record { key: unique("old") }).await.unwrap();
        let dead = site.core.enqueue(&site.core.db, &FailFast { key: unique("dead") }).await.unwrap();
        let background = worker(&site, 2);
        eventually("both jobs ended", || async {
            the_job(&site, done).await.status == status::SUCCEEDED && the_job(&site, dead).await.status == status::FAILED
        })
        .await;
        background.stop(Duration::from_secs(5)).await;
        site.clock.advance(chrono::Duration::days(8));
        let worker = Worker::start(site.core.clone(), WorkerOptions { queues: vec!["default".into()], concurrency: 1 });
        crate::jobs::old_succeeded_jobs_are_deleted_by(&site, worker, done, dead).await;
    }
}
