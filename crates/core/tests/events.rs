//! Events: handlers run after the commit of the transaction that emitted them, or as jobs
//! queued in it; a rolled-back transaction runs nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::routing::get;
use quartet_core::app::{App, AppRegistry, CoreState};
use quartet_core::config::JobBackendKind;
use quartet_core::events::{Event, Handler};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::{TestSite, TestSiteBuilder, dbtest};
use serde::{Deserialize, Serialize};

/// Handler runs, by the token of the event.
static RUNS: Mutex<Option<HashMap<String, Vec<&'static str>>>> = Mutex::new(None);

fn ran(token: &str, handler: &'static str) {
    RUNS.lock().unwrap().get_or_insert_with(HashMap::new).entry(token.to_owned()).or_default().push(handler);
}

fn runs(token: &str) -> Vec<&'static str> {
    RUNS.lock().unwrap().as_ref().and_then(|r| r.get(token).cloned()).unwrap_or_default()
}

#[derive(Debug, Serialize, Deserialize)]
struct Pinged {
    token: String,
}

impl Event for Pinged {
    const NAME: &'static str = "probe.pinged";
}

struct EventsApp;

#[async_trait::async_trait]
impl App for EventsApp {
    fn label(&self) -> &'static str {
        "events_probe"
    }
    fn name(&self) -> &'static str {
        "Events probe"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("nothing", "events-probe/", get(|| async { "ok" }))
            .with_state(core.clone())
    }
    fn register(&self, app: &mut AppRegistry<'_>) {
        app.add(Handler::after_commit::<Pinged>("probe.after_commit", |_, e| {
            Box::pin(async move {
                ran(&e.token, "after commit");
                Ok(())
            })
        }))
        .add(Handler::after_commit::<Pinged>("probe.failing", |_, e| {
            Box::pin(async move {
                ran(&e.token, "failing");
                anyhow::bail!("this handler always fails")
            })
        }))
        .add(Handler::as_job::<Pinged>("probe.as_job", |_, e| {
            Box::pin(async move {
                ran(&e.token, "job");
                Ok(())
            })
        }));
    }
}

fn events_site() -> TestSiteBuilder {
    TestSite::builder().app(EventsApp).settings(|s| s.jobs.backend = JobBackendKind::Database)
}

fn token() -> String {
    quartet_core::crypto::random_string(16, quartet_core::crypto::LOWER_ALNUM)
}

dbtest! { using events_site();
    async fn handlers_run_after_the_commit_and_jobs_are_queued_in_the_transaction(site) {
        let token = token();
        let tx = site.core.db.begin().await.unwrap();
        site.core.emit(&tx, &Pinged { token: token.clone() }).await.unwrap();
        assert!(runs(&token).is_empty(), "nothing runs before the commit");
        tx.commit().await.unwrap();
        assert_eq!(runs(&token), ["after commit", "failing"], "in order, a failing one logged, the commit kept");
        assert_eq!(site.run_jobs().await, 1, "the job was queued with the transaction");
        assert_eq!(runs(&token), ["after commit", "failing", "job"]);
    }
}

dbtest! { using events_site();
    async fn a_rolled_back_transaction_runs_no_handler_and_queues_no_job(site) {
        let token = token();
        let tx = site.core.db.begin().await.unwrap();
        site.core.emit(&tx, &Pinged { token: token.clone() }).await.unwrap();
        tx.rollback().await.unwrap();
        let dropped = site.core.db.begin().await.unwrap();
        site.core.emit(&dropped, &Pinged { token: token.clone() }).await.unwrap();
        drop(dropped);
        assert_eq!(site.run_jobs().await, 0);
        assert!(runs(&token).is_empty(), "{:?}", runs(&token));
    }
}

/// An app that brings one handler.
struct WithHandler(&'static str, fn() -> Handler);

#[async_trait::async_trait]
impl App for WithHandler {
    fn label(&self) -> &'static str {
        self.0
    }
    fn name(&self) -> &'static str {
        "Handler probe"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new().with_state(core.clone())
    }
    fn register(&self, app: &mut AppRegistry<'_>) {
        app.add((self.1)());
    }
}

#[tokio::test]
async fn handlers_with_one_name_or_for_a_missing_model_stop_start_up() {
    let start = |apps: Vec<std::sync::Arc<dyn App>>| async move {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = quartet_core::config::Settings::defaults(quartet_core::config::Profile::Development);
        settings.data_dir = dir.path().to_path_buf();
        quartet_core::site::Site::builder(settings)
            .apps(quartet_core::builtin_apps())
            .apps(apps)
            .build()
            .await
            .err()
            .map(|e| format!("{e:#}"))
    };
    let clashing = WithHandler("clashing", || {
        Handler::after_commit::<Pinged>("probe.after_commit", |_, _| Box::pin(async { Ok(()) }))
    });
    let twice = start(vec![std::sync::Arc::new(EventsApp), std::sync::Arc::new(clashing)]).await.unwrap();
    assert!(twice.contains("two event handlers are named `probe.after_commit`"), "{twice}");
    let unknown_model = WithHandler("unknown_model", || {
        Handler::on_model("shop.order", "unknown_model.count", |_, _| Box::pin(async { Ok(()) }))
    });
    let unknown = start(vec![std::sync::Arc::new(unknown_model)]).await.unwrap();
    assert!(unknown.contains("names no installed model `shop.order`"), "{unknown}");
}
