//! A TCP relay in front of a service (Redis, Memcached) that a test can cut and restore, to see
//! the site while the service is down and after it comes back, without stopping the shared
//! test server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A relay from a local port to a service.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    up: Arc<watch::Sender<bool>>,
    sent: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Relays a free local port to `target` (`host:port`).
    pub async fn start(target: &str) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        let (up, _) = watch::channel(true);
        let up = Arc::new(up);
        let sent = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(relay(listener, target.to_owned(), up.clone(), sent.clone()));
        TcpProxy { addr, up, sent, task }
    }

    /// Bytes the clients have sent to the service so far (whether a command reached it).
    pub fn bytes_relayed(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// The local address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service's URL through the relay: `url` with its host and port replaced.
    pub fn url(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("a service URL");
        parsed.set_host(Some("127.0.0.1")).expect("a host");
        parsed.set_port(Some(self.addr.port())).expect("a port");
        parsed.to_string()
    }

    /// Closes every relayed connection and closes new ones at once, as a stopped service does.
    pub async fn cut(&self) {
        self.up.send_replace(false);
        // The relayed connections see the change and close.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    /// Relays connections again.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(listener: TcpListener, target: String, up: Arc<watch::Sender<bool>>, sent: Arc<AtomicU64>) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        if *up.borrow() {
            tokio::spawn(pipe(client, target.clone(), up.subscribe(), sent.clone()));
        }
        // Cut: the connection is closed at once, as by a stopped service's host.
    }
}

async fn pipe(client: TcpStream, target: String, mut state: watch::Receiver<bool>, sent: Arc<AtomicU64>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Ok(server) = TcpStream::connect(&target).await else { return };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            sent.fetch_add(n as u64, Ordering::SeqCst);
            if server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = upstream => {}
        _ = tokio::io::copy(&mut server_read, &mut client_write) => {}
        _ = state.wait_for(|up| !*up) => {}
    }
}
