//! The one client for outbound requests to addresses a user gave us (the bookmarklet's image
//! URL, and any later feature that fetches what a visitor names). It refuses what would let a
//! visitor reach our own network (SSRF):
//!
//! - only `http` and `https` URLs, without user names or passwords in them;
//! - every address the host resolves to is checked, and one forbidden address refuses the host
//!   (loopback, private, shared, link-local with the cloud metadata address 169.254.169.254,
//!   multicast, broadcast, unspecified, documentation and reserved ranges, and the IPv6 forms
//!   that carry an IPv4 address: mapped, compatible, 6to4, NAT64);
//! - the connection goes to the addresses that were checked: the resolver the HTTP client uses
//!   *is* the check, so there is no second lookup a rebinding DNS server could answer
//!   differently; no proxy is used (a proxy would resolve the name itself);
//! - each redirect is checked again, at most [`FetchPolicy::max_redirects`] of them;
//! - the body is read up to [`FetchPolicy::max_bytes`] (a larger `Content-Length` is refused
//!   before anything is read) within [`FetchPolicy::timeout`] for the whole exchange.
//!
//! [`FetchPolicy::allowed_hosts`] lets named hosts or addresses through (tests, intranets).
//!
//! ```
//! use quartet_kernel::http::fetch::{is_forbidden, FetchPolicy};
//!
//! assert!(is_forbidden("169.254.169.254".parse().unwrap()));
//! assert!(is_forbidden("::ffff:10.0.0.1".parse().unwrap()));
//! assert!(!is_forbidden("93.184.216.34".parse().unwrap()));
//! assert_eq!(FetchPolicy::default().max_bytes, 10 * 1024 * 1024);
//! ```

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

/// What an outbound fetch may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// The largest body read, in bytes.
    pub max_bytes: u64,
    /// The whole exchange (connection, redirects, body) must end within this.
    pub timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
    /// Host names (compared without case) or addresses let through even when they are, or
    /// resolve to, addresses that are otherwise refused.
    pub allowed_hosts: Vec<String>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_redirects: 3,
            allowed_hosts: Vec::new(),
        }
    }
}

impl FetchPolicy {
    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allowed_hosts.iter().any(|allowed| {
            let allowed = allowed.trim().trim_start_matches('[').trim_end_matches(']');
            allowed.eq_ignore_ascii_case(host)
                || matches!((allowed.parse::<IpAddr>(), host.parse::<IpAddr>()), (Ok(a), Ok(b)) if a == b)
        })
    }

    fn allows_address(&self, ip: IpAddr) -> bool {
        self.allowed_hosts
            .iter()
            .any(|allowed| allowed.trim().trim_start_matches('[').trim_end_matches(']').parse() == Ok(ip))
    }
}

/// Why a fetch did not give a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The text is not a URL.
    #[error("Enter a valid URL.")]
    NotAUrl,
    /// Not `http` or `https`, or credentials in the URL.
    #[error("Only http and https addresses can be fetched.")]
    Scheme,
    /// The host is, or resolves to, an address we do not fetch from.
    #[error("That address cannot be fetched: {host} is not a public Internet address.")]
    Forbidden {
        /// The host named by the URL (or by a redirect).
        host: String,
    },
    /// The name does not resolve.
    #[error("The address {host} could not be found.")]
    NotFound {
        /// The host.
        host: String,
    },
    /// More redirects than allowed.
    #[error("The address redirected too many times (at most {max}).")]
    TooManyRedirects {
        /// The limit.
        max: usize,
    },
    /// The body is larger than allowed.
    #[error("The file is too large (at most {max_mb} MB).")]
    TooLarge {
        /// The limit in megabytes.
        max_mb: u64,
    },
    /// The exchange took too long.
    #[error("The address took too long to answer (at most {seconds} s).")]
    Timeout {
        /// The limit in seconds.
        seconds: u64,
    },
    /// The server answered with an error status.
    #[error("The address answered with HTTP status {status}.")]
    Status {
        /// The status code.
        status: u16,
    },
    /// Any other network failure.
    #[error("The address could not be fetched.")]
    Network,
}

/// A fetched body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL the body came from, after redirects.
    pub url: Url,
    /// Its `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub bytes: Vec<u8>,
}

/// Name resolution, replaceable in tests (a name that resolves to a private address, a
/// rebinding server).
pub trait Lookup: Send + Sync + 'static {
    /// The addresses of `host`.
    fn lookup(&self, host: &str) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The system's resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let host = host.to_owned();
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect()) })
    }
}

/// Whether `ip` is an address we never fetch from (unless allowed by name).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, the cloud metadata address among them
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]) // discard-only
}

/// The IPv4 address an IPv6 address carries: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[0..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(tail());
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

/// Checks a URL before it is requested (and each redirect's target): the scheme, no
/// credentials, and a host given as an address (the HTTP client does not resolve those, so
/// the resolver's check would not see them).
fn check_url(url: &Url, policy: &FetchPolicy) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::Scheme);
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or(FetchError::NotAUrl)?;
    if policy.allows_host(host) {
        return Ok(());
    }
    let address = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    match address {
        Some(ip) if is_forbidden(ip) && !policy.allows_address(ip) => {
            Err(FetchError::Forbidden { host: host.to_owned() })
        }
        _ => Ok(()),
    }
}

