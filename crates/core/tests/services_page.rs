//! The admin's services page: each service's state, the Redis report and key browser (read
//! only, sessions never shown), the permission it needs, and its notice board in Chromium.

use quartet_core::config::{CacheBackendKind, Secret, SessionBackendKind};
use quartet_testkit::{Backend, Browser, TestSite, TestSiteBuilder, dbtest};
use thirtyfour::prelude::*;

use crate::browser::{click_and_wait, heading};

dbtest! {
    async fn the_services_page_says_what_the_site_uses(site) {
        let (viewer, _) = site.staff_client("viewer", &["admin.view_services"]).await;
        let page = viewer.get("/admin/services/").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.heading(), "Services");
        let backends = page.texts("#services td code");
        assert_eq!(backends[1..], ["memory", "database", "memory", "database", "inline"], "{backends:?}");
        assert!(page.texts("#services tr.down").is_empty(), "everything answers");
        assert_eq!(page.text(".redis-board .empty"), "No Redis is configured (redis.url).");
        assert_eq!(page.attrs("#notice-board", "data-socket"), ["/admin/ws/notices/"]);

        let index = viewer.get("/admin/").await;
        assert!(index.texts("a").contains(&"Services".to_owned()), "listed on the admin index");
        let (other, _) = site.staff_client("other", &["core.view_job"]).await;
        assert_eq!(other.get("/admin/services/").await.status, 403);
        assert!(!other.get("/admin/").await.texts("a").contains(&"Services".to_owned()));
        assert_eq!(site.client().get("/admin/services/").await.status, 303, "anonymous: to the sign-in page");

        // Spanish.
        viewer.set_cookie("quartet_language", "es");
        let page = viewer.get("/admin/services/").await;
        assert_eq!(page.heading(), "Servicios");
        assert_eq!(page.text("#notice-board h2"), "Avisos en directo");
    }
}

fn on_redis() -> TestSiteBuilder {
    TestSite::builder().settings(|s| {
        s.cache.backend = CacheBackendKind::Redis;
        s.session.backend = SessionBackendKind::Redis;
        s.redis.url = Secret::new(std::env::var("QUARTET_TEST_REDIS_URL").unwrap_or_default());
    })
}

dbtest! { needs quartet_redis = "QUARTET_TEST_REDIS_URL"; using on_redis();
    async fn the_redis_report_and_key_browser_never_show_a_session(site) {
        let (viewer, _) = site.staff_client("viewer", &["admin.view_services"]).await;
        site.client().get("/").await; // cached pages and versions
        let prefix = site.core.settings.cache.key_prefix.clone();
        let page = viewer.get("/admin/services/").await;
        assert!(!page.text("#redis-version").is_empty(), "{}", page.body);
        assert!(page.text("#redis-memory").contains('B') || page.text("#redis-memory").contains('K') || page.text("#redis-memory").contains('M'));
        assert!(page.text("#redis-clients").parse::<u64>().unwrap() >= 1);
        assert!(!page.texts("#redis-databases tbody tr").is_empty());
        let keys = page.texts("#redis-keys td:first-child code");
        assert!(keys.iter().all(|k| k.starts_with(&prefix)), "{keys:?}");
        assert!(keys.iter().any(|k| k.starts_with(&format!("{prefix}v:"))), "the versions are listed: {keys:?}");

        let sessions = site.core.settings.session.key_prefix.clone();
        let page = viewer.get(&format!("/admin/services/?prefix={sessions}")).await;
        let rows = page.texts("#redis-keys tbody tr");
        assert!(!rows.is_empty(), "the staff user's own session is listed");
        assert!(page.texts("#redis-keys td:last-child code").is_empty(), "but no session's value is shown");
        assert!(page.texts("#redis-keys td:last-child .mini").iter().all(|t| t == "hidden"));
        assert!(!page.body.contains("_auth_user_id"), "no session data on the page");
    }
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_send_a_notice_and_see_it_arrive_in_the_browser() {
    let Some(browser) = Browser::start().await else { return };
    let site = TestSite::builder().start(Backend::Sqlite).await;
    site.create(quartet_core::auth::NewUser {
        username: "ada".into(),
        email: "ada@example.com".into(),
        password: Some(TestSite::PASSWORD.into()),
        is_staff: true,
        is_superuser: true,
        ..quartet_core::auth::NewUser::default()
    })
    .await;
    let driver = &browser.driver;
    driver.goto(site.url("/admin/services/")).await.unwrap();
    heading(driver, "Log in").await;
    driver.find(By::Id("id_username")).await.unwrap().send_keys("ada").await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys(TestSite::PASSWORD).await.unwrap();
    click_and_wait(driver, "main form button[type=submit]").await;
    heading(driver, "Services").await;

    let board = driver.find(By::Id("notice-board")).await.unwrap();
    board.wait_until().has_class("live").await.expect("the socket connects");
    let input = driver.find(By::Id("notice-message")).await.unwrap();
    input.send_keys("<b>Deploying</b> at five").await.unwrap();
    driver.find(By::Css(".notice-form button")).await.unwrap().click().await.unwrap();
    let notice = driver.query(By::Css(".notice-list li .notice-text")).first().await.expect("the notice arrives");
    assert_eq!(notice.text().await.unwrap(), "<b>Deploying</b> at five", "shown as text, not HTML");
    assert!(driver.find_all(By::Css(".notice-list b")).await.unwrap().is_empty());
    assert_eq!(driver.find(By::Css(".notice-list li strong")).await.unwrap().text().await.unwrap(), "ada");
    assert_eq!(input.prop("value").await.unwrap().unwrap_or_default(), "", "the field is emptied");
}
