//! The blog's pages: lists, tags, detail, comments, share, favourites, the sidebar.

use quartet_blog::models::{comment, favourite};
use quartet_testkit::dbtest;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};

use crate::support::{NewPost, add_comment, add_post, at, blog_site, titles};

dbtest! { using blog_site();
    async fn the_list_shows_three_published_posts_per_page_with_lenient_page_numbers(site) {
        for i in 0..7 {
            add_post(&site, NewPost::published(&format!("Post {i}"), at(i))).await;
        }
        add_post(&site, NewPost::published("Hidden draft", at(100)).draft()).await;
        let client = site.client();

        let page = client.get("/blog/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.heading(), "My Blog");
        assert_eq!(titles(&page), ["Post 6", "Post 5", "Post 4"]);
        assert_eq!(page.text(".pagination .current"), "Page 1 of 3.");
        assert_eq!(page.attrs(".pagination a[rel=next]", "href"), ["?page=2"]);
        assert_eq!(page.text(".post-card .date"), "Published March 7, 2026, 4 p.m. by writer");

        assert_eq!(titles(&client.get("/blog/?page=2").await), ["Post 3", "Post 2", "Post 1"]);
        // Not a number: the first page. Past the end: the last page.
        assert_eq!(titles(&client.get("/blog/?page=abc").await), ["Post 6", "Post 5", "Post 4"]);
        assert_eq!(titles(&client.get("/blog/?page=99").await), ["Post 0"]);
        assert_eq!(titles(&client.get("/blog/?page=-1").await), ["Post 0"]);
        // Drafts are never shown, anywhere.
        for path in ["/blog/", "/blog/?page=3", "/blog/feed/", "/sitemap.xml", "/blog/search/?query=hidden"] {
            assert!(!client.get(path).await.body.contains("Hidden draft"), "{path}");
        }
    }
}

dbtest! { using blog_site();
    async fn a_tag_page_lists_that_tag_and_an_unknown_tag_is_404(site) {
        add_post(&site, NewPost::published("Rusty", at(0)).tags(&["Rust", "Web"])).await;
        add_post(&site, NewPost::published("Snakey", at(1)).tags(&["Python"])).await;
        add_post(&site, NewPost::published("Draft rust", at(2)).tags(&["Rust"]).draft()).await;
        let client = site.client();

        let page = client.get("/blog/tag/rust/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.text(".tag-heading"), "Posts tagged with \"Rust\"");
        assert_eq!(titles(&page), ["Rusty"]);
        assert_eq!(page.text(".post-card .tags"), "Tags: Rust , Web");
        assert_eq!(page.attrs(".post-card .tags a", "href"), ["/blog/tag/rust/", "/blog/tag/web/"]);
        // The sidebar, read with the tag's list, counts every published post, not the tag's.
        assert_eq!(page.text(".total-posts"), "This is my blog. I've written 2 posts so far.");
        assert_eq!(page.texts(".latest-posts li"), ["Snakey", "Rusty"]);
        assert_eq!(client.get("/blog/tag/nothing-here/").await.status, 404);
    }
}

dbtest! { using blog_site().settings(|s| s.apps.mounts = vec!["blog=/journal/".into()]);
    async fn the_blog_mounted_elsewhere_links_and_lists_its_pages_there(site) {
        let post = add_post(&site, NewPost::published("Hello world", at(0)).tags(&["rust"])).await;
        let client = site.client();
        assert_eq!(post.path(&site.core), "/journal/2026/3/7/hello-world/");
        assert_eq!(client.get("/blog/").await.status, 404);
        let list = client.get("/journal/").await;
        assert_eq!(list.status, 200);
        assert!(list.attrs(".blog-main a", "href").contains(&"/journal/2026/3/7/hello-world/".to_owned()), "{}", list.body);
        assert!(list.attrs("a", "href").contains(&"/journal/tag/rust/".to_owned()), "{}", list.body);
        // The header's Blog link points there and is marked current there.
        assert_eq!(list.attrs("a.active[aria-current=page]", "href"), ["/journal/"], "{}", list.body);
        assert_eq!(client.get(&post.path(&site.core)).await.heading(), "Hello world");
        let sitemap = client.get("/sitemap.xml").await.body;
        assert!(sitemap.contains("/journal/2026/3/7/hello-world/") && !sitemap.contains("/blog/"), "{sitemap}");
    }
}

dbtest! { using blog_site();
    async fn a_post_is_found_by_its_date_and_slug_only_when_published(site) {
        let post = add_post(&site, NewPost::published("Hello world", at(0)).body("# Intro\n\nFirst *post*.")).await;
        add_post(&site, NewPost::published("Secret", at(0)).draft()).await;
        let client = site.client();
        assert_eq!(post.path(&site.core), "/blog/2026/3/7/hello-world/");

        let page = client.get("/blog/2026/3/7/hello-world/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.heading(), "Hello world");
        assert!(page.body.contains("<h1>Intro</h1>"));
        assert!(page.body.contains("<em>post</em>"));
        assert_eq!(page.text(".post-actions .button"), "Share this post");
        assert_eq!(page.text(".similar-posts p"), "There are no similar posts yet.");
        assert_eq!(page.text(".comments h2"), "0 comments");
        assert_eq!(page.text(".no-comments"), "There are no comments yet.");
        // Zero-padded numbers mean the same date, as Django's int converter reads them.
        assert_eq!(client.get("/blog/2026/03/07/hello-world/").await.status, 200);

        for path in [
            "/blog/2026/3/8/hello-world/",
            "/blog/2025/3/7/hello-world/",
            "/blog/2026/3/7/hello-worl/",
            "/blog/2026/13/7/hello-world/",
            "/blog/2026/2/30/hello-world/",
            "/blog/year/3/7/hello-world/",
            "/blog/99999999999999999999/3/7/hello-world/",
            "/blog/2026/3/7/secret/",
        ] {
            assert_eq!(client.get(path).await.status, 404, "{path}");
        }
    }
}

dbtest! { using blog_site();
    async fn the_detail_page_shows_active_comments_and_similar_posts_by_shared_tags(site) {
        let post = add_post(&site, NewPost::published("Main", at(0)).tags(&["a", "b", "c"])).await;
        add_post(&site, NewPost::published("Shares one, newest", at(10)).tags(&["a"])).await;
        add_post(&site, NewPost::published("Shares three", at(1)).tags(&["a", "b", "c"])).await;
        add_post(&site, NewPost::published("Shares two", at(2)).tags(&["b", "c"])).await;
        add_post(&site, NewPost::published("Shares one, older", at(3)).tags(&["c"])).await;
        add_post(&site, NewPost::published("Shares one, oldest", at(-5)).tags(&["b"])).await;
        add_post(&site, NewPost::published("Shares none", at(4)).tags(&["z"])).await;
        add_post(&site, NewPost::published("Draft sharing all", at(5)).tags(&["a", "b", "c"]).draft()).await;
        add_comment(&site, post.id, "Ann", "Nice.\n\nSecond paragraph\nwith a break <b>x</b>", true).await;
        add_comment(&site, post.id, "Spammer", "Buy things", false).await;
        add_comment(&site, post.id, "Bo", "Agreed.", true).await;

        let page = site.client().get(&post.path(&site.core)).await;
        assert_eq!(
            page.texts(".similar-posts li"),
            ["Shares three", "Shares two", "Shares one, newest", "Shares one, older"],
        );
        assert_eq!(page.text(".comments h2"), "2 comments");
        let infos = page.texts(".comment .info");
        assert!(infos[0].starts_with("Comment 1 by Ann"), "{infos:?}");
        assert!(infos[1].starts_with("Comment 2 by Bo"), "{infos:?}");
        assert!(!page.body.contains("Spammer"));
        assert!(page.body.contains("<p>Second paragraph<br>with a break &#60;b&#62;x&#60;/b&#62;</p>"), "{}", page.body);
    }
}

dbtest! { using blog_site();
    async fn comments_are_posted_only_by_post_and_validated(site) {
        let post = add_post(&site, NewPost::published("Open", at(0))).await;
        let draft = add_post(&site, NewPost::published("Closed", at(1)).draft()).await;
        let client = site.client();
        let url = format!("/blog/{}/comment/", post.id);

        assert_eq!(client.get(&url).await.status, 405);
        let page = client.post_form(&url, &[("name", ""), ("email", "not-an-address"), ("body", "")]).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.form_errors(), ["This field is required.", "Enter a valid email address.", "This field is required."]);
        assert_eq!(page.attrs("#id_email", "value"), ["not-an-address"]);
        let long = "x".repeat(81);
        let page = client.post_form(&url, &[("name", long.as_str()), ("email", "a@example.com"), ("body", "Hi")]).await;
        assert_eq!(page.form_errors(), ["Ensure this value has at most 80 characters (it has 81)."]);
        let page = client.post_form(&url, &[("name", "A\0nn"), ("email", "a@example.com"), ("body", "\0")]).await;
        assert_eq!(page.form_errors(), ["Null characters are not allowed.", "Null characters are not allowed."]);
        assert_eq!(comment::Entity::find().count(&site.core.db).await.unwrap(), 0);

        let page = client.post_form(&url, &[("name", "Ann"), ("email", "ann@example.com"), ("body", "Lovely post")]).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.text("h2"), "Your comment has been added.");
        assert_eq!(page.attrs(".blog-main a", "href"), [post.path(&site.core)]);
        let detail = client.get(&post.path(&site.core)).await;
        assert_eq!(detail.text(".comments h2"), "1 comment");
        assert!(detail.text(".comment").contains("Lovely post"));

        let closed = format!("/blog/{}/comment/", draft.id);
        let page = client.post_form(&closed, &[("name", "Ann"), ("email", "ann@example.com"), ("body", "x")]).await;
        assert_eq!(page.status, 404);
        assert_eq!(client.post_form("/blog/abc/comment/", &[]).await.status, 404);
        assert_eq!(client.post_form("/blog/999999/comment/", &[]).await.status, 404);
        assert_eq!(comment::Entity::find().count(&site.core.db).await.unwrap(), 1);
    }
}

