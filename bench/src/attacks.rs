//! `quartet-bench attacks`: what one client can make a release build do (issue 14 §2), measured
//! against a `quartet` binary on loopback, each on a fresh site, so that two builds (before and
//! after a change) are compared by the same runs.
//!
//! | run | what the client does | what is measured |
//! |---|---|---|
//! | `silent-sockets` | opens 3,000 connections from 127.0.0.2 (in waves of 100) that send nothing, with `serve` started at the common soft limit of 1,024 open files; meanwhile a normal client on 127.0.0.1 loads `/blog/` 200 times | probes served and their p99; silent sockets closed within the header timeout (10 s here); connections the server holds (`ss`) |
//! | `silent-sockets-uncapped` | the same with `server.max_connections_per_ip = 0`, so that the server holds all 3,000 | the same |
//! | `slow-multipart` | 150 anonymous connections (with a CSRF cookie) post multipart bodies announcing 10 MB to `/account/login/` and stop one byte short | the server's peak memory growth |
//! | `slow-forms` | the same with 2.5 MB urlencoded bodies (every route takes those) | the same |
//! | `big-images` | 24 signed-in users upload, at once, a 6,300 × 6,300 PNG of 586 KB (40 M pixels) as their profile photo | the same, and the answers |
//! | `images-at-cap` | the same with 4,000 × 4,000 (16 M pixels: `uploads.max_photo_pixels`, so every one is decoded) | the same |
//! | `guesses` | 300 concurrent wrong passwords for one account from one address | passwords checked (answers 200) and refused (429) |
//! | `share` | 40 share e-mails to 40 recipients from one anonymous address, at once | e-mails queued (200) and refused (429) |
//! | `comments` | 50 comments of 2 MB, then 40 of one line, from one address | comments stored, the post page's size and time |
//! | `idle-websockets` | a signed-in superuser opens 1,000 WebSockets to the admin's notice board (`/admin/ws/notices/`) and leaves them idle for 45 s (two rounds of pings) | the server's memory before and after, bytes per socket, sockets still open |

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::site::{Database, Server, Site};

/// The demo data: four accounts and a small blog.
const DEMO: [&str; 0] = [];
const PASSWORD: &str = "attack-harness-passphrase-73";

/// Every run, by name.
pub const RUNS: [&str; 10] = [
    "silent-sockets",
    "silent-sockets-uncapped",
    "slow-multipart",
    "slow-forms",
    "big-images",
    "images-at-cap",
    "guesses",
    "share",
    "comments",
    "idle-websockets",
];

/// One run's outcome: lines of the report.
struct Outcome {
    name: &'static str,
    lines: Vec<String>,
}

