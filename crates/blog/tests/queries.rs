//! Every blog page runs a fixed number of database queries whatever the data size (lists load
//! tags and authors for the whole page at once), and none at all once its data is cached.

use quartet_testkit::{TestClient, TestSite, dbtest};

use crate::support::{NewPost, add_comment, add_post, at};

/// The pages and the statements each runs for a visitor who is not signed in, with a cold
/// cache and with a warm one.
const PAGES: &[(&str, u64, u64)] = &[
    // one statement: the page's posts with their authors and tags, the count and the sidebar
    ("/blog/", 1, 0),
    ("/blog/?page=2", 1, 0),
    // past the end: the first statement finds the count, a second reads the last page
    ("/blog/?page=99", 2, 0),
    // the tag, then as the list (which also counts all the posts, for the sidebar)
    ("/blog/tag/topic-1/", 2, 0),
    // post, similar ids, similar posts, tags + authors of all five; comment count, comments;
    // sidebar (its count and lists in one statement)
    ("/blog/2026/3/7/post-0/", 8, 0),
    // sidebar; ranked matches, misspelling candidates; the page's posts, tags, authors
    ("/blog/search/?query=words", 6, 0),
    ("/blog/feed/", 1, 0),
    // posts, tags
    ("/sitemap.xml", 2, 0),
    // the blog's latest posts; in development the demo-data offer also counts the users
    ("/", 2, 1),
];

async fn queries_of(site: &TestSite, client: &TestClient, path: &str) -> u64 {
    let before = site.core.queries.total();
    let page = client.get(path).await;
    assert_eq!(page.status, 200, "{path}");
    site.core.queries.total() - before
}

/// Adds posts `from..to`, each with three of five tags and three comments.
async fn add_posts(site: &TestSite, from: i64, to: i64) {
    const TAGS: [&str; 5] = ["Topic 0", "Topic 1", "Topic 2", "Topic 3", "Topic 4"];
    for i in from..to {
        let title = format!("Post {i}");
        let tags: Vec<&str> = (0..3).map(|k| TAGS[(i as usize + k) % TAGS.len()]).collect();
        let post = add_post(site, NewPost::published(&title, at(i)).body("Some words about words.").tags(&tags)).await;
        for c in 0..3 {
            add_comment(site, post.id, &format!("Reader{c}"), "Nice words.", true).await;
        }
    }
}

/// Each page's statements with a cold cache, then with a warm one.
async fn counts(site: &TestSite) -> Vec<(u64, u64)> {
    let client = site.client();
    let mut out = Vec::new();
    for (path, _, _) in PAGES {
        site.core.cache.clear().await;
        let cold = queries_of(site, &client, path).await;
        let warm = queries_of(site, &client, path).await;
        out.push((cold, warm));
    }
    out
}

dbtest! { using crate::support::blog_site();
    async fn each_page_runs_a_fixed_number_of_queries_and_none_when_cached(site) {
        add_posts(&site, 0, 6).await;
        let small = counts(&site).await;
        add_posts(&site, 6, 60).await;
        let large = counts(&site).await;
        for (((path, cold, warm), small), large) in PAGES.iter().zip(&small).zip(&large) {
            assert_eq!(small.0, *cold, "{path}: statements with 6 posts");
            assert_eq!(large.0, *cold, "{path}: statements with 60 posts");
            assert_eq!((small.1, large.1), (*warm, *warm), "{path}: statements when cached");
        }
    }
}

dbtest! { using crate::support::blog_site();
    async fn a_signed_in_reader_adds_only_the_session_and_the_favourite(site) {
        add_posts(&site, 0, 3).await;
        let (client, _) = site.signed_in_client("reader").await;
        let path = "/blog/2026/3/7/post-0/";
        client.get(path).await;
        client.get("/blog/").await;
        let warm = queries_of(&site, &client, path).await;
        let list = queries_of(&site, &client, "/blog/").await;
        // The session and its user, the same on every page; the favourite only on a post.
        assert_eq!(warm, list + 1, "a post's page adds the favourite to what every page needs");
        assert!(list <= 2, "signed-in pages read the session and the user, not more: {list}");
    }
}

dbtest! { using crate::support::blog_site();
    async fn a_comment_or_an_admin_change_shows_at_once_despite_the_cache(site) {
        add_posts(&site, 0, 1).await;
        let client = site.client();
        let path = "/blog/2026/3/7/post-0/";
        assert_eq!(client.get(path).await.text(".comments h2"), "3 comments");
        assert_eq!(client.get("/blog/").await.texts(".post-card h2 a"), ["Post 0"]);

        let added = client
            .post_form("/blog/1/comment/", &[("name", "Ann"), ("email", "ann@example.com"), ("body", "Fresh thought.")])
            .await;
        assert_eq!(added.status, 200);
        let page = client.get(path).await;
        assert_eq!(page.text(".comments h2"), "4 comments");
        assert!(page.body.contains("Fresh thought."));

        // A change through the admin is seen on the next request too.
        let admin = site.superuser_client("boss").await.0;
        let author = crate::support::author(&site).await.to_string();
        let fields = [
            ("title", "Renamed post"),
            ("slug", "post-0"),
            ("author_id", author.as_str()),
            ("body", "Some words about words."),
            ("publish", "2026-03-07T10:00"),
            ("status", "PB"),
            ("tags", "Topic 0"),
        ];
        let saved = admin.post_form("/admin/blog/post/1/change/", &fields).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert_eq!(client.get("/blog/").await.texts(".post-card h2 a"), ["Renamed post"]);
        assert_eq!(client.get(path).await.heading(), "Renamed post");
    }
}
