//! `bench/run`: Quartet's load harness.
//!
//! For each database (SQLite always, PostgreSQL when a URL is given) it seeds the benchmark
//! data set with `quartet seed`, starts `quartet serve` with the production profile, warms each
//! endpoint up and loads it with wrk, sampling the server's memory and CPU time, then writes a
//! Markdown and a JSON report under `bench/results/`. `compare` prints the ratios of two
//! JSON reports. See `bench/README.md`.

mod endpoints;
mod load;
mod machine;
mod report;
mod site;

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
    /// Print the ratios of two JSON reports (after / before).
    Compare {
        /// The earlier report.
        before: PathBuf,
        /// The later report.
        after: PathBuf,
    },
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
    /// Seconds of load per endpoint.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Seconds of warm-up load per endpoint before measuring.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
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
    /// The server's `cache.backend`: `memory` (the default) or `none`, to measure every page
    /// made from the database.
    #[arg(long, default_value = "memory", value_parser = ["memory", "none"])]
    cache: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => finish(run(args).await),
        Command::Compare { before, after } => finish(compare(&before, &after)),
    }
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
    if args.connections == 0 || args.threads == 0 || args.duration == 0 {
        bail!("--connections, --threads and --duration must be at least 1");
    }
    if args.threads > args.connections {
        bail!("--threads ({}) cannot exceed --connections ({})", args.threads, args.connections);
    }
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
        let site = Site::prepare(&binary, &database, &args.cache, work.path()).await?;
        let run = measure(&site, &args).await;
        let log = site.log_tail();
        let run = run.with_context(|| format!("{} run failed; server log ends:\n{log}", database.name()))?;
        report.runs.push(run);
    }
    let (json, markdown) = report.write(&args.out)?;
    println!("{}", report.markdown());
    eprintln!("Wrote {} and {}.", markdown.display(), json.display());
    Ok(())
}

async fn measure(site: &Site, args: &RunArgs) -> anyhow::Result<DatabaseRun> {
    let server = site.serve().await?;
    let endpoints = endpoints::discover(&server.base).await?;
    let mut run = DatabaseRun::new(site, &server);
    for endpoint in endpoints.into_iter().filter(|e| args.only.is_empty() || args.only.contains(&e.name)) {
        eprintln!("-- {} {} ({} s warm-up, {} s load)", endpoint.name, endpoint.path, args.warmup, args.duration);
        let load = load::Load {
            url: format!("{}{}", server.base, endpoint.path),
            connections: args.connections,
            threads: args.threads,
            duration: Duration::from_secs(args.duration),
        };
        if args.warmup > 0 {
            load::Load { duration: Duration::from_secs(args.warmup), ..load.clone() }.run(&server, site.dir()).await?;
        }
        let measured = load.run(&server, site.dir()).await?;
        eprintln!("   {}", measured.summary());
        run.endpoints.push(report::EndpointResult::new(&endpoint, measured));
    }
    run.server = server.stats()?;
    server.stop().await;
    Ok(run)
}

fn compare(before: &std::path::Path, after: &std::path::Path) -> anyhow::Result<()> {
    let before = Report::read(before)?;
    let after = Report::read(after)?;
    print!("{}", report::comparison(&before, &after));
    Ok(())
}

impl RunArgs {
    fn settings(&self) -> report::LoadSettings {
        report::LoadSettings {
            tool: "wrk".into(),
            connections: self.connections,
            threads: self.threads,
            duration_seconds: self.duration,
            warmup_seconds: self.warmup,
            seed: SEED.join(" "),
            cache: self.cache.clone(),
        }
    }
}