dbtest! { using blog_site();
    async fn sharing_a_post_sends_the_reference_e_mail(site) {
        let post = add_post(&site, NewPost::published("Good read", at(0))).await;
        let draft = add_post(&site, NewPost::published("Not yet", at(1)).draft()).await;
        let client = site.client();
        let url = format!("/blog/{}/share/", post.id);

        let page = client.get(&url).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.heading(), "Share \"Good read\" by e-mail");
        assert_eq!(page.attrs("form.share-form", "novalidate"), [""]);
        assert_eq!(page.text("form.share-form button"), "Send e-mail");

        let long_name = "n".repeat(26);
        let page = client.post_form(&url, &[("name", long_name.as_str()), ("email", "me@"), ("to", ""), ("comments", "")]).await;
        assert_eq!(
            page.form_errors(),
            [
                "Ensure this value has at most 25 characters (it has 26).",
                "Enter a valid email address.",
                "This field is required.",
            ]
        );
        assert!(site.outbox().is_empty());

        let page = client
            .post_form(&url, &[("name", "Ann"), ("email", "ann@example.com"), ("to", "bo@example.com"), ("comments", "Worth it")])
            .await;
        assert_eq!(page.heading(), "E-mail successfully sent");
        assert_eq!(page.text(".sent"), "\"Good read\" was successfully sent to bo@example.com.");
        let mail = site.outbox();
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to, ["bo@example.com"]);
        assert_eq!(mail[0].subject, "Ann (ann@example.com) recommends you read Good read");
        assert_eq!(
            mail[0].body,
            format!("Read Good read at {}\n\nAnn's comments: Worth it", site.url("/blog/2026/3/7/good-read/"))
        );

        assert_eq!(client.get(&format!("/blog/{}/share/", draft.id)).await.status, 404);
        assert_eq!(client.get("/blog/0/share/").await.status, 404);
        assert_eq!(client.get("/blog/x/share/").await.status, 404);
    }
}

