//! The bookmarks in the admin (reference §2.9): images with their thumbnail in the list,
//! actions searchable by verb, likes and contacts.

use quartet_bookmarks::actions::{Target, create_action};
use quartet_bookmarks::models::verbs;
use quartet_testkit::dbtest;

use crate::support::{add_image, bookmarks_site};

dbtest! { using bookmarks_site();
    async fn staff_see_images_with_thumbnails_and_search_actions(site) {
        let (client, boss) = site.superuser_client("boss").await;
        let image = add_image(&site, boss.id, "Sunset", 0).await;
        create_action(&site.core.db, chrono::Utc::now(), boss.id, verbs::BOOKMARKED, Some(Target { label: "bookmarks.image", id: image.id })).await.unwrap();
        create_action(&site.core.db, chrono::Utc::now(), boss.id, verbs::REGISTERED, None).await.unwrap();

        let list = client.get("/admin/bookmarks/image/").await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(list.attrs("img.admin-thumbnail", "src"), [format!("/media/thumbs/80x80/{}", image.image)]);
        assert!(list.body.contains("Sunset"));
        let change = client.get(&format!("/admin/bookmarks/image/{}/change/", image.id)).await;
        assert_eq!(change.status, 200);
        assert!(change.body.contains(&format!("/images/detail/{}/sunset/", image.id)), "view on site");

        let actions = client.get("/admin/bookmarks/action/?q=created").await;
        assert_eq!(actions.status, 200);
        assert!(actions.body.contains(verbs::REGISTERED) && !actions.body.contains(verbs::BOOKMARKED), "search by verb");
        assert_eq!(client.get("/admin/bookmarks/like/").await.status, 200);
        assert_eq!(client.get("/admin/bookmarks/contact/").await.status, 200);
        // Not for visitors who are not staff.
        let (reader, _) = site.signed_in_client("reader").await;
        assert_ne!(reader.get("/admin/bookmarks/image/").await.status, 200);
    }
}