/// The settings every attack site runs with, on top of the production deployment's: cookies
/// over plain HTTP (the harness talks to loopback without TLS) and cheap password hashing (so
/// that signing 24 users up does not weigh on the memory figures).
fn attack_env() -> Vec<(String, String)> {
    [
        ("QUARTET_SESSION_COOKIE_SECURE", "false"),
        ("QUARTET_SECURITY_CSRF_COOKIE_SECURE", "false"),
        ("QUARTET_AUTH_ARGON2_MEMORY_KIB", "8192"),
        ("QUARTET_SERVER_HEADER_READ_TIMEOUT_SECONDS", "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Runs the named runs (all when `only` is empty) against `binary`; returns the report.
pub async fn run(binary: &Path, only: &[String], work: &Path) -> anyhow::Result<String> {
    let mut outcomes = Vec::new();
    for name in RUNS.iter().filter(|n| only.is_empty() || only.iter().any(|o| o == *n)) {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir)?;
        let mut env = attack_env();
        if *name == "idle-websockets" {
            env.push(("QUARTET_SERVER_MAX_CONNECTIONS_PER_IP".to_owned(), "0".to_owned()));
            env.push(("QUARTET_SUPERUSER_USERNAME".to_owned(), "root".to_owned()));
            env.push(("QUARTET_SUPERUSER_EMAIL".to_owned(), "root@example.com".to_owned()));
            env.push(("QUARTET_SUPERUSER_PASSWORD".to_owned(), PASSWORD.to_owned()));
            env.push(("QUARTET_METRICS_ACCESS".to_owned(), "loopback".to_owned()));
        }
        if *name == "silent-sockets-uncapped" {
            env.push(("QUARTET_SERVER_MAX_CONNECTIONS_PER_IP".to_owned(), "0".to_owned()));
        }
        let site = Site::prepare_with(binary, &Database::Sqlite, "memory", &dir, &DEMO, env)
            .await
            .with_context(|| format!("preparing the site of {name}"))?;
        let site = if name.starts_with("silent-sockets") { site.with_soft_nofile(1024) } else { site };
        eprintln!("run {name}…");
        let outcome = match *name {
            "silent-sockets" => silent_sockets(&site, "silent-sockets").await,
            "silent-sockets-uncapped" => silent_sockets(&site, "silent-sockets-uncapped").await,
            "slow-multipart" => slow_bodies(&site, true).await,
            "slow-forms" => slow_bodies(&site, false).await,
            "big-images" => big_images(&site, "big-images", 6300).await,
            "images-at-cap" => big_images(&site, "images-at-cap", 4000).await,
            "guesses" => guesses(&site).await,
            "share" => share(&site).await,
            "comments" => comments(&site).await,
            "idle-websockets" => idle_websockets(&site, 1000).await,
            _ => unreachable!("the runs are listed in RUNS"),
        }
        .with_context(|| format!("the run {name}"))?;
        outcomes.push(outcome);
    }
    let mut out = format!("# Attacks on `{}`\n\n", binary.display());
    let version = std::process::Command::new(binary).arg("--version").output().ok();
    if let Some(version) = version {
        let _ = writeln!(out, "Binary: {}", String::from_utf8_lossy(&version.stdout).trim());
    }
    let _ = writeln!(out, "Machine: {} cores\n", std::thread::available_parallelism().map_or(1, |n| n.get()));
    for outcome in outcomes {
        let _ = writeln!(out, "## {}\n", outcome.name);
        for line in outcome.lines {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    Ok(out)
}

fn host_of(server: &Server) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().expect("the server's address")
}

fn mib(bytes_kib: f64) -> String {
    format!("{bytes_kib:.1} MiB")
}

/// A browser-like client: cookies kept, redirects not followed.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .expect("a client")
}

/// The CSRF cookie's value after a visit to `path`.
async fn csrf_token(client: &reqwest::Client, base: &str, path: &str) -> anyhow::Result<String> {
    let page = client.get(format!("{base}{path}")).send().await?;
    let token = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("csrftoken=").map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
        .context("no CSRF cookie")?;
    page.bytes().await?;
    Ok(token)
}

async fn post_form(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<(u16, String)> {
    let mut fields = vec![("csrfmiddlewaretoken", token)];
    fields.extend_from_slice(form);
    let response = client.post(format!("{base}{path}")).header("origin", base).form(&fields).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// How many established TCP connections have `address` as their local end (the server's
/// side), as `ss` counts them; `-1` when `ss` cannot run.
fn server_side_connections(address: SocketAddr) -> i64 {
    let filter = format!("( sport = :{} )", address.port());
    std::process::Command::new("ss")
        .args(["-Htn", "state", "established", &filter])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map_or(-1, |out| String::from_utf8_lossy(&out.stdout).lines().count() as i64)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn silent_sockets(site: &Site, name: &'static str) -> anyhow::Result<Outcome> {
    let server = site.serve().await?;
    let address = host_of(&server);
    let started = Instant::now();
    // In waves of 100, each connect given 2 s: a burst of 3,000 at once overflows the kernel's
    // accept queue (1,024), and the kernel then completes handshakes with SYN cookies that it
    // drops, so the client holds connections the server never sees.
    let (mut silent, mut failed) = (Vec::new(), 0);
    for _ in 0..30 {
        let connects: Vec<_> = (0..100)
            .map(|_| {
                let socket = TcpSocket::new_v4().and_then(|s| s.bind(([127, 0, 0, 2], 0).into()).map(|()| s));
                tokio::spawn(
                    async move { tokio::time::timeout(Duration::from_secs(2), socket?.connect(address)).await? },
                )
            })
            .collect();
        for connect in connects {
            match connect.await {
                Ok(Ok(stream)) => silent.push(stream),
                _ => failed += 1,
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let opened = started.elapsed();
    let held_at_first = server_side_connections(address);
    // A normal client, meanwhile.
    let probe = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let (mut times, mut errors) = (Vec::new(), 0);
    let window = Instant::now();
    for _ in 0..200 {
        let at = Instant::now();
        match probe.get(format!("{}/blog/", server.base)).send().await {
            Ok(r) if r.status().is_success() => {
                r.bytes().await?;
                times.push(at.elapsed().as_secs_f64() * 1000.0);
            }
            _ => errors += 1,
        }
        if window.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    // When the server closed each silent socket (watched for up to 40 s from the start). A
    // burst of connects overflows the kernel's accept queue, and the kernel lets the rest in
    // as it retransmits (1, 3, 7 s…): the header timeout runs from the server's accept.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40).saturating_sub(started.elapsed());
    let watches: Vec<_> = silent
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut byte = [0u8; 1];
                match tokio::time::timeout_at(deadline, stream.read(&mut byte)).await {
                    Ok(Ok(0) | Err(_)) => Some(started.elapsed()),
                    _ => None,
                }
            })
        })
        .collect();
    let accepted = watches.len();
    tokio::time::sleep_until(tokio::time::Instant::from_std(started + Duration::from_secs(12))).await;
    let held_at_12 = server_side_connections(address);
    let mut closed_at = Vec::new();
    for watch in watches {
        if let Ok(Some(at)) = watch.await {
            closed_at.push(at.as_secs_f64());
        }
    }
    closed_at.sort_by(f64::total_cmp);
    let within = |s: f64| closed_at.iter().filter(|&&t| t <= s).count();
    let log = site.log();
    let emfile = log.matches("Too many open files").count();
    let stats = server.stats()?;
    server.stop().await;
    Ok(Outcome {
        name,
        lines: vec![
            format!(
                "3,000 silent connections from 127.0.0.2: {accepted} accepted by the kernel in {:.1} s, {failed} refused by it",
                opened.as_secs_f64()
            ),
            format!(
                "normal client on 127.0.0.1: {} of {} probes of /blog/ served, p50 {:.2} ms, p99 {:.2} ms",
                times.len(),
                times.len() + errors,
                percentile(&times, 0.5),
                percentile(&times, 0.99)
            ),
            format!(
                "silent connections closed by the server (header timeout 10 s): {} of {accepted} within 12 s of the first connect, {} within 40 s, the last after {:.1} s",
                within(12.0),
                closed_at.len(),
                closed_at.last().copied().unwrap_or(f64::NAN)
            ),
            format!(
                "connections the server's side holds (`ss`): {held_at_first} once all were connected, {held_at_12} at 12 s"
            ),
            format!("\"Too many open files\" in the server's log: {emfile}"),
            format!("server peak memory: {}", mib(stats.peak_rss_mib)),
        ],
    })
}

/// 150 connections that send most of a large body and never finish it.
async fn slow_bodies(site: &Site, multipart: bool) -> anyhow::Result<Outcome> {
    let server = site.serve().await?;
    let address = host_of(&server);
    let http = client();
    let token = csrf_token(&http, &server.base, "/account/login/").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.sample()?;
    let (announced, content_type) = if multipart {
        (10 * 1024 * 1024, "multipart/form-data; boundary=xxBOUNDARYxx")
    } else {
        (2_621_440, "application/x-www-form-urlencoded")
    };
    let mut tasks = Vec::new();
    for _ in 0..150 {
        let (token, base) = (token.clone(), server.base.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await?;
            let head = format!(
                "POST /account/login/ HTTP/1.1\r\nHost: {address}\r\nOrigin: {base}\r\nCookie: csrftoken={token}\r\nContent-Type: {content_type}\r\nContent-Length: {announced}\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            let mut body = Vec::with_capacity(announced);
            if multipart {
                body.extend_from_slice(
                    b"--xxBOUNDARYxx\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.bin\"\r\n\r\n",
                );
            } else {
                body.extend_from_slice(b"username=");
            }
            body.resize(announced - 1, b'a');
            // Everything but the last byte; then the connection waits, as a slow client's would.
            let written = tokio::time::timeout(Duration::from_secs(20), stream.write_all(&body)).await;
            let mut answer = vec![0u8; 256];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer)).await;
            let status = match read {
                Ok(Ok(n)) if n > 12 => String::from_utf8_lossy(&answer[9..12]).into_owned(),
                _ => if written.is_err() { "stalled".to_owned() } else { "none".to_owned() },
            };
            Ok::<_, std::io::Error>((status, stream))
        }));
    }
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    let mut held = Vec::new();
    for task in tasks {
        match task.await? {
            Ok((status, stream)) => {
                *statuses.entry(status).or_default() += 1;
                held.push(stream);
            }
            Err(_) => *statuses.entry("error".into()).or_default() += 1,
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = server.sample()?;
    drop(held);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.sample()?;
    server.stop().await;
    let kind = if multipart { "multipart bodies announcing 10 MB" } else { "urlencoded bodies of 2.5 MB" };
    Ok(Outcome {
        name: if multipart { "slow-multipart" } else { "slow-forms" },
        lines: vec![
            format!("150 anonymous connections to /account/login/ with {kind}, one byte short"),
            format!("answers: {statuses:?}"),
            format!(
                "server memory: {} before, {} while held (peak {}), {} after they closed; peak growth {}",
                mib(before.rss_mib),
                mib(during.rss_mib),
                mib(during.peak_rss_mib),
                mib(after.rss_mib),
                mib(during.peak_rss_mib - before.peak_rss_mib)
            ),
        ],
    })
}

/// A `side` × `side` PNG of one colour (6,300: 586 KB compressed, 119 MB decoded).
fn bomb_png(side: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(side, side, image::Rgb([240, 200, 40]));
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).expect("a PNG");
    png.into_inner()
}

async fn big_images(site: &Site, name: &'static str, side: u32) -> anyhow::Result<Outcome> {
    let server = site.serve().await?;
    let png = bomb_png(side);
    let mut clients = Vec::new();
    for n in 0..24 {
        let http = client();
        let token = csrf_token(&http, &server.base, "/account/register/").await?;
        let (username, email) = (format!("uploader{n}"), format!("uploader{n}@example.com"));
        let (status, _) = post_form(
            &http,
            &server.base,
            "/account/register/",
            &token,
            &[("username", &username), ("email", &email), ("password", PASSWORD), ("password2", PASSWORD)],
        )
        .await?;
        if status != 200 {
            bail!("registering {username} answered {status}");
        }
        clients.push(http);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.sample()?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (n, http) in clients.into_iter().enumerate() {
        let (base, png) = (server.base.clone(), png.clone());
        tasks.push(tokio::spawn(async move {
            let token = csrf_token(&http, &base, "/account/edit/").await?;
            let form = reqwest::multipart::Form::new()
                .text("csrfmiddlewaretoken", token)
                .text("email", format!("uploader{n}@example.com"))
                .part("photo", reqwest::multipart::Part::bytes(png).file_name("bomb.png").mime_str("image/png")?);
            let response =
                http.post(format!("{base}/account/edit/")).header("origin", &base).multipart(form).send().await?;
            let status = response.status().as_u16();
            let body = response.text().await?;
            let refused = body.contains("The image is too large");
            anyhow::Ok((status, refused))
        }));
    }
    let mut peak = before.peak_rss_mib;
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let watch = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Ok(now) = server.sample() {
                peak = peak.max(now.peak_rss_mib);
            }
        }
    };
    let results = async {
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await);
        }
        out
    };
    let results = tokio::select! {
        results = results => results,
        () = watch => unreachable!("the watch never ends"),
    };
    for result in results {
        let key = match result {
            Ok(Ok((status, true))) => format!("{status} refused: the image is too large"),
            Ok(Ok((status, false))) => format!("{status}"),
            _ => "error".to_owned(),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    let elapsed = started.elapsed();
    let after = server.sample()?;
    server.stop().await;
    let log = site.log();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    Ok(Outcome {
        name,
        lines: vec![
            format!(
                "24 signed-in users upload a {} KB {side} × {side} PNG ({:.1} M pixels) as their photo, at once",
                png.len() / 1024,
                f64::from(side) * f64::from(side) / 1e6
            ),
            format!("answers in {:.1} s: {outcomes:?}", elapsed.as_secs_f64()),
            format!(
                "server memory: {} before, peak {} (growth {}), {} after",
                mib(before.rss_mib),
                mib(peak.max(after.peak_rss_mib)),
                mib(peak.max(after.peak_rss_mib) - before.peak_rss_mib),
                mib(after.rss_mib)
            ),
            format!(
                "errors in the server's log: {}{}",
                errors.len(),
                errors.first().map_or(String::new(), |e| format!(", the first: `{}`", e.trim()))
            ),
        ],
    })
}

/// Posts `count` forms to `path` at once (form `n` from `fields(n)`) with `http` (whose cookie
/// jar holds the CSRF cookie of `token`) and counts the answers by status.
async fn post_at_once(
    http: &reqwest::Client,
    server: &Server,
    path: &str,
    token: &str,
    count: usize,
    fields: impl Fn(usize) -> Vec<(&'static str, String)>,
) -> anyhow::Result<(std::collections::BTreeMap<u16, usize>, Duration)> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|n| {
            let (http, base, path, token, fields) =
                (http.clone(), server.base.clone(), path.to_owned(), token.to_owned(), fields(n));
            tokio::spawn(async move {
                let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post_form(&http, &base, &path, &token, &fields).await
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for task in tasks {
        let (status, _) = task.await??;
        *statuses.entry(status).or_default() += 1;
    }
    Ok((statuses, started.elapsed()))
}

async fn guesses(site: &Site) -> anyhow::Result<Outcome> {
    let server = site.serve().await?;
    let http = client();
    let token = csrf_token(&http, &server.base, "/account/login/").await?;
    let (statuses, elapsed) = post_at_once(&http, &server, "/account/login/", &token, 300, |n| {
        vec![("username", "demo".to_owned()), ("password", format!("wrong-guess-{n}"))]
    })
    .await?;
    server.stop().await;
    let checked = statuses.get(&200).copied().unwrap_or(0);
    Ok(Outcome {
        name: "guesses",
        lines: vec![
            "300 concurrent wrong passwords for one account (`demo`) from one address; limit 100 an hour".to_owned(),
            format!(
                "passwords checked (200): {checked}; refused before hashing (429): {}",
                statuses.get(&429).copied().unwrap_or(0)
            ),
            format!("all answers in {:.1} s: {statuses:?}", elapsed.as_secs_f64()),
        ],
    })
}

async fn share(site: &Site) -> anyhow::Result<Outcome> {
    let server = site.serve().await?;
    let http = client();
    let token = csrf_token(&http, &server.base, "/blog/").await?;
    let (statuses, elapsed) = post_at_once(&http, &server, "/blog/1/share/", &token, 40, |n| {
        vec![
            ("name", "Mallory".to_owned()),
            ("email", "mallory@example.com".to_owned()),
            ("to", format!("victim{n}@example.com")),
            ("comments", "Buy cheap watches at evil.example".to_owned()),
        ]
    })
    .await?;
    server.stop().await;
    Ok(Outcome {
        name: "share",
        lines: vec![
            "40 share e-mails to 40 recipients from one anonymous address, at once".to_owned(),
            format!(
                "e-mails queued (200): {}; refused (429): {}; in {:.2} s",
                statuses.get(&200).copied().unwrap_or(0),
                statuses.get(&429).copied().unwrap_or(0),
                elapsed.as_secs_f64()
            ),
        ],
    })
}

/// Posts one comment on the first post as `(name, email)`.
async fn post_comment(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    (name, email): (&str, &str),
    body: &str,
) -> anyhow::Result<(u16, String)> {
    post_form(http, &server.base, "/blog/1/comment/", token, &[("name", name), ("email", email), ("body", body)]).await
}

async fn comments(site: &Site) -> anyhow::Result<Outcome> {
    let server = site.serve().await?;
    let http = client();
    let token = csrf_token(&http, &server.base, "/blog/").await?;
    // 2 MB: under the 2.5 MB form limit both builds document (and under axum's 2 MiB default).
    let big = "x".repeat(2_000_000);
    let mut big_statuses = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..50 {
        let (status, page) = post_comment(&http, &server, &token, ("Spam", "s@example.com"), &big).await?;
        let answer =
            if page.contains("class=\"errorlist\"") { format!("{status} form error") } else { status.to_string() };
        *big_statuses.entry(answer).or_default() += 1;
    }
    let mut small_statuses = std::collections::BTreeMap::<u16, usize>::new();
    for n in 0..40 {
        let (status, _) =
            post_comment(&http, &server, &token, ("Reader", "r@example.com"), &format!("Comment number {n}.")).await?;
        *small_statuses.entry(status).or_default() += 1;
    }
    // The post the comments went to: the list's first link.
    let list = http.get(format!("{}/blog/", server.base)).send().await?.text().await?;
    let path = list
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.starts_with("/blog/20"))
        .context("no post link on /blog/")?
        .to_owned();
    let mut sizes = Vec::new();
    let started = Instant::now();
    let mut heading = String::new();
    for _ in 0..8 {
        let page = http.get(format!("{}{path}", server.base)).send().await?.text().await?;
        sizes.push(page.len());
        heading = page
            .split("class=\"comments\"")
            .nth(1)
            .and_then(|rest| rest.split("<h2>").nth(1))
            .and_then(|rest| rest.split("</h2>").next())
            .unwrap_or("")
            .to_owned();
    }
    let elapsed = started.elapsed();
    let stats = server.stats()?;
    server.stop().await;
    Ok(Outcome {
        name: "comments",
        lines: vec![
            format!("50 comments of 2 MB from one address: answers {big_statuses:?}"),
            format!("then 40 one-line comments: answers {small_statuses:?}"),
            format!(
                "the post afterwards shows \"{heading}\" (2 demo comments before the run); its page is {} KB, 8 views in {:.2} s; server peak memory {}",
                sizes.iter().max().copied().unwrap_or(0) / 1024,
                elapsed.as_secs_f64(),
                mib(stats.peak_rss_mib)
            ),
        ],
    })
}

/// Where a report goes: `bench/results/attacks-<stamp>.md`.
pub fn report_path(out: &Path, label: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y-%m-%d%H%M%S");
    out.join(format!("attacks-{stamp}-{label}.md"))
}

/// Opens `count` WebSockets as a signed-in superuser and leaves them idle; the server's memory
/// per socket.
async fn idle_websockets(site: &Site, count: usize) -> anyhow::Result<Outcome> {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    site.quartet(&["createsuperuser", "--noinput"])?;
    let server = site.serve().await?;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("a client")?;
    let token = csrf_token(&http, &server.base, "/account/login/").await?;
    let (status, _) =
        post_form(&http, &server.base, "/account/login/", &token, &[("username", "root"), ("password", PASSWORD)])
            .await?;
    if !(300..400).contains(&status) {
        bail!("signing in answered {status}");
    }
    let base: reqwest::Url = server.base.parse().context("the server's address")?;
    let cookies = reqwest::cookie::CookieStore::cookies(&*jar, &base);
    let cookie = cookies.context("no session cookie")?.to_str()?.to_owned();
    // Warm: one socket opened and closed, so what is measured is what each socket adds.
    let url = format!("{}/admin/ws/notices/", server.base.replacen("http", "ws", 1));
    let request = |cookie: &str| -> anyhow::Result<_> {
        let mut request = url.as_str().into_client_request()?;
        request.headers_mut().insert("cookie", cookie.parse()?);
        request.headers_mut().insert("origin", server.base.parse()?);
        Ok(request)
    };
    drop(tokio_tungstenite::connect_async(request(&cookie)?).await.context("the first WebSocket")?);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = server.sample()?;
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(count);
    for n in 0..count {
        let (socket, _) =
            tokio_tungstenite::connect_async(request(&cookie)?).await.with_context(|| format!("WebSocket {n}"))?;
        sockets.push(socket);
    }
    let opened = started.elapsed();
    // Each socket is read (pings answered by tungstenite) so that none looks dead.
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut readers = Vec::with_capacity(count);
    for mut socket in sockets {
        let closed = closed_tx.clone();
        readers.push(tokio::spawn(async move {
            while let Some(frame) = socket.next().await {
                if frame.is_err() || frame.as_ref().is_ok_and(|f| f.is_close()) {
                    break;
                }
            }
            let _ = closed.send(());
        }));
    }
    drop(closed_tx);
    let mut peak = before.rss_mib;
    let idle_until = Instant::now() + Duration::from_secs(45);
    while Instant::now() < idle_until {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(server.sample()?.rss_mib);
    }
    let after = server.sample()?;
    let mut closed = 0;
    while closed_rx.try_recv().is_ok() {
        closed += 1;
    }
    let metrics = http.get(format!("{}/metrics", server.base)).send().await?.text().await.unwrap_or_default();
    let open_by_server =
        metrics.lines().find_map(|l| l.strip_prefix("quartet_open_websockets ")).unwrap_or("(metrics off)").to_owned();
    for reader in readers {
        reader.abort();
    }
    server.stop().await;
    let grown_kib = (after.rss_mib - before.rss_mib) * 1024.0;
    Ok(Outcome {
        name: "idle-websockets",
        lines: vec![
            format!(
                "{count} WebSockets opened by one signed-in superuser in {:.1} s, then idle for 45 s",
                opened.as_secs_f64()
            ),
            format!(
                "server memory: {} before, {} after ({} peak): {:.1} MiB for {count} sockets, {:.1} KiB per socket",
                mib(before.rss_mib),
                mib(after.rss_mib),
                mib(peak),
                after.rss_mib - before.rss_mib,
                grown_kib / count as f64
            ),
            format!(
                "sockets closed by the server while idle: {closed}; open as the server counts them: {open_by_server}"
            ),
        ],
    })
}
