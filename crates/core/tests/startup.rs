//! A site whose apps name something that does not exist does not start, and says what is
//! wrong: a header link or an admin page to a missing route, an admin registration of an
//! unknown model, a model rule on a column the model lacks, a job type with a bad queue name.

use std::sync::Arc;

use quartet_core::admin::{AdminLink, ModelAdmin};
use quartet_core::app::{App, AppRegistry, CoreState, NavLink};
use quartet_core::config::{Profile, Settings};
use quartet_core::jobs::{Job, JobContext, JobDef};
use quartet_core::urls::{Routes, RoutesBuilder};

/// An app that registers one broken thing.
struct Broken(fn(&mut AppRegistry<'_>));

#[async_trait::async_trait]
impl App for Broken {
    fn label(&self) -> &'static str {
        "broken"
    }
    fn name(&self) -> &'static str {
        "Broken"
    }

    fn mount(&self) -> &'static str {
        "/broken/"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("page", "", axum::routing::get(|| async { "ok" }))
            .with_state(core.clone())
    }
    fn register(&self, app: &mut AppRegistry<'_>) {
        (self.0)(app);
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BadQueue;

#[async_trait::async_trait]
impl Job for BadQueue {
    const NAME: &'static str = "broken.bad_queue";
    const QUEUE: &'static str = "no spaces allowed";
    async fn run(self, _ctx: JobContext) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Builds a site of the built-in apps and one `Broken` app that registers with `register`.
async fn build(register: fn(&mut AppRegistry<'_>)) -> anyhow::Result<quartet_core::Site> {
    build_with(&[], register).await
}

/// [`build`] with `apps.mounts` set to `mounts`.
async fn build_with(mounts: &[&str], register: fn(&mut AppRegistry<'_>)) -> anyhow::Result<quartet_core::Site> {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults(Profile::Development);
    settings.data_dir = dir.path().to_path_buf();
    settings.apps.mounts = mounts.iter().map(|m| (*m).to_owned()).collect();
    let mut apps = quartet_core::builtin_apps();
    apps.push(Arc::new(Broken(register)));
    quartet_core::Site::builder(settings).apps(apps).build().await
}

/// The error of building that site.
async fn start_up_error(register: fn(&mut AppRegistry<'_>)) -> String {
    match build(register).await {
        Ok(_) => panic!("the site started"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn a_working_app_starts() {
    build(|app| {
        app.nav(NavLink::new("Broken", "broken:page"));
    })
    .await
    .expect("a site whose names all exist starts");
}

#[tokio::test]
async fn a_header_link_to_a_missing_route_stops_start_up() {
    let error = start_up_error(|app| {
        app.nav(NavLink::new("Broken", "broken:pgae"));
    })
    .await;
    assert!(error.contains("the header link `Broken` names the route `broken:pgae`"), "{error}");
}

#[tokio::test]
async fn an_admin_page_to_a_missing_route_stops_start_up() {
    let error = start_up_error(|app| {
        app.add(AdminLink::new("Statistics", "broken:stats"));
    })
    .await;
    assert!(error.contains("the admin page `Statistics` of `broken` names the route `broken:stats`"), "{error}");
}

#[tokio::test]
async fn an_admin_registration_of_an_unknown_model_stops_start_up() {
    let error = start_up_error(|app| {
        app.add(ModelAdmin::new("broken.ghost"));
    })
    .await;
    assert!(error.contains("registers `broken.ghost` with the admin, but no installed app has that model"), "{error}");
}

#[tokio::test]
async fn a_model_rule_on_a_missing_or_unfit_column_stops_start_up() {
    use quartet_core::auth::models::user;
    use quartet_core::models::{ModelDef, ModelRules};
    let error = start_up_error(|app| {
        app.model(
            ModelDef::of::<user::Entity>("member", "member", "members")
                .with_rules(ModelRules { auto_now: &["modified"], ..ModelRules::NONE }),
        );
    })
    .await;
    assert!(error.contains("the model `broken.member` has no column `modified` (its rule `auto_now`)"), "{error}");
    let error = start_up_error(|app| {
        app.model(
            ModelDef::of::<user::Entity>("member", "member", "members")
                .with_rules(ModelRules { unique_for_date: &[("username", "email")], ..ModelRules::NONE }),
        );
    })
    .await;
    assert!(error.contains("the rule `unique_for_date` of `broken.member` cannot use the column `email`"), "{error}");
    build(|app| {
        app.model(ModelDef::of::<user::Entity>("member", "member", "members").with_rules(ModelRules {
            auto_now_add: &["date_joined"],
            slug_from: &[("username", "email")],
            ..ModelRules::NONE
        }));
    })
    .await
    .expect("rules on fitting columns start");
}

#[tokio::test]
async fn a_job_type_with_a_bad_queue_name_stops_start_up() {
    let error = start_up_error(|app| {
        app.add(JobDef::of::<BadQueue>());
    })
    .await;
    assert!(error.contains("the job type `broken.bad_queue` of `broken` has an invalid queue name"), "{error}");
}

#[tokio::test]
async fn apps_mounts_move_an_app_and_refuse_what_cannot_be_mounted() {
    let site = build_with(&["broken=/elsewhere/"], |app| {
        app.nav(NavLink::new("Broken", "broken:page"));
    })
    .await
    .expect("a moved app starts");
    assert_eq!(site.core.url("broken:page"), "/elsewhere/");
    assert_eq!(site.core.urls().mount_of("broken"), Some("/elsewhere/"));
    for (mounts, expected) in [
        (&["ghost=/x/"][..], "apps.mounts: `ghost` is not an installed app"),
        (&["broken"][..], "apps.mounts: `broken` is not `label=/prefix/`"),
        (&["broken=elsewhere"][..], "apps.mounts: the prefix of `broken` must start and end with `/`"),
        (&["broken=/a/", "broken=/b/"][..], "apps.mounts: `broken` is mounted twice"),
    ] {
        let error = match build_with(mounts, |_| {}).await {
            Ok(_) => panic!("{mounts:?} started"),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains(expected), "{mounts:?}: {error}");
    }
}
