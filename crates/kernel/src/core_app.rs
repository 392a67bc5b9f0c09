//! The `core` app: the home page, the language switch, demo data, and the tables of sessions
//! and rate limits. Always installed, before every other app.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use clap::Command;
use futures_util::FutureExt;
use sea_orm::sea_query::{ColumnDef, Index, Table};
use sea_orm::{DbErr, EntityTrait, PaginatorTrait};

use crate::app::{App, AppCommand, AppRegistry, CoreState, Registry, SeedOptions, SeedReport, StaticFile, Translation};
use crate::db::{Migration, Schema, timestamp, timestamp_null};
use crate::error::{Error, Result};
use crate::session::flash::Flash;
use crate::templates::{PageContext, render};
use crate::urls::{Routes, RoutesBuilder};

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct CoreStatic;

/// The site shell.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreApp;

#[async_trait::async_trait]
impl App for CoreApp {
    fn label(&self) -> &'static str {
        "core"
    }

    fn name(&self) -> &'static str {
        "Site"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("home", "", get(home))
            // No CSRF token: the worst a forged request does is change the visitor's language,
            // and a form without a token keeps every anonymous page shareable by the caches.
            .csrf_exempt_route("set-language", "i18n/setlang/", post(crate::server::set_language))
            .route("load-demo", "demo/", post(load_demo))
            .route("sitemap", "sitemap.xml", get(sitemap))
            .with_state(core.clone())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.migrations(vec![
            Box::new(Initial),
            Box::new(Jobs),
            crate::db::migration("0003_key_value", key_value),
            crate::db::migration("0004_content_types", content_types),
        ])
        .model(
            crate::models::ModelDef::of::<crate::models::content_types::content_type::Entity>(
                "contenttype",
                "content type",
                "content types",
            )
            .display_field("model")
            .without_permissions()
            .caches(&[]),
        )
        .model(
            crate::models::ModelDef::of::<crate::jobs::job::Entity>("job", "job", "jobs")
                .display_field("name")
                .caches(&[]),
        )
        .static_files(StaticFile::all_of::<CoreStatic>())
        .translation(Translation { language: "es", po: include_str!("../locales/es/LC_MESSAGES/core.po") })
        .command(clearsessions())
        .add(crate::jobs::JobDef::of::<crate::events::EventJob>())
        .provide(crate::jobs::JobSignal::default());
    }

    fn ready(&self, registry: &mut Registry) -> anyhow::Result<()> {
        let types = crate::jobs::JobTypes::collect(registry)?;
        registry.provide(types);
        let handlers = crate::events::Handlers::collect(registry)?;
        registry.provide(handlers);
        Ok(())
    }
}

fn clearsessions() -> AppCommand {
    {
        AppCommand {
            command: Command::new("clearsessions").about("Delete expired sessions"),
            logs: false,
            run: |core, _args| {
                async move {
                    let removed = core.sessions.clear_expired(core.now()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    let limits = core.limiter.purge(core.now() - chrono::Duration::days(1)).await?;
                    println!("Deleted {removed} expired session(s) and {limits} old rate-limit counter(s).");
                    Ok(())
                }
                .boxed()
            },
        }
    }
}

struct Initial;

#[async_trait::async_trait]
impl Migration for Initial {
    fn name(&self) -> &'static str {
        "0001_initial"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        s.create_table(
            Table::create()
                .table("core_session")
                .col(ColumnDef::new("session_key").string_len(40).not_null().primary_key())
                .col(ColumnDef::new("session_data").text().not_null())
                .col(timestamp("expire_date")),
        )
        .await?;
        s.create_index(Index::create().name("core_session_expire_date_idx").table("core_session").col("expire_date"))
            .await?;
        s.create_table(
            Table::create()
                .table("core_rate_limit")
                .col(ColumnDef::new("key").string_len(255).not_null().primary_key())
                .col(timestamp("window_start"))
                .col(ColumnDef::new("count").big_integer().not_null()),
        )
        .await?;
        Ok(())
    }
}

/// The job tables: jobs (the queue and the outbox), their recorded side effects, workers.
/// The key-value store's tables (`kv.backend = "database"`): counters, and the members of
/// sorted sets with their scores, read best first.
fn key_value<'s>(s: &'s Schema<'s>) -> crate::db::MigrationFuture<'s> {
    Box::pin(async move {
        s.create_table(
            Table::create()
                .table("core_kv_counter")
                .col(ColumnDef::new("name").string_len(200).not_null().primary_key())
                .col(ColumnDef::new("value").big_integer().not_null()),
        )
        .await?;
        s.create_table(
            Table::create()
                .table("core_kv_score")
                .col(ColumnDef::new("set_name").string_len(200).not_null())
                .col(ColumnDef::new("member").string_len(200).not_null())
                .col(ColumnDef::new("score").double().not_null())
                .primary_key(Index::create().col("set_name").col("member")),
        )
        .await?;
        s.create_index(
            Index::create().name("core_kv_score_rank_idx").table("core_kv_score").col("set_name").col("score"),
        )
        .await
    })
}

