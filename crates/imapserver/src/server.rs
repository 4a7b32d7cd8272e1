//! The tokio driver: accepts connections (plain with STARTTLS, or implicit TLS), moves bytes
//! between the socket and a [`Session`], feeds it the account's change notifications, and
//! applies timeouts, connection limits and graceful shutdown.
//!
//! The session calls the store, which blocks on disk I/O, so it runs on tokio's blocking
//! threads; between commands a connection holds no thread, only its task: an idle
//! connection costs its socket, its TLS state and a few small buffers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tracing::Instrument;

use crate::compress::Deflate;
use crate::session::{Action, Config, ConnectionInfo, Session};

/// How a listener serves IMAP.
#[derive(Clone)]
pub struct ListenerConfig {
    /// The sessions' configuration.
    pub session: Arc<Config>,
    /// TLS certificates: for implicit TLS, or offered with STARTTLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// TLS from the first byte (port 993) rather than STARTTLS (port 143).
    pub implicit_tls: bool,
    /// Connections served at once; more wait for a slot.
    pub max_connections: usize,
    /// Idle time allowed before login.
    pub preauth_timeout: Duration,
    /// Idle time allowed once logged in (RFC 9051 §5.4: at least 30 minutes).
    pub idle_timeout: Duration,
    /// Time allowed for writing a response to a client that does not read.
    pub write_timeout: Duration,
    /// Gives each connection its id (in the `cid` field of its tracing span); a server with
    /// several protocols passes its shared counter.
    pub connection_id: fn() -> u64,
}

impl std::fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerConfig")
            .field("implicit_tls", &self.implicit_tls)
            .field("tls", &self.tls.is_some())
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl ListenerConfig {
    /// A listener with default limits: 10,000 connections, 60 s before login, 30 minutes
    /// after, 5 minutes per write.
    pub fn new(
        session: Arc<Config>,
        tls: Option<Arc<rustls::ServerConfig>>,
        implicit_tls: bool,
    ) -> Self {
        ListenerConfig {
            session,
            tls,
            implicit_tls,
            max_connections: 10_000,
            preauth_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            write_timeout: Duration::from_secs(5 * 60),
            connection_id: next_connection_id,
        }
    }
}

static CONNECTION_IDS: AtomicU64 = AtomicU64::new(1);

/// The default connection ids: 1, 2, 3, ... per process.
pub fn next_connection_id() -> u64 {
    CONNECTION_IDS.fetch_add(1, Ordering::Relaxed)
}

