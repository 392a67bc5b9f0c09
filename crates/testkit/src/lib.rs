//! Test helpers: a real site on a fresh database per test, a browser-like HTTP client, and
//! headless Chromium.
//!
//! ```ignore
//! quartet_testkit::dbtest! {
//!     async fn the_home_page_answers(site) {
//!         let page = site.client().get("/").await;
//!         assert_eq!(page.status, 200);
//!     }
//! }
//! ```
//!
//! `dbtest!` writes two tests, `<name>::sqlite` and `<name>::postgres`. The PostgreSQL one
//! runs when `QUARTET_TEST_DATABASE_URL` is set (each test gets its own schema, dropped
//! afterwards); without it the test is skipped, except under `CI=true` where it fails.

mod browser;
mod client;
mod database;
mod oidc;
mod proxy;
mod schema;

use std::net::SocketAddr;
use std::sync::Arc;

pub use browser::Browser;
pub use client::{Frame, TestClient, TestResponse, TestSocket};
pub use database::{Backend, POSTGRES_VARIABLE, TestDatabase};
pub use oidc::{OidcPerson, OidcProvider, TokenFault};
pub use proxy::TcpProxy;
use quartet_core::App;
use quartet_core::app::CoreState;
use quartet_core::auth::User;
use quartet_core::auth::{NewUser, create_user};
use quartet_core::config::{EmailBackendKind, JobBackendKind, Profile, Secret, Settings};
use quartet_core::mail::{Email, MemoryMailer};
use quartet_core::site::Site;
use quartet_core::time::ManualClock;
pub use schema::schema_mismatches;
use tokio::sync::oneshot;

/// Sends log lines to the test's captured output (shown when a test fails).
fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("QUARTET_TEST_LOG").unwrap_or_else(|_| "warn,quartet=info".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// Every file under `roots` and their subfolders, with its text (tests that scan templates and
/// code: every text translated, every route name registered).
pub fn source_files(roots: &[std::path::PathBuf]) -> Vec<(std::path::PathBuf, String)> {
    let mut folders = roots.to_vec();
    let mut files = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("reading {}: {e}", folder.display())) {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                files.push((path, text));
            }
        }
    }
    files
}

/// The texts an app's templates and code pass to the translation calls (`ctx.t("…")`,
/// `ctx.t1`, `ctx.t2`, `tr.t`, `tr.f`, and the plurals of `ctx.tn`/`tr.n`): the message ids and
/// the (singular, plural) pairs, for the tests that check each has a translation.
pub fn translatable_texts(sources: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut ids: Vec<String> = Vec::new();
    let mut plurals: Vec<(String, String)> = Vec::new();
    for (start, _) in sources.match_indices('(') {
        let before = &sources[..start];
        let call = ["ctx.t", "ctx.t1", "ctx.t2", "ctx.tn", "tr.n", "tr.t", "tr.f"].iter().any(|c| before.ends_with(c));
        if !call {
            continue;
        }
        let mut strings = Vec::new();
        let mut rest = &sources[start + 1..];
        while let Some(body) = rest.trim_start().strip_prefix('"') {
            let bytes = body.as_bytes();
            let mut end = 0;
            while end < bytes.len() && !(bytes[end] == b'"' && (end == 0 || bytes[end - 1] != b'\\')) {
                end += 1;
            }
            strings.push(body[..end].replace("\\\"", "\""));
            rest = body[(end + 1).min(body.len())..].trim_start().strip_prefix(',').unwrap_or("");
            if strings.len() == 2 {
                break;
            }
        }
        if (before.ends_with("tn") || before.ends_with(".n")) && strings.len() == 2 {
            plurals.push((strings[0].clone(), strings[1].clone()));
        } else {
            ids.extend(strings.into_iter().take(1));
        }
    }
    (ids, plurals)
}

/// Whether this run is CI (`CI=true`), where missing services fail tests instead of skipping them.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (returns `None`) or, in CI, fails when an environment variable naming a service is unset.
pub fn service_url(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if in_ci() => panic!("{variable} is not set, and CI requires the service it names"),
        _ => {
            eprintln!("skipped: set {variable} to run this test");
            None
        }
    }
}

type SettingsChange = Box<dyn FnOnce(&mut Settings) + Send>;

/// Configures a [`TestSite`].
pub struct TestSiteBuilder {
    apps: Vec<Arc<dyn App>>,
    changes: Vec<SettingsChange>,
}

impl std::fmt::Debug for TestSiteBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSiteBuilder").finish_non_exhaustive()
    }
}

impl Default for TestSiteBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSiteBuilder {
    /// A site with only the built-in apps ([`quartet_core::builtin_apps`]).
    pub fn new() -> Self {
        Self { apps: quartet_core::builtin_apps(), changes: Vec::new() }
    }