/// `core_content_type`: one row per model label ([`crate::models::content_types`]).
fn content_types<'s>(s: &'s Schema<'s>) -> crate::db::MigrationFuture<'s> {
    Box::pin(async move {
        s.create_table(
            Table::create()
                .table("core_content_type")
                .col(crate::db::id_column())
                .col(ColumnDef::new("app_label").string_len(100).not_null())
                .col(ColumnDef::new("model").string_len(100).not_null()),
        )
        .await?;
        s.create_index(
            Index::create()
                .name("core_content_type_label_unique")
                .table("core_content_type")
                .col("app_label")
                .col("model")
                .unique(),
        )
        .await
    })
}

struct Jobs;

#[async_trait::async_trait]
impl Migration for Jobs {
    fn name(&self) -> &'static str {
        "0002_jobs"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        s.create_table(
            Table::create()
                .table("core_job")
                .col(crate::db::id_column())
                .col(ColumnDef::new("name").string_len(100).not_null())
                .col(ColumnDef::new("queue").string_len(50).not_null())
                .col(ColumnDef::new("payload").text().not_null())
                .col(ColumnDef::new("status").string_len(16).not_null())
                .col(ColumnDef::new("attempts").integer().not_null().default(0))
                .col(ColumnDef::new("max_attempts").integer().not_null())
                .col(timestamp("run_at"))
                .col(timestamp("created_at"))
                .col(timestamp_null("started_at"))
                .col(timestamp_null("finished_at"))
                .col(timestamp_null("heartbeat_at"))
                .col(ColumnDef::new("worker").string_len(100).null())
                .col(ColumnDef::new("last_error").text().not_null().default(""))
                .col(ColumnDef::new("duration_ms").big_integer().null())
                .col(timestamp_null("published_at")),
        )
        .await?;
        // Claiming: due jobs of a queue in order.
        s.create_index(
            Index::create().name("core_job_claim_idx").table("core_job").col("status").col("queue").col("run_at"),
        )
        .await?;
        // Rescue (running, stale heartbeat) and the monitoring page's counts and filters.
        s.create_index(Index::create().name("core_job_worker_idx").table("core_job").col("worker").col("status"))
            .await?;
        s.create_index(Index::create().name("core_job_name_idx").table("core_job").col("name").col("status")).await?;
        // The RabbitMQ relay's outbox scan.
        s.sql("CREATE INDEX core_job_outbox_idx ON core_job (id) WHERE published_at IS NULL").await?;
        s.create_table(
            Table::create()
                .table("core_job_effect")
                .col(ColumnDef::new("key").string_len(200).not_null().primary_key())
                .col(ColumnDef::new("job_id").big_integer().not_null())
                .col(timestamp("created_at")),
        )
        .await?;
        s.create_index(Index::create().name("core_job_effect_job_idx").table("core_job_effect").col("job_id")).await?;
        s.create_table(
            Table::create()
                .table("core_worker")
                .col(ColumnDef::new("id").string_len(100).not_null().primary_key())
                .col(ColumnDef::new("queues").text().not_null())
                .col(ColumnDef::new("concurrency").integer().not_null())
                .col(timestamp("started_at"))
                .col(timestamp("heartbeat_at"))
                .col(timestamp_null("stopped_at")),
        )
        .await?;
        Ok(())
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageContext,
    offer_demo: bool,
    sections: Vec<crate::app::HomeSection>,
    /// The header links of apps that have no section of their own on the page.
    tiles: Vec<crate::templates::NavItem>,
}

async fn site_is_empty(core: &CoreState) -> Result<bool> {
    Ok(crate::auth::models::user::Entity::find().count(&core.db).await? == 0)
}

async fn home(ctx: PageContext) -> Result<Response> {
    let core = ctx.core().clone();
    let offer_demo = core.settings.debug && site_is_empty(&core).await?;
    let mut sections = Vec::new();
    for app in &core.registry.installed {
        // Each app's section is cached in the app's namespace.
        let section = core
            .cache
            .get_or_load_in(app.label(), format!("home:{}", ctx.lang()), || app.home(&core, ctx.lang()))
            .await
            .map_err(Error::Internal)?;
        if let Some(section) = section.as_ref()
            && !section.items.is_empty()
        {
            sections.push(section.clone());
        }
    }
    let shown: Vec<String> = sections.iter().map(|s| core.url(&s.route)).collect();
    let tiles = ctx.nav().into_iter().filter(|link| !shown.contains(&link.url)).collect();
    render(&HomePage { ctx, offer_demo, sections, tiles })
}

