//! The admin in headless Chromium: the slug fills itself from the title, inline chapters are
//! added and removed in the page, a raw-id lookup window picks the author, the list is filtered
//! and the selected rows are exported to CSV.

use quartet_testkit::{Backend, Browser};
use thirtyfour::prelude::*;

use crate::admin::PASSWORD;
use crate::browser::{click_and_wait, heading, messages};
use crate::library::{book, chapter, library_site};
use quartet_core::auth::NewUser;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

async fn value(driver: &WebDriver, css: &str) -> String {
    driver.find(By::Css(css)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
}

async fn count(driver: &WebDriver, css: &str) -> usize {
    driver.find_all(By::Css(css)).await.unwrap().len()
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_user_adds_a_book_with_chapters_filters_the_list_and_exports_csv() {
    let Some(browser) = Browser::start().await else { return };
    let site = library_site().start(Backend::Sqlite).await;
    let ada = site
        .create(NewUser {
            username: "ada".into(),
            email: "ada@example.com".into(),
            password: Some(PASSWORD.into()),
            is_staff: true,
            is_superuser: true,
            ..NewUser::default()
        })
        .await;
    crate::admin::add_book(&site, "An Older Draft", "DF", site.core.now(), None).await;
    crate::admin::add_book(&site, "Already Out", "PB", site.core.now(), None).await;
    let driver = &browser.driver;

    // Sign in through the admin's own page.
    driver.goto(site.url("/admin/library/book/add/")).await.unwrap();
    heading(driver, "Log in").await;
    driver.find(By::Id("id_username")).await.unwrap().send_keys("ada").await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    click_and_wait(driver, "main form button[type=submit]").await;
    heading(driver, "Add book").await;

    // The slug follows the title as it is typed.
    driver.find(By::Id("id_title")).await.unwrap().send_keys("Crème Brûlée & Rust").await.unwrap();
    assert_eq!(value(driver, "#id_slug").await, "creme-brulee-rust");

    // Two blank chapter rows; a third is added then removed, then one more added and kept.
    assert_eq!(count(driver, "#chapter_set-group tbody .inline-form").await, 2);
    driver.find(By::Css("#chapter_set-group .add-inline")).await.unwrap().click().await.unwrap();
    assert_eq!(count(driver, "#chapter_set-group tbody .inline-form").await, 3);
    assert_eq!(value(driver, "#id_chapter_set-TOTAL_FORMS").await, "3");
    driver.find(By::Css("#chapter_set-2 .inline-remove")).await.unwrap().click().await.unwrap();
    assert_eq!(count(driver, "#chapter_set-group tbody .inline-form").await, 2);
    assert_eq!(value(driver, "#id_chapter_set-TOTAL_FORMS").await, "2");
    for (index, number, title) in [(0, "1", "Whisking"), (1, "2", "Caramelising")] {
        driver.find(By::Id(format!("id_chapter_set-{index}-number"))).await.unwrap().send_keys(number).await.unwrap();
        driver.find(By::Id(format!("id_chapter_set-{index}-title"))).await.unwrap().send_keys(title).await.unwrap();
    }

    // The author is picked in a lookup window.
    let main_window = driver.window().await.unwrap();
    driver.find(By::Css("a.related-lookup[data-lookup-for=id_author_id]")).await.unwrap().click().await.unwrap();
    let mut popup = None;
    for _ in 0..50 {
        let windows = driver.windows().await.unwrap();
        if let Some(other) = windows.into_iter().find(|w| *w != main_window) {
            popup = Some(other);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    driver.switch_to_window(popup.expect("the lookup window opens")).await.unwrap();
    heading(driver, "Select user").await;
    driver.find(By::Css(format!("a[data-popup-value='{}']", ada.id))).await.unwrap().click().await.unwrap();
    for _ in 0..50 {
        if driver.windows().await.unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    driver.switch_to_window(main_window).await.unwrap();
    assert_eq!(value(driver, "#id_author_id").await, ada.id.to_string());
    assert_eq!(driver.find(By::Css(".field-author_id .raw-id-name")).await.unwrap().text().await.unwrap(), "ada");

    driver.find(By::Css("#id_status option[value=DF]")).await.unwrap().click().await.unwrap();
    let price = driver.find(By::Id("id_price")).await.unwrap();
    price.clear().await.unwrap();
    price.send_keys("12.50").await.unwrap();
    click_and_wait(driver, "button[name=_save]").await;
    heading(driver, "Select book to change").await;
    assert_eq!(messages(driver).await, ["The book “Crème Brûlée & Rust” was added successfully."]);
    let stored =
        book::Entity::find().filter(book::Column::Slug.eq("creme-brulee-rust")).one(&site.core.db).await.unwrap();
    let stored = stored.expect("the book is saved with the slug typed for it");
    assert_eq!(stored.author_id, Some(ada.id));
    let chapters: Vec<String> = chapter::Entity::find()
        .filter(chapter::Column::BookId.eq(stored.id))
        .order_by_asc(chapter::Column::Number)
        .all(&site.core.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.title)
        .collect();
    assert_eq!(chapters, ["Whisking", "Caramelising"]);

    // Filter by status through the side bar.
    let draft = driver.query(By::Css(".changelist-filter a")).with_text("Draft (2)").first().await.unwrap();
    let old_page = driver.find(By::Tag("html")).await.unwrap();
    draft.click().await.unwrap();
    old_page.wait_until().stale().await.unwrap();
    let mut titles = Vec::new();
    for cell in driver.find_all(By::Css("#result_list tbody th")).await.unwrap() {
        titles.push(cell.text().await.unwrap());
    }
    titles.sort();
    assert_eq!(titles, ["An Older Draft", "Crème Brûlée & Rust"], "only drafts");

    // Select all, choose "Export to CSV" and submit the page's own form (read the download).
    driver.find(By::Id("action-toggle")).await.unwrap().click().await.unwrap();
    assert_eq!(count(driver, "input.action-select:checked").await, 2);
    assert_eq!(driver.find(By::Css(".action-counter")).await.unwrap().text().await.unwrap(), "2 / 2");
    driver.find(By::Css("select[name=action] option[value=export_to_csv]")).await.unwrap().click().await.unwrap();
    let script = r#"
        const form = document.getElementById("changelist-form");
        const done = arguments[arguments.length - 1];
        fetch(location.href, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" })
            .then(r => r.text().then(t => done([r.headers.get("content-disposition") || "", t])));
    "#;
    let result = driver.execute_async(script, Vec::new()).await.unwrap();
    let (disposition, csv): (String, String) = result.convert().unwrap();
    assert_eq!(disposition, "attachment; filename=book.csv", "{}", &csv[..csv.len().min(3000)]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "ID,title,slug,status,published,in print,pages,price,author,notes");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines.iter().any(|l| l.contains("Crème Brûlée & Rust,creme-brulee-rust,DF,") && l.contains(",12.50,ada,")),
        "{csv}"
    );
    browser.quit().await;
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_fits_a_phone_screen() {
    let Some(browser) = Browser::start().await else { return };
    let site = library_site().start(Backend::Sqlite).await;
    site.create(NewUser {
        username: "ada".into(),
        email: "ada@example.com".into(),
        password: Some(PASSWORD.into()),
        is_staff: true,
        is_superuser: true,
        ..NewUser::default()
    })
    .await;
    let id = crate::admin::add_book(&site, "A Rather Long Title For A Small Screen", "DF", site.core.now(), None).await;
    let driver = &browser.driver;
    driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    driver.goto(site.url("/admin/login/")).await.unwrap();
    driver.find(By::Id("id_username")).await.unwrap().send_keys("ada").await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    click_and_wait(driver, "main form button[type=submit]").await;
    for path in
        ["/admin/", "/admin/library/book/", &format!("/admin/library/book/{id}/change/"), "/admin/accounts/user/add/"]
    {
        driver.goto(site.url(path)).await.unwrap();
        let widths: Vec<i64> = driver
            .execute("return [document.documentElement.scrollWidth, window.innerWidth];", Vec::new())
            .await
            .unwrap()
            .convert()
            .unwrap();
        if widths[0] > widths[1] {
            let culprits: Vec<String> = driver
                .execute(
                    "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right));",
                    Vec::new(),
                )
                .await
                .unwrap()
                .convert()
                .unwrap();
            panic!("{path} scrolls sideways on a phone: {widths:?}; too wide: {culprits:?}");
        }
        if std::env::var("QUARTET_SCREENSHOTS").is_ok() {
            let name = path.trim_matches('/').replace('/', "_");
            driver.screenshot(std::path::Path::new(&format!("/tmp/shot_{name}.png"))).await.unwrap();
        }
        // The filters come before the list, and the form's labels sit above their inputs.
        if path == "/admin/library/book/" {
            let filter_top: f64 = driver
                .execute("return document.querySelector('.changelist-filter').getBoundingClientRect().top;", Vec::new())
                .await
                .unwrap()
                .convert()
                .unwrap();
            let list_top: f64 = driver
                .execute("return document.querySelector('.changelist-main').getBoundingClientRect().top;", Vec::new())
                .await
                .unwrap()
                .convert()
                .unwrap();
            assert!(filter_top < list_top);
            assert_eq!(count(driver, ".changelist-filter details[open]").await, 0, "filters start folded on a phone");
        }
    }
    browser.quit().await;
}
