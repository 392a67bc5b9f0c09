//! The `App` trait: how an application plugs into the site.
//!
//! An app is one value that brings its routes, its parts (through the [`Registry`]: models,
//! migrations, header links, static files, translations, commands, contributions to other apps)
//! and its demo data. The server lists the installed apps once, in order; the kernel's own
//! `core` app is always first. [`CoreState`] holds the services every handler reaches.

use std::fmt;

use futures_util::future::BoxFuture;

mod registry;
mod state;

pub use registry::{AppInfo, AppRegistry, Contribution, Registry};
pub use state::{CoreInner, CoreState, WeakCore};

pub use crate::i18n::Translation;
pub use crate::staticfiles::StaticFile;
use crate::urls::Routes;

/// An application of the site.
#[async_trait::async_trait]
pub trait App: Send + Sync + 'static {
    /// Short label: table prefix, template folder, route-name namespace (`"blog"`).
    fn label(&self) -> &'static str;

    /// Human-readable name (`"Blog"`).
    fn name(&self) -> &'static str;

    /// Where the app's pages are mounted (`/blog/`, the reference's prefix) unless
    /// `apps.mounts` says otherwise; it starts and ends with `/`. Route paths are relative to it.
    fn mount(&self) -> &'static str {
        "/"
    }

    /// The app's routes with its state applied: short kebab-case names (`post-list`) and paths
    /// relative to [`App::mount`]; the site qualifies the names as `label:name`.
    fn routes(&self, core: &CoreState) -> Routes;

    /// The app's own settings section (`[blog]`), if it has one:
    /// `Some(SettingsSection::of::<BlogSettings>())`. It is loaded with the kernel's settings,
    /// from the same file and environment, before the site is built.
    fn settings(&self) -> Option<crate::config::SettingsSection> {
        None
    }

    /// Hands the app's parts to the site: models, migrations, header links, static files,
    /// translations, commands, and contributions to other apps (admin registrations, job
    /// types) or services. Called once per site, before any state exists.
    fn register(&self, _app: &mut AppRegistry<'_>) {}

    /// Checks and completes the registry once every app has registered (the admin resolves
    /// its registrations against the models here); an error stops start-up.
    fn ready(&self, _registry: &mut Registry) -> anyhow::Result<()> {
        Ok(())
    }

    /// Checks made once every app's routes exist (Django's system checks): that the route
    /// names the app links to are there. An error stops start-up.
    fn check(&self, _core: &CoreState) -> anyhow::Result<()> {
        Ok(())
    }

    /// Brings the app's data in line with the migrated schema and the installed models (the
    /// accounts app creates every model's permissions); runs after each `migrate`.
    async fn after_migrate(&self, _core: &CoreState) -> anyhow::Result<()> {
        Ok(())
    }

    /// Starts what the app runs beside the web server while `quartet serve` runs (the jobs
    /// app's in-process worker); it is stopped once the server has drained.
    fn start_background(&self, _core: &CoreState) -> Option<BackgroundTask> {
        None
    }

    /// What the app shows on the home page (its latest posts, products…), if anything.
    async fn home(&self, _core: &CoreState, _lang: &str) -> anyhow::Result<Option<HomeSection>> {
        Ok(None)
    }

    /// The app's pages listed in `/sitemap.xml` (paths, not absolute URLs).
    async fn sitemap(&self, _core: &CoreState) -> anyhow::Result<Vec<SitemapEntry>> {
        Ok(Vec::new())
    }

    /// Creates demo data (`quartet seed` and the "load demo data" button).
    async fn seed(&self, _core: &CoreState, _options: &SeedOptions) -> anyhow::Result<SeedReport> {
        Ok(SeedReport::default())
    }

    /// The sizes [`App::seed`] understands (`quartet seed --posts 1000`); `seed --help` lists
    /// them and any other name is refused.
    fn seed_sizes(&self) -> Vec<SeedSize> {
        Vec::new()
    }
}

/// A link in the site header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavLink {
    /// The link text (a translatable message id).
    pub label: &'static str,
    /// The route name it points to; the link is current on every page under its address
    /// (unless that is `/`).
    pub route: &'static str,
    /// Shown to signed-in visitors only (the bookmarks' "Images" and "People").
    pub signed_in_only: bool,
}

impl NavLink {
    /// A link every visitor sees.
    pub const fn new(label: &'static str, route: &'static str) -> Self {
        Self { label, route, signed_in_only: false }
    }

    /// A link only signed-in visitors see.
    pub const fn signed_in(label: &'static str, route: &'static str) -> Self {
        Self { label, route, signed_in_only: true }
    }
}

