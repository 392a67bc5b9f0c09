//! The blog: Markdown posts with tags, comments, share by e-mail, an RSS feed, the sitemap and
//! ranked, typo-tolerant search (see docs/BLOG.md).

pub mod admin;
pub mod counts;
pub mod markdown;
pub mod migrations;
pub mod models;
pub mod queries;
pub mod search;
pub mod seed;
pub mod settings;
pub mod views;

use axum::routing::{get, post};
use quartet_kernel::app::{
    App, AppRegistry, CoreState, HomeItem, HomeSection, NavLink, SeedOptions, SeedReport, SeedSize, SitemapEntry,
    StaticFile, Translation,
};
use quartet_kernel::models::ModelDef;
use quartet_kernel::urls::{Routes, RoutesBuilder};

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct BlogStatic;

/// The blog app.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlogApp;

#[async_trait::async_trait]
impl App for BlogApp {
    fn label(&self) -> &'static str {
        "blog"
    }

    fn name(&self) -> &'static str {
        "Blog"
    }

    fn mount(&self) -> &'static str {
        "/blog/"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("post-list", "", get(views::post_list))
            .route("post-list-by-tag", "tag/{tag_slug}/", get(views::post_list_by_tag))
            .route("post-detail", "{year}/{month}/{day}/{post}/", get(views::post_detail))
            .route("post-share", "{post_id}/share/", get(views::post_share_form).post(views::post_share_submit))
            .route("post-comment", "{post_id}/comment/", post(views::post_comment))
            // The whole feed is kept per host by the per-view cache (`cache.view_seconds`).
            .route("post-feed", "feed/", get(views::post_feed).layer(quartet_kernel::server::cache_page(core, None)))
            .route("post-search", "search/", get(views::post_search))
            .route("add-favourite", "favourite/add/{post_id}/", post(views::add_favourite))
            .route("remove-favourite", "favourite/remove/{post_id}/", post(views::remove_favourite))
            .route("favourites", "favourites/", get(views::favourites))
            .with_state(core.clone())
    }

    fn settings(&self) -> Option<quartet_kernel::config::SettingsSection> {
        Some(quartet_kernel::config::SettingsSection::of::<settings::BlogSettings>())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.migrations(migrations::all())
            .model(
                ModelDef::of::<models::post::Entity>("post", "post", "posts")
                    .display_field("title")
                    .with_rules(models::post::RULES)
                    // The count kept by the handlers is shown with the comments only.
                    .caches_when_only(&["active_comments"], &[views::COMMENTS_CACHE]),
            )
            .model(
                ModelDef::of::<models::comment::Entity>("comment", "comment", "comments")
                    .display_field("name")
                    .with_rules(models::comment::RULES)
                    .caches(&[views::COMMENTS_CACHE]),
            )
            .model(
                ModelDef::of::<models::tag::Entity>("tag", "tag", "tags")
                    .display_field("name")
                    .with_rules(models::tag::RULES),
            )
            .model(ModelDef::of::<models::tagged_post::Entity>("taggedpost", "tagged post", "tagged posts"))
            .model(
                ModelDef::of::<models::favourite::Entity>("favourite", "favourite post", "favourite posts")
                    .with_rules(models::favourite::RULES)
                    // Read per request, never cached.
                    .caches(&[]),
            )
            .nav(NavLink::new("Blog", "blog:post-list"))
            .static_files(StaticFile::all_of::<BlogStatic>())
            .translation(Translation { language: "es", po: include_str!("../locales/es/LC_MESSAGES/blog.po") })
            .add(quartet_kernel::jobs::JobDef::of::<views::SharePostJob>());
        for handler in counts::handlers() {
            app.add(handler);
        }
        for registration in admin::registrations() {
            app.add(registration);
        }
    }

    async fn home(&self, core: &CoreState, lang: &str) -> anyhow::Result<Option<HomeSection>> {
        use sea_orm::QuerySelect;
        let posts = queries::published().limit(3).all(&core.db).await?;
        Ok(Some(HomeSection {
            title: "Latest posts".into(),
            route: "blog:post-list".into(),
            items: posts
                .into_iter()
                .map(|p| HomeItem {
                    path: p.path(core),
                    meta: quartet_kernel::i18n::format_date(p.publish, lang),
                    title: p.title,
                    image: None,
                })
                .collect(),
        }))
    }

    async fn sitemap(&self, core: &CoreState) -> anyhow::Result<Vec<SitemapEntry>> {
        let mut entries: Vec<SitemapEntry> = queries::sitemap_posts(core)
            .await?
            .into_iter()
            .map(|(path, updated)| SitemapEntry {
                path,
                lastmod: Some(updated),
                changefreq: Some("weekly"),
                priority: Some(0.9),
            })
            .collect();
        entries.extend(queries::sitemap_tags(&core.db).await?.into_iter().map(|(slug, updated)| SitemapEntry {
            path: core.url_with("blog:post-list-by-tag", &[&slug]),
            lastmod: Some(updated),
            changefreq: Some("weekly"),
            priority: Some(0.6),
        }));
        Ok(entries)
    }

    async fn seed(&self, core: &CoreState, options: &SeedOptions) -> anyhow::Result<SeedReport> {
        seed::seed(core, options).await
    }

    fn seed_sizes(&self) -> Vec<SeedSize> {
        seed::SIZES.to_vec()
    }
}
