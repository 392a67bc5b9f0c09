//! Bookmarking an image from another site (served by the test on a loopback port, let through
//! by `bookmarks.fetch_allowed_hosts`), its page with views counted, likes, and every refused
//! fetch giving a form error instead of a 500.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use quartet_bookmarks::models::{action, image, verbs};
use quartet_bookmarks::settings::BookmarksSettings;
use quartet_testkit::{TestSiteBuilder, dbtest};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::support::bookmarks_site;

/// A 300×300 PNG.
fn png() -> Vec<u8> {
    let pixels = ::image::RgbImage::from_fn(300, 300, |x, y| ::image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, ::image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Another site: a photo, a text file named like an image, and a redirect to this machine.
async fn other_site() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let photo = png();
    let app =
        Router::new()
            .route("/photo.png", get(move || async move { ([("content-type", "image/png")], photo.clone()) }))
            .route("/fake.png", get(|| async { "not an image at all" }))
            .route(
                "/sneaky.png",
                get(move || async move {
                    axum::response::Redirect::temporary(&format!("http://127.0.0.2:{port}/photo.png"))
                }),
            );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The bookmarks with `127.0.0.1` (the other site) let through, `fetches` bookmarks an hour.
fn site_allowing_loopback(fetches: u32) -> TestSiteBuilder {
    bookmarks_site().settings(move |s| {
        let bookmarks = s.app_mut::<BookmarksSettings>();
        bookmarks.fetch_allowed_hosts = vec!["127.0.0.1".into()];
        bookmarks.fetches_per_user_per_hour = fetches;
    })
}

dbtest! { using site_allowing_loopback(30);
    async fn an_image_is_bookmarked_shown_counted_and_liked(site) {
        let other = other_site().await;
        let (client, ana) = site.signed_in_client("ana").await;
        let url = format!("http://{other}/photo.png");
        // The bookmarklet opens the form filled in.
        let form = client.get(&format!("/images/create/?url={}&title=A%20sunset", urlencode(&url))).await;
        assert_eq!(form.status, 200);
        assert_eq!(form.attrs("input[name=title]", "value"), ["A sunset"]);
        assert_eq!(form.attrs("input[name=url]", "value"), std::slice::from_ref(&url));
        assert!(form.form_errors().is_empty(), "{:?}", form.form_errors());

        let saved = client.post_form("/images/create/", &[("title", "A sunset"), ("url", &url), ("description", "Red.")]).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let stored = image::Entity::find().one(&site.core.db).await.unwrap().expect("the image is saved");
        assert_eq!((stored.user_id, stored.slug.as_str(), stored.url.as_str()), (ana.id, "a-sunset", url.as_str()));
        // Stored under a name of our own, re-encoded.
        assert!(stored.image.starts_with("images/") && !stored.image.contains("photo"), "{}", stored.image);
        assert_eq!(saved.location(), Some(format!("/images/detail/{}/a-sunset/", stored.id).as_str()));
        let page = client.get_followed(&format!("/images/detail/{}/a-sunset/", stored.id)).await;
        assert_eq!(page.messages(), ["Image added successfully"]);
        assert_eq!(page.heading(), "A sunset");
        assert_eq!(page.text(".views"), "1 view");
        assert_eq!(page.text(".image-likes"), "Nobody likes this image yet.");
        let actions = action::Entity::find().all(&site.core.db).await.unwrap();
        assert_eq!(actions.iter().map(|a| a.verb.as_str()).collect::<Vec<_>>(), [verbs::BOOKMARKED]);

        // The page is public; each visit counts.
        let anonymous = site.client();
        assert_eq!(anonymous.get(&format!("/images/detail/{}/a-sunset/", stored.id)).await.text(".views"), "2 views");
        assert_eq!(site.core.kv.get(&format!("image:{}:views", stored.id)).await.unwrap(), 2);
        assert_eq!(site.core.kv.ztop("image_ranking", 10).await.unwrap(), [(stored.id.to_string(), 2.0)]);
        assert_eq!(anonymous.get("/images/detail/999/x/").await.status, 404);

        // Like, then unlike: JSON answers, the count kept by the handler.
        let liked = client.post_form("/images/like/", &[("id", &stored.id.to_string()), ("action", "like")]).await;
        assert_eq!((liked.status, liked.body.as_str()), (200, r#"{"status":"ok"}"#));
        let page = client.get(&format!("/images/detail/{}/a-sunset/", stored.id)).await;
        assert_eq!(page.text(".count .total"), "1");
        assert_eq!(page.texts(".liker"), ["Ana"], "the first name, as the reference");
        assert_eq!(page.attrs("button.like", "data-action"), ["unlike"]);
        let unknown = client.post_form("/images/like/", &[("id", "999"), ("action", "like")]).await;
        assert_eq!(unknown.body, r#"{"status":"error"}"#);
        let missing = client.post_form("/images/like/", &[("action", "like")]).await;
        assert_eq!(missing.body, r#"{"status":"error"}"#);
        client.post_form("/images/like/", &[("id", &stored.id.to_string()), ("action", "unlike")]).await;
        let page = client.get(&format!("/images/detail/{}/a-sunset/", stored.id)).await;
        assert_eq!(page.text(".count .total"), "0");
        // Signed out, liking sends to the sign-in page.
        assert_eq!(anonymous.post_form("/images/like/", &[("id", "1"), ("action", "like")]).await.status, 303);
    }
}

dbtest! { using site_allowing_loopback(30);
    async fn refused_fetches_are_form_errors_never_500s(site) {
        let other = other_site().await;
        let (client, _) = site.signed_in_client("ana").await;
        let port = other.port();
        let cases: Vec<(String, &str)> = vec![
            (format!("http://{other}/notes.txt"), "The given URL does not match valid image extensions."),
            ("ftp://example.com/a.png".into(), "Only http and https addresses can be fetched."),
            ("http://10.0.0.7/a.png".into(), "That address cannot be fetched: 10.0.0.7 is not a public Internet address."),
            ("http://169.254.169.254/a.png".into(), "That address cannot be fetched: 169.254.169.254 is not a public Internet address."),
            // Only 127.0.0.1 is let through: another loopback address is refused, also after a
            // redirect. (Names resolving to private addresses: crates/core/tests/fetch.rs.)
            (format!("http://[::1]:{port}/photo.png"), "That address cannot be fetched: [::1] is not a public Internet address."),
            (format!("http://{other}/sneaky.png"), "That address cannot be fetched: 127.0.0.2 is not a public Internet address."),
            (format!("http://{other}/fake.png"), "Upload a valid image. The file you uploaded was either not an image or a corrupted image."),
            (format!("http://{other}/gone.png"), "The address answered with HTTP status 404."),
        ];
        for (url, message) in cases {
            let page = client.post_form("/images/create/", &[("title", "T"), ("url", &url)]).await;
            assert_eq!(page.status, 200, "{url}: {}", page.body);
            assert_eq!(page.form_errors(), [message], "{url}");
        }
        assert_eq!(image::Entity::find().count(&site.core.db).await.unwrap(), 0);
    }
}

dbtest! { using site_allowing_loopback(2);
    async fn the_hourly_limit_passes_its_count_and_refuses_one_more(site) {
        let other = other_site().await;
        let (client, _) = site.signed_in_client("ana").await;
        let url = format!("http://{other}/photo.png");
        for _ in 0..2 {
            assert_eq!(client.post_form("/images/create/", &[("title", "T"), ("url", &url)]).await.status, 303);
        }
        let third = client.post_form("/images/create/", &[("title", "T"), ("url", &url)]).await;
        assert_eq!(third.form_errors(), ["You have bookmarked too many images in the last hour. Please try again later."]);
        assert_eq!(image::Entity::find().count(&site.core.db).await.unwrap(), 2);
    }
}

dbtest! { using bookmarks_site();
    async fn the_form_needs_a_sign_in_and_explains_the_bookmarklet(site) {
        assert_eq!(site.client().get("/images/create/").await.status, 303);
        let (client, _) = site.signed_in_client("ana").await;
        let page = client.get("/images/create/").await;
        assert!(page.text(".help").contains("Bookmark it"), "{}", page.body);
        assert!(page.form_errors().is_empty());
        let spanish = client.get_with_headers("/images/create/?url=http://x/y.gif&title=T", &[("accept-language", "es")]).await;
        assert_eq!(spanish.form_errors(), ["La URL indicada no tiene una extensión de imagen válida."]);
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
