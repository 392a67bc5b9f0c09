//! Building a site: installed apps + settings → services, routes and the middleware stack.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::app::App;
use crate::auth::AccountsApp;
use crate::auth::hashers::{HasherConfig, PasswordHasher};
use crate::config::{Profile, Settings};
use crate::core_app::CoreApp;
use crate::db::{MigrationStatus, Migrator};
use crate::error::Error;
use crate::http::{error_pages, guard, health, host, security, server};
use crate::i18n::Catalogs;
use crate::mail::Mailer;
use crate::ratelimit::RateLimiter;
use crate::session::{DbSessionStore, SessionStore};
use crate::state::{AppInfo, CoreInner, CoreState, Registry};
use crate::staticfiles::Assets;
use crate::time::{Clock, SystemClock};
use crate::urls::UrlMap;

/// Builds a [`Site`].
pub struct SiteBuilder {
    settings: Settings,
    apps: Vec<Arc<dyn App>>,
    clock: Option<Arc<dyn Clock>>,
    mailer: Option<Arc<dyn Mailer>>,
}

impl std::fmt::Debug for SiteBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteBuilder")
            .field("apps", &self.apps.iter().map(|a| a.label()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A built site: its services and its router.
pub struct Site {
    /// The shared services.
    pub core: CoreState,
    router: Router,
    migrator: Migrator,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site").field("core", &self.core).finish_non_exhaustive()
    }
}

/// The secret key of a development site: kept in `<data_dir>/secret_key`, created once.
fn development_secret(settings: &Settings) -> String {
    let path = settings.data_dir.join("secret_key");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.trim().len() >= 50
    {
        return existing.trim().to_owned();
    }
    let key = format!("quartet-insecure-{}", crate::crypto::random_string(50, crate::crypto::ALNUM));
    let written = std::fs::create_dir_all(&settings.data_dir).and_then(|()| std::fs::write(&path, &key));
    if let Err(e) = written {
        tracing::warn!(error = %e, path = %path.display(), "could not keep the development secret key; sessions end at restart");
    }
    key
}

impl SiteBuilder {
    /// A site with these settings and only the built-in apps.
    pub fn new(settings: Settings) -> Self {
        Self { settings, apps: Vec::new(), clock: None, mailer: None }
    }

    /// Installs an app (after the ones installed before).
    pub fn app(mut self, app: impl App) -> Self {
        self.apps.push(Arc::new(app));
        self
    }

    /// Installs apps in order.
    pub fn apps(mut self, apps: impl IntoIterator<Item = Arc<dyn App>>) -> Self {
        self.apps.extend(apps);
        self
    }

    /// Uses another clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses another mailer than the configured one (tests).
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Connects to the database and assembles the site (without migrating).
    pub async fn build(self) -> anyhow::Result<Site> {
        let mut settings = self.settings;
        if settings.secret_key.is_empty() && settings.profile == Profile::Development {
            settings.secret_key = crate::config::Secret::new(development_secret(&settings));
        }
        for label in &settings.apps.disabled {
            if !self.apps.iter().any(|a| a.label() == label) {
                bail!("invalid value for `apps.disabled`: no installed app is labelled `{label}`");
            }
        }
        let mut installed: Vec<Arc<dyn App>> =
            vec![Arc::new(CoreApp), Arc::new(AccountsApp), Arc::new(crate::admin::AdminApp)];
        installed.extend(self.apps.into_iter().filter(|a| !settings.apps.disabled.iter().any(|d| d == a.label())));
        for (i, app) in installed.iter().enumerate() {
            if installed[..i].iter().any(|other| other.label() == app.label()) {
                bail!("two installed apps are labelled `{}`", app.label());
            }
        }

        let mut db = crate::db::connect(&settings).await?;
        let queries = crate::db::QueryCount::attach(&mut db);
        let mailer = match self.mailer {
            Some(m) => m,
            None => crate::mail::from_settings(&settings)?,
        };
        let assets = Assets::new(installed.iter().flat_map(|a| a.static_files()));
        let translations: Vec<_> = installed.iter().flat_map(|a| a.translations()).collect();
        let i18n = Catalogs::new(&settings.i18n.languages, &settings.i18n.default_language, &translations)?;
        let mut registry = Registry::default();
        for app in &installed {
            registry.apps.push(AppInfo { label: app.label(), name: app.name() });
            registry.nav.extend(app.nav_links());
            for def in app.jobs() {
                if !crate::jobs::valid_queue_name(def.queue) {
                    bail!("the job type `{}` of `{}` has an invalid queue name `{}`", def.name, app.label(), def.queue);
                }
                if let Some(other) = registry.jobs.insert(def.name, def) {
                    bail!("two job types are named `{}`", other.name);
                }
            }
            registry.models.extend(app.models().into_iter().map(|mut m| {
                if m.app.is_empty() {
                    m.app = app.label();
                }
                m
            }));
        }
        for app in &installed {
            for mut admin in app.admin() {
                let Some(model) = registry.model(admin.label()).cloned() else {
                    bail!(
                        "the app `{}` registers `{}` with the admin, but no installed app has that model",
                        app.label(),
                        admin.label()
                    );
                };
                admin.model = Some(model);
                let parent = admin.label().to_owned();
                for inline in &mut admin.inlines {
                    let Some(child) = registry.model(inline.admin.label()).cloned() else {
                        bail!("the admin of `{parent}` has an inline of unknown model `{}`", inline.admin.label());
                    };
                    if !child.rows().columns().iter().any(|c| c.name == inline.fk) {
                        bail!("the inline `{}` of `{parent}` has no column `{}`", inline.admin.label(), inline.fk);
                    }
                    inline.admin.model = Some(child);
                    inline.exclude_parent_key();
                }
                if let Some(translations) = &mut admin.translations {
                    let Some(model) = registry.model(translations.admin.label()).cloned() else {
                        bail!(
                            "the admin of `{parent}` has translations in unknown model `{}`",
                            translations.admin.label()
                        );
                    };
                    let columns = model.rows().columns();
                    for column in [&translations.fk, &translations.language_column] {
                        if !columns.iter().any(|c| c.name == column.as_str()) {
                            bail!("the translations of `{parent}` have no column `{column}`");
                        }
                    }
                    translations.admin.model = Some(model);
                    translations.exclude_keys();
                }
                registry.admin.push(admin);
            }
            registry.admin_links.extend(app.admin_links().into_iter().map(|mut link| {
                link.app = app.label();
                link
            }));
        }
        registry.installed = installed.clone();
        let migrator = Migrator::new(installed.iter().map(|a| (a.label(), a.migrations())).collect());

        let hasher = PasswordHasher::new(HasherConfig::from(&settings.auth), settings.auth.hashing_concurrency);
        let sessions: Arc<dyn SessionStore> = Arc::new(DbSessionStore::new(db.clone()));
        let core = CoreState::new(CoreInner {
            limiter: RateLimiter::new(db.clone()),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            assets: Arc::new(assets),
            i18n: Arc::new(i18n),
            registry: Arc::new(registry),
            urls: OnceLock::new(),
            job_signal: crate::jobs::new_signal(),
            cache: crate::cache::Cache::new(&settings.cache),
            bodies: crate::http::body::BodyBudget::new(settings.uploads.memory_budget_bytes),
            images: crate::media::ImagePool::new(settings.uploads.image_concurrency),
            queries,
            settings,
            db,
            mailer,
            hasher,
            sessions,
        });

        let mut pages = Router::new();
        let (mut names, mut exempt, mut uploads) = (Vec::new(), Vec::new(), Vec::new());
        for app in &installed {
            let routes = app.routes(&core);
            names.extend(routes.names);
            exempt.extend(routes.csrf_exempt);
            uploads.extend(routes.uploads);
            pages = pages.merge(routes.router);
        }
        core.urls
            .set(UrlMap::new(names).with_csrf_exempt(exempt).with_uploads(uploads))
            .expect("routes are built once");
        let router = assemble(&core, pages);
        Ok(Site { core, router, migrator })
    }
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Error::internal(anyhow::anyhow!("a request handler panicked")).into_response()
}

/// An address no route has: 404, except that under `/admin/` a visitor who is not staff is sent
/// to the admin sign-in page, as for the admin's own pages (so the answer tells nothing of
/// which addresses exist).
async fn not_found(core: CoreState, request: axum::extract::Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/admin/") {
        let staff = match crate::session::from_cookie(&core, request.headers()) {
            Some(session) => crate::auth::user_of_session(&core, &session)
                .await
                .ok()
                .flatten()
                .is_some_and(|u| u.is_active && u.is_staff),
            None => false,
        };
        if !staff {
            let next = request.uri().path_and_query().map_or(path, |p| p.as_str());
            let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
            return Error::LoginRequired(format!("{}?{query}", core.url("admin:login"))).into_response();
        }
    }
    Error::NotFound.into_response()
}

