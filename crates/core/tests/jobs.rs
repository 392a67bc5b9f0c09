//! The job system on the database queue (SQLite and PostgreSQL): enqueue atomicity, workers
//! that never share a job, retries with backoff, time limits, crash recovery by heartbeat,
//! graceful stop, effects that happen once, the e-mails that go through jobs, and the
//! monitoring page (delivery, retries, time limits, crash recovery, where they apply to one process).

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use quartet_core::App;
use quartet_core::app::{AppRegistry, CoreState};
use quartet_core::config::JobBackendKind;
use quartet_core::jobs::{Job, JobContext, JobDef, RetryPolicy, Worker, WorkerOptions, job, status};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::{TestSite, TestSiteBuilder, dbtest};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- test jobs

static EFFECTS: LazyLock<Mutex<Vec<String>>> = LazyLock::new(Mutex::default);
static HEALED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// Records that the side effect `key` happened.
fn effect(key: &str) {
    EFFECTS.lock().unwrap().push(key.to_owned());
}

/// How many times the side effect `key` happened.
pub(crate) fn effects(key: &str) -> usize {
    EFFECTS.lock().unwrap().iter().filter(|k| *k == key).count()
}

/// A unique key for one test's effects.
pub(crate) fn unique(name: &str) -> String {
    format!("{name}-{}", quartet_core::crypto::random_string(10, quartet_core::crypto::LOWER_ALNUM))
}

/// Does its effect once.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    pub key: String,
}

#[async_trait::async_trait]
impl Job for Record {
    const NAME: &'static str = "test.record";

    async fn run(self, ctx: JobContext) -> anyhow::Result<()> {
        ctx.once("effect", || async move {
            effect(&self.key);
            Ok(())
        })
        .await?;
        Ok(())
    }
}

/// Does its effect once, then sleeps (only in the run that did the effect, if asked).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Sleepy {
    pub key: String,
    pub millis: u64,
    pub sleep_once: bool,
}

#[async_trait::async_trait]
impl Job for Sleepy {
    const NAME: &'static str = "test.sleepy";

    async fn run(self, ctx: JobContext) -> anyhow::Result<()> {
        let key = self.key.clone();
        let fresh = ctx
            .once("effect", || async move {
                effect(&key);
                Ok(())
            })
            .await?;
        if fresh || !self.sleep_once {
            tokio::time::sleep(Duration::from_millis(self.millis)).await;
        }
        effect(&format!("{}:done", self.key));
        Ok(())
    }
}

/// Always fails; counts its attempts. Four attempts, 10 s backoff doubling.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Fail {
    pub key: String,
}

#[async_trait::async_trait]
impl Job for Fail {
    const NAME: &'static str = "test.fail";

    async fn run(self, _ctx: JobContext) -> anyhow::Result<()> {
        effect(&format!("{}:attempt", self.key));
        anyhow::bail!("boom")
    }
}

/// Always fails, three attempts 200 ms apart (for a real broker's clock).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FailFast {
    pub key: String,
}

#[async_trait::async_trait]
impl Job for FailFast {
    const NAME: &'static str = "test.fail_fast";

    fn retry_policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 3, backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(1) }
    }

    async fn run(self, _ctx: JobContext) -> anyhow::Result<()> {
        effect(&format!("{}:attempt", self.key));
        anyhow::bail!("boom")
    }
}

/// Never finishes; its time limit is 300 ms, two attempts.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Hang {}

#[async_trait::async_trait]
impl Job for Hang {
    const NAME: &'static str = "test.hang";

    fn retry_policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 2, ..RetryPolicy::default() }
    }

    fn time_limit() -> Duration {
        Duration::from_millis(300)
    }

    async fn run(self, _ctx: JobContext) -> anyhow::Result<()> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    }
}

/// Panics; one attempt.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Panics {}

#[async_trait::async_trait]
impl Job for Panics {
    const NAME: &'static str = "test.panics";

    fn retry_policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    async fn run(self, _ctx: JobContext) -> anyhow::Result<()> {
        panic!("kaboom")
    }
}

/// Fails until its key is healed; one attempt.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Broken {
    pub key: String,
}

#[async_trait::async_trait]
impl Job for Broken {
    const NAME: &'static str = "test.broken";
    const QUEUE: &'static str = "repairs";

