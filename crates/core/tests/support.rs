//! A test-only app: routes that echo, fail and panic, to test the middleware around them.

use askama::Template;
use axum::extract::RawQuery;
use axum::response::Response;
use axum::routing::{any, get, post};
use quartet_core::app::App;
use quartet_core::app::{AppRegistry, CoreState, Translation};
use quartet_core::forms::FormData;
use quartet_core::pagination::{Page, Paginator};
use quartet_core::session::Session;
use quartet_core::templates::{PageContext, render};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::TestSiteBuilder;

/// Routes: `/test/echo/` (every method, answers "ok"), `/test/exempt/` (CSRF-exempt),
/// `/test/panic/` (panics), `/test/slow/` (answers "done" after half a second), `/test/list/`
/// (ten numbered items, three per page), `/test/upload/` (takes files; describes the form it
/// got), `/test/session-slow/` (reads the session, waits, then writes to it), `/test/order/`
/// (the word "Order", which its catalog translates as a purchase).
#[derive(Debug, Clone, Copy)]
pub struct ProbeApp;

#[async_trait::async_trait]
impl App for ProbeApp {
    fn label(&self) -> &'static str {
        "probe"
    }

    fn name(&self) -> &'static str {
        "Probe"
    }

    fn mount(&self) -> &'static str {
        "/test/"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("echo", "echo/", any(|| async { "ok" }))
            .csrf_exempt_route("exempt", "exempt/", any(|| async { "exempt" }))
            .route("panic", "panic/", get(explode))
            .route("list", "list/", get(list))
            .upload_route("upload", "upload/", post(describe_upload))
            .route("session-slow", "session-slow/", get(session_slow))
            .route("order-word", "order/", get(order_word))
            .route(
                "slow",
                "slow/",
                get(|| async {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    "done"
                }),
            )
            .with_state(core.clone())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.translation(Translation { language: "es", po: "msgid \"Order\"\nmsgstr \"Pedido\"\n" });
    }
}

/// `/test/order/`: "Order" (a purchase) in the page's language, and a text of the kernel's.
pub async fn order_word(ctx: PageContext) -> String {
    format!("{} | {}", ctx.t("Order"), ctx.t("Go to the home page"))
}

/// `fields=a,b files=photo:10 too_large=big`, in the order received.
async fn describe_upload(data: FormData) -> String {
    let fields: Vec<&str> = ["name", "note", "after"].into_iter().filter(|f| data.get(f).is_some()).collect();
    let mut files = Vec::new();
    for name in ["photo", "big", "doc"] {
        if let Some(file) = data.file(name) {
            let bytes = file.read().await.expect("the upload can be read");
            assert_eq!(bytes.len() as u64, file.size);
            let disk = matches!(file.content, quartet_core::forms::FileContent::Disk(_));
            files.push(format!("{name}:{}{}", file.size, if disk { ":disk" } else { "" }));
        }
    }
    let too_large: Vec<&str> = ["photo", "big", "doc"].into_iter().filter(|f| data.file_too_large(f)).collect();
    let many = (0..200).filter(|i| data.file(&format!("f{i}")).is_some()).count();
    format!(
        "fields={} files={} too_large={} numbered={many} after={}",
        fields.join(","),
        files.join(","),
        too_large.join(","),
        data.get("after").unwrap_or("")
    )
}

/// Reads the session, waits a quarter of a second, then writes to it (a request in flight
/// while another one signs out).
async fn session_slow(session: Session) -> quartet_core::Result<&'static str> {
    session.load().await?;
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    session.insert("seen", true).await?;
    Ok("ok")
}

async fn explode() -> &'static str {
    panic!("secret detail /src/handler.rs")
}

#[derive(Template)]
#[template(
    source = r#"{% extends "base.html" %}{% block content %}<ol start="{{ page.start_index() }}">
{% for item in items %}<li>{{ item }}</li>{% endfor %}</ol>{% include "pagination.html" %}{% endblock %}"#,
    ext = "html"
)]
struct ListPage {
    ctx: PageContext,
    page: Page,
    items: Vec<String>,
}

async fn list(ctx: PageContext, RawQuery(query): RawQuery) -> quartet_core::Result<Response> {
    let all: Vec<String> = (1..=10).map(|n| format!("Item {n}")).collect();
    let raw_page = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "page").map(|(_, v)| v.into_owned())
    });
    let page = Paginator::new(all.len() as u64, 3).get_page(raw_page.as_deref()).with_query(query.as_deref());
    let items = all.into_iter().skip(page.offset() as usize).take(page.limit() as usize).collect();
    render(&ListPage { ctx, page, items })
}

/// A site with the probe app.
pub fn probe_site() -> TestSiteBuilder {
    TestSiteBuilder::new().app(ProbeApp)
}
