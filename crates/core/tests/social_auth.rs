//! Sign-in with an OpenID Connect provider (the test kit's local one standing in for Google):
//! the whole flow over HTTP on SQLite and PostgreSQL, each forged or wrong answer refused, the
//! linking rules for an existing e-mail, the button, the limits; and once in Chromium.

use quartet_core::accounts::social::{SocialAuthSettings, model};
use quartet_core::auth::models::{profile, user};
use quartet_testkit::{Backend, Browser, OidcPerson, OidcProvider, TestClient, TestSite, TokenFault};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

const CLIENT_ID: &str = "quartet-test-client";
const CLIENT_SECRET: &str = "not-a-real-secret";

/// A site whose Google preset points at `idp`.
async fn site_with(idp: &OidcProvider, backend: Backend, change: fn(&mut SocialAuthSettings)) -> Option<TestSite> {
    let issuer = idp.issuer();
    let builder = TestSite::builder().settings(move |s| {
        let social = s.app_mut::<SocialAuthSettings>();
        social.google_client_id = CLIENT_ID.into();
        social.google_client_secret = quartet_core::config::Secret::new(CLIENT_SECRET);
        social.google_issuer = issuer;
        change(social);
    });
    match backend {
        Backend::Sqlite => Some(builder.start(Backend::Sqlite).await),
        Backend::Postgres => builder.start_postgres().await,
    }
}

/// The path and query of an absolute `Location`.
fn path_of(location: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

/// Starts a sign-in and lets the provider consent: the callback's path and query.
async fn to_callback(client: &TestClient, next: &str) -> String {
    let start = client.get(&format!("/social-auth/login/google-oauth2/?next={next}")).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.location().unwrap().to_owned();
    assert!(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce="), "{authorize}");
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let consent = no_redirects.get(&authorize).send().await.unwrap();
    assert_eq!(consent.status(), 303);
    path_of(consent.headers()["location"].to_str().unwrap())
}

/// The message the sign-in page shows after a refusal, and that nobody is signed in.
async fn refused_with(client: &TestClient, callback: &str) -> String {
    let answer = client.get(callback).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), Some("/account/login/"));
    let page = client.get("/account/login/").await;
    assert_eq!(client.get("/account/").await.status, 303, "not signed in");
    page.messages().join(" ")
}

async fn accounts(site: &TestSite) -> u64 {
    user::Entity::find().count(&site.core.db).await.unwrap()
}

async fn a_new_person_gets_an_account_with_a_profile_and_comes_back_to_it(site: TestSite, idp: OidcProvider) {
    let client = site.client();
    let login = client.get("/account/login/").await;
    assert_eq!(login.attrs(".social-login", "href"), ["/social-auth/login/google-oauth2/"]);
    assert_eq!(login.texts(".social-login"), ["Sign in with Google"]);
    let spanish = site.client().get_with_headers("/account/login/", &[("accept-language", "es")]).await;
    assert_eq!(spanish.texts(".social-login"), ["Iniciar sesión con Google"]);

    let callback = to_callback(&client, "/images/").await;
    assert!(callback.starts_with("/social-auth/complete/google-oauth2/?code="), "{callback}");
    let done = client.get(&callback).await;
    assert_eq!((done.status, done.location()), (303, Some("/images/")), "{}", done.body);
    let dashboard = client.get("/account/").await;
    assert_eq!(dashboard.status, 200, "signed in");
    assert!(dashboard.body.contains("Hello Ada,"), "{}", dashboard.body);

    let ada = user::Entity::find()
        .filter(user::Column::Email.eq("ada@example.com"))
        .one(&site.core.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ada.username.as_str(), ada.first_name.as_str()), ("ada", "Ada"));
    assert!(!ada.has_usable_password(), "no password: the provider signs them in");
    let profile = profile::Entity::find().filter(profile::Column::UserId.eq(ada.id)).one(&site.core.db).await.unwrap();
    assert!(profile.is_some(), "the create_profile step");
    let link = model::Entity::find().one(&site.core.db).await.unwrap().unwrap();
    assert_eq!(
        (link.user_id, link.provider.as_str(), link.uid.as_str()),
        (ada.id, "google-oauth2", "10769150350006150715113082367")
    );

    // Again, from another browser, with a changed address: the same account (found by subject).
    idp.person(OidcPerson {
        subject: "10769150350006150715113082367".into(),
        email: "ada.lovelace@example.com".into(),
        email_verified: true,
        given_name: "Ada".into(),
    });
    let other = site.client();
    let again = other.get(&to_callback(&other, "").await).await;
    assert_eq!((again.status, again.location()), (303, Some("/account/")));
    assert_eq!(accounts(&site).await, 1, "no second account");
    assert_eq!(idp.tokens_issued(), 2);
}

