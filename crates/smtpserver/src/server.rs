//! The tokio driver: accepts connections, runs a [`Session`] per connection over TCP or
//! rustls, and passes the session's requests to a [`Backend`].
//!
//! The driver owns the socket and the read buffer and nothing else: it reads, feeds bytes to
//! the session, writes what the session produced, enforces the session's read timeout, does
//! TLS handshakes, and stops at shutdown (idle connections get a 421 at once; a transfer in
//! progress may finish while the caller's drain period lasts).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;

use runtime::Shutdown;

use crate::backend::Backend;
use crate::limits::Limits;
use crate::session::{Action, Service, Session, SessionConfig, TlsInfo};

/// How connection ids appear in Received headers and replies: encrypted, so they do not reveal
/// how many connections the server had (as mox does), while the logs show the plain id
/// ([`runtime::ConnectionId`]). With the installation's `receivedid.key`
/// ([`ConnectionIds::with_key`], what `mox serve` uses) the administrator turns an id back into
/// the logs' cid with `mox cid`; without, a per-process key obfuscates it.
pub struct ConnectionIds {
    key: IdKey,
}

enum IdKey {
    Process(u64),
    Installation(Box<runtime::received_id::ReceivedIdKey>),
}

impl std::fmt::Debug for ConnectionIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.key {
            IdKey::Process(_) => "per-process key",
            IdKey::Installation(_) => "receivedid.key",
        };
        f.debug_struct("ConnectionIds").field("key", &kind).finish()
    }
}

impl ConnectionIds {
    /// A random per-process key.
    pub fn new() -> ConnectionIds {
        let mut seed = [0u8; 8];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed);
        ConnectionIds { key: IdKey::Process(u64::from_le_bytes(seed)) }
    }

    /// Ids encrypted with the installation's key, as mox: `mox cid` decodes them.
    pub fn with_key(key: runtime::received_id::ReceivedIdKey) -> ConnectionIds {
        ConnectionIds { key: IdKey::Installation(Box::new(key)) }
    }

    /// A new connection id and its public form.
    pub fn next(&self) -> (u64, String) {
        let cid = runtime::ConnectionId::next().0;
        let public = match &self.key {
            IdKey::Installation(key) => key.encode(cid),
            IdKey::Process(key) => base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                (cid.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ key).to_be_bytes(),
            ),
        };
        (cid, public)
    }
}

impl Default for ConnectionIds {
    fn default() -> Self {
        ConnectionIds::new()
    }
}

/// One listener's setup.
#[derive(Debug, Clone)]
pub struct ListenerSetup {
    /// Session settings.
    pub config: Arc<SessionConfig>,
    /// TLS for STARTTLS (smtp, submission) or implicit TLS (submissions).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Connection rate and per-network limits (shared between listeners).
    pub limits: Arc<Limits>,
    /// The process-wide limit of connections in total and per IP (shared with IMAP).
    pub connections: Option<Arc<runtime::ConnectionLimiter>>,
    /// Connection ids (shared).
    pub ids: Arc<ConnectionIds>,
}

/// Accepts connections on `listener` until `shutdown`, serving each on its own task (tracked
/// by `shutdown`, so [`runtime::Shutdown::drain`] waits for them).
pub async fn serve<B: Backend>(
    listener: TcpListener,
    setup: ListenerSetup,
    backend: Arc<B>,
    shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, service = setup.config.service.name(), "accept");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let setup = setup.clone();
                let backend = backend.clone();
                let conn_shutdown = shutdown.clone();
                shutdown.spawn_connection(async move {
                    serve_connection(stream, remote, setup, backend, conn_shutdown).await;
                });
            }
            _ = shutdown.wait() => break,
        }
    }
}

/// Serves one connection to its end.
pub async fn serve_connection<B: Backend>(
    stream: TcpStream,
    remote: SocketAddr,
    setup: ListenerSetup,
    backend: Arc<B>,
    shutdown: Shutdown,
) {
    let (cid, received_id) = setup.ids.next();
    let service = setup.config.service;
    let span = tracing::info_span!("smtp", cid = %runtime::ConnectionId(cid), service = service.name(), remote = %remote);
    async move {
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        tracing::info!(local = %local, "new connection");
        let remote_ip = remote.ip().to_canonical();
        let admitted = admit(&setup, &*backend, service, remote_ip);
        let mut conn = Connection { stream: Stream::Plain(stream), buf: Vec::new() };
        let mut tls_info = None;
        if service == Service::Submissions {
            let Some(tls) = &setup.tls else {
                tracing::error!("submissions listener without tls config");
                return;
            };
            match conn.start_tls(tls.clone()).await {
                Ok(info) => tls_info = Some(info),
                Err(e) => {
                    tracing::info!(error = %e, "tls handshake failed");
                    return;
                }
            }
        }
        let mut session = Session::new(
            setup.config.clone(),
            cid,
            received_id,
            remote_ip,
            local.to_canonical(),
            tls_info,
        );
        let _guard = match admitted {
            Ok(guard) => {
                if shutdown.is_triggered() {
                    session.shutting_down();
                } else {
                    session.greet();
                }
                Some(guard)
            }
            Err(reply) => {
                tracing::info!(%reply, "connection refused");
                session.refuse(reply);
                None
            }
        };
        match conn.run(&mut session, &*backend, &setup, shutdown).await {
            Ok(()) => tracing::info!("connection closed"),
            Err(e) => tracing::info!(error = %e, "connection closed"),
        }
    }
    .instrument(span)
    .await
}

/// The places this connection takes in the limits, held until it ends.
type Permits = (crate::limits::ConnectionGuard, Option<runtime::ConnectionPermit>);

