//! The `quartet` command line: built-in commands plus every installed app's commands.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::{App, AppCommand, SeedOptions};
use crate::config::{LogFormat, Settings};
use crate::mail::Email;
use crate::models::{DumpOptions, dump_data, load_data, parse_dump};
use crate::site::Site;

/// Quartet: a blog, a bookmarking site, a shop and an e-learning platform in one program.
#[derive(Debug, Parser)]
#[command(name = "quartet", version, about, propagate_version = true)]
pub struct Cli {
    /// Settings file (default: ./quartet.toml if present; also $QUARTET_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Create the site's database if there is none here (only `serve` and `migrate` do so
    /// without being asked).
    #[arg(long, global = true)]
    pub create: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Builtin,
}

/// The built-in commands.
#[derive(Debug, Subcommand)]
pub enum Builtin {
    /// Serve the site over HTTP (and WebSocket) on one port; over HTTPS with --tls or --cert.
    Serve {
        /// Address to listen on (default: server.bind, 127.0.0.1:8000).
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Serve HTTPS with a self-signed certificate made once under `<data_dir>/tls/` (for
        /// development: OAuth providers want an https:// redirect address).
        #[arg(long, conflicts_with_all = ["cert", "key"])]
        tls: bool,
        /// Serve HTTPS with this certificate chain (PEM).
        #[arg(long, requires = "key", value_name = "FILE")]
        cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "cert", value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Apply database migrations, or list them.
    Migrate {
        /// List every migration and whether it is applied, without applying anything.
        #[arg(long)]
        list: bool,
    },
    /// Check the configuration and the database; with --deploy, report insecure settings.
    Check {
        /// Also report settings that are unsafe for a public deployment (exit 1 if any).
        #[arg(long)]
        deploy: bool,
    },
    /// Write the data of every (or the named) model as JSON.
    Dumpdata {
        /// App labels (`accounts`) or model labels (`accounts.user`); all if none.
        labels: Vec<String>,
        /// Leave out an app or model (repeatable).
        #[arg(long, short = 'e')]
        exclude: Vec<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
        /// Indent the JSON by this many spaces.
        #[arg(long)]
        indent: Option<usize>,
    },
    /// Load data written by `dumpdata` (from any database) in one transaction.
    Loaddata {
        /// Dump files; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Create demo data; sizes as `--posts 1000 --tags 50` for benchmark data sets (the
    /// installed apps' sizes are listed below).
    Seed,
    /// Show the settings that differ from the profile's defaults, secrets redacted (Django's
    /// `diffsettings`).
    Diffsettings {
        /// Show every setting; those left at their default are marked `###`.
        #[arg(long)]
        all: bool,
    },
    /// Send a test e-mail to check the mail settings.
    Sendtestemail {
        /// Recipients.
        #[arg(required = true)]
        emails: Vec<String>,
    },
    /// Copy the static files (plain and hashed names) into a folder for a web server.
    Collectstatic {
        /// Target folder.
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
    /// Open the database's own shell on the configured database: `sqlite3` on the SQLite file,
    /// `psql` on PostgreSQL (the password passed in its environment, never as an argument).
    Dbshell {
        /// Arguments for the shell, after `--` (`quartet dbshell -- -c 'select 1'`).
        #[arg(last = true)]
        args: Vec<String>,
    },
}

/// What the command line offers: the installed apps (the kernel's `core` app first, less
/// those `apps.disabled` names) and their commands.
pub struct Offer {
    /// The apps as the site lists them (what a site is built from).
    given: Vec<Arc<dyn App>>,
    /// The apps a site of these settings has.
    installed: Vec<Arc<dyn App>>,
    commands: Vec<AppCommand>,
}

impl std::fmt::Debug for Offer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offer")
            .field("apps", &self.installed.iter().map(|a| a.label()).collect::<Vec<_>>())
            .field("commands", &self.commands)
            .finish()
    }
}

impl Offer {
    /// The offer of `apps` under `settings`; with settings that do not load, every app is
    /// offered and the command reports the settings' error when it runs.
    pub fn new(apps: Vec<Arc<dyn App>>, settings: Option<&Settings>) -> Self {
        let defaults = Settings::defaults(crate::config::Profile::Development);
        let settings = settings.unwrap_or(&defaults);
        let installed = crate::site::installed(apps.clone(), settings)
            .unwrap_or_else(|_| crate::site::installed(apps.clone(), &defaults).unwrap_or_default());
        let commands = crate::app::Registry::collect(&installed, settings).map(|r| r.commands).unwrap_or_default();
        Self { given: apps, installed, commands }
    }

    /// The full clap command, with the apps' commands and seed sizes added.
    pub fn command(&self) -> clap::Command {
        let mut command = Cli::command();
        for app_command in &self.commands {
            command = command.subcommand(app_command.command.clone());
        }
        let sizes = self.seed_sizes();
        command.mut_subcommand("seed", |mut seed| {
            for size in sizes {
                seed = seed.arg(
                    clap::Arg::new(size.name)
                        .long(size.name)
                        .value_name("N")
                        .value_parser(clap::value_parser!(u64))
                        .help(format!("{} (default {})", size.help, size.default)),
                );
            }
            seed
        })
    }

    /// Every seed size of the installed apps (the first app naming one wins).
    fn seed_sizes(&self) -> Vec<crate::app::SeedSize> {
        let mut sizes: Vec<crate::app::SeedSize> = Vec::new();
        for size in self.installed.iter().flat_map(|a| a.seed_sizes()) {
            if !sizes.iter().any(|s| s.name == size.name) {
                sizes.push(size);
            }
        }
        sizes
    }
}

/// The `--config` file named on the command line (`--config FILE` or `--config=FILE`), read
/// before the full command exists, since the settings decide which apps' commands it has.
fn config_argument(args: &[std::ffi::OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(value) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(value));
        }
    }
    None
}

