//! `bench/run`: Quartet's load harness.
//!
//! For each database (SQLite always, PostgreSQL when a URL is given) it seeds the benchmark
//! data set with `quartet seed`, starts `quartet serve` with the production profile, warms each
//! endpoint up and loads it with wrk, sampling the server's memory and CPU time, then writes a
//! Markdown and a JSON report under `bench/results/`. `compare` prints the ratios of two
//! JSON reports. See `bench/README.md`.

mod attacks;
mod endpoints;
mod load;
mod machine;
mod report;
mod site;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::report::{DatabaseRun, Report};
use crate::site::{Database, Site};

/// The seed sizes of the benchmark data set (issue 6): 1,000 posts, 50 tags, 3 comments each.
pub const SEED: [&str; 6] = ["--posts", "1000", "--tags", "50", "--comments", "3"];

#[derive(Parser)]
#[command(
    name = "quartet-bench",
    about = "Load Quartet's main pages with wrk and report throughput, latency and memory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seed, serve and load every endpoint; write the reports.
    Run(RunArgs),
    /// Run the attacks of issue 14 §2 against a binary (each on a fresh site) and write a
    /// Markdown report.
    Attacks {
        /// The `quartet` binary to attack.
        #[arg(long)]
        quartet: PathBuf,
        /// Only these runs (comma-separated): silent-sockets, slow-multipart, slow-forms,
        /// big-images, guesses, share, comments.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// A word for the report's file name (`before`, `after`).
        #[arg(long, default_value = "run")]
        label: String,
        /// Folder of the report.
        #[arg(long, default_value = "bench/results")]
        out: PathBuf,
    },
    /// Print the ratios of two JSON reports (after / before).
    Compare {
        /// The earlier report.
        before: PathBuf,
        /// The later report.
        after: PathBuf,
        #[command(flatten)]
        check: CheckArgs,
    },
}

#[derive(Args)]
struct CheckArgs {
    /// Fail (exit 1) when the later report has errors, a p99 over --max-p99-ms, or a page below
    /// 80% of the earlier requests per second or over 125% of its p99.
    #[arg(long)]
    check: bool,
    /// The p99 ceiling of --check, in milliseconds.
    #[arg(long, default_value_t = 100.0)]
    max_p99_ms: f64,
}

#[derive(Args)]
struct RunArgs {
    /// The `quartet` binary to measure (bench/run passes the fresh release build).
    #[arg(long)]
    quartet: PathBuf,
    /// Also run on this PostgreSQL database (its schema `quartet_bench` is dropped and made again).
    #[arg(long, env = "QUARTET_BENCH_DATABASE_URL")]
    postgres: Option<String>,
    /// Skip SQLite (with --postgres).
    #[arg(long)]
    no_sqlite: bool,
    /// `techempower`: a 5 s primer at 8 connections, 15 s warm-up and 30 s of load at 256
    /// connections per endpoint (the load plan in bench/README.md), the 30 s as 3 rounds of 10 s, instead of
    /// --duration, --warmup, --connections, --primer and --rounds.
    #[arg(long, default_value = "standard", value_parser = ["standard", "techempower"],
          conflicts_with_all = ["duration", "warmup", "connections", "primer", "rounds"])]
    profile: String,
    /// Seconds of load per endpoint (per round).
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Measured rounds per endpoint, taken in turn over all endpoints; the report shows the
    /// median round, so a slow or fast moment of a shared machine does not decide a page.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Seconds of warm-up load per endpoint before measuring.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Seconds of light load per endpoint before the warm-up (0: none).
    #[arg(long, default_value_t = 0)]
    primer: u64,
    /// Connections of the primer.
    #[arg(long, default_value_t = 8)]
    primer_connections: u32,
    /// Open connections.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Only these endpoints (names as in the report, comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Folder of the reports.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// The server's `cache.backend`: `memory` (the default), `redis` or `memcached` (the
    /// shared stores several instances use), or `none`, to measure every page made from the
    /// database.
    #[arg(long, default_value = "memory", value_parser = ["memory", "redis", "memcached", "none"])]
    cache: String,
    /// The server of `--cache redis` or `--cache memcached` (default: the local one,
    /// `redis://127.0.0.1:6379/0` or `memcached://127.0.0.1:11211`). Each run uses keys of its
    /// own.
    #[arg(long)]
    cache_url: Option<String>,
    /// With `--cache redis`: `cache.announced_versions = true` (versions kept in the server,
    /// learnt from announcements, so a cached page costs no round trip to Redis).
    #[arg(long)]
    announced_versions: bool,
    /// The server's `kv.backend` (view counts and the ranking): `database` (the default, with
    /// increments batched) or `redis` (at `--kv-url`, default the local one; keys of this run's
    /// own).
    #[arg(long, default_value = "database", value_parser = ["database", "redis"])]
    kv: String,
    /// The Redis server of `--kv redis`.
    #[arg(long, default_value = "redis://127.0.0.1:6379/0")]
    kv_url: String,
    /// After the run, compare with this earlier report (a stored baseline) as `compare --check`
    /// does, and fail when the run falls short of it.
    #[arg(long)]
    check_against: Option<PathBuf>,
    /// The p99 ceiling of --check-against, in milliseconds.
    #[arg(long, default_value_t = 100.0, requires = "check_against")]
    max_p99_ms: f64,
}

