//! Helpers: a site with the bookmarks installed.

use quartet_bookmarks::BookmarksApp;
use quartet_testkit::TestSiteBuilder;

/// A site with the bookmarks installed.
pub fn bookmarks_site() -> TestSiteBuilder {
    TestSiteBuilder::new().app(BookmarksApp)
}

use chrono::{Duration, TimeZone, Utc};
use quartet_bookmarks::models::image;
use quartet_testkit::TestSite;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

/// An image of `user_id` written straight to the database, `minutes` after a fixed time.
pub async fn add_image(site: &TestSite, user_id: i64, title: &str, minutes: i64) -> image::Model {
    image::ActiveModel {
        user_id: Set(user_id),
        title: Set(title.to_owned()),
        slug: Set(quartet_core::forms::slugify(title)),
        url: Set(format!("https://example.com/{}.jpg", quartet_core::forms::slugify(title))),
        image: Set(format!("images/2026/03/07/{}.png", quartet_core::forms::slugify(title))),
        description: Set(String::new()),
        created: Set(Utc.with_ymd_and_hms(2026, 3, 7, 10, 0, 0).unwrap() + Duration::minutes(minutes)),
        total_likes: Set(0),
        ..Default::default()
    }
    .insert(&site.core.db)
    .await
    .unwrap()
}
