//! Two instances of one deployment (two sites on one database) sharing a cache server: a
//! change made through one is on the other's cached pages at once.

use quartet_core::config::{CacheBackendKind, Secret};
use quartet_testkit::{TestSiteBuilder, dbtest, service_url};

use crate::support::*;

/// The blog with its cache on the Redis server of the tests.
fn on_redis() -> TestSiteBuilder {
    blog_site().settings(|s| {
        s.cache.backend = CacheBackendKind::Redis;
        s.redis.url = Secret::new(service_url("QUARTET_TEST_REDIS_URL").unwrap_or_default());
    })
}

/// The blog with its cache on the Memcached server of the tests.
fn on_memcached() -> TestSiteBuilder {
    blog_site().settings(|s| {
        s.cache.backend = CacheBackendKind::Memcached;
        s.cache.url = Secret::new(service_url("QUARTET_TEST_MEMCACHED_URL").unwrap_or_default());
    })
}

/// B serves its cached pages; a comment posted on A, and a post changed in A's admin, show on B
/// at once.
async fn changes_on_one_show_on_the_other(a: &quartet_testkit::TestSite, b: &quartet_testkit::TestSite) {
    let post = add_post(a, NewPost::published("Shared", at(0)).tags(&["Rust"])).await;
    let (reader_a, reader_b) = (a.client(), b.client());
    let path = post.path(&a.core);
    // A makes the pages; B reads them from the shared cache without one query.
    assert!(reader_a.get(&path).await.texts(".comment .info").is_empty());
    reader_a.get("/blog/").await;
    let before = b.core.queries.total();
    assert!(reader_b.get(&path).await.texts(".comment .info").is_empty());
    reader_b.get("/blog/").await;
    assert_eq!(b.core.queries.total() - before, 0, "B's pages come from the shared cache");

    let page = reader_a
        .post_form(
            &format!("/blog/{}/comment/", post.id),
            &[("name", "Ann"), ("email", "ann@example.com"), ("body", "Seen on B?")],
        )
        .await;
    assert_eq!(page.text("h2"), "Your comment has been added.");
    let on_b = reader_b.get(&path).await;
    assert_eq!(on_b.text(".comments h2"), "1 comment");
    assert!(on_b.texts(".comment .info")[0].starts_with("Comment 1 by Ann"), "{:?}", on_b.texts(".comment .info"));
    assert_eq!(reader_b.get("/blog/").await.texts(".most-commented a"), ["Shared"]);

    let (staff, _) = a.superuser_client("editor").await;
    let author = author(a).await.to_string();
    let fields = [
        ("title", "Renamed on A"),
        ("slug", "shared"),
        ("author_id", author.as_str()),
        ("body", "Some text."),
        ("publish", "2026-03-07T10:00"),
        ("status", "PB"),
        ("tags", "Rust"),
    ];
    let saved = staff.post_form(&format!("/admin/blog/post/{}/change/", post.id), &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(titles(&reader_b.get("/blog/").await).contains(&"Renamed on A".to_owned()), "B's list shows A's change");
}

dbtest! { needs quartet_redis = "QUARTET_TEST_REDIS_URL"; using on_redis();
    async fn two_instances_on_one_redis_see_each_others_changes_at_once(site) {
        let other = on_redis().start_on(site.database()).await;
        changes_on_one_show_on_the_other(&site, &other).await;
    }
}

dbtest! { needs quartet_memcached = "QUARTET_TEST_MEMCACHED_URL"; using on_memcached();
    async fn two_instances_on_one_memcached_see_each_others_changes_at_once(site) {
        let other = on_memcached().start_on(site.database()).await;
        changes_on_one_show_on_the_other(&site, &other).await;
    }
}
