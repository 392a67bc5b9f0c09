//! The `quartet` command line, run as a user runs it: the real binary in an empty working
//! directory, with no `QUARTET_*` variables inherited from the test's environment.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use quartet_testkit::{Backend, TestDatabase};

/// A working directory and the environment the binary runs with.
struct Quartet {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What a run printed and how it ended.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "the command failed:\n{self:#?}");
        self
    }
}

impl Quartet {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("quartet-cli-").tempdir().expect("a temporary folder");
        Self { dir, env: Vec::new() }
    }

    /// A working directory whose database is `database` (SQLite file or PostgreSQL schema).
    fn on(database: &TestDatabase) -> Self {
        let mut quartet = Self::new();
        quartet.set("QUARTET_DATABASE_URL", database.url());
        if let Some(schema) = database.schema() {
            quartet.set("QUARTET_DATABASE_SCHEMA", schema);
        }
        quartet
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).expect("a file in the working directory");
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_quartet"));
        command.args(args).current_dir(self.path()).stdin(Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("QUARTET_") {
                command.env_remove(name);
            }
        }
        // Quick password hashing; the real parameters have their own tests.
        command.env("QUARTET_AUTH_ARGON2_MEMORY_KIB", "64");
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("the quartet binary runs"))
    }

    fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the quartet binary runs");
        // The pipe closes when the handle drops, so a command that asks for more reads end of input.
        let mut stdin = child.stdin.take().expect("a stdin pipe");
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        Run::from(child.wait_with_output().expect("the command ends"))
    }

    fn dump(&self, labels: &[&str]) -> serde_json::Value {
        let mut args = vec!["dumpdata"];
        args.extend(labels);
        let run = self.run(&args).success();
        serde_json::from_str(&run.stdout).expect("dumpdata prints JSON")
    }
}

fn users(dump: &serde_json::Value) -> Vec<&serde_json::Value> {
    dump.as_array().unwrap().iter().filter(|row| row["model"] == "accounts.user").collect()
}

#[test]
fn check_deploy_on_the_defaults_names_every_insecure_setting_and_fails() {
    let quartet = Quartet::new();
    quartet.run(&["migrate"]).success();
    let plain = quartet.run(&["check"]).success();
    assert!(plain.stdout.contains("System check identified no issues"), "{plain:#?}");

    let deploy = quartet.run(&["check", "--deploy"]);
    assert_eq!(deploy.code, Some(1), "{deploy:#?}");
    for id in ["W004", "W008", "W009", "W012", "W016", "W018", "W020"] {
        assert!(deploy.stdout.contains(&format!("(security.{id})")), "{id} missing:\n{}", deploy.stdout);
    }
    assert!(deploy.stdout.contains("(quartet.W101)"), "the development toolbar:\n{}", deploy.stdout);
    assert!(deploy.stdout.contains("System check identified 8 issue(s)"), "{}", deploy.stdout);
}

#[test]
fn diffsettings_shows_what_changed_and_never_a_secret() {
    let mut quartet = Quartet::new();
    let secrets = [
        ("QUARTET_SECRET_KEY", "cli-secret-key-value"),
        ("QUARTET_DATABASE_URL", "postgres://quartet:db-password@db.invalid/quartet"),
        ("QUARTET_EMAIL_SMTP_PASSWORD", "smtp-password-value"),
        ("QUARTET_JOBS_AMQP_URL", "amqp://quartet:amqp-password@mq.invalid:5672/%2f"),
    ];
    for (name, value) in secrets {
        quartet.set(name, value);
    }
    quartet.set("QUARTET_SITE_NAME", "Shown Site");
    let changed = quartet.run(&["diffsettings"]).success();
    let every = quartet.run(&["diffsettings", "--all"]).success();
    for out in [&changed, &every] {
        for (_, secret) in secrets {
            assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret), "{secret} leaks: {out:#?}");
        }
    }
    for key in ["secret_key", "database.url", "email.smtp_password", "jobs.amqp_url"] {
        assert!(changed.stdout.contains(&format!("{key} = \"<redacted>\"\n")), "{key}: {changed:#?}");
    }
    assert!(changed.stdout.contains("site.name = \"Shown Site\""), "{changed:#?}");
    assert!(!changed.stdout.contains("###"), "only changed settings without --all: {changed:#?}");
    assert!(every.stdout.contains("server.bind = \"127.0.0.1:8000\"  ###"), "{every:#?}");
    assert!(every.stdout.lines().count() > changed.stdout.lines().count() + 50, "{every:#?}");
}