/// The resolver the HTTP client uses: it resolves once and hands over only checked addresses.
struct CheckedResolver {
    lookup: Arc<dyn Lookup>,
    policy: Arc<FetchPolicy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let lookup = self.lookup.lookup(&host);
        let policy = self.policy.clone();
        Box::pin(async move {
            let addresses = lookup.await.map_err(|_| boxed(FetchError::NotFound { host: host.clone() }))?;
            if addresses.is_empty() {
                return Err(boxed(FetchError::NotFound { host }));
            }
            if !policy.allows_host(&host) && addresses.iter().any(|ip| is_forbidden(*ip) && !policy.allows_address(*ip))
            {
                return Err(boxed(FetchError::Forbidden { host }));
            }
            let checked: Vec<SocketAddr> = addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(checked.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn boxed(error: FetchError) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(error)
}

/// The SSRF-safe client (cheap to clone; one per policy).
#[derive(Clone)]
pub struct SafeClient {
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
}

impl std::fmt::Debug for SafeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeClient").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl SafeClient {
    /// A client with the system's resolver.
    pub fn new(policy: FetchPolicy) -> Self {
        Self::with_lookup(policy, Arc::new(SystemLookup))
    }

    /// A client with another resolver (tests).
    pub fn with_lookup(policy: FetchPolicy, lookup: Arc<dyn Lookup>) -> Self {
        let policy = Arc::new(policy);
        let redirect_policy = policy.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > redirect_policy.max_redirects {
                let max = redirect_policy.max_redirects;
                return attempt.error(FetchError::TooManyRedirects { max });
            }
            match check_url(attempt.url(), &redirect_policy) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver { lookup, policy: policy.clone() }))
            .no_proxy()
            .redirect(redirects)
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .user_agent(concat!("Quartet/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(tls_config())
            .build()
            .expect("the outbound HTTP client's settings are valid");
        Self { client, policy }
    }

    /// The policy this client follows.
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Fetches `url` under the policy.
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let url = Url::parse(url.trim()).map_err(|_| FetchError::NotAUrl)?;
        check_url(&url, &self.policy)?;
        let seconds = self.timeout_seconds();
        let max_bytes = self.policy.max_bytes;
        let too_large = FetchError::TooLarge { max_mb: max_bytes.div_ceil(1024 * 1024) };
        let exchange = async {
            let mut response = self.client.get(url).send().await.map_err(|e| self.classify(&e))?;
            if !response.status().is_success() {
                return Err(FetchError::Status { status: response.status().as_u16() });
            }
            if response.content_length().is_some_and(|n| n > max_bytes) {
                return Err(too_large.clone());
            }
            let final_url = response.url().clone();
            let content_type =
                response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e))? {
                if bytes.len() as u64 + chunk.len() as u64 > max_bytes {
                    return Err(too_large.clone());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(Fetched { url: final_url, content_type, bytes })
        };
        // The client's own timeout covers the exchange; this one also bounds a slow resolver.
        tokio::time::timeout(self.policy.timeout, exchange).await.unwrap_or(Err(FetchError::Timeout { seconds }))
    }

    /// The timeout in whole seconds, rounded up (for messages).
    fn timeout_seconds(&self) -> u64 {
        u64::try_from(self.policy.timeout.as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
    }

    /// Our own error inside a client error (a refused address, a redirect too many), or what
    /// kind of failure it was.
    fn classify(&self, error: &reqwest::Error) -> FetchError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = source {
            if let Some(ours) = e.downcast_ref::<FetchError>() {
                return ours.clone();
            }
            source = e.source();
        }
        if error.is_timeout() { FetchError::Timeout { seconds: self.timeout_seconds() } } else { FetchError::Network }
    }
}

/// Makes *ring* the process's TLS provider (once; later calls do nothing). Every HTTP client
/// built with `reqwest` needs one, and ring is the provider the rest of the program already
/// compiles (the database, mail and AMQP clients): `quartet` calls this at start, the test kit
/// when it starts a site or a client, and the bench at start.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another provider installed first (by an embedding program) is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// TLS with the ring provider (already compiled for the database and mail) and the Mozilla
/// roots built in, so a fetch does not depend on the machine's certificate store.
fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_and_public_addresses() {
        for refused in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:0a00:0001::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(is_forbidden(refused.parse().unwrap()), "{refused} should be refused");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(!is_forbidden(public.parse().unwrap()), "{public} is public");
        }
    }

    #[test]
    fn urls_are_checked_before_any_request() {
        let policy = FetchPolicy::default();
        let check = |url: &str| check_url(&Url::parse(url).unwrap(), &policy);
        assert_eq!(check("ftp://example.com/a.png"), Err(FetchError::Scheme));
        assert_eq!(check("file:///etc/passwd"), Err(FetchError::Scheme));
        assert_eq!(check("http://user:pw@example.com/a.png"), Err(FetchError::Scheme));
        assert_eq!(check("http://127.0.0.1/a.png"), Err(FetchError::Forbidden { host: "127.0.0.1".into() }));
        assert_eq!(
            check("http://[::ffff:7f00:1]/a.png"),
            Err(FetchError::Forbidden { host: "[::ffff:7f00:1]".into() })
        );
        // Written in decimal or hex, an address is still parsed as one by the URL parser.
        assert_eq!(check("http://2130706433/a.png"), Err(FetchError::Forbidden { host: "127.0.0.1".into() }));
        assert_eq!(check("http://0x7f.1/a.png"), Err(FetchError::Forbidden { host: "127.0.0.1".into() }));
        assert_eq!(check("https://example.com/a.png"), Ok(()));
        let allowed =
            FetchPolicy { allowed_hosts: vec!["127.0.0.1".into(), "Intranet.Local".into()], ..policy.clone() };
        assert_eq!(check_url(&Url::parse("http://127.0.0.1:8000/a.png").unwrap(), &allowed), Ok(()));
        assert!(allowed.allows_host("intranet.local"));
    }
}
