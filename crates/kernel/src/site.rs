//! Building a site: installed apps + settings → services, routes and the middleware stack.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, bail};
use axum::Router;

use crate::app::{App, CoreInner, CoreState, Registry};
use crate::config::{Profile, Settings};
use crate::core_app::CoreApp;
use crate::db::{MigrationStatus, Migrator};
use crate::i18n::Catalogs;
use crate::mail::Mailer;
use crate::ratelimit::RateLimiter;
use crate::session::{DbSessionStore, SessionStore};
use crate::staticfiles::Assets;
use crate::time::{Clock, SystemClock};
use crate::urls::{URL_CONTEXT, UrlMap};

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
    /// A site with these settings and only the kernel's `core` app (add the built-in apps of
    /// `quartet_core::builtin_apps` and your own).
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
        let installed = installed(self.apps, &settings)?;
        settings.ensure_sections(&sections_of(&installed))?;
        let mut registry = Registry::collect(&installed, &settings)?;
        let migrator = Migrator::new(std::mem::take(&mut registry.migrations));

        let (db, queries) = crate::db::connect(&settings).await?;
        let mailer = match self.mailer {
            Some(m) => m,
            None => crate::mail::from_settings(&settings)?,
        };
        let assets = Assets::new(registry.static_files.iter().cloned());
        let i18n = Catalogs::new(&settings.i18n.languages, &settings.i18n.default_language, &registry.translations)?;
        let cache = Arc::new(crate::cache::Cache::new(&settings)?);
        let sessions = session_store(&settings, &db, &cache)?;
        let core = CoreState::new(CoreInner {
            limiter: RateLimiter::new(db.clone()),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            assets: Arc::new(assets),
            i18n: Arc::new(i18n),
            registry: Arc::new(registry),
            urls: OnceLock::new(),
            cache,
            kv: crate::kv::Kv::new(&settings, db.clone())?,
            channels: crate::channels::ChannelLayer::new(&settings)?,
            bodies: crate::http::body::BodyBudget::new(settings.uploads.memory_budget_bytes),
            images: crate::blocking::BlockingPool::new(settings.uploads.image_concurrency),
            queries,
            metrics: crate::metrics::Metrics::default(),
            settings,
            db,
            mailer,
            sessions,
        });

        core.db.watch_changes(Arc::new(SiteChanges::new(&core))).map_err(anyhow::Error::msg)?;

        let mut pages = Router::new();
        let mut urls = UrlMap::default();
        let mounts = mounts(&core.settings, &installed)?;
        let languages = &core.settings.i18n.languages;
        let translate = |lang: &str, path: &str| core.i18n.pgettext(lang, URL_CONTEXT, path).to_owned();
        for app in &installed {
            let prefix = mounts.get(app.label()).copied().unwrap_or_else(|| app.mount());
            let router = app.routes(&core).mount(app.label(), prefix, languages, &translate, &mut urls)?;
            pages = pages.merge(router);
        }
        core.urls.set(urls).expect("routes are built once");
        check_names(&core, &installed)?;
        let router = crate::server::assemble(&core, pages);
        Ok(Site { core, router, migrator })
    }
}

/// The store `session.backend` names.
fn session_store(
    settings: &Settings,
    db: &crate::db::Db,
    cache: &Arc<crate::cache::Cache>,
) -> anyhow::Result<Arc<dyn SessionStore>> {
    use crate::config::SessionBackendKind;
    use crate::session::{CachedDbSessionStore, RedisSessionStore};
    Ok(match settings.session.backend {
        SessionBackendKind::Database => Arc::new(DbSessionStore::new(db.clone())),
        SessionBackendKind::CachedDb => Arc::new(CachedDbSessionStore::new(db.clone(), cache.clone())),
        SessionBackendKind::Redis => Arc::new(RedisSessionStore::new(
            settings.redis.url.expose(),
            &settings.session.key_prefix,
            std::time::Duration::from_millis(settings.redis.io_timeout_ms),
        )?),
    })
}

/// What the site does when a write is committed: the cache makes the changed models' data
/// stale, and the handlers of model changes run.
struct SiteChanges {
    invalidation: crate::cache::Invalidation,
    /// Tables whose rows a handler asked for.
    row_tables: std::collections::HashSet<String>,
    core: crate::app::WeakCore,
}

impl SiteChanges {
    fn new(core: &CoreState) -> Self {
        let rules = core.registry.models.iter().map(crate::models::ModelDef::cache_rule);
        let handlers = crate::events::handlers(core);
        Self {
            invalidation: crate::cache::Invalidation::new(core.cache.clone(), rules),
            row_tables: core
                .registry
                .models
                .iter()
                .filter(|m| handlers.wants_model(&m.label()))
                .map(crate::models::ModelDef::table)
                .collect(),
            core: core.downgrade(),
        }
    }
}

