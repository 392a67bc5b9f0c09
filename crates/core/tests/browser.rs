//! A real browser signs in through the real sign-in page.

use quartet_testkit::{Backend, Browser, TestSite};
use thirtyfour::prelude::*;

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
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
    click_and_wait(driver, "form.form button[type=submit]").await;

    let heading = driver.query(By::Tag("h1")).with_text("Dashboard").first().await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "Dashboard");
    assert!(driver.current_url().await.unwrap().path().ends_with("/account/"));
    let greeting = driver.find(By::Css(".user-menu .greeting")).await.unwrap().text().await.unwrap();
    assert_eq!(greeting, "Hello Amelia,");

    click_and_wait(driver, ".user-menu button[type=submit]").await;
    let heading = driver.query(By::Tag("h1")).with_text("Logged out").first().await.unwrap();
    assert!(heading.is_displayed().await.unwrap());
    browser.quit().await;
}

/// Fills the inputs named by id and submits the page's main form.
async fn fill_and_submit(driver: &WebDriver, fields: &[(&str, &str)]) {
    for (id, value) in fields {
        let input = driver.find(By::Id(*id)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(*value).await.unwrap();
    }
    click_and_wait(driver, "main form button[type=submit].primary").await;
}

/// Clicks a submit button and waits until the next page has replaced this one.
pub(crate) async fn click_and_wait(driver: &WebDriver, css: &str) {
    let old_page = driver.find(By::Tag("html")).await.unwrap();
    driver.find(By::Css(css)).await.unwrap().click().await.unwrap();
    old_page.wait_until().stale().await.expect("the form submission loads a new page");
}

pub(crate) async fn heading(driver: &WebDriver, text: &str) {
    let found = driver.query(By::Tag("h1")).with_text(text.to_owned()).first().await;
    if found.is_err() {
        let page = driver.find(By::Tag("body")).await.unwrap().text().await.unwrap();
        panic!("no heading {text:?} on {}:\n{page}", driver.current_url().await.unwrap());
    }
}

pub(crate) async fn messages(driver: &WebDriver) -> Vec<String> {
    let mut out = Vec::new();
    for item in driver.find_all(By::Css(".messages li")).await.unwrap() {
        out.push(item.text().await.unwrap().trim_end_matches('×').trim().to_owned());
    }
    out
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_registers_signs_in_by_email_edits_the_profile_and_resets_the_password() {
    let Some(browser) = Browser::start().await else { return };
    let site = TestSite::builder().start(Backend::Sqlite).await;
    let driver = &browser.driver;

    // Register: the new user is signed in.
    driver.goto(site.url("/account/register/")).await.unwrap();
    heading(driver, "Create an account").await;
    fill_and_submit(
        driver,
        &[
            ("id_username", "rosa"),
            ("id_first_name", "Rosa"),
            ("id_email", "rosa@example.com"),
            ("id_password", "lilac-meadow-42"),
            ("id_password2", "lilac-meadow-42"),
        ],
    )
    .await;
    heading(driver, "Welcome Rosa!").await;
    let greeting = driver.find(By::Css(".user-menu .greeting")).await.unwrap().text().await.unwrap();
    assert_eq!(greeting, "Hello Rosa,");

    // Log out, then log in with the e-mail address.
    click_and_wait(driver, ".user-menu button[type=submit]").await;
    heading(driver, "Logged out").await;
    driver.goto(site.url("/account/login/")).await.unwrap();
    fill_and_submit(driver, &[("id_username", "rosa@example.com"), ("id_password", "lilac-meadow-42")]).await;
    heading(driver, "Dashboard").await;

    // Edit the profile with a photo.
    let photo = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    std::fs::write(photo.path(), crate::accounts::tiny_png()).unwrap();
    driver.goto(site.url("/account/edit/")).await.unwrap();
    heading(driver, "Edit your account").await;
    driver.find(By::Id("id_photo")).await.unwrap().send_keys(photo.path().to_str().unwrap()).await.unwrap();
    driver.execute("document.getElementById('id_date_of_birth').value = '1990-04-01';", Vec::new()).await.unwrap();
    fill_and_submit(driver, &[("id_last_name", "Parks")]).await;
    assert_eq!(messages(driver).await, ["Profile updated successfully"]);
    let image = driver.find(By::Css("main img.avatar")).await.unwrap();
    let natural_width =
        driver.execute("return arguments[0].naturalWidth;", vec![image.to_json().unwrap()]).await.unwrap();
    assert_eq!(natural_width.json().as_u64(), Some(8), "the uploaded photo is shown");

    // Change the password.
    driver.goto(site.url("/account/password_change/")).await.unwrap();
    fill_and_submit(
        driver,
        &[
            ("id_old_password", "lilac-meadow-42"),
            ("id_new_password1", "amber-river-77"),
            ("id_new_password2", "amber-river-77"),
        ],
    )
    .await;
    heading(driver, "Password changed").await;

    // Forget it: reset through the e-mailed link, then sign in with the new one.
    click_and_wait(driver, ".user-menu button[type=submit]").await;
    heading(driver, "Logged out").await;
    driver.goto(site.url("/account/password_reset/")).await.unwrap();
    fill_and_submit(driver, &[("id_email", "rosa@example.com")]).await;
    heading(driver, "Reset your password").await;
    let mail = site.outbox().pop().expect("the reset e-mail");
    let link = mail.body.lines().find(|l| l.starts_with("http://")).expect("a link in the e-mail").to_owned();
    driver.goto(&link).await.unwrap();
    fill_and_submit(driver, &[("id_new_password1", "coral-harbor-19"), ("id_new_password2", "coral-harbor-19")]).await;
    heading(driver, "Password set").await;
    driver.goto(&link).await.unwrap();
    let used = driver.find(By::Css("main")).await.unwrap().text().await.unwrap();
    assert!(used.contains("invalid"), "the link works once: {used}");

    driver.goto(site.url("/account/login/")).await.unwrap();
    fill_and_submit(driver, &[("id_username", "rosa"), ("id_password", "coral-harbor-19")]).await;
    heading(driver, "Dashboard").await;
    browser.quit().await;
}

/// The elements that stick out of the window on the right (empty when the page fits).
async fn sticking_out(driver: &WebDriver) -> Vec<String> {
    let script = "var out = []; if (document.documentElement.scrollWidth <= window.innerWidth) return out; \
        document.querySelectorAll('body *').forEach(function (e) { var r = e.getBoundingClientRect(); \
        if (r.right > window.innerWidth + 1 && r.width > 0) out.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right)); }); \
        return out.slice(0, 12);";
    driver.execute(script, vec![]).await.unwrap().convert().unwrap()
}

#[cfg_attr(not(quartet_chromium), ignore = "install the chromium and chromium-driver packages to run it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_avatar_is_round_forms_are_styled_and_the_admin_fits_a_phone_in_chromium() {
    use quartet_core::jobs::job;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let Some(browser) = Browser::start().await else { return };
    let site = crate::library::library_site().start(Backend::Sqlite).await;
    site.create(quartet_core::auth::NewUser {
        username: "root-with-a-rather-long-name".into(),
        email: "root@example.com".into(),
        password: Some("correct-horse-battery".into()),
        is_staff: true,
        is_superuser: true,
        ..Default::default()
    })
    .await;
    let now = site.core.now();
    job::ActiveModel {
        name: Set("blog.share_post".into()),
        queue: Set("mail".into()),
        payload: Set(format!("{{\"to\":\"{}@example.com\",\"comments\":\"{}\"}}", "x".repeat(80), "words ".repeat(40))),
        status: Set("failed".into()),
        attempts: Set(3),
        max_attempts: Set(3),
        run_at: Set(now),
        created_at: Set(now),
        last_error: Set(format!(
            "connection refused: {}\n{}",
            "smtp.example.com:587 ".repeat(8),
            "at line 1\n".repeat(20)
        )),
        worker: Set(Some("a-worker-host-with-a-very-long-name.example.internal:12345".into())),
        ..Default::default()
    }
    .insert(&site.core.db)
    .await
    .unwrap();
    let driver = &browser.driver;
    driver.goto(site.url("/admin/login/?next=/admin/jobs/")).await.unwrap();
    driver.find(By::Id("id_username")).await.unwrap().send_keys("root-with-a-rather-long-name").await.unwrap();
    driver.find(By::Id("id_password")).await.unwrap().send_keys("correct-horse-battery").await.unwrap();
    click_and_wait(driver, "main form button[type=submit]").await;
    heading(driver, "Background jobs").await;

    driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    for path in ["/admin/jobs/", "/admin/", "/admin/accounts/user/", "/admin/accounts/user/1/change/"] {
        driver.goto(site.url(path)).await.unwrap();
        let out = sticking_out(driver).await;
        assert!(out.is_empty(), "{path} is wider than a phone: {out:?}");
    }
    driver.set_window_rect(0, 0, 1280, 900).await.unwrap();

    // The permission picker is grouped by app and model and filters as you type.
    driver.goto(site.url("/admin/accounts/user/1/change/")).await.unwrap();
    let visible = || async {
        let n: u64 = driver
            .execute(
                "return Array.prototype.filter.call(document.querySelectorAll('#id_user_permissions option'), function (o) { return !o.hidden; }).length;",
                vec![],
            )
            .await
            .unwrap()
            .convert()
            .unwrap();
        n
    };
    let all = visible().await;
    assert!(all >= 16, "{all} permissions");
    let filter = driver.find(By::Css(".select-filter[aria-controls=id_user_permissions]")).await.unwrap();
    filter.send_keys("book change").await.unwrap();
    assert_eq!(visible().await, 1, "only “Can change book” is left");
    let groups: Vec<String> = driver
        .execute(
            "return Array.prototype.filter.call(document.querySelectorAll('#id_user_permissions optgroup'), function (g) { return !g.hidden; }).map(function (g) { return g.label; });",
            vec![],
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert!(groups[0].ends_with("| book"), "{groups:?}");
    filter.clear().await.unwrap();
    filter.send_keys(" ").await.unwrap();
    assert_eq!(visible().await, all);

    // A date-and-time input has the text inputs' style (border, radius, padding).
    driver.goto(site.url("/admin/library/book/add/")).await.unwrap();
    let looks = |css: &'static str| async move {
        let element = driver.find(By::Css(css)).await.unwrap();
        let mut out = Vec::new();
        for property in ["border-top-left-radius", "padding-left", "border-top-color", "font-size"] {
            out.push(element.css_value(property).await.unwrap());
        }
        out
    };
    assert_eq!(looks("input[type=datetime-local]").await, looks("input[name=title]").await);

    // A profile photo that is not square is shown as a circle, not an oval.
    let mut wide = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(300, 100, image::Rgb([200, 40, 40]))
        .write_to(&mut wide, image::ImageFormat::Png)
        .unwrap();
    let client = site.client();
    client.login("root-with-a-rather-long-name", "correct-horse-battery").await;
    let form = reqwest::multipart::Form::new()
        .text("email", "root@example.com")
        .part("photo", reqwest::multipart::Part::bytes(wide.into_inner()).file_name("wide.png"));
    assert_eq!(client.post_multipart("/account/edit/", form).await.status, 303);
    driver.goto(site.url("/account/edit/")).await.unwrap();
    let avatar = driver.find(By::Css("img.avatar")).await.unwrap();
    let rect = avatar.rect().await.unwrap();
    assert!(
        (rect.width - rect.height).abs() < 0.5 && rect.width > 50.0,
        "the avatar is {}×{}",
        rect.width,
        rect.height
    );
    browser.quit().await;
}
