//! A visitor in headless Chromium reads a post, comments on it and shares it.

use quartet_testkit::{Backend, Browser};
use thirtyfour::prelude::*;

use crate::support::{NewPost, add_post, at, blog_site};

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
    for path in
        ["/blog/".to_owned(), post.path(), format!("/blog/{}/share/", post.id), "/blog/search/?query=long".into()]
    {
        driver.goto(site.url(&path)).await.unwrap();
        let fits: bool = driver
            .execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![])
            .await
            .unwrap()
            .convert()
            .unwrap();
        assert!(fits, "{path} is wider than the screen");
    }
    browser.quit().await;
}
