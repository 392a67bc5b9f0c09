//! What a newcomer hit in the first minute (issue 14 §1): error pages that forgot who you are,
//! an upload over the limit that lost the form, the empty sign-in form, the demo password shown
//! once, the admin's fields only a superuser may change, the permission picker, and the image
//! limits (§2.3).

use quartet_core::auth::models::{group, user, user_permission};
use quartet_testkit::{TestClient, TestSite, dbtest};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use crate::support::probe_site;

const PASSWORD: &str = "correct-horse-battery";

async fn make_staff(site: &TestSite, user: &user::Model, superuser: bool) {
    let mut active: user::ActiveModel = user.clone().into();
    active.is_staff = Set(true);
    active.is_superuser = Set(superuser);
    active.update(&site.core.db).await.unwrap();
}

async fn grant(site: &TestSite, user: &user::Model, permission: &str) {
    user_permission::ActiveModel { user_id: Set(user.id), permission_id: Set(permission.into()), ..Default::default() }
        .insert(&site.core.db)
        .await
        .unwrap();
}

// ---------------------------------------------------------------- 1.4 error pages

dbtest! {
    using probe_site();
    async fn error_pages_keep_the_visitors_header_and_language(site) {
        let (client, _) = site.signed_in_client("nora").await;
        client.set_cookie("quartet_language", "es");
        let missing = client.get("/no/such/page/").await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.text(".user-menu .greeting"), "Hola, Nora", "the signed-in header");
        assert!(!missing.texts(".user-menu a").contains(&"Iniciar sesión".to_owned()));
        assert_eq!(missing.attrs("html", "lang"), ["es"]);
        assert_eq!(missing.attrs("form.language-switch select option[selected]", "value"), ["es"], "the language switch");
        assert!(
            missing.attrs("form.language-switch input[name=csrfmiddlewaretoken]", "value").is_empty(),
            "the switch needs no token (ADR 18), so it keeps anonymous pages cacheable"
        );
        // The switch on the error page works.
        let switched =
            client.post_form_without_token("/i18n/setlang/", &[("language", "en"), ("next", "/no/such/page/")]).await;
        assert_eq!(switched.status, 303);

        // 413 from the request guard keeps them too.
        client.set_cookie("quartet_language", "es");
        let big = "x".repeat(site.core.settings.uploads.max_body_bytes + 1);
        let too_large = client.post_form("/test/echo/", &[("a", big.as_str())]).await;
        assert_eq!(too_large.status, 413);
        assert!(too_large.body.contains("Nora"), "{}", too_large.body);
        assert!(too_large.body.contains("como máximo 2.5 MB"), "the limit, in Spanish: {}", too_large.body);
    }
}

dbtest! {
    async fn a_403_inside_the_admin_is_an_admin_page(site) {
        let (client, user) = site.signed_in_client("olga").await;
        make_staff(&site, &user, false).await;
        let denied = client.get("/admin/accounts/user/").await;
        assert_eq!(denied.status, 403);
        assert_eq!(denied.attrs("body", "class")[0].split_whitespace().next(), Some("admin"), "{}", denied.body);
        assert!(denied.body.contains("Welcome, Olga."), "the admin header knows the user: {}", denied.body);
        assert_eq!(denied.attrs(".breadcrumbs a", "href"), ["/admin/"]);
        assert_eq!(denied.text("h1"), "Forbidden (403)");
        // The public site's 404 is the public layout.
        let public = client.get("/nowhere/").await;
        assert!(public.attrs("body", "class")[0].contains("error-page") && !public.attrs("body", "class")[0].contains("admin"));
    }
}

// ---------------------------------------------------------------- 1.5 uploads

fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    // Pixels that do not compress, so the file is as large as the image.
    let mut state = 0x2545_F491_u32;
    let image = image::RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).unwrap();
    png.into_inner()
}

fn profile_form(photo: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("first_name", "Pia")
        .text("last_name", "Park")
        .text("email", "pia@example.org")
        .part("photo", reqwest::multipart::Part::bytes(photo).file_name("me.png").mime_str("image/png").unwrap())
        .text("date_of_birth", "1991-02-03")
}