/// Serves connections from `listener` until `shutdown` becomes true; then asks every session
/// to log out (`* BYE`) and waits for them to finish.
pub async fn serve(
    listener: TcpListener,
    config: Arc<ListenerConfig>,
    shutdown: watch::Receiver<bool>,
) {
    let tasks = Arc::new(std::sync::Mutex::new(tokio::task::JoinSet::new()));
    let spawner = {
        let tasks = tasks.clone();
        move |f: ConnectionFuture| {
            let mut t = tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Reap finished connections so the set does not grow.
            while t.try_join_next().is_some() {}
            t.spawn(f);
        }
    };
    serve_with(listener, config, shutdown, spawner).await;
    let mut set =
        std::mem::take(&mut *tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    while set.join_next().await.is_some() {}
}

/// A connection's task, for [`serve_with`]'s spawner.
pub type ConnectionFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Like [`serve`], with connections handed to `spawn` (a server that tracks its connections
/// for a drain on shutdown spawns them itself); returns when `shutdown` becomes true, without
/// waiting for the connections, which see the same signal and log out.
pub async fn serve_with(
    listener: TcpListener,
    config: Arc<ListenerConfig>,
    mut shutdown: watch::Receiver<bool>,
    spawn: impl Fn(ConnectionFuture),
) {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let (stream, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accepting connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let cid = (config.connection_id)();
        let config = config.clone();
        let shutdown = shutdown.clone();
        let span = tracing::info_span!("imap", cid = %format_args!("{cid:x}"), remote = %remote);
        spawn(Box::pin(
            async move {
                handle(stream, remote, config, shutdown).await;
                drop(permit);
            }
            .instrument(span),
        ));
    }
}

/// The bytes of a connection: plain TCP, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// While the plain stream is handed to the TLS handshake.
    Upgrading,
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            Stream::Upgrading => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(data).await,
            Stream::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            Stream::Upgrading => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

/// Serves one connection.
pub async fn handle(
    tcp: TcpStream,
    remote: SocketAddr,
    config: Arc<ListenerConfig>,
    shutdown: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let mut info = ConnectionInfo {
        remote_ip: remote.ip(),
        tls: false,
        starttls_available: config.tls.is_some() && !config.implicit_tls,
        channel_bindings: Vec::new(),
    };
    let stream = if config.implicit_tls {
        let Some(tls) = &config.tls else {
            tracing::error!("implicit TLS listener without certificates");
            return;
        };
        match tls_handshake(tcp, tls.clone(), config.preauth_timeout).await {
            Some((s, bindings)) => {
                info.tls = true;
                info.channel_bindings = bindings;
                Stream::Tls(s)
            }
            None => return,
        }
    } else {
        Stream::Plain(tcp)
    };
    tracing::debug!(tls = info.tls, "connection");
    let session = Session::new(config.session.clone(), info);
    Connection { stream, session: Some(session), config, shutdown, deflate: None, watch: None }
        .run()
        .await;
}

async fn tls_handshake(
    tcp: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    timeout: Duration,
) -> Option<(Box<tokio_rustls::server::TlsStream<TcpStream>>, Vec<sasl::ChannelBinding>)> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => {
            let mut km = vec![0u8; sasl::TLS_EXPORTER_LENGTH];
            let (_, conn) = s.get_ref();
            let bindings =
                match conn.export_keying_material(&mut km, sasl::TLS_EXPORTER_LABEL, None) {
                    Ok(_) => vec![sasl::ChannelBinding::tls_exporter(km)],
                    Err(_) => Vec::new(),
                };
            Some((Box::new(s), bindings))
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

struct Connection {
    stream: Stream,
    /// Out while a blocking thread runs it.
    session: Option<Session>,
    config: Arc<ListenerConfig>,
    shutdown: watch::Receiver<bool>,
    deflate: Option<Box<Deflate>>,
    watch: Option<store::ChangeReceiver>,
}

/// Read buffer size: enough for a typical command in one read.
const READ_SIZE: usize = 4096;

impl Connection {
    async fn run(mut self) {
        if let Some(s) = self.session.as_mut() {
            s.greeting();
        }
        if self.flush().await.is_err() {
            return;
        }
        let mut buf = Vec::new();
        loop {
            let authenticated = self.session.as_ref().is_some_and(|s| s.account().is_some());
            if authenticated && self.watch.is_none() {
                self.watch = self.session.as_ref().and_then(|s| s.account()).map(|a| a.watch());
            }
            let timeout =
                if authenticated { self.config.idle_timeout } else { self.config.preauth_timeout };
            // The read buffer exists only while reading: idle connections keep none around
            // between commands (see the memory figures in bench/imap).
            if buf.capacity() == 0 {
                buf = vec![0u8; READ_SIZE];
            }
            let event = tokio::select! {
                r = self.stream.read(&mut buf) => Event::Read(r),
                c = next_change(&mut self.watch) => Event::Change(c),
                _ = tokio::time::sleep(timeout) => Event::Timeout,
                _ = self.shutdown.wait_for(|s| *s) => Event::Shutdown,
            };
            let action = match event {
                Event::Read(Ok(0)) | Event::Read(Err(_)) => break,
                Event::Read(Ok(n)) => {
                    let mut data = buf[..n].to_vec();
                    if let Some(d) = &mut self.deflate {
                        let mut plain = Vec::new();
                        if d.decompress(&data, &mut plain).is_err() {
                            tracing::info!("invalid compressed data from client");
                            break;
                        }
                        data = plain;
                    }
                    if self.session.as_ref().is_some_and(Session::is_quiet) && n < buf.len() {
                        // Release the read buffer while the connection waits.
                        buf = Vec::new();
                    }
                    match self.session.as_mut() {
                        // Memory and database reads only (see session::quick): answered here,
                        // without the two thread wake-ups of a blocking thread.
                        Some(s) if s.answers_quickly(&data) => Some(s.input(&data)),
                        _ => self.blocking(move |s| s.input(&data)).await,
                    }
                }
                Event::Change(Some(changes)) => {
                    let Some(s) = self.session.as_mut() else { break };
                    if !s.changes(&changes) {
                        continue;
                    }
                    self.blocking(|s| s.flush_changes()).await
                }
                Event::Change(None) => {
                    self.watch = None;
                    continue;
                }
                Event::Timeout => {
                    if let Some(s) = self.session.as_mut() {
                        s.timeout();
                    }
                    let _ = self.flush().await;
                    break;
                }
                Event::Shutdown => {
                    if let Some(s) = self.session.as_mut() {
                        s.shutdown();
                    }
                    let _ = self.flush().await;
                    break;
                }
            };
            let Some(action) = action else { break };
            if !self.act(action).await {
                break;
            }
        }
        if let Some(s) = &self.session
            && let Some(u) = s.username()
        {
            tracing::debug!(username = u, "connection closed");
        }
    }

    /// Runs `f` on the session on a blocking thread.
    async fn blocking(
        &mut self,
        f: impl FnOnce(&mut Session) -> Action + Send + 'static,
    ) -> Option<Action> {
        let mut s = self.session.take()?;
        match tokio::task::spawn_blocking(move || {
            let a = f(&mut s);
            (s, a)
        })
        .await
        {
            Ok((s, a)) => {
                self.session = Some(s);
                Some(a)
            }
            Err(e) => {
                tracing::error!(error = %e, "session panicked");
                None
            }
        }
    }

    /// Writes output and carries out actions until the session waits for input.
    async fn act(&mut self, mut action: Action) -> bool {
        loop {
            if self.flush().await.is_err() {
                return false;
            }
            match action {
                Action::Read => return true,
                Action::Close => return false,
                Action::Continue => match self.blocking(|s| s.resume()).await {
                    Some(a) => action = a,
                    None => return false,
                },
                Action::StartTls => {
                    let Some(tls) = self.config.tls.clone() else { return false };
                    let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Upgrading)
                    else {
                        return false;
                    };
                    let Some((s, bindings)) =
                        tls_handshake(tcp, tls, self.config.preauth_timeout).await
                    else {
                        return false;
                    };
                    self.stream = Stream::Tls(s);
                    if let Some(sess) = self.session.as_mut() {
                        sess.tls_established(bindings);
                    }
                    action = Action::Read;
                }
                Action::StartCompression => {
                    self.deflate = Some(Box::new(Deflate::new()));
                    action = match self.blocking(|s| s.resume()).await {
                        Some(a) => a,
                        None => return false,
                    };
                }
            }
        }
    }

    /// Writes what the session produced (after its login-failure delay, if any).
    async fn flush(&mut self) -> Result<(), ()> {
        let Some(s) = self.session.as_mut() else { return Err(()) };
        let delay = s.take_delay();
        if !s.has_output() {
            return Ok(());
        }
        let out = s.take_output();
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        let data = match &mut self.deflate {
            Some(d) => {
                let mut c = Vec::with_capacity(out.len() / 2 + 64);
                d.compress(&out, &mut c);
                c
            }
            None => out,
        };
        match tokio::time::timeout(self.config.write_timeout, self.stream.write_all(&data)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "write failed");
                Err(())
            }
            Err(_) => {
                tracing::info!("write timed out: client does not read");
                Err(())
            }
        }
    }
}

enum Event {
    Read(std::io::Result<usize>),
    Change(Option<std::sync::Arc<store::Changes>>),
    Timeout,
    Shutdown,
}

async fn next_change(
    w: &mut Option<store::ChangeReceiver>,
) -> Option<std::sync::Arc<store::Changes>> {
    match w {
        Some(w) => w.recv().await,
        None => std::future::pending().await,
    }
}
