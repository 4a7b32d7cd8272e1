//! The tokio driver: owns the socket and the read buffer, and does what the [`Session`] says.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tracing::{debug, trace};

use crate::capabilities::Capabilities;
use crate::dotstuff::DotStuffer;
use crate::error::{Error, Phase};
use crate::reply::{Reply, parse_reply};
use crate::session::{Action, Delivery, Envelope, Outgoing, Session, SessionConfig};

/// Everything needed to set up a session.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Protocol settings: EHLO name, TLS mode, authentication, timeouts.
    pub session: SessionConfig,
    /// The rustls configuration, see [`client_config`](crate::tls::client_config): it carries
    /// the certificate verification policy.
    pub tls: Arc<rustls::ClientConfig>,
    /// The server's name, for SNI and certificate verification.
    pub server_name: ServerName<'static>,
}

/// An established SMTP client session over a stream (TCP, or anything else that reads and
/// writes).
///
/// ```no_run
/// use smtpclient::{Client, ClientOptions, Envelope, SessionConfig, TlsMode, TlsVerification};
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let options = ClientOptions {
///     session: SessionConfig {
///         hostname: dns::Domain::parse("client.example.org")?,
///         tls: TlsMode::StartTls,
///         auth: None,
///         timeouts: Default::default(),
///     },
///     tls: smtpclient::tls::client_config(&TlsVerification::WebPki, None)?,
///     server_name: smtpclient::tls::server_name("mail.example.org")?,
/// };
/// let mut client = Client::connect("mail.example.org", 587, options).await?;
/// let envelope = Envelope::new(Some("me@example.org".parse()?), vec!["you@example.org".parse()?]);
/// let delivery = client.deliver(&envelope, &b"Subject: hi\r\n\r\nhello\r\n"[..]).await?;
/// assert!(delivery.all_delivered());
/// client.quit().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Client<S> {
    stream: Stream<S>,
    buffer: Vec<u8>,
    session: Session,
    tls: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
}

#[derive(Debug)]
enum Stream<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
    /// During the TLS handshake, and after it failed.
    Gone,
}

