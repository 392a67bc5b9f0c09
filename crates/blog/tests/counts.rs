//! `blog_post.active_comments` follows every way a comment changes: the comment form, the
//! moderation actions, the admin's change form and delete page (the events of
//! `quartet_blog::counts`), and the sidebar's ranking reads it.

use quartet_blog::models::post;
use quartet_testkit::{TestSite, dbtest};
use sea_orm::EntityTrait;

use crate::support::*;

async fn count(site: &TestSite, id: i64) -> i32 {
    post::Entity::find_by_id(id).one(&site.core.db).await.unwrap().unwrap().active_comments
}

dbtest! { using blog_site();
    async fn the_count_of_active_comments_follows_every_change(site) {
        let quiet = add_post(&site, NewPost::published("Quiet", at(0))).await;
        let busy = add_post(&site, NewPost::published("Busy", at(-1))).await;
        let reader = site.client();
        assert_eq!(reader.get("/blog/").await.texts(".most-commented a"), ["Quiet", "Busy"], "no comments: newest first");

        // The comment form.
        for n in 0..2 {
            let page = reader
                .post_form(&format!("/blog/{}/comment/", busy.id), &[("name", "Ann"), ("email", "ann@example.com"), ("body", &format!("Hi {n}"))])
                .await;
            assert_eq!(page.status, 200);
        }
        assert_eq!(count(&site, busy.id).await, 2);
        assert_eq!(reader.get("/blog/").await.texts(".most-commented a"), ["Busy", "Quiet"], "the ranking reads the count at once");

        // A comment written with the event (as the test helpers and the form do), then hidden by
        // the moderation action.
        let hidden = add_comment(&site, quiet.id, "Bob", "Hello", true).await;
        assert_eq!(count(&site, quiet.id).await, 1);
        let (admin, _) = site.superuser_client("moderator").await;
        let acted = admin.post_form("/admin/blog/comment/", &[("action", "hide_comments"), ("_selected_action", &hidden.id.to_string())]).await;
        assert_eq!(acted.status, 303, "{}", acted.body);
        assert_eq!(count(&site, quiet.id).await, 0, "hidden by the action");
        let acted = admin.post_form("/admin/blog/comment/", &[("action", "approve_comments"), ("_selected_action", &hidden.id.to_string())]).await;
        assert_eq!(acted.status, 303);
        assert_eq!(count(&site, quiet.id).await, 1, "shown again");

        // The change form: the comment moves to the other post and is hidden (both counts).
        let change = format!("/admin/blog/comment/{}/change/", hidden.id);
        let busy_id = busy.id.to_string();
        let saved = admin
            .post_form(&change, &[("post_id", busy_id.as_str()), ("name", "Bob"), ("email", "bob@example.com"), ("body", "Hello")])
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert_eq!((count(&site, quiet.id).await, count(&site, busy.id).await), (0, 2), "moved while hidden (active unchecked)");

        // The delete page.
        let comments = quartet_blog::models::comment::Entity::find().all(&site.core.db).await.unwrap();
        let active = comments.iter().find(|c| c.active && c.post_id == busy.id).unwrap();
        let deleted = admin.post_form(&format!("/admin/blog/comment/{}/delete/", active.id), &[("post", "yes")]).await;
        assert_eq!(deleted.status, 303, "{}", deleted.body);
        assert_eq!(count(&site, busy.id).await, 1);
        assert_eq!(reader.get("/blog/").await.texts(".most-commented a"), ["Busy", "Quiet"]);

        // The count is the handlers' to keep: the admin shows it, read-only.
        let post_page = admin.get(&format!("/admin/blog/post/{}/change/", busy.id)).await;
        assert_eq!(post_page.text(".field-active_comments .readonly"), "1");
    }
}
