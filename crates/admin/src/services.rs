//! `/admin/services/`: the state of the services the site uses (database, cache, key-value
//! store, channel layer, sessions, job queue), the Redis server's own report (the reference's
//! redisboard: version, memory, clients, hit ratio, keys per database, slow log) with a
//! read-only key browser, and a live notice board for staff that goes through the channel
//! layer, so it shows that messages cross instances. Needs `admin.view_services`.

use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::RawQuery;
use axum::response::Response;
use quartet_kernel::config::SessionBackendKind;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::forms::FormData;
use quartet_kernel::redis_client::{KeyInfo, RedisReport};
use quartet_kernel::templates::{PageContext, render};
use quartet_kernel::ws::{Consumer, Outbox, SocketInfo};
use quartet_kernel::{CoreState, ws};
use serde::Deserialize;

use crate::pages;
use crate::views::Crumb;

/// Permission to see the page and use the notice board.
pub const VIEW: &str = "admin.view_services";
/// The channel-layer group of the notice board.
pub const GROUP: &str = "admin.notices";
/// The longest notice, in characters.
pub const MAX_NOTICE: usize = 500;
/// Keys the browser lists at most.
const KEYS_SHOWN: usize = 100;

/// The Redis connection of the page, made on first use (a service of the admin app).
#[derive(Default)]
pub struct RedisBoard(tokio::sync::OnceCell<Option<(String, redis::aio::ConnectionManager)>>);

impl std::fmt::Debug for RedisBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBoard").finish_non_exhaustive()
    }
}

impl RedisBoard {
    /// The site's Redis (`redis.url`, else the cache's when it is Redis) and a connection to it.
    async fn connection(&self, core: &CoreState) -> Option<&(String, redis::aio::ConnectionManager)> {
        self.0
            .get_or_init(|| async {
                let settings = &core.settings;
                let url = match settings.redis.url.expose() {
                    "" if settings.cache.backend == quartet_kernel::config::CacheBackendKind::Redis => {
                        settings.cache_url()
                    }
                    url => url.to_owned(),
                };
                if url.is_empty() {
                    return None;
                }
                let timeout = Duration::from_millis(settings.redis.io_timeout_ms);
                let connection = quartet_kernel::redis_client::connection(&url, timeout).ok()?;
                Some((quartet_kernel::redis_client::redact(&url), connection))
            })
            .await
            .as_ref()
    }
}

/// A line of the services table.
struct ServiceLine {
    name: &'static str,
    backend: String,
    up: bool,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/services.html")]
struct ServicesPage {
    ctx: PageContext,
    crumbs: Vec<Crumb>,
    services: Vec<ServiceLine>,
    redis_url: Option<String>,
    redis: Option<std::result::Result<RedisReport, String>>,
    prefix: String,
    keys: Option<std::result::Result<Vec<KeyInfo>, String>>,
    sockets: usize,
}

impl ServicesPage {
    fn ttl(&self, key: &KeyInfo) -> String {
        match key.ttl_ms {
            None => self.ctx.t("none").to_owned(),
            Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
        }
    }

    fn hit_ratio(&self, report: &RedisReport) -> String {
        report.hit_ratio().map_or_else(|| "–".to_owned(), |r| format!("{r:.1} %"))
    }