/// Parses the arguments, runs the command and returns the exit code (`main` of the binary).
///
/// `apps` is the site's list of installed apps, in order (the kernel's `core` app is added
/// first).
pub fn run(apps: Vec<Arc<dyn App>>) -> ExitCode {
    crate::http::fetch::install_crypto_provider();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let config = config_argument(&args);
    let settings = Settings::load_with(config.as_deref(), &crate::site::sections_of(&apps));
    let offer = Offer::new(apps, settings.as_ref().ok());
    let matches = offer.command().get_matches_from(args);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(offer, matches, Read { config, settings })) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = if quiet { "warn" } else { settings.log.filter.as_str() };
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}

fn progress_bar(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} {{msg:24}} [{{bar:30}}] {{pos}}/{{len}} ({{eta}})"))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Whether the command may make a new site (database file, data folder) where there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    /// `serve`, `migrate` and `--create`.
    Allowed,
    /// Every other command: say so and stop.
    Refused,
}

/// The SQLite file of the settings' database, if it is a file (not PostgreSQL, not in memory).
fn sqlite_file(settings: &Settings) -> Option<PathBuf> {
    let url = settings.database_url();
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// The settings read once for the whole command, from the `--config` file found before the
/// command line was parsed (they decide which commands it offers).
struct Read {
    config: Option<PathBuf>,
    settings: Result<Settings, crate::config::ConfigError>,
}

async fn build_site(settings: Settings, apps: Vec<Arc<dyn App>>, quiet: bool, create: Create) -> anyhow::Result<Site> {
    if create == Create::Refused
        && let Some(file) = sqlite_file(&settings)
        && !file.exists()
    {
        bail!(
            "there is no site here: {} does not exist. Run `quartet serve` or `quartet migrate` to create one, \
             pass --create to make this command create it, or run it where the site is (or set database.url)",
            file.display()
        );
    }
    init_logging(&settings, quiet);
    Site::builder(settings).apps(apps).build().await
}

async fn migrate(site: &Site) -> anyhow::Result<()> {
    let applied = site
        .migrate(|app, name| {
            println!("  Applying {app}.{name}...");
        })
        .await?;
    if applied.is_empty() {
        println!("No migrations to apply.");
    } else {
        println!("Applied {} migration(s).", applied.len());
    }
    Ok(())
}

async fn dispatch(offer: Offer, matches: ArgMatches, read: Read) -> anyhow::Result<ExitCode> {
    let config = matches.get_one::<PathBuf>("config").cloned();
    // The parser finds the file the early scan found, but for spellings only it understands.
    let settings = if config == read.config {
        read.settings?
    } else {
        Settings::load_with(config.as_deref(), &crate::site::sections_of(&offer.given))?
    };
    let create = if matches.get_flag("create") { Create::Allowed } else { Create::Refused };
    let sizes = offer.seed_sizes();
    let Offer { given: apps, commands, .. } = offer;
    if let Some((name, sub)) = matches.subcommand()
        && let Some(app_command) = commands.into_iter().find(|c| c.command.get_name() == name)
    {
        let site = build_site(settings, apps, !app_command.logs, create).await?;
        ensure_migrated(&site).await?;
        (app_command.run)(site.core.clone(), sub.clone()).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.command {
        Builtin::Serve { bind, tls, cert, key } => {
            let files = match (cert, key) {
                (Some(cert), Some(key)) => Some((cert, key)),
                _ if tls => {
                    Some(crate::server::tls::development_certificate(&settings.data_dir, &settings.allowed_hosts)?)
                }
                _ => None,
            };
            // A bad certificate stops the command before the site is built.
            let acceptor = files.as_ref().map(|(cert, key)| crate::server::tls::acceptor(cert, key)).transpose()?;
            serve(settings, apps, bind, acceptor).await
        }
        Builtin::Migrate { list } => {
            let site = build_site(settings, apps, true, if list { create } else { Create::Allowed }).await?;
            if list {
                for status in site.migration_status().await? {
                    let mark = if status.applied_at.is_some() { "X" } else { " " };
                    println!("[{mark}] {}.{}", status.app, status.name);
                }
            } else {
                println!("Operations to perform on {}:", crate::db::redact_url(&site.core.settings.database_url()));
                migrate(&site).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Builtin::Check { deploy } => check(settings, apps, deploy, create).await,
        Builtin::Dumpdata { labels, exclude, output, indent } => {
            let site = build_site(settings, apps, true, create).await?;
            ensure_migrated(&site).await?;
            let options = DumpOptions { labels, exclude, indent };
            let bar = progress_bar("Dumping");
            let count = match &output {
                Some(path) => {
                    let file =
                        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
                    let mut writer = std::io::BufWriter::new(file);
                    dump_data(&site.core.db, &site.core.registry.models, &options, &mut writer, &bar).await?
                }
                None => {
                    let mut writer = std::io::BufWriter::new(std::io::stdout().lock());
                    dump_data(&site.core.db, &site.core.registry.models, &options, &mut writer, &bar).await?
                }
            };
            if let Some(path) = output {
                eprintln!("Dumped {count} object(s) to {}.", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Builtin::Loaddata { files } => {
            let site = build_site(settings, apps, true, create).await?;
            ensure_migrated(&site).await?;
            let mut rows = Vec::new();
            for file in &files {
                let text = if file.as_os_str() == "-" {
                    std::io::read_to_string(std::io::stdin()).context("reading standard input")?
                } else {
                    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
                };
                rows.extend(parse_dump(&text).with_context(|| format!("{}", file.display()))?);
            }
            let report = load_data(&site.core.db, &site.core.registry.models, rows, &progress_bar("Loading")).await?;
            if let Err(e) = crate::db::refresh_statistics(&site.core.db).await {
                tracing::warn!(error = %e, "could not refresh the database statistics after loading");
            }
            println!(
                "Installed {} object(s) of {} model(s) from {} file(s).",
                report.objects,
                report.models,
                files.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Builtin::Seed => {
            let sub = matches.subcommand_matches("seed").expect("the seed command's matches");
            let sizes = sizes
                .into_iter()
                .filter_map(|size| sub.get_one::<u64>(size.name).map(|n| (size.name.to_owned(), *n)))
                .collect();
            let options = SeedOptions { sizes };
            let site = build_site(settings, apps, true, create).await?;
            ensure_migrated(&site).await?;
            let report = crate::core_app::seed_all(&site.core, &options).await?;
            let lines = report.lines();
            if lines.is_empty() {
                println!("Nothing new was created.");
            }
            for line in lines {
                println!("{line}");
            }
            for note in report.notes() {
                println!("{note}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Builtin::Diffsettings { all } => {
            let sections = crate::site::sections_of(&apps);
            let mut defaults = Settings::defaults(settings.profile);
            defaults.ensure_sections(&sections)?;
            let defaults = crate::config::flatten(&crate::config::describe(&defaults));
            for (key, value) in crate::config::flatten(&crate::config::describe(&settings)) {
                let changed = defaults.iter().find(|(k, _)| *k == key).is_none_or(|(_, v)| *v != value);
                if changed {
                    println!("{key} = {value}");
                } else if all {
                    println!("{key} = {value}  ###");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Builtin::Sendtestemail { emails } => {
            let site = build_site(settings, apps, true, create).await?;
            let host = crate::config::hostname();
            let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S %Z");
            let email = Email {
                from: None,
                to: emails.clone(),
                subject: format!("Test email from {host} on {now}"),
                body: "If you're reading this, it was successful.".into(),
                attachments: Vec::new(),
            };
            site.core.mailer.send(&email).await?;
            eprintln!("Sent a test e-mail to {}.", emails.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Builtin::Dbshell { args } => dbshell(&settings, &args),
        Builtin::Collectstatic { output } => {
            let site = build_site(settings, apps, true, create).await?;
            let written =
                site.core.assets.collect_into(&output).with_context(|| format!("writing into {}", output.display()))?;
            println!("{written} static file(s) copied to {}.", output.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The command `dbshell` runs: the program, its arguments and the environment it adds.
pub fn dbshell_command(settings: &Settings, extra: &[String]) -> anyhow::Result<std::process::Command> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        let Some(file) = sqlite_file(settings) else { bail!("an in-memory SQLite database has no shell") };
        if !file.exists() {
            bail!("there is no database at {}: run `quartet migrate` first", file.display());
        }
        let mut command = std::process::Command::new("sqlite3");
        command.arg(file).args(extra);
        return Ok(command);
    }
    let parsed = url::Url::parse(&url).context("database.url is not a URL")?;
    let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
    let mut command = std::process::Command::new("psql");
    if let Some(host) = parsed.host_str() {
        command.arg("--host").arg(host.trim_start_matches('[').trim_end_matches(']'));
    }
    if let Some(port) = parsed.port() {
        command.arg("--port").arg(port.to_string());
    }
    if !parsed.username().is_empty() {
        command.arg("--username").arg(decode(parsed.username()));
    }
    if let Some(password) = parsed.password() {
        // In the environment, where `ps` does not show it (Django's dbshell does the same).
        command.env("PGPASSWORD", decode(password));
    }
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => command.env("PGSSLMODE", value.as_ref()),
            "sslrootcert" => command.env("PGSSLROOTCERT", value.as_ref()),
            _ => &mut command,
        };
    }
    let schema = &settings.database.schema;
    if !schema.is_empty() {
        // The schema the site uses, as its own connections set it.
        command.env("PGOPTIONS", format!("-c search_path={schema}"));
    }
    let database = decode(parsed.path().trim_start_matches('/'));
    if !database.is_empty() {
        command.arg("--dbname").arg(database);
    }
    command.args(extra);
    Ok(command)
}

fn dbshell(settings: &Settings, extra: &[String]) -> anyhow::Result<ExitCode> {
    let mut command = dbshell_command(settings, extra)?;
    let program = command.get_program().to_string_lossy().into_owned();
    match command.status() {
        Ok(status) => Ok(status.code().map_or(ExitCode::FAILURE, |c| ExitCode::from(c.clamp(0, 255) as u8))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let package = if program == "psql" { "postgresql-client" } else { "sqlite3" };
            bail!("`{program}` is not installed or not on the PATH (Debian: apt install {package})")
        }
        Err(e) => Err(e).with_context(|| format!("running {program}")),
    }
}

async fn ensure_migrated(site: &Site) -> anyhow::Result<()> {
    if site.core.settings.database.auto_migrate {
        site.migrate(|_, _| {}).await?;
    } else if site.migration_status().await?.iter().any(|s| s.applied_at.is_none()) {
        bail!("the database has unapplied migrations; run `quartet migrate` first");
    }
    Ok(())
}

async fn serve(
    settings: Settings,
    apps: Vec<Arc<dyn App>>,
    bind: Option<SocketAddr>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> anyhow::Result<ExitCode> {
    let site = build_site(settings, apps, false, Create::Allowed).await?;
    crate::server::listener::raise_descriptor_limit();
    let settings = &site.core.settings;
    if settings.database.auto_migrate {
        let applied = site.migrate(|app, name| tracing::info!("applying migration {app}.{name}")).await?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "migrations applied");
        }
    } else {
        let pending = site.migration_status().await?.iter().filter(|s| s.applied_at.is_none()).count();
        if pending > 0 {
            tracing::warn!(pending, "the database has unapplied migrations; run `quartet migrate`");
        }
    }
    let address = bind.unwrap_or(settings.server.bind);
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;
    // Listening for SIGTERM from before the banner: a stop asked for at once is a clean stop.
    let stop = crate::server::shutdown_signal();
    let empty = {
        use sea_orm::{EntityTrait, PaginatorTrait};
        crate::auth::models::user::Entity::find().count(&site.core.db).await? == 0
    };
    // `say`, not `println!`: a closed standard output (`quartet serve | head -1`) must not end
    // the server.
    crate::console::say(&format!(
        "Quartet is running at {}://{local}/ ({} profile, {}). Press Ctrl-C to stop.",
        if tls.is_some() { "https" } else { "http" },
        match settings.profile {
            crate::config::Profile::Development => "development",
            crate::config::Profile::Production => "production",
        },
        match site.core.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "PostgreSQL",
            _ => "SQLite",
        }
    ));
    if empty && settings.debug {
        crate::console::say(
            "The site is empty: load demo data with the button on the home page, or run `quartet seed`.",
        );
    }
    let interval = std::time::Duration::from_millis(settings.kv.flush_interval_ms);
    site.core.kv.start_batching(interval, settings.kv.buffer_keys);
    let background: Vec<_> =
        site.core.registry.installed.iter().filter_map(|a| a.start_background(&site.core)).collect();
    site.serve_with(listener, tls, stop).await;
    for task in background {
        task.stop().await;
    }
    match site.core.kv.flush().await {
        Ok(written) => tracing::info!(written, "counts written"),
        Err(e) => tracing::error!(error = %e, "the last counts could not be written"),
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn check(settings: Settings, apps: Vec<Arc<dyn App>>, deploy: bool, create: Create) -> anyhow::Result<ExitCode> {
    let site = build_site(settings, apps, true, create).await?;
    crate::db::ping(&site.core.db).await.context("the database does not answer")?;
    let pending = site.migration_status().await?.iter().filter(|s| s.applied_at.is_none()).count();
    let mut findings = Vec::new();
    if deploy {
        findings = crate::checks::deploy_findings(&site.core.settings);
    }
    if pending > 0 {
        println!("Note: {pending} migration(s) not applied yet; `quartet migrate` applies them.");
    }
    if findings.is_empty() {
        println!("System check identified no issues (0 silenced).");
        return Ok(ExitCode::SUCCESS);
    }
    println!("System check identified some issues:\n");
    let (errors, warnings): (Vec<_>, Vec<_>) = findings.iter().partition(|f| f.is_error());
    for (heading, list) in [("ERRORS:", errors), ("WARNINGS:", warnings)] {
        if !list.is_empty() {
            println!("{heading}");
            for f in list {
                println!("?: ({}) {}", f.id, f.message);
            }
            println!();
        }
    }
    println!("System check identified {} issue(s) (0 silenced).", findings.len());
    Ok(ExitCode::FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_valid() {
        Offer::new(Vec::new(), None).command().debug_assert();
    }

    struct Sized;

    #[async_trait::async_trait]
    impl App for Sized {
        fn label(&self) -> &'static str {
            "sized"
        }
        fn name(&self) -> &'static str {
            "Sized"
        }
        fn routes(&self, core: &crate::app::CoreState) -> crate::urls::Routes {
            crate::urls::RoutesBuilder::<crate::app::CoreState>::new().with_state(core.clone())
        }
        fn seed_sizes(&self) -> Vec<crate::app::SeedSize> {
            vec![crate::app::SeedSize { name: "posts", help: "posts to write", default: 12 }]
        }
        fn register(&self, app: &mut crate::app::AppRegistry<'_>) {
            app.command(AppCommand {
                command: clap::Command::new("reshelve").about("Put the books back"),
                logs: false,
                run: |_core, _args| Box::pin(async { Ok(()) }),
            });
        }
    }

    #[test]
    fn a_disabled_apps_commands_and_sizes_are_not_offered() {
        let apps: Vec<Arc<dyn App>> = vec![Arc::new(Sized)];
        let offered = Offer::new(apps.clone(), None).command();
        assert!(offered.find_subcommand("reshelve").is_some(), "an installed app's command is offered");
        let mut settings = Settings::defaults(crate::config::Profile::Development);
        settings.apps.disabled = vec!["sized".into()];
        let mut command = Offer::new(apps, Some(&settings)).command();
        assert!(command.find_subcommand("reshelve").is_none(), "a disabled app's command is not offered");
        let err = command.clone().try_get_matches_from(["quartet", "reshelve"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
        let seed = command.find_subcommand_mut("seed").unwrap().render_long_help().to_string();
        assert!(!seed.contains("--posts <N>"), "nor are its seed sizes: {seed}");
    }

    #[test]
    fn the_config_file_is_found_before_the_full_parse() {
        let args = |list: &[&str]| list.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(config_argument(&args(&["quartet", "--config", "a.toml", "serve"])), Some(PathBuf::from("a.toml")));
        assert_eq!(config_argument(&args(&["quartet", "serve", "--config=b.toml"])), Some(PathBuf::from("b.toml")));
        assert_eq!(config_argument(&args(&["quartet", "seed", "--", "--config", "c"])), None);
        assert_eq!(config_argument(&args(&["quartet", "serve"])), None);
    }

    #[tokio::test]
    async fn the_settings_read_before_parsing_are_the_ones_the_command_uses() {
        let read = |config: Option<&str>| Read {
            config: config.map(PathBuf::from),
            settings: Err(crate::config::ConfigError::Read {
                path: PathBuf::from("read-before-parsing.toml"),
                source: std::io::Error::other("gone"),
            }),
        };
        let offer = Offer::new(Vec::new(), None);
        let matches = offer.command().try_get_matches_from(["quartet", "check"]).unwrap();
        let error = dispatch(offer, matches, read(None)).await.unwrap_err();
        assert!(error.to_string().contains("read-before-parsing.toml"), "read once, not again: {error}");
        // A file the early scan did not see is read when the command runs.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("quartet.toml");
        std::fs::write(&file, "nonsense = 1\n").unwrap();
        let offer = Offer::new(Vec::new(), None);
        let args = ["quartet", "--config", file.to_str().unwrap(), "diffsettings"];
        let matches = offer.command().try_get_matches_from(args).unwrap();
        let error = format!("{:#}", dispatch(offer, matches, read(None)).await.unwrap_err());
        assert!(error.contains("nonsense"), "{error}");
    }

    #[test]
    fn seed_takes_the_sizes_apps_declare_and_refuses_others() {
        let apps: Vec<Arc<dyn App>> = vec![Arc::new(Sized)];
        let matches = Offer::new(apps.clone(), None)
            .command()
            .try_get_matches_from(["quartet", "seed", "--posts", "1000"])
            .unwrap();
        assert_eq!(matches.subcommand_matches("seed").unwrap().get_one::<u64>("posts"), Some(&1000));
        let typo = Offer::new(apps.clone(), None)
            .command()
            .try_get_matches_from(["quartet", "seed", "--postz", "5"])
            .unwrap_err();
        assert_eq!(typo.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(typo.to_string().contains("--posts"), "the error suggests the right name: {typo}");
        let bad = Offer::new(apps.clone(), None)
            .command()
            .try_get_matches_from(["quartet", "seed", "--posts", "many"])
            .unwrap_err();
        assert_eq!(bad.kind(), clap::error::ErrorKind::ValueValidation);
        let help = Offer::new(apps.clone(), None)
            .command()
            .find_subcommand_mut("seed")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--posts <N>") && help.contains("posts to write (default 12)"), "{help}");
    }
}