/// Puts the middleware stack around the apps' routes (order documented in `http`).
fn assemble(core: &CoreState, pages: Router) -> Router {
    let pages = pages
        .layer(from_fn_with_state(core.clone(), guard::layer))
        .layer(from_fn_with_state(core.clone(), crate::session::layer))
        .layer(from_fn_with_state(core.clone(), crate::i18n::layer));
    Router::new()
        .route("/static/{*path}", get(crate::staticfiles::serve).with_state(core.assets.clone()))
        .route("/media/{*path}", get(crate::media::serve).with_state(core.clone()))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz).with_state(core.clone()))
        .merge(pages)
        .fallback({
            let core = core.clone();
            move |request: axum::extract::Request| not_found(core.clone(), request)
        })
        .layer(from_fn_with_state(core.clone(), security::ssl_redirect))
        .layer(from_fn_with_state(core.clone(), host::layer))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(core.settings.server.request_timeout_seconds),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(core.clone(), error_pages::layer))
        .layer(from_fn_with_state(core.clone(), security::headers))
        .layer(CompressionLayer::new())
        .layer(from_fn_with_state(core.clone(), server::request_log))
}

impl Site {
    /// Starts building a site.
    pub fn builder(settings: Settings) -> SiteBuilder {
        SiteBuilder::new(settings)
    }

    /// The HTTP router with every layer.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Applies pending migrations and creates the models' permissions; reports each migration.
    pub async fn migrate(&self, progress: impl FnMut(&str, &str)) -> anyhow::Result<Vec<String>> {
        let applied = self.migrator.migrate(&self.core.db, self.core.now(), progress).await.context("migrating")?;
        crate::auth::app::sync_permissions(&self.core, &self.core.registry)
            .await
            .map_err(|e| anyhow::anyhow!("creating permissions: {e}"))?;
        Ok(applied)
    }

    /// Every migration and whether it is applied.
    pub async fn migration_status(&self) -> anyhow::Result<Vec<MigrationStatus>> {
        Ok(self.migrator.status(&self.core.db).await?)
    }

    /// Serves HTTP on `listener` until SIGTERM or Ctrl-C, then drains.
    pub async fn serve(&self, listener: tokio::net::TcpListener) {
        server::serve(listener, self.router(), &self.core.settings.server, server::shutdown_signal()).await;
    }
}
