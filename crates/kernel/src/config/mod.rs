//! Typed settings: profile defaults, then `quartet.toml`, then `QUARTET_*` environment variables.
//!
//! Every key has a default chosen by the profile (`development` or `production`). A file and the
//! environment override them; an unknown key or a bad value stops start-up with a message that
//! names the key. Environment variables are the key path in upper case joined by `_`:
//! `database.url` is `QUARTET_DATABASE_URL`, `security.hsts_seconds` is
//! `QUARTET_SECURITY_HSTS_SECONDS`. Lists are comma-separated (`QUARTET_ALLOWED_HOSTS=a.com,b.com`).

mod sections;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use sections::{AppSections, AppSettings, SettingsSection};

/// Environment variables with the `QUARTET_` prefix that are not settings.
const RESERVED_ENV_PREFIXES: &[&str] = &["QUARTET_CONFIG", "QUARTET_TEST_", "QUARTET_SUPERUSER_", "QUARTET_BENCH_"];

/// The shortest secret key the production profile accepts (Django's check W009).
pub const MIN_SECRET_KEY_LENGTH: usize = 50;

/// The name of the settings file looked up in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "quartet.toml";

/// A configuration error, always naming the key or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The settings file could not be read.
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The settings file is not valid TOML.
    #[error("{path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key that no setting has.
    #[error("unknown setting `{key}` (from {origin})")]
    UnknownKey {
        /// The key path, e.g. `database.urll`.
        key: String,
        /// Where the key came from.
        origin: String,
    },
    /// A value of the wrong type or out of range.
    #[error("invalid value for `{key}`: {message}")]
    Invalid {
        /// The key path.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// A value of the wrong kind at `key` (apps' sections use it for their own checks).
    pub fn invalid(key: &str, message: impl Into<String>) -> Self {
        Self::Invalid { key: key.to_owned(), message: message.into() }
    }
}

/// A secret string (a key, a password, a URL with credentials), kept in a
/// [`secrecy::SecretString`]: `Debug` never shows it, it is wiped from memory when dropped, and
/// serialising it writes `<redacted>` (an empty secret stays `""`), so a settings dump, a log
/// line or a JSON answer cannot leak it by accident. Read it with [`Secret::expose`] where the
/// value is used; only the settings loader serialises real values, inside
/// [`with_secrets_exposed`].
#[derive(Clone, Default)]
pub struct Secret(secrecy::SecretString);

thread_local! {
    /// Set while the loader layers the defaults under the file and the environment.
    static EXPOSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with secrets serialising their real values (the settings loader's merge, which
/// goes through JSON); everywhere else they serialise as `<redacted>`.
fn with_secrets_exposed<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            EXPOSE.with(|e| e.set(self.0));
        }
    }
    let _reset = Reset(EXPOSE.with(|e| e.replace(true)));
    f()
}

/// What a non-empty secret serialises as outside the loader.
pub const REDACTED: &str = "<redacted>";

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(secrecy::SecretString::from(value.into()))
    }

    /// The secret itself; call it only where the value is used.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether no value was given.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        crate::crypto::constant_time_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() { "Secret(<empty>)" } else { "Secret(<redacted>)" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_empty() || EXPOSE.with(std::cell::Cell::get) {
            serializer.serialize_str(self.expose())
        } else {
            serializer.serialize_str(REDACTED)
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// Which set of defaults applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Debug on, plain HTTP, automatic migrations, console e-mail.
    #[default]
    Development,
    /// Debug off, secure cookies, HSTS and HTTPS redirect; a secret key is required.
    Production,
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `development` or `production`: chooses the defaults of every other key.
    pub profile: Profile,
    /// Show error details to developers; never on in production.
    pub debug: bool,
    /// Key for signing tokens and session hashes. At least 50 characters in production.
    /// In development an insecure key is generated once and kept in `<data_dir>/secret_key`.
    pub secret_key: Secret,
    /// Host names this site answers to (`example.com`, `.example.com` for subdomains, `*`).
    /// Empty in development means `localhost`, `127.0.0.1` and `[::1]`.
    pub allowed_hosts: Vec<String>,
    /// Folder for the SQLite database, uploaded media and the development secret key.
    pub data_dir: PathBuf,
    /// The site's name and public address.
    pub site: SiteSettings,
    /// The HTTP server.
    pub server: ServerSettings,
    /// Logging.
    pub log: LogSettings,
    /// The database.
    pub database: DatabaseSettings,
    /// Security headers, HTTPS and CSRF.
    pub security: SecuritySettings,
    /// The session cookie and its lifetime.
    pub session: SessionSettings,
    /// Passwords, sign-in and brute-force limits.
    pub auth: AuthSettings,
    /// Outgoing e-mail.
    pub email: EmailSettings,
    /// Request body, form and upload limits.
    pub uploads: UploadSettings,
    /// Languages.
    pub i18n: I18nSettings,
    /// Installed applications that are switched off.
    pub apps: AppsSettings,
    /// Background jobs: the queue and its workers.
    pub jobs: JobSettings,
    /// The cache: data, fragments, pages.
    pub cache: CacheSettings,
    /// The site's Redis server.
    pub redis: RedisSettings,
    /// Counters and rankings.
    pub kv: KvSettings,
    /// The channel layer and WebSockets.
    pub channels: ChannelsSettings,
    /// `/metrics` in Prometheus' text format.
    pub metrics: MetricsSettings,
    /// Development aids on every page.
    pub devtools: DevtoolsSettings,
    /// The sections of the installed apps (`[blog]`…), each read as the app's own type
    /// ([`Settings::app`]).
    #[serde(skip)]
    pub sections: AppSections,
}

/// The site's name and public address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSettings {
    /// Shown in the header, page titles and e-mails.
    pub name: String,
    /// Public base URL (`https://example.com`) for links in e-mails. Empty: taken from the request.
    pub base_url: String,
}

/// The HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address and port `serve` listens on.
    pub bind: SocketAddr,
    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C.
    pub shutdown_grace_seconds: u64,
    /// Seconds a client has to send its request headers, counted from the moment the
    /// connection is accepted (a connection that sends nothing is closed after this) and, on a
    /// kept-alive HTTP/1.1 connection, from the end of the previous response. Above 0.
    pub header_read_timeout_seconds: u64,
    /// Seconds a client has to send a request body (form, upload); the request gets 408 after
    /// that. Above 0 and below `request_timeout_seconds`.
    pub body_read_timeout_seconds: u64,
    /// Seconds a request may take before it is answered with 503. Above 0.
    pub request_timeout_seconds: u64,
    /// Seconds an HTTP/2 connection may stay open with no request in progress before it is
    /// closed. Above 0.
    pub idle_timeout_seconds: u64,
    /// Seconds between the pings sent on an HTTP/2 connection; a peer that does not answer
    /// within as many seconds again is disconnected. Above 0.
    pub http2_keepalive_seconds: u64,
    /// Most connections open at once (all clients); more are closed at once when accepted.
    /// Lowered at start to what the file-descriptor limit allows (the limit less 256).
    pub max_connections: usize,
    /// Most connections open at once from one client address; more are closed at once.
    /// 0: no limit (behind a proxy every connection comes from the proxy's address, so the
    /// limit is not applied when `trust_forwarded_for` is on).
    pub max_connections_per_ip: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info,quartet_kernel=debug`.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
    /// Log one line per HTTP request.
    pub requests: bool,
}

/// The database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `postgres://user:password@host/db`. Empty: `<data_dir>/quartet.sqlite3`.
    pub url: Secret,
    /// PostgreSQL schema to use (`search_path`); empty for the default.
    pub schema: String,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Seconds to wait for a free connection.
    pub acquire_timeout_seconds: u64,
    /// Apply pending migrations when `serve` starts.
    pub auto_migrate: bool,
}