    /// Installs an app.
    pub fn app(mut self, app: impl App) -> Self {
        self.apps.push(Arc::new(app));
        self
    }

    /// Changes a setting before the site starts.
    pub fn settings(mut self, change: impl FnOnce(&mut Settings) + Send + 'static) -> Self {
        self.changes.push(Box::new(change));
        self
    }

    /// Starts the site on a fresh database of `backend`, migrated, serving on a free port.
    pub async fn start(self, backend: Backend) -> TestSite {
        let database = TestDatabase::create(backend).await;
        self.start_on(database).await
    }

    /// Starts the site on the PostgreSQL test database, or returns `None` to skip the test.
    pub async fn start_postgres(self) -> Option<TestSite> {
        service_url(database::POSTGRES_VARIABLE)?;
        Some(self.start(Backend::Postgres).await)
    }

    /// Starts the site on a database made beforehand.
    pub async fn start_on(self, database: TestDatabase) -> TestSite {
        init_logging();
        let mut settings = Settings::defaults(Profile::Development);
        settings.secret_key = Secret::new(database.secret().to_owned());
        settings.data_dir = database.dir().to_path_buf();
        // Sites on one database share their keys in Redis and Memcached; other tests' sites do not.
        let tag = &database.secret()[12..24];
        settings.cache.key_prefix = format!("qt-{tag}:");
        settings.session.key_prefix = format!("qt-{tag}:session:");
        settings.kv.key_prefix = format!("qt-{tag}:kv:");
        settings.database.url = Secret::new(database.url().to_owned());
        settings.database.schema = database.schema().unwrap_or_default().to_owned();
        settings.database.max_connections = 4;
        settings.allowed_hosts = vec!["127.0.0.1".into(), "localhost".into()];
        settings.email.backend = EmailBackendKind::Memory;
        // Jobs run as they are enqueued, so e-mails are in the outbox at once; tests of the
        // queue itself choose the database or RabbitMQ backend.
        settings.jobs.backend = JobBackendKind::Inline;
        settings.log.requests = false;
        // Pages as production serves them; the toolbar's own tests turn it on.
        settings.devtools.toolbar = false;
        // Fast hashing; the production parameters have their own tests.
        settings.auth.argon2_memory_kib = 64;
        settings.auth.pbkdf2_iterations = 1000;
        settings
            .ensure_sections(&quartet_core::site::sections_of(&self.apps))
            .expect("the apps' settings sections have valid defaults");
        for change in self.changes {
            change(&mut settings);
        }
        let mail = MemoryMailer::new(settings.email.default_from.clone());
        let clock = Arc::new(ManualClock::new());
        let site = Site::builder(settings)
            .apps(self.apps)
            .clock(clock.clone())
            .mailer(Arc::new(mail.clone()))
            .build()
            .await
            .expect("the test site builds");
        site.migrate(|_, _| {}).await.expect("the test database migrates");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let router = site.router();
        let server_settings = site.core.settings.server.clone();
        let server = tokio::spawn(async move {
            quartet_core::server::serve(listener, router, &server_settings, None, async {
                let _ = stopped.await;
            })
            .await;
        });
        TestSite { core: site.core.clone(), site, addr, mail, clock, stop: Some(stop), server: Some(server), database }
    }
}

/// A running site on its own database.
pub struct TestSite {
    /// The shared services.
    pub core: CoreState,
    /// The site (for migrations and the router).
    pub site: Site,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every e-mail the site sent.
    pub mail: MemoryMailer,
    /// The clock the site reads; move it to test expiry.
    pub clock: Arc<ManualClock>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    database: TestDatabase,
}

impl std::fmt::Debug for TestSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSite")
            .field("addr", &self.addr)
            .field("backend", &self.database.backend())
            .finish_non_exhaustive()
    }
}

impl TestSite {
    /// A builder with only the built-in apps.
    pub fn builder() -> TestSiteBuilder {
        TestSiteBuilder::new()
    }

    /// The database engine of this site.
    pub fn backend(&self) -> Backend {
        self.database.backend()
    }

