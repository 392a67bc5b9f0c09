//! Development tools over HTTP: the SQL panel and `Server-Timing` for requests from this
//! machine, and `/metrics` with each access setting.

use askama::Template;
use axum::response::Response;
use axum::routing::get;
use quartet_core::app::{App, CoreState};
use quartet_core::auth::models::user;
use quartet_core::config::{MetricsAccess, Secret};
use quartet_core::templates::{PageContext, render};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::{TestSite, TestSiteBuilder, dbtest};
use sea_orm::{EntityTrait, PaginatorTrait};

#[derive(Template)]
#[template(
    source = r#"{% extends "base.html" %}{% block content %}<p class="users">{{ users }}</p>{% endblock %}"#,
    ext = "html"
)]
struct UsersPage {
    ctx: PageContext,
    users: u64,
}

/// Counts the users twice: the panel flags the second as a duplicate.
async fn users_twice(ctx: PageContext) -> quartet_core::Result<Response> {
    let db = &ctx.core().db;
    user::Entity::find().count(db).await?;
    let users = user::Entity::find().count(db).await?;
    render(&UsersPage { ctx, users })
}

struct Probe;

#[async_trait::async_trait]
impl App for Probe {
    fn label(&self) -> &'static str {
        "probe"
    }
    fn name(&self) -> &'static str {
        "Probe"
    }
    fn mount(&self) -> &'static str {
        "/probe/"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new().route("users", "users/", get(users_twice)).with_state(core.clone())
    }
}

fn toolbar_site() -> TestSiteBuilder {
    TestSite::builder().app(Probe).settings(|s| s.devtools.toolbar = true)
}

dbtest! { using toolbar_site();
    async fn the_sql_panel_lists_each_statement_and_flags_duplicates_for_local_requests(site) {
        let client = site.client();
        let page = client.get("/probe/users/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.text(".users"), "0");
        let timing = page.header("server-timing").expect("a Server-Timing header").to_owned();
        assert!(timing.starts_with("db;desc=\"") && timing.contains("total;dur="), "{timing}");
        let rows = page.texts("#devtools-sql tbody tr td code");
        let counts: Vec<&String> = rows.iter().filter(|sql| sql.contains("COUNT(*)")).collect();
        assert_eq!(counts.len(), 2, "{rows:#?}");
        assert_eq!(page.texts("#devtools-sql tr.duplicated .flag"), ["duplicated 2×", "duplicated 2×"]);
        assert!(page.text("#devtools-sql summary").contains("(2 duplicated)"), "{}", page.text("#devtools-sql summary"));
        // Only one panel, at the end of the body.
        assert_eq!(page.body.matches("id=\"devtools-sql\"").count(), 1);
        assert!(page.body.contains("</details></body>"), "the panel closes the body");

        // Not for a request a proxy forwarded, nor when the setting is off.
        let forwarded = client.get_with_headers("/probe/users/", &[("x-forwarded-for", "203.0.113.9")]).await;
        assert!(forwarded.header("server-timing").is_none());
        assert!(!forwarded.body.contains("id=\"devtools-sql\""));
        // Nor on what is not HTML.
        let css = client.get(&site.core.assets.url("css/site.css")).await;
        assert!(css.body.contains(".devtools-sql {"), "the panel's styles");
        assert!(!css.body.contains("<details"), "but no panel in the stylesheet");
    }
}

dbtest! { using TestSite::builder().app(Probe);
    async fn the_toolbar_is_off_unless_asked_for(site) {
        let page = site.client().get("/probe/users/").await;
        assert!(page.header("server-timing").is_none());
        assert!(!page.body.contains("id=\"devtools-sql\""));
    }
}

dbtest! { using TestSite::builder().app(Probe).settings(|s| s.metrics.access = MetricsAccess::Loopback);
    async fn metrics_count_requests_by_route_and_status_for_this_machine(site) {
        let client = site.client();
        client.get("/probe/users/").await;
        client.get("/probe/users/").await;
        client.get("/no/such/page/").await;
        let metrics = client.get("/metrics").await;
        assert_eq!(metrics.status, 200);
        assert!(metrics.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
        let lines: Vec<&str> = metrics.body.lines().collect();
        for expected in [
            "quartet_http_requests_total{route=\"/probe/users/\",status=\"200\"} 2",
            "quartet_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
            "quartet_http_request_duration_seconds_count{route=\"/probe/users/\"} 2",
            "quartet_open_websockets 0",
        ] {
            assert!(lines.contains(&expected), "{expected} in\n{}", metrics.body);
        }
        for family in ["quartet_db_pool_connections{state=\"idle\"}", "quartet_cache_lookups_total{result=\"hit\"}", "quartet_open_connections ", "quartet_db_statements_total "] {
            assert!(metrics.body.contains(family), "{family}");
        }
        let forwarded = client.get_with_headers("/metrics", &[("x-forwarded-for", "203.0.113.9")]).await;
        assert_eq!(forwarded.status, 404, "a request a proxy forwarded is not local");
    }
}

dbtest! { using TestSite::builder().settings(|s| {
        s.metrics.access = MetricsAccess::Token;
        s.metrics.token = Secret::new("a-fake-metrics-token-for-tests-0123456789".to_owned());
    });
    async fn metrics_behind_a_token_answer_only_the_token(site) {
        let client = site.client();
        assert_eq!(client.get("/metrics").await.status, 404);
        let wrong = client.get_with_headers("/metrics", &[("authorization", "Bearer a-fake-metrics-token-for-tests-012345678")]).await;
        assert_eq!(wrong.status, 404);
        let right = client.get_with_headers("/metrics", &[("authorization", "Bearer a-fake-metrics-token-for-tests-0123456789")]).await;
        assert_eq!(right.status, 200);
        assert!(right.body.contains("quartet_jobs") || right.body.contains("# TYPE quartet_jobs gauge"));
    }
}

dbtest! { using TestSite::builder().settings(|s| s.metrics.access = MetricsAccess::Off);
    async fn metrics_switched_off_are_not_there(site) {
        assert_eq!(site.client().get("/metrics").await.status, 404);
    }
}