/// Security headers, HTTPS and CSRF.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// `Strict-Transport-Security` max-age on HTTPS responses; 0 sends no header.
    pub hsts_seconds: u64,
    /// Add `includeSubDomains` to HSTS.
    pub hsts_include_subdomains: bool,
    /// Add `preload` to HSTS.
    pub hsts_preload: bool,
    /// Redirect plain HTTP requests to HTTPS.
    pub ssl_redirect: bool,
    /// A header set by the TLS-terminating proxy that marks HTTPS requests,
    /// as `Name: value` (e.g. `X-Forwarded-Proto: https`). Empty: trust no header.
    pub proxy_ssl_header: String,
    /// Use `X-Forwarded-Host` instead of `Host` (only behind a proxy that sets it).
    pub use_x_forwarded_host: bool,
    /// Extra origins (`https://example.com`, `https://*.example.com`) trusted for unsafe requests.
    pub csrf_trusted_origins: Vec<String>,
    /// Send the CSRF cookie over HTTPS only.
    pub csrf_cookie_secure: bool,
    /// `X-Frame-Options`: `DENY` or `SAMEORIGIN`.
    pub x_frame_options: String,
    /// `Referrer-Policy`.
    pub referrer_policy: String,
    /// `Cross-Origin-Opener-Policy`.
    pub cross_origin_opener_policy: String,
    /// `Content-Security-Policy` for pages.
    pub content_security_policy: String,
}

/// The session cookie and its lifetime.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// Cookie name.
    pub cookie_name: String,
    /// Cookie and session lifetime in seconds (two weeks by default).
    pub cookie_age_seconds: u64,
    /// Send the session cookie over HTTPS only.
    pub cookie_secure: bool,
    /// Hide the cookie from JavaScript.
    pub cookie_httponly: bool,
    /// Sign the user out after this many idle seconds; 0 disables (ASVS profile: 1800).
    pub idle_timeout_seconds: u64,
    /// Sign the user out this many seconds after sign-in; 0 disables (ASVS profile: 43200).
    pub absolute_timeout_seconds: u64,
    /// Where sessions are kept: `database` (default), `redis` or `cached_db`.
    pub backend: SessionBackendKind,
    /// Put before every session key in Redis.
    pub key_prefix: String,
}

/// Password hashing algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordHasherKind {
    /// Argon2id (PHC string `$argon2id$...`).
    Argon2id,
    /// PBKDF2-SHA256 in Django's `pbkdf2_sha256$...` format.
    Pbkdf2Sha256,
}

/// Passwords, sign-in and brute-force limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Hasher for new passwords; others are verified and re-hashed on sign-in.
    pub password_hasher: PasswordHasherKind,
    /// Argon2id memory in KiB (ASVS: at least 47104, i.e. 46 MiB).
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// PBKDF2-SHA256 iterations (ASVS: at least 600,000).
    pub pbkdf2_iterations: u32,
    /// Passwords hashed at the same time (the rest wait); 0 means one per CPU.
    pub hashing_concurrency: usize,
    /// Shortest accepted password.
    pub password_min_length: usize,
    /// Failed sign-ins per account and client address per hour; further attempts from that
    /// address are refused before any password is hashed. Past the same number of failures for
    /// the account from all addresses together, the account is protected (see
    /// `login_protected_interval_seconds`).
    pub login_failures_per_account_per_hour: u32,
    /// Failed sign-ins per client address per hour (all accounts); further attempts are
    /// refused before any password is hashed.
    pub login_failures_per_ip_per_hour: u32,
    /// While an account is protected, browsers that signed in to it before still get their
    /// passwords checked; any other browser gets one check per account every this many
    /// seconds (or resets the password by e-mail, which ends the protection).
    pub login_protected_interval_seconds: u64,
    /// Password-reset e-mails per address per hour.
    pub password_reset_emails_per_hour: u32,
    /// Password-reset requests per client address per hour.
    pub password_reset_requests_per_ip_per_hour: u32,
    /// Lifetime of a password-reset link in seconds (three days).
    pub password_reset_timeout_seconds: u64,
}

/// E-mail backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailBackendKind {
    /// Print messages on standard output.
    Console,
    /// Write one `.eml` file per message into `email.file_path`.
    File,
    /// Send through an SMTP server.
    Smtp,
    /// Keep messages in memory (tests).
    Memory,
}

/// SMTP connection security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// No encryption (local relays only).
    None,
}

/// Outgoing e-mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `console`, `file`, `smtp` or `memory`.
    pub backend: EmailBackendKind,
    /// Sender of messages that do not name one.
    pub default_from: String,
    /// Folder of the `file` backend. Empty: `<data_dir>/mail`.
    pub file_path: PathBuf,
    /// SMTP server host.
    pub smtp_host: String,
    /// SMTP server port.
    pub smtp_port: u16,
    /// SMTP user name (empty: no authentication).
    pub smtp_username: String,
    /// SMTP password.
    pub smtp_password: Secret,
    /// `starttls`, `tls` or `none`.
    pub smtp_security: SmtpSecurity,
    /// Seconds before an SMTP operation is abandoned.
    pub smtp_timeout_seconds: u64,
}

/// Request body, form and upload limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadSettings {
    /// Largest request body without files, in bytes, and largest total of the text fields of a
    /// form with files (Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`: 2,621,440). One byte more: 413.
    pub max_body_bytes: usize,
    /// Largest uploaded file, in bytes; a larger one is an error on its form field, and the
    /// rest of the form is kept.
    pub max_upload_bytes: usize,
    /// Largest request body of a form with files, in bytes, everything included; a larger one
    /// gets 413 (refused before reading when its `Content-Length` says so). At least
    /// `max_upload_bytes` + `max_body_bytes`.
    pub max_request_bytes: usize,
    /// Bytes of uploaded files one request keeps in memory; the rest of its files is written
    /// to temporary files under `<data_dir>/tmp` as it arrives (Django's
    /// `FILE_UPLOAD_MAX_MEMORY_SIZE`).
    pub file_memory_bytes: usize,
    /// Bytes of request bodies held in memory by all requests together; a request that would
    /// go past it is answered 503 with `Retry-After` instead of waiting.
    pub memory_budget_bytes: usize,
    /// Most form fields in one request (query string and body are counted apart).
    pub max_fields: usize,
    /// Most files in one request.
    pub max_files: usize,
    /// Largest number of pixels of an uploaded image (checked from its header, before decoding).
    pub max_image_pixels: u64,
    /// Largest number of pixels of a profile photo.
    pub max_photo_pixels: u64,
    /// Images decoded and re-encoded at the same time (the rest wait their turn); 0 means one
    /// per CPU.
    pub image_concurrency: usize,
    /// Requests with files one user may send per hour; further ones get 429.
    pub uploads_per_user_per_hour: u32,
}

/// Languages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct I18nSettings {
    /// Language used when the visitor has chosen none and the browser asks for none we have.
    pub default_language: String,
    /// Languages offered, as codes (`en`, `es`); each needs a catalog except the source language `en`.
    pub languages: Vec<String>,
    /// Cookie remembering a visitor's choice.
    pub cookie_name: String,
}

