//! Session keys, cookies, fixation and expiry (reliability A8, A10, A11).

use std::collections::HashSet;

use chrono::Duration;
use quartet_core::config::{CacheBackendKind, Secret, SessionBackendKind};
use quartet_core::session::{is_valid_key, new_key};
use quartet_testkit::{TcpProxy, TestSite, dbtest};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Map, Value};

const PASSWORD: &str = "correct-horse-battery";

async fn stored(site: &TestSite, key: &str) -> Option<Map<String, Value>> {
    site.core.sessions.load(key, site.core.now()).await.unwrap().map(|r| r.data)
}

#[test]
fn session_keys_are_32_random_lowercase_letters_and_digits() {
    let keys: HashSet<String> = (0..100_000).map(|_| new_key()).collect();
    assert_eq!(keys.len(), 100_000, "no repeats in 100,000 keys");
    assert!(keys.iter().all(|k| is_valid_key(k) && k.len() == 32));
}

dbtest! {
    async fn the_session_cookie_has_djangos_attributes(site) {
        site.create_user("uma", PASSWORD).await;
        let client = site.client();
        let page = client.login("uma", PASSWORD).await;
        let cookie = page.set_cookies().into_iter().find(|c| c.starts_with("sessionid=")).expect("a session cookie");
        let key = cookie.trim_start_matches("sessionid=").split(';').next().unwrap();
        assert!(is_valid_key(key), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP in development");
    }
}

dbtest! {
    using quartet_testkit::TestSite::builder().settings(|s| { s.session.cookie_secure = true; s.security.csrf_cookie_secure = true; });
    async fn production_cookies_are_secure(site) {
        site.create_user("vera", PASSWORD).await;
        let page = site.client().get("/account/login/").await;
        let csrf = page.set_cookies().into_iter().find(|c| c.starts_with("csrftoken=")).unwrap();
        assert!(csrf.contains("Secure"), "{csrf}");
        // Secure cookies do not come back over plain HTTP, so the form's token and cookie are given by hand.
        let client = site.client();
        let secret = "a".repeat(32);
        client.set_cookie("csrftoken", &secret);
        let page = client
            .send(client.request(reqwest::Method::POST, "/account/login/").header("origin", client.origin()).form(&[
                ("csrfmiddlewaretoken", secret.as_str()),
                ("username", "vera"),
                ("password", PASSWORD),
            ]))
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let session = page.set_cookies().into_iter().find(|c| c.starts_with("sessionid=")).expect("a session cookie");
        assert!(session.contains("Secure"), "{session}");
    }
}

/// Sign-in cycles the key and keeps the data; sign-out deletes the session (every store).
async fn keys_cycle_at_sign_in_and_sign_out_deletes(site: &TestSite) {
    site.create_user("walt", PASSWORD).await;
    site.create_user("xena", PASSWORD).await;
    let mut data = Map::new();
    data.insert("cart".into(), serde_json::json!({"7": {"quantity": 2}}));
    let k1 = site.core.sessions.create(&data, site.core.now() + Duration::days(1)).await.unwrap();
    let client = site.client();
    client.set_cookie("sessionid", &k1);
    let csrf_before = client.csrf_token().await;

    assert_eq!(client.login("walt", PASSWORD).await.status, 303);
    let k2 = client.cookie("sessionid").unwrap();
    assert_ne!(k1, k2, "a new key at sign-in");
    assert!(stored(site, &k1).await.is_none(), "the old key is gone");
    assert_eq!(stored(site, &k2).await.unwrap()["cart"], data["cart"], "the anonymous data is kept");
    assert_ne!(client.cookie("csrftoken").unwrap(), csrf_before, "the CSRF secret changed at sign-in");

    // Signing in as someone else on the same session starts an empty one.
    assert_eq!(client.login("xena", PASSWORD).await.status, 303);
    let k3 = client.cookie("sessionid").unwrap();
    assert_ne!(k3, k2);
    assert!(!stored(site, &k3).await.unwrap().contains_key("cart"), "the other user's data is not kept");

    client.logout().await;
    assert!(stored(site, &k3).await.is_none(), "signing out deletes the session on the server");
    assert_eq!(client.get("/account/").await.status, 303);
}

/// A session ends after its age (every store).
async fn sessions_end_after_two_weeks(site: &TestSite) {
    let (client, _) = site.signed_in_client("yuri").await;
    assert_eq!(client.get("/account/").await.status, 200);
    site.clock.advance(Duration::seconds(1_209_599));
    assert_eq!(client.get("/account/").await.status, 200, "still valid just before two weeks");
    site.clock.advance(Duration::seconds(2));
    assert_eq!(client.get("/account/").await.status, 303, "anonymous after two weeks");
}

dbtest! {
    async fn signing_in_gives_the_session_a_new_key_and_keeps_its_data(site) {
        keys_cycle_at_sign_in_and_sign_out_deletes(&site).await;
    }
}

dbtest! {
    async fn an_expired_session_is_anonymous(site) {
        sessions_end_after_two_weeks(&site).await;
        assert!(site.core.sessions.clear_expired(site.core.now()).await.unwrap() >= 1);
    }
}

fn on(backend: SessionBackendKind, cache: CacheBackendKind) -> quartet_testkit::TestSiteBuilder {
    quartet_testkit::TestSite::builder().settings(move |s| {
        s.session.backend = backend;
        s.cache.backend = cache;
        s.redis.url = Secret::new(std::env::var("QUARTET_TEST_REDIS_URL").unwrap_or_default());
    })
}

dbtest! { needs quartet_redis = "QUARTET_TEST_REDIS_URL"; using on(SessionBackendKind::Redis, CacheBackendKind::Memory);
    async fn sessions_in_redis_behave_as_in_the_database(site) {
        keys_cycle_at_sign_in_and_sign_out_deletes(&site).await;
        sessions_end_after_two_weeks(&site).await;
        let rows: u64 = quartet_core::session::entity::Entity::find().count(&site.core.db).await.unwrap();
        assert_eq!(rows, 0, "no session row in the database");
    }
}

dbtest! { using on(SessionBackendKind::CachedDb, CacheBackendKind::Memory);
    async fn cached_db_sessions_are_read_from_the_cache_and_kept_in_the_database(site) {
        keys_cycle_at_sign_in_and_sign_out_deletes(&site).await;
        sessions_end_after_two_weeks(&site).await;
        // A signed-in page reads the session from the cache, not the table.
        let (client, _) = site.signed_in_client("cora").await;
        client.get("/account/").await;
        let before = site.core.queries.total();
        client.get("/account/login/").await;
        let cached = site.core.queries.total() - before;
        site.core.cache.clear().await;
        let before = site.core.queries.total();
        client.get("/account/login/").await;
        assert_eq!(site.core.queries.total() - before, cached + 1, "after the cache is cleared the row is read, once");
        assert_eq!(client.get("/account/").await.status, 200, "the session outlives the cache");
    }
}

dbtest! { needs quartet_redis = "QUARTET_TEST_REDIS_URL"; using on(SessionBackendKind::CachedDb, CacheBackendKind::Redis);
    async fn cached_db_sessions_on_redis_end_on_every_instance_at_sign_out(site) {
        keys_cycle_at_sign_in_and_sign_out_deletes(&site).await;
        let other = on(SessionBackendKind::CachedDb, CacheBackendKind::Redis).start_on(site.database()).await;
        let (client, _) = site.signed_in_client("dora").await;
        let key = client.cookie("sessionid").unwrap();
        let on_other = other.client();
        on_other.set_cookie("sessionid", &key);
        assert_eq!(on_other.get("/account/").await.status, 200, "the other instance knows the session");
        client.logout().await;
        assert_eq!(on_other.get("/account/").await.status, 303, "signed out there too, at once");
    }
}

dbtest! { needs quartet_redis = "QUARTET_TEST_REDIS_URL"; using on(SessionBackendKind::Redis, CacheBackendKind::Memory);
    async fn a_stopped_redis_signs_nobody_in_but_every_page_answers(site) {
        let url = std::env::var("QUARTET_TEST_REDIS_URL").unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let proxy = TcpProxy::start(&format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap_or(6379))).await;
        let redis = proxy.url(&url);
        let site = on(SessionBackendKind::Redis, CacheBackendKind::Memory)
            .settings(move |s| s.redis.url = Secret::new(redis.clone()))
            .start_on(site.database())
            .await;
        let (client, _) = site.signed_in_client("ezra").await;
        assert_eq!(client.get("/account/").await.status, 200);

        proxy.cut().await;
        assert_eq!(client.get("/").await.status, 200, "a page answers, the visitor seen as signed out");
        assert_eq!(client.get("/account/").await.status, 303);
        site.create_user("fern", PASSWORD).await;
        let refused = site.client().login("fern", PASSWORD).await;
        assert_eq!(refused.status, 503);
        assert!(refused.body.contains("The service is temporarily unavailable. Please try again shortly."), "{}", refused.body);

        proxy.restore();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(client.get("/account/").await.status, 200, "signed in again once Redis is back, no restart");
    }
}