    fn retry_policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    async fn run(self, ctx: JobContext) -> anyhow::Result<()> {
        if !HEALED.lock().unwrap().contains(&self.key) {
            anyhow::bail!("the printer is on fire");
        }
        let key = self.key.clone();
        ctx.once("effect", || async move {
            effect(&key);
            Ok(())
        })
        .await?;
        Ok(())
    }
}

pub(crate) fn heal(key: &str) {
    HEALED.lock().unwrap().insert(key.to_owned());
}

/// An app that only brings the test jobs.
pub(crate) struct JobsApp;

impl App for JobsApp {
    fn label(&self) -> &'static str {
        "jobtests"
    }

    fn name(&self) -> &'static str {
        "Job tests"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new().with_state(core.clone())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.add(JobDef::of::<Record>())
            .add(JobDef::of::<Sleepy>())
            .add(JobDef::of::<Fail>())
            .add(JobDef::of::<FailFast>())
            .add(JobDef::of::<Hang>())
            .add(JobDef::of::<Panics>())
            .add(JobDef::of::<Broken>());
    }
}

/// A site whose jobs wait in the database queue.
pub(crate) fn queue_site() -> TestSiteBuilder {
    TestSite::builder().app(JobsApp).settings(|s| s.jobs.backend = JobBackendKind::Database)
}

pub(crate) async fn jobs_of(site: &TestSite, name: &str) -> Vec<job::Model> {
    job::Entity::find()
        .filter(job::Column::Name.eq(name))
        .order_by_asc(job::Column::Id)
        .all(&site.core.db)
        .await
        .unwrap()
}

pub(crate) async fn the_job(site: &TestSite, id: i64) -> job::Model {
    job::Entity::find_by_id(id).one(&site.core.db).await.unwrap().expect("the job exists")
}

/// Waits (up to 20 s) until `check` holds.
pub(crate) async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the `Sleepy` job `id` did its effect and recorded it (`JobContext::once`).
pub(crate) async fn effect_recorded(site: &TestSite, id: i64, key: &str) -> bool {
    effects(key) == 1 && quartet_core::jobs::store::effect_done(&site.core.db, &format!("{id}:effect")).await.unwrap()
}

/// Enqueues a job in a transaction that is rolled back, and another in `txn`, still open.
/// Returns both keys, the second job's id, and the transaction to commit.
pub(crate) async fn rolled_back_and_pending(site: &TestSite) -> (String, String, i64, quartet_core::db::Tx) {
    let (lost, kept) = (unique("lost"), unique("kept"));
    let txn = site.core.db.begin().await.unwrap();
    site.core.enqueue(&txn, &Record { key: lost.clone() }).await.unwrap();
    txn.rollback().await.unwrap();
    let txn = site.core.db.begin().await.unwrap();
    let id = site.core.enqueue(&txn, &Record { key: kept.clone() }).await.unwrap();
    (lost, kept, id, txn)
}

fn options(concurrency: usize) -> WorkerOptions {
    WorkerOptions { queues: Vec::new(), concurrency }
}

// ---------------------------------------------------------------- tests

dbtest! {
    using queue_site();
    async fn a_job_enqueued_in_a_rolled_back_transaction_never_runs(site) {
        let (lost, kept, id, txn) = rolled_back_and_pending(&site).await;
        assert_eq!(site.run_jobs().await, 0, "nothing runs before the commit");
        txn.commit().await.unwrap();

        assert_eq!(site.run_jobs().await, 1);
        assert_eq!((effects(&lost), effects(&kept)), (0, 1));
        let rows = jobs_of(&site, Record::NAME).await;
        assert_eq!(rows.len(), 1, "the rolled-back job left no row");
        assert_eq!((rows[0].id, rows[0].status.as_str(), rows[0].attempts), (id, status::SUCCEEDED, 1));
        assert!(rows[0].duration_ms.is_some() && rows[0].finished_at.is_some());
    }
}

