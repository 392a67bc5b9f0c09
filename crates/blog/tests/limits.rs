//! What an anonymous visitor can make the blog do is bounded (issue 14 §2.7–2.8): share e-mails
//! per address and per recipient, comments per address and by length, comment pages, and a
//! comment empties only its own post's cached pages. And the small fixes of §1.6 that live in
//! the blog: demo comments in the past, the Spanish feed, the home page's tiles.

use quartet_blog::models::comment;
use quartet_testkit::{TestClient, TestSite, dbtest};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::support::{NewPost, add_comment, add_post, at, blog_site};

/// Posts a form as a client at `ip` (the site trusts `X-Forwarded-For`).
async fn post_from(client: &TestClient, ip: &str, path: &str, form: &[(&str, &str)]) -> quartet_testkit::TestResponse {
    let token = client.csrf_token().await;
    let mut fields = vec![("csrfmiddlewaretoken", token.as_str())];
    fields.extend_from_slice(form);
    client
        .send(
            client
                .request(reqwest::Method::POST, path)
                .header("origin", client.origin())
                .header("x-forwarded-for", ip)
                .form(&fields),
        )
        .await
}

fn limited_blog() -> quartet_testkit::TestSiteBuilder {
    blog_site().settings(|s| {
        s.server.trust_forwarded_for = true;
        s.app_mut::<quartet_blog::settings::BlogSettings>().share_emails_per_ip_per_hour = 3;
        s.app_mut::<quartet_blog::settings::BlogSettings>().share_emails_per_recipient_per_hour = 2;
        s.app_mut::<quartet_blog::settings::BlogSettings>().share_comment_max_length = 50;
        s.app_mut::<quartet_blog::settings::BlogSettings>().comments_per_ip_per_hour = 3;
        s.app_mut::<quartet_blog::settings::BlogSettings>().comment_max_length = 100;
        s.app_mut::<quartet_blog::settings::BlogSettings>().comments_per_page = 2;
    })
}

fn share(to: &str) -> Vec<(&'static str, String)> {
    vec![("name", "Eve".into()), ("email", "eve@example.com".into()), ("to", to.into()), ("comments", "Read it".into())]
}

async fn share_from(client: &TestClient, ip: &str, path: &str, to: &str) -> quartet_testkit::TestResponse {
    let form = share(to);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_from(client, ip, path, &pairs).await
}

dbtest! { using limited_blog();
    async fn share_by_e_mail_is_no_open_relay(site) {
        let post = add_post(&site, NewPost::published("Good read", at(0))).await;
        let path = format!("/blog/{}/share/", post.id);
        let client = site.client();
        client.get(&path).await;
        // Per address: three in an hour, to different people.
        for n in 0..3 {
            let page = share_from(&client, "10.0.0.1", &path, &format!("friend{n}@example.com")).await;
            assert_eq!(page.heading(), "E-mail successfully sent", "{n}");
        }
        let refused = share_from(&client, "10.0.0.1", &path, "friend9@example.com").await;
        assert_eq!(refused.status, 429);
        assert!(refused.body.contains("You have shared too many posts by e-mail in the last hour."), "{}", refused.body);
        assert!(refused.body.contains("You can try again in 60 minutes."), "{}", refused.body);
        assert!(refused.header("retry-after").is_some());
        assert_eq!(site.outbox().len(), 3, "the refused one sent nothing");

        // Per recipient: two in an hour, whoever sends them.
        assert_eq!(share_from(&client, "10.0.0.2", &path, "Target@example.com").await.status, 200);
        assert_eq!(share_from(&client, "10.0.0.3", &path, "target@example.com").await.status, 200);
        let flooded = share_from(&client, "10.0.0.4", &path, "target@example.com").await;
        assert_eq!(flooded.status, 429);
        assert!(flooded.body.contains("This address has received too many recommendations"), "{}", flooded.body);
        assert_eq!(site.outbox().len(), 5);

        // The comments of a share e-mail are capped: the limit passes, one more is an error.
        let exact = "x".repeat(50);
        let form = [("name", "Eve"), ("email", "eve@example.com"), ("to", "pal@example.com"), ("comments", exact.as_str())];
        assert_eq!(post_from(&client, "10.0.0.5", &path, &form).await.heading(), "E-mail successfully sent");
        let long = "x".repeat(51);
        let form = [("name", "Eve"), ("email", "eve@example.com"), ("to", "pal2@example.com"), ("comments", long.as_str())];
        let page = post_from(&client, "10.0.0.6", &path, &form).await;
        assert_eq!(page.form_errors(), ["Ensure this value has at most 50 characters (it has 51)."]);
        assert_eq!(page.attrs("#id_comments", "maxlength"), ["50"]);
        site.clock.advance(chrono::Duration::minutes(61));
        assert_eq!(share_from(&client, "10.0.0.1", &path, "friend9@example.com").await.status, 200, "a new hour");
    }
}