dbtest! {
    using quartet_testkit::TestSite::builder().settings(|s| { s.session.idle_timeout_seconds = 1800; s.session.absolute_timeout_seconds = 43_200; });
    async fn the_asvs_profile_signs_out_after_idling_or_twelve_hours(site) {
        let (client, _) = site.signed_in_client("zoe").await;
        for _ in 0..24 {
            site.clock.advance(Duration::minutes(29));
            assert_eq!(client.get("/account/").await.status, 200, "active every 29 minutes, up to 11 h 36 min");
        }
        site.clock.advance(Duration::minutes(29));
        assert_eq!(client.get("/account/").await.status, 303, "signed out 12 hours after signing in (12 h 05 min)");

        let (idle, _) = site.signed_in_client("zack").await;
        site.clock.advance(Duration::minutes(31));
        assert_eq!(idle.get("/account/").await.status, 303, "signed out after 31 idle minutes");
    }
}

dbtest! {
    async fn junk_session_cookies_never_reach_the_store(site) {
        // The statements one sign-in page costs with the given cookie (none: no cookie).
        let statements = async |cookie: Option<&str>| {
            let client = site.client();
            if let Some(value) = cookie {
                client.set_cookie("sessionid", value);
            }
            let before = site.core.queries.total();
            assert_eq!(client.get("/account/login/").await.status, 200, "{cookie:?}");
            site.core.queries.total() - before
        };
        let without = statements(None).await;
        for junk in ["x", "../../etc/passwd", &"A".repeat(32), &"a".repeat(33), "a%00aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] {
            assert_eq!(statements(Some(junk)).await, without, "the cookie {junk:?} was looked up");
        }
        // A key of the right form is looked up (once): the count above can see a lookup.
        assert_eq!(statements(Some(&"a".repeat(32))).await, without + 1, "a well-formed key is read from the store");
    }
}
