//! A visitor in headless Chromium reads a post, comments on it and shares it.

use quartet_testkit::{Backend, Browser};
use thirtyfour::prelude::*;

use crate::support::{NewPost, add_post, at, blog_site};

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_reads_a_post_comments_and_shares_it_in_chromium() {
    let Some(browser) = Browser::start().await else { return };
    let site = blog_site().start(Backend::Sqlite).await;
    add_post(&site, NewPost::published("Older news", at(-48)).tags(&["News"])).await;
    add_post(&site, NewPost::published("Fresh ideas", at(0)).body("An **important** idea.").tags(&["News"])).await;
    let driver = &browser.driver;

    driver.goto(site.url("/blog/")).await.unwrap();
    driver.find(By::LinkText("Fresh ideas")).await.unwrap().click().await.unwrap();
    let title = driver.query(By::Css(".post h1")).first().await.unwrap();
    assert_eq!(title.text().await.unwrap(), "Fresh ideas");
    assert_eq!(driver.find(By::Css(".post-body strong")).await.unwrap().text().await.unwrap(), "important");
    assert_eq!(driver.find(By::Css(".similar-posts li")).await.unwrap().text().await.unwrap(), "Older news");

    driver.find(By::Id("id_name")).await.unwrap().send_keys("Ada").await.unwrap();
    driver.find(By::Id("id_email")).await.unwrap().send_keys("ada@example.com").await.unwrap();
    driver.find(By::Id("id_body")).await.unwrap().send_keys("What a fresh idea!").await.unwrap();
    browser.click_and_wait(".comment-form button[type=submit]").await;
    let added = driver.query(By::Css(".blog-main h2")).first().await.unwrap();
    assert_eq!(added.text().await.unwrap(), "Your comment has been added.");
    browser.click_and_wait(".blog-main a").await;
    let comment = driver.query(By::Css(".comment")).first().await.unwrap();
    assert!(comment.text().await.unwrap().contains("What a fresh idea!"));
    assert!(comment.text().await.unwrap().contains("Comment 1 by Ada"));
    assert_eq!(driver.find(By::Css(".comments h2")).await.unwrap().text().await.unwrap(), "1 comment");

    driver.find(By::LinkText("Share this post")).await.unwrap().click().await.unwrap();
    driver.query(By::Id("id_name")).first().await.unwrap().send_keys("Ada").await.unwrap();
    driver.find(By::Id("id_email")).await.unwrap().send_keys("ada@example.com").await.unwrap();
    driver.find(By::Id("id_to")).await.unwrap().send_keys("friend@example.com").await.unwrap();
    driver.find(By::Id("id_comments")).await.unwrap().send_keys("You will like it").await.unwrap();
    browser.click_and_wait(".share-form button[type=submit]").await;
    let heading = driver.query(By::Tag("h1")).first().await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "E-mail successfully sent");

    let mail = site.outbox();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, ["friend@example.com"]);
    assert_eq!(mail[0].subject, "Ada (ada@example.com) recommends you read Fresh ideas");
    assert!(mail[0].body.starts_with(&format!("Read Fresh ideas at {}", site.url("/blog/2026/3/7/fresh-ideas/"))));
    assert!(mail[0].body.ends_with("Ada's comments: You will like it"));
    browser.quit().await;
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blog_fits_a_phone_screen() {
    let Some(browser) = Browser::start().await else { return };
    let site = blog_site().start(Backend::Sqlite).await;
    let long = "A long paragraph with a verylongwordthatdoesnotbreakeasilyanywhereatallreally and `code` ".repeat(5);
    let post = add_post(
        &site,
        NewPost::published("A title that is rather long for a phone", at(0)).body(&long).tags(&["Phones"]),
    )
    .await;
    let driver = &browser.driver;
    driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    let paths = [
        "/blog/".to_owned(),
        post.path(&site.core),
        format!("/blog/{}/share/", post.id),
        "/blog/search/?query=long".into(),
    ];
    browser.assert_fits(&site, &paths).await;
    // Search results start with their title, no empty band above it.
    let gap: String = driver.find(By::Css(".search-result h4")).await.unwrap().css_value("margin-top").await.unwrap();
    assert_eq!(gap, "0px");
    browser.quit().await;
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_approve_a_comment_from_the_list_with_save_in_chromium() {
    use quartet_blog::models::comment;
    use sea_orm::EntityTrait;

    let Some(browser) = Browser::start().await else { return };
    let site = blog_site().start(Backend::Sqlite).await;
    let post = add_post(&site, NewPost::published("Moderated", at(0))).await;
    let waiting = crate::support::add_comment(&site, post.id, "Zed", "Please approve me.", false).await;
    crate::support::add_comment(&site, post.id, "Amy", "Already shown.", true).await;
    site.create(quartet_core::auth::NewUser {
        username: "mod".into(),
        email: "mod@example.com".into(),
        password: Some("correct-horse-battery".into()),
        is_staff: true,
        is_superuser: true,
        ..Default::default()
    })
    .await;
    let driver = &browser.driver;
    driver.goto(site.url("/admin/blog/comment/")).await.unwrap();
    driver.find(By::Id("id_username")).await.unwrap().send_keys("mod").await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys("correct-horse-battery").await.unwrap();
    browser.click_and_wait("main form button[type=submit]").await;

    // Tick "Active" on the waiting comment's row; no action is chosen; press Save.
    let rows = driver.find_all(By::Css("#result_list tbody tr")).await.unwrap();
    let mut ticked = false;
    for row in rows {
        if row.text().await.unwrap().contains("Zed") {
            row.find(By::Css("input[type=checkbox][name$='-active']")).await.unwrap().click().await.unwrap();
            ticked = true;
        }
    }
    assert!(ticked, "the waiting comment is listed with an Active box");
    assert_eq!(
        driver.find(By::Css("select[name=action]")).await.unwrap().prop("value").await.unwrap().as_deref(),
        Some("")
    );
    browser.click_and_wait("button[name=_save]").await;

    let message = driver.query(By::Css(".messages li")).first().await.unwrap().text().await.unwrap();
    assert!(message.contains("was changed successfully"), "{message}");
    let saved = comment::Entity::find_by_id(waiting.id).one(&site.core.db).await.unwrap().unwrap();
    assert!(saved.active, "the comment is active after Save");
    browser.quit().await;
}