/// Where background jobs wait for a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobBackendKind {
    /// A table in the site's database (SQLite or PostgreSQL); no other service needed.
    Database,
    /// A RabbitMQ broker (AMQP 0-9-1) at `jobs.amqp_url`.
    Rabbitmq,
    /// Run each job at once, while it is enqueued (tests; Celery's eager mode).
    Inline,
}

/// Background jobs: the queue and its workers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// `database` (default), `rabbitmq` or `inline`.
    pub backend: JobBackendKind,
    /// The broker of the `rabbitmq` backend: `amqp://user:password@host:5672/vhost`.
    pub amqp_url: Secret,
    /// Prefix of the RabbitMQ queue names (`quartet.mail`, `quartet.mail.dead`).
    pub amqp_prefix: String,
    /// Run a worker inside `serve` (and, for RabbitMQ, the relay that publishes new jobs).
    pub workers_in_serve: bool,
    /// Queues a worker takes jobs from; empty means every queue of the installed apps.
    pub queues: Vec<String>,
    /// Jobs one worker runs at the same time (also the RabbitMQ prefetch limit).
    pub concurrency: usize,
    /// Milliseconds between two looks at the database queue when it is idle.
    pub poll_interval_ms: u64,
    /// Seconds between two heartbeats of a worker.
    pub heartbeat_seconds: u64,
    /// Seconds without a heartbeat after which a worker's running jobs are given to another.
    pub heartbeat_timeout_seconds: u64,
    /// Seconds running jobs get to finish when a worker is stopped (SIGTERM).
    pub shutdown_grace_seconds: u64,
    /// Days finished jobs stay listed on the monitoring page.
    pub keep_finished_days: u64,
}

/// Where sessions are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionBackendKind {
    /// The `core_session` table.
    Database,
    /// The Redis server at `redis.url`, each session expiring by itself.
    Redis,
    /// The database, read through the cache's store (Django's `cached_db`).
    CachedDb,
}

/// Where cached data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheBackendKind {
    /// In this process's memory, bounded (Django's `LocMemCache`).
    Memory,
    /// A Redis server (`cache.url`, else `redis.url`), shared by every instance.
    Redis,
    /// A Memcached server (`cache.url`), shared by every instance.
    Memcached,
    /// No cache: every page is made from the database (Django's `DummyCache`).
    None,
}

/// The cache: data pages are made from, fragments, whole pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// `memory` (default), `redis`, `memcached` or `none`.
    pub backend: CacheBackendKind,
    /// The server of the `redis` or `memcached` backend: `redis://host:6379/0`,
    /// `memcached://host:11211`. Empty: `redis.url` for Redis, `memcached://127.0.0.1:11211`.
    pub url: Secret,
    /// About how much memory the `memory` backend's entries take; the least used go first.
    pub max_bytes: u64,
    /// About how much memory the in-process tier in front of Redis or Memcached takes (values
    /// kept as they are, so a hit costs no round trip for the value); 0 turns it off.
    pub local_max_bytes: u64,
    /// Seconds an entry lives at most (Django's `TIMEOUT`). A change is seen at once on every
    /// instance sharing the store, whatever this is.
    pub timeout_seconds: u64,
    /// Put before every key, so several sites can share one server.
    pub key_prefix: String,
    /// The longest a call to Redis or Memcached may take before the cache is bypassed.
    pub io_timeout_ms: u64,
    /// Seconds a store that did not answer is bypassed before it is asked again.
    pub retry_seconds: u64,
    /// Connections to Memcached at most (Redis multiplexes one).
    pub max_connections: usize,
    /// Seconds whole responses of the routes marked `cache_page` are kept (the per-view
    /// cache); 0 turns the per-view cache off.
    pub view_seconds: u64,
    /// Seconds whole anonymous GET responses of every page are kept (the per-site cache);
    /// 0 (default) turns it off.
    pub site_seconds: u64,
    /// Whether template fragments marked for caching are kept (the blog's sidebar).
    pub fragments: bool,
    /// With Redis: keep namespace versions in this process and learn each bump from its
    /// announcement (pub/sub), so a cached page costs no round trip to Redis; another
    /// instance's change is then seen when its announcement arrives (well under a millisecond
    /// on one network) instead of at the next request. Off: versions are read once per request.
    pub announced_versions: bool,
}

/// Where counters and rankings live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvBackendKind {
    /// Tables of the site's database.
    Database,
    /// The Redis server at `redis.url` (string counters, sorted sets).
    Redis,
}

/// The key-value store: counters and rankings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvSettings {
    /// `database` (default) or `redis`.
    pub backend: KvBackendKind,
    /// Put before every key in Redis, so sites can share one server.
    pub key_prefix: String,
    /// Under `quartet serve`: how often the counters and scores added since the last write
    /// are written, together (one transaction in the database), so a page view costs a change
    /// in memory, not a write transaction or a round trip to Redis. 0 writes each increment at
    /// once. Also written when the server stops. At most 60,000.
    pub flush_interval_ms: u64,
    /// The most distinct counters and scores held between two writes; an increment of another
    /// key then goes straight to the database. At most 1,000,000 (about 100 bytes each).
    pub buffer_keys: usize,
}

/// Where the channel layer carries group messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelsBackendKind {
    /// This process only (one instance).
    Memory,
    /// Redis pub/sub at `redis.url`, across instances.
    Redis,
}

/// The channel layer and WebSockets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsSettings {
    /// `memory` (default) or `redis`.
    pub backend: ChannelsBackendKind,
    /// Put before every group's Redis channel name.
    pub key_prefix: String,
    /// Messages a group keeps for its slowest member; a member further behind is disconnected.
    pub group_buffer: usize,
    /// The largest message a socket accepts, in bytes (a larger one closes the socket).
    pub max_message_bytes: usize,
    /// Messages one socket may send per second (in bursts of twice that); more close it.
    pub messages_per_second: u32,
    /// Messages waiting to be written to one socket.
    pub send_buffer: usize,
    /// Milliseconds a message waits for room in a full socket buffer before the socket is
    /// closed as too slow.
    pub send_timeout_ms: u64,
    /// Seconds between pings to an idle socket.
    pub ping_seconds: u64,
    /// Seconds without any frame from the client (a pong included) after which its socket is
    /// closed.
    pub idle_timeout_seconds: u64,
    /// Open sockets at most; more are refused (503).
    pub max_sockets: usize,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsAccess {
    /// Nobody: `/metrics` is a 404 (the production default).
    Off,
    /// Connections from this machine (127.0.0.1, ::1) that no proxy forwarded (the
    /// development default). Behind a proxy on the same machine, use `token`.
    Loopback,
    /// Anyone sending `Authorization: Bearer <metrics.token>`.
    Token,
}

/// `/metrics`: requests by route and status, latency histograms, the database pool, cache hits
/// and misses, jobs by state, open connections and WebSockets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `off`, `loopback` or `token`.
    pub access: MetricsAccess,
    /// The bearer token when `access = "token"` (at least 32 characters).
    pub token: Secret,
}

/// Development aids (Django Debug Toolbar's SQL panel).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevtoolsSettings {
    /// A `Server-Timing` header (database and total time) and a collapsible SQL panel at the
    /// bottom of HTML pages (each statement, its time, duplicates flagged), for requests from
    /// this machine only. On in development; `check --deploy` refuses it in production.
    pub toolbar: bool,
    /// Statements the SQL panel lists at most per request (the rest are counted).
    pub max_statements: usize,
}