fn admit<B: Backend + ?Sized>(
    setup: &ListenerSetup,
    backend: &B,
    service: Service,
    ip: IpAddr,
) -> Result<Permits, crate::Reply> {
    let permit = match &setup.connections {
        Some(limiter) => Some(limiter.try_acquire(ip).map_err(|e| {
            crate::Reply::new(421, crate::Ecode::POL_OTHER, format!("{e}, try again later"))
        })?),
        None => None,
    };
    let guard = setup.limits.connect(ip)?;
    backend.admit(service, ip)?;
    Ok((guard, permit))
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Gone,
}

struct Connection {
    stream: Stream,
    buf: Vec<u8>,
}

/// Read buffer growth step; the buffer is released when a connection goes idle.
const READ_CHUNK: usize = 16 * 1024;

impl Connection {
    async fn run<B: Backend + ?Sized>(
        &mut self,
        session: &mut Session,
        backend: &B,
        setup: &ListenerSetup,
        shutdown: Shutdown,
    ) -> io::Result<()> {
        let mut next: Option<Action> = None;
        let mut start = 0;
        loop {
            let action = match next.take() {
                Some(a) => a,
                None => {
                    let (n, a) = session.handle_input(&self.buf[start..]);
                    start += n;
                    a
                }
            };
            match action {
                Action::NeedInput => {
                    self.flush(session).await?;
                    // Keep the unconsumed tail (an incomplete line) only.
                    self.buf.drain(..start);
                    start = 0;
                    if self.buf.is_empty() && self.buf.capacity() > 0 {
                        // Idle connections should cost little memory.
                        self.buf = Vec::new();
                    }
                    let timeout = session.read_timeout();
                    let idle = session.is_idle();
                    // Biased: an idle connection of a stopping server says goodbye (421)
                    // even when the client's next command is already there to read.
                    let read = tokio::select! {
                        biased;
                        _ = shutdown.wait(), if idle => {
                            session.shutting_down();
                            self.flush(session).await?;
                            return self.close().await;
                        }
                        r = tokio::time::timeout(timeout, self.read_more()) => r,
                    };
                    match read {
                        Err(_) => {
                            session.timed_out();
                            self.flush(session).await?;
                            return self.close().await;
                        }
                        Ok(Ok(0)) => return Ok(()),
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err(e),
                    }
                }
                Action::Flush => self.flush(session).await?,
                Action::Request(request) => {
                    let response = {
                        let txn = session.transaction();
                        backend.handle(session.context(), txn, request).await
                    };
                    next = session.resolve(response);
                }
                Action::StartTls => {
                    self.flush(session).await?;
                    // Anything the client sent after STARTTLS is dropped (the session
                    // already refused pipelined input); the handshake starts clean.
                    self.buf.clear();
                    start = 0;
                    let Some(tls) = setup.tls.clone() else {
                        return Ok(());
                    };
                    match self.start_tls(tls).await {
                        Ok(info) => session.tls_started(info),
                        Err(e) => {
                            tracing::info!(error = %e, "starttls handshake failed");
                            return Ok(());
                        }
                    }
                }
                Action::Close => {
                    self.flush(session).await?;
                    return self.close().await;
                }
            }
        }
    }

    async fn read_more(&mut self) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(READ_CHUNK);
        }
        match &mut self.stream {
            Stream::Plain(s) => s.read_buf(&mut self.buf).await,
            Stream::Tls(s) => s.read_buf(&mut self.buf).await,
            Stream::Gone => Ok(0),
        }
    }

    async fn flush(&mut self, session: &mut Session) -> io::Result<()> {
        if !session.has_output() {
            return Ok(());
        }
        let out = session.take_output();
        let write = async {
            match &mut self.stream {
                Stream::Plain(s) => s.write_all(&out).await,
                Stream::Tls(s) => {
                    s.write_all(&out).await?;
                    s.flush().await
                }
                Stream::Gone => Ok(()),
            }
        };
        match tokio::time::timeout(Duration::from_secs(300), write).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "write timeout")),
        }
    }

    async fn close(&mut self) -> io::Result<()> {
        match &mut self.stream {
            Stream::Plain(s) => {
                let _ = s.shutdown().await;
            }
            Stream::Tls(s) => {
                // A close_notify, without waiting for the peer's.
                let _ = tokio::time::timeout(Duration::from_secs(1), s.shutdown()).await;
            }
            Stream::Gone => {}
        }
        Ok(())
    }

    async fn start_tls(&mut self, config: Arc<rustls::ServerConfig>) -> io::Result<TlsInfo> {
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(io::Error::other("tls already active"));
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let tls = match tokio::time::timeout(Duration::from_secs(60), acceptor.accept(tcp)).await {
            Ok(r) => r?,
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "tls handshake timeout")),
        };
        let info = tls_info(tls.get_ref().1);
        tracing::debug!(version = %info.version, cipher = %info.cipher, sni = ?info.server_name, "tls handshake done");
        self.stream = Stream::Tls(Box::new(tls));
        Ok(info)
    }
}

/// TLS facts for the session, with the tls-exporter channel binding (RFC 9266).
fn tls_info(conn: &rustls::ServerConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => "unknown".to_string(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| s.suite().as_str().unwrap_or("unknown").to_string())
        .unwrap_or_default();
    let mut channel_bindings = Vec::new();
    let mut exporter = [0u8; sasl::TLS_EXPORTER_LENGTH];
    if conn.export_keying_material(&mut exporter[..], sasl::TLS_EXPORTER_LABEL, None).is_ok() {
        channel_bindings.push(sasl::ChannelBinding::tls_exporter(exporter.to_vec()));
    }
    TlsInfo {
        version,
        cipher,
        server_name: conn.server_name().map(str::to_string),
        channel_bindings,
    }
}