dbtest! { using blog_site();
    async fn the_sidebar_counts_posts_and_only_active_comments(site) {
        let mut posts = Vec::new();
        for i in 0..6 {
            posts.push(add_post(&site, NewPost::published(&format!("P{i}"), at(i))).await);
        }
        add_post(&site, NewPost::published("Draft", at(50)).draft()).await;
        // P0 has many hidden comments: they do not count.
        for _ in 0..5 {
            add_comment(&site, posts[0].id, "Spam", "x", false).await;
        }
        add_comment(&site, posts[1].id, "A", "x", true).await;
        add_comment(&site, posts[1].id, "B", "x", true).await;
        add_comment(&site, posts[2].id, "C", "x", true).await;

        let page = site.client().get("/blog/").await;
        assert_eq!(page.text(".total-posts"), "This is my blog. I've written 6 posts so far.");
        assert_eq!(page.texts(".latest-posts li"), ["P5", "P4", "P3"]);
        assert_eq!(page.texts(".most-commented li"), ["P1", "P2", "P5", "P4", "P3"]);
        assert_eq!(page.attrs(".rss-link", "href"), ["/blog/feed/"]);
    }
}

dbtest! { using blog_site();
    async fn favourites_need_a_sign_in_and_are_listed(site) {
        let post = add_post(&site, NewPost::published("Loved", at(0))).await;
        let add = format!("/blog/favourite/add/{}/", post.id);

        let anonymous = site.client();
        let page = anonymous.post_form(&add, &[]).await;
        assert_eq!(page.status, 303);
        assert!(page.location().unwrap().starts_with("/account/login/?next="), "{:?}", page.location());
        assert_eq!(anonymous.get("/blog/favourites/").await.status, 303);
        assert!(anonymous.get(&post.path(&site.core)).await.texts(".add-favourite").is_empty());
        assert_eq!(favourite::Entity::find().count(&site.core.db).await.unwrap(), 0);

        let (client, _) = site.signed_in_client("reader").await;
        assert_eq!(client.get(&add).await.status, 405);
        let detail = client.get(&post.path(&site.core)).await;
        assert_eq!(detail.text(".add-favourite"), "Add to favourites");
        let page = client.post_form(&add, &[]).await;
        assert_eq!(page.location(), Some(post.path(&site.core).as_str()));
        let detail = client.get(&post.path(&site.core)).await;
        assert_eq!(detail.messages(), ["“Loved” was added to your favourites."]);
        assert_eq!(detail.text(".favourite"), "❤️");
        client.post_form(&add, &[]).await;
        assert_eq!(favourite::Entity::find().count(&site.core.db).await.unwrap(), 1);

        let list = client.get("/blog/favourites/").await;
        assert_eq!(list.heading(), "Your favourite posts");
        assert_eq!(crate::support::titles(&list), ["Loved"]);
        // Another reader's list is their own.
        let (other, _) = site.signed_in_client("other").await;
        assert!(crate::support::titles(&other.get("/blog/favourites/").await).is_empty());

        client.post_form(&format!("/blog/favourite/remove/{}/", post.id), &[]).await;
        assert_eq!(favourite::Entity::find().count(&site.core.db).await.unwrap(), 0);
        assert_eq!(client.post_form("/blog/favourite/add/123456/", &[]).await.status, 404);
    }
}