/// The site's Redis server: the key-value store, the channel layer and sessions use it when
/// their backend is `redis` (and the cache, unless `cache.url` names another).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[:password@]host:6379/0`; empty when no Redis is used.
    pub url: Secret,
    /// The longest one command may take before the feature that asked degrades.
    pub io_timeout_ms: u64,
    /// Seconds a Redis that did not answer is left alone before it is asked again.
    pub retry_seconds: u64,
}

/// Installed applications that are switched off.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppsSettings {
    /// Labels of installed apps not to mount (`["shop"]`).
    pub disabled: Vec<String>,
    /// Where apps are mounted instead of their own prefix, as `label=/prefix/`
    /// (`["blog=/journal/"]`); an app not named keeps the reference's prefix.
    pub mounts: Vec<String>,
}

impl Settings {
    /// The section `T` of an installed app.
    ///
    /// Panics if the app's section was not loaded: the site loads the section of every
    /// installed app ([`Settings::ensure_sections`]), so this is a programming error.
    pub fn app<T: AppSettings>(&self) -> &T {
        self.sections.get::<T>().unwrap_or_else(|| panic!("the settings section `{}` is not loaded", T::SECTION))
    }

    /// The section `T` to change (tests); panics as [`Settings::app`].
    pub fn app_mut<T: AppSettings>(&mut self) -> &mut T {
        self.sections.get_mut::<T>().unwrap_or_else(|| panic!("the settings section `{}` is not loaded", T::SECTION))
    }

    /// Adds the profile's defaults of every section in `sections` that is not loaded yet
    /// (settings made in code rather than loaded).
    pub fn ensure_sections(&mut self, sections: &[SettingsSection]) -> Result<(), ConfigError> {
        for section in sections {
            if !self.sections.contains(section.name) {
                let value = section.load(section.defaults(self.profile))?;
                self.sections.insert(section.name, value);
            }
        }
        Ok(())
    }

    /// The defaults of a profile.
    pub fn defaults(profile: Profile) -> Self {
        let production = profile == Profile::Production;
        Self {
            profile,
            debug: !production,
            secret_key: Secret::default(),
            allowed_hosts: Vec::new(),
            data_dir: PathBuf::from("./data"),
            site: SiteSettings { name: "Quartet".into(), base_url: String::new() },
            server: ServerSettings {
                bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
                shutdown_grace_seconds: 30,
                header_read_timeout_seconds: 30,
                body_read_timeout_seconds: 30,
                request_timeout_seconds: 60,
                idle_timeout_seconds: 60,
                http2_keepalive_seconds: 20,
                max_connections: 10_000,
                max_connections_per_ip: 512,
                trust_forwarded_for: false,
            },
            log: LogSettings {
                filter: "info,sqlx=warn,sea_orm=warn".into(),
                format: if production { LogFormat::Json } else { LogFormat::Text },
                requests: true,
            },
            database: DatabaseSettings {
                url: Secret::default(),
                schema: String::new(),
                max_connections: 16,
                acquire_timeout_seconds: 10,
                auto_migrate: !production,
            },
            security: SecuritySettings {
                hsts_seconds: if production { 31_536_000 } else { 0 },
                hsts_include_subdomains: production,
                hsts_preload: production,
                ssl_redirect: production,
                proxy_ssl_header: String::new(),
                use_x_forwarded_host: false,
                csrf_trusted_origins: Vec::new(),
                csrf_cookie_secure: production,
                x_frame_options: "DENY".into(),
                referrer_policy: "same-origin".into(),
                cross_origin_opener_policy: "same-origin".into(),
                content_security_policy: "default-src 'self'; img-src 'self' data: https:; \
                    script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; \
                    frame-ancestors 'none'; form-action 'self'"
                    .into(),
            },
            session: SessionSettings {
                cookie_name: "sessionid".into(),
                cookie_age_seconds: 1_209_600,
                cookie_secure: production,
                cookie_httponly: true,
                idle_timeout_seconds: 0,
                absolute_timeout_seconds: 0,
                backend: SessionBackendKind::Database,
                key_prefix: "quartet:session:".into(),
            },
            auth: AuthSettings {
                password_hasher: PasswordHasherKind::Argon2id,
                argon2_memory_kib: 47_104,
                argon2_iterations: 1,
                argon2_parallelism: 1,
                pbkdf2_iterations: 1_000_000,
                hashing_concurrency: 0,
                password_min_length: 8,
                login_failures_per_account_per_hour: 100,
                login_failures_per_ip_per_hour: 300,
                login_protected_interval_seconds: 10,
                password_reset_emails_per_hour: 5,
                password_reset_requests_per_ip_per_hour: 30,
                password_reset_timeout_seconds: 259_200,
            },
            email: EmailSettings {
                backend: if production { EmailBackendKind::Smtp } else { EmailBackendKind::Console },
                default_from: "Quartet <webmaster@localhost>".into(),
                file_path: PathBuf::new(),
                smtp_host: "localhost".into(),
                smtp_port: 587,
                smtp_username: String::new(),
                smtp_password: Secret::default(),
                smtp_security: SmtpSecurity::Starttls,
                smtp_timeout_seconds: 10,
            },
            uploads: UploadSettings {
                max_body_bytes: 2_621_440,
                max_upload_bytes: 10 * 1024 * 1024,
                max_request_bytes: 32 * 1024 * 1024,
                file_memory_bytes: 1024 * 1024,
                memory_budget_bytes: 64 * 1024 * 1024,
                max_fields: 1000,
                max_files: 100,
                max_image_pixels: 40_000_000,
                max_photo_pixels: 16_000_000,
                image_concurrency: 0,
                uploads_per_user_per_hour: 60,
            },
            i18n: I18nSettings {
                default_language: "en".into(),
                languages: vec!["en".into(), "es".into()],
                cookie_name: "quartet_language".into(),
            },
            apps: AppsSettings::default(),
            jobs: JobSettings {
                backend: JobBackendKind::Database,
                amqp_url: Secret::default(),
                amqp_prefix: "quartet".into(),
                workers_in_serve: true,
                queues: Vec::new(),
                concurrency: 4,
                poll_interval_ms: 1000,
                heartbeat_seconds: 30,
                heartbeat_timeout_seconds: 300,
                shutdown_grace_seconds: 30,
                keep_finished_days: 7,
            },
            cache: CacheSettings {
                backend: CacheBackendKind::Memory,
                url: Secret::default(),
                max_bytes: 32 * 1024 * 1024,
                local_max_bytes: 16 * 1024 * 1024,
                timeout_seconds: 300,
                key_prefix: "quartet:".into(),
                io_timeout_ms: 250,
                retry_seconds: 5,
                max_connections: 16,
                view_seconds: 60,
                site_seconds: 0,
                fragments: true,
                announced_versions: false,
            },
            redis: RedisSettings { url: Secret::default(), io_timeout_ms: 250, retry_seconds: 5 },
            kv: KvSettings {
                backend: KvBackendKind::Database,
                key_prefix: "quartet:kv:".into(),
                flush_interval_ms: 1000,
                buffer_keys: 10_000,
            },
            channels: ChannelsSettings {
                backend: ChannelsBackendKind::Memory,
                key_prefix: "quartet:channels:".into(),
                group_buffer: 64,
                max_message_bytes: 64 * 1024,
                messages_per_second: 10,
                send_buffer: 32,
                send_timeout_ms: 2000,
                ping_seconds: 20,
                idle_timeout_seconds: 60,
                max_sockets: 10_000,
            },
            metrics: MetricsSettings {
                access: if production { MetricsAccess::Off } else { MetricsAccess::Loopback },
                token: Secret::default(),
            },
            devtools: DevtoolsSettings { toolbar: !production, max_statements: 500 },
            sections: AppSections::default(),
        }
    }

