//! HTTP hardening and brute-force limits (reliability H2, H3, H4, H10, H11, H13, A5).

use chrono::Duration;
use quartet_testkit::{TestClient, TestSite, dbtest};
use reqwest::Method;

use crate::support::probe_site;

const PASSWORD: &str = "correct-horse-battery";

fn assert_security_headers(page: &quartet_testkit::TestResponse, what: &str) {
    assert_eq!(page.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{what}");
    assert_eq!(page.header("referrer-policy"), Some("same-origin"), "{what}");
    assert_eq!(page.header("cross-origin-opener-policy"), Some("same-origin"), "{what}");
    let csp = page.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

dbtest! {
    using probe_site();
    async fn every_response_carries_the_security_headers(site) {
        let client = site.client();
        let mut paths: Vec<String> = site
            .core
            .urls()
            .patterns()
            .map(|(_, pattern)| pattern.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/"))
            .collect();
        paths.extend(["/nope/".into(), "/test/panic/".into(), "/static/css/site.css".into(), "/media/none.png".into(), "/healthz".into()]);
        let mut statuses = std::collections::BTreeSet::new();
        for path in &paths {
            let page = client.get(path).await;
            statuses.insert(page.status);
            assert_security_headers(&page, path);
        }
        let bad_host = client.send(client.request(Method::GET, "/").header("host", "evil.example")).await;
        assert_eq!(bad_host.status, 400);
        assert_security_headers(&bad_host, "a rejected host");
        for status in [200, 303, 404, 500] {
            assert!(statuses.contains(&status), "no route answered {status}: {statuses:?}");
        }
    }
}

dbtest! {
    using quartet_testkit::TestSite::builder().settings(|s| {
        s.security.proxy_ssl_header = "X-Forwarded-Proto: https".into();
        s.security.hsts_seconds = 31_536_000;
        s.security.hsts_include_subdomains = true;
    });
    async fn https_responses_carry_hsts_when_configured(site) {
        let client = site.client();
        let secure = client.send(client.request(Method::GET, "/").header("x-forwarded-proto", "https")).await;
        assert_eq!(secure.header("strict-transport-security"), Some("max-age=31536000; includeSubDomains"));
        assert_eq!(client.get("/").await.header("strict-transport-security"), None, "only over HTTPS");
        let spoofed = client.send(client.request(Method::GET, "/").header("x-forwarded-proto", "http")).await;
        assert_eq!(spoofed.header("strict-transport-security"), None);
    }
}

dbtest! {
    using quartet_testkit::TestSite::builder().settings(|s| { s.security.ssl_redirect = true; s.security.proxy_ssl_header = "X-Forwarded-Proto: https".into(); });
    async fn plain_http_is_redirected_to_https_except_health_checks(site) {
        let client = site.client();
        let page = client.get("/account/login/?next=/x/").await;
        assert_eq!(page.status, 301);
        assert_eq!(page.location(), Some(format!("https://127.0.0.1:{}/account/login/?next=/x/", site.addr.port()).as_str()));
        assert_eq!(client.get("/healthz").await.status, 200);
        let secure = client.send(client.request(Method::GET, "/account/login/").header("x-forwarded-proto", "https")).await;
        assert_eq!(secure.status, 200);
    }
}

dbtest! {
    async fn poisoned_hosts_are_refused(site) {
        let client = site.client();
        let port = site.addr.port();
        for host in ["evil.com".to_owned(), format!("127.0.0.1:{port}@evil.com"), format!("127.0.0.1:{port}/path"), "localhost:80 x".to_owned()] {
            let page = client.send(client.request(Method::GET, "/").header("host", host.as_str())).await;
            assert_eq!(page.status, 400, "{host}");
            assert!(page.body.contains("Bad request (400)"), "{host}");
        }
        for host in [format!("127.0.0.1:{port}"), format!("LOCALHOST:{port}"), "localhost".to_owned()] {
            let page = client.send(client.request(Method::GET, "/").header("host", host.as_str())).await;
            assert_eq!(page.status, 200, "{host}");
        }
        let forwarded = client.send(client.request(Method::GET, "/").header("x-forwarded-host", "evil.com")).await;
        assert_eq!(forwarded.status, 200, "X-Forwarded-Host is ignored unless trusted");
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CsrfCase {
    NoCookie,
    MissingToken,
    Wrong,
    OtherSessions,
    MaskedForm,
    UnmaskedHeader,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scheme {
    Http,
    HttpsWithReferer,
    HttpsWithoutReferer,
}

/// Django's rules, written out independently of the implementation.
fn django_accepts(method: &Method, token: CsrfCase, origin: Option<&str>, scheme: Scheme, own_origin: &str) -> bool {
    if let Some(origin) = origin {
        if origin != own_origin {
            return false;
        }
    } else if scheme == Scheme::HttpsWithoutReferer {
        return false;
    }
    match token {
        CsrfCase::NoCookie | CsrfCase::MissingToken | CsrfCase::Wrong | CsrfCase::OtherSessions => false,
        CsrfCase::MaskedForm => *method == Method::POST,
        CsrfCase::UnmaskedHeader => true,
    }
}

async fn csrf_attempt(
    site: &TestSite,
    other: &TestClient,
    method: &Method,
    token: CsrfCase,
    origin: Option<&str>,
    scheme: Scheme,
) -> u16 {
    let client = site.client();
    let secret = client.csrf_token().await;
    let masked = quartet_core::http::csrf::mask(&secret);
    let others = quartet_core::http::csrf::mask(&other.csrf_token().await);
    let fresh = site.client();
    let (client, form_token, header_token) = match token {
        CsrfCase::NoCookie => (&fresh, Some(masked.clone()), Some(secret.clone())),
        CsrfCase::MissingToken => (&client, None, None),
        CsrfCase::Wrong => (&client, Some(quartet_core::crypto::random_string(64, quartet_core::crypto::ALNUM)), None),
        CsrfCase::OtherSessions => (&client, Some(others.clone()), Some(others.clone())),
        CsrfCase::MaskedForm => (&client, Some(masked.clone()), None),
        CsrfCase::UnmaskedHeader => (&client, None, Some(secret.clone())),
    };
    let mut request = client.request(method.clone(), "/test/echo/");
    let mut fields = vec![("field".to_owned(), "value".to_owned())];
    if let Some(t) = form_token {
        fields.push(("csrfmiddlewaretoken".into(), t));
    }
    request = request.form(&fields);
    if let Some(t) = header_token {
        request = request.header("x-csrftoken", t);
    }
    if let Some(o) = origin {
        request = request.header("origin", o);
    }
    match scheme {
        Scheme::Http => {}
        Scheme::HttpsWithReferer => {
            request = request
                .header("x-forwarded-proto", "https")
                .header("referer", format!("https://127.0.0.1:{}/account/", site.addr.port()));
        }
        Scheme::HttpsWithoutReferer => request = request.header("x-forwarded-proto", "https"),
    }
    client.send(request).await.status
}

dbtest! {
    using probe_site().settings(|s| s.security.proxy_ssl_header = "X-Forwarded-Proto: https".into());
    async fn the_csrf_matrix_matches_djangos_rules(site) {
        let other = site.client();
        let port = site.addr.port();
        let mut cells = 0;
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            for token in [CsrfCase::NoCookie, CsrfCase::MissingToken, CsrfCase::Wrong, CsrfCase::OtherSessions, CsrfCase::MaskedForm, CsrfCase::UnmaskedHeader] {
                for scheme in [Scheme::Http, Scheme::HttpsWithReferer, Scheme::HttpsWithoutReferer] {
                    let own = match scheme {
                        Scheme::Http => format!("http://127.0.0.1:{port}"),
                        _ => format!("https://127.0.0.1:{port}"),
                    };
                    let foreign = "https://evil.example".to_owned();
                    for origin in [None, Some(own.clone()), Some(foreign), Some("null".to_owned())] {
                        let status = csrf_attempt(&site, &other, &method, token, origin.as_deref(), scheme).await;
                        let expected = if django_accepts(&method, token, origin.as_deref(), scheme, &own) { 200 } else { 403 };
                        assert_eq!(status, expected, "{method} {token:?} {scheme:?} origin={origin:?}");
                        cells += 1;
                    }
                }
            }
        }
        assert_eq!(cells, 288);
        let client = site.client();
        for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            let page = client.send(client.request(method.clone(), "/test/echo/").header("origin", "https://evil.example")).await;
            assert_ne!(page.status, 403, "{method} is never checked");
        }
        let exempt = client.send(client.request(Method::POST, "/test/exempt/").form(&[("a", "b")])).await;
        assert_eq!(exempt.status, 200, "exempt routes take unsafe methods without a token");
        assert_eq!(
            site.core.urls().csrf_exempt(),
            ["/i18n/setlang/", "/test/exempt/"],
            "the exempt routes are the language switch (ADR 18) and the one declared"
        );
    }
}

/// Open-redirect vectors from Django's test classes, as `next` values.
const REDIRECT_VECTORS: &[&str] = &[
    "http://example.com",
    "https://example.com",
    "//example.com",
    "///example.com",
    "http:///example.com",
    r"\\example.com",
    r"\\\example.com",
    r"/\\/example.com",
    r"\/example.com",
    r"/\example.com",
    r"http:/\//example.com",
    r"http:\/example.com",
    r"http:/\example.com",
    "javascript:alert(document.cookie)",
    "\njavascript:alert(x)",
    "java\nscript:alert(x)",
    "\x08//example.com",
    r"http://otherserver\@example.com",
    r"http:\\testserver\@example.com",
    "http:999999999",
    "ftp:9999999999",
    "ftp://example.com",
    "data:text/html,<script>alert(1)</script>",
    "http://[2001:cdba::3257:9652/",
    "https://evil.example/account/",
    "\t//example.com",
    " //example.com",
    "//example.com/%2F..",
    "http://example.com\\@127.0.0.1/",
    "/\t/example.com",
    "HTTPS://example.com",
];

fn is_on_site(location: &str, port: u16) -> bool {
    (location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\"))
        || location.starts_with(&format!("http://127.0.0.1:{port}/"))
}

dbtest! {
    async fn next_parameters_never_lead_off_site(site) {
        site.create_user("ann", PASSWORD).await;
        let port = site.addr.port();
        assert!(REDIRECT_VECTORS.len() >= 30);
        for vector in REDIRECT_VECTORS {
            let client = site.client();
            client.get("/account/login/").await;
            let login = client.post_form("/account/login/", &[("username", "ann"), ("password", PASSWORD), ("next", vector)]).await;
            assert_eq!(login.status, 303, "{vector:?}");
            assert_eq!(login.location(), Some("/account/"), "login next={vector:?}");
            let logout = client.post_form("/account/logout/", &[("next", vector)]).await;
            assert!(logout.status == 200 || logout.location().is_some_and(|l| is_on_site(l, port)), "logout next={vector:?}");
            let language = client.post_form("/i18n/setlang/", &[("language", "es"), ("next", vector)]).await;
            assert_eq!(language.location(), Some("/"), "set_language next={vector:?}");
        }
        let client = site.client();
        client.get("/account/login/").await;
        let good = client.post_form("/account/login/", &[("username", "ann"), ("password", PASSWORD), ("next", "/account/edit/?tab=photo")]).await;
        assert_eq!(good.location(), Some("/account/edit/?tab=photo"), "safe paths are kept");
    }
}

dbtest! {
    using probe_site();
    async fn body_field_and_file_limits_hold_at_the_boundary(site) {
        let client = site.client();
        let limit = site.core.settings.uploads.max_body_bytes;
        let body_of = |len: usize| format!("a={}", "x".repeat(len - 2));
        let post = |body: String| client.send(client.request(Method::POST, "/test/exempt/").header("content-type", "application/x-www-form-urlencoded").body(body));
        assert_eq!(post(body_of(limit)).await.status, 200, "exactly the limit passes");
        assert_eq!(post(body_of(limit + 1)).await.status, 413, "one byte more is refused");

        let fields = |n: usize| (0..n).map(|i| format!("f{i}=v")).collect::<Vec<_>>().join("&");
        assert_eq!(post(fields(1000)).await.status, 200);
        let too_many = post(fields(1001)).await;
        assert_eq!(too_many.status, 400);
        assert!(too_many.body.contains("Too many fields were sent"));

        // Files only go to routes that take them (hardening.rs tests those limits).
        let files = reqwest::multipart::Form::new().part("f", reqwest::multipart::Part::bytes(vec![b'x'; 10]).file_name("a.txt"));
        assert_eq!(client.send(client.request(Method::POST, "/test/exempt/").multipart(files)).await.status, 415);

        let query = |n: usize| format!("/test/echo/?{}", fields(n));
        assert_eq!(client.get(&query(1000)).await.status, 200);
        assert_eq!(client.get(&query(1001)).await.status, 400);

        let json = |len: usize| client.send(client.request(Method::POST, "/test/exempt/").header("content-type", "application/json").body("x".repeat(len)));
        assert_eq!(json(limit).await.status, 200);
        assert_eq!(json(limit + 1).await.status, 413);
    }
}

dbtest! {
    using probe_site();
    async fn error_pages_leak_nothing(site) {
        let client = site.client();
        let crash = client.get("/test/panic/").await;
        assert_eq!(crash.status, 500);
        assert_eq!(crash.heading(), "Server error (500)");
        for secret in ["panicked", "secret detail", "handler.rs", "src/", "backtrace", "quartet_core"] {
            assert!(!crash.body.contains(secret), "the 500 page shows {secret:?}");
        }
        let missing = client.get("/no/such/page/").await;
        assert_eq!((missing.status, missing.heading().as_str()), (404, "Page not found (404)"));
        assert_eq!(client.send(client.request(Method::TRACE, "/")).await.status, 405);
        for path in ["/.git/config", "/.git/", "/media/", "/media/users/", "/static/", "/media/../data/secret_key", "/static/../Cargo.toml"] {
            assert_eq!(client.get(path).await.status, 404, "{path}");
        }
        let api = client.get("/api/nothing/").await;
        assert_eq!(api.status, 404);
        assert_eq!(api.header("content-type"), Some("application/json"));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&api.body).unwrap()["code"], "not_found");
    }
}

dbtest! {
    using quartet_testkit::TestSite::builder().settings(|s| { s.server.trust_forwarded_for = true; s.auth.login_failures_per_ip_per_hour = 1000; });
    async fn the_hundred_and_first_failure_in_an_hour_is_refused_without_hashing(site) {
        site.create_user("bea", PASSWORD).await;
        let client = site.client();
        client.get("/account/login/").await;
        let attempt = |password: &'static str, ip: &'static str| {
            let client = client.clone();
            async move {
                let token = client.csrf_token().await;
                client
                    .send(
                        client.request(Method::POST, "/account/login/")
                            .header("origin", client.origin())
                            .header("x-forwarded-for", ip)
                            .form(&[("csrfmiddlewaretoken", token.as_str()), ("username", "bea"), ("password", password)]),
                    )
                    .await
            }
        };
        for _ in 0..100 {
            assert_eq!(attempt("wrong-password", "10.0.0.1").await.status, 200);
        }
        let hashes = quartet_core::auth::hasher(&site.core).operations();
        let blocked = attempt("wrong-password", "10.0.0.1").await;
        assert_eq!(blocked.status, 429);
        assert!(blocked.header("retry-after").is_some());
        assert_eq!(quartet_core::auth::hasher(&site.core).operations(), hashes, "no password was hashed for the refused attempt");
        assert_eq!(attempt(PASSWORD, "10.0.0.1").await.status, 429, "refused hard from the guessing address");
        // The account is protected, not locked: its owner elsewhere gets their check.
        assert_eq!(attempt(PASSWORD, "10.9.9.9").await.status, 303, "the owner is not locked out");
        site.clock.advance(Duration::minutes(61));
        assert_eq!(attempt("wrong-password", "10.0.0.1").await.status, 200, "after the hour the address may try again");
    }
}

dbtest! {
    using quartet_testkit::TestSite::builder().settings(|s| s.auth.login_failures_per_ip_per_hour = 20);
    async fn one_address_is_limited_across_accounts(site) {
        let client = site.client();
        client.get("/account/login/").await;
        for i in 0..20 {
            let name = format!("user{i}");
            assert_eq!(client.post_form("/account/login/", &[("username", name.as_str()), ("password", "x")]).await.status, 200);
        }
        assert_eq!(client.post_form("/account/login/", &[("username", "someone"), ("password", "x")]).await.status, 429);
    }
}

dbtest! {
    async fn unknown_users_and_wrong_passwords_look_the_same(site) {
        site.create_user("cleo", PASSWORD).await;
        let client = site.client();
        client.get("/account/login/").await;
        let hashes = || quartet_core::auth::hasher(&site.core).operations();
        let before = hashes();
        let wrong = client.post_form("/account/login/", &[("username", "cleo"), ("password", "wrong-password")]).await;
        let for_wrong = hashes() - before;
        let before = hashes();
        let unknown = client.post_form("/account/login/", &[("username", "nobody"), ("password", "wrong-password")]).await;
        let for_unknown = hashes() - before;
        assert_eq!(wrong.status, unknown.status);
        assert_eq!(wrong.form_errors(), unknown.form_errors());
        // The same work, so the same time: one hash each (a dummy one for the unknown user).
        assert_eq!((for_wrong, for_unknown), (1, 1), "password hashes computed");
    }
}