#[test]
fn check_deploy_on_the_production_example_passes() {
    let quartet = Quartet::new();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/production.toml.example"))
        .expect("config/production.toml.example");
    let data = quartet.path().join("data");
    quartet.write("quartet.toml", &example.replace("/var/lib/quartet", &data.display().to_string()));
    let mut quartet = quartet;
    quartet.set("QUARTET_SECRET_KEY", "fake-example-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH");

    let deploy = quartet.run(&["check", "--deploy", "--create"]).success();
    assert!(deploy.stdout.contains("System check identified no issues"), "{deploy:#?}");
    // The production profile does not migrate by itself.
    assert!(deploy.stdout.contains("not applied yet"), "{deploy:#?}");
    // And the secret never appears in what is printed.
    assert!(!deploy.stdout.contains("fake-example-key") && !deploy.stderr.contains("fake-example-key"));

    // Without the secret key the production profile refuses to start.
    quartet.env.retain(|(k, _)| k != "QUARTET_SECRET_KEY");
    let refused = quartet.run(&["check"]);
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("`secret_key`"), "{refused:#?}");
}

#[test]
fn unknown_settings_and_bad_values_stop_start_up_naming_the_key() {
    let mut quartet = Quartet::new();
    quartet.write("quartet.toml", "[database]\nurll = \"sqlite://x\"\n");
    let typo = quartet.run(&["check"]);
    assert_eq!(typo.code, Some(1));
    assert!(typo.stderr.contains("unknown setting `database.urll`"), "{typo:#?}");

    quartet.write("quartet.toml", "");
    quartet.set("QUARTET_SERVER_BIND", "everywhere");
    let bad = quartet.run(&["check"]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("`server.bind`"), "{bad:#?}");

    let mut quartet = Quartet::new();
    quartet.set("QUARTET_SESSON_COOKIE_NAME", "x");
    let unknown_env = quartet.run(&["check"]);
    assert_eq!(unknown_env.code, Some(1));
    assert!(unknown_env.stderr.contains("QUARTET_SESSON_COOKIE_NAME"), "{unknown_env:#?}");

    let missing = Quartet::new().run(&["--config", "nowhere.toml", "check"]);
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("nowhere.toml"), "{missing:#?}");

    let bad_arguments = Quartet::new().run(&["migrate", "--everything"]);
    assert_eq!(bad_arguments.code, Some(2));
    assert!(bad_arguments.stderr.contains("--everything"), "{bad_arguments:#?}");
}

#[test]
fn migrate_lists_then_applies_every_migration_into_the_default_sqlite_file() {
    let quartet = Quartet::new();
    let nothing = quartet.run(&["migrate", "--list"]);
    assert_eq!(nothing.code, Some(1), "{nothing:#?}");
    assert!(nothing.stderr.contains("there is no site here"), "{nothing:#?}");
    let before = quartet.run(&["migrate", "--list", "--create"]).success();
    assert!(before.stdout.contains("[ ] core.0001_initial"), "{before:#?}");
    assert!(before.stdout.contains("[ ] accounts.0001_initial"), "{before:#?}");
    assert!(!before.stdout.contains("[X]"));

    let applied = quartet.run(&["migrate"]).success();
    assert!(applied.stdout.contains("Applying accounts.0001_initial..."), "{applied:#?}");
    assert!(quartet.path().join("data/quartet.sqlite3").is_file(), "the default database file is created");

    let after = quartet.run(&["migrate", "--list"]).success();
    assert!(after.stdout.contains("[X] accounts.0001_initial") && !after.stdout.contains("[ ]"), "{after:#?}");
    let again = quartet.run(&["migrate"]).success();
    assert!(again.stdout.contains("No migrations to apply."), "{again:#?}");
}

