//! In headless Chromium: the bookmarklet run on a page of another site (served by the test on
//! another loopback port) shows its large images; a click opens the bookmark form filled in,
//! and saving it bookmarks the image.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use quartet_bookmarks::models::image;
use quartet_bookmarks::settings::BookmarksSettings;
use quartet_testkit::{Backend, Browser};
use sea_orm::EntityTrait;
use thirtyfour::prelude::*;

use crate::support::{add_image, bookmarks_site};

/// Signs `username` in through the sign-in page.
async fn sign_in(browser: &Browser, site: &quartet_testkit::TestSite, username: &str) {
    let driver = &browser.driver;
    driver.goto(site.url("/account/login/?next=/account/")).await.unwrap();
    driver.find(By::Id("id_username")).await.unwrap().send_keys(username).await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys("correct-horse-battery").await.unwrap();
    browser.click_and_wait("form.form button[type=submit]").await;
    driver.query(By::Css("a.bookmarklet")).first().await.unwrap();
}

/// Waits until `css`'s text is `expected`.
async fn wait_for_text(driver: &WebDriver, css: &str, expected: &str) {
    let mut seen = String::new();
    for _ in 0..100 {
        seen = driver.find(By::Css(css)).await.unwrap().text().await.unwrap();
        if seen == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css}: {seen:?}, not {expected:?}");
}

/// A mark set on the page: still there after an action means the page was not reloaded.
async fn mark_page(driver: &WebDriver) {
    driver.execute("window.notReloaded = true;", vec![]).await.unwrap();
}

