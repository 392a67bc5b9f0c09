//! A real browser signs in through the real sign-in page.

use quartet_testkit::{Backend, Browser, TestSite};
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_through_the_login_page_in_chromium() {
    let Some(browser) = Browser::start().await else { return };
    let site = TestSite::builder().start(Backend::Sqlite).await;
    site.create_user("amelia", "correct-horse-battery").await;
    let driver = &browser.driver;

    driver.goto(site.url("/account/")).await.unwrap();
    assert!(driver.current_url().await.unwrap().as_str().contains("/account/login/?next=%2Faccount%2F"));
    driver.find(By::Id("id_username")).await.unwrap().send_keys("amelia").await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys("correct-horse-battery").await.unwrap();
    driver.find(By::Css("form.form button[type=submit]")).await.unwrap().click().await.unwrap();

    let heading = driver.query(By::Tag("h1")).with_text("Dashboard").first().await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "Dashboard");
    assert!(driver.current_url().await.unwrap().path().ends_with("/account/"));
    let greeting = driver.find(By::Css(".user-menu .greeting")).await.unwrap().text().await.unwrap();
    assert_eq!(greeting, "Hello Amelia,");

    driver.find(By::Css(".user-menu button[type=submit]")).await.unwrap().click().await.unwrap();
    let heading = driver.query(By::Tag("h1")).with_text("Logged out").first().await.unwrap();
    assert!(heading.is_displayed().await.unwrap());
    browser.quit().await;
}