#[test]
fn createsuperuser_without_input_reads_the_environment() {
    let mut quartet = Quartet::new();
    quartet.run(&["migrate"]).success();
    let refused = quartet.run(&["createsuperuser", "--noinput"]);
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("QUARTET_SUPERUSER_USERNAME"), "{refused:#?}");

    quartet
        .set("QUARTET_SUPERUSER_USERNAME", "root")
        .set("QUARTET_SUPERUSER_EMAIL", "root@example.com")
        .set("QUARTET_SUPERUSER_PASSWORD", "password");
    let weak = quartet.run(&["createsuperuser", "--noinput"]);
    assert_eq!(weak.code, Some(1));
    assert!(weak.stderr.contains("This password is too common."), "{weak:#?}");

    quartet.env.retain(|(k, _)| k != "QUARTET_SUPERUSER_PASSWORD");
    quartet.set("QUARTET_SUPERUSER_PASSWORD", "violet-anchor-93-tide");
    let created = quartet.run(&["createsuperuser", "--noinput"]).success();
    assert!(created.stdout.contains("Superuser created successfully."), "{created:#?}");
    assert!(!created.stdout.contains("violet-anchor") && !created.stderr.contains("violet-anchor"));

    let dump = quartet.dump(&["accounts.user"]);
    let root = users(&dump);
    assert_eq!(root.len(), 1);
    let fields = &root[0]["fields"];
    assert_eq!((fields["username"].as_str(), fields["email"].as_str()), (Some("root"), Some("root@example.com")));
    assert_eq!((fields["is_staff"].as_bool(), fields["is_superuser"].as_bool()), (Some(true), Some(true)));
    assert!(fields["password"].as_str().unwrap().starts_with("$argon2id$"), "{fields}");

    let twice = quartet.run(&["createsuperuser", "--noinput"]);
    assert_eq!(twice.code, Some(1));
    assert!(twice.stderr.contains("That username is already taken."), "{twice:#?}");
}

#[test]
fn createsuperuser_asks_and_changepassword_reads_the_new_password_twice() {
    let quartet = Quartet::new();
    quartet.run(&["migrate"]).success();
    let created = quartet.run_with_input(
        &["createsuperuser"],
        "boss\nboss@example.com\nshort\nother\nviolet-anchor-93-tide\nviolet-anchor-93-tide\n",
    );
    let created = created.success();
    assert!(created.stdout.contains("Error: Your passwords didn't match."), "{created:#?}");
    assert!(created.stdout.contains("Superuser created successfully."), "{created:#?}");
    let hash = |quartet: &Quartet| users(&quartet.dump(&["accounts.user"]))[0]["fields"]["password"].clone();
    let first = hash(&quartet);

    let unknown = quartet.run_with_input(&["changepassword", "nobody"], "");
    assert_eq!(unknown.code, Some(1));
    assert!(unknown.stderr.contains("user 'nobody' does not exist"), "{unknown:#?}");

    let gave_up = quartet.run_with_input(&["changepassword", "boss"], "a\nb\nc\nd\n12345678\n12345678\n");
    assert_eq!(gave_up.code, Some(1));
    assert!(gave_up.stdout.contains("Passwords do not match. Please try again."), "{gave_up:#?}");
    assert!(gave_up.stdout.contains("This password is entirely numeric."), "{gave_up:#?}");
    assert!(gave_up.stderr.contains("after 3 attempts"), "{gave_up:#?}");
    assert_eq!(hash(&quartet), first, "a refused change keeps the old password");

    let changed = quartet.run_with_input(&["changepassword", "boss"], "quiet-harbour-71\nquiet-harbour-71\n").success();
    assert!(changed.stdout.contains("Password changed successfully for user 'boss'"), "{changed:#?}");
    assert_ne!(hash(&quartet), first);
}

fn dump_and_load_between(source: Quartet, target: Quartet) {
    source.run(&["migrate"]).success();
    target.run(&["migrate"]).success();
    source.run(&["seed"]).success();
    let file = source.path().join("everything.json");
    let dumped = source.run(&["dumpdata", "--indent", "2", "-o", file.to_str().unwrap()]).success();
    assert!(dumped.stderr.contains("Dumped"), "{dumped:#?}");

    let loaded = target.run(&["loaddata", file.to_str().unwrap()]).success();
    assert!(loaded.stdout.contains("Installed"), "{loaded:#?}");
    assert_eq!(target.dump(&[]), source.dump(&[]), "the same rows on both databases");
    assert_eq!(users(&target.dump(&[])).len(), 4, "the demo users arrived");

    // A broken file is refused with its name, and nothing is half-loaded.
    std::fs::write(target.path().join("broken.json"), "[{\"model\": \"accounts.user\"").unwrap();
    let broken = target.run(&["loaddata", "broken.json"]);
    assert_eq!(broken.code, Some(1));
    assert!(broken.stderr.contains("broken.json"), "{broken:#?}");
    assert_eq!(users(&target.dump(&[])).len(), 4);
}