dbtest! { using limited_blog().settings(|s| s.app_mut::<quartet_blog::settings::BlogSettings>().share_requires_login = true);
    async fn sharing_can_be_kept_to_signed_in_users(site) {
        let post = add_post(&site, NewPost::published("Members only", at(0))).await;
        let path = format!("/blog/{}/share/", post.id);
        let anonymous = site.client();
        let page = anonymous.get(&path).await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location(), Some(format!("/account/login/?next=%2Fblog%2F{}%2Fshare%2F", post.id).as_str()));
        assert_eq!(share_from(&anonymous, "10.0.0.1", &path, "a@example.com").await.status, 303);
        assert!(site.outbox().is_empty());
        let (member, _) = site.signed_in_client("member").await;
        assert_eq!(member.get(&path).await.status, 200);
        assert_eq!(share_from(&member, "10.0.0.1", &path, "a@example.com").await.heading(), "E-mail successfully sent");
    }
}

async fn comment_from(client: &TestClient, ip: &str, post: i64, body: &str) -> quartet_testkit::TestResponse {
    post_from(
        client,
        ip,
        &format!("/blog/{post}/comment/"),
        &[("name", "Ann"), ("email", "ann@example.com"), ("body", body)],
    )
    .await
}

dbtest! { using limited_blog();
    async fn comments_are_capped_in_length_and_per_address(site) {
        let post = add_post(&site, NewPost::published("Popular", at(0))).await;
        let client = site.client();
        client.get(&post.path(&site.core)).await;
        assert_eq!(client.get(&post.path(&site.core)).await.attrs("#id_body", "maxlength"), ["100"]);
        let exact = "y".repeat(100);
        assert_eq!(comment_from(&client, "10.1.0.1", post.id, &exact).await.text("h2"), "Your comment has been added.");
        let long = "y".repeat(101);
        let page = comment_from(&client, "10.1.0.1", post.id, &long).await;
        assert_eq!(page.form_errors(), ["Ensure this value has at most 100 characters (it has 101)."]);
        for n in 0..2 {
            assert_eq!(comment_from(&client, "10.1.0.1", post.id, &format!("more {n}")).await.status, 200);
        }
        let flood = comment_from(&client, "10.1.0.1", post.id, "one too many").await;
        assert_eq!(flood.status, 429);
        assert!(flood.body.contains("You have posted too many comments in the last hour."), "{}", flood.body);
        assert_eq!(comment_from(&client, "10.1.0.2", post.id, "another reader").await.status, 200);
        assert_eq!(comment::Entity::find().count(&site.core.db).await.unwrap(), 4);
    }
}