    /// Loads settings from the environment of this process and the settings file.
    ///
    /// The file is `$QUARTET_CONFIG` or `explicit_file` if given (it must exist), else
    /// `quartet.toml` in the working directory if present.
    pub fn load(explicit_file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(explicit_file, &[])
    }

    /// [`Settings::load`] with the sections of the installed apps.
    pub fn load_with(explicit_file: Option<&Path>, sections: &[SettingsSection]) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let file = explicit_file.map(Path::to_path_buf).or_else(|| env.get("QUARTET_CONFIG").map(PathBuf::from));
        let (path, required) = match file {
            Some(path) => (path, true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::from_sources_with(text.as_deref().map(|t| (path.as_path(), t)), &env, sections)
    }

    /// Builds settings from an optional settings file (path and text) and environment variables.
    pub fn from_sources(file: Option<(&Path, &str)>, env: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_sources_with(file, env, &[])
    }

    /// [`Settings::from_sources`] with the sections of the installed apps: each section's
    /// defaults sit under its name, the file and the environment layer over them as over the
    /// kernel's keys, then the section is read as its type and checked.
    pub fn from_sources_with(
        file: Option<(&Path, &str)>,
        env: &BTreeMap<String, String>,
        sections: &[SettingsSection],
    ) -> Result<Self, ConfigError> {
        let file_value = match file {
            Some((path, text)) => {
                let table: toml::Table = toml::from_str(text)
                    .map_err(|e| ConfigError::Syntax { path: path.to_path_buf(), message: e.message().to_owned() })?;
                Some((path, toml_to_json(toml::Value::Table(table))))
            }
            None => None,
        };

        // The profile chooses the defaults, so it is resolved first: env, then file.
        let profile = match env.get("QUARTET_PROFILE") {
            Some(raw) => parse_profile(raw)?,
            None => match file_value.as_ref().and_then(|(_, v)| v.get("profile")) {
                Some(Value::String(raw)) => parse_profile(raw)?,
                Some(_) => return Err(ConfigError::invalid("profile", "expected a string")),
                None => Profile::default(),
            },
        };
        let defaults = Settings::defaults(profile);
        let mut merged = with_secrets_exposed(|| serde_json::to_value(&defaults)).expect("settings serialize to JSON");
        for section in sections {
            let Value::Object(map) = &mut merged else { unreachable!("settings serialize to an object") };
            if map.insert(section.name.to_owned(), section.defaults(profile)).is_some() {
                return Err(ConfigError::invalid(
                    section.name,
                    "an app's settings section has the name of another section",
                ));
            }
        }

        if let Some((path, value)) = file_value {
            merge_file(&mut merged, &value, "", &format!("the file {}", path.display()))?;
        }
        apply_env(&mut merged, env)?;

        let mut loaded = AppSections::default();
        for section in sections {
            let Value::Object(map) = &mut merged else { unreachable!("settings serialize to an object") };
            let value = map.remove(section.name).expect("every section's defaults were put in");
            loaded.insert(section.name, section.load(value)?);
        }
        let mut settings: Settings = serde_path_to_error::deserialize(merged).map_err(|e| {
            let key = e.path().to_string();
            let message = e.into_inner().to_string();
            ConfigError::Invalid { key, message }
        })?;
        settings.validate()?;
        settings.sections = loaded;
        Ok(settings)
    }

    /// Checks rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.profile == Profile::Production {
            if self.secret_key.is_empty() {
                return Err(ConfigError::invalid(
                    "secret_key",
                    "must be set in production (QUARTET_SECRET_KEY); use at least 50 random characters",
                ));
            }
            let key = self.secret_key.expose();
            let unique: std::collections::BTreeSet<char> = key.chars().collect();
            if key.chars().count() < MIN_SECRET_KEY_LENGTH || unique.len() < 5 {
                return Err(ConfigError::invalid(
                    "secret_key",
                    format!(
                        "is too weak for production: use at least {MIN_SECRET_KEY_LENGTH} random characters with at least 5 different ones (it has {} characters)",
                        key.chars().count()
                    ),
                ));
            }
            if self.debug {
                return Err(ConfigError::invalid("debug", "cannot be true in the production profile"));
            }
        }
        let url = self.database.url.expose();
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::invalid("database.url", "must start with sqlite:, postgres:// or postgresql://"));
        }
        if !self.database.schema.is_empty()
            && !self.database.schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ConfigError::invalid("database.schema", "letters, digits and _ only"));
        }
        let server = &self.server;
        for (key, value) in [
            ("server.header_read_timeout_seconds", server.header_read_timeout_seconds),
            ("server.body_read_timeout_seconds", server.body_read_timeout_seconds),
            ("server.request_timeout_seconds", server.request_timeout_seconds),
            ("server.idle_timeout_seconds", server.idle_timeout_seconds),
            ("server.http2_keepalive_seconds", server.http2_keepalive_seconds),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(
                    key,
                    "must be above 0 (a timeout of 0 would never end a stuck client)",
                ));
            }
        }
        if server.body_read_timeout_seconds >= server.request_timeout_seconds {
            return Err(ConfigError::invalid(
                "server.body_read_timeout_seconds",
                "must be below server.request_timeout_seconds",
            ));
        }
        if server.max_connections == 0 {
            return Err(ConfigError::invalid("server.max_connections", "must be at least 1"));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::invalid("database.max_connections", "must be at least 1"));
        }
        if !matches!(self.security.x_frame_options.as_str(), "DENY" | "SAMEORIGIN") {
            return Err(ConfigError::invalid("security.x_frame_options", "must be DENY or SAMEORIGIN"));
        }
        if !self.security.proxy_ssl_header.is_empty() && self.proxy_ssl_header().is_none() {
            return Err(ConfigError::invalid("security.proxy_ssl_header", "must look like `X-Forwarded-Proto: https`"));
        }
        for origin in &self.security.csrf_trusted_origins {
            if !origin.contains("://") {
                return Err(ConfigError::invalid(
                    "security.csrf_trusted_origins",
                    format!("`{origin}` must start with a scheme such as https://"),
                ));
            }
        }
        if self.session.cookie_name.is_empty()
            || !self.session.cookie_name.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        {
            return Err(ConfigError::invalid("session.cookie_name", "letters, digits, - and _ only"));
        }
        if self.auth.argon2_memory_kib < 8 * self.auth.argon2_parallelism.max(1) {
            return Err(ConfigError::invalid("auth.argon2_memory_kib", "must be at least 8 KiB per lane"));
        }
        if self.auth.argon2_iterations == 0 || self.auth.argon2_parallelism == 0 {
            return Err(ConfigError::invalid("auth.argon2_iterations", "passes and lanes must be at least 1"));
        }
        if self.auth.pbkdf2_iterations == 0 {
            return Err(ConfigError::invalid("auth.pbkdf2_iterations", "must be at least 1"));
        }
        if self.email.default_from.trim().is_empty() {
            return Err(ConfigError::invalid("email.default_from", "must not be empty"));
        }
        if self.email.backend == EmailBackendKind::Smtp && self.email.smtp_host.is_empty() {
            return Err(ConfigError::invalid("email.smtp_host", "is required by the smtp backend"));
        }
        if !self.site.base_url.is_empty()
            && url::Url::parse(&self.site.base_url).map(|u| u.scheme().starts_with("http")) != Ok(true)
        {
            return Err(ConfigError::invalid("site.base_url", "must be an http(s) URL"));
        }
        if !self.i18n.languages.contains(&self.i18n.default_language) {
            return Err(ConfigError::invalid(
                "i18n.default_language",
                format!("`{}` is not one of i18n.languages", self.i18n.default_language),
            ));
        }
        let jobs = &self.jobs;
        if jobs.backend == JobBackendKind::Rabbitmq {
            let url = jobs.amqp_url.expose();
            if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
                return Err(ConfigError::invalid(
                    "jobs.amqp_url",
                    "the rabbitmq backend needs a URL starting with amqp:// or amqps://",
                ));
            }
        }
        if jobs.amqp_prefix.is_empty()
            || !jobs.amqp_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(ConfigError::invalid("jobs.amqp_prefix", "letters, digits, -, _ and . only"));
        }
        if let Some(queue) = jobs.queues.iter().find(|q| !valid_queue_name(q)) {
            return Err(ConfigError::invalid(
                "jobs.queues",
                format!("`{queue}` is not a queue name (letters, digits, - and _)"),
            ));
        }
        self.check_cache()?;
        if jobs.concurrency == 0 || jobs.concurrency > 1000 {
            return Err(ConfigError::invalid("jobs.concurrency", "must be between 1 and 1000"));
        }
        if jobs.poll_interval_ms == 0 || jobs.heartbeat_seconds == 0 {
            return Err(ConfigError::invalid("jobs.heartbeat_seconds", "poll interval and heartbeat must be above 0"));
        }
        if jobs.heartbeat_timeout_seconds < 2 * jobs.heartbeat_seconds {
            return Err(ConfigError::invalid(
                "jobs.heartbeat_timeout_seconds",
                "must be at least twice jobs.heartbeat_seconds",
            ));
        }
        let uploads = &self.uploads;
        if uploads.max_body_bytes == 0 || uploads.max_upload_bytes == 0 {
            return Err(ConfigError::invalid("uploads.max_body_bytes", "body and upload limits must be above 0"));
        }
        if uploads.max_request_bytes < uploads.max_upload_bytes.saturating_add(uploads.max_body_bytes) {
            return Err(ConfigError::invalid(
                "uploads.max_request_bytes",
                "must be at least uploads.max_upload_bytes + uploads.max_body_bytes",
            ));
        }
        if uploads.memory_budget_bytes < uploads.max_body_bytes.saturating_add(uploads.file_memory_bytes) {
            return Err(ConfigError::invalid(
                "uploads.memory_budget_bytes",
                "must be at least uploads.max_body_bytes + uploads.file_memory_bytes (one request's worth)",
            ));
        }
        Ok(())
    }

    fn check_cache(&self) -> Result<(), ConfigError> {
        let cache = &self.cache;
        if cache.max_bytes == 0 || cache.timeout_seconds == 0 {
            return Err(ConfigError::invalid(
                "cache.timeout_seconds",
                "cache.max_bytes and cache.timeout_seconds must be above 0 (use cache.backend = \"none\" for no cache)",
            ));
        }
        if cache.io_timeout_ms == 0 || self.redis.io_timeout_ms == 0 {
            return Err(ConfigError::invalid(
                "cache.io_timeout_ms",
                "cache.io_timeout_ms and redis.io_timeout_ms must be above 0",
            ));
        }
        if cache.max_connections == 0 || cache.max_connections > 1024 {
            return Err(ConfigError::invalid("cache.max_connections", "must be between 1 and 1024"));
        }
        if cache.key_prefix.len() > 64 || !cache.key_prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::invalid("cache.key_prefix", "at most 64 printable characters, no spaces"));
        }
        let url = self.cache_url();
        let scheme_ok = match cache.backend {
            CacheBackendKind::Redis => url.starts_with("redis://") || url.starts_with("rediss://"),
            CacheBackendKind::Memcached => url.starts_with("memcached://"),
            _ => true,
        };
        if !scheme_ok {
            return Err(ConfigError::invalid(
                "cache.url",
                match cache.backend {
                    CacheBackendKind::Redis => {
                        "the redis backend needs cache.url or redis.url starting with redis:// or rediss://"
                    }
                    _ => "the memcached backend needs a URL starting with memcached://",
                },
            ));
        }
        let redis = self.redis.url.expose();
        if self.session.backend == SessionBackendKind::Redis && redis.is_empty() {
            return Err(ConfigError::invalid("redis.url", "session.backend = \"redis\" needs redis.url"));
        }
        if self.channels.backend == ChannelsBackendKind::Redis && redis.is_empty() {
            return Err(ConfigError::invalid("redis.url", "channels.backend = \"redis\" needs redis.url"));
        }
        let channels = &self.channels;
        if channels.group_buffer == 0 || channels.send_buffer == 0 || channels.max_sockets == 0 {
            return Err(ConfigError::invalid(
                "channels.send_buffer",
                "channels.group_buffer, channels.send_buffer and channels.max_sockets must be above 0",
            ));
        }
        if channels.max_message_bytes < 16 || channels.messages_per_second == 0 {
            return Err(ConfigError::invalid(
                "channels.max_message_bytes",
                "channels.max_message_bytes must be at least 16 and channels.messages_per_second above 0",
            ));
        }
        if channels.ping_seconds == 0 || channels.idle_timeout_seconds <= channels.ping_seconds {
            return Err(ConfigError::invalid(
                "channels.idle_timeout_seconds",
                "must be above channels.ping_seconds, which must be above 0",
            ));
        }
        if self.kv.backend == KvBackendKind::Redis && redis.is_empty() {
            return Err(ConfigError::invalid("redis.url", "kv.backend = \"redis\" needs redis.url"));
        }
        if self.kv.key_prefix.len() > 64 || !self.kv.key_prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::invalid("kv.key_prefix", "at most 64 printable characters, no spaces"));
        }
        if self.kv.flush_interval_ms > 60_000 {
            return Err(ConfigError::invalid("kv.flush_interval_ms", "at most 60000 (a minute)"));
        }
        if self.kv.buffer_keys > 1_000_000 {
            return Err(ConfigError::invalid("kv.buffer_keys", "at most 1000000"));
        }
        if !(redis.is_empty() || redis.starts_with("redis://") || redis.starts_with("rediss://")) {
            return Err(ConfigError::invalid("redis.url", "must start with redis:// or rediss://"));
        }
        Ok(())
    }

    /// The server of the cache's backend: `cache.url`, else `redis.url` for Redis and the local
    /// Memcached for Memcached.
    pub fn cache_url(&self) -> String {
        let url = self.cache.url.expose();
        match self.cache.backend {
            _ if !url.is_empty() => url.to_owned(),
            CacheBackendKind::Redis => self.redis.url.expose().to_owned(),
            CacheBackendKind::Memcached => "memcached://127.0.0.1:11211".to_owned(),
            _ => String::new(),
        }
    }

    /// The database URL, with the SQLite default under `data_dir`.
    pub fn database_url(&self) -> String {
        let url = self.database.url.expose();
        if url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("quartet.sqlite3").display())
        } else {
            url.to_owned()
        }
    }

    /// Where uploaded files are stored.
    pub fn media_root(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    /// Folder of the `file` e-mail backend.
    pub fn mail_dir(&self) -> PathBuf {
        if self.email.file_path.as_os_str().is_empty() {
            self.data_dir.join("mail")
        } else {
            self.email.file_path.clone()
        }
    }

    /// The `proxy_ssl_header` split into a lower-case header name and its value.
    pub fn proxy_ssl_header(&self) -> Option<(String, String)> {
        let (name, value) = self.security.proxy_ssl_header.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_owned();
        (!name.is_empty() && !value.is_empty()).then_some((name, value))
    }

    /// Every settings key (`database.url`, ...) with its environment variable name.
    pub fn env_keys() -> Vec<(String, String)> {
        let value = serde_json::to_value(Settings::defaults(Profile::Development)).expect("settings serialize to JSON");
        let mut keys = Vec::new();
        collect_keys(&value, "", &mut keys);
        keys.into_iter()
            .map(|key| {
                let env = env_name(&key);
                (key, env)
            })
            .collect()
    }
}