#[derive(Template)]
#[template(path = "sitemap.xml")]
struct SitemapXml {
    urls: Vec<SitemapUrl>,
}

struct SitemapUrl {
    loc: String,
    lastmod: Option<String>,
    changefreq: Option<&'static str>,
    priority: Option<String>,
}

/// `/sitemap.xml`: every installed app's pages, with absolute URLs. The XML is kept whole per
/// link base, in the namespaces of every app, so a change in any app makes it anew (the sitemap
/// of 1,000 posts is ~190 KB: made per request, it took most of the CPU).
async fn sitemap(State(core): State<CoreState>, host: crate::http::host::RequestHost) -> Result<Response> {
    let (scheme, domain) = host.link_base(&core.settings);
    let labels: Vec<&str> = core.registry.apps.iter().map(|app| app.label).collect();
    let key = format!("sitemap.xml:{scheme}://{domain}");
    let body = core.cache.get_or_load_for(&labels, key, || sitemap_xml(&core, &host)).await?;
    let body = String::clone(&body);
    Ok(([(axum::http::header::CONTENT_TYPE, "application/xml; charset=utf-8")], body).into_response())
}

async fn sitemap_xml(core: &CoreState, host: &crate::http::host::RequestHost) -> Result<String> {
    let mut urls = Vec::new();
    for app in &core.registry.installed {
        let entries = app.sitemap(core).await.map_err(Error::Internal)?;
        urls.extend(entries.iter().map(|e| SitemapUrl {
            loc: host.absolute(&core.settings, &e.path),
            lastmod: e.lastmod.map(|t| t.format("%Y-%m-%d").to_string()),
            changefreq: e.changefreq,
            priority: e.priority.map(|p| format!("{p:.1}")),
        }));
    }
    Ok(SitemapXml { urls }.render()?)
}

/// What every app's seeder did, app by app in installed order.
#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    /// Each app that created something or has something to say: its name and report.
    pub apps: Vec<(&'static str, SeedReport)>,
}

impl SeedSummary {
    /// Everything created, across apps ("4 users", "12 blog posts").
    pub fn created(&self) -> Vec<String> {
        self.apps.iter().flat_map(|(_, r)| r.created.iter().cloned()).collect()
    }

    /// Every note, across apps.
    pub fn notes(&self) -> Vec<String> {
        self.apps.iter().flat_map(|(_, r)| r.notes.iter().cloned()).collect()
    }

    /// One line per app that created something: `Blog: created 12 blog posts, 10 tags.`
    pub fn lines(&self) -> Vec<String> {
        self.apps
            .iter()
            .filter(|(_, r)| !r.created.is_empty())
            .map(|(name, r)| format!("{name}: created {}.", r.created.join(", ")))
            .collect()
    }
}

/// Runs every installed app's seeder in installed order.
pub async fn seed_all(core: &CoreState, options: &SeedOptions) -> anyhow::Result<SeedSummary> {
    let mut summary = SeedSummary::default();
    for app in &core.registry.installed {
        let part = app.seed(core, options).await.map_err(|e| anyhow::anyhow!("seeding {}: {e}", app.label()))?;
        if !part.created.is_empty() || !part.notes.is_empty() {
            summary.apps.push((app.name(), part));
        }
    }
    if !summary.apps.is_empty()
        && let Err(e) = crate::db::refresh_statistics(&core.db).await
    {
        // The data is in; only the planner's statistics wait for autovacuum.
        tracing::warn!(error = %e, "could not refresh the database statistics after seeding");
    }
    Ok(summary)
}

/// `POST /demo/`: loads demo data into an empty site (development profile only).
async fn load_demo(ctx: PageContext, flash: Flash) -> Result<Response> {
    let core = ctx.core().clone();
    if !core.settings.debug {
        return Err(Error::NotFound);
    }
    if !site_is_empty(&core).await? {
        flash.info(ctx.t("The site already has data; demo data was not loaded.")).await?;
        return Ok(Redirect::to("/").into_response());
    }
    let report = seed_all(&core, &SeedOptions::default()).await.map_err(Error::Internal)?;
    let created = report.created().join(", ");
    flash.success(ctx.t1("Demo data loaded: {created}.", "created", &created)).await?;
    // On the console too, for whoever started the server (the flash message is shown once).
    crate::console::say(&format!("Demo data loaded: {created}."));
    for note in report.notes() {
        crate::console::say(&note);
        flash.info(note).await?;
    }
    Ok(Redirect::to("/").into_response())
}
