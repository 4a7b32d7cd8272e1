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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::Instrument;

use crate::backend::Backend;
use crate::limits::Limits;
use crate::session::{Action, Service, Session, SessionConfig, TlsInfo};

/// A shutdown signal: cloned into every connection; [`ShutdownTrigger::trigger`] fires it.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// Fires a [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    /// A signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// Resolves when shutdown was triggered (or the trigger dropped).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }

    /// Whether shutdown was triggered.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }
}

impl ShutdownTrigger {
    /// Starts the shutdown.
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

/// Connection ids: a process-wide counter, and how they appear in Received headers and
/// replies.
#[derive(Debug)]
pub struct ConnectionIds {
    next: AtomicU64,
    /// XORed into the counter so ids do not reveal how many connections we had.
    key: u64,
}

impl ConnectionIds {
    /// A counter starting at a random value.
    pub fn new() -> ConnectionIds {
        let mut seed = [0u8; 16];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed);
        let start = u64::from_le_bytes(seed[..8].try_into().unwrap_or_default()) >> 16;
        let key = u64::from_le_bytes(seed[8..].try_into().unwrap_or_default());
        ConnectionIds { next: AtomicU64::new(start), key }
    }

    /// A new connection id and its public form.
    pub fn next(&self) -> (u64, String) {
        let cid = self.next.fetch_add(1, Ordering::Relaxed);
        let public = cid.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.key;
        (
            cid,
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                public.to_be_bytes(),
            ),
        )
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
    /// Connection limits (shared between listeners).
    pub limits: Arc<Limits>,
    /// Connection ids (shared).
    pub ids: Arc<ConnectionIds>,
}

/// Accepts connections on `listener` until `shutdown`, serving each on its own task. Returns
/// after shutdown once all connections ended.
pub async fn serve<B: Backend>(
    listener: TcpListener,
    setup: ListenerSetup,
    backend: Arc<B>,
    mut shutdown: Shutdown,
) {
    let mut tasks = tokio::task::JoinSet::new();
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
                let shutdown = shutdown.clone();
                tasks.spawn(async move {
                    serve_connection(stream, remote, setup, backend, shutdown).await;
                });
            }
            _ = shutdown.wait() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
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
    let span = tracing::info_span!("smtp", cid, service = service.name(), remote = %remote);
    async move {
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        tracing::info!(local = %local, "new connection");
        let remote_ip = remote.ip().to_canonical();
        let admitted = setup
            .limits
            .connect(remote_ip)
            .and_then(|guard| backend.admit(service, remote_ip).map(|()| guard));
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
        mut shutdown: Shutdown,
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
                    let read = tokio::select! {
                        r = tokio::time::timeout(timeout, self.read_more()) => r,
                        _ = shutdown.wait(), if idle => {
                            session.shutting_down();
                            self.flush(session).await?;
                            return self.close().await;
                        }
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