dbtest! {
    async fn a_phone_sized_photo_is_taken_and_one_over_the_limit_keeps_the_form(site) {
        let (client, _) = site.signed_in_client("pia").await;
        let form = client.get("/account/edit/").await;
        assert!(form.texts(".helptext").iter().any(|h| h == "A JPEG, PNG, GIF or WebP image of at most 10 MB and 16 megapixels."), "{:?}", form.texts(".helptext"));
        // About 3 MB, over axum's 2 MiB default: taken.
        let photo = noisy_png(1000, 1000);
        assert!(photo.len() > 2_900_000, "{}", photo.len());
        let saved = client.post_multipart("/account/edit/", profile_form(photo)).await;
        assert_eq!(saved.status, 303, "{}", saved.body);

        // One byte over 10 MB: an error on the field, every other value kept.
        let limit = site.core.settings.uploads.max_upload_bytes;
        let mut huge = noisy_png(1000, 1000);
        huge.resize(limit + 1, 0);
        let page = client.post_multipart("/account/edit/", profile_form(huge)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.form_errors(), ["The file is too large (at most 10 MB)."]);
        assert_eq!(page.text(".field.has-error label"), "Photo");
        assert_eq!(page.attrs("#id_first_name", "value"), ["Pia"]);
        assert_eq!(page.attrs("#id_last_name", "value"), ["Park"]);
        assert_eq!(page.attrs("#id_date_of_birth", "value"), ["1991-02-03"], "a field after the file is kept too");
    }
}

