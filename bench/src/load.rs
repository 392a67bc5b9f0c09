//! One wrk run against one URL, with the server's CPU time and memory sampled meanwhile.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::site::Server;

/// wrk's Lua hook that prints the figures as one JSON line.
const REPORT_SCRIPT: &str = include_str!("../wrk-report.lua");
/// The prefix of that line.
const MARKER: &str = "QUARTET-BENCH ";

/// How to load one URL.
#[derive(Debug, Clone)]
pub struct Load {
    /// The full URL.
    pub url: String,
    /// Open connections.
    pub connections: u32,
    /// wrk threads.
    pub threads: u32,
    /// How long.
    pub duration: Duration,
    /// The `Cookie` header of every request (a signed-in visitor).
    pub cookie: Option<String>,
}

/// What wrk counted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct WrkFigures {
    /// Length of the run.
    pub duration_us: u64,
    /// Completed requests.
    pub requests: u64,
    /// Bytes read (headers and bodies).
    pub bytes: u64,
    /// Failed connects.
    pub connect_errors: u64,
    /// Failed reads.
    pub read_errors: u64,
    /// Failed writes.
    pub write_errors: u64,
    /// Requests that got no answer within the timeout.
    pub timeouts: u64,
    /// Responses with a status of 400 or more (wrk's "Non-2xx or 3xx responses").
    pub non_2xx: u64,
    /// Latency in microseconds.
    pub latency_us: Latency,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Slowest.
    pub max: u64,
}

/// One measured load.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// wrk's figures.
    pub wrk: WrkFigures,
    /// Server CPU seconds spent during the load.
    pub server_cpu_seconds: f64,
    /// The most resident memory seen while loading.
    pub server_rss_mib: f64,
}

impl WrkFigures {
    /// Finds the harness's line in wrk's output.
    pub fn parse(output: &str) -> anyhow::Result<WrkFigures> {
        let line = output.lines().find_map(|l| l.strip_prefix(MARKER)).context("wrk printed no report line")?;
        serde_json::from_str(line).context("wrk's report line is not the expected JSON")
    }

    /// Completed requests per second.
    pub fn requests_per_second(&self) -> f64 {
        if self.duration_us == 0 { 0.0 } else { self.requests as f64 * 1e6 / self.duration_us as f64 }
    }

    /// Connect, read, write errors and timeouts.
    pub fn socket_errors(&self) -> u64 {
        self.connect_errors + self.read_errors + self.write_errors + self.timeouts
    }

    /// Average bytes per response, headers included.
    pub fn bytes_per_response(&self) -> u64 {
        self.bytes.checked_div(self.requests).unwrap_or(0)
    }
}

impl Measured {
    /// One line for the console.
    pub fn summary(&self) -> String {
        let w = &self.wrk;
        format!(
            "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} non-2xx, {} socket errors, server {:.1} CPU s, {:.1} MiB",
            w.requests_per_second(),
            w.latency_us.p50 as f64 / 1000.0,
            w.latency_us.p99 as f64 / 1000.0,
            w.non_2xx,
            w.socket_errors(),
            self.server_cpu_seconds,
            self.server_rss_mib
        )
    }
}

impl Load {
    /// Runs wrk to the end, sampling the server four times a second.
    pub async fn run(&self, server: &Server, dir: &Path) -> anyhow::Result<Measured> {
        let script = dir.join("wrk-report.lua");
        std::fs::write(&script, REPORT_SCRIPT).context("cannot write the wrk script")?;
        let before = server.sample()?;
        let mut peak = before.rss_mib;
        let mut child = Command::new("wrk")
            .args(["-t", &self.threads.to_string(), "-c", &self.connections.to_string()])
            .args(self.cookie.iter().flat_map(|c| ["-H".to_owned(), format!("Cookie: {c}")]))
            .args(["-d", &format!("{}s", self.duration.as_secs()), "--timeout", "8s", "--latency", "-s"])
            .arg(&script)
            .arg(&self.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start wrk")?;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            peak = peak.max(server.sample()?.rss_mib);
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let output = child.wait_with_output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !status.success() {
            bail!("wrk failed ({status}): {stdout}{}", String::from_utf8_lossy(&output.stderr));
        }
        let after = server.sample()?;
        Ok(Measured {
            wrk: WrkFigures::parse(&stdout)?,
            server_cpu_seconds: after.cpu_seconds - before.cpu_seconds,
            server_rss_mib: peak.max(after.rss_mib),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 20s test @ http://127.0.0.1:8000/blog/\n  2 threads and 64 connections\n\
        Requests/sec:  12000.00\n\
        QUARTET-BENCH {\"duration_us\":20000000,\"requests\":240000,\"bytes\":1440000000,\"connect_errors\":0,\
        \"read_errors\":1,\"write_errors\":0,\"timeouts\":2,\"non_2xx\":3,\
        \"latency_us\":{\"mean\":5210.5,\"p50\":4900,\"p90\":7000,\"p99\":12000,\"max\":30000}}\n";

    #[test]
    fn the_report_line_is_found_and_read() {
        let figures = WrkFigures::parse(OUTPUT).unwrap();
        assert_eq!(figures.requests_per_second(), 12_000.0);
        assert_eq!(figures.bytes_per_response(), 6000);
        assert_eq!(figures.socket_errors(), 3);
        assert_eq!(figures.non_2xx, 3);
        assert_eq!(figures.latency_us.p99, 12_000);
        assert!(WrkFigures::parse("Requests/sec: 1\n").is_err());
        assert!(WrkFigures::parse("QUARTET-BENCH {\"requests\":1}\n").is_err());
    }

    #[test]
    fn the_lua_script_reports_every_field_the_harness_reads() {
        for field in ["duration_us", "requests", "bytes", "connect_errors", "timeouts", "non_2xx", "p50", "p99", "max"]
        {
            assert!(REPORT_SCRIPT.contains(&format!("\"{field}\"")), "{field} missing from wrk-report.lua");
        }
        assert!(REPORT_SCRIPT.contains(MARKER.trim()));
    }
}
