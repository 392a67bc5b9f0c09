//! `CoreState`: the services every request handler and command can reach.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use super::Registry;
use crate::config::Settings;
use crate::db::Db;
use crate::i18n::Catalogs;
use crate::mail::Mailer;
use crate::ratelimit::RateLimiter;
use crate::session::SessionStore;
use crate::staticfiles::Assets;
use crate::time::Clock;
use crate::urls::UrlMap;

/// The shared services; cheap to clone. Each app builds its own state around one.
#[derive(Clone)]
pub struct CoreState(Arc<CoreInner>);

/// What `CoreState` holds.
pub struct CoreInner {
    /// The configuration the site started with.
    pub settings: Settings,
    /// The database pool.
    pub db: Db,
    /// Statements run on `db` since start-up (tests assert how many a page needs).
    pub queries: crate::db::QueryCount,
    /// Requests counted for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// The cache (data, fragments, pages).
    pub cache: Arc<crate::cache::Cache>,
    /// Counters and rankings.
    pub kv: crate::kv::Kv,
    /// Groups of sockets, across instances.
    pub channels: crate::channels::ChannelLayer,
    /// The time source (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Outgoing e-mail.
    pub mailer: Arc<dyn Mailer>,
    /// The memory request bodies may hold at once (`uploads.memory_budget_bytes`).
    pub bodies: crate::http::body::BodyBudget,
    /// Image decoding and encoding, a few at a time (`uploads.image_concurrency`).
    pub images: crate::blocking::BlockingPool,
    /// Counters for brute-force limits.
    pub limiter: RateLimiter,
    /// Where sessions are kept.
    pub sessions: Arc<dyn SessionStore>,
    /// Static files built into the binary.
    pub assets: Arc<Assets>,
    /// Translation catalogs.
    pub i18n: Arc<Catalogs>,
    /// Installed apps and what they contributed.
    pub registry: Arc<Registry>,
    /// Route names to paths; filled once every app's routes are built.
    pub(crate) urls: OnceLock<UrlMap>,
}

/// A [`CoreState`] that does not keep the site alive (held by what the site itself holds).
#[derive(Clone, Debug)]
pub struct WeakCore(std::sync::Weak<CoreInner>);

impl WeakCore {
    /// The site, while it exists.
    pub fn upgrade(&self) -> Option<CoreState> {
        self.0.upgrade().map(CoreState)
    }
}

impl CoreState {
    pub(crate) fn new(inner: CoreInner) -> Self {
        Self(Arc::new(inner))
    }

    /// A handle that does not keep the site alive.
    pub fn downgrade(&self) -> WeakCore {
        WeakCore(Arc::downgrade(&self.0))
    }

    /// The route map. Panics if called before the site's routes were built (a programming error).
    pub fn urls(&self) -> &UrlMap {
        self.0.urls.get().expect("routes are built before requests are served")
    }

    /// The path of a named route without parameters, e.g. `url("accounts:login")`.
    pub fn url(&self, name: &str) -> String {
        self.url_with(name, &[])
    }

    /// The path of a named route with parameters.
    pub fn url_with(&self, name: &str, args: &[&(dyn fmt::Display + Sync)]) -> String {
        self.url_in(&self.settings.i18n.default_language, name, args)
    }

    /// The path of a named route with parameters in the language `lang` (a translated route's
    /// own path there).
    pub fn url_in(&self, lang: &str, name: &str, args: &[&(dyn fmt::Display + Sync)]) -> String {
        match self.urls().reverse_with(lang, name, args) {
            Ok(path) => path,
            Err(e) => {
                debug_assert!(false, "{e}");
                tracing::error!(error = %e, "broken link");
                "/".to_owned()
            }
        }
    }

    /// A translator for `lang`.
    pub fn tr(&self, lang: impl Into<String>) -> crate::i18n::Tr {
        crate::i18n::Tr::new(self.i18n.clone(), lang)
    }

    /// The service `T` an installed app provides ([`super::AppRegistry::provide`]).
    pub fn service<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.registry.service::<T>()
    }

    /// The current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

impl Deref for CoreState {
    type Target = CoreInner;

    fn deref(&self) -> &CoreInner {
        &self.0
    }
}

impl fmt::Debug for CoreState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoreState")
            .field("profile", &self.settings.profile)
            .field("backend", &self.db.get_database_backend())
            .field("apps", &self.registry.apps)
            .finish_non_exhaustive()
    }
}