dbtest! {
    using queue_site();
    async fn several_workers_never_take_the_same_job(site) {
        let keys: Vec<String> = (0..40).map(|i| unique(&format!("share{i}"))).collect();
        for key in &keys {
            site.core.enqueue(&site.core.db, &Record { key: key.clone() }).await.unwrap();
        }
        let workers: Vec<Worker> = (0..3).map(|_| Worker::start(site.core.clone(), options(4))).collect();
        eventually("every job succeeded", || async {
            jobs_of(&site, Record::NAME).await.iter().all(|j| j.status == status::SUCCEEDED)
        })
        .await;
        let mut finished = 0;
        for worker in workers {
            finished += worker.stop(Duration::from_secs(5)).await.finished;
        }
        assert_eq!(finished, 40, "40 attempts in all");
        assert!(keys.iter().all(|k| effects(k) == 1), "each effect exactly once");
        assert!(jobs_of(&site, Record::NAME).await.iter().all(|j| j.attempts == 1), "no job was taken twice");
    }
}

dbtest! {
    using queue_site();
    async fn a_killed_workers_job_is_rescued_after_the_heartbeat_timeout_and_its_effect_happens_once(site) {
        let key = unique("killed");
        let id = site.core.enqueue(&site.core.db, &Sleepy { key: key.clone(), millis: 60_000, sleep_once: true }).await.unwrap();
        let worker = Worker::start(site.core.clone(), options(1));
        // Killed after the effect is recorded: a kill between the two repeats it (as documented).
        eventually("the job has done and recorded its effect", || async { effect_recorded(&site, id, &key).await }).await;
        worker.kill().await;
        assert_eq!(the_job(&site, id).await.status, status::RUNNING, "a killed worker records nothing");

        // J7: not rescued while the heartbeat is fresh (4 min), rescued once stale (6 min > 5 min).
        site.clock.advance(chrono::Duration::minutes(4));
        assert_eq!(quartet_core::jobs::worker::rescue_stale(&site.core).await.unwrap(), (0, 0));
        assert_eq!(site.run_jobs().await, 0);
        site.clock.advance(chrono::Duration::minutes(2));
        assert_eq!(quartet_core::jobs::worker::rescue_stale(&site.core).await.unwrap(), (1, 0));
        let rescued = the_job(&site, id).await;
        assert_eq!(rescued.status, status::QUEUED);
        assert_eq!(rescued.last_error, "the worker running it stopped giving heartbeats");

        assert_eq!(site.run_jobs().await, 1);
        let done = the_job(&site, id).await;
        assert_eq!((done.status.as_str(), done.attempts), (status::SUCCEEDED, 2));
        assert_eq!(effects(&key), 1, "the redelivered job skipped the effect it had done");
        assert_eq!(effects(&format!("{key}:done")), 1);
    }
}

dbtest! {
    using queue_site();
    async fn a_failing_job_is_retried_with_backoff_then_dead_while_others_flow(site) {
        let key = unique("poison");
        let id = site.core.enqueue(&site.core.db, &Fail { key: key.clone() }).await.unwrap();
        let others: Vec<String> = (0..5).map(|i| unique(&format!("other{i}"))).collect();
        for other in &others {
            site.core.enqueue(&site.core.db, &Record { key: other.clone() }).await.unwrap();
        }
        assert_eq!(site.run_jobs().await, 6, "the failure does not hold up the others");
        assert!(others.iter().all(|k| effects(k) == 1));

        // Backoff 10 s, 20 s, 40 s; the fourth attempt is the last.
        for (attempt, wait) in [(1, 10), (2, 20), (3, 40)] {
            let row = the_job(&site, id).await;
            assert_eq!((row.status.as_str(), row.attempts, row.last_error.as_str()), (status::QUEUED, attempt, "boom"));
            assert_eq!((row.run_at - row.finished_at.unwrap()).num_seconds(), wait, "attempt {attempt}");
            site.clock.advance(chrono::Duration::seconds(wait - 1));
            assert_eq!(site.run_jobs().await, 0, "not before the backoff");
            site.clock.advance(chrono::Duration::seconds(1));
            assert_eq!(site.run_jobs().await, 1);
        }
        let dead = the_job(&site, id).await;
        assert_eq!((dead.status.as_str(), dead.attempts, dead.max_attempts), (status::FAILED, 4, 4));
        assert_eq!(effects(&format!("{key}:attempt")), 4);
        site.clock.advance(chrono::Duration::hours(1));
        assert_eq!(site.run_jobs().await, 0, "a dead job stays dead");
    }
}