dbtest! { using blog_site();
    async fn markdown_is_sanitised(site) {
        let body = "Hello <script>alert('x')</script>\n\n<img src=\"x.png\" onerror=\"alert(1)\">\n\n\
                    [click](javascript:alert(1)) <a href=\"https://example.com\" onclick=\"evil()\">ok</a>\n\n\
                    <iframe src=\"https://evil.example\"></iframe><style>body{}</style>";
        let post = add_post(&site, NewPost::published("Tricky", at(0)).body(body)).await;
        let client = site.client();
        for path in [post.path(&site.core), "/blog/".to_owned()] {
            let page = client.get(&path).await;
            let html = page.body.split("<aside").next().unwrap();
            for bad in ["<script>alert", "onerror", "onclick", "javascript:", "<iframe", "<style>body"] {
                assert!(!html.contains(bad), "{bad} on {path}");
            }
        }
        let page = client.get(&post.path(&site.core)).await;
        assert_eq!(page.attrs(".post-body a[href^='https']", "rel"), ["nofollow noopener noreferrer"]);
        assert_eq!(page.attrs(".post-body img", "src"), ["x.png"]);
    }
}

dbtest! { using blog_site();
    async fn the_blog_speaks_spanish(site) {
        let post = add_post(&site, NewPost::published("Hola", at(0))).await;
        let client = site.client();
        client.set_cookie("quartet_language", "es");
        let page = client.get("/blog/").await;
        assert_eq!(page.heading(), "Mi blog");
        assert_eq!(page.text(".total-posts"), "Este es mi blog. He escrito 1 entrada hasta ahora.");
        assert_eq!(page.text(".post-card .date"), "Publicado el 7 de marzo de 2026 a las 10:00 por writer");
        let detail = client.get(&post.path(&site.core)).await;
        assert_eq!(detail.text(".post-actions .button"), "Compartir esta entrada");
        assert_eq!(detail.text(".comments h2"), "0 comentarios");
    }
}

