//! Helpers: a site with the blog, and posts written straight to the database.

use chrono::{DateTime, Duration, TimeZone, Utc};
use quartet_blog::BlogApp;
use quartet_blog::models::{comment, post, status, tag, tagged_post};
use quartet_testkit::{TestSite, TestSiteBuilder};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

/// A site with the blog installed.
pub fn blog_site() -> TestSiteBuilder {
    TestSiteBuilder::new().app(BlogApp)
}

/// 7 March 2026, 10:00 UTC, plus `hours`.
pub fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 7, 10, 0, 0).unwrap() + Duration::hours(hours)
}

/// A post to write.
pub struct NewPost<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub tags: &'a [&'a str],
    pub publish: DateTime<Utc>,
    pub status: &'a str,
}

impl<'a> NewPost<'a> {
    /// A published post.
    pub fn published(title: &'a str, publish: DateTime<Utc>) -> Self {
        Self { title, body: "Some text.", tags: &[], publish, status: status::PUBLISHED }
    }

    pub fn body(mut self, body: &'a str) -> Self {
        self.body = body;
        self
    }

    pub fn tags(mut self, tags: &'a [&'a str]) -> Self {
        self.tags = tags;
        self
    }

    pub fn draft(mut self) -> Self {
        self.status = status::DRAFT;
        self
    }
}

/// The author of test posts (created on first use).
pub async fn author(site: &TestSite) -> i64 {
    use quartet_core::auth::models::user;
    if let Some(u) = user::Entity::find().filter(user::Column::Username.eq("writer")).one(&site.core.db).await.unwrap()
    {
        return u.id;
    }
    site.create_user("writer", "correct-horse-battery").await.id
}

/// Writes a post with its tags (created as needed).
pub async fn add_post(site: &TestSite, new: NewPost<'_>) -> post::Model {
    let db = &site.core.db;
    let author_id = author(site).await;
    let mut row = post::ActiveModel {
        title: Set(new.title.to_owned()),
        author_id: Set(author_id),
        body: Set(new.body.to_owned()),
        publish: Set(new.publish),
        status: Set(new.status.to_owned()),
        ..Default::default()
    };
    post::RULES.apply(&mut row, new.publish, true).unwrap();
    let saved = row.insert(db).await.unwrap();
    for name in new.tags {
        let slug = quartet_core::forms::slugify(name);
        let existing = tag::Entity::find().filter(tag::Column::Slug.eq(&slug)).one(db).await.unwrap();
        let tag = match existing {
            Some(t) => t,
            None => tag::ActiveModel { name: Set((*name).to_owned()), slug: Set(slug), ..Default::default() }
                .insert(db)
                .await
                .unwrap(),
        };
        tagged_post::ActiveModel { post_id: Set(saved.id), tag_id: Set(tag.id), ..Default::default() }
            .insert(db)
            .await
            .unwrap();
    }
    saved
}

/// Writes a comment, as the comment form does (the post's count follows through the blog's
/// event).
pub async fn add_comment(site: &TestSite, post: i64, name: &str, body: &str, active: bool) -> comment::Model {
    let now = site.core.now();
    let tx = site.core.db.begin().await.unwrap();
    let saved = comment::ActiveModel {
        post_id: Set(post),
        name: Set(name.to_owned()),
        email: Set(format!("{}@example.com", name.to_lowercase())),
        body: Set(body.to_owned()),
        created: Set(now),
        updated: Set(now),
        active: Set(active),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .unwrap();
    quartet_blog::counts::changed(&site.core, &tx, vec![post]).await.unwrap();
    tx.commit().await.unwrap();
    saved
}

/// Post titles shown on a list page, in order.
pub fn titles(page: &quartet_testkit::TestResponse) -> Vec<String> {
    page.texts(".post-card h2 a")
}
