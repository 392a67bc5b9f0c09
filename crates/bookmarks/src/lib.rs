//! The bookmarks site (reference-apps.md §2): images bookmarked from other sites with a
//! bookmarklet, likes, follows, an activity stream, view counts and a ranking.

pub mod actions;
pub mod migrations;
pub mod models;

use quartet_kernel::app::{App, AppRegistry, CoreState};
use quartet_kernel::models::ModelDef;
use quartet_kernel::urls::{Routes, RoutesBuilder};

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

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new().with_state(core.clone())
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
            );
    }
}
