//! Password change, password reset by e-mail, validators and hashing (reliability A2, A4, A6,
//! A7, A9).

use chrono::Duration;
use quartet_core::auth::hashers::pbkdf2_sha256;
use quartet_core::auth::models::user;
use quartet_core::auth::validators::{UserAttributes, common_password_count, validate_password};
use quartet_core::config::{PasswordHasherKind, Profile, Settings};
use quartet_testkit::{TestClient, TestSite, dbtest};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

const PASSWORD: &str = "correct-horse-battery";
const NEW_PASSWORD: &str = "staple-orbit-velvet-42";

async fn stored_password(site: &TestSite, id: i64) -> String {
    user::Entity::find_by_id(id).one(&site.core.db).await.unwrap().unwrap().password
}

dbtest! {
    async fn changing_the_password_keeps_this_session_and_ends_the_others(site) {
        let (laptop, kim) = site.signed_in_client("kim").await;
        let phone = site.client();
        assert_eq!(phone.login("kim", PASSWORD).await.status, 303);

        let wrong = laptop
            .post_form("/account/password_change/", &[("old_password", "nope"), ("new_password1", NEW_PASSWORD), ("new_password2", NEW_PASSWORD)])
            .await;
        assert!(wrong.form_errors().contains(&"Your old password was entered incorrectly. Please enter it again.".to_owned()));
        let mismatch = laptop
            .post_form("/account/password_change/", &[("old_password", PASSWORD), ("new_password1", NEW_PASSWORD), ("new_password2", "other-thing-99")])
            .await;
        assert!(mismatch.form_errors().contains(&"The two password fields didn’t match.".to_owned()));
        let weak = laptop
            .post_form("/account/password_change/", &[("old_password", PASSWORD), ("new_password1", "example123"), ("new_password2", "example123")])
            .await;
        // quick_ratio("example123", "example") = 14/17 ≥ 0.7, against a part of kim@example.com.
        assert!(weak.form_errors().contains(&"The password is too similar to the email address.".to_owned()), "{:?}", weak.form_errors());

        let done = laptop
            .post_form("/account/password_change/", &[("old_password", PASSWORD), ("new_password1", NEW_PASSWORD), ("new_password2", NEW_PASSWORD)])
            .await;
        assert_eq!(done.location(), Some("/account/password_change/done/"));
        assert_eq!(laptop.get("/account/password_change/done/").await.heading(), "Password changed");
        assert_eq!(laptop.get("/account/").await.status, 200, "this session stays signed in");
        assert_eq!(phone.get("/account/").await.status, 303, "the other session is signed out");
        assert_eq!(site.client().login("kim", NEW_PASSWORD).await.status, 303);
        assert_ne!(stored_password(&site, kim.id).await, "");
    }
}

fn reset_link(site: &TestSite) -> String {
    let outbox = site.outbox();
    let mail = outbox.last().expect("a reset e-mail was sent");
    let line = mail.body.lines().find(|l| l.contains("/account/reset/")).expect("the e-mail has a link");
    line.split_once("://").map(|(_, rest)| rest).and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned())).unwrap()
}

async fn request_reset(client: &TestClient, email: &str) -> u16 {
    client.get("/account/password_reset/").await;
    client.post_form("/account/password_reset/", &[("email", email)]).await.status
}

dbtest! {
    async fn a_password_is_reset_through_the_e_mailed_link_once(site) {
        let lee = site.create_user("lee", PASSWORD).await;
        let client = site.client();
        assert_eq!(request_reset(&client, "LEE@example.com").await, 303);
        assert_eq!(client.get("/account/password_reset/done/").await.heading(), "Reset your password");
        let mail = site.outbox().pop().unwrap();
        assert_eq!(mail.to, vec!["lee@example.com"]);
        assert_eq!(mail.subject, "Password reset on Quartet");
        assert!(mail.body.starts_with("Someone asked for password reset for email lee@example.com. Follow the link below:\nhttp://"), "{}", mail.body);
        assert!(mail.body.trim_end().ends_with("Your username, in case you've forgotten: lee"), "{}", mail.body);

        let link = reset_link(&site);
        let first = client.get(&link).await;
        assert_eq!(first.status, 303);
        let form_url = first.location().unwrap().to_owned();
        assert!(form_url.ends_with("/set-password/"), "the token leaves the address bar: {form_url}");
        let form = client.get(&form_url).await;
        assert!(form.body.contains("Please enter your new password twice:"));
        let weak = client.post_form(&form_url, &[("new_password1", "12345678"), ("new_password2", "12345678")]).await;
        assert!(weak.form_errors().contains(&"This password is entirely numeric.".to_owned()));
        let set = client.post_form(&form_url, &[("new_password1", NEW_PASSWORD), ("new_password2", NEW_PASSWORD)]).await;
        assert_eq!(set.location(), Some("/account/reset/done/"));
        assert_eq!(client.get("/account/reset/done/").await.heading(), "Password set");
        assert_eq!(site.client().login("lee", NEW_PASSWORD).await.status, 303);

        let again = site.client().get(&link).await;
        assert_eq!(again.status, 200);
        assert!(again.body.contains("The password reset link was invalid, possibly because it has already been used."));
        let _ = lee;
    }
}

