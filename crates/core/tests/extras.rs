//! What apps add to every page: an item in the header (the shop's cart summary) and layers
//! around the whole site in installed order (the courses' subdomain redirect).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use quartet_core::app::{App, AppRegistry, CoreState, SiteLayer};
use quartet_core::session::Session;
use quartet_core::templates::{HeaderItem, PageContext, PageExtra};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::{TestSite, TestSiteBuilder, dbtest};

/// A shelf app: a basket in the session, its summary in every page's header, and
/// `<n>.shelves.localhost` sent to `/shelves/<n>/`.
struct Shelves;

async fn add(session: Session) -> quartet_core::Result<Response> {
    let count: u32 = session.get("basket").await?.unwrap_or(0);
    session.insert("basket", count + 1).await?;
    Ok(Redirect::to("/shelves/").into_response())
}

fn summary(ctx: &PageContext) -> futures_util::future::BoxFuture<'_, Option<HeaderItem>> {
    Box::pin(async move {
        let count: u32 = match ctx.session() {
            Some(session) => session.get("basket").await.ok().flatten().unwrap_or(0),
            None => 0,
        };
        let text = if count == 0 { "Your basket is empty.".to_owned() } else { format!("Your basket: {count} items") };
        Some(HeaderItem { text, url: Some(ctx.url("shelves:list")), class: "basket-summary" })
    })
}

/// `<n>.shelves.localhost/…` → `/shelves/<n>/`.
async fn subdomains(request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if let Some(shelf) = host.split(':').next().and_then(|h| h.strip_suffix(".shelves.localhost")) {
        return Redirect::permanent(&format!("http://localhost/shelves/{shelf}/")).into_response();
    }
    let mut response = next.run(request).await;
    response.headers_mut().append("x-layers", HeaderValue::from_static("shelves"));
    response
}

#[async_trait::async_trait]
impl App for Shelves {
    fn label(&self) -> &'static str {
        "shelves"
    }
    fn name(&self) -> &'static str {
        "Shelves"
    }
    fn mount(&self) -> &'static str {
        "/shelves/"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route(
                "list",
                "",
                get(|ctx: PageContext| async move { quartet_core::templates::render(&ShelfPage { ctx }) }),
            )
            .route("add", "add/", post(add))
            .with_state(core.clone())
    }
    fn register(&self, app: &mut AppRegistry<'_>) {
        app.add(PageExtra { item: summary })
            .add(SiteLayer { wrap: |_, router| router.layer(axum::middleware::from_fn(subdomains)) });
    }
}

#[derive(askama::Template)]
#[template(source = "{% extends \"base.html\" %}{% block content %}<h1>Shelves</h1>{% endblock %}", ext = "html")]
struct ShelfPage {
    ctx: PageContext,
}

/// A second app with a layer of its own, installed after the shelves.
struct Stamps;

async fn stamp(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().append("x-layers", HeaderValue::from_static("stamps"));
    response
}

#[async_trait::async_trait]
impl App for Stamps {
    fn label(&self) -> &'static str {
        "stamps"
    }
    fn name(&self) -> &'static str {
        "Stamps"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new().with_state(core.clone())
    }
    fn register(&self, app: &mut AppRegistry<'_>) {
        app.add(SiteLayer { wrap: |_, router| router.layer(axum::middleware::from_fn(stamp)) });
    }
}

fn shelves_site() -> TestSiteBuilder {
    TestSite::builder().app(Shelves).app(Stamps).settings(|s| s.allowed_hosts.push(".shelves.localhost".into()))
}

dbtest! { using shelves_site();
    async fn an_apps_header_item_shows_on_every_page_of_every_app(site) {
        let client = site.client();
        for path in ["/", "/shelves/", "/account/login/", "/no/such/page/"] {
            let page = client.get(path).await;
            assert_eq!(page.text(".header-extras .basket-summary"), "Your basket is empty.", "{path}");
        }
        for _ in 0..2 {
            let added = client.post_form("/shelves/add/", &[]).await;
            assert_eq!(added.status, 303);
        }
        let page = client.get("/account/login/").await;
        assert_eq!(page.text(".header-extras .basket-summary"), "Your basket: 2 items");
        assert_eq!(page.attrs(".header-extras a.basket-summary", "href"), ["/shelves/"]);
        assert_eq!(site.client().get("/").await.text(".basket-summary"), "Your basket is empty.", "each visitor their own");
    }
}

dbtest! { using shelves_site();
    async fn apps_layers_wrap_the_whole_site_in_installed_order(site) {
        let client = site.client();
        for path in ["/", "/static/css/site.css", "/shelves/", "/healthz"] {
            let page = client.get(path).await;
            // The first installed app's layer is the outermost: it adds its header last.
            let layers: Vec<&str> = page.headers.get_all("x-layers").iter().map(|v| v.to_str().unwrap()).collect();
            assert_eq!(layers, ["stamps", "shelves"], "{path}");
        }
        let request = client.request(reqwest::Method::GET, "/anything/").header("host", "7.shelves.localhost");
        let moved = client.send(request).await;
        assert_eq!(moved.status, StatusCode::PERMANENT_REDIRECT.as_u16());
        assert_eq!(moved.location(), Some("http://localhost/shelves/7/"));
        // The host check runs first: a host not allowed never reaches the apps' layers.
        let request = client.request(reqwest::Method::GET, "/").header("host", "7.shelves.example.com");
        assert_eq!(client.send(request).await.status, 400);
    }
}