dbtest! { using limited_blog();
    async fn comments_come_in_pages_and_a_comment_leaves_the_lists_and_posts_cached(site) {
        let post = add_post(&site, NewPost::published("Talked about", at(0)).tags(&["Rust"])).await;
        let other = add_post(&site, NewPost::published("Quiet one", at(-5)).tags(&["Rust"])).await;
        for name in ["First", "Second", "Third", "Fourth", "Fifth"] {
            add_comment(&site, post.id, name, &format!("{name} says hi."), true).await;
        }
        let client = site.client();
        let first = client.get(&post.path(&site.core)).await;
        assert_eq!(first.text(".comments h2"), "5 comments");
        let infos = first.texts(".comment .info");
        assert_eq!(infos.len(), 2);
        assert!(infos[0].starts_with("Comment 1 by First") && infos[1].starts_with("Comment 2 by Second"), "{infos:?}");
        assert_eq!(first.text(".comments .pagination .current"), "Page 1 of 3.");
        assert_eq!(first.attrs(".comments .pagination a[rel=next]", "href"), ["?page=2#comments"]);
        let third = client.get(&format!("{}?page=3", post.path(&site.core))).await;
        let infos = third.texts(".comment .info");
        assert_eq!(infos.len(), 1);
        assert!(infos[0].starts_with("Comment 5 by Fifth"), "{infos:?}");
        assert_eq!(client.get(&format!("{}?page=99", post.path(&site.core))).await.texts(".comment .info").len(), 1, "past the end: the last page");

        // Pages are cached; a comment makes the comment pages and the sidebar anew, never the
        // lists or the posts themselves.
        client.get(&other.path(&site.core)).await;
        client.get("/blog/").await;
        let before = site.core.queries.total();
        client.get(&other.path(&site.core)).await;
        client.get("/blog/").await;
        assert_eq!(site.core.queries.total() - before, 0, "cached");
        comment_from(&client, "10.2.0.1", post.id, "A new one").await;
        let before = site.core.queries.total();
        client.get("/blog/").await;
        assert_eq!(site.core.queries.total() - before, 1, "the list only remakes its sidebar (its two lists in one statement; the count is the list's cached one)");
        let before = site.core.queries.total();
        client.get(&other.path(&site.core)).await;
        let other_cost = site.core.queries.total() - before;
        assert_eq!(other_cost, 2, "the other post remakes its comment count and page, not the post (the sidebar is made)");
        let before = site.core.queries.total();
        let page = client.get(&format!("{}?page=3", post.path(&site.core))).await;
        assert_eq!(site.core.queries.total() - before, 2, "the commented post remakes its comment count and page");
        assert_eq!(page.text(".comments h2"), "6 comments");
        assert!(page.texts(".comment .info")[1].starts_with("Comment 6 by Ann"), "the new comment comes last");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_comments_are_all_in_the_past_before_their_posts_newest_one() {
    let site: TestSite = blog_site().start(quartet_testkit::Backend::Sqlite).await;
    quartet_core::core_app::seed_all(&site.core, &quartet_core::app::SeedOptions::default()).await.unwrap();
    let now = site.core.now();
    let comments = comment::Entity::find().all(&site.core.db).await.unwrap();
    assert!(!comments.is_empty());
    assert!(comments.iter().all(|c| c.created <= now), "a demo comment is dated in the future");
    // A comment posted now comes after every demo comment of its post.
    let posts = quartet_blog::models::post::Entity::find().all(&site.core.db).await.unwrap();
    for c in &comments {
        let post = posts.iter().find(|p| p.id == c.post_id).unwrap();
        assert!(c.created > post.publish, "a comment before its post was published");
    }
}

dbtest! { using blog_site();
    async fn the_feed_speaks_the_language_of_the_page_and_the_home_page_has_no_empty_card(site) {
        let home = site.client().get("/").await;
        assert!(home.texts(".home-section").is_empty());
        assert_eq!(home.texts(".sections .tile h2"), ["Blog"]);
        assert_eq!(home.text(".sections .tile .meta"), "Go to Blog →");
        add_post(&site, NewPost::published("Now there is news", at(0))).await;
        let home = site.client().get("/").await;
        assert_eq!(home.text(".home-section h2"), "Latest posts");
        assert!(home.texts(".sections .tile").is_empty(), "the blog has its section, so no bare card");

        let english = site.client().get("/blog/feed/").await;
        assert!(english.body.contains("<language>en-us</language>"), "{}", english.body);
        let spanish = site.client();
        spanish.set_cookie("quartet_language", "es");
        let feed = spanish.get("/blog/feed/").await;
        assert!(feed.body.contains("<language>es</language>"), "{}", feed.body);
    }
}
