//! A certificate authority for tests, and a loopback HTTPS server answering with canned bytes.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A certificate authority made for one test (rcgen, ECDSA P-256): trust its
/// [`roots`](TestCa::roots) in the client under test and serve its [`server_config`]s.
///
/// [`server_config`]: TestCa::server_config
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A certificate's validity for [`TestCa::server_config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Valid now (rcgen's default, 1975 to 4096).
    Current,
    /// Valid in 2020 only: expired.
    Expired,
}

impl TestCa {
    /// A new CA with a new key.
    pub fn new() -> Result<TestCa, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(rcgen::DnType::CommonName, "mox-rs test CA");
        Ok(TestCa { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate()?)? })
    }

    /// Trust roots holding only this CA.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        // A certificate rcgen just made always parses.
        let _ = roots.add(self.issuer.der().clone());
        roots
    }

    /// The CA certificate in PEM, for peers that read a file.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for the DNS names `names` (wildcards allowed), signed by this CA, with its
    /// key.
    pub fn certificate(
        &self,
        names: &[&str],
        validity: Validity,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        if validity == Validity::Expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.issuer)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((vec![cert.der().clone()], key))
    }

    /// A rustls server configuration (ring) presenting a certificate for `names`.
    pub fn server_config(&self, names: &[&str], validity: Validity) -> io::Result<ServerConfig> {
        let (chain, key) = self.certificate(names, validity).map_err(io::Error::other)?;
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(io::Error::other)
    }
}

type Respond = Arc<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;

/// An HTTPS server on 127.0.0.1 (a free port) that answers each request with the bytes its
/// responder returns for the request head (`None`: never answer, to test timeouts), then closes
/// the connection. It keeps the request heads it received. It stops when dropped.
///
/// The responder writes raw HTTP, so tests can send what a real server would not; build common
/// responses with [`http_response`].
#[derive(Debug)]
pub struct HttpsTestServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpsTestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpsTestServer {
    /// Starts the server in the current tokio runtime.
    pub async fn start(
        config: ServerConfig,
        respond: impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> io::Result<HttpsTestServer> {
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Respond = Arc::new(respond);
        let log = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (acceptor, respond, log) = (acceptor.clone(), respond.clone(), log.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    lock(&log).push(head.clone());
                    match respond(&head) {
                        Some(response) => {
                            let _ = tls.write_all(&response).await;
                            let _ = tls.shutdown().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                });
            }
        });
        Ok(HttpsTestServer { addr, requests, task })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The heads (request line and header fields) of the requests received so far.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.requests).clone()
    }
}

/// An HTTP/1.1 response with `status` (such as `"200 OK"`), a `Content-Type` if given, a
/// `Content-Length`, and `body`.
pub fn http_response(status: &str, content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    response
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
