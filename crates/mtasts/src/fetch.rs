//! Fetching a policy over HTTPS (RFC 8461 §3.3): hyper (HTTP/1.1) over rustls.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use dns::{Domain, Resolver};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::header;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::{Error, Policy};

/// The path of the policy on the policy host (RFC 8461 §3.2).
pub const WELL_KNOWN_PATH: &str = "/.well-known/mta-sts.txt";
/// The default limit on the policy size, the 64 KiB RFC 8461 §3.3 suggests.
pub const DEFAULT_MAX_SIZE: usize = 64 * 1024;
/// The default limit on the time a whole fetch may take, the one minute RFC 8461 §3.3 suggests.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Opens the TCP connection to a policy host. [`DnsConnector`] resolves the host with the
/// [`Resolver`] given to [`Fetcher::fetch`] and connects to port 443; tests and diagnostics use
/// [`FixedConnector`] to reach a server elsewhere while TLS still verifies the policy host's name.
#[dns::async_trait]
pub trait Connector: Send + Sync + fmt::Debug {
    /// Connects to `host` (`mta-sts.<domain>`).
    async fn connect(&self, resolver: &dyn Resolver, host: &Domain) -> Result<TcpStream, Error>;
}

/// Resolves the policy host's IPv4 and IPv6 addresses and tries them in turn on a port (443 by
/// default), giving each address at most [`CONNECT_TIMEOUT`] so one unreachable address does not
/// use up the whole fetch timeout. A policy host that does not exist in DNS gives
/// [`Error::PolicyHostLookup`] with a not-found lookup error: the domain serves no policy.
#[derive(Debug, Clone)]
pub struct DnsConnector {
    port: u16,
}

/// How long [`DnsConnector`] waits for one address to accept the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl DnsConnector {
    /// Connects to port 443.
    pub fn new() -> DnsConnector {
        DnsConnector { port: 443 }
    }

    /// Connects to `port` instead of 443.
    pub fn with_port(port: u16) -> DnsConnector {
        DnsConnector { port }
    }
}

impl Default for DnsConnector {
    fn default() -> Self {
        DnsConnector::new()
    }
}

#[dns::async_trait]
impl Connector for DnsConnector {
    async fn connect(&self, resolver: &dyn Resolver, host: &Domain) -> Result<TcpStream, Error> {
        let ips = resolver
            .lookup_ip(host)
            .await
            .map_err(|source| Error::PolicyHostLookup { host: host.clone(), source })?;
        let mut last_error = None;
        for ip in ips.records {
            let attempt = tokio::time::timeout(
                CONNECT_TIMEOUT,
                TcpStream::connect(SocketAddr::new(ip, self.port)),
            );
            let result = attempt.await.unwrap_or_else(|_| {
                Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "connection timed out"))
            });
            match result {
                Ok(stream) => return Ok(stream),
                Err(e) => {
                    tracing::debug!(%host, %ip, error = %e, "mtasts: connecting to policy host");
                    last_error = Some((ip, e));
                }
            }
        }
        let (ip, source) = last_error.unwrap_or((
            IpAddr::from([0, 0, 0, 0]),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
        ));
        Err(Error::Connect { host: host.clone(), address: SocketAddr::new(ip, self.port), source })
    }
}

/// Connects every policy host to one fixed address, without DNS: for tests with a loopback HTTPS
/// server, and for checking a policy server before it is in DNS. TLS still verifies that the
/// certificate is valid for `mta-sts.<domain>`.
#[derive(Debug, Clone, Copy)]
pub struct FixedConnector {
    address: SocketAddr,
}

impl FixedConnector {
    /// Connects to `address`, whatever the host.
    pub fn new(address: SocketAddr) -> FixedConnector {
        FixedConnector { address }
    }
}

#[dns::async_trait]
impl Connector for FixedConnector {
    async fn connect(&self, _resolver: &dyn Resolver, host: &Domain) -> Result<TcpStream, Error> {
        TcpStream::connect(self.address).await.map_err(|source| Error::Connect {
            host: host.clone(),
            address: self.address,
            source,
        })
    }
}

/// Fetches policies from `https://mta-sts.<domain>/.well-known/mta-sts.txt` (RFC 8461 §3.3).
///
/// The certificate must chain to a trusted root (by default the Mozilla roots of the
/// `webpki-roots` crate) and be valid for `mta-sts.<domain>`; the status must be 200 (redirects
/// are not followed); the content type must be `text/plain`; the body may not be larger than a
/// limit (64 KiB), and the whole fetch, from DNS to the last byte, may not take longer than a
/// timeout (one minute). No HTTP caching is done.
#[derive(Clone)]
pub struct Fetcher {
    tls: Arc<ClientConfig>,
    connector: Arc<dyn Connector>,
    timeout: Duration,
    max_size: usize,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("connector", &self.connector)
            .field("timeout", &self.timeout)
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

impl Default for Fetcher {
    fn default() -> Self {
        Fetcher::new()
    }
}

impl Fetcher {
    /// A fetcher trusting the Mozilla root certificates, connecting with [`DnsConnector`], with
    /// the default timeout and size limit.
    pub fn new() -> Fetcher {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Fetcher {
            tls: Arc::new(client_config(roots)),
            connector: Arc::new(DnsConnector::new()),
            timeout: DEFAULT_TIMEOUT,
            max_size: DEFAULT_MAX_SIZE,
        }
    }

