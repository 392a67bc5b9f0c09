//! The `App` trait: how an application plugs into the site.
//!
//! An app is one value that brings its routes, migrations, models (for permissions and
//! `dumpdata`), navigation links, static files, translations, commands and demo data. The
//! server lists the installed apps in order; core's own `accounts` app is always first.

use std::borrow::Cow;
use std::fmt;

use futures_util::future::BoxFuture;

use crate::db::Migration;
use crate::models::ModelDef;
use crate::state::CoreState;
use crate::urls::Routes;

/// An application of the site.
#[async_trait::async_trait]
pub trait App: Send + Sync + 'static {
    /// Short label: table prefix, template folder, route-name namespace (`"blog"`).
    fn label(&self) -> &'static str;

    /// Human-readable name (`"Blog"`).
    fn name(&self) -> &'static str;

    /// The app's routes with its state applied.
    fn routes(&self, core: &CoreState) -> Routes;

    /// Schema changes, oldest first.
    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        Vec::new()
    }

    /// The app's models: each gets view/add/change/delete permissions and is moved by
    /// `dumpdata`/`loaddata`.
    fn models(&self) -> Vec<ModelDef> {
        Vec::new()
    }

    /// Links in the site header.
    fn nav_links(&self) -> Vec<NavLink> {
        Vec::new()
    }

    /// Files served under `/static/` (paths relative to the app's `static` folder).
    fn static_files(&self) -> Vec<StaticFile> {
        Vec::new()
    }

    /// Translation catalogs (`.po` files) of the app's texts.
    fn translations(&self) -> Vec<Translation> {
        Vec::new()
    }

    /// Models registered with the admin, with their list and form options.
    fn admin(&self) -> Vec<crate::admin::ModelAdmin> {
        Vec::new()
    }

    /// The app's own admin pages (dashboards) listed under it on the admin index; the pages
    /// themselves are routes of the app (see [`crate::admin::pages`]).
    fn admin_links(&self) -> Vec<crate::admin::AdminLink> {
        Vec::new()
    }

    /// The app's background job types ([`crate::jobs::JobDef::of`]).
    fn jobs(&self) -> Vec<crate::jobs::JobDef> {
        Vec::new()
    }

    /// Extra `quartet` subcommands.
    fn commands(&self) -> Vec<AppCommand> {
        Vec::new()
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
    /// The route name it points to.
    pub route: &'static str,
    /// Paths starting with this prefix mark the link as current.
    pub prefix: &'static str,
}

/// An app's part of the home page: a heading, a few links and a "see all" link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeSection {
    /// The heading (a message id, translated when shown).
    pub title: &'static str,
    /// Where "See all" goes (a route name).
    pub route: &'static str,
    /// The entries.
    pub items: Vec<HomeItem>,
}

/// One entry of a [`HomeSection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeItem {
    /// The text of the link.
    pub title: String,
    /// Its path.
    pub path: String,
    /// A short line under it (a date, a price), already translated.
    pub meta: String,
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

crate::weigh_fields!(HomeSection { title, route, items });
crate::weigh_fields!(HomeItem { title, path, meta });
crate::weigh_fields!(SitemapEntry { path, lastmod, changefreq, priority });

/// A file shipped with an app.
#[derive(Debug, Clone)]
pub struct StaticFile {
    /// Path under `/static/`, e.g. `css/site.css`.
    pub path: String,
    /// The content.
    pub bytes: Cow<'static, [u8]>,
}

impl StaticFile {
    /// Lists every file of a `rust_embed` folder.
    pub fn all_of<E: rust_embed::RustEmbed>() -> Vec<StaticFile> {
        E::iter()
            .filter_map(|path| E::get(&path).map(|file| StaticFile { path: path.into_owned(), bytes: file.data }))
            .collect()
    }
}

/// One `.po` catalog.
#[derive(Debug, Clone, Copy)]
pub struct Translation {
    /// Language code (`es`).
    pub language: &'static str,
    /// The catalog's text.
    pub po: &'static str,
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

/// A `quartet` subcommand brought by an app.
pub struct AppCommand {
    /// The clap definition (name, arguments, help).
    pub command: clap::Command,
    /// Runs the command on a connected, migrated site.
    pub run: fn(CoreState, clap::ArgMatches) -> BoxFuture<'static, anyhow::Result<()>>,
}

impl fmt::Debug for AppCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCommand").field("name", &self.command.get_name()).finish_non_exhaustive()
    }
}