async fn forged_replayed_and_wrong_answers_are_refused(site: TestSite, idp: OidcProvider) {
    let client = site.client();
    let callback = to_callback(&client, "").await;
    let forged = callback.replace("state=", "state=x");
    let message = refused_with(&client, &forged).await;
    assert_eq!(message, "The answer from Google did not belong to this sign-in; you were not signed in.");
    assert_eq!(idp.tokens_issued(), 0, "a forged state: the code is never exchanged");
    let message = refused_with(&client, &callback).await;
    assert_eq!(message, "This sign-in with Google has expired or was started in another browser. Please try again.");
    let message = refused_with(&site.client(), &callback).await;
    assert!(message.contains("has expired or was started in another browser"), "another browser: {message}");

    for fault in [TokenFault::WrongNonce, TokenFault::Expired, TokenFault::OtherKey, TokenFault::WrongAudience] {
        let client = site.client();
        let callback = to_callback(&client, "").await;
        idp.next_token(fault);
        let message = refused_with(&client, &callback).await;
        assert_eq!(message, "The answer from Google could not be verified; you were not signed in.", "{fault:?}");
    }
    assert_eq!(accounts(&site).await, 0, "nothing was created");

    let cancelled = site.client();
    cancelled.get("/social-auth/login/google-oauth2/").await;
    let message = refused_with(&cancelled, "/social-auth/complete/google-oauth2/?error=access_denied&state=x").await;
    assert_eq!(message, "Signing in with Google was cancelled.");
    assert_eq!(site.client().get("/social-auth/login/github/").await.status, 404, "no such provider");

    let spanish = site.client();
    spanish.set_cookie("quartet_language", "es");
    let forged = to_callback(&spanish, "").await.replace("state=", "state=x");
    spanish.get(&forged).await;
    let page = spanish.get_with_headers("/account/login/", &[("accept-language", "es")]).await;
    assert_eq!(
        page.messages(),
        ["La respuesta de Google no correspondía a este inicio de sesión; no se ha iniciado la sesión."]
    );
}

async fn an_existing_e_mail_is_not_taken_over(site: TestSite, _idp: OidcProvider) {
    site.create(quartet_core::auth::NewUser {
        username: "lovelace".into(),
        email: "ADA@example.com".into(),
        password: Some("correct-horse-battery".into()),
        ..Default::default()
    })
    .await;
    let client = site.client();
    let message = refused_with(&client, &to_callback(&client, "").await).await;
    assert_eq!(message, "An account with this e-mail address already exists. Sign in with your username and password.");
    assert_eq!(accounts(&site).await, 1);
    assert_eq!(model::Entity::find().count(&site.core.db).await.unwrap(), 0);
}