async fn still_marked(driver: &WebDriver) -> bool {
    driver.execute("return window.notReloaded === true;", vec![]).await.unwrap().convert().unwrap()
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likes_and_follows_answer_in_place_and_the_list_scrolls_to_its_end_in_chromium() {
    let Some(browser) = Browser::start().await else { return };
    let site = bookmarks_site().start(Backend::Sqlite).await;
    site.create_user("amelia", "correct-horse-battery").await;
    let ben = site.create_user("ben", "correct-horse-battery").await;
    let mut images = Vec::new();
    for i in 0..20 {
        images.push(add_image(&site, ben.id, &format!("Image {i}"), i).await);
    }
    let driver = &browser.driver;
    sign_in(&browser, &site, "amelia").await;

    // Like, then unlike, without a reload.
    driver.goto(site.url(&format!("/images/detail/{}/{}/", images[0].id, images[0].slug))).await.unwrap();
    mark_page(driver).await;
    driver.find(By::Css("button.like")).await.unwrap().click().await.unwrap();
    wait_for_text(driver, ".count", "1 like").await;
    assert_eq!(driver.find(By::Css("button.like")).await.unwrap().text().await.unwrap(), "Unlike");
    driver.find(By::Css("button.like")).await.unwrap().click().await.unwrap();
    wait_for_text(driver, ".count", "0 likes").await;
    assert_eq!(driver.find(By::Css("button.like")).await.unwrap().text().await.unwrap(), "Like");
    assert!(still_marked(driver).await, "the page was not reloaded");

    // Follow without a reload.
    driver.goto(site.url("/account/users/ben/")).await.unwrap();
    mark_page(driver).await;
    driver.find(By::Css("button.follow")).await.unwrap().click().await.unwrap();
    wait_for_text(driver, ".count", "1 follower").await;
    assert_eq!(driver.find(By::Css("button.follow")).await.unwrap().text().await.unwrap(), "Unfollow");
    assert!(still_marked(driver).await, "the page was not reloaded");

    // The list: 8 images, then the rest as the window scrolls, then no more requests.
    driver.set_window_rect(0, 0, 1000, 700).await.unwrap();
    driver.goto(site.url("/images/")).await.unwrap();
    let mut shown = 0;
    for _ in 0..100 {
        driver.execute("window.scrollTo(0, document.body.scrollHeight);", vec![]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        shown = driver.find_all(By::Css("#image-list .image")).await.unwrap().len();
        if shown == 20 {
            break;
        }
    }
    assert_eq!(shown, 20, "every image, once");
    for _ in 0..5 {
        driver.execute("window.scrollTo(0, document.body.scrollHeight);", vec![]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let titles: Vec<String> = {
        let mut out = Vec::new();
        for element in driver.find_all(By::Css("#image-list .image .title")).await.unwrap() {
            out.push(element.text().await.unwrap());
        }
        out
    };
    let expected: Vec<String> = (0..20).rev().map(|i| format!("Image {i}")).collect();
    assert_eq!(titles, expected, "in order, none twice after the end");
    browser.quit().await;
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let pixels =
        ::image::RgbImage::from_fn(width, height, |x, y| ::image::Rgb([(x % 256) as u8, (y % 256) as u8, 120]));
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, ::image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Another site: a page with a large photo, a small one and a large GIF.
async fn other_site() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (large, small) = (png(320, 280), png(60, 60));
    let page = r#"<!doctype html><html><head><title>Holiday</title></head><body>
        <img src="/photo.png" alt="beach"><img src="/small.png" alt="icon"><img src="/anim.gif" alt="gif">
        </body></html>"#;
    let app = Router::new()
        .route("/", get(move || async move { axum::response::Html(page) }))
        .route("/photo.png", get(move || async move { ([("content-type", "image/png")], large.clone()) }))
        .route("/small.png", get(move || async move { ([("content-type", "image/png")], small.clone()) }))
        .route("/anim.gif", get(move || async move { ([("content-type", "image/png")], png(300, 300)) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bookmarklet_bookmarks_an_image_of_another_site_in_chromium() {
    let Some(browser) = Browser::start().await else { return };
    let site = bookmarks_site()
        .settings(|s| s.app_mut::<BookmarksSettings>().fetch_allowed_hosts = vec!["127.0.0.1".into()])
        .start(Backend::Sqlite)
        .await;
    site.create_user("amelia", "correct-horse-battery").await;
    let other = other_site().await;
    let driver = &browser.driver;

    driver.goto(site.url("/account/login/?next=/account/")).await.unwrap();
    driver.find(By::Id("id_username")).await.unwrap().send_keys("amelia").await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys("correct-horse-battery").await.unwrap();
    browser.click_and_wait("form.form button[type=submit]").await;
    let button = driver.query(By::Css("a.bookmarklet")).first().await.unwrap();
    let launcher = button.attr("href").await.unwrap().unwrap();
    let code = launcher.strip_prefix("javascript:").expect("a javascript: link").to_owned();

    // On the other site, the bookmark button is run as a click on it would run it.
    driver.goto(format!("http://{other}/")).await.unwrap();
    driver.execute(&code, vec![]).await.unwrap();
    let choices = driver
        .query(By::Css("#quartet-bookmarklet .images img"))
        .wait(Duration::from_secs(10), Duration::from_millis(100))
        .all_from_selector_required()
        .await
        .unwrap();
    assert_eq!(choices.len(), 1, "only the large .png: the small image and the .gif are left out");
    assert_eq!(choices[0].attr("src").await.unwrap().unwrap(), format!("http://{other}/photo.png"));
    let heading = driver.find(By::Css("#quartet-bookmarklet h1")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "Select an image to bookmark:");

    let before = driver.windows().await.unwrap();
    choices[0].click().await.unwrap();
    let mut opened = None;
    for _ in 0..100 {
        let now = driver.windows().await.unwrap();
        if let Some(new) = now.into_iter().find(|w| !before.contains(w)) {
            opened = Some(new);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver.switch_to_window(opened.expect("the form opens in a new tab")).await.unwrap();
    let title = driver.query(By::Css("input[name=title]")).first().await.unwrap();
    assert_eq!(title.value().await.unwrap().as_deref(), Some("Holiday"));
    let url = driver.find(By::Css("input[name=url]")).await.unwrap().value().await.unwrap();
    assert_eq!(url.as_deref(), Some(format!("http://{other}/photo.png").as_str()));
    driver.find(By::Css("textarea[name=description]")).await.unwrap().send_keys("From the beach.").await.unwrap();
    browser.click_and_wait(".image-form button[type=submit]").await;

    let heading = driver.query(By::Tag("h1")).with_text("Holiday").first().await.unwrap();
    assert!(heading.is_displayed().await.unwrap());
    let message = driver.find(By::Css(".messages li")).await.unwrap().text().await.unwrap();
    assert!(message.starts_with("Image added successfully"), "{message}");
    let saved = image::Entity::find().one(&site.core.db).await.unwrap().expect("the image is saved");
    assert_eq!((saved.title.as_str(), saved.description.as_str()), ("Holiday", "From the beach."));
    browser.quit().await;
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bookmarks_fit_a_phone_screen() {
    let Some(browser) = Browser::start().await else { return };
    let site = bookmarks_site().start(Backend::Sqlite).await;
    let amelia = site.create_user("amelia", "correct-horse-battery").await;
    let image = add_image(&site, amelia.id, "A rather long title for an image seen on a phone screen", 0).await;
    let driver = &browser.driver;
    sign_in(&browser, &site, "amelia").await;
    driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    let paths = [
        "/account/".to_owned(),
        "/images/".into(),
        format!("/images/detail/{}/{}/", image.id, image.slug),
        "/images/ranking/".into(),
        "/images/create/?url=https://example.com/a-very-long-address/of/an/image/somewhere/far/away.jpg&title=T".into(),
        "/account/users/".into(),
        "/account/users/amelia/".into(),
    ];
    browser.assert_fits(&site, &paths).await;
    browser.quit().await;
}
