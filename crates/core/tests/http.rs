//! Health checks, trailing slashes, static files, languages, the home page and demo data.

use quartet_testkit::dbtest;

use crate::support::probe_site;

dbtest! {
    async fn health_and_readiness_answer(site) {
        let client = site.client();
        let health = client.get("/healthz").await;
        assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
        let ready = client.get("/readyz").await;
        assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    }
}

dbtest! {
    async fn a_missing_trailing_slash_is_added_when_the_page_exists(site) {
        let client = site.client();
        let page = client.get("/account/login?next=/x/").await;
        assert_eq!((page.status, page.location()), (301, Some("/account/login/?next=/x/")));
        assert_eq!(client.get("/account/nothing").await.status, 404);
    }
}

dbtest! {
    async fn static_files_have_hashed_names_and_long_cache_lifetimes(site) {
        let client = site.client();
        let home = client.get("/").await;
        let css = home.attrs("link[rel=stylesheet]", "href").pop().unwrap();
        assert!(css.starts_with("/static/css/site.") && css.ends_with(".css") && css != "/static/css/site.css", "{css}");
        let file = client.send(client.request(reqwest::Method::GET, &css).header("accept-encoding", "gzip")).await;
        assert_eq!(file.status, 200);
        assert_eq!(file.header("cache-control"), Some("public, max-age=31536000, immutable"));
        assert_eq!(file.header("content-type"), Some("text/css; charset=utf-8"));
        assert_eq!(file.header("content-encoding"), Some("gzip"), "text is compressed for clients that accept it");
        let etag = file.header("etag").unwrap().to_owned();
        let again = client.send(client.request(reqwest::Method::GET, &css).header("if-none-match", etag)).await;
        assert_eq!(again.status, 304);
        let plain = client.get("/static/css/site.css").await;
        assert_eq!(plain.header("cache-control"), Some("public, max-age=3600"));
    }
}

dbtest! {
    async fn the_language_follows_the_cookie_then_the_browser(site) {
        let client = site.client();
        let english = client.get("/account/login/").await;
        assert_eq!(english.header("content-language"), Some("en"));
        assert_eq!(english.heading(), "Log-in");
        let spanish = client.send(client.request(reqwest::Method::GET, "/account/login/").header("accept-language", "es-ES,es;q=0.9")).await;
        assert_eq!(spanish.header("content-language"), Some("es"));
        assert_eq!(spanish.heading(), "Iniciar sesión");
        assert_eq!(spanish.attrs("html", "lang"), vec!["es"]);

        let switched = client.post_form("/i18n/setlang/", &[("language", "es"), ("next", "/account/register/")]).await;
        assert_eq!(switched.location(), Some("/account/register/"));
        assert_eq!(client.get("/account/register/").await.heading(), "Crear una cuenta");
        client.post_form("/i18n/setlang/", &[("language", "klingon"), ("next", "/")]).await;
        assert_eq!(client.get("/account/register/").await.heading(), "Crear una cuenta", "unknown languages are ignored");
        let forced = client.send(client.request(reqwest::Method::GET, "/account/register/").header("accept-language", "en")).await;
        assert_eq!(forced.heading(), "Crear una cuenta", "the chosen language wins over the browser's");
    }
}

dbtest! {
    async fn an_empty_development_site_offers_demo_data_once(site) {
        let client = site.client();
        let home = client.get("/").await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("This site is empty"));
        let loaded = client.post_form("/demo/", &[]).await;
        assert_eq!(loaded.location(), Some("/"));
        let home = client.get("/").await;
        assert!(!home.body.contains("This site is empty"));
        let messages = home.messages();
        assert!(messages.iter().any(|m| m.starts_with("Demo data loaded:")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("Sign in as demo (or ada, alan, grace) with the password demo-")), "{messages:?}");
        let password = home.texts(".messages code")[1].clone();
        assert_eq!(site.client().login("demo", &password).await.status, 303);
        assert_eq!(client.post_form("/demo/", &[]).await.location(), Some("/"));
        assert!(client.get("/").await.messages().iter().any(|m| m.contains("already has data")));
    }
}

dbtest! {
    using quartet_testkit::TestSite::builder().settings(|s| s.debug = false);
    async fn demo_data_is_not_offered_outside_development(site) {
        let client = site.client();
        assert!(!client.get("/").await.body.contains("This site is empty"));
        assert_eq!(client.post_form("/demo/", &[]).await.status, 404);
    }
}

dbtest! {
    using probe_site();
    async fn stopping_lets_in_flight_requests_finish_and_refuses_new_ones(site) {
        let client = site.client();
        let url = site.url("/");
        let slow = tokio::spawn(async move { client.get("/test/slow/").await });
        // Let the request reach the handler, then stop the server while it sleeps.
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        site.stop().await;
        let answer = slow.await.unwrap();
        assert_eq!((answer.status, answer.body.as_str()), (200, "done"));
        quartet_core::http::fetch::install_crypto_provider();
        let refused = reqwest::Client::new().get(&url).send().await;
        assert!(refused.is_err(), "a new connection after the stop must be refused");
    }
}

dbtest! {
    using probe_site();
    async fn list_pages_link_to_their_neighbours_and_forgive_bad_numbers(site) {
        let client = site.client();
        let first = client.get("/test/list/").await;
        assert_eq!(first.texts("ol li"), ["Item 1", "Item 2", "Item 3"]);
        assert_eq!(first.text(".pagination .current"), "Page 1 of 4.");
        assert!(first.attrs("a[rel=prev]", "href").is_empty());
        assert_eq!(first.attrs("a[rel=next]", "href"), ["?page=2"]);

        let second = client.get("/test/list/?q=caf%C3%A9&page=2").await;
        assert_eq!(second.texts("ol li"), ["Item 4", "Item 5", "Item 6"]);
        assert_eq!(second.attrs("a[rel=prev]", "href"), ["?q=caf%C3%A9&page=1"]);
        assert_eq!(second.attrs("a[rel=next]", "href"), ["?q=caf%C3%A9&page=3"]);

        assert_eq!(client.get("/test/list/?page=x").await.texts("ol li")[0], "Item 1");
        let last = client.get("/test/list/?page=99").await;
        assert_eq!((last.texts("ol li"), last.text(".pagination .current")), (vec!["Item 10".to_owned()], "Page 4 of 4.".to_owned()));
        assert!(last.attrs("a[rel=next]", "href").is_empty());

        client.set_cookie("quartet_language", "es");
        let spanish = client.get("/test/list/?page=2").await;
        assert_eq!(spanish.text(".pagination .current"), "Página 2 de 4.");
        assert_eq!(spanish.text("a[rel=next]"), "Siguiente");
    }
}