dbtest! { using blog_site();
    async fn quartet_seed_writes_a_sized_blog(site) {
        use quartet_core::app::SeedOptions;
        site.create_user("someone", "correct-horse-battery").await;
        let options = SeedOptions { sizes: vec![("posts".into(), 40), ("tags".into(), 7), ("comments".into(), 3)] };
        let report = quartet_core::core_app::seed_all(&site.core, &options).await.unwrap();
        assert!(report.created().contains(&"40 blog posts".to_owned()), "{report:?}");
        let db = &site.core.db;
        assert_eq!(quartet_blog::queries::count_published(db, None).await.unwrap(), 40);
        assert_eq!(quartet_blog::models::tag::Entity::find().count(db).await.unwrap(), 7);
        assert_eq!(quartet_blog::models::tagged_post::Entity::find().count(db).await.unwrap(), 120);
        assert_eq!(comment::Entity::find().count(db).await.unwrap(), 120);
        // The model's rules made each slug from its title and stamped the row when it went out.
        for post in quartet_blog::models::post::Entity::find().all(db).await.unwrap() {
            assert_eq!(post.slug, quartet_core::forms::slugify(&post.title), "{post:?}");
            assert_eq!((post.created, post.updated), (post.publish, post.publish), "{post:?}");
        }
        for tag in quartet_blog::models::tag::Entity::find().all(db).await.unwrap() {
            assert_eq!(tag.slug, quartet_core::forms::slugify(&tag.name), "{tag:?}");
        }
        // The planner's statistics were refreshed after the load (PostgreSQL: pg_class knows the
        // rows, -1 before any ANALYZE; SQLite: sqlite_stat1 has the table).
        let sql = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "SELECT CAST(reltuples AS BIGINT) AS n FROM pg_class WHERE oid = CAST('blog_post' AS regclass)"
            }
            _ => "SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = 'blog_post'",
        };
        let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
        let known: i64 = row.try_get("", "n").unwrap();
        assert!(known > 0, "statistics after seeding: {known}");
        let page = site.client().get("/blog/").await;
        assert_eq!(page.text(".pagination .current"), "Page 1 of 14.");
        // A second run adds nothing.
        let again = quartet_core::core_app::seed_all(&site.core, &options).await.unwrap();
        assert!(again.notes().iter().any(|n| n.contains("already has posts")), "{again:?}");
        assert_eq!(quartet_blog::queries::count_published(db, None).await.unwrap(), 40);
    }
}

/// Every text of the blog's templates, code and admin registrations has a Spanish translation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_blog_text_has_a_spanish_translation() {
    let site = blog_site().start(quartet_testkit::Backend::Sqlite).await;
    let i18n = &site.core.i18n;
    let same_in_spanish = ["Blog", "Slug", "Id"];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources: String = quartet_testkit::source_files(&[root.join("templates"), root.join("src")])
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    // ctx.t("…"), ctx.t1("…", tr.n("…", "…"), the forms' labels, NavLink labels.
    let (mut ids, plurals) = quartet_testkit::translatable_texts(&sources);
    use quartet_kernel::forms::Form as _;
    let forms = [quartet_blog::views::CommentForm::FIELDS, quartet_blog::views::ShareForm::FIELDS];
    ids.extend(forms.iter().flat_map(|fields| fields.iter()).map(|f| f.label.to_owned()));
    for registration in quartet_core::admin::site(&site.core).admins.iter().filter(|a| a.label().starts_with("blog.")) {
        ids.extend(registration.messages());
    }
    ids.extend(site.core.registry.nav.iter().map(|l| l.label.to_owned()));
    ids.sort();
    ids.dedup();
    assert!(ids.len() > 60, "found only {} texts: {ids:?}", ids.len());
    let mut missing: Vec<&String> = ids
        .iter()
        .filter(|id| !same_in_spanish.contains(&id.as_str()))
        .filter(|id| i18n.gettext("es", id) == id.as_str())
        .collect();
    assert!(plurals.len() >= 5, "{plurals:?}");
    missing.extend(
        plurals.iter().filter(|(one, many)| i18n.ngettext("es", one, many, 2) == many.as_str()).map(|(_, many)| many),
    );
    assert!(missing.is_empty(), "untranslated: {missing:?}");
}

dbtest! { using blog_site();
    async fn the_home_page_shows_the_latest_posts(site) {
        let client = site.client();
        assert!(client.get("/").await.texts(".home-section").is_empty(), "no section without posts");
        for i in 0..4 {
            add_post(&site, NewPost::published(&format!("Post {i}"), at(i))).await;
        }
        add_post(&site, NewPost::published("Draft", at(9)).draft()).await;
        let page = client.get("/").await;
        assert_eq!(page.text(".home-section h2"), "Latest posts");
        assert_eq!(page.texts(".home-section li a"), ["Post 3", "Post 2", "Post 1"]);
        assert_eq!(page.texts(".home-section .meta")[0], "March 7, 2026");
        assert_eq!(page.attrs(".home-section .see-all a", "href"), ["/blog/"]);
    }
}