async fn a_verified_e_mail_joins_its_account_when_allowed(site: TestSite, idp: OidcProvider) {
    let lovelace = site
        .create(quartet_core::auth::NewUser {
            username: "lovelace".into(),
            email: "ada@example.com".into(),
            ..Default::default()
        })
        .await;
    idp.person(OidcPerson {
        subject: "unverified".into(),
        email: "ada@example.com".into(),
        email_verified: false,
        given_name: "Ada".into(),
    });
    let client = site.client();
    let message = refused_with(&client, &to_callback(&client, "").await).await;
    assert!(message.starts_with("An account with this e-mail address already exists."), "unverified: {message}");

    idp.person(OidcPerson {
        subject: "verified".into(),
        email: "ada@example.com".into(),
        email_verified: true,
        given_name: "Ada".into(),
    });
    let client = site.client();
    let done = client.get(&to_callback(&client, "").await).await;
    assert_eq!(done.status, 303);
    let link = model::Entity::find().one(&site.core.db).await.unwrap().unwrap();
    assert_eq!((link.user_id, link.uid.as_str()), (lovelace.id, "verified"));
    assert_eq!(accounts(&site).await, 1);
}

macro_rules! on_both {
    ($name:ident, $change:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let idp = OidcProvider::start(CLIENT_ID, CLIENT_SECRET).await;
                let site = site_with(&idp, Backend::Sqlite, $change).await.unwrap();
                super::$name(site, idp).await;
            }

            #[cfg_attr(not(quartet_postgres), ignore = "set QUARTET_TEST_DATABASE_URL to run it on PostgreSQL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let idp = OidcProvider::start(CLIENT_ID, CLIENT_SECRET).await;
                let Some(site) = site_with(&idp, Backend::Postgres, $change).await else { return };
                super::$name(site, idp).await;
            }
        }
    };
}

on_both!(a_new_person_gets_an_account_with_a_profile_and_comes_back_to_it, |_| {});
on_both!(forged_replayed_and_wrong_answers_are_refused, |_| {});
on_both!(an_existing_e_mail_is_not_taken_over, |_| {});
on_both!(a_verified_e_mail_joins_its_account_when_allowed, |s| s.associate_by_email = true);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_provider_there_is_no_button_and_no_route() {
    let site = TestSite::builder().start(Backend::Sqlite).await;
    let client = site.client();
    assert!(client.get("/account/login/").await.texts(".social-login").is_empty());
    assert_eq!(client.get("/social-auth/login/google-oauth2/").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_are_limited_per_address_and_a_provider_down_is_a_message() {
    let idp = OidcProvider::start(CLIENT_ID, CLIENT_SECRET).await;
    let site = site_with(&idp, Backend::Sqlite, |s| s.starts_per_address_per_hour = 2).await.unwrap();
    let client = site.client();
    for _ in 0..2 {
        assert_eq!(client.get("/social-auth/login/google-oauth2/").await.status, 303, "within the limit");
    }
    assert_eq!(client.get("/social-auth/login/google-oauth2/").await.status, 429, "one more is refused");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let down = TestSite::builder()
        .settings(move |s| {
            let social = s.app_mut::<SocialAuthSettings>();
            social.google_client_id = CLIENT_ID.into();
            social.google_client_secret = quartet_core::config::Secret::new(CLIENT_SECRET);
            social.google_issuer = format!("http://{closed}");
        })
        .start(Backend::Sqlite)
        .await;
    let client = down.client();
    let answer = client.get("/social-auth/login/google-oauth2/").await;
    assert_eq!((answer.status, answer.location()), (303, Some("/account/login/")));
    assert_eq!(
        client.get("/account/login/").await.messages(),
        ["Signing in with Google is not possible right now. Please try again later."]
    );
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_google_in_chromium() {
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else { return };
    let idp = OidcProvider::start(CLIENT_ID, CLIENT_SECRET).await;
    let site = site_with(&idp, Backend::Sqlite, |_| {}).await.unwrap();
    let driver = &browser.driver;
    driver.goto(site.url("/account/login/?next=/account/")).await.unwrap();
    browser.click_and_wait(".social-login").await;
    let heading = driver.query(By::Tag("h1")).with_text("Dashboard").first().await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "Dashboard");
    let greeting = driver.find(By::Css(".user-menu .greeting")).await.unwrap().text().await.unwrap();
    assert_eq!(greeting, "Hello Ada,");
    assert_eq!(idp.tokens_issued(), 1);
    browser.quit().await;
}