dbtest! {
    async fn reset_links_expire_after_three_days(site) {
        site.create_user("mia", PASSWORD).await;
        request_reset(&site.client(), "mia@example.com").await;
        let link = reset_link(&site);
        site.clock.advance(Duration::seconds(259_200));
        assert_eq!(site.client().get(&link).await.status, 303, "valid at exactly three days");
        site.clock.advance(Duration::seconds(1));
        let late = site.client().get(&link).await;
        assert_eq!(late.status, 200);
        assert!(late.body.contains("The password reset link was invalid"));
    }
}

dbtest! {
    async fn reset_links_die_after_a_sign_in(site) {
        site.create_user("nia", PASSWORD).await;
        request_reset(&site.client(), "nia@example.com").await;
        let link = reset_link(&site);
        site.clock.advance(Duration::seconds(2));
        assert_eq!(site.client().login("nia", PASSWORD).await.status, 303);
        assert!(site.client().get(&link).await.body.contains("The password reset link was invalid"));
    }
}

dbtest! {
    async fn unknown_addresses_get_the_same_page_and_no_mail(site) {
        site.create_user("olga", PASSWORD).await;
        let client = site.client();
        client.get("/account/password_reset/").await;
        let known = client.post_form("/account/password_reset/", &[("email", "olga@example.com")]).await;
        let unknown = client.post_form("/account/password_reset/", &[("email", "nobody@example.com")]).await;
        assert_eq!((known.status, known.location()), (unknown.status, unknown.location()));
        assert_eq!(site.outbox().len(), 1);
    }
}

dbtest! {
    async fn reset_mails_to_one_address_are_capped_per_hour(site) {
        site.create_user("pia", PASSWORD).await;
        let client = site.client();
        client.get("/account/password_reset/").await;
        let mut statuses = Vec::new();
        for _ in 0..50 {
            statuses.push(client.post_form("/account/password_reset/", &[("email", "pia@example.com")]).await.status);
        }
        assert_eq!(site.outbox().len(), 5, "five mails per address per hour");
        assert!(statuses.iter().all(|s| *s == 303 || *s == 429), "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 30, "thirty requests per address per hour");
        site.clock.advance(Duration::minutes(61));
        client.post_form("/account/password_reset/", &[("email", "pia@example.com")]).await;
        assert_eq!(site.outbox().len(), 6, "the cap resets after an hour");
    }
}

dbtest! {
    using quartet_testkit::TestSite::builder().settings(|s| s.site.base_url = "https://quartet.example".into());
    async fn reset_links_use_the_configured_site_address(site) {
        site.create_user("quinn", PASSWORD).await;
        request_reset(&site.client(), "quinn@example.com").await;
        let mail = site.outbox().pop().unwrap();
        assert!(mail.body.contains("\nhttps://quartet.example/account/reset/"), "{}", mail.body);
    }
}

dbtest! {
    async fn the_validators_accept_and_refuse_the_documented_cases(site) {
        let tr = site.core.tr("en");
        let user = UserAttributes { username: "rosalind", first_name: "Rosalind", last_name: "Franklin", email: "rosalind.franklin@example.com" };
        let check = |p: &str| validate_password(p, &user, 8, &tr);
        assert!(check("ab3$k9z").contains(&"This password is too short. It must contain at least 8 characters.".to_owned()));
        assert!(check("ab3$k9zq").is_empty(), "eight characters are enough");
        assert_eq!(check("password"), vec!["This password is too common."]);
        assert_eq!(check("Qwerty123"), vec!["This password is too common."], "compared lower-cased");
        assert_eq!(check("80357194652"), vec!["This password is entirely numeric."]);
        assert_eq!(check("rosalind1"), vec!["The password is too similar to the username."]);
        assert_eq!(check("franklin!"), vec!["The password is too similar to the last name."]);
        assert!(check(&"x7$Lq".repeat(13)[..64]).is_empty(), "64 characters are allowed");
        assert!(check(&"m3#Vb9".repeat(40)).is_empty(), "so are 240");
        assert!(check("ñandú-sobre-el-río").is_empty(), "unicode is fine");
        assert!(common_password_count() >= 20_000);
    }
}

#[test]
fn the_production_profile_hashes_as_asvs_requires() {
    let settings = Settings::defaults(Profile::Production);
    assert_eq!(settings.auth.password_hasher, PasswordHasherKind::Argon2id);
    assert!(settings.auth.argon2_memory_kib >= 47_104, "ASVS: at least 46 MiB");
    assert!(settings.auth.argon2_iterations >= 1 && settings.auth.argon2_parallelism >= 1);
    assert!(settings.auth.pbkdf2_iterations >= 600_000, "when PBKDF2 is chosen, at least 600,000 iterations");
}

dbtest! {
    async fn a_django_hash_is_upgraded_once_at_sign_in(site) {
        let sam = site.create_user("sam", "temporary-password-1").await;
        let django = pbkdf2_sha256(PASSWORD, "AbCdEfGhIjKlMnOpQrStUv", 720_000);
        let mut active: user::ActiveModel = sam.clone().into();
        active.password = Set(django.clone());
        active.update(&site.core.db).await.unwrap();

        assert_eq!(site.client().login("sam", PASSWORD).await.status, 303, "the Django hash verifies");
        let upgraded = stored_password(&site, sam.id).await;
        assert!(upgraded.starts_with("$argon2id$"), "re-hashed with the current hasher: {upgraded}");
        assert_eq!(site.client().login("sam", PASSWORD).await.status, 303);
        assert_eq!(stored_password(&site, sam.id).await, upgraded, "and only once");
    }
}
