//! A test-only app: routes that echo, fail and panic, to test the middleware around them.

use axum::routing::{any, get};
use quartet_core::app::App;
use quartet_core::state::CoreState;
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::TestSiteBuilder;

/// Routes: `/test/echo/` (every method, answers "ok"), `/test/exempt/` (CSRF-exempt),
/// `/test/panic/` (panics), `/test/slow/` (answers "done" after half a second).
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

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("probe:echo", "/test/echo/", any(|| async { "ok" }))
            .csrf_exempt_route("probe:exempt", "/test/exempt/", any(|| async { "exempt" }))
            .route("probe:panic", "/test/panic/", get(explode))
            .route(
                "probe:slow",
                "/test/slow/",
                get(|| async {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    "done"
                }),
            )
            .with_state(core.clone())
    }
}

async fn explode() -> &'static str {
    panic!("secret detail /src/handler.rs")
}

/// A site with the probe app.
pub fn probe_site() -> TestSiteBuilder {
    TestSiteBuilder::new().app(ProbeApp)
}