#[test]
fn dumpdata_and_loaddata_move_every_row_between_sqlite_files() {
    dump_and_load_between(Quartet::new(), Quartet::new());
}

#[tokio::test]
#[cfg_attr(not(quartet_postgres), ignore = "set QUARTET_TEST_DATABASE_URL to run it")]
async fn dumpdata_from_sqlite_and_loaddata_into_postgresql_give_the_same_rows() {
    if quartet_testkit::service_url(quartet_testkit::POSTGRES_VARIABLE).is_none() {
        return;
    }
    let sqlite = TestDatabase::create(Backend::Sqlite).await;
    let postgres = TestDatabase::create(Backend::Postgres).await;
    let (source, target) = (Quartet::on(&sqlite), Quartet::on(&postgres));
    tokio::task::spawn_blocking(move || dump_and_load_between(source, target)).await.unwrap();
}

#[test]
fn seed_creates_demo_accounts_once_and_refuses_bad_sizes() {
    let quartet = Quartet::new();
    quartet.run(&["migrate"]).success();
    let first = quartet.run(&["seed"]).success();
    let lines: Vec<&str> = first.stdout.lines().filter(|l| l.contains(": created ")).collect();
    assert_eq!(
        lines,
        [
            "Accounts: created 4 users.",
            "Blog: created 12 blog posts, 10 tags, 24 comments.",
            "Bookmarks: created 12 bookmarked images, 15 likes, 4 follows, 121 views, 4 profile photos."
        ],
        "{first:#?}"
    );
    assert!(first.stdout.contains("Sign in as `demo`"), "{first:#?}");
    let second = quartet.run(&["seed"]).success();
    assert!(second.stdout.contains("The demo account already exists."), "{second:#?}");
    assert!(second.stdout.contains("The blog already has posts"), "{second:#?}");
    assert!(second.stdout.contains("The bookmarks already have images"), "{second:#?}");
    let sized = Quartet::new().run(&["seed", "--create", "--posts", "5", "--tags", "3", "--comments", "1"]).success();
    assert!(sized.stdout.contains("Accounts: created 4 users.\n"), "{sized:#?}");
    assert!(sized.stdout.contains("Blog: created 5 blog posts, 3 tags, 5 comments.\n"), "{sized:#?}");
    let bad = quartet.run(&["seed", "--posts", "many"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("invalid value 'many' for '--posts <N>'"), "{bad:#?}");
    let typo = quartet.run(&["seed", "--postz", "5"]);
    assert_eq!(typo.code, Some(2), "a misspelt size is not ignored: {typo:#?}");
    assert!(typo.stderr.contains("--postz") && typo.stderr.contains("--posts"), "{typo:#?}");
    let help = quartet.run(&["seed", "--help"]).success();
    for size in [
        "--posts <N>",
        "--tags <N>",
        "--comments <N>",
        "--post-chars <N>",
        "--drafts <N>",
        "--images <N>",
        "--image-views <N>",
    ] {
        assert!(help.stdout.contains(size), "seed --help lists {size}: {help:#?}");
    }
}

#[test]
fn sendtestemail_uses_the_console_and_the_file_backends() {
    let mut quartet = Quartet::new();
    quartet.run(&["migrate"]).success();
    let console = quartet.run(&["sendtestemail", "ops@example.com"]).success();
    assert!(console.stdout.contains("To: ops@example.com"), "{console:#?}");
    assert!(console.stdout.contains("Subject: Test email from"), "{console:#?}");
    assert!(console.stdout.contains("If you're reading this, it was successful."), "{console:#?}");

    quartet.set("QUARTET_EMAIL_BACKEND", "file").set("QUARTET_EMAIL_FILE_PATH", "mail");
    quartet.run(&["sendtestemail", "ops@example.com", "dev@example.com"]).success();
    let files: Vec<_> = std::fs::read_dir(quartet.path().join("mail")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let message = std::fs::read_to_string(&files[0]).unwrap();
    assert!(message.contains("ops@example.com") && message.contains("dev@example.com"), "{message}");

    quartet.set("QUARTET_EMAIL_BACKEND", "pigeon");
    let bad = quartet.run(&["sendtestemail", "ops@example.com"]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("`email.backend`"), "{bad:#?}");
}

#[test]
fn commands_other_than_serve_and_migrate_create_no_site_where_there_is_none() {
    let quartet = Quartet::new();
    for args in [
        &["check"][..],
        &["dumpdata"],
        &["migrate", "--list"],
        &["seed"],
        &["clearsessions"],
        &["createsuperuser", "--noinput"],
    ] {
        let refused = quartet.run(args);
        assert_eq!(refused.code, Some(1), "{args:?}: {refused:#?}");
        assert!(
            refused.stderr.contains("there is no site here: ./data/quartet.sqlite3 does not exist"),
            "{args:?}: {refused:#?}"
        );
        assert!(refused.stderr.contains("--create"), "{refused:#?}");
        assert!(!quartet.path().join("data").exists(), "{args:?} created ./data");
    }
    let created = quartet.run(&["check", "--create"]).success();
    assert!(created.stdout.contains("System check identified no issues"), "{created:#?}");
    assert!(quartet.path().join("data/quartet.sqlite3").is_file());
    quartet.run(&["dumpdata"]).success();
}

/// One expired and one live session in `database`; `clearsessions` removes the first only.
async fn clear_sessions_on(database: TestDatabase) {
    use quartet_core::session::entity;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};

    let quartet = Quartet::on(&database);
    quartet.run(&["migrate"]).success();
    // One connection, so that the schema set below holds for every statement.
    let mut options = sea_orm::ConnectOptions::new(database.url());
    options.max_connections(1).sqlx_logging(false);
    let db = sea_orm::Database::connect(options).await.expect("the test database");
    if let Some(schema) = database.schema() {
        let set_path = format!("SET search_path TO \"{schema}\"");
        sea_orm::ConnectionTrait::execute_unprepared(&db, &set_path).await.unwrap();
    }
    let now = chrono::Utc::now();
    for (key, expires) in [("expired", now - chrono::Duration::minutes(1)), ("live", now + chrono::Duration::hours(1))]
    {
        entity::ActiveModel { session_key: Set(key.into()), session_data: Set("{}".into()), expire_date: Set(expires) }
            .insert(&db)
            .await
            .unwrap();
    }
    let cleared = quartet.run(&["clearsessions"]).success();
    assert!(cleared.stdout.contains("Deleted 1 expired session(s)"), "{cleared:#?}");
    let left: Vec<String> = entity::Entity::find().all(&db).await.unwrap().into_iter().map(|s| s.session_key).collect();
    assert_eq!(left, ["live"]);
}

#[tokio::test]
async fn clearsessions_removes_only_expired_sessions() {
    clear_sessions_on(TestDatabase::create(Backend::Sqlite).await).await;
}

#[tokio::test]
#[cfg_attr(not(quartet_postgres), ignore = "set QUARTET_TEST_DATABASE_URL to run it")]
async fn clearsessions_removes_only_expired_sessions_on_postgresql() {
    if quartet_testkit::service_url(quartet_testkit::POSTGRES_VARIABLE).is_none() {
        return;
    }
    clear_sessions_on(TestDatabase::create(Backend::Postgres).await).await;
}

fn dbshell_on(database: TestDatabase) {
    let mut quartet = Quartet::on(&database);
    quartet.run(&["migrate"]).success();
    quartet
        .set("QUARTET_SUPERUSER_USERNAME", "root")
        .set("QUARTET_SUPERUSER_EMAIL", "root@example.com")
        .set("QUARTET_SUPERUSER_PASSWORD", "violet-anchor-93-tide");
    quartet.run(&["createsuperuser", "--noinput"]).success();
    let query = "SELECT count(*) FROM accounts_user WHERE username = 'root';";
    // psql: the password from the URL in its environment, the site's schema on its search path.
    let args: Vec<&str> = if database.url().starts_with("postgres") {
        vec!["dbshell", "--", "-tA", "-c", query]
    } else {
        vec!["dbshell", "--", query]
    };
    let run = quartet.run(&args).success();
    assert_eq!(run.stdout.trim(), "1", "{run:#?}");
}

#[tokio::test]
async fn dbshell_opens_sqlite3_on_the_sites_file() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    tokio::task::spawn_blocking(move || dbshell_on(database)).await.unwrap();
}

