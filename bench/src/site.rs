//! The site under test: a data folder seeded with the benchmark data set, and the
//! `quartet serve` process started on it with the production profile.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::Connection;

use serde::{Deserialize, Serialize};

use crate::machine::ProcessStats;

/// The PostgreSQL schema the harness owns (dropped and made again at each run; the SQL in
/// `reset_schema` names it too).
const PG_SCHEMA: &str = "quartet_bench";
/// A key for this throw-away site only; never used anywhere else.
const BENCH_SECRET_KEY: &str = "bench-only-not-a-secret-bench-only-not-a-secret-0123456789";

/// Where the site keeps its rows.
#[derive(Debug, Clone)]
pub enum Database {
    /// A fresh SQLite file in the work folder.
    Sqlite,
    /// The schema `quartet_bench` of this database.
    Postgres(String),
}

impl Database {
    /// `sqlite` or `postgresql`, as in the reports.
    pub fn name(&self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres(_) => "postgresql",
        }
    }
}

/// A seeded site, ready to serve.
pub struct Site {
    binary: PathBuf,
    database: Database,
    cache: String,
    dir: PathBuf,
    /// The database server's version.
    pub database_version: String,
    /// Time `quartet seed` took.
    pub seed_seconds: f64,
    /// Settings of this run on top of the production deployment's (`QUARTET_*` variables).
    env: Vec<(String, String)>,
    /// The soft open-files limit `serve` starts with (`ulimit -Sn`), if not the harness's own.
    soft_nofile: Option<u64>,
    /// What `quartet seed` printed (the demo accounts' password).
    seed_output: String,
}

impl Site {
    /// Makes the data folder (and the PostgreSQL schema), migrates and seeds with `seed`; `env`
    /// adds settings.
    pub async fn prepare_with(
        binary: &Path,
        database: &Database,
        cache: &str,
        work: &Path,
        seed: &[&str],
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Site> {
        let dir = work.join(database.name());
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let database_version = match database {
            Database::Sqlite => String::new(),
            Database::Postgres(url) => reset_schema(url).await?,
        };
        let mut site = Site {
            binary: binary.to_owned(),
            database: database.clone(),
            cache: cache.to_owned(),
            dir,
            database_version,
            seed_seconds: 0.0,
            env,
            soft_nofile: None,
            seed_output: String::new(),
        };
        site.quartet(&["migrate"])?;
        let started = Instant::now();
        site.seed_output = site.quartet(&[&["seed"][..], seed].concat())?;
        site.seed_seconds = started.elapsed().as_secs_f64();
        if let Database::Sqlite = database {
            site.database_version = sqlite_version(&site.dir.join("quartet.sqlite3")).await?;
        }
        Ok(site)
    }

    /// The site's work folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Which database.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The settings of a production deployment on loopback: debug off, no request log, plain
    /// HTTP (no TLS proxy in front), the host `127.0.0.1` allowed, the cache chosen.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("QUARTET_PROFILE", "production")
            .env("QUARTET_SECRET_KEY", BENCH_SECRET_KEY)
            .env("QUARTET_DATA_DIR", self.dir.join("data"))
            .env("QUARTET_ALLOWED_HOSTS", "127.0.0.1")
            .env("QUARTET_SECURITY_SSL_REDIRECT", "false")
            .env("QUARTET_LOG_REQUESTS", "false")
            .env("QUARTET_LOG_FILTER", "warn")
            .env("QUARTET_EMAIL_BACKEND", "file")
            .env("QUARTET_CACHE_BACKEND", &self.cache)
            // Loopback only: the view-count check reads the requests served.
            .env("QUARTET_METRICS_ACCESS", "loopback")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        match &self.database {
            Database::Sqlite => {
                command.env("QUARTET_DATABASE_URL", format!("sqlite://{}", self.dir.join("quartet.sqlite3").display()))
            }
            Database::Postgres(url) => {
                command.env("QUARTET_DATABASE_URL", url).env("QUARTET_DATABASE_SCHEMA", PG_SCHEMA)
            }
        };
        command
    }

