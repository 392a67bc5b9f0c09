//! Django's four cache levels above the low-level API: a fragment (the blog's sidebar, in the
//! blog's tests), a view's whole response (`cache_page`), and every anonymous page (the
//! per-site cache), each made anew at once when any data changes.

use std::collections::HashMap;
use std::sync::Mutex;

use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use quartet_core::app::{App, AppRegistry, CoreState};
use quartet_core::session::flash::Flash;
use quartet_core::templates::{PageContext, render};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::{TestSite, TestSiteBuilder, dbtest};

/// How often each page was made, per site.
#[derive(Default)]
struct Made(Mutex<HashMap<&'static str, u32>>);

fn made(core: &CoreState, page: &'static str) -> u32 {
    let made = core.service::<Made>().unwrap();
    let mut counts = made.0.lock().unwrap();
    let n = counts.entry(page).or_default();
    *n += 1;
    *n
}

fn count(site: &TestSite, page: &'static str) -> u32 {
    site.core.service::<Made>().unwrap().0.lock().unwrap().get(page).copied().unwrap_or(0)
}

#[derive(Template)]
#[template(
    source = "{% extends \"base.html\" %}{% block content %}<p class=\"made\">{{ text }}</p>{% if form %}<form method=\"post\"><input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"{{ ctx.csrf_token() }}\"></form>{% endif %}{% endblock %}",
    ext = "html"
)]
struct Counted {
    ctx: PageContext,
    text: String,
    form: bool,
}

async fn page(ctx: PageContext, name: &'static str, form: bool) -> quartet_core::Result<Response> {
    let n = made(ctx.core(), name);
    let text = format!("{name} {n} {}", ctx.lang());
    render(&Counted { ctx, text, form })
}

struct Pages;

#[async_trait::async_trait]
impl App for Pages {
    fn label(&self) -> &'static str {
        "pages"
    }
    fn name(&self) -> &'static str {
        "Pages"
    }
    fn mount(&self) -> &'static str {
        "/pages/"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        let cached = || quartet_core::server::cache_page(core, Some(60));
        RoutesBuilder::<CoreState>::new()
            .route("view", "view/", get(|ctx: PageContext| page(ctx, "view", false)).layer(cached()))
            .route("view-form", "view-form/", get(|ctx: PageContext| page(ctx, "view-form", true)).layer(cached()))
            .route(
                "private",
                "private/",
                get(|ctx: PageContext| async move {
                    let mut response = page(ctx, "private", false).await?;
                    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
                    Ok::<_, quartet_core::Error>(response)
                })
                .layer(cached()),
            )
            .route("plain", "plain/", get(|ctx: PageContext| page(ctx, "plain", false)))
            .route("form", "form/", get(|ctx: PageContext| page(ctx, "form", true)))
            .route(
                "flash",
                "flash/",
                post(|flash: Flash| async move {
                    flash.success("Saved.").await?;
                    Ok::<_, quartet_core::Error>(Redirect::to("/pages/plain/").into_response())
                }),
            )
            .with_state(core.clone())
    }
    fn register(&self, app: &mut AppRegistry<'_>) {
        app.provide(Made::default());
    }
}

fn pages_site() -> TestSiteBuilder {
    TestSite::builder().app(Pages)
}

fn site_cached() -> TestSiteBuilder {
    pages_site().settings(|s| s.cache.site_seconds = 60)
}

dbtest! { using pages_site();
    async fn a_views_response_is_kept_per_url_language_and_visitor_and_dropped_when_data_changes(site) {
        let anonymous = site.client();
        assert_eq!(anonymous.get("/pages/view/").await.text(".made"), "view 1 en");
        assert_eq!(anonymous.get("/pages/view/").await.text(".made"), "view 1 en", "kept");
        assert_eq!(site.client().get("/pages/view/").await.text(".made"), "view 1 en", "for every anonymous visitor");
        assert_eq!(anonymous.get("/pages/view/?page=2").await.text(".made"), "view 2 en", "another URL");
        let spanish = site.client();
        spanish.set_cookie("quartet_language", "es");
        assert_eq!(spanish.get("/pages/view/").await.text(".made"), "view 3 es", "another language");

        let (signed_in, _) = site.signed_in_client("ana").await;
        assert_eq!(signed_in.get("/pages/view/").await.text(".made"), "view 4 en", "a signed-in user gets a copy of their own");
        assert_eq!(signed_in.get("/pages/view/").await.text(".made"), "view 4 en");

        // A page with the visitor's CSRF token is kept for that visitor only: its token works.
        let first = anonymous.get("/pages/view-form/").await;
        let other = site.client();
        other.get("/pages/plain/").await; // has a CSRF cookie of its own
        assert_ne!(other.get("/pages/view-form/").await.text(".made"), first.text(".made"), "not another visitor's token");

        // Any committed change makes every kept page stale.
        site.create_user("bea", TestSite::PASSWORD).await;
        assert_eq!(anonymous.get("/pages/view/").await.text(".made"), "view 5 en", "made again after the change");

        assert_eq!(anonymous.get("/pages/private/").await.text(".made"), "private 1 en");
        assert_eq!(anonymous.get("/pages/private/").await.text(".made"), "private 2 en", "Cache-Control: private is never kept");
    }
}

dbtest! { using site_cached();
    async fn the_per_site_cache_keeps_anonymous_pages_without_a_token_or_a_message(site) {
        let visitor = site.client();
        assert_eq!(visitor.get("/pages/plain/").await.text(".made"), "plain 1 en");
        let before = site.core.queries.total();
        assert_eq!(site.client().get("/pages/plain/").await.text(".made"), "plain 1 en", "shared by anonymous visitors");
        assert_eq!(site.core.queries.total(), before, "not a single query");
        assert_eq!(count(&site, "plain"), 1);

        visitor.get("/pages/form/").await;
        visitor.get("/pages/form/").await;
        assert_eq!(count(&site, "form"), 2, "a page with a CSRF token is never shared");

        // A flash message is shown once, never kept.
        let flashed = visitor.post_form("/pages/flash/", &[]).await;
        assert_eq!(flashed.status, 303);
        let with_message = visitor.get("/pages/plain/").await;
        assert_eq!(with_message.messages(), ["Saved."]);
        assert!(visitor.get("/pages/plain/").await.messages().is_empty(), "the message is not served again");

        let (signed_in, _) = site.signed_in_client("cleo").await;
        let made_before = count(&site, "plain");
        signed_in.get("/pages/plain/").await;
        assert_eq!(count(&site, "plain"), made_before + 1, "signed-in visitors get pages made for them");

        // The change (a new user) makes the shared copy stale.
        let after = site.client().get("/pages/plain/").await;
        assert_eq!(after.text(".made"), format!("plain {} en", count(&site, "plain")));
        assert!(count(&site, "plain") > made_before + 1, "made again after the sign-up changed data");
    }
}

dbtest! { using pages_site();
    async fn the_per_site_cache_is_off_unless_asked_for(site) {
        site.client().get("/pages/plain/").await;
        site.client().get("/pages/plain/").await;
        assert_eq!(count(&site, "plain"), 2);
    }
}
