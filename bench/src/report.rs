//! The reports: one JSON file for machines (and `compare`), one Markdown file for people.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::endpoints::Endpoint;
use crate::load::{Measured, WrkFigures};
use crate::machine::{Machine, Versions};
use crate::site::{Server, ServerStats, Site};

/// Bumped when the JSON changes shape.
const SCHEMA: u32 = 1;

/// A whole run of the harness.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// The JSON's shape.
    pub schema: u32,
    /// When the run started (UTC, RFC 3339).
    pub started: String,
    /// Where.
    pub machine: Machine,
    /// What.
    pub versions: Versions,
    /// How hard.
    pub settings: LoadSettings,
    /// One per database.
    pub runs: Vec<DatabaseRun>,
}

/// The load applied to every endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadSettings {
    /// The load generator.
    pub tool: String,
    /// Open connections.
    pub connections: u32,
    /// Load generator threads.
    pub threads: u32,
    /// Measured seconds per endpoint.
    pub duration_seconds: u64,
    /// Unmeasured warm-up seconds per endpoint.
    pub warmup_seconds: u64,
    /// Unmeasured seconds of light load per endpoint before the warm-up (0: none).
    #[serde(default)]
    pub primer_seconds: u64,
    /// Connections of that light load.
    #[serde(default)]
    pub primer_connections: u32,
    /// Measured rounds per endpoint, each of `duration_seconds`, taken in turn over all
    /// endpoints; the report shows the median round (older reports: 1).
    #[serde(default = "one")]
    pub rounds: u32,
    /// The `quartet seed` arguments.
    pub seed: String,
    /// The server's cache backend (`memory`, `redis`, `memcached` or `none`).
    pub cache: String,
    /// The server's key-value backend (`database` or `redis`).
    #[serde(default = "database")]
    pub kv: String,
}

/// The run on one database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatabaseRun {
    /// `sqlite` or `postgresql`.
    pub database: String,
    /// The database's version.
    pub database_version: String,
    /// Time `quartet seed` took.
    pub seed_seconds: f64,
    /// Resident memory after start-up, before any load.
    pub idle_rss_mib: f64,
    /// Each endpoint, in the order loaded.
    pub endpoints: Vec<EndpointResult>,
    /// The server over the whole run.
    pub server: ServerStats,
    /// What was checked after the load (the view counts), one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
}

/// One endpoint's figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointResult {
    /// Short name.
    pub name: String,
    /// Path and query.
    pub path: String,
    /// Completed requests per second.
    pub requests_per_second: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Responses with a status of 400 or more.
    pub non_2xx: u64,
    /// Connect, read and write errors and timeouts.
    pub socket_errors: u64,
    /// Average response size, headers included.
    pub bytes_per_response: u64,
    /// Server CPU seconds during the measured load.
    pub server_cpu_seconds: f64,
    /// The most resident memory seen during the measured load.
    pub server_rss_mib: f64,
    /// wrk's raw figures (of the median round).
    pub wrk: WrkFigures,
    /// Requests per second of each round, in the order run (one round: empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds_rps: Vec<f64>,
}

impl EndpointResult {
    /// The figures of `endpoint`'s measured load.
    pub fn new(endpoint: &Endpoint, measured: Measured) -> EndpointResult {
        let w = measured.wrk;
        EndpointResult {
            name: endpoint.name.clone(),
            path: endpoint.path.clone(),
            requests_per_second: round(w.requests_per_second(), 1),
            p50_ms: w.latency_us.p50 as f64 / 1000.0,
            p99_ms: w.latency_us.p99 as f64 / 1000.0,
            non_2xx: w.non_2xx,
            socket_errors: w.socket_errors(),
            bytes_per_response: w.bytes_per_response(),
            server_cpu_seconds: round(measured.server_cpu_seconds, 2),
            server_rss_mib: round(measured.server_rss_mib, 1),
            wrk: w,
            rounds_rps: Vec::new(),
        }
    }

    /// The figures of `endpoint` loaded in several rounds: those of the median round by
    /// requests per second, so that a slow or fast moment of a shared machine does not decide
    /// them; errors are those of every round.
    pub fn from_rounds(endpoint: &Endpoint, rounds: &[Measured]) -> EndpointResult {
        let mut by_rate: Vec<&Measured> = rounds.iter().collect();
        by_rate.sort_by(|a, b| a.wrk.requests_per_second().total_cmp(&b.wrk.requests_per_second()));
        let mut result = EndpointResult::new(endpoint, *by_rate[by_rate.len() / 2]);
        if rounds.len() > 1 {
            result.non_2xx = rounds.iter().map(|m| m.wrk.non_2xx).sum();
            result.socket_errors = rounds.iter().map(|m| m.wrk.socket_errors()).sum();
            result.rounds_rps = rounds.iter().map(|m| round(m.wrk.requests_per_second(), 1)).collect();
        }
        result
    }
}