dbtest! {
    using queue_site();
    async fn hung_and_panicking_jobs_are_cut_off_and_recorded(site) {
        let hang = site.core.enqueue(&site.core.db, &Hang {}).await.unwrap();
        let panics = site.core.enqueue(&site.core.db, &Panics {}).await.unwrap();
        assert_eq!(site.run_jobs().await, 2);
        let row = the_job(&site, hang).await;
        assert_eq!((row.status.as_str(), row.last_error.as_str()), (status::QUEUED, "time limit exceeded (0.3 s)"));
        assert!(row.duration_ms.unwrap() < 5_000, "cancelled at the limit: {:?}", row.duration_ms);
        site.clock.advance(chrono::Duration::seconds(10));
        assert_eq!(site.run_jobs().await, 1);
        assert_eq!(the_job(&site, hang).await.status, status::FAILED);
        let row = the_job(&site, panics).await;
        assert_eq!((row.status.as_str(), row.last_error.as_str()), (status::FAILED, "the job panicked: kaboom"));
    }
}

dbtest! {
    using queue_site();
    async fn a_stopping_worker_finishes_running_jobs_and_leaves_the_rest_queued(site) {
        let keys: Vec<String> = (0..5).map(|i| unique(&format!("slow{i}"))).collect();
        let mut ids = Vec::new();
        for key in &keys {
            ids.push(site.core.enqueue(&site.core.db, &Sleepy { key: key.clone(), millis: 400, sleep_once: false }).await.unwrap());
        }
        let worker = Worker::start(site.core.clone(), options(2));
        eventually("two jobs run", || async {
            jobs_of(&site, Sleepy::NAME).await.iter().filter(|j| j.status == status::RUNNING).count() == 2
        })
        .await;
        let report = worker.stop(Duration::from_secs(10)).await;
        assert_eq!((report.finished, report.released), (2, 0), "both running jobs finished");
        let rows = jobs_of(&site, Sleepy::NAME).await;
        let done: Vec<_> = rows.iter().filter(|j| j.status == status::SUCCEEDED).collect();
        let waiting: Vec<_> = rows.iter().filter(|j| j.status == status::QUEUED && j.attempts == 0).collect();
        assert_eq!((done.len(), waiting.len()), (2, 3), "{rows:#?}");

        assert_eq!(site.run_jobs().await, 3, "the next worker takes the rest");

        // A job still running when the grace period ends goes back to the queue, attempt uncounted.
        let long = unique("long");
        let id = site.core.enqueue(&site.core.db, &Sleepy { key: long.clone(), millis: 60_000, sleep_once: true }).await.unwrap();
        let worker = Worker::start(site.core.clone(), WorkerOptions { queues: vec!["default".into()], concurrency: 8 });
        eventually("the long job started", || async { effects(&long) == 1 }).await;
        let report = worker.stop(Duration::from_millis(300)).await;
        assert_eq!(report.released, 1);
        let row = the_job(&site, id).await;
        assert_eq!((row.status.as_str(), row.attempts), (status::QUEUED, 0));
        assert_eq!(row.last_error, "interrupted: the worker stopped before the job finished");
        assert_eq!(site.run_jobs().await, 1, "the next worker finishes it");
        assert_eq!((effects(&long), effects(&format!("{long}:done"))), (1, 1));
    }
}

dbtest! {
    using queue_site();
    async fn password_reset_e_mails_wait_in_the_queue_and_are_sent_once(site) {
        site.create_user("ann", "a-long-password-1").await;
        let client = site.client();
        client.get("/account/password_reset/").await;
        let sent = client.post_form("/account/password_reset/", &[("email", "ann@example.com")]).await;
        assert_eq!(sent.status, 303);
        assert!(site.outbox().is_empty(), "the request only queued the e-mail");
        let rows = jobs_of(&site, "accounts.password_reset_email").await;
        assert_eq!((rows.len(), rows[0].queue.as_str(), rows[0].status.as_str()), (1, "mail", status::QUEUED));
        assert!(!rows[0].payload.contains("/reset/"), "the link is made when the job runs, not stored: {}", rows[0].payload);

        assert_eq!(site.run_jobs().await, 1);
        let outbox = site.outbox();
        assert_eq!(outbox.len(), 1);
        assert!(outbox[0].body.contains("/account/reset/"), "{}", outbox[0].body);

        // A second delivery of the same job (a broker redelivery, a rescued job) sends nothing.
        job::Entity::update_many()
            .col_expr(job::Column::Status, sea_orm::sea_query::Expr::value(status::QUEUED))
            .filter(job::Column::Id.eq(rows[0].id))
            .exec(&site.core.db)
            .await
            .unwrap();
        assert_eq!(site.run_jobs().await, 1);
        assert_eq!(site.outbox().len(), 1, "the e-mail is not sent twice");
    }
}