/// A layer an app puts around every route of the site (Django's middleware), inside the host
/// check and the HTTPS redirect and outside the sessions: the courses app's redirect from a
/// course's subdomain. Contributed with [`AppRegistry::add`]; the first installed app's layer
/// is the outermost.
#[derive(Clone, Copy)]
pub struct SiteLayer {
    /// Wraps the site's router.
    pub wrap: fn(CoreState, axum::Router) -> axum::Router,
}

impl fmt::Debug for SiteLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteLayer").finish_non_exhaustive()
    }
}

/// An app's part of the home page: a heading, a few links and a "see all" link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HomeSection {
    /// The heading (a message id, translated when shown).
    pub title: std::borrow::Cow<'static, str>,
    /// Where "See all" goes (a route name).
    pub route: std::borrow::Cow<'static, str>,
    /// The entries.
    pub items: Vec<HomeItem>,
}

/// One entry of a [`HomeSection`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HomeItem {
    /// The text of the link.
    pub title: String,
    /// Its path.
    pub path: String,
    /// A short line under it (a date, a price), already translated.
    pub meta: String,
    /// A small picture beside it (a thumbnail's address), if any.
    #[serde(default)]
    pub image: Option<String>,
}

/// A page listed in `/sitemap.xml` (Django's `Sitemap` item).
#[derive(Debug, Clone, PartialEq)]
pub struct SitemapEntry {
    /// The page's path (`/blog/2026/3/7/hello/`).
    pub path: String,
    /// When the page last changed.
    pub lastmod: Option<chrono::DateTime<chrono::Utc>>,
    /// How often it changes (`weekly`).
    pub changefreq: Option<&'static str>,
    /// Its priority relative to the site's other pages (0.0 to 1.0).
    pub priority: Option<f32>,
}

/// A size of demo data an app's seeder understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSize {
    /// The option's name: `posts` for `--posts N`.
    pub name: &'static str,
    /// What it counts, for `seed --help`.
    pub help: &'static str,
    /// The number used when the option is not given.
    pub default: u64,
}

/// A small, fast, reproducible random source for demo data (xorshift64*): seeded with a fixed
/// number, a seeder makes the same data at every run.
#[derive(Debug, Clone)]
pub struct SeedDice(pub u64);

impl SeedDice {
    /// The next number.
    pub fn roll(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.roll() % n.max(1) as u64) as usize
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// How much demo data to create.
#[derive(Debug, Clone, Default)]
pub struct SeedOptions {
    /// Sizes by name (`posts` → 1000), as given on the command line.
    pub sizes: Vec<(String, u64)>,
}

impl SeedOptions {
    /// The size named `name`, or `default`.
    pub fn size(&self, name: &str, default: u64) -> u64 {
        self.sizes.iter().find(|(n, _)| n == name).map_or(default, |(_, v)| *v)
    }
}

/// What a seeder created, for the report.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    /// Lines such as "3 users".
    pub created: Vec<String>,
    /// Things to tell the person (demo sign-in details).
    pub notes: Vec<String>,
}

/// What answers a request for an address no route has, under a path prefix an app owns (the
/// admin sends visitors who are not staff to its sign-in page rather than say which of its
/// addresses exist). Contributed with [`AppRegistry::add`], it covers the paths under the
/// contributing app's mount point; the longest one wins, and elsewhere the answer is 404.
#[derive(Clone, Copy)]
pub struct Fallback {
    /// Answers the request.
    pub answer: fn(CoreState, axum::extract::Request) -> BoxFuture<'static, axum::response::Response>,
}

impl fmt::Debug for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fallback").finish_non_exhaustive()
    }
}

/// Work an app runs beside the web server ([`App::start_background`]): what stops it.
pub struct BackgroundTask {
    stop: Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>,
}

impl BackgroundTask {
    /// A task stopped by `stop` (which waits for it to finish).
    pub fn new(stop: impl FnOnce() -> BoxFuture<'static, ()> + Send + 'static) -> Self {
        Self { stop: Box::new(stop) }
    }

    /// Stops the task and waits for it.
    pub async fn stop(self) {
        (self.stop)().await;
    }
}

impl fmt::Debug for BackgroundTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundTask").finish_non_exhaustive()
    }
}

/// A `quartet` subcommand brought by an app.
pub struct AppCommand {
    /// The clap definition (name, arguments, help).
    pub command: clap::Command,
    /// Whether the command logs at the configured level (a long-running command such as
    /// `worker`); otherwise only warnings are logged, so its own output stays readable.
    pub logs: bool,
    /// Runs the command on a connected, migrated site.
    pub run: fn(CoreState, clap::ArgMatches) -> BoxFuture<'static, anyhow::Result<()>>,
}

impl fmt::Debug for AppCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCommand").field("name", &self.command.get_name()).finish_non_exhaustive()
    }
}
