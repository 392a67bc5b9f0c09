//! Registration, sign-in by username or e-mail, sign-out, profile editing with a photo.

use quartet_core::auth::models::{profile, user};
use quartet_testkit::dbtest;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

const PASSWORD: &str = "correct-horse-battery";

dbtest! {
    async fn registration_creates_a_profile_and_signs_the_user_in(site) {
        let client = site.client();
        let form = client.get("/account/register/").await;
        assert_eq!(form.status, 200);
        assert_eq!(form.heading(), "Create an account");
        let done = client
            .post_form("/account/register/", &[
                ("username", "alice"), ("first_name", "Alice"), ("email", "alice@example.com"),
                ("password", PASSWORD), ("password2", PASSWORD),
            ])
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.heading(), "Welcome Alice!");
        let alice = user::Entity::find().filter(user::Column::Username.eq("alice")).one(&site.core.db).await.unwrap().unwrap();
        let profile = profile::Entity::find().filter(profile::Column::UserId.eq(alice.id)).one(&site.core.db).await.unwrap();
        assert!(profile.is_some(), "every user has a profile");
        assert!(alice.password.starts_with("$argon2id$"), "{}", alice.password);
        let dashboard = client.get("/account/").await;
        assert_eq!(dashboard.status, 200, "the new user is signed in");
        assert!(dashboard.body.contains("Hello Alice,"));
    }
}

dbtest! {
    async fn registration_reports_each_broken_rule_with_the_reference_texts(site) {
        site.create_user("taken", PASSWORD).await;
        let client = site.client();
        let page = client
            .post_form("/account/register/", &[
                ("username", "Taken"), ("first_name", ""), ("email", "TAKEN@example.com"),
                ("password", PASSWORD), ("password2", "different"),
            ])
            .await;
        assert_eq!(page.status, 200);
        let errors = page.form_errors();
        assert!(errors.contains(&"A user with that username already exists.".to_owned()), "{errors:?}");
        assert!(errors.contains(&"Email already in use.".to_owned()), "{errors:?}");
        assert!(errors.contains(&"Passwords don't match.".to_owned()), "{errors:?}");

        let page = client
            .post_form("/account/register/", &[
                ("username", "bad name!"), ("email", "not-an-address"), ("password", "123"), ("password2", "123"),
            ])
            .await;
        let errors = page.form_errors();
        for expected in [
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
            "Enter a valid email address.",
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ] {
            assert!(errors.contains(&expected.to_owned()), "missing {expected:?} in {errors:?}");
        }
        let page = client.post_form("/account/register/", &[]).await;
        assert_eq!(page.form_errors().iter().filter(|e| *e == "This field is required.").count(), 4, "{:?}", page.form_errors());
        assert_eq!(user::Entity::find().all(&site.core.db).await.unwrap().len(), 1, "nothing was created");
    }
}

dbtest! {
    async fn users_sign_in_by_username_or_email_and_land_on_next(site) {
        site.create_user("bob", PASSWORD).await;
        let client = site.client();
        let page = client.login("bob", PASSWORD).await;
        assert_eq!((page.status, page.location()), (303, Some("/account/")));
        client.logout().await;
        let page = client.login("BOB@example.com", PASSWORD).await;
        assert_eq!(page.status, 303, "e-mail sign-in ignores case: {}", page.body);
        client.logout().await;
        client.get("/account/login/?next=/account/edit/").await;
        let page = client
            .post_form("/account/login/", &[("username", "bob"), ("password", PASSWORD), ("next", "/account/edit/")])
            .await;
        assert_eq!(page.location(), Some("/account/edit/"));
    }
}

dbtest! {
    async fn a_wrong_password_shows_the_reference_message(site) {
        site.create_user("carol", PASSWORD).await;
        let client = site.client();
        let page = client.login("carol", "wrong-password").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.text(".errornote"), "Your username and password didn't match. Please try again.");
        assert_eq!(client.get("/account/").await.status, 303, "still anonymous");
    }
}

dbtest! {
    async fn inactive_users_cannot_sign_in_and_lose_their_sessions(site) {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let (client, dave) = site.signed_in_client("dave").await;
        assert_eq!(client.get("/account/").await.status, 200);
        let mut active: user::ActiveModel = dave.into();
        active.is_active = Set(false);
        active.update(&site.core.db).await.unwrap();
        assert_eq!(client.get("/account/").await.status, 303, "a deactivated user is signed out");
        let page = site.client().login("dave", PASSWORD).await;
        assert_eq!(page.status, 200, "and cannot sign in again");
    }
}

dbtest! {
    async fn logout_needs_post_and_renders_the_logged_out_page(site) {
        let (client, _) = site.signed_in_client("erin").await;
        assert_eq!(client.get("/account/logout/").await.status, 405);
        assert_eq!(client.get("/account/").await.status, 200, "GET did not sign out");
        let page = client.logout().await;
        assert_eq!(page.status, 200);
        assert_eq!(page.heading(), "Logged out");
        assert!(page.body.contains("You have been successfully logged out."));
        assert!(!page.body.contains("Hello Erin"), "the page no longer greets the user");
        assert_eq!(client.get("/account/").await.status, 303);
    }
}

dbtest! {
    async fn the_alternative_paths_keep_working(site) {
        site.create_user("fay", PASSWORD).await;
        let client = site.client();
        assert_eq!(client.get("/accounts/login/").await.heading(), "Log-in");
        // The courses app's sign-up address is the courses app's to add, not the accounts'.
        assert_eq!(client.get("/students/register/").await.status, 404);
        client.get("/accounts/login/").await;
        let page = client.post_form("/accounts/login/", &[("username", "fay"), ("password", PASSWORD)]).await;
        assert_eq!(page.status, 303);
    }
}

