//! The dashboard's bookmarks panel: the count, the bookmarklet button on this site's address,
//! and the activity stream (followed people's actions, else everyone's but one's own) in a fixed
//! number of queries.

use chrono::Utc;
use quartet_bookmarks::actions::{Target, create_action};
use quartet_bookmarks::models::verbs;
use quartet_testkit::{TestSite, dbtest};

use crate::support::{add_image, bookmarks_site};

/// The statements the dashboard runs.
async fn dashboard_queries(
    site: &TestSite,
    client: &quartet_testkit::TestClient,
) -> (u64, quartet_testkit::TestResponse) {
    let before = site.core.queries.total();
    let page = client.get("/account/").await;
    assert_eq!(page.status, 200);
    (site.core.queries.total() - before, page)
}

dbtest! { using bookmarks_site();
    async fn the_dashboard_shows_the_count_the_bookmarklet_and_the_stream(site) {
        let (client, ana) = site.signed_in_client("ana").await;
        let ben = site.create_user("ben", "correct-horse-battery").await;
        let cid = site.create_user("cid", "correct-horse-battery").await;
        add_image(&site, ana.id, "Mine", 0).await;
        let bens = add_image(&site, ben.id, "Ben's cat", 1).await;

        let page = client.get("/account/").await;
        assert_eq!(page.text(".image-count"), "You have bookmarked 1 image.");
        let launcher = page.attrs("a.bookmarklet", "href").pop().unwrap();
        assert!(launcher.starts_with("javascript:"), "{launcher}");
        assert!(launcher.contains(&format!("'{}/static/bookmarks/bookmarklet.js?r='", site.url("").trim_end_matches('/'))), "{launcher}");
        assert!(launcher.contains(r#""select":"Select an image to bookmark:""#), "the box's texts: {launcher}");
        let spanish = client.get_with_headers("/account/", &[("accept-language", "es")]).await.attrs("a.bookmarklet", "href").pop().unwrap();
        assert!(spanish.contains(r#""select":"Selecciona una imagen para guardarla:""#), "in the page's language: {spanish}");
        assert_eq!(page.text("#action-list"), "Nothing has happened yet. Follow people to see what they do.");

        let db = &site.core.db;
        let now = Utc::now();
        create_action(db, now, ana.id, verbs::BOOKMARKED, Some(Target { label: "bookmarks.image", id: 1 })).await.unwrap();
        create_action(db, now, ben.id, verbs::BOOKMARKED, Some(Target { label: "bookmarks.image", id: bens.id })).await.unwrap();
        create_action(db, now, cid.id, verbs::FOLLOWING, Some(Target { label: "accounts.user", id: ben.id })).await.unwrap();
        create_action(db, now, cid.id, verbs::REGISTERED, None).await.unwrap();
        let (small, page) = dashboard_queries(&site, &client).await;
        // Following nobody: everyone's but one's own, newest first.
        let items = page.texts("#action-list .action .info p:last-child");
        assert_eq!(items, ["Cid has created an account", "Cid is following Ben", "Ben bookmarked image Ben's cat"]);
        assert_eq!(page.texts("#action-list .date")[0], "0 minutes ago");
        assert_eq!(page.attrs("#action-list .action a img.item-img", "src").len(), 1, "the image target's picture");

        // Following Ben: only Ben's actions.
        client.post_form("/account/users/follow/", &[("id", &ben.id.to_string()), ("action", "follow")]).await;
        let page = client.get("/account/").await;
        assert_eq!(page.texts("#action-list .action .info p:last-child"), ["Ben bookmarked image Ben's cat"]);

        // More actions of every kind: the same number of statements, ten shown.
        for i in 0..12 {
            let image = add_image(&site, ben.id, &format!("Image {i}"), 10 + i).await;
            create_action(db, now, ben.id, verbs::BOOKMARKED, Some(Target { label: "bookmarks.image", id: image.id })).await.unwrap();
        }
        create_action(db, now, ben.id, verbs::FOLLOWING, Some(Target { label: "accounts.user", id: ana.id })).await.unwrap();
        client.post_form("/account/users/follow/", &[("id", &ben.id.to_string()), ("action", "unfollow")]).await;
        let (large, page) = dashboard_queries(&site, &client).await;
        assert_eq!(page.texts("#action-list .action").len(), 10);
        assert_eq!(large, small, "statements with 4 actions and with 17");

        let spanish = client.get_with_headers("/account/", &[("accept-language", "es")]).await;
        assert_eq!(spanish.text(".image-count"), "Ha guardado 1 imagen.");
        assert!(spanish.texts("#action-list .date")[0].starts_with("hace "), "{:?}", spanish.texts("#action-list .date"));
    }
}

dbtest! { using bookmarks_site().settings(|s| s.site.base_url = "https://bookmarks.example.org".into());
    async fn the_bookmarklet_uses_the_configured_address_and_names_no_host(site) {
        let (client, _) = site.signed_in_client("ana").await;
        let launcher = client.get("/account/").await.attrs("a.bookmarklet", "href").pop().unwrap();
        assert!(launcher.contains("'https://bookmarks.example.org/static/bookmarks/bookmarklet.js?r='"), "{launcher}");
        let script = client.get("/static/bookmarks/bookmarklet.js").await;
        assert_eq!(script.status, 200);
        assert!(script.body.contains("document.currentScript") && !script.body.contains("127.0.0.1"), "no host in the script");
        assert_eq!(client.get("/static/bookmarks/bookmarklet.css").await.status, 200);
    }
}