dbtest! {
    using queue_site();
    async fn the_monitoring_page_counts_jobs_and_retries_or_discards_failed_ones(site) {
        let key = unique("monitor");
        let broken = site.core.enqueue(&site.core.db, &Broken { key: key.clone() }).await.unwrap();
        let other = site.core.enqueue(&site.core.db, &Broken { key: unique("gone") }).await.unwrap();
        site.core.enqueue(&site.core.db, &Record { key: unique("fine") }).await.unwrap();
        site.core.enqueue(&site.core.db, &Record { key: unique("later") }).await.unwrap();
        quartet_core::jobs::run_due(&site.core).await;
        site.core.enqueue(&site.core.db, &Record { key: unique("waiting") }).await.unwrap();

        let anonymous = site.client().get("/admin/jobs/").await;
        assert_eq!(anonymous.status, 303, "visitors are sent to sign in");
        let (plain, _) = site.staff_client("plain", &[]).await;
        assert_eq!(plain.get("/admin/jobs/").await.status, 403, "staff without core.view_job");
        let (viewer, _) = site.staff_client("viewer", &["core.view_job"]).await;
        let page = viewer.get("/admin/jobs/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.heading(), "Background jobs");
        let row = |name: &str| page.texts(&format!("#job-counts tr[data-job=\"{name}\"] td"));
        assert_eq!(row("test.broken"), ["0", "0", "0", "2"]);
        assert_eq!(row("test.record"), ["1", "0", "2", "0"]);
        assert_eq!(page.texts("#job-counts tfoot td"), ["1", "0", "2", "2"]);
        let failed = page.text(&format!("#job-{broken}"));
        assert!(failed.contains("test.broken") && failed.contains("Failed") && failed.contains("1 / 1"), "{failed}");
        assert!(failed.contains("the printer is on fire") && failed.contains(&key), "arguments and error shown: {failed}");
        assert!(page.attrs("button.retry", "class").is_empty(), "no retry button without core.change_job");
        assert_eq!(viewer.post_form(&format!("/admin/jobs/{broken}/retry/"), &[]).await.status, 403);
        let filtered = viewer.get("/admin/jobs/?status=failed").await;
        assert_eq!(filtered.attrs("#job-list tbody tr", "id"), [format!("job-{other}"), format!("job-{broken}")]);
        assert_eq!(viewer.get("/admin/jobs/?status=bogus&page=x&name=%00").await.status, 200, "odd filters are ignored");

        let (operator, _) = site.staff_client("operator", &["core.view_job", "core.change_job", "core.delete_job"]).await;
        heal(&key);
        let retried = operator.post_form(&format!("/admin/jobs/{broken}/retry/"), &[("next", "/admin/jobs/?status=failed")]).await;
        assert_eq!(retried.location(), Some("/admin/jobs/?status=failed"));
        let page = operator.get("/admin/jobs/").await;
        assert_eq!(page.messages(), [format!("Job {broken} (test.broken) was queued again.")]);
        let row = the_job(&site, broken).await;
        assert_eq!((row.status.as_str(), row.attempts), (status::QUEUED, 0));
        site.run_jobs().await;
        assert_eq!((the_job(&site, broken).await.status.as_str(), effects(&key)), (status::SUCCEEDED, 1));

        let again = operator.post_form(&format!("/admin/jobs/{broken}/retry/"), &[("next", "https://evil.example/")]).await;
        assert_eq!(again.location(), Some("/admin/jobs/"), "only a monitoring page is a place to go back to");
        assert_eq!(operator.get("/admin/jobs/").await.messages(), [format!("Job {broken} has not failed; nothing was changed.")]);
        operator.post_form(&format!("/admin/jobs/{other}/discard/"), &[]).await;
        assert_eq!(operator.get("/admin/jobs/").await.messages(), [format!("Job {other} (test.broken) was discarded.")]);
        assert!(job::Entity::find_by_id(other).one(&site.core.db).await.unwrap().is_none());
        assert_eq!(operator.post_form("/admin/jobs/999999/discard/", &[]).await.status, 404);
        assert_eq!(operator.post_form("/admin/jobs/abc/retry/", &[]).await.status, 404);
    }
}

/// Headless Chromium: an operator opens the monitoring page, sees the failed job with its
/// error, presses "Retry", and the job then runs and shows as succeeded.
#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_retries_a_failed_job_in_chromium() {
    use thirtyfour::prelude::*;
    let Some(browser) = quartet_testkit::Browser::start().await else { return };
    let site = queue_site().start(quartet_testkit::Backend::Sqlite).await;
    let key = unique("chromium");
    let id = site.core.enqueue(&site.core.db, &Broken { key: key.clone() }).await.unwrap();
    site.run_jobs().await;
    site.staff_client("operator", &["core.view_job", "core.change_job", "core.delete_job"]).await;
    let driver = &browser.driver;

    driver.goto(site.url("/admin/jobs/?status=failed")).await.unwrap();
    crate::browser::heading(driver, "Log in").await;
    driver.find(By::Id("id_username")).await.unwrap().send_keys("operator").await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys(crate::admin::PASSWORD).await.unwrap();
    crate::browser::click_and_wait(driver, "main form button[type=submit]").await;
    crate::browser::heading(driver, "Background jobs").await;
    let row = driver.find(By::Id(format!("job-{id}"))).await.unwrap();
    let text = row.text().await.unwrap();
    assert!(
        text.contains("test.broken") && text.contains("Failed") && text.contains("the printer is on fire"),
        "{text}"
    );

    heal(&key);
    crate::browser::click_and_wait(driver, &format!("#job-{id} button.retry")).await;
    assert_eq!(crate::browser::messages(driver).await, [format!("Job {id} (test.broken) was queued again.")]);
    assert_eq!(driver.current_url().await.unwrap().path(), "/admin/jobs/");
    assert!(driver.find_all(By::Id(format!("job-{id}"))).await.unwrap().is_empty(), "no longer among the failed jobs");

    assert_eq!(site.run_jobs().await, 1);
    driver.goto(site.url("/admin/jobs/")).await.unwrap();
    let status = driver.find(By::Css(format!("#job-{id} .job-status"))).await.unwrap().text().await.unwrap();
    assert_eq!(status, "Succeeded");
    assert_eq!(effects(&key), 1);
    let counts = driver.find(By::Css("#job-counts tr[data-job=\"test.broken\"]")).await.unwrap().text().await.unwrap();
    assert_eq!(counts, "test.broken 0 0 1 0");
    browser.quit().await;
}