/// The variable of a key: `blog.comments_per_page` → `QUARTET_BLOG_COMMENTS_PER_PAGE`.
fn env_name(key: &str) -> String {
    format!("QUARTET_{}", key.replace('.', "_").to_ascii_uppercase())
}

fn parse_profile(raw: &str) -> Result<Profile, ConfigError> {
    match raw.trim() {
        "development" => Ok(Profile::Development),
        "production" => Ok(Profile::Production),
        other => Err(ConfigError::invalid("profile", format!("`{other}` is neither `development` nor `production`"))),
    }
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(table.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

/// Overlays a parsed settings file on the defaults, refusing keys the defaults do not have.
fn merge_file(target: &mut Value, overlay: &Value, prefix: &str, origin: &str) -> Result<(), ConfigError> {
    let (Value::Object(target), Value::Object(overlay)) = (target, overlay) else {
        return Ok(());
    };
    for (key, value) in overlay {
        let path = join(prefix, key);
        match target.get_mut(key) {
            None => return Err(ConfigError::UnknownKey { key: path, origin: origin.to_owned() }),
            Some(slot @ Value::Object(_)) => {
                if !value.is_object() {
                    return Err(ConfigError::invalid(&path, "expected a table of settings"));
                }
                merge_file(slot, value, &path, origin)?;
            }
            Some(slot) => *slot = value.clone(),
        }
    }
    Ok(())
}

fn collect_keys(value: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            let path = join(prefix, key);
            if child.is_object() {
                collect_keys(child, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}

/// Applies `QUARTET_*` variables, typed by the default value at the same key (the kernel's
/// keys and the apps' sections alike).
fn apply_env(merged: &mut Value, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let mut all = Vec::new();
    collect_keys(merged, "", &mut all);
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    for key in all {
        // An app's section could make a second key of one variable (`[jobs_amqp] url` and
        // `jobs.amqp_url`); refuse it rather than let one of them be unreachable.
        if let Some(other) = keys.insert(env_name(&key), key.clone()) {
            return Err(ConfigError::invalid(
                &key,
                format!("its environment variable {} also names `{other}`", env_name(&key)),
            ));
        }
    }
    for (name, raw) in env {
        if !name.starts_with("QUARTET_") || RESERVED_ENV_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let Some(key) = keys.get(name) else {
            return Err(ConfigError::UnknownKey { key: name.clone(), origin: "the environment".into() });
        };
        let slot = key
            .split('.')
            .try_fold(&mut *merged, |value, part| value.get_mut(part))
            .expect("every env key names a settings key");
        *slot = parse_env_value(key, slot, raw)?;
    }
    Ok(())
}

fn parse_env_value(key: &str, default: &Value, raw: &str) -> Result<Value, ConfigError> {
    let raw = raw.trim();
    Ok(match default {
        Value::Bool(_) => match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Value::Bool(true),
            "0" | "false" | "no" | "off" => Value::Bool(false),
            _ => return Err(ConfigError::invalid(key, format!("`{raw}` is not true or false"))),
        },
        Value::Number(_) => {
            if let Ok(n) = raw.parse::<i64>() {
                Value::from(n)
            } else if let Ok(n) = raw.parse::<u64>() {
                Value::from(n)
            } else {
                return Err(ConfigError::invalid(key, format!("`{raw}` is not a whole number")));
            }
        }
        Value::Array(_) => Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect(),
        ),
        _ => Value::String(raw.to_owned()),
    })
}

/// Settings keys and values as shown to operators (`quartet diffsettings`): every [`Secret`]
/// serialises as `<redacted>`, whatever its key.
pub fn describe(settings: &Settings) -> Map<String, Value> {
    let mut map = match serde_json::to_value(settings).expect("settings serialize to JSON") {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (name, value) in settings.sections.to_json() {
        map.insert(name.to_owned(), value);
    }
    map
}

/// The leaves of a described settings tree as `section.key` and value, in key order.
pub fn flatten(map: &Map<String, Value>) -> Vec<(String, Value)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    walk(&key, child, out);
                }
            }
            leaf => out.push((prefix.to_owned(), leaf.clone())),
        }
    }
    let mut out = Vec::new();
    for (key, value) in map {
        walk(key, value, &mut out);
    }
    out
}