dbtest! {
    using TestSite::builder().settings(|s| { s.uploads.max_photo_pixels = 10_000; s.uploads.uploads_per_user_per_hour = 3; });
    async fn photos_have_a_pixel_cap_and_uploads_an_hourly_limit(site) {
        let (client, _) = site.signed_in_client("quin").await;
        let refused = client.post_multipart("/account/edit/", profile_form(noisy_png(101, 100))).await;
        assert_eq!(refused.form_errors(), ["The image is too large (at most 0.01 megapixels)."]);
        let hashed = site.core.images.operations();
        assert_eq!(client.post_multipart("/account/edit/", profile_form(noisy_png(100, 100))).await.status, 303);
        assert!(site.core.images.operations() > hashed, "decoded on the image pool");
        assert_eq!(client.post_multipart("/account/edit/", profile_form(noisy_png(50, 50))).await.status, 303);
        let limited = client.post_multipart("/account/edit/", profile_form(noisy_png(50, 50))).await;
        assert_eq!(limited.status, 429);
        assert!(limited.body.contains("You have sent too many files in the last hour."), "{}", limited.body);
        // A form without a file still goes through.
        let no_file = reqwest::multipart::Form::new().text("first_name", "Quin").text("email", "quin@example.com");
        assert_eq!(client.post_multipart("/account/edit/", no_file).await.status, 303);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_image_pool_runs_a_few_at_a_time() {
    let pool = quartet_core::media::ImagePool::new(2);
    let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let jobs: Vec<_> = (0..8)
        .map(|_| {
            let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                pool.run(async { Ok(()) }, move |()| {
                    let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
                .await
                .unwrap();
            })
        })
        .collect();
    for job in jobs {
        job.await.unwrap();
    }
    assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(pool.operations(), 8);
}

// ---------------------------------------------------------------- 1.6 the smaller ones

dbtest! {
    async fn an_empty_sign_in_form_says_what_is_required(site) {
        let client = site.client();
        client.get("/account/login/").await;
        let page = client.post_form("/account/login/", &[("username", ""), ("password", "")]).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.form_errors(), ["This field is required.", "This field is required."]);
        assert!(!page.body.contains("didn't match"), "{}", page.body);
        let wrong = client.post_form("/account/login/", &[("username", "nobody"), ("password", "x")]).await;
        assert_eq!(wrong.form_errors(), ["Your username and password didn't match. Please try again."]);
    }
}

async fn sign_in(site: &TestSite, username: &str, password: &str) -> TestClient {
    let client = site.client();
    assert_eq!(client.login(username, password).await.status, 303);
    client
}

dbtest! {
    async fn the_demo_password_is_on_the_console_the_page_and_the_dashboard_until_changed(site) {
        let client = site.client();
        client.get("/").await;
        let loaded = client.post_form("/demo/", &[]).await;
        assert_eq!(loaded.status, 303);
        let home = client.get("/").await;
        let messages = home.messages();
        assert!(messages.iter().any(|m| m.starts_with("Demo data loaded")), "{messages:?}");
        // Backticks are code, not literal backticks.
        assert!(!home.body.contains('`') || !home.text(".messages").contains('`'), "{}", home.text(".messages"));
        let codes = home.texts(".messages code");
        assert_eq!(codes[0], "demo");
        let password = codes[1].clone();
        assert!(password.starts_with("demo-"), "{codes:?}");

        let demo = sign_in(&site, "demo", &password).await;
        let dashboard = demo.get("/account/").await;
        assert_eq!(dashboard.text(".demo-password code"), password, "shown until it is changed");
        let changed = demo
            .post_form("/account/password_change/", &[("old_password", password.as_str()), ("new_password1", "a-private-one-42"), ("new_password2", "a-private-one-42")])
            .await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        assert!(demo.get("/account/").await.texts(".demo-password").is_empty(), "not shown once changed");
    }
}

dbtest! {
    async fn only_a_superuser_changes_staff_status_groups_permissions_or_a_superusers_password(site) {
        let boss = site.create_user("boss", PASSWORD).await;
        make_staff(&site, &boss, true).await;
        let (editor, editor_user) = site.signed_in_client("editor").await;
        make_staff(&site, &editor_user, false).await;
        grant(&site, &editor_user, "accounts.change_user").await;
        grant(&site, &editor_user, "accounts.view_user").await;
        grant(&site, &editor_user, "accounts.change_group").await;
        let plain = site.create_user("plain", PASSWORD).await;
        let editors = group::ActiveModel { name: Set("Editors".into()), ..Default::default() }.insert(&site.core.db).await.unwrap();

        let page = editor.get(&format!("/admin/accounts/user/{}/change/", plain.id)).await;
        assert!(page.attrs("input[name=is_staff]", "type").is_empty(), "is_staff is read-only for staff");
        assert!(page.attrs("input[name=is_superuser]", "type").is_empty());
        assert!(page.attrs("select[name=groups]", "name").is_empty());
        assert!(page.attrs("select[name=user_permissions]", "name").is_empty());
        assert_eq!(page.text(".field-is_staff .readonly"), "No");
        assert_eq!(page.attrs("input[name=first_name]", "name"), ["first_name"], "the rest is editable");
        // Sending them anyway changes nothing but the allowed fields.
        let group_id = editors.id.to_string();
        let sent = editor
            .post_form(&format!("/admin/accounts/user/{}/change/", plain.id), &[
                ("username", "plain"), ("first_name", "Pat"), ("email", "plain@example.com"), ("is_active", "on"),
                ("is_staff", "on"), ("is_superuser", "on"), ("groups", group_id.as_str()), ("user_permissions", "accounts.delete_user"), ("_save", "1"),
            ])
            .await;
        assert_eq!(sent.status, 303, "{}", sent.body);
        let after = user::Entity::find_by_id(plain.id).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(after.first_name, "Pat");
        assert!(!after.is_staff && !after.is_superuser, "{after:?}");
        assert!(!quartet_core::auth::has_perm(&site.core.db, &after, "accounts.delete_user").await.unwrap());
        // A group's permissions are the superuser's too.
        let group_page = editor.get(&format!("/admin/accounts/group/{}/change/", editors.id)).await;
        assert!(group_page.attrs("select[name=permissions]", "name").is_empty());
        // A superuser's password is not for other staff.
        assert_eq!(editor.get(&format!("/admin/accounts/user/{}/password/", boss.id)).await.status, 403);
        let refused = editor
            .post_form(&format!("/admin/accounts/user/{}/password/", boss.id), &[("password1", "taken-over-77"), ("password2", "taken-over-77")])
            .await;
        assert_eq!(refused.status, 403);
        assert_eq!(editor.get(&format!("/admin/accounts/user/{}/password/", plain.id)).await.status, 200);

        // The superuser may change them all, through a grouped permission picker.
        let superuser = sign_in(&site, "boss", PASSWORD).await;
        let page = superuser.get(&format!("/admin/accounts/user/{}/change/", plain.id)).await;
        assert_eq!(page.attrs("input[name=is_staff]", "type"), ["checkbox"]);
        let groups = page.attrs("select[name=user_permissions] optgroup", "label");
        assert!(groups.contains(&"Authentication and Authorization | user".to_owned()) || groups.iter().any(|g| g.ends_with("| user")), "{groups:?}");
        assert!(groups.len() >= 4, "grouped by app and model: {groups:?}");
        assert_eq!(page.attrs("select[name=user_permissions]", "data-filter"), ["Filter"], "with a filter box");
    }
}