    /// Starts `serve` with this soft open-files limit (the common 1,024, say).
    pub fn with_soft_nofile(mut self, limit: u64) -> Self {
        self.soft_nofile = Some(limit);
        self
    }

    /// Runs a `quartet` command to completion; its output is kept only when it fails.
    pub fn quartet(&self, args: &[&str]) -> anyhow::Result<String> {
        let output =
            self.command().args(args).output().with_context(|| format!("cannot run {}", self.binary.display()))?;
        if !output.status.success() {
            bail!(
                "`quartet {}` failed ({}):\n{}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The demo accounts' password, as `quartet seed` printed it.
    pub fn demo_password(&self) -> anyhow::Result<&str> {
        self.seed_output
            .split("with the password `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .context("`quartet seed` printed no demo password")
    }

    /// Starts `quartet serve` on a free loopback port and waits until `/healthz` answers.
    pub async fn serve(&self) -> anyhow::Result<Server> {
        let port = free_port()?;
        let log = std::fs::File::create(self.log_path()).context("cannot create the server log")?;
        let mut command = self.command();
        command.args(["serve", "--bind", &format!("127.0.0.1:{port}")]);
        if let Some(limit) = self.soft_nofile {
            // `ulimit -Sn` in a shell that then becomes the server.
            let program = command.get_program().to_owned();
            let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
            let mut shell = Command::new("sh");
            shell.arg("-c").arg(format!("ulimit -Sn {limit} && exec \"$0\" \"$@\"")).arg(program).args(args);
            shell.current_dir(&self.dir).env_clear();
            for (key, value) in command.get_envs() {
                if let Some(value) = value {
                    shell.env(key, value);
                }
            }
            command = shell;
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start quartet serve")?;
        let server = Server { pid: child.id(), child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(format!("{}/healthz", server.base)).send().await
                && response.status().is_success()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("quartet serve did not answer /healthz within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the server wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("serve.log")
    }

    /// The last lines the server wrote.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// A running `quartet serve`.
pub struct Server {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Server {
    /// The process's CPU time and memory now.
    pub fn sample(&self) -> anyhow::Result<ProcessStats> {
        ProcessStats::read(self.pid)
    }

    /// The whole run's figures: peak memory and CPU seconds.
    pub fn stats(&self) -> anyhow::Result<ServerStats> {
        let now = self.sample()?;
        Ok(ServerStats { peak_rss_mib: now.peak_rss_mib, rss_mib: now.rss_mib, cpu_seconds: now.cpu_seconds })
    }

    /// SIGTERM, then the graceful stop.
    pub async fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Drops and makes the harness's schema; returns the server's version.
async fn reset_schema(url: &str) -> anyhow::Result<String> {
    let mut connection = sqlx::PgConnection::connect(url).await.context("cannot connect to PostgreSQL")?;
    sqlx::raw_sql("DROP SCHEMA IF EXISTS quartet_bench CASCADE; CREATE SCHEMA quartet_bench")
        .execute(&mut connection)
        .await
        .context("cannot make the schema quartet_bench")?;
    let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut connection).await?;
    connection.close().await?;
    Ok(format!("PostgreSQL {version}"))
}

async fn sqlite_version(file: &Path) -> anyhow::Result<String> {
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", file.display())).await?;
    let version: String = sqlx::query_scalar("SELECT sqlite_version()").fetch_one(&mut connection).await?;
    connection.close().await?;
    Ok(format!("SQLite {version}"))
}

/// The server's figures over a whole run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct ServerStats {
    /// The most resident memory (`VmHWM`).
    pub peak_rss_mib: f64,
    /// Resident memory at the end.
    pub rss_mib: f64,
    /// User + system CPU seconds since start-up.
    pub cpu_seconds: f64,
}