#[tokio::test]
#[cfg_attr(not(quartet_postgres), ignore = "set QUARTET_TEST_DATABASE_URL to run it")]
async fn dbshell_opens_psql_on_the_sites_database_and_schema() {
    if quartet_testkit::service_url(quartet_testkit::POSTGRES_VARIABLE).is_none() {
        return;
    }
    let database = TestDatabase::create(Backend::Postgres).await;
    tokio::task::spawn_blocking(move || dbshell_on(database)).await.unwrap();
}

#[test]
fn dbshell_without_its_program_or_a_database_says_what_to_do() {
    let quartet = Quartet::new();
    let none = quartet.run(&["dbshell"]);
    assert_eq!(none.code, Some(1));
    assert!(none.stderr.contains("run `quartet migrate` first"), "{none:#?}");
    quartet.run(&["migrate"]).success();
    let empty = tempfile::tempdir().unwrap();
    let run = Run::from(quartet.command(&["dbshell"]).env("PATH", empty.path()).output().unwrap());
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("`sqlite3` is not installed or not on the PATH (Debian: apt install sqlite3)"),
        "{run:#?}"
    );
}

/// `serve` in a child process; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `GET path` over TLS to `address`, trusting only `cert`, offering `alpn`; the
/// protocol agreed and the response's first line.
async fn https_get(address: &str, cert: &Path, alpn: &[&[u8]], path: &str) -> (Option<Vec<u8>>, String) {
    use rustls_pki_types::pem::PemObject as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(cert).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("the certificate is valid for localhost");
    let agreed = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    if agreed.as_deref() == Some(b"h2".as_slice()) {
        return (agreed, String::new());
    }
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    (agreed, text)
}