pub(crate) fn tiny_png() -> Vec<u8> {
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(8, 8, image::Rgb([10, 120, 200])).write_to(&mut png, image::ImageFormat::Png).unwrap();
    png.into_inner()
}

dbtest! {
    async fn the_profile_is_edited_with_a_photo_that_is_served_safely(site) {
        let (client, gina) = site.signed_in_client("gina").await;
        let form = reqwest::multipart::Form::new()
            .text("first_name", "Gina")
            .text("last_name", "Lopez")
            .text("email", "gina@example.org")
            .text("date_of_birth", "1990-04-01")
            .part("photo", reqwest::multipart::Part::bytes(tiny_png()).file_name("../../evil name.png").mime_str("image/png").unwrap());
        let saved = client.post_multipart("/account/edit/", form).await;
        assert_eq!((saved.status, saved.location()), (303, Some("/account/edit/")), "{}", saved.body);
        let page = client.get("/account/edit/").await;
        assert_eq!(page.messages(), vec!["Profile updated successfully"]);
        let profile = profile::Entity::find().filter(profile::Column::UserId.eq(gina.id)).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(profile.date_of_birth.map(|d| d.to_string()).as_deref(), Some("1990-04-01"));
        assert!(profile.photo.starts_with("users/") && profile.photo.ends_with(".png"), "{}", profile.photo);
        assert!(!profile.photo.contains("evil"), "the stored name is the server's");
        let photo = client.get(&format!("/media/{}", profile.photo)).await;
        assert_eq!(photo.status, 200);
        assert_eq!(photo.header("content-type"), Some("image/png"));
        assert_eq!(photo.header("x-content-type-options"), Some("nosniff"));
        assert!(photo.header("content-security-policy").unwrap().contains("sandbox"));
        let user = user::Entity::find_by_id(gina.id).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!((user.last_name.as_str(), user.email.as_str()), ("Lopez", "gina@example.org"));
    }
}

dbtest! {
    async fn a_file_that_is_not_an_image_is_refused(site) {
        let (client, _) = site.signed_in_client("hank").await;
        let form = reqwest::multipart::Form::new()
            .text("email", "hank@example.com")
            .part("photo", reqwest::multipart::Part::bytes(b"<html><script>alert(1)</script>".to_vec()).file_name("x.jpg").mime_str("image/jpeg").unwrap());
        let page = client.post_multipart("/account/edit/", form).await;
        assert_eq!(page.status, 200);
        assert!(page.form_errors().contains(&"Upload a valid image. The file you uploaded was either not an image or a corrupted image.".to_owned()), "{:?}", page.form_errors());
        assert_eq!(page.messages(), vec!["Error updating your profile"]);
    }
}

dbtest! {
    async fn another_users_email_cannot_be_taken_in_the_profile(site) {
        site.create_user("ivy", PASSWORD).await;
        let (client, _) = site.signed_in_client("jack").await;
        let form = reqwest::multipart::Form::new().text("email", "IVY@example.com");
        let page = client.post_multipart("/account/edit/", form).await;
        assert!(page.form_errors().contains(&"Email already in use.".to_owned()));
        let form = reqwest::multipart::Form::new().text("email", "jack@example.com").text("first_name", "Jack");
        assert_eq!(client.post_multipart("/account/edit/", form).await.status, 303, "keeping one's own address is fine");
    }
}

dbtest! {
    async fn pages_that_need_a_user_send_anonymous_visitors_to_sign_in(site) {
        let client = site.client();
        for path in ["/account/", "/account/edit/", "/account/password_change/", "/account/password_change/done/"] {
            let page = client.get(path).await;
            assert_eq!(page.status, 303, "{path}");
            let expected = format!("/account/login/?next={}", path.replace('/', "%2F"));
            assert_eq!(page.location(), Some(expected.as_str()), "{path}");
        }
    }
}

dbtest! {
    async fn users_racing_for_one_address_get_the_form_error_and_leave_no_photo_behind(site) {
        // The check before the update leaves a window; the unique index closes it. Twelve
        // users ask for one address at once (with a photo, which widens the window): one gets
        // it, the others the form's error, never a 500, and no refused photo stays on disk.
        let mut clients = Vec::new();
        for n in 0..12 {
            clients.push(site.signed_in_client(&format!("racer{n}")).await.0);
        }
        let answers = futures_util::future::join_all(clients.iter().map(|client| {
            let form = reqwest::multipart::Form::new()
                .text("email", "wanted@example.com")
                .part("photo", reqwest::multipart::Part::bytes(tiny_png()).file_name("me.png").mime_str("image/png").unwrap());
            client.post_multipart("/account/edit/", form)
        }))
        .await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(statuses.iter().filter(|&&s| s == 303).count(), 1, "{statuses:?}");
        for page in answers.iter().filter(|a| a.status != 303) {
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.form_errors().contains(&"Email already in use.".to_owned()), "{:?}", page.form_errors());
        }
        let owners = user::Entity::find().filter(user::Column::Email.eq("wanted@example.com")).all(&site.core.db).await.unwrap();
        assert_eq!(owners.len(), 1);
        let winner = profile::Entity::find().filter(profile::Column::UserId.eq(owners[0].id)).one(&site.core.db).await.unwrap().unwrap();
        let folder = site.core.settings.media_root().join(&winner.photo);
        let photos = std::fs::read_dir(folder.parent().unwrap()).unwrap().count();
        assert_eq!(photos, 1, "only the winner's photo is kept");
    }
}