#[tokio::main]
async fn main() -> ExitCode {
    // reqwest needs a TLS provider; ring is the one the workspace compiles.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Run(args) => finish(run(args.with_profile()).await),
        Command::Compare { before, after, check } => finish(compare(&before, &after, &check)),
        Command::Attacks { quartet, only, label, out } => finish(attacks_report(&quartet, &only, &label, &out).await),
    }
}

async fn attacks_report(
    quartet: &std::path::Path,
    only: &[String],
    label: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    if let Some(unknown) = only.iter().find(|o| !attacks::RUNS.contains(&o.as_str())) {
        bail!("no run is named `{unknown}` (runs: {})", attacks::RUNS.join(", "));
    }
    let work = tempfile::Builder::new().prefix("quartet-attacks-").tempdir().context("a work folder")?;
    let report = attacks::run(quartet, only, work.path()).await?;
    std::fs::create_dir_all(out)?;
    let path = attacks::report_path(out, label);
    std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    println!("{report}");
    eprintln!("Wrote {}", path.display());
    Ok(())
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    if args.connections == 0 || args.threads == 0 || args.duration == 0 || args.rounds == 0 {
        bail!("--connections, --threads, --duration and --rounds must be at least 1");
    }
    if args.threads > args.connections {
        bail!("--threads ({}) cannot exceed --connections ({})", args.threads, args.connections);
    }
    if args.primer > 0 && args.primer_connections == 0 {
        bail!("--primer-connections must be at least 1");
    }
    // Read the baseline first: a run of many minutes should not end in "cannot read".
    let baseline = args.check_against.as_deref().map(Report::read).transpose()?;
    let binary = std::fs::canonicalize(&args.quartet)
        .with_context(|| format!("the quartet binary {} is missing; bench/run builds it", args.quartet.display()))?;
    let wrk = machine::wrk_version().context("wrk is needed: apt-get install wrk")?;
    let mut databases = Vec::new();
    if !args.no_sqlite {
        databases.push(Database::Sqlite);
    }
    if let Some(url) = &args.postgres {
        databases.push(Database::Postgres(url.clone()));
    }
    if databases.is_empty() {
        bail!("nothing to run: --no-sqlite needs --postgres URL");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;

    let mut report = Report::new(machine::Machine::read(), machine::versions(&binary, wrk), args.settings());
    let work = tempfile::Builder::new().prefix("quartet-bench-").tempdir().context("cannot make a work folder")?;
    for database in databases {
        eprintln!("== {}: seeding {}", database.name(), SEED.join(" "));
        let site = Site::prepare_with(
            &binary,
            &database,
            &args.cache,
            work.path(),
            &SEED,
            [args.cache_env(), args.kv_env()].concat(),
        )
        .await?;
        let run = measure(&site, &args).await;
        let log = site.log_tail();
        let run = run.with_context(|| format!("{} run failed; server log ends:\n{log}", database.name()))?;
        report.runs.push(run);
    }
    let (json, markdown) = report.write(&args.out)?;
    println!("{}", report.markdown());
    eprintln!("Wrote {} and {}.", markdown.display(), json.display());
    match baseline {
        Some(baseline) => check(&baseline, &report, args.max_p99_ms),
        None => Ok(()),
    }
}

impl RunArgs {
    /// The server's settings for a shared cache store: its URL and a key prefix of this run's
    /// own (another run's entries, made from other data, are never read).
    fn cache_env(&self) -> Vec<(String, String)> {
        let url = match (self.cache.as_str(), &self.cache_url) {
            (_, Some(url)) => url.clone(),
            ("redis", None) => "redis://127.0.0.1:6379/0".to_owned(),
            ("memcached", None) => "memcached://127.0.0.1:11211".to_owned(),
            _ => return Vec::new(),
        };
        let prefix = format!("bench-{}:", std::process::id());
        let mut env = vec![("QUARTET_CACHE_URL".to_owned(), url), ("QUARTET_CACHE_KEY_PREFIX".to_owned(), prefix)];
        if self.announced_versions {
            env.push(("QUARTET_CACHE_ANNOUNCED_VERSIONS".to_owned(), "true".to_owned()));
        }
        env
    }

    /// The server's settings for `--kv redis`.
    fn kv_env(&self) -> Vec<(String, String)> {
        if self.kv != "redis" {
            return Vec::new();
        }
        vec![
            ("QUARTET_KV_BACKEND".to_owned(), "redis".to_owned()),
            ("QUARTET_REDIS_URL".to_owned(), self.kv_url.clone()),
            ("QUARTET_KV_KEY_PREFIX".to_owned(), format!("bench-{}:kv:", std::process::id())),
        ]
    }
}

async fn measure(site: &Site, args: &RunArgs) -> anyhow::Result<DatabaseRun> {
    let server = site.serve().await?;
    let endpoints: Vec<_> = endpoints::discover(&server.base, site.demo_password()?)
        .await?
        .into_iter()
        .filter(|e| args.only.is_empty() || args.only.contains(&e.name))
        .collect();
    let mut run = DatabaseRun::new(site, &server);
    let mut rounds = vec![Vec::new(); endpoints.len()];
    let mut view_checks = Vec::new();
    for endpoint in endpoints.iter().filter(|e| views::COUNTED.contains(&e.name.as_str())) {
        view_checks.push(views::ViewCheck::start(&server.base, endpoint).await?);
    }
    for round in 1..=args.rounds {
        for (endpoint, measured) in endpoints.iter().zip(&mut rounds) {
            let load = load::Load {
                url: format!("{}{}", server.base, endpoint.path),
                connections: args.connections,
                threads: args.threads,
                duration: Duration::from_secs(args.duration),
                cookie: endpoint.cookie.clone(),
            };
            if round == 1 {
                eprintln!(
                    "-- {} {} ({} s primer, {} s warm-up, {} × {} s load)",
                    endpoint.name, endpoint.path, args.primer, args.warmup, args.rounds, args.duration
                );
                warm_up(&load, args, &server, site).await?;
            } else {
                eprintln!("-- {} round {round} of {}", endpoint.name, args.rounds);
            }
            let figures = load.run(&server, site.dir()).await?;
            eprintln!("   {}", figures.summary());
            measured.push(figures);
        }
    }
    for (endpoint, measured) in endpoints.iter().zip(&rounds) {
        run.endpoints.push(report::EndpointResult::from_rounds(endpoint, measured));
    }
    for check in view_checks {
        let line = check.finish(&server.base).await?;
        eprintln!("   {line}");
        run.checks.push(line);
    }
    run.server = server.stats()?;
    server.stop().await;
    Ok(run)
}

/// The unmeasured loads before an endpoint's first round: the primer, then the warm-up.
async fn warm_up(load: &load::Load, args: &RunArgs, server: &site::Server, site: &Site) -> anyhow::Result<()> {
    if args.primer > 0 {
        let connections = args.primer_connections;
        let primer = load::Load {
            connections,
            threads: args.threads.min(connections),
            duration: Duration::from_secs(args.primer),
            ..load.clone()
        };
        primer.run(server, site.dir()).await?;
    }
    if args.warmup > 0 {
        load::Load { duration: Duration::from_secs(args.warmup), ..load.clone() }.run(server, site.dir()).await?;
    }
    Ok(())
}

fn compare(before: &std::path::Path, after: &std::path::Path, args: &CheckArgs) -> anyhow::Result<()> {
    let before = Report::read(before)?;
    let after = Report::read(after)?;
    if args.check {
        check(&before, &after, args.max_p99_ms)
    } else {
        print!("{}", report::comparison(&before, &after));
        Ok(())
    }
}

/// Prints the comparison, then each shortfall of `after` against `before`; fails if any.
fn check(before: &Report, after: &Report, max_p99_ms: f64) -> anyhow::Result<()> {
    print!("{}", report::comparison(before, after));
    let shortfalls = report::shortfalls(before, after, max_p99_ms);
    if shortfalls.is_empty() {
        println!(
            "\nCheck passed: no errors, every p99 ≤ {max_p99_ms} ms, every page ≥ {:.0}% of the earlier req/s and ≤ {:.0}% of its p99.",
            report::RPS_FLOOR * 100.0,
            report::P99_CEILING * 100.0
        );
        return Ok(());
    }
    println!("\nCheck failed:");
    for shortfall in &shortfalls {
        println!("- {shortfall}");
    }
    bail!("{} shortfall(s) against {}", shortfalls.len(), before.versions.commit)
}

impl RunArgs {
    /// The arguments with their profile's load applied.
    fn with_profile(self) -> RunArgs {
        match self.profile.as_str() {
            "techempower" => {
                let profile = RunArgs { primer: 5, primer_connections: 8, warmup: 15, connections: 256, ..self };
                RunArgs { duration: 10, rounds: 3, ..profile }
            }
            _ => self,
        }
    }

    fn settings(&self) -> report::LoadSettings {
        report::LoadSettings {
            tool: "wrk".into(),
            connections: self.connections,
            threads: self.threads,
            duration_seconds: self.duration,
            warmup_seconds: self.warmup,
            primer_seconds: self.primer,
            primer_connections: if self.primer > 0 { self.primer_connections } else { 0 },
            rounds: self.rounds,
            seed: SEED.join(" "),
            cache: self.cache.clone(),
            kv: self.kv.clone(),
        }
    }
}
