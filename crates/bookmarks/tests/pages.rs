//! The image list (eight a page, the fragment of infinite scroll), the ranking, the people
//! pages and following, and the header's links for signed-in visitors.

use quartet_bookmarks::models::{action, contact, verbs};
use quartet_testkit::dbtest;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::support::{add_image, bookmarks_site};

dbtest! { using bookmarks_site();
    async fn the_image_list_pages_by_eight_and_its_fragment_ends_empty(site) {
        let (client, me) = site.signed_in_client("ana").await;
        for i in 0..10 {
            add_image(&site, me.id, &format!("Image {i}"), i).await;
        }
        let titles = |page: &quartet_testkit::TestResponse| page.texts(".image .title");
        let first = client.get("/images/").await;
        assert_eq!(first.status, 200);
        assert_eq!(titles(&first).len(), 8);
        assert_eq!(titles(&first)[0], "Image 9", "newest first");
        assert_eq!(first.attrs("nav.main-nav a.active", "href"), ["/images/"]);
        let fragment = client.get("/images/?images_only=1&page=2").await;
        assert_eq!(titles(&fragment), ["Image 1", "Image 0"]);
        assert!(!fragment.body.contains("<html"), "only the fragment");
        // Past the end: the fragment is empty (infinite scroll stops), the page is the last.
        let past = client.get("/images/?images_only=1&page=3").await;
        assert_eq!((past.status, past.body.as_str()), (200, ""));
        assert_eq!(titles(&client.get("/images/?page=3").await), ["Image 1", "Image 0"]);
        assert_eq!(titles(&client.get("/images/?page=abc").await).len(), 8);
        // Signed out: to the sign-in page.
        assert_eq!(site.client().get("/images/").await.status, 303);
    }
}

dbtest! { using bookmarks_site();
    async fn the_ranking_lists_the_ten_most_viewed_in_order(site) {
        let (client, me) = site.signed_in_client("ana").await;
        let mut images = Vec::new();
        for i in 0..12 {
            images.push(add_image(&site, me.id, &format!("Image {i}"), i).await);
        }
        assert_eq!(client.get("/images/ranking/").await.text(".empty"), "No image has been viewed yet.");
        // Image k is viewed k times.
        for (k, image) in images.iter().enumerate() {
            for _ in 0..k {
                client.get(&format!("/images/detail/{}/{}/", image.id, image.slug)).await;
            }
        }
        let ranking = client.get("/images/ranking/").await;
        let expected: Vec<String> = (2..12).rev().map(|k| format!("Image {k}")).collect();
        assert_eq!(ranking.texts(".ranking li"), expected);
    }
}

dbtest! { using bookmarks_site();
    async fn people_are_listed_followed_and_unfollowed(site) {
        let (client, ana) = site.signed_in_client("ana").await;
        let ben = site.create_user("ben", "correct-horse-battery").await;
        let gone = site.create_user("gone", "correct-horse-battery").await;
        let mut inactive: quartet_core::auth::models::user::ActiveModel =
            quartet_core::auth::models::user::Entity::find_by_id(gone.id).one(&site.core.db).await.unwrap().unwrap().into();
        inactive.is_active = sea_orm::ActiveValue::Set(false);
        sea_orm::ActiveModelTrait::update(inactive, &site.core.db).await.unwrap();
        add_image(&site, ben.id, "Ben's cat", 0).await;

        let list = client.get("/account/users/").await;
        assert_eq!(list.texts(".user .title"), ["Ana", "Ben"], "first names, active users only");
        assert_eq!(client.get("/account/users/gone/").await.status, 404);
        assert_eq!(client.get("/account/users/nobody/").await.status, 404);

        let profile = client.get("/account/users/ben/").await;
        assert_eq!(profile.heading(), "Ben");
        assert_eq!(profile.text(".count"), "0 followers");
        assert_eq!(profile.texts(".image .title"), ["Ben's cat"]);
        assert_eq!(profile.attrs("button.follow", "data-action"), ["follow"]);

        let id = ben.id.to_string();
        let followed = client.post_form("/account/users/follow/", &[("id", &id), ("action", "follow")]).await;
        assert_eq!(followed.body, r#"{"status":"ok"}"#);
        // Twice: still one contact, one action.
        client.post_form("/account/users/follow/", &[("id", &id), ("action", "follow")]).await;
        assert_eq!(contact::Entity::find().count(&site.core.db).await.unwrap(), 1);
        let profile = client.get("/account/users/ben/").await;
        assert_eq!(profile.text(".count"), "1 follower");
        assert_eq!(profile.attrs("button.follow", "data-action"), ["unfollow"]);
        let actions = action::Entity::find().all(&site.core.db).await.unwrap();
        assert_eq!(actions.iter().map(|a| (a.verb.as_str(), a.target_id)).collect::<Vec<_>>(), [(verbs::FOLLOWING, Some(ben.id))]);

        for bad in [vec![("id", "999"), ("action", "follow")], vec![("action", "follow")], vec![("id", "x"), ("action", "follow")]] {
            assert_eq!(client.post_form("/account/users/follow/", &bad).await.body, r#"{"status":"error"}"#, "{bad:?}");
        }
        let me = ana.id.to_string();
        assert_eq!(client.post_form("/account/users/follow/", &[("id", &me), ("action", "follow")]).await.body, r#"{"status":"error"}"#, "not oneself");
        let gone_id = gone.id.to_string();
        assert_eq!(client.post_form("/account/users/follow/", &[("id", &gone_id), ("action", "follow")]).await.body, r#"{"status":"error"}"#);

        client.post_form("/account/users/follow/", &[("id", &id), ("action", "unfollow")]).await;
        assert_eq!(client.get("/account/users/ben/").await.text(".count"), "0 followers");
        assert!(client.get("/account/users/ana/").await.attrs("button.follow", "data-action").is_empty(), "no button on one's own page");
    }
}

dbtest! { using bookmarks_site();
    async fn images_and_people_are_in_the_header_for_signed_in_visitors_only(site) {
        let anonymous = site.client().get("/account/login/").await;
        assert!(!anonymous.texts("nav.main-nav a").iter().any(|l| l == "Images" || l == "People"));
        let (client, _) = site.signed_in_client("ana").await;
        let page = client.get("/account/users/").await;
        let links = page.texts("nav.main-nav a");
        assert!(links.contains(&"Images".to_owned()) && links.contains(&"People".to_owned()), "{links:?}");
        assert_eq!(page.attrs("nav.main-nav a.active", "href"), ["/account/users/"]);
        let spanish = client.get_with_headers("/account/users/", &[("accept-language", "es")]).await;
        assert_eq!(spanish.heading(), "Personas");
    }
}

dbtest! { using bookmarks_site();
    async fn the_home_page_shows_the_latest_images(site) {
        let (client, me) = site.signed_in_client("ana").await;
        for i in 0..6 {
            add_image(&site, me.id, &format!("Image {i}"), i).await;
        }
        let home = site.client().get("/").await;
        assert_eq!(home.status, 200);
        let section = home.texts(".home-section h2");
        assert!(section.iter().any(|h| h.contains("Latest images")), "{section:?}");
        let titles: Vec<String> = home.texts(".home-section li a:not(.thumb)");
        assert_eq!(titles, ["Image 5", "Image 4", "Image 3", "Image 2"]);
        assert_eq!(home.attrs(".home-section li a.thumb img", "src").len(), 4);
        assert!(client.get_with_headers("/", &[("accept-language", "es")]).await.body.contains("Últimas imágenes"));
    }
}
