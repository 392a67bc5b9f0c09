//! Files and images uploaded through admin forms, in the parent form and in an inline.

use quartet_core::auth::models::profile;
use quartet_testkit::dbtest;
use reqwest::multipart::{Form, Part};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::accounts::tiny_png;
use crate::admin::add_book;
use crate::library::{library_site, review};

fn profile_form(user_id: i64) -> Form {
    Form::new().text("user_id", user_id.to_string()).text("date_of_birth", "").text("_continue", "")
}

dbtest! {
    using library_site();
    async fn an_image_is_uploaded_replaced_refused_and_cleared(site) {
        let (root, ada) = site.superuser_client("ada").await;
        let stored = profile::Entity::find().filter(profile::Column::UserId.eq(ada.id)).one(&site.core.db).await.unwrap().unwrap();
        let url = format!("/admin/accounts/profile/{}/change/", stored.id);
        let page = root.get(&url).await;
        assert_eq!(page.attrs("form.admin-form", "enctype"), ["multipart/form-data"]);
        assert_eq!(page.attrs("#id_photo", "type"), ["file"]);
        assert!(page.attrs("#id_photo", "accept")[0].contains("image/png"));
        assert!(page.texts(".file-current").is_empty(), "no photo yet");

        let upload = profile_form(ada.id).part("photo", Part::bytes(tiny_png()).file_name("../../me.png").mime_str("image/png").unwrap());
        let saved = root.post_multipart(&url, upload).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let photo = profile::Entity::find_by_id(stored.id).one(&site.core.db).await.unwrap().unwrap().photo;
        // The uploaded name ("../../me.png") is not kept: a random 20-character stem instead.
        let stem = photo.rsplit('/').next().and_then(|name| name.strip_suffix(".png")).unwrap_or_default();
        assert!(photo.starts_with("users/") && !photo.contains(".."), "{photo}");
        assert!(stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{photo}");
        assert!(site.core.settings.media_root().join(&photo).is_file());
        let page = root.get(&url).await;
        assert_eq!(page.attrs(".file-current a", "href"), [format!("/media/{photo}")]);
        assert_eq!(page.attrs("input[name=photo-clear]", "type"), ["checkbox"]);
        assert_eq!(root.get(&format!("/media/{photo}")).await.status, 200);

        let fake = profile_form(ada.id).part("photo", Part::bytes(b"<script>alert(1)</script>".to_vec()).file_name("x.png"));
        let refused = root.post_multipart(&url, fake).await;
        assert_eq!(refused.status, 200);
        assert_eq!(refused.texts(".field-photo .errorlist li"), ["Upload a valid image. The file you uploaded was either not an image or a corrupted image."]);
        let both = profile_form(ada.id).text("photo-clear", "on").part("photo", Part::bytes(tiny_png()).file_name("a.png"));
        assert_eq!(root.post_multipart(&url, both).await.texts(".field-photo .errorlist li"), ["Please either submit a file or check the clear checkbox, not both."]);
        assert_eq!(profile::Entity::find_by_id(stored.id).one(&site.core.db).await.unwrap().unwrap().photo, photo, "refusals keep the photo");

        let cleared = root.post_multipart(&url, profile_form(ada.id).text("photo-clear", "on")).await;
        assert_eq!(cleared.status, 303);
        assert_eq!(profile::Entity::find_by_id(stored.id).one(&site.core.db).await.unwrap().unwrap().photo, "");
    }
}

dbtest! {
    using library_site();
    async fn an_inline_row_takes_a_file(site) {
        let (root, _) = site.superuser_client("root").await;
        let id = add_book(&site, "With Files", "DF", site.core.now(), None).await;
        let url = format!("/admin/library/book/{id}/change/");
        let page = root.get(&url).await;
        assert_eq!(page.attrs("#review_set-group input[type=file]", "name"), ["review_set-0-attachment"]);
        let form = Form::new()
            .text("title", "With Files").text("slug", "with-files").text("status", "DF")
            .text("published", "2026-03-04T05:06").text("price", "10").text("notes", "").text("_save", "")
            .text("chapter_set-TOTAL_FORMS", "0").text("chapter_set-INITIAL_FORMS", "0")
            .text("review_set-TOTAL_FORMS", "1").text("review_set-INITIAL_FORMS", "0")
            .text("review_set-0-id", "").text("review_set-0-reviewer", "Cy").text("review_set-0-body", "See notes.")
            .part("review_set-0-attachment", Part::bytes(b"plain notes".to_vec()).file_name("../Notes Final.TXT"));
        let saved = root.post_multipart(&url, form).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let stored = review::Entity::find().one(&site.core.db).await.unwrap().unwrap();
        assert!(stored.attachment.starts_with("reviews/") && stored.attachment.ends_with(".txt"), "{}", stored.attachment);
        let served = root.get(&format!("/media/{}", stored.attachment)).await;
        assert_eq!(served.status, 200);
        assert!(served.header("content-disposition").unwrap_or_default().starts_with("attachment"), "files are downloads");
    }
}
