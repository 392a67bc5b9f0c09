//! The check after an endpoint that counts a view per request: the count the page shows grew
//! by exactly the number of requests the server answered (read from `/metrics`), once the
//! batched increments are written.

use std::time::Duration;

use anyhow::{Context, bail};

use crate::endpoints::Endpoint;

/// The endpoints each request of which counts a view.
pub const COUNTED: &[&str] = &["image-detail"];

/// The route label the image page is counted under in `/metrics`.
const ROUTE: &str = "/images/detail/{id}/{slug}/";

/// More than one write interval of the key-value store (`kv.flush_interval_ms`, 1 s).
const FLUSH_WAIT: Duration = Duration::from_millis(2500);

/// The figures before the load.
pub struct ViewCheck {
    endpoint: Endpoint,
    served: u64,
    views: u64,
}

impl ViewCheck {
    /// Reads the requests served so far, then the page's count (one more request).
    pub async fn start(base: &str, endpoint: &Endpoint) -> anyhow::Result<Self> {
        let served = served(base).await?;
        let views = views_shown(base, &endpoint.path).await?;
        Ok(Self { endpoint: endpoint.clone(), served, views })
    }

    /// After the load and a write: fails unless every request served was counted once.
    pub async fn finish(self, base: &str) -> anyhow::Result<String> {
        tokio::time::sleep(FLUSH_WAIT).await;
        let served = served(base).await? - self.served;
        let views = views_shown(base, &self.endpoint.path).await? - self.views;
        if views != served {
            bail!("{}: the view count grew by {views} while the server answered {served} requests", self.endpoint.name);
        }
        Ok(format!(
            "{}: the view count grew by {views}, the requests answered with 200 ({served}); none lost",
            self.endpoint.name
        ))
    }
}

/// The 200s the image page route answered.
async fn served(base: &str) -> anyhow::Result<u64> {
    let metrics = reqwest::get(format!("{base}/metrics")).await?.error_for_status()?.text().await?;
    let line = format!("quartet_http_requests_total{{route=\"{ROUTE}\",status=\"200\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&line)).map_or(Ok(0), str::parse).context("a count in /metrics")
}

/// The count the page shows (`<span class="views">N views</span>`), this request included.
async fn views_shown(base: &str, path: &str) -> anyhow::Result<u64> {
    let page = reqwest::get(format!("{base}{path}")).await?.error_for_status()?.text().await?;
    page.split("<span class=\"views\">")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .with_context(|| format!("no view count on {path}"))
}