    fn uptime(&self, report: &RedisReport) -> String {
        let s = report.uptime_seconds;
        format!("{}d {}h {}m", s / 86_400, s % 86_400 / 3600, s % 3600 / 60)
    }
}

fn state(ctx: &PageContext, up: bool) -> String {
    ctx.t(if up { "answering" } else { "not answering: bypassed" }).to_owned()
}

async fn services(ctx: &PageContext) -> Vec<ServiceLine> {
    let core = ctx.core();
    let started = Instant::now();
    let database = quartet_kernel::db::ping(&core.db).await;
    let database_ms = started.elapsed().as_secs_f64() * 1000.0;
    let cache_up = core.cache.ping().await.is_ok();
    let stats = &core.cache.stats;
    let hits = stats.hits.load(std::sync::atomic::Ordering::Relaxed);
    let misses = stats.misses.load(std::sync::atomic::Ordering::Relaxed);
    let kv_up = core.kv.ping().await.is_ok();
    let channels_up = core.channels.ping().await.is_ok();
    let (groups, members) = core.channels.counts();
    vec![
        ServiceLine {
            name: "Database",
            backend: format!("{:?}", core.db.get_database_backend()),
            up: database.is_ok(),
            detail: format!("{database_ms:.1} ms"),
        },
        ServiceLine {
            name: "Cache",
            backend: core.cache.backend().to_owned(),
            up: cache_up,
            detail: format!("{} · {hits} / {misses}", state(ctx, cache_up)),
        },
        ServiceLine {
            name: "Key-value store",
            backend: core.kv.backend().to_owned(),
            up: kv_up,
            detail: state(ctx, kv_up),
        },
        ServiceLine {
            name: "Channel layer",
            backend: core.channels.backend().to_owned(),
            up: channels_up,
            detail: ctx.t2("{groups} groups, {members} members", "groups", groups, "members", members),
        },
        ServiceLine {
            name: "Sessions",
            backend: match core.settings.session.backend {
                SessionBackendKind::Database => "database",
                SessionBackendKind::Redis => "redis",
                SessionBackendKind::CachedDb => "cached_db",
            }
            .to_owned(),
            up: true,
            detail: String::new(),
        },
        ServiceLine {
            name: "Job queue",
            backend: format!("{:?}", core.settings.jobs.backend).to_lowercase(),
            up: true,
            detail: String::new(),
        },
    ]
}

/// `GET /admin/services/?prefix=…`.
pub(crate) async fn dashboard(ctx: PageContext, RawQuery(query): RawQuery) -> Result<Response> {
    pages::require(&ctx, Some(VIEW)).await?;
    let core = ctx.core().clone();
    let params = FormData::from_urlencoded(query.as_deref().unwrap_or_default().as_bytes());
    let asked = params.get("prefix").map(str::trim).unwrap_or_default();
    let prefix = if asked.is_empty() || asked.len() > 100 || !asked.bytes().all(|b| b.is_ascii_graphic()) {
        core.settings.cache.key_prefix.clone()
    } else {
        asked.to_owned()
    };
    let services = services(&ctx).await;
    let board = core.service::<RedisBoard>().expect("the admin app provides its Redis board");
    let timeout = Duration::from_millis(core.settings.redis.io_timeout_ms);
    let (redis_url, redis, keys) = match board.connection(&core).await {
        Some((url, connection)) => {
            let report = quartet_kernel::redis_client::report(connection, timeout).await.map_err(|e| e.0);
            // Sessions are never shown, only listed.
            let hidden_cached = format!("{}session:", core.settings.cache.key_prefix);
            let hidden = [core.settings.session.key_prefix.as_str(), hidden_cached.as_str()];
            let keys = if report.is_ok() {
                Some(
                    quartet_kernel::redis_client::browse(connection, timeout, &prefix, KEYS_SHOWN, &hidden)
                        .await
                        .map_err(|e| e.0),
                )
            } else {
                None
            };
            (Some(url.clone()), Some(report), keys)
        }
        None => (None, None, None),
    };
    let crumbs = pages::breadcrumbs(&ctx, None, &[(ctx.t("Services").to_owned(), String::new())]);
    let sockets = core.channels.open_sockets();
    render(&ServicesPage { ctx, crumbs, services, redis_url, redis, prefix, keys, sockets })
}

/// The notice board's socket: staff with [`VIEW`] join [`GROUP`]; a notice sent by one reaches
/// every open board, on every instance.
#[derive(Debug, Clone, Copy)]
pub struct NoticeBoard;

#[derive(Deserialize)]
struct Incoming {
    message: String,
}

fn error_json(socket: &SocketInfo, message: &str) -> String {
    serde_json::json!({ "error": socket.core.tr(socket.lang.clone()).t(message) }).to_string()
}

#[async_trait::async_trait]
impl Consumer for NoticeBoard {
    async fn connect(&self, socket: &SocketInfo) -> Result<Vec<String>> {
        let allowed = match &socket.user {
            Some(user) if user.is_active && user.is_staff => {
                quartet_kernel::auth::has_perm(&socket.core.db, user, VIEW).await?
            }
            _ => false,
        };
        if !allowed {
            return Err(Error::Forbidden("Staff with the permission to view the services page only.".into()));
        }
        Ok(vec![GROUP.to_owned()])
    }

    async fn receive(&self, socket: &SocketInfo, text: String, out: &Outbox) -> Result<()> {
        let Ok(incoming) = serde_json::from_str::<Incoming>(&text) else {
            out.send(&error_json(socket, "A notice is sent as {\"message\": \"…\"}.")).await;
            return Ok(());
        };
        let message = incoming.message.trim();
        if message.is_empty() {
            return Ok(());
        }
        if message.chars().count() > MAX_NOTICE {
            out.send(&error_json(socket, "A notice has at most 500 characters.")).await;
            return Ok(());
        }
        let who = socket.user.as_ref().map(|u| u.username.clone()).unwrap_or_default();
        let notice = serde_json::json!({ "message": message, "user": who, "at": socket.core.now().to_rfc3339() });
        if out.group_send(GROUP, &notice.to_string()).await.is_err() {
            out.send(&error_json(socket, "Live notices are unavailable right now.")).await;
        }
        Ok(())
    }
}

/// The notice board's route.
pub(crate) fn notices_route() -> axum::routing::MethodRouter<CoreState> {
    ws::socket(NoticeBoard)
}
