//! The bookmarks site (reference-apps.md §2): images bookmarked from other sites with a
//! bookmarklet, likes, follows, an activity stream, view counts and a ranking.

pub mod actions;
pub mod admin;
pub mod dashboard;
pub mod likes;
pub mod migrations;
pub mod models;
pub mod people;
pub mod seed;
pub mod settings;
pub mod views;

/// The cache namespace of the images and their likes (the app's label): a committed change
/// to them makes the cached image pages stale.
pub const CACHE: &str = "bookmarks";

use axum::routing::{get, post};
use quartet_kernel::app::{
    App, AppRegistry, CoreState, HomeItem, HomeSection, NavLink, SeedOptions, SeedReport, SeedSize, StaticFile,
    Translation,
};
use quartet_kernel::models::ModelDef;
use quartet_kernel::urls::{Routes, RoutesBuilder};

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct BookmarksStatic;

/// The bookmarks app.
#[derive(Debug, Clone, Copy, Default)]
pub struct BookmarksApp;

#[async_trait::async_trait]
impl App for BookmarksApp {
    fn label(&self) -> &'static str {
        "bookmarks"
    }

    fn name(&self) -> &'static str {
        "Bookmarks"
    }

    fn mount(&self) -> &'static str {
        "/images/"
    }

    async fn home(&self, core: &CoreState, lang: &str) -> anyhow::Result<Option<HomeSection>> {
        use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
        let images = models::image::Entity::find()
            .order_by_desc(models::image::Column::Created)
            .order_by_desc(models::image::Column::Id)
            .limit(4)
            .all(&core.db)
            .await?;
        Ok(Some(HomeSection {
            title: "Latest images".into(),
            route: "bookmarks:list".into(),
            items: images
                .into_iter()
                .map(|i| HomeItem {
                    path: views::detail_path(core, &i),
                    meta: quartet_kernel::i18n::format_date(i.created, lang),
                    image: Some(quartet_kernel::thumbnails::url(&i.image, views::sizes::STREAM)),
                    title: i.title,
                })
                .collect(),
        }))
    }

    async fn seed(&self, core: &CoreState, options: &SeedOptions) -> anyhow::Result<SeedReport> {
        seed::seed(core, options).await
    }

    fn seed_sizes(&self) -> Vec<SeedSize> {
        seed::SIZES.to_vec()
    }

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("create", "create/", get(views::create_form).post(views::create_submit))
            .route("detail", "detail/{id}/{slug}/", get(views::detail))
            .route("like", "like/", post(views::like))
            .route("list", "", get(views::image_list))
            .route("ranking", "ranking/", get(views::image_ranking))
            .route("user-list", "/account/users/", get(people::user_list))
            .route("user-follow", "/account/users/follow/", post(people::user_follow))
            .route("user-detail", "/account/users/{username}/", get(people::user_detail))
            .with_state(core.clone())
    }

    fn settings(&self) -> Option<quartet_kernel::config::SettingsSection> {
        Some(quartet_kernel::config::SettingsSection::of::<settings::BookmarksSettings>())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.migrations(migrations::all())
            .model(
                ModelDef::of::<models::image::Entity>("image", "image", "images")
                    .display_field("title")
                    .with_rules(models::image::RULES),
            )
            .model(ModelDef::of::<models::like::Entity>("like", "like", "likes"))
            .model(
                ModelDef::of::<models::contact::Entity>("contact", "contact", "contacts")
                    .with_rules(models::contact::RULES)
                    .caches(&[]),
            )
            .model(
                ModelDef::of::<models::action::Entity>("action", "action", "actions")
                    .display_field("verb")
                    .with_rules(models::action::RULES)
                    .caches(&[]),
            )
            .nav(NavLink::signed_in("Images", "bookmarks:list"))
            .nav(NavLink::signed_in("People", "bookmarks:user-list"))
            .static_files(StaticFile::all_of::<BookmarksStatic>())
            .translation(Translation { language: "es", po: include_str!("../locales/es/LC_MESSAGES/bookmarks.po") });
        app.provide(views::ImageFetcher::default());
        app.add(dashboard::panel());
        for size in views::sizes::ALL.iter().flat_map(|s| s.with_doubled()) {
            app.add(size);
        }
        for registration in admin::registrations() {
            app.add(registration);
        }
        for handler in likes::handlers() {
            app.add(handler);
        }
    }
}