/// The address `serve` prints in its banner (`<scheme>://<address>/`), and the banner; the
/// rest of its standard output is read in the background, as a closed pipe would end the
/// server at its next line.
fn started(server: &mut Server, scheme: &str) -> (String, String) {
    let mut stdout = BufReader::new(server.0.stdout.take().unwrap());
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let address = banner
        .split(&format!("{scheme}://"))
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no {scheme} address in {banner:?}"))
        .to_owned();
    (address, banner)
}

#[tokio::test]
async fn serve_tls_answers_https_with_a_development_certificate_made_once() {
    let quartet = Quartet::new();
    let spawn = || {
        quartet
            .command(&["serve", "--tls", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts")
    };
    let mut server = Server(spawn());
    let (address, _) = started(&mut server, "https");
    let cert = quartet.path().join("data/tls/development-cert.pem");
    let (agreed, answer) = https_get(&address, &cert, &[b"http/1.1"], "/account/login/").await;
    assert_eq!(agreed.as_deref(), Some(b"http/1.1".as_slice()));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("<form"), "the sign-in page, over TLS");
    let (agreed, _) = https_get(&address, &cert, &[b"h2", b"http/1.1"], "/").await;
    assert_eq!(agreed.as_deref(), Some(b"h2".as_slice()), "HTTP/2 by ALPN");
    drop(server);

    let first = std::fs::read(&cert).unwrap();
    let mut again = Server(spawn());
    let (address, _) = started(&mut again, "https");
    let (_, answer) = https_get(&address, &cert, &[b"http/1.1"], "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(std::fs::read(&cert).unwrap(), first, "the same certificate the second time");
}

#[test]
fn serve_with_a_bad_certificate_stops_with_its_name() {
    let quartet = Quartet::new();
    quartet.write("cert.pem", "not a certificate");
    quartet.write("key.pem", "not a key");
    let run = quartet.run(&["serve", "--cert", "cert.pem", "--key", "key.pem"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stderr.contains("cert.pem holds no certificate"), "{run:#?}");
    let half = quartet.run(&["serve", "--cert", "cert.pem"]);
    assert_eq!(half.code, Some(2), "clap refuses --cert without --key: {half:#?}");
}

#[tokio::test]
async fn serve_keeps_serving_when_its_standard_output_is_closed() {
    // `quartet serve | head -1`: the reader goes away; the banner and the lines after it must
    // not end the server.
    let quartet = Quartet::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = quartet
        .command(&["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    drop(child.stdout.take());
    let mut server = Server(child);
    quartet_core::http::fetch::install_crypto_provider();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            assert_eq!(response.status(), 200);
            break;
        }
        assert!(server.0.try_wait().unwrap().is_none(), "serve ended when its output was closed");
        assert!(Instant::now() < deadline, "serve did not answer within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.0.try_wait().unwrap().is_none(), "serve is still running after printing its banner");
}

#[tokio::test]
async fn serve_migrates_answers_logs_requests_and_stops_on_sigterm() {
    let mut quartet = Quartet::new();
    quartet.set("QUARTET_LOG_FORMAT", "json");
    let log_path = quartet.path().join("serve.log");
    let child = quartet
        .command(&["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("serve starts");
    let mut server = Server(child);
    let (address, banner) = started(&mut server, "http");
    assert!(banner.contains("development profile, SQLite"), "{banner}");

    quartet_core::http::fetch::install_crypto_provider();
    let client = reqwest::Client::new();
    let health = client.get(format!("http://{address}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let login = client.get(format!("http://{address}/accounts/login/")).send().await.unwrap();
    assert_eq!(login.status(), 200, "serve migrated the new database by itself");
    assert_eq!(login.headers()["x-frame-options"], "DENY");

    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");

    // One structured line per request.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let requests: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "quartet::request")
        .collect();
    let health = requests.iter().find(|r| r["fields"]["path"] == "/healthz").unwrap_or_else(|| panic!("{log}"));
    assert_eq!((health["fields"]["method"].as_str(), health["fields"]["status"].as_u64()), (Some("GET"), Some(200)));
    assert!(health["fields"]["ms"].is_string() && health["level"] == "INFO", "{health}");
    assert_eq!(health["fields"]["client"], "127.0.0.1");
    assert!(log.contains("finishing in-flight requests"), "{log}");
}

/// The view count the image page shows ("N views").
async fn views_shown(client: &reqwest::Client, address: &str) -> u64 {
    let page = client.get(format!("http://{address}/images/detail/1/any/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    let shown = text.split("<span class=\"views\">").nth(1).and_then(|rest| rest.split(' ').next());
    shown.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no view count in {text}"))
}

#[tokio::test]
async fn serve_writes_the_batched_view_counts_when_it_stops() {
    let mut quartet = Quartet::new();
    // Only the stop writes: the timer would not tick within the test.
    quartet.set("QUARTET_KV_FLUSH_INTERVAL_MS", "60000");
    quartet.run(&["seed", "--create", "--images", "2", "--image-views", "0"]).success();
    quartet_core::http::fetch::install_crypto_provider();
    let client = reqwest::Client::new();
    let spawn = || {
        quartet
            .command(&["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts")
    };
    let mut server = Server(spawn());
    let (address, _) = started(&mut server, "http");
    let first = views_shown(&client, &address).await;
    for n in 1..=24 {
        assert_eq!(views_shown(&client, &address).await, first + n, "each view counted at once");
    }
    sigterm(&server.0);
    assert!(wait_for_exit(&mut server.0, "serve").await.success());

    let mut again = Server(spawn());
    let (address, _) = started(&mut again, "http");
    assert_eq!(views_shown(&client, &address).await, first + 25, "the views held in memory were written at the stop");
}

/// Waits for a child process to end (up to 20 s) and returns its exit status.
async fn wait_for_exit(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "{what} did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(child: &Child) {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
}

#[tokio::test]
async fn worker_sends_the_e_mails_serve_queued_and_stops_on_sigterm() {
    let mut quartet = Quartet::new();
    quartet.set("QUARTET_JOBS_WORKERS_IN_SERVE", "false").set("QUARTET_EMAIL_BACKEND", "file");
    quartet.run(&["migrate"]).success();
    quartet.run(&["seed"]).success();
    let mail_dir = quartet.path().join("data/mail");
    let mails = || std::fs::read_dir(&mail_dir).map(|d| d.count()).unwrap_or(0);

    // `serve` without a worker only queues the password-reset e-mail.
    let child = quartet
        .command(&["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let (address, _) = started(&mut server, "http");
    quartet_core::http::fetch::install_crypto_provider();
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form =
        client.get(format!("http://{address}/account/password_reset/")).send().await.unwrap().text().await.unwrap();
    let token = form
        .split("name=\"csrfmiddlewaretoken\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let sent = client
        .post(format!("http://{address}/account/password_reset/"))
        .form(&[("csrfmiddlewaretoken", token.as_str()), ("email", "ada@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    sigterm(&server.0);
    assert!(wait_for_exit(&mut server.0, "serve").await.success());
    assert_eq!(mails(), 0, "serve ran no worker");

    // Bad arguments are refused before anything runs.
    let unknown = quartet.run(&["worker", "--queues", "nope"]);
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("no installed job type uses the queue `nope` (queues: events, mail)"),
        "{unknown:#?}"
    );
    assert_eq!(quartet.run(&["worker", "--concurrency", "0"]).code, Some(2));
    let mut inline = Quartet::new();
    inline.set("QUARTET_JOBS_BACKEND", "inline");
    let refused = inline.run(&["worker", "--create"]);
    assert!(refused.code == Some(1) && refused.stderr.contains("jobs.backend is `inline`"), "{refused:#?}");

    // The worker sends it, then stops on SIGTERM and says what it did.
    let mut worker = quartet
        .command(&["worker", "--queues", "mail", "--concurrency", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(worker.stdout.take().unwrap());
    let mut started = String::new();
    out.read_line(&mut started).unwrap();
    assert!(started.contains("is taking jobs from mail (database queue, 2 at a time)"), "{started}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while mails() == 0 {
        assert!(Instant::now() < deadline, "the worker sent nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sigterm(&worker);
    assert!(wait_for_exit(&mut worker, "worker").await.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(rest.contains("Worker stopped: 1 job attempt(s) finished, 0 handed back to the queue."), "{rest}");
    let eml = std::fs::read_dir(&mail_dir).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(eml).unwrap();
    assert!(text.contains("To: ada@example.com") && text.contains("/account/reset/"), "{text}");
}

#[tokio::test]
async fn serve_raises_its_open_files_limit_and_logs_both() {
    let mut quartet = Quartet::new();
    quartet.set("QUARTET_LOG_FORMAT", "json");
    let log_path = quartet.path().join("serve.log");
    let hard: u64 = String::from_utf8(Command::new("sh").args(["-c", "ulimit -Hn"]).output().unwrap().stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap_or(u64::MAX);
    // Started as a shell with the common soft limit of 1,024 that then becomes the server.
    let program = quartet.command(&[]).get_program().to_owned();
    let mut command = quartet.command(&["serve", "--bind", "127.0.0.1:0"]);
    let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
    let envs: Vec<_> = command.get_envs().map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned))).collect();
    command = Command::new("sh");
    command.arg("-c").arg("ulimit -Sn 1024 && exec \"$0\" \"$@\"").arg(program).args(args).current_dir(quartet.path());
    for (key, value) in envs {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let child = command.stdout(Stdio::piped()).stderr(std::fs::File::create(&log_path).unwrap()).spawn().unwrap();
    let mut server = Server(child);
    started(&mut server, "http");
    sigterm(&server.0);
    assert!(wait_for_exit(&mut server.0, "serve").await.success());
    let log = std::fs::read_to_string(&log_path).unwrap();
    let line: serde_json::Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"].as_str().is_some_and(|m| m.starts_with("open-files limit")))
        .unwrap_or_else(|| panic!("no open-files line in {log}"));
    if hard > 1024 {
        assert_eq!(line["fields"]["before"], 1024, "{line}");
        assert_eq!(line["fields"]["after"].as_u64(), Some(hard), "{line}");
    }
    let accepting = log.lines().find(|l| l.contains("accepting connections")).unwrap_or_else(|| panic!("{log}"));
    assert!(accepting.contains("max_connections"), "{accepting}");
}