#[async_trait::async_trait]
impl crate::db::ChangeSink for SiteChanges {
    fn changes(&self, write: &crate::db::Write<'_>) -> &[&'static str] {
        self.invalidation.changes(write)
    }

    fn wants_rows(&self, table: &str) -> bool {
        self.row_tables.contains(table)
    }

    async fn committed(&self, changes: &[&'static str], rows: Vec<crate::db::RowChange>) {
        if !changes.is_empty() {
            self.invalidation.bump(changes).await;
        }
        if !rows.is_empty()
            && let Some(core) = self.core.upgrade()
        {
            core.models_changed(rows).await;
        }
    }
}

/// The prefixes `apps.mounts` gives installed apps (`"blog=/journal/"`), checked: an app that is
/// installed, a prefix that starts and ends with `/`, each app once.
fn mounts<'a>(settings: &'a Settings, installed: &[Arc<dyn App>]) -> anyhow::Result<HashMap<&'a str, &'a str>> {
    let mut out = HashMap::new();
    for entry in &settings.apps.mounts {
        let Some((label, prefix)) = entry.split_once('=') else {
            bail!("apps.mounts: `{entry}` is not `label=/prefix/`");
        };
        let (label, prefix) = (label.trim(), prefix.trim());
        if !installed.iter().any(|a| a.label() == label) {
            bail!("apps.mounts: `{label}` is not an installed app");
        }
        if !prefix.starts_with('/') || !prefix.ends_with('/') {
            bail!("apps.mounts: the prefix of `{label}` must start and end with `/` (`{prefix}`)");
        }
        if out.insert(label, prefix).is_some() {
            bail!("apps.mounts: `{label}` is mounted twice");
        }
    }
    Ok(out)
}

/// Every route name the header links use exists, every model's rules name its own columns, and
/// each app's own [`App::check`] passes, so a misspelt name stops start-up instead of linking to
/// `/` or skipping a rule.
fn check_names(core: &CoreState, installed: &[Arc<dyn App>]) -> anyhow::Result<()> {
    for model in &core.registry.models {
        model.check_rules()?;
    }
    for link in &core.registry.nav {
        if !core.urls().has(link.route) {
            bail!("the header link `{}` names the route `{}`, which no installed app has", link.label, link.route);
        }
    }
    for app in installed {
        app.check(core).with_context(|| format!("the app `{}`", app.label()))?;
    }
    Ok(())
}

/// The settings sections of `apps`.
pub fn sections_of(apps: &[Arc<dyn App>]) -> Vec<crate::config::SettingsSection> {
    apps.iter().filter_map(|a| a.settings()).collect()
}

/// The kernel's own `core` app followed by `apps` in order, less those `apps.disabled` names;
/// a disabled label that names no app is refused.
pub fn installed(apps: Vec<Arc<dyn App>>, settings: &Settings) -> anyhow::Result<Vec<Arc<dyn App>>> {
    for label in &settings.apps.disabled {
        if !apps.iter().any(|a| a.label() == label) {
            bail!("invalid value for `apps.disabled`: no installed app is labelled `{label}`");
        }
    }
    let mut installed: Vec<Arc<dyn App>> = vec![Arc::new(CoreApp)];
    installed.extend(apps.into_iter().filter(|a| !settings.apps.disabled.iter().any(|d| d == a.label())));
    Ok(installed)
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
        for app in &self.core.registry.installed {
            app.after_migrate(&self.core)
                .await
                .with_context(|| format!("after migrating, the app `{}`", app.label()))?;
        }
        Ok(applied)
    }

    /// Every migration and whether it is applied.
    pub async fn migration_status(&self) -> anyhow::Result<Vec<MigrationStatus>> {
        Ok(self.migrator.status(&self.core.db).await?)
    }

    /// Serves HTTP on `listener` until SIGTERM or Ctrl-C, then drains.
    pub async fn serve(&self, listener: tokio::net::TcpListener) {
        self.serve_until(listener, crate::server::shutdown_signal()).await;
    }

    /// Serves HTTP on `listener` until `stop` completes, then drains.
    pub async fn serve_until(
        &self,
        listener: tokio::net::TcpListener,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        self.serve_with(listener, None, stop).await;
    }

    /// Serves HTTP, or HTTPS with `tls`, on `listener` until `stop` completes, then drains.
    pub async fn serve_with(
        &self,
        listener: tokio::net::TcpListener,
        tls: Option<tokio_rustls::TlsAcceptor>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        crate::server::serve(listener, self.router(), &self.core.settings.server, tls, stop).await;
    }
}
