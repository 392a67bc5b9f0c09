//! The SSRF-safe outbound client against a server of the test's own on a loopback port: each
//! refused case, the limits, and that the connection goes to the address that was checked.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use quartet_core::http::fetch::{FetchError, FetchPolicy, Lookup, SafeClient};

/// A resolver of made-up names that counts its lookups.
struct FakeLookup {
    names: Vec<(&'static str, Vec<IpAddr>)>,
    lookups: AtomicUsize,
}

impl Lookup for FakeLookup {
    fn lookup(
        &self,
        host: &str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found = self.names.iter().find(|(name, _)| *name == host).map(|(_, ips)| ips.clone());
        Box::pin(async move { found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such name")) })
    }
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|ip| ip.parse().unwrap()).collect()
}

const BODY: &[u8] = b"\x89PNG\r\n\x1a\n-pretend-image-bytes";

/// The test's server: an image, redirects, a large body and a slow one.
async fn server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let app = Router::new()
        .route("/image.png", get(|| async { ([("content-type", "image/png")], BODY) }))
        .route(
            "/to-loopback",
            get(move || async move { Redirect::temporary(&format!("http://127.0.0.1:{port}/image.png")) }),
        )
        .route("/to-metadata", get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }))
        .route(
            "/to-intranet",
            get(move || async move { Redirect::temporary(&format!("http://intranet.test:{port}/image.png")) }),
        )
        .route("/to-ftp", get(|| async { Redirect::temporary("ftp://example.com/image.png") }))
        .route(
            "/hop/{n}",
            get(move |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                if n == 0 { Redirect::temporary("/image.png") } else { Redirect::temporary(&format!("/hop/{}", n - 1)) }
            }),
        )
        .route("/large", get(|| async { vec![b'x'; 2_000] }))
        .route(
            "/large-chunked",
            get(|| async {
                let chunks = (0..20).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 100]));
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route("/exact", get(|| async { vec![b'x'; 1_000] }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/missing", get(|| async { (axum::http::StatusCode::NOT_FOUND, "no").into_response() }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A client whose made-up names resolve as the tests need, with `images.test` allowed (it
/// stands for a public host; it resolves to this loopback server).
fn client(policy: FetchPolicy) -> (SafeClient, Arc<FakeLookup>) {
    let lookup = Arc::new(FakeLookup {
        names: vec![
            ("images.test", ips(&["127.0.0.1"])),
            ("intranet.test", ips(&["10.0.0.5"])),
            ("metadata.test", ips(&["169.254.169.254"])),
            ("mapped.test", ips(&["::ffff:127.0.0.1"])),
            ("half-private.test", ips(&["93.184.216.34", "192.168.0.10"])),
        ],
        lookups: AtomicUsize::new(0),
    });
    let policy = FetchPolicy { allowed_hosts: vec!["images.test".into()], ..policy };
    (SafeClient::with_lookup(policy, lookup.clone()), lookup)
}

fn forbidden(host: &str) -> Result<(), FetchError> {
    Err(FetchError::Forbidden { host: host.into() })
}

#[tokio::test]
async fn an_allowed_host_is_fetched_from_the_address_that_was_checked() {
    let port = server().await.port();
    let (client, lookup) = client(FetchPolicy::default());
    // `images.test` exists only in the fake resolver: the body arriving shows the connection
    // went to the address it gave, after one lookup (no second one a rebinding server could
    // answer differently).
    let fetched = client.get(&format!("http://images.test:{port}/image.png")).await.unwrap();
    assert_eq!(fetched.bytes, BODY);
    assert_eq!(fetched.content_type.as_deref(), Some("image/png"));
    assert_eq!(lookup.lookups.load(Ordering::SeqCst), 1);
    // Three redirects are followed.
    let fetched = client.get(&format!("http://images.test:{port}/hop/2")).await.unwrap();
    assert_eq!((fetched.bytes.as_slice(), fetched.url.path()), (BODY, "/image.png"));
}

#[tokio::test]
async fn every_refused_case_gives_its_reason() {
    let port = server().await.port();
    let (client, _) = client(FetchPolicy::default());
    let refused = |url: String| {
        let client = client.clone();
        async move { client.get(&url).await.map(|_| ()) }
    };
    let cases: Vec<(String, Result<(), FetchError>)> = vec![
        (format!("http://127.0.0.1:{port}/image.png"), forbidden("127.0.0.1")),
        (format!("http://[::1]:{port}/image.png"), forbidden("[::1]")),
        ("http://169.254.169.254/latest/meta-data/".into(), forbidden("169.254.169.254")),
        ("http://10.1.2.3/image.png".into(), forbidden("10.1.2.3")),
        ("http://0.0.0.0/image.png".into(), forbidden("0.0.0.0")),
        ("http://224.0.0.1/image.png".into(), forbidden("224.0.0.1")),
        ("http://[::ffff:127.0.0.1]/image.png".into(), forbidden("[::ffff:7f00:1]")),
        // Names that resolve to refused addresses (every address is checked).
        (format!("http://intranet.test:{port}/image.png"), forbidden("intranet.test")),
        ("http://metadata.test/latest/meta-data/".into(), forbidden("metadata.test")),
        ("http://mapped.test/image.png".into(), forbidden("mapped.test")),
        ("http://half-private.test/image.png".into(), forbidden("half-private.test")),
        ("http://unknown.test/image.png".into(), Err(FetchError::NotFound { host: "unknown.test".into() })),
        // Redirects are checked again.
        (format!("http://images.test:{port}/to-loopback"), forbidden("127.0.0.1")),
        (format!("http://images.test:{port}/to-metadata"), forbidden("169.254.169.254")),
        (format!("http://images.test:{port}/to-intranet"), forbidden("intranet.test")),
        (format!("http://images.test:{port}/to-ftp"), Err(FetchError::Scheme)),
        (format!("http://images.test:{port}/hop/3"), Err(FetchError::TooManyRedirects { max: 3 })),
        // Schemes, credentials, garbage.
        ("file:///etc/passwd".into(), Err(FetchError::Scheme)),
        ("gopher://images.test/".into(), Err(FetchError::Scheme)),
        (format!("http://user:secret@images.test:{port}/image.png"), Err(FetchError::Scheme)),
        ("not a url".into(), Err(FetchError::NotAUrl)),
        (format!("http://images.test:{port}/missing"), Err(FetchError::Status { status: 404 })),
    ];
    for (url, expected) in cases {
        assert_eq!(refused(url.clone()).await, expected, "{url}");
    }
}

#[tokio::test]
async fn the_size_limit_passes_its_own_size_and_refuses_one_byte_more() {
    let port = server().await.port();
    let (client, _) = client(FetchPolicy { max_bytes: 1_000, ..FetchPolicy::default() });
    assert_eq!(client.get(&format!("http://images.test:{port}/exact")).await.unwrap().bytes.len(), 1_000);
    let too_large = Err(FetchError::TooLarge { max_mb: 1 });
    // Refused from the Content-Length before reading, and while reading a body without one.
    assert_eq!(client.get(&format!("http://images.test:{port}/large")).await.map(|_| ()), too_large);
    assert_eq!(client.get(&format!("http://images.test:{port}/large-chunked")).await.map(|_| ()), too_large);
}

#[tokio::test]
async fn a_slow_server_is_given_up_on_at_the_timeout() {
    let port = server().await.port();
    let (client, _) = client(FetchPolicy { timeout: Duration::from_millis(500), ..FetchPolicy::default() });
    let started = std::time::Instant::now();
    let result = client.get(&format!("http://images.test:{port}/slow")).await.map(|_| ());
    assert_eq!(result, Err(FetchError::Timeout { seconds: 1 }));
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_address_named_in_the_allowed_hosts_is_let_through() {
    let port = server().await.port();
    let policy = FetchPolicy { allowed_hosts: vec!["127.0.0.1".into()], ..FetchPolicy::default() };
    let client = SafeClient::new(policy);
    assert_eq!(client.get(&format!("http://127.0.0.1:{port}/image.png")).await.unwrap().bytes, BODY);
    // Only that address: another loopback address is still refused.
    assert_eq!(client.get(&format!("http://127.0.0.2:{port}/image.png")).await.map(|_| ()), forbidden("127.0.0.2"));
}