    /// Trusts `roots` instead of the Mozilla roots.
    pub fn with_roots(mut self, roots: RootCertStore) -> Fetcher {
        self.tls = Arc::new(client_config(roots));
        self
    }

    /// Connects with `connector`.
    pub fn with_connector(mut self, connector: impl Connector + 'static) -> Fetcher {
        self.connector = Arc::new(connector);
        self
    }

    /// Limits a whole fetch to `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Fetcher {
        self.timeout = timeout;
        self
    }

    /// Limits the policy to `max_size` bytes.
    pub fn with_max_size(mut self, max_size: usize) -> Fetcher {
        self.max_size = max_size;
        self
    }

    /// Fetches and parses the policy of `domain`. Use [`fetch_text`](Fetcher::fetch_text) to also
    /// have the text of a policy that does not parse (TLSRPT reports include it).
    pub async fn fetch(&self, resolver: &dyn Resolver, domain: &Domain) -> Result<Policy, Error> {
        Policy::parse(&self.fetch_text(resolver, domain).await?)
    }

    /// Fetches the policy text of `domain`, checking everything but its syntax.
    pub async fn fetch_text(
        &self,
        resolver: &dyn Resolver,
        domain: &Domain,
    ) -> Result<String, Error> {
        let host = domain
            .with_prefix("mta-sts")
            .map_err(|source| Error::PolicyHostName { domain: domain.clone(), source })?;
        let started = std::time::Instant::now();
        let result =
            match tokio::time::timeout(self.timeout, self.fetch_host(resolver, &host)).await {
                Ok(result) => result,
                Err(_) => Err(Error::Timeout { host: host.clone(), timeout: self.timeout }),
            };
        match &result {
            Ok(text) => {
                tracing::debug!(%host, bytes = text.len(), elapsed = ?started.elapsed(), "mtasts: fetched policy")
            }
            Err(e) => {
                tracing::debug!(%host, error = %e, elapsed = ?started.elapsed(), "mtasts: fetching policy failed")
            }
        }
        result
    }

    async fn fetch_host(&self, resolver: &dyn Resolver, host: &Domain) -> Result<String, Error> {
        let tcp = self.connector.connect(resolver, host).await?;
        let server_name = ServerName::try_from(host.ascii().to_string())
            .map_err(|_| Error::InvalidHostName { host: host.clone() })?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(server_name, tcp)
            .await
            .map_err(|source| Error::Tls { host: host.clone(), source })?;
        let http = |source| Error::Http { host: host.clone(), source };
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(http)?;
        // The connection task ends with the response (Connection: close), or is aborted when
        // this function returns early.
        let connection = AbortOnDrop(tokio::spawn(connection));

        let request = hyper::Request::get(WELL_KNOWN_PATH)
            .header(header::HOST, host.ascii())
            .header(header::USER_AGENT, concat!("mox-rs-mtasts/", env!("CARGO_PKG_VERSION")))
            .header(header::ACCEPT, "text/plain")
            .header(header::CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|_| Error::InvalidHostName { host: host.clone() })?;
        let response = sender.send_request(request).await.map_err(http)?;

        let status = response.status();
        if status.is_redirection() {
            // RFC 8461 §3.3: redirects MUST NOT be followed.
            let location = header_text(response.headers(), header::LOCATION);
            return Err(Error::Redirect { host: host.clone(), status: status.as_u16(), location });
        }
        if status != hyper::StatusCode::OK {
            return Err(Error::HttpStatus { host: host.clone(), status: status.as_u16() });
        }
        let content_type = header_text(response.headers(), header::CONTENT_TYPE);
        let is_text_plain = content_type.as_deref().is_some_and(|ct| {
            ct.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain"))
        });
        if !is_text_plain {
            return Err(Error::ContentType { host: host.clone(), content_type });
        }
        let too_large = || Error::PolicyTooLarge { host: host.clone(), limit: self.max_size };
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_size as u64) {
            return Err(too_large());
        }
        let body =
            Limited::new(response.into_body(), self.max_size).collect().await.map_err(|e| {
                match e.downcast::<hyper::Error>() {
                    Ok(e) => http(*e),
                    Err(_) => too_large(),
                }
            })?;
        drop(connection);
        String::from_utf8(body.to_bytes().to_vec()).map_err(|e| Error::PolicyNotUtf8 {
            host: host.clone(),
            position: e.utf8_error().valid_up_to(),
        })
    }
}

fn client_config(roots: RootCertStore) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    #[allow(clippy::expect_used)]
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

fn header_text(headers: &hyper::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