    /// The site's database, for another site to start on ([`TestSiteBuilder::start_on`]): a
    /// second instance of the same deployment.
    pub fn database(&self) -> TestDatabase {
        self.database.clone()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new client with its own cookies (one browser).
    pub fn client(&self) -> TestClient {
        TestClient::new(self.url(""))
    }

    /// Creates an active user with a profile; the e-mail is `<username>@example.com`.
    pub async fn create_user(&self, username: &str, password: &str) -> User {
        self.create(NewUser {
            username: username.into(),
            email: format!("{username}@example.com"),
            first_name: username[..1].to_uppercase() + &username[1..],
            password: Some(password.into()),
            ..NewUser::default()
        })
        .await
    }

    /// Creates a user.
    pub async fn create(&self, new: NewUser) -> User {
        create_user(&self.core, new).await.expect("the user is created")
    }

    /// The password of the users the helpers below create.
    pub const PASSWORD: &'static str = "correct-horse-battery";

    /// A client signed in as a new user with this name.
    pub async fn signed_in_client(&self, username: &str) -> (TestClient, User) {
        let password = Self::PASSWORD;
        let user = self.create_user(username, password).await;
        let client = self.client();
        let page = client.login(username, password).await;
        assert_eq!(page.status, 303, "sign-in of {username} failed: {}", page.body);
        (client, user)
    }

    /// A client signed in through the admin's sign-in page as a new staff user `username`
    /// with these permissions (`blog.change_post`); the password is
    /// [`TestSite::PASSWORD`].
    pub async fn staff_client(&self, username: &str, permissions: &[&str]) -> (TestClient, User) {
        self.admin_client(username, permissions, false).await
    }

    /// A client signed in through the admin's sign-in page as a new superuser `username`.
    pub async fn superuser_client(&self, username: &str) -> (TestClient, User) {
        self.admin_client(username, &[], true).await
    }

    async fn admin_client(&self, username: &str, permissions: &[&str], superuser: bool) -> (TestClient, User) {
        use sea_orm::{ActiveModelTrait as _, ActiveValue::Set};
        let user = self
            .create(NewUser {
                username: username.into(),
                email: format!("{username}@example.com"),
                password: Some(Self::PASSWORD.into()),
                is_staff: true,
                is_superuser: superuser,
                ..NewUser::default()
            })
            .await;
        for permission in permissions {
            quartet_core::auth::models::user_permission::ActiveModel {
                user_id: Set(user.id),
                permission_id: Set((*permission).into()),
                ..Default::default()
            }
            .insert(&self.core.db)
            .await
            .unwrap_or_else(|e| panic!("the permission {permission} is given (is it a model's?): {e}"));
        }
        let client = self.client();
        let (login, index) = (self.core.url("admin:login"), self.core.url("admin:index"));
        let page =
            client.post_form(&login, &[("username", username), ("password", Self::PASSWORD), ("next", &index)]).await;
        assert_eq!(
            (page.status, page.location()),
            (303, Some(index.as_str())),
            "admin sign-in of {username}: {}",
            page.body
        );
        (client, user)
    }

    /// E-mails sent so far.
    pub fn outbox(&self) -> Vec<Email> {
        self.mail.outbox()
    }

    /// Runs every due job of the database queue (for sites started with `jobs.backend =
    /// database`); returns how many attempts ran.
    pub async fn run_jobs(&self) -> usize {
        quartet_core::jobs::run_due(&self.core).await
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestSite {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Writes a test that runs once on SQLite and once on PostgreSQL (see the crate docs).
///
/// `dbtest! { async fn name(site) { ... } }` uses a site with only the built-in apps;
/// `dbtest! { using builder_expr; async fn name(site) { ... } }` starts `builder_expr` instead;
/// `dbtest! { needs quartet_amqp = "QUARTET_TEST_AMQP_URL"; using ...; async fn ... }` also
/// needs a service. A variant whose services are not configured is reported as ignored (the
/// cfgs come from `service-cfgs.rs`, the build script of the crates with such tests).
#[macro_export]
macro_rules! dbtest {
    ($(#[$meta:meta])* async fn $name:ident($site:ident) $body:block) => {
        $crate::dbtest! { using $crate::TestSite::builder(); $(#[$meta])* async fn $name($site) $body }
    };
    (using $builder:expr; $(#[$meta:meta])* async fn $name:ident($site:ident) $body:block) => {
        $crate::dbtest! {
            @variants
            []
            [cfg_attr(not(quartet_postgres), ignore = "set QUARTET_TEST_DATABASE_URL to run it on PostgreSQL")]
            $builder; $(#[$meta])* async fn $name($site) $body
        }
    };
    (needs $service:ident = $variable:literal; using $builder:expr; $(#[$meta:meta])* async fn $name:ident($site:ident) $body:block) => {
        $crate::dbtest! {
            @variants
            [cfg_attr(not($service), ignore = concat!("set ", $variable, " to run it"))]
            [cfg_attr(
                not(all(quartet_postgres, $service)),
                ignore = concat!("set QUARTET_TEST_DATABASE_URL and ", $variable, " to run it")
            )]
            $builder; $(#[$meta])* async fn $name($site) $body
        }
    };
    (@variants [$($sqlite:meta)?] [$postgres:meta] $builder:expr; $(#[$meta:meta])* async fn $name:ident($site:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            $(#[$sqlite])?
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                #[allow(unused_mut)]
                let mut $site = ($builder).start($crate::Backend::Sqlite).await;
                $body
            }

            $(#[$meta])*
            #[$postgres]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                #[allow(unused_mut)]
                let Some(mut $site) = ($builder).start_postgres().await else { return };
                $body
            }
        }
    };
}