dbtest! { using blog_site();
    async fn demo_data_shows_at_once_on_pages_already_cached(site) {
        let client = site.client();
        let home = client.get("/").await;
        assert_eq!(home.status, 200);
        assert!(home.texts(".home-section").is_empty());
        let list = client.get("/blog/").await;
        assert_eq!(list.status, 200);
        assert!(list.texts(".post-card").is_empty());
        let sitemap = client.get("/sitemap.xml").await;
        assert_eq!((sitemap.status, sitemap.body.matches("<url>").count()), (200, 0));
        assert_eq!(client.post_form("/demo/", &[]).await.location(), Some("/"));
        assert_eq!(client.get("/").await.texts(".home-section li a").len(), 3);
        assert_eq!(titles(&client.get("/blog/").await).len(), 3);
        assert!(client.get("/sitemap.xml").await.body.matches("<url>").count() > 10);
    }
}

dbtest! { using blog_site().settings(|s| s.jobs.backend = quartet_core::config::JobBackendKind::Database);
    async fn the_share_e_mail_waits_in_the_job_queue_and_is_sent_once(site) {
        let post = add_post(&site, NewPost::published("Good read", at(0))).await;
        let client = site.client();
        let url = format!("/blog/{}/share/", post.id);
        client.get(&url).await;
        let page = client
            .post_form(&url, &[("name", "Ann"), ("email", "ann@example.com"), ("to", "bo@example.com"), ("comments", "")])
            .await;
        assert_eq!(page.heading(), "E-mail successfully sent");
        assert!(site.outbox().is_empty(), "the request only queued the e-mail");
        let jobs = quartet_core::jobs::job::Entity::find().all(&site.core.db).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].name.as_str(), jobs[0].queue.as_str(), jobs[0].status.as_str()), ("blog.share_post", "mail", "queued"));
        assert!(jobs[0].payload.contains("bo@example.com"), "{}", jobs[0].payload);

        assert_eq!(site.run_jobs().await, 1);
        let mail = site.outbox();
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].subject, "Ann (ann@example.com) recommends you read Good read");
        // Run again as a redelivery would: the e-mail is not sent a second time.
        quartet_core::jobs::job::Entity::update_many()
            .col_expr(quartet_core::jobs::job::Column::Status, sea_orm::sea_query::Expr::value("queued"))
            .exec(&site.core.db)
            .await
            .unwrap();
        assert_eq!(site.run_jobs().await, 1);
        assert_eq!(site.outbox().len(), 1);
    }
}

/// Every route name the site's templates and code link to (`url("…")`, `url1`, `url_with`,
/// `route: "…"`, admin pages) is a route of the site with the built-in apps and the blog, so
/// no link falls back to `/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_name_in_templates_and_code_exists() {
    let site = blog_site().start(quartet_testkit::Backend::Sqlite).await;
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let roots: Vec<std::path::PathBuf> = ["kernel", "admin", "accounts", "jobs", "blog"]
        .iter()
        .flat_map(|name| [crates.join(name).join("src"), crates.join(name).join("templates")])
        .collect();
    let mut names = std::collections::BTreeSet::new();
    for (_, text) in quartet_testkit::source_files(&roots) {
        for start in ["url(\"", "url1(\"", "url_with(\"", "route: \"", "AdminLink::new("] {
            for (at, _) in text.match_indices(start) {
                // `ctx.url("…")`, not `redact_url("…")`.
                if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &text[at + start.len()..];
                // AdminLink::new("title", "route"): the second string.
                let rest = if start.starts_with("AdminLink") {
                    match rest.splitn(4, '"').nth(3) {
                        Some(r) => r,
                        None => continue,
                    }
                } else {
                    rest
                };
                let name: String = rest.chars().take_while(|c| *c != '"').collect();
                if name.contains(':') && !name.contains(['{', ' ']) {
                    names.insert(name);
                }
            }
        }
    }
    assert!(names.len() > 30, "found only {names:?}");
    let missing: Vec<&String> = names.iter().filter(|n| !site.core.urls().has(n)).collect();
    assert!(missing.is_empty(), "route names linked to but not registered: {missing:?}");
}