impl Client<TcpStream> {
    /// Connects to `host:port` (within the connect timeout) and sets up the session.
    pub async fn connect(host: &str, port: u16, options: ClientOptions) -> Result<Self, Error> {
        let timeout = options.session.timeouts.connect;
        let connecting = TcpStream::connect((host, port));
        let stream = match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => return Err(Error::Io { during: Phase::Connect, source }),
            Err(_) => return Err(Error::Timeout { during: Phase::Connect, after: timeout }),
        };
        // Commands are small and replies awaited: Nagle would only add latency.
        let _ = stream.set_nodelay(true);
        Client::establish(stream, options).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Client<S> {
    /// Sets up the session on a connected stream: greeting, EHLO (or HELO), STARTTLS or
    /// implicit TLS, AUTH.
    pub async fn establish(stream: S, options: ClientOptions) -> Result<Self, Error> {
        let mut client = Client {
            stream: Stream::Plain(stream),
            buffer: Vec::new(),
            session: Session::new(options.session),
            tls: options.tls,
            server_name: options.server_name,
        };
        let span = tracing::debug_span!("smtpclient", server = ?client.server_name);
        let _guard = span.enter();
        let start = client.session.start();
        match client.drive(start).await? {
            Action::Ready => {
                debug!(tls = client.session.is_tls(), "session ready");
                Ok(client)
            }
            _ => Err(Error::OutOfOrder("session setup ended unexpectedly")),
        }
    }

    /// The server's extensions.
    pub fn capabilities(&self) -> &Capabilities {
        self.session.capabilities()
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.session.is_tls()
    }

    /// The negotiated TLS version, if TLS is active.
    pub fn tls_version(&self) -> Option<rustls::ProtocolVersion> {
        match &self.stream {
            Stream::Tls(tls) => tls.get_ref().1.protocol_version(),
            _ => None,
        }
    }

    /// Delivers one message: MAIL, RCPT for each recipient, DATA with the message streamed
    /// from `message` (dot-stuffed, bare line endings repaired). Returns per-recipient results
    /// when the protocol worked (a refused recipient is a result, not an error); errors are for
    /// connection failures, timeouts, malformed replies and refused prerequisites, after which
    /// the session is unusable.
    pub async fn deliver<R: AsyncRead + Unpin>(
        &mut self,
        envelope: &Envelope,
        mut message: R,
    ) -> Result<Delivery, Error> {
        let commands = self.session.begin(envelope)?;
        let mut action = Action::Send(commands);
        loop {
            match self.drive(action).await? {
                Action::SendMessage => {
                    self.send_message(&mut message).await?;
                    action = Action::AwaitReply;
                }
                Action::Delivered(delivery) => {
                    debug!(
                        delivered = delivery.recipients.iter().filter(|r| r.delivered).count(),
                        failed = delivery.failed().count(),
                        data = ?delivery.data,
                        "transaction done"
                    );
                    return Ok(delivery);
                }
                _ => return Err(Error::OutOfOrder("transaction ended unexpectedly")),
            }
        }
    }

    /// Authenticates on a session established without [`SessionConfig::auth`], with the
    /// mechanism the caller chose after looking at [`capabilities`](Client::capabilities) (see
    /// [`Session::authenticate`]). An error leaves the session unusable.
    pub async fn authenticate(&mut self, auth: crate::session::AuthConfig) -> Result<(), Error> {
        let action = self.session.authenticate(auth)?;
        match self.drive(action).await? {
            Action::Ready => Ok(()),
            _ => Err(Error::OutOfOrder("authentication ended unexpectedly")),
        }
    }

    /// Ends the session politely: QUIT, its reply, closing the stream.
    pub async fn quit(mut self) -> Result<(), Error> {
        let quit = self.session.quit();
        self.write(&quit, self.session.config().timeouts.quit, Phase::Quit).await?;
        // The reply does not matter; a server that closes right away is fine.
        let _ = self.read_reply().await;
        let timeout = self.session.config().timeouts.quit;
        let _ = match &mut self.stream {
            Stream::Plain(s) => tokio::time::timeout(timeout, s.shutdown()).await,
            Stream::Tls(s) => tokio::time::timeout(timeout, s.shutdown()).await,
            Stream::Gone => Ok(Ok(())),
        };
        Ok(())
    }

    /// Runs the session's actions until it needs the caller.
    async fn drive(&mut self, mut action: Action) -> Result<Action, Error> {
        loop {
            action = match action {
                Action::Send(outgoing) => {
                    self.write(
                        &outgoing,
                        self.session.config().timeouts.command,
                        self.session.phase(),
                    )
                    .await?;
                    Action::AwaitReply
                }
                Action::AwaitReply => {
                    let reply = self.read_reply().await?;
                    self.session.on_reply(reply)?
                }
                Action::StartTls => {
                    let binding = self.start_tls().await?;
                    self.session.tls_established(binding)
                }
                done @ (Action::Ready | Action::SendMessage | Action::Delivered(_)) => {
                    return Ok(done);
                }
            };
        }
    }

    async fn write(
        &mut self,
        outgoing: &Outgoing,
        timeout: Duration,
        during: Phase,
    ) -> Result<(), Error> {
        if tracing::enabled!(tracing::Level::TRACE) {
            let text = String::from_utf8_lossy(&outgoing.bytes);
            if outgoing.secret {
                trace!(target: "traceauth::smtpclient", "C: {}", text.trim_end());
                trace!(
                    "C: {} (credentials logged at traceauth level)",
                    text.split(' ').take(2).collect::<Vec<_>>().join(" ").trim_end()
                );
            } else {
                for line in text.lines() {
                    trace!("C: {line}");
                }
            }
        }
        self.write_bytes(&outgoing.bytes, timeout, during).await
    }

    async fn write_bytes(
        &mut self,
        bytes: &[u8],
        timeout: Duration,
        during: Phase,
    ) -> Result<(), Error> {
        let writing = async {
            match &mut self.stream {
                Stream::Plain(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Stream::Tls(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Stream::Gone => Err(std::io::Error::from(std::io::ErrorKind::NotConnected)),
            }
        };
        match tokio::time::timeout(timeout, writing).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(Error::Io { during, source }),
            Err(_) => Err(Error::Timeout { during, after: timeout }),
        }
    }

    async fn read_reply(&mut self) -> Result<Reply, Error> {
        let during = self.session.phase();
        let timeout = self.session.reply_timeout();
        let reading = async {
            loop {
                match parse_reply(&self.buffer) {
                    Ok(Some((reply, consumed))) => {
                        self.buffer.drain(..consumed);
                        return Ok(reply);
                    }
                    Ok(None) => {}
                    Err(source) => return Err(Error::MalformedReply { during, source }),
                }
                let mut chunk = [0u8; 4096];
                let n = match &mut self.stream {
                    Stream::Plain(s) => s.read(&mut chunk).await,
                    Stream::Tls(s) => s.read(&mut chunk).await,
                    Stream::Gone => Ok(0),
                }
                .map_err(|source| Error::Io { during, source })?;
                if n == 0 {
                    return Err(Error::ConnectionClosed {
                        during,
                        mid_reply: !self.buffer.is_empty(),
                    });
                }
                self.buffer.extend_from_slice(&chunk[..n]);
            }
        };
        let reply = match tokio::time::timeout(timeout, reading).await {
            Ok(result) => result?,
            Err(_) => return Err(Error::Timeout { during, after: timeout }),
        };
        if during == Phase::Auth {
            trace!(target: "traceauth::smtpclient", "S: {reply}");
            trace!("S: {} (AUTH exchange logged at traceauth level)", reply.code());
        } else {
            trace!("S: {reply}");
        }
        Ok(reply)
    }

    async fn start_tls(&mut self) -> Result<Option<sasl::ChannelBinding>, Error> {
        // Bytes already received would be read as if they came over TLS: an attacker injected
        // them before the handshake (RFC 3207 §4.1 and the 2011 STARTTLS command injection).
        if !self.buffer.is_empty() {
            return Err(Error::DataAfterStartTls);
        }
        let Stream::Plain(stream) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(Error::OutOfOrder("TLS requested on a TLS connection"));
        };
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let timeout = self.session.config().timeouts.command;
        let tls = match tokio::time::timeout(
            timeout,
            connector.connect(self.server_name.clone(), stream),
        )
        .await
        {
            Ok(Ok(tls)) => tls,
            Ok(Err(source)) => return Err(Error::Tls { source }),
            Err(_) => return Err(Error::Timeout { during: Phase::TlsHandshake, after: timeout }),
        };
        let connection = tls.get_ref().1;
        let binding = crate::tls::channel_binding(connection);
        debug!(version = ?connection.protocol_version(), cipher = ?connection.negotiated_cipher_suite().map(|c| c.suite()), binding = ?binding.as_ref().map(|b| b.kind()), "TLS established");
        self.stream = Stream::Tls(Box::new(tls));
        Ok(binding)
    }

    async fn send_message<R: AsyncRead + Unpin>(&mut self, message: &mut R) -> Result<(), Error> {
        let timeout = self.session.config().timeouts.data_block;
        let mut stuffer = DotStuffer::new();
        let mut input = vec![0u8; 64 * 1024];
        let mut output = Vec::with_capacity(70 * 1024);
        let mut total = 0u64;
        loop {
            let n = message.read(&mut input).await.map_err(Error::Message)?;
            output.clear();
            if n == 0 {
                stuffer.finish(&mut output);
                self.write_bytes(&output, timeout, Phase::DataEnd).await?;
                trace!(bytes = total, "C: (message data and final dot)");
                return Ok(());
            }
            total += n as u64;
            stuffer.encode(&input[..n], &mut output);
            self.write_bytes(&output, timeout, Phase::DataEnd).await?;
        }
    }
}