/// Starts a worker, waits until its first maintenance round deleted the succeeded job `done`
/// (older than `jobs.keep_finished_days`), and checks the failed job `dead` is kept.
pub(crate) async fn old_succeeded_jobs_are_deleted_by(site: &TestSite, worker: Worker, done: i64, dead: i64) {
    eventually("the old succeeded job is deleted", || async {
        job::Entity::find_by_id(done).one(&site.core.db).await.unwrap().is_none()
    })
    .await;
    worker.stop(Duration::from_secs(5)).await;
    assert_eq!(the_job(site, dead).await.status, status::FAILED, "failed jobs wait for someone to act");
}

dbtest! {
    using queue_site();
    async fn succeeded_jobs_are_deleted_after_the_keeping_period_and_failed_ones_stay(site) {
        let done = site.core.enqueue(&site.core.db, &Record { key: unique("old") }).await.unwrap();
        let dead = site.core.enqueue(&site.core.db, &Panics {}).await.unwrap();
        assert_eq!(site.run_jobs().await, 2);
        site.clock.advance(chrono::Duration::days(6));
        let worker = Worker::start(site.core.clone(), options(1));
        tokio::time::sleep(Duration::from_millis(300)).await;
        worker.stop(Duration::from_secs(5)).await;
        assert_eq!(the_job(&site, done).await.status, status::SUCCEEDED, "kept for 7 days");
        site.clock.advance(chrono::Duration::days(2));
        old_succeeded_jobs_are_deleted_by(&site, Worker::start(site.core.clone(), options(1)), done, dead).await;
    }
}