impl DatabaseRun {
    /// An empty run on `site`, with the server's memory before any load.
    pub fn new(site: &Site, server: &Server) -> DatabaseRun {
        DatabaseRun {
            database: site.database().name().into(),
            database_version: site.database_version.clone(),
            seed_seconds: round(site.seed_seconds, 1),
            idle_rss_mib: server.sample().map(|s| round(s.rss_mib, 1)).unwrap_or(0.0),
            endpoints: Vec::new(),
            server: ServerStats::default(),
            checks: Vec::new(),
        }
    }

    fn errors(&self) -> u64 {
        self.endpoints.iter().map(|e| e.non_2xx + e.socket_errors).sum()
    }
}

fn database() -> String {
    "database".into()
}

fn one() -> u32 {
    1
}

fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

impl Report {
    /// A report with no runs yet, started now.
    pub fn new(machine: Machine, versions: Versions, settings: LoadSettings) -> Report {
        Report {
            schema: SCHEMA,
            started: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            machine,
            versions,
            settings,
            runs: Vec::new(),
        }
    }

    /// Reads a JSON report.
    pub fn read(path: &Path) -> anyhow::Result<Report> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let report: Report =
            serde_json::from_str(&text).with_context(|| format!("{} is not a bench report", path.display()))?;
        anyhow::ensure!(
            report.schema == SCHEMA,
            "{} has report schema {}, not {SCHEMA}",
            path.display(),
            report.schema
        );
        Ok(report)
    }

    /// Writes `<date>-<commit>.json` and `.md` into `folder`; returns their paths.
    pub fn write(&self, folder: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
        let stem = format!("{}-{}", self.started.replace([':', 'T'], "").trim_end_matches('Z'), self.versions.commit);
        let json = folder.join(format!("{stem}.json"));
        let markdown = folder.join(format!("{stem}.md"));
        std::fs::write(&json, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("cannot write {}", json.display()))?;
        std::fs::write(&markdown, self.markdown()).with_context(|| format!("cannot write {}", markdown.display()))?;
        Ok((json, markdown))
    }

    /// The report for people.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let v = &self.versions;
        let s = &self.settings;
        let mut out = format!("# Quartet benchmark, {}\n\n", self.started);
        let _ = writeln!(out, "- Machine: {} cores ({}), {} MiB, {}", m.cores, m.cpu, m.memory_mib, m.kernel);
        let _ = writeln!(out, "- Quartet: {} (commit {}), built with {}", v.quartet, v.commit, v.rustc);
        let primer = if s.primer_seconds > 0 {
            format!("{} s primer at {} connections, then ", s.primer_seconds, s.primer_connections)
        } else {
            String::new()
        };
        let measured = if s.rounds > 1 {
            format!("the median of {} rounds of {} s taken in turn over the endpoints", s.rounds, s.duration_seconds)
        } else {
            format!("{} s", s.duration_seconds)
        };
        let _ = writeln!(
            out,
            "- Load: {}, {} connections, {} threads, {measured} per endpoint after {primer}{} s warm-up; server and load generator share the machine",
            v.load_generator, s.connections, s.threads, s.warmup_seconds
        );
        let _ = writeln!(
            out,
            "- Data: `quartet seed {}`; cache backend `{}`; key-value backend `{}`",
            s.seed, s.cache, s.kv
        );
        for run in &self.runs {
            let _ = writeln!(out, "\n## {} ({})\n", run.database, run.database_version);
            out.push_str("| endpoint | path | req/s | p50 ms | p99 ms | non-2xx | socket errors | bytes/response | server CPU s |\n");
            out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for e in &run.endpoints {
                let spread = match (
                    e.rounds_rps.iter().copied().reduce(f64::min),
                    e.rounds_rps.iter().copied().reduce(f64::max),
                ) {
                    (Some(low), Some(high)) => format!(" ({low:.0}–{high:.0})"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {:.0}{spread} | {:.2} | {:.2} | {} | {} | {} | {:.1} |",
                    e.name,
                    e.path,
                    e.requests_per_second,
                    e.p50_ms,
                    e.p99_ms,
                    e.non_2xx,
                    e.socket_errors,
                    e.bytes_per_response,
                    e.server_cpu_seconds
                );
            }
            let _ = writeln!(
                out,
                "\nServer: {:.1} MiB resident at rest, {:.1} MiB peak, {:.1} CPU seconds in all; {} errors; seeding took {:.1} s.",
                run.idle_rss_mib,
                run.server.peak_rss_mib,
                run.server.cpu_seconds,
                run.errors(),
                run.seed_seconds
            );
            for check in &run.checks {
                let _ = writeln!(out, "- {check}");
            }
        }
        out
    }
}