/// Whether `name` can name a job queue: 1–50 letters, digits, `-` and `_`.
pub fn valid_queue_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 50 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// This machine's name (`/etc/hostname`), or `localhost`.
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn leaf_keys(value: &Value, prefix: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    leaf_keys(child, &format!("{prefix}{key}."), out);
                }
            }
            _ => out.push(prefix.trim_end_matches('.').to_owned()),
        }
    }

    #[test]
    fn every_setting_is_documented() {
        let docs = include_str!("../../../../docs/CONFIGURATION.md");
        let mut keys = Vec::new();
        leaf_keys(&serde_json::to_value(Settings::defaults(Profile::Production)).unwrap(), "", &mut keys);
        assert!(keys.len() > 60, "{keys:?}");
        let missing: Vec<_> = keys.iter().filter(|k| !docs.contains(&format!("| `{k}` |"))).collect();
        assert!(missing.is_empty(), "docs/CONFIGURATION.md does not describe {missing:?}");
    }

    #[test]
    fn the_production_example_is_valid() {
        let text = include_str!("../../../../config/production.toml.example");
        let settings = Settings::from_sources(
            Some((Path::new("production.toml"), text)),
            &env(&[("QUARTET_SECRET_KEY", "an-obviously-fake-key-for-tests-0123456789-abcdefghijklmnop")]),
        )
        .unwrap();
        assert_eq!(settings.profile, Profile::Production);
        assert!(crate::checks::deploy_findings(&settings).is_empty());
    }

    #[test]
    fn defaults_load_without_a_file_or_environment() {
        let s = Settings::from_sources(None, &env(&[])).unwrap();
        assert_eq!(s.profile, Profile::Development);
        assert!(s.debug);
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(s.database_url(), "sqlite://./data/quartet.sqlite3?mode=rwc");
        assert_eq!(s.session.cookie_age_seconds, 1_209_600);
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let file = "[database]\nurl = \"postgres://a/b\"\nmax_connections = 4\n[server]\nbind = \"0.0.0.0:9000\"\n";
        let s = Settings::from_sources(
            Some((Path::new("quartet.toml"), file)),
            &env(&[("QUARTET_DATABASE_MAX_CONNECTIONS", "7"), ("QUARTET_ALLOWED_HOSTS", "a.com, .b.org")]),
        )
        .unwrap();
        assert_eq!(s.database.url.expose(), "postgres://a/b");
        assert_eq!(s.database.max_connections, 7);
        assert_eq!(s.server.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(s.allowed_hosts, vec!["a.com", ".b.org"]);
    }

    #[test]
    fn an_unknown_file_key_names_the_key() {
        let err = Settings::from_sources(Some((Path::new("quartet.toml"), "[database]\nurll = \"x\"\n")), &env(&[]))
            .unwrap_err();
        assert_eq!(err.to_string(), "unknown setting `database.urll` (from the file quartet.toml)");
    }

    #[test]
    fn an_unknown_environment_variable_names_the_variable() {
        let err = Settings::from_sources(None, &env(&[("QUARTET_DATABSE_URL", "x")])).unwrap_err();
        assert!(err.to_string().contains("QUARTET_DATABSE_URL"), "{err}");
    }

    #[test]
    fn reserved_variables_are_not_settings() {
        Settings::from_sources(None, &env(&[("QUARTET_TEST_DATABASE_URL", "x"), ("QUARTET_SUPERUSER_USERNAME", "y")]))
            .unwrap();
    }

    #[test]
    fn a_bad_value_names_the_key() {
        let err = Settings::from_sources(None, &env(&[("QUARTET_SERVER_BIND", "not an address")])).unwrap_err();
        assert!(err.to_string().starts_with("invalid value for `server.bind`"), "{err}");
        let err = Settings::from_sources(None, &env(&[("QUARTET_DEBUG", "maybe")])).unwrap_err();
        assert!(err.to_string().starts_with("invalid value for `debug`"), "{err}");
        let err = Settings::from_sources(
            Some((Path::new("q.toml"), "[session]\ncookie_age_seconds = \"long\"\n")),
            &env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("invalid value for `session.cookie_age_seconds`"), "{err}");
        let err = Settings::from_sources(None, &env(&[("QUARTET_CACHE_BACKEND", "redis-ish")])).unwrap_err();
        assert!(err.to_string().starts_with("invalid value for `cache.backend`"), "{err}");
        let err = Settings::from_sources(None, &env(&[("QUARTET_CACHE_TIMEOUT_SECONDS", "0")])).unwrap_err();
        assert!(err.to_string().contains("cache.backend = \"none\""), "{err}");
        let s = Settings::from_sources(None, &env(&[("QUARTET_CACHE_BACKEND", "none")])).unwrap();
        assert_eq!(s.cache.backend, CacheBackendKind::None);
    }

    #[test]
    fn production_requires_a_secret_key_and_turns_on_secure_defaults() {
        let err = Settings::from_sources(None, &env(&[("QUARTET_PROFILE", "production")])).unwrap_err();
        assert!(err.to_string().contains("secret_key"), "{err}");
        let err = Settings::from_sources(None, &env(&[("QUARTET_PROFILE", "production"), ("QUARTET_SECRET_KEY", "k")]))
            .unwrap_err();
        assert!(err.to_string().contains("too weak"), "{err}");
        let key = "an-obviously-fake-key-for-tests-0123456789-abcdefghijklmnop";
        let short = &key[..MIN_SECRET_KEY_LENGTH - 1];
        let err =
            Settings::from_sources(None, &env(&[("QUARTET_PROFILE", "production"), ("QUARTET_SECRET_KEY", short)]))
                .unwrap_err();
        assert!(err.to_string().contains("49 characters"), "{err}");
        let repeated = "a".repeat(60);
        assert!(
            Settings::from_sources(None, &env(&[("QUARTET_PROFILE", "production"), ("QUARTET_SECRET_KEY", &repeated)]))
                .is_err()
        );
        let exact = &key[..MIN_SECRET_KEY_LENGTH];
        let s = Settings::from_sources(None, &env(&[("QUARTET_PROFILE", "production"), ("QUARTET_SECRET_KEY", exact)]))
            .unwrap();
        assert!(!s.debug);
        assert!(s.session.cookie_secure && s.security.csrf_cookie_secure && s.security.ssl_redirect);
        assert_eq!(s.security.hsts_seconds, 31_536_000);
        assert!(!s.database.auto_migrate);
    }

    #[test]
    fn timeouts_of_zero_are_refused() {
        for key in [
            "QUARTET_SERVER_REQUEST_TIMEOUT_SECONDS",
            "QUARTET_SERVER_HEADER_READ_TIMEOUT_SECONDS",
            "QUARTET_SERVER_BODY_READ_TIMEOUT_SECONDS",
            "QUARTET_SERVER_IDLE_TIMEOUT_SECONDS",
        ] {
            let err = Settings::from_sources(None, &env(&[(key, "0")])).unwrap_err();
            assert!(err.to_string().contains("must be above 0"), "{key}: {err}");
        }
        let err =
            Settings::from_sources(None, &env(&[("QUARTET_SERVER_BODY_READ_TIMEOUT_SECONDS", "60")])).unwrap_err();
        assert!(err.to_string().contains("below server.request_timeout_seconds"), "{err}");
        let err = Settings::from_sources(None, &env(&[("QUARTET_UPLOADS_MAX_REQUEST_BYTES", "1000")])).unwrap_err();
        assert!(err.to_string().starts_with("invalid value for `uploads.max_request_bytes`"), "{err}");
    }

    #[test]
    fn environment_names_are_unique() {
        let keys = Settings::env_keys();
        let mut names: Vec<_> = keys.iter().map(|(_, env)| env.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), keys.len());
    }

    #[test]
    fn a_section_whose_variable_names_another_key_is_refused() {
        #[derive(Debug, Clone, Serialize, Deserialize)]
        struct Clash {
            url: String,
        }
        impl AppSettings for Clash {
            const SECTION: &'static str = "jobs_amqp";
            fn defaults(_profile: Profile) -> Self {
                Self { url: String::new() }
            }
        }
        let err = Settings::from_sources_with(None, &env(&[]), &[SettingsSection::of::<Clash>()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for `jobs_amqp.url`: its environment variable QUARTET_JOBS_AMQP_URL also names `jobs.amqp_url`"
        );
    }

    #[test]
    fn every_secret_is_redacted_however_the_settings_are_shown() {
        let secrets = [
            ("QUARTET_SECRET_KEY", "hunter2-key"),
            ("QUARTET_DATABASE_URL", "postgres://u:db-pw@h/d"),
            ("QUARTET_EMAIL_SMTP_PASSWORD", "smtp-pw"),
            ("QUARTET_JOBS_AMQP_URL", "amqp://guest:amqp-pw@h:5672/%2f"),
            ("QUARTET_CACHE_URL", "redis://:cache-pw@h:6379/1"),
            ("QUARTET_REDIS_URL", "redis://:redis-pw@h:6379/0"),
        ];
        let s = Settings::from_sources(None, &env(&secrets)).unwrap();
        // The loader still hands every value over as it was given.
        assert_eq!(s.secret_key.expose(), "hunter2-key");
        assert_eq!(s.database.url.expose(), "postgres://u:db-pw@h/d");
        assert_eq!(s.email.smtp_password.expose(), "smtp-pw");
        assert_eq!(s.jobs.amqp_url.expose(), "amqp://guest:amqp-pw@h:5672/%2f");
        let shown = [
            serde_json::to_string(&describe(&s)).unwrap(),
            serde_json::to_string(&s).unwrap(),
            toml::to_string(&s).unwrap(),
            format!("{s:?}"),
            format!("{:?}", flatten(&describe(&s))),
        ];
        for text in &shown {
            for (_, secret) in secrets {
                assert!(!text.contains(secret), "{secret} leaks in {text}");
            }
        }
        // Sorted: the key order of a JSON map depends on serde_json's features in the build.
        let mut redacted: Vec<String> =
            flatten(&describe(&s)).into_iter().filter(|(_, v)| v == REDACTED).map(|(k, _)| k).collect();
        redacted.sort();
        assert_eq!(
            redacted,
            ["cache.url", "database.url", "email.smtp_password", "jobs.amqp_url", "redis.url", "secret_key"]
        );
    }
}
