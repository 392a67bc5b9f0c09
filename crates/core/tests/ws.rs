//! WebSockets: the checks before the upgrade (origin, user, consumer, socket count) and the
//! bounds after it (message size, rate, idle sockets, slow readers), the admin's notice board
//! through the channel layer, and messages crossing two instances through Redis.

use std::time::Duration;

use axum::routing::get;
use quartet_core::app::{App, AppRegistry, CoreState};
use quartet_core::config::{ChannelsBackendKind, Secret};
use quartet_core::error::Error;
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_core::ws::{self, Consumer, Outbox, SocketInfo};
use quartet_testkit::{Frame, TcpProxy, TestSite, TestSiteBuilder, dbtest, service_url};

/// `/sockets/echo/<room>/`: echoes, shouts to the room's group, or floods the client.
struct Sockets;

struct Echo;

#[async_trait::async_trait]
impl Consumer for Echo {
    async fn connect(&self, socket: &SocketInfo) -> quartet_core::Result<Vec<String>> {
        match socket.params.first().map(String::as_str) {
            Some("closed") => Err(Error::NotFound),
            Some(room) => Ok(vec![format!("echo.{room}")]),
            None => Err(Error::NotFound),
        }
    }

    async fn receive(&self, socket: &SocketInfo, text: String, out: &Outbox) -> quartet_core::Result<()> {
        if let Some(n) = text.strip_prefix("flood ").and_then(|n| n.parse::<usize>().ok()) {
            let big = "x".repeat(60_000);
            for _ in 0..n {
                if !out.send(&big).await {
                    break;
                }
            }
        } else if let Some(shout) = text.strip_prefix("shout ") {
            let group = format!("echo.{}", socket.params[0]);
            if out.group_send(&group, shout).await.is_err() {
                out.send("unavailable").await;
            }
        } else {
            let who = socket.user.as_ref().map_or("anonymous", |u| u.username.as_str());
            out.send(&format!("{who} said: {text}")).await;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl App for Sockets {
    fn label(&self) -> &'static str {
        "sockets"
    }
    fn name(&self) -> &'static str {
        "Sockets"
    }
    fn mount(&self) -> &'static str {
        "/sockets/"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("echo", "echo/{room}/", ws::socket(Echo))
            .route("page", "", get(|| async { "sockets" }))
            .with_state(core.clone())
    }
    fn register(&self, _app: &mut AppRegistry<'_>) {}
}

fn sockets_site() -> TestSiteBuilder {
    TestSite::builder().app(Sockets).settings(|s| {
        s.channels.max_message_bytes = 1024;
        s.channels.messages_per_second = 5;
        s.channels.send_buffer = 4;
        s.channels.send_timeout_ms = 500;
        s.channels.ping_seconds = 1;
        s.channels.idle_timeout_seconds = 2;
        s.channels.max_sockets = 3;
    })
}

dbtest! { using sockets_site();
    async fn sockets_are_checked_before_the_upgrade(site) {
        let client = site.client();
        let mut socket = client.websocket("/sockets/echo/lobby/").await.unwrap();
        socket.send("hello").await;
        assert_eq!(socket.next_within(5.0).await, Frame::Text("anonymous said: hello".into()));

        let (signed_in, _) = site.signed_in_client("mira").await;
        let mut theirs = signed_in.websocket("/sockets/echo/lobby/").await.unwrap();
        theirs.send("hi").await;
        assert_eq!(theirs.next_within(5.0).await, Frame::Text("mira said: hi".into()), "the session's user");

        assert_eq!(client.websocket_from("/sockets/echo/lobby/", Some("http://evil.example")).await.unwrap_err(), 403);
        assert_eq!(client.websocket_from("/sockets/echo/lobby/", None).await.unwrap_err(), 403, "no Origin, no socket");
        assert_eq!(client.websocket("/sockets/echo/closed/").await.unwrap_err(), 404, "the consumer refused");
        assert_eq!(client.get("/sockets/echo/lobby/").await.status, 400, "a plain GET");

        let third = client.websocket("/sockets/echo/lobby/").await.unwrap();
        assert_eq!(client.websocket("/sockets/echo/lobby/").await.unwrap_err(), 503, "channels.max_sockets = 3");
        drop(third);
        let mut opened = Err(0);
        for _ in 0..50 {
            opened = client.websocket("/sockets/echo/lobby/").await;
            if opened.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(opened.is_ok(), "a closed socket frees its place");
    }
}

dbtest! { using sockets_site();
    async fn messages_too_large_or_too_many_close_the_socket(site) {
        let client = site.client();
        let mut socket = client.websocket("/sockets/echo/a/").await.unwrap();
        socket.send(&"y".repeat(1024)).await;
        assert_eq!(socket.next_within(5.0).await, Frame::Text(format!("anonymous said: {}", "y".repeat(1024))), "at the limit");
        socket.send(&"y".repeat(1025)).await;
        assert_eq!(socket.next_within(5.0).await, Frame::Closed(Some(1009)), "one byte over");

        let mut chatty = client.websocket("/sockets/echo/b/").await.unwrap();
        for n in 0..10 {
            chatty.send(&n.to_string()).await;
        }
        for n in 0..10 {
            assert_eq!(chatty.next_within(5.0).await, Frame::Text(format!("anonymous said: {n}")), "a burst of twice the rate");
        }
        chatty.send("one more").await;
        assert_eq!(chatty.next_within(5.0).await, Frame::Closed(Some(1008)));
    }
}

dbtest! { using sockets_site();
    async fn idle_sockets_are_pinged_and_dead_ones_closed(site) {
        let client = site.client();
        let mut alive = client.websocket("/sockets/echo/a/").await.unwrap();
        // Reading answers the pings: the socket outlives the idle limit.
        assert_eq!(alive.next_within(3.5).await, Frame::Nothing);
        alive.send("still here").await;
        assert_eq!(alive.next_within(2.0).await, Frame::Text("anonymous said: still here".into()));

        let _silent = client.websocket("/sockets/echo/b/").await.unwrap();
        assert_eq!(site.core.channels.open_sockets(), 2);
        // A client that reads nothing answers no ping: closed after two seconds.
        let mut closed = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if site.core.channels.open_sockets() == 1 {
                closed = true;
                break;
            }
        }
        assert!(closed, "the silent socket was closed");
    }
}

dbtest! { using sockets_site();
    async fn a_client_that_does_not_read_is_disconnected_not_buffered(site) {
        let client = site.client();
        let mut slow = client.websocket("/sockets/echo/a/").await.unwrap();
        // 500 messages of 60 KB (30 MB) for a client that reads none of them: the socket's
        // buffer of four fills once the connection's own buffers are full, and it is dropped.
        slow.send("flood 500").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut read = 0;
        while let Frame::Text(_) = slow.next_within(5.0).await {
            read += 1;
        }
        assert!(read < 500, "the server gave up on the slow client after {read} messages");
        assert_eq!(site.core.channels.open_sockets(), 0);
    }
}

dbtest! { using sockets_site();
    async fn a_group_message_reaches_every_socket_of_the_group(site) {
        let client = site.client();
        let (mut a, mut b, mut other) = (
            client.websocket("/sockets/echo/room/").await.unwrap(),
            client.websocket("/sockets/echo/room/").await.unwrap(),
            client.websocket("/sockets/echo/elsewhere/").await.unwrap(),
        );
        a.send("shout hello, room").await;
        assert_eq!(a.next_within(5.0).await, Frame::Text("hello, room".into()));
        assert_eq!(b.next_within(5.0).await, Frame::Text("hello, room".into()));
        assert_eq!(other.next_within(0.5).await, Frame::Nothing, "another group");
    }
}

// The notice board of the admin's services page.
dbtest! {
    async fn the_notice_board_is_for_staff_with_the_permission(site) {
        let (viewer, _) = site.staff_client("viewer", &["admin.view_services"]).await;
        let (other, _) = site.staff_client("other", &["core.view_job"]).await;
        let mut first = viewer.websocket("/admin/ws/notices/").await.unwrap();
        let mut second = viewer.websocket("/admin/ws/notices/").await.unwrap();
        first.send(r#"{"message": "Deploying at 5"}"#).await;
        for socket in [&mut first, &mut second] {
            let notice = socket.json().await;
            assert_eq!((notice["message"].as_str(), notice["user"].as_str()), (Some("Deploying at 5"), Some("viewer")));
        }
        first.send(&format!(r#"{{"message": "{}"}}"#, "n".repeat(501))).await;
        assert_eq!(first.json().await["error"], "A notice has at most 500 characters.");
        first.send("not json").await;
        assert!(first.json().await["error"].as_str().unwrap().starts_with("A notice is sent as"));
        assert_eq!(site.client().websocket("/admin/ws/notices/").await.unwrap_err(), 403, "anonymous");
        assert_eq!(other.websocket("/admin/ws/notices/").await.unwrap_err(), 403, "staff without the permission");
    }
}

/// The sockets app on the channel layer of the tests' Redis, through `redis`.
fn on_redis(redis: String) -> TestSiteBuilder {
    sockets_site().settings(move |s| {
        s.channels.backend = ChannelsBackendKind::Redis;
        s.channels.max_sockets = 100;
        s.redis.url = Secret::new(redis.clone());
        s.redis.retry_seconds = 1;
    })
}

/// Waits until the site's channel layer has its Redis subscription.
async fn until_subscribed(site: &TestSite) {
    for _ in 0..100 {
        if site.core.channels.is_up() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the channel layer did not reach Redis");
}

dbtest! { needs quartet_redis = "QUARTET_TEST_REDIS_URL"; using on_redis(std::env::var("QUARTET_TEST_REDIS_URL").unwrap_or_default());
    async fn a_message_sent_on_one_instance_reaches_sockets_on_another(site) {
        let other = on_redis(std::env::var("QUARTET_TEST_REDIS_URL").unwrap()).start_on(site.database()).await;
        let mut on_a = site.client().websocket("/sockets/echo/shared/").await.unwrap();
        let mut on_b = other.client().websocket("/sockets/echo/shared/").await.unwrap();
        until_subscribed(&site).await;
        until_subscribed(&other).await;
        on_a.send("shout from A").await;
        assert_eq!(on_b.next_within(5.0).await, Frame::Text("from A".into()), "B's socket got A's message");
        assert_eq!(on_a.next_within(5.0).await, Frame::Text("from A".into()), "and A's own");
        on_b.send("shout from B").await;
        assert_eq!(on_a.next_within(5.0).await, Frame::Text("from B".into()));
    }
}

dbtest! { needs quartet_redis = "QUARTET_TEST_REDIS_URL"; using sockets_site();
    async fn a_stopped_redis_says_the_chat_is_unavailable_and_comes_back(site) {
        let url = service_url("QUARTET_TEST_REDIS_URL").unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let proxy = TcpProxy::start(&format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap_or(6379))).await;
        let site = on_redis(proxy.url(&url)).start_on(site.database()).await;
        let client = site.client();
        let mut socket = client.websocket("/sockets/echo/room/").await.unwrap();
        until_subscribed(&site).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        socket.send("shout before").await;
        assert_eq!(socket.next_within(5.0).await, Frame::Text("before".into()));

        proxy.cut().await;
        socket.send("shout during").await;
        assert_eq!(socket.next_within(5.0).await, Frame::Text("unavailable".into()), "the consumer is told");
        assert_eq!(client.get("/sockets/").await.status, 200, "pages still answer");

        proxy.restore();
        until_subscribed(&site).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut delivered = false;
        for _ in 0..20 {
            socket.send("shout after").await;
            match socket.next_within(1.0).await {
                Frame::Text(t) if t == "after" => {
                    delivered = true;
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
        assert!(delivered, "group messages flow again once Redis is back, without a restart");
    }
}