/// The ratios of `after` to `before`, per database and endpoint (above 1: more requests per
/// second, or more latency or memory).
pub fn comparison(before: &Report, after: &Report) -> String {
    let mut out =
        format!("# {} ({}) → {} ({})\n", before.versions.commit, before.started, after.versions.commit, after.started);
    if before.machine != after.machine {
        out.push_str("\nThe machines differ; ratios compare the machines as much as the code.\n");
    }
    if before.settings != after.settings {
        let describe = |s: &LoadSettings| {
            let primer =
                if s.primer_seconds > 0 { format!(" after a {} s primer", s.primer_seconds) } else { String::new() };
            let rounds = if s.rounds > 1 { format!(" × {} rounds", s.rounds) } else { String::new() };
            format!("{} connections, {} s{rounds}{primer}, cache {}", s.connections, s.duration_seconds, s.cache)
        };
        let _ = writeln!(out, "\nThe loads differ: {} → {}.", describe(&before.settings), describe(&after.settings));
    }
    for run in &after.runs {
        let Some(old) = before.runs.iter().find(|r| r.database == run.database) else {
            let _ = writeln!(out, "\n{}: not in the earlier report.", run.database);
            continue;
        };
        let _ = writeln!(out, "\n## {}\n", run.database);
        out.push_str("| endpoint | req/s before | req/s after | req/s ratio | p99 before | p99 after | p99 ratio |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        for e in &run.endpoints {
            match old.endpoints.iter().find(|o| o.name == e.name) {
                Some(o) => {
                    let _ = writeln!(
                        out,
                        "| {} | {:.0} | {:.0} | {} | {:.2} | {:.2} | {} |",
                        e.name,
                        o.requests_per_second,
                        e.requests_per_second,
                        ratio(e.requests_per_second, o.requests_per_second),
                        o.p99_ms,
                        e.p99_ms,
                        ratio(e.p99_ms, o.p99_ms)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "| {} | – | {:.0} | new | – | {:.2} | new |",
                        e.name, e.requests_per_second, e.p99_ms
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "\nPeak memory: {:.1} → {:.1} MiB ({}); CPU seconds: {:.1} → {:.1} ({}).",
            old.server.peak_rss_mib,
            run.server.peak_rss_mib,
            ratio(run.server.peak_rss_mib, old.server.peak_rss_mib),
            old.server.cpu_seconds,
            run.server.cpu_seconds,
            ratio(run.server.cpu_seconds, old.server.cpu_seconds)
        );
    }
    out
}

/// What `compare --check` holds a later run to (bench/README.md): no errors, p99 within a
/// ceiling, and against the earlier report at least 80% of its requests per second and at most
/// 125% of its p99.
pub const RPS_FLOOR: f64 = 0.80;
/// See [`RPS_FLOOR`].
pub const P99_CEILING: f64 = 1.25;

/// Each way `after` falls short of `before` (see [`RPS_FLOOR`]); empty when it does not. A page
/// or database of `before` that `after` did not measure is a shortfall too.
pub fn shortfalls(before: &Report, after: &Report, max_p99_ms: f64) -> Vec<String> {
    let mut out = Vec::new();
    for old in &before.runs {
        let Some(run) = after.runs.iter().find(|r| r.database == old.database) else {
            out.push(format!("{}: not measured", old.database));
            continue;
        };
        for o in &old.endpoints {
            if !run.endpoints.iter().any(|e| e.name == o.name) {
                out.push(format!("{} {}: not measured", run.database, o.name));
            }
        }
    }
    for run in &after.runs {
        let old = before.runs.iter().find(|r| r.database == run.database);
        for e in &run.endpoints {
            let page = format!("{} {}", run.database, e.name);
            if e.non_2xx + e.socket_errors > 0 {
                out.push(format!("{page}: {} non-2xx and {} socket errors", e.non_2xx, e.socket_errors));
            }
            if e.p99_ms > max_p99_ms {
                out.push(format!("{page}: p99 {:.2} ms is over {max_p99_ms} ms", e.p99_ms));
            }
            let Some(o) = old.and_then(|old| old.endpoints.iter().find(|o| o.name == e.name)) else { continue };
            if e.requests_per_second < o.requests_per_second * RPS_FLOOR {
                out.push(format!(
                    "{page}: {:.0} req/s is below {:.0}% of the earlier {:.0}",
                    e.requests_per_second,
                    RPS_FLOOR * 100.0,
                    o.requests_per_second
                ));
            }
            if e.p99_ms > o.p99_ms * P99_CEILING {
                out.push(format!(
                    "{page}: p99 {:.2} ms is over {:.0}% of the earlier {:.2} ms",
                    e.p99_ms,
                    P99_CEILING * 100.0,
                    o.p99_ms
                ));
            }
        }
    }
    out
}

fn ratio(after: f64, before: f64) -> String {
    if before > 0.0 { format!("×{:.2}", after / before) } else { "–".into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Latency;

    fn endpoint(name: &str, rps: f64, p99_ms: f64) -> EndpointResult {
        let wrk = WrkFigures {
            duration_us: 20_000_000,
            requests: (rps * 20.0) as u64,
            bytes: (rps * 20.0) as u64 * 5000,
            connect_errors: 0,
            read_errors: 0,
            write_errors: 0,
            timeouts: 0,
            non_2xx: 0,
            latency_us: Latency { mean: 1000.0, p50: 900, p90: 1500, p99: (p99_ms * 1000.0) as u64, max: 9000 },
        };
        let measured = Measured { wrk, server_cpu_seconds: 30.0, server_rss_mib: 40.0 };
        EndpointResult::new(&Endpoint { name: name.into(), path: format!("/{name}/"), cookie: None }, measured)
    }

    fn report(commit: &str, endpoints: Vec<EndpointResult>, peak: f64) -> Report {
        let machine = Machine { cores: 2, memory_mib: 24_000, cpu: "Test CPU".into(), kernel: "Linux 6".into() };
        let versions = Versions {
            quartet: "quartet 0.1.0".into(),
            commit: commit.into(),
            rustc: "rustc 1.95".into(),
            load_generator: "wrk 4.1.0".into(),
        };
        let settings = LoadSettings {
            tool: "wrk".into(),
            connections: 64,
            threads: 2,
            duration_seconds: 20,
            warmup_seconds: 5,
            primer_seconds: 0,
            primer_connections: 0,
            rounds: 1,
            seed: crate::SEED.join(" "),
            cache: "memory".into(),
            kv: "database".into(),
        };
        let mut report = Report::new(machine, versions, settings);
        report.runs.push(DatabaseRun {
            database: "sqlite".into(),
            database_version: "SQLite 3.50".into(),
            seed_seconds: 1.0,
            idle_rss_mib: 12.0,
            endpoints,
            server: ServerStats { peak_rss_mib: peak, rss_mib: peak - 5.0, cpu_seconds: 100.0 },
            checks: Vec::new(),
        });
        report
    }

    #[test]
    fn reports_round_trip_through_json_and_show_every_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let report =
            report("abc1234", vec![endpoint("blog-list", 12_000.0, 9.5), endpoint("healthz", 80_000.0, 2.0)], 60.0);
        let (json, markdown) = report.write(dir.path()).unwrap();
        assert!(json.file_name().unwrap().to_string_lossy().ends_with("-abc1234.json"));
        assert_eq!(Report::read(&json).unwrap(), report);
        let text = std::fs::read_to_string(markdown).unwrap();
        assert!(text.contains("| blog-list | `/blog-list/` | 12000 | 0.90 | 9.50 | 0 | 0 | 5000 | 30.0 |"), "{text}");
        assert!(text.contains("2 cores (Test CPU), 24000 MiB"));
        assert!(text.contains("60.0 MiB peak"));
    }

    #[test]
    fn comparison_prints_ratios_per_endpoint() {
        let before = report("aaaaaaa", vec![endpoint("blog-list", 5_000.0, 20.0)], 80.0);
        let after =
            report("bbbbbbb", vec![endpoint("blog-list", 10_000.0, 10.0), endpoint("search", 2_000.0, 30.0)], 40.0);
        let text = comparison(&before, &after);
        assert!(!text.contains("The loads differ"), "{text}");
        assert!(text.contains("| blog-list | 5000 | 10000 | ×2.00 | 20.00 | 10.00 | ×0.50 |"), "{text}");
        assert!(text.contains("| search | – | 2000 | new |"), "{text}");
        assert!(text.contains("80.0 → 40.0 MiB (×0.50)"), "{text}");

        let mut uncached = before.clone();
        uncached.settings.cache = "none".into();
        let text = comparison(&uncached, &after);
        assert!(
            text.contains("The loads differ: 64 connections, 20 s, cache none → 64 connections, 20 s, cache memory."),
            "{text}"
        );
        let mut rounds = after.clone();
        rounds.settings.rounds = 3;
        let text = comparison(&before, &rounds);
        assert!(text.contains("→ 64 connections, 20 s × 3 rounds, cache memory."), "{text}");
    }

    #[test]
    fn a_check_names_each_shortfall_and_passes_a_run_within_the_limits() {
        let before =
            report("aaaaaaa", vec![endpoint("blog-list", 10_000.0, 20.0), endpoint("search", 4_000.0, 8.0)], 80.0);
        // 80% of the requests and 125% of the p99 are still within the limits.
        let within =
            report("bbbbbbb", vec![endpoint("blog-list", 8_000.0, 25.0), endpoint("search", 5_000.0, 1.0)], 80.0);
        assert_eq!(shortfalls(&before, &within, 100.0), Vec::<String>::new());

        let mut worse = report("ccccccc", vec![endpoint("blog-list", 7_999.0, 25.1)], 80.0);
        worse.runs[0].endpoints[0].non_2xx = 3;
        assert_eq!(
            shortfalls(&before, &worse, 25.0),
            [
                "sqlite search: not measured",
                "sqlite blog-list: 3 non-2xx and 0 socket errors",
                "sqlite blog-list: p99 25.10 ms is over 25 ms",
                "sqlite blog-list: 7999 req/s is below 80% of the earlier 10000",
                "sqlite blog-list: p99 25.10 ms is over 125% of the earlier 20.00 ms",
            ]
        );
        let mut elsewhere = within.clone();
        elsewhere.runs[0].database = "postgresql".into();
        assert_eq!(shortfalls(&before, &elsewhere, 100.0), ["sqlite: not measured"]);
    }

    #[test]
    fn rounds_report_the_median_round_and_every_rounds_errors() {
        let measured = |rps: f64, p99_ms: f64, non_2xx: u64| {
            let mut m = endpoint("x", rps, p99_ms);
            m.wrk.non_2xx = non_2xx;
            Measured { wrk: m.wrk, server_cpu_seconds: 30.0, server_rss_mib: 40.0 }
        };
        let page = Endpoint { name: "tag".into(), path: "/tag/".into(), cookie: None };
        let rounds = [measured(30_000.0, 12.0, 0), measured(20_000.0, 30.0, 2), measured(40_000.0, 9.0, 0)];
        let result = EndpointResult::from_rounds(&page, &rounds);
        assert_eq!((result.requests_per_second, result.p99_ms), (30_000.0, 12.0));
        assert_eq!(result.non_2xx, 2, "an error in any round counts");
        assert_eq!(result.rounds_rps, [30_000.0, 20_000.0, 40_000.0]);
        let mut three = report("abc1234", vec![result], 60.0);
        three.settings.rounds = 3;
        let text = three.markdown();
        assert!(text.contains("| tag | `/tag/` | 30000 (20000–40000) |"), "{text}");
        assert!(text.contains("the median of 3 rounds of 20 s"), "{text}");

        let single = EndpointResult::from_rounds(&page, &rounds[..1]);
        assert!(single.rounds_rps.is_empty());
        let text = report("abc1234", vec![single], 60.0).markdown();
        assert!(text.contains("| tag | `/tag/` | 30000 | "), "one round, no spread: {text}");
    }

    #[test]
    fn reports_without_a_primer_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let report = report("abc1234", vec![endpoint("healthz", 80_000.0, 2.0)], 60.0);
        let mut json: serde_json::Value = serde_json::to_value(&report).unwrap();
        let settings = json["settings"].as_object_mut().unwrap();
        settings.remove("primer_seconds");
        settings.remove("primer_connections");
        settings.remove("rounds");
        let path = dir.path().join("old.json");
        std::fs::write(&path, json.to_string()).unwrap();
        assert_eq!(Report::read(&path).unwrap(), report);
    }

    #[test]
    fn other_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, "{\"not\": \"a report\"}").unwrap();
        assert!(Report::read(&path).unwrap_err().to_string().contains("is not a bench report"));
        assert!(Report::read(&dir.path().join("missing.json")).is_err());
    }
}
