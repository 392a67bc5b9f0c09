//! Headless Chromium through Debian's `chromedriver`, for tests of JavaScript behaviour.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use thirtyfour::prelude::*;
use thirtyfour::{ChromiumLikeCapabilities, DesiredCapabilities};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless browser session; the driver process ends with the value.
pub struct Browser {
    /// The WebDriver session.
    pub driver: WebDriver,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts Chromium, or returns `None` (skip) when it is not installed — except in CI,
    /// where a missing browser fails the test.
    pub async fn start() -> Option<Self> {
        // The WebDriver client is a reqwest client: it needs the process's TLS provider.
        quartet_core::http::fetch::install_crypto_provider();
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            assert!(!crate::in_ci(), "CI requires Debian's chromium and chromium-driver packages");
            eprintln!("skipped: install the chromium and chromium-driver packages to run browser tests");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let chromedriver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(15), "chromedriver did not start listening");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).expect("binary capability");
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ] {
            caps.add_arg(arg).expect("browser argument");
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display())).expect("profile argument");
        let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await.expect("a browser session");
        Some(Self { driver, chromedriver, _profile: profile })
    }

    /// Clicks the element matching `css` and waits until the next page has replaced this one.
    pub async fn click_and_wait(&self, css: &str) {
        let old_page = self.driver.find(By::Tag("html")).await.expect("a page is open");
        self.driver
            .find(By::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no element {css}"))
            .click()
            .await
            .expect("a click");
        old_page.wait_until().stale().await.expect("the click loads a new page");
        // The old page is gone; wait until the new one has loaded, so that `find_all` (which
        // does not wait) sees all of it.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let state = self.driver.execute("return document.readyState;", Vec::new()).await;
            if state.is_ok_and(|s| s.json().as_str() == Some("complete")) {
                break;
            }
            assert!(Instant::now() < deadline, "the new page did not finish loading within 15 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts that each page of `paths` on `site` is no wider than the window (set it to a
    /// phone's size first).
    pub async fn assert_fits(&self, site: &crate::TestSite, paths: &[String]) {
        for path in paths {
            self.driver.goto(site.url(path)).await.expect("the page loads");
            let fits: bool = self
                .driver
                .execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![])
                .await
                .expect("the script runs")
                .convert()
                .expect("a boolean");
            assert!(fits, "{path} is wider than the screen");
        }
    }

    /// Ends the browser session (the driver process ends on drop).
    pub async fn quit(self) {
        // WebDriver is a handle; quitting a clone ends the shared session.
        let _ = self.driver.clone().quit().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}
