//! The SMTP server session: a state machine from client bytes to replies, without I/O.
//!
//! The driver (see [`crate::server`]) owns the socket and a read buffer. It calls
//! [`Session::handle_input`] with the buffered bytes; the session consumes what it can, writes
//! replies into its output, and says what it needs next ([`Action`]): more input, a flush,
//! the TLS handshake, or an answer to a [`Request`] (a DNS check, a credentials lookup, the
//! delivery of a message), which the driver passes back with [`Session::resolve`].
//!
//! Protocol rules enforced here (mox's order of checks, reply codes and texts):
//! - RFC 5321: command sequence (503), syntax (501), unknown commands (500; the first command
//!   unknown closes the connection), line length, errors before disconnect, recipients per
//!   transaction, message size while streaming (552, the session stays in sync).
//! - RFC 2920 PIPELINING: replies are buffered and flushed when input runs out or after the
//!   commands whose replies must not be buffered (EHLO, DATA, VRFY, EXPN, NOOP, QUIT, unknown);
//!   a client that sends message data before our 354, or commands before our reply to EHLO,
//!   HELO or STARTTLS, is out of sync and disconnected (as Postfix's
//!   `smtpd_forbid_unauth_pipelining`), unless authenticated.
//! - RFC 3030 CHUNKING/BINARYMIME: BDAT chunks are always consumed, also after an error.
//! - RFC 4954 AUTH on submission, only over TLS unless configured otherwise.
//! - SMTP smuggling: see [`crate::data`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dns::Domain;

use crate::command::{
    BodyType, Command, ForwardPath, FutureRelease, HelloName, MailParams, Path, PathDomain,
    RcptParams, ReversePath, parse_command,
};
use crate::data::{DataDecoder, DataSummary, MessageData};
use crate::reply::{Ecode, Reply};

/// The kind of listener a session serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Incoming mail from other servers (MX, port 25).
    Smtp,
    /// Submission by authenticated users, STARTTLS (port 587).
    Submission,
    /// Submission over implicit TLS (port 465).
    Submissions,
}

impl Service {
    /// Whether this is a submission service (AUTH required).
    pub fn is_submission(self) -> bool {
        !matches!(self, Service::Smtp)
    }

    /// Name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::Submission => "submission",
            Service::Submissions => "submissions",
        }
    }
}

/// Settings of one listener, shared by its sessions.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// What is served.
    pub service: Service,
    /// Our host name, for the greeting, EHLO and Received headers.
    pub hostname: Domain,
    /// Whether TLS is configured, so STARTTLS is offered on plain connections.
    pub starttls: bool,
    /// Submission: AUTH only after TLS (mox's default; `NoRequireSTARTTLS` turns it off).
    pub require_tls_for_auth: bool,
    /// MAIL/RCPT only after TLS, except to TLS reporting addresses (`RequireSTARTTLS`).
    pub require_tls_for_delivery: bool,
    /// Announce REQUIRETLS (RFC 8689) once TLS is active (not with `NoRequireTLS`).
    pub requiretls: bool,
    /// Largest message, announced with SIZE and enforced while the message arrives.
    pub max_message_size: u64,
    /// Recipients per transaction, announced with LIMITS RCPTMAX (RFC 9422).
    pub max_recipients: usize,
    /// Longest command line, CRLF included.
    pub max_line_length: usize,
    /// Longest AUTH response line (RFC 4954 §4: at least 12288).
    pub max_auth_line_length: usize,
    /// Protocol errors (syntax, sequence, unknown commands) before we disconnect.
    pub max_errors: u32,
    /// Offer CHUNKING (BDAT) and BINARYMIME (RFC 3030).
    pub chunking: bool,
    /// Offer DSN (RFC 3461).
    pub dsn: bool,
    /// Submission: FUTURERELEASE (RFC 4865) with this maximum interval; `None` to not offer.
    pub future_release_max: Option<Duration>,
    /// Messages above this size are collected in a temporary file instead of memory.
    pub spill_threshold: usize,
    /// Directory for those files (the system temporary directory for `None`).
    pub spool_dir: Option<PathBuf>,
    /// How long we wait for a command (RFC 5321 §4.5.3.2.7: at least 5 minutes).
    pub command_timeout: Duration,
    /// How long we wait for the next bytes of message data (§4.5.3.2.6: 3 minutes).
    pub data_timeout: Duration,
    /// Disconnect unauthenticated clients that pipeline where RFC 2920 forbids it.
    pub enforce_pipelining_sync: bool,
    /// DNS blocklists consulted for incoming mail without reputation (listener `DNSBLs`).
    pub dnsbl_zones: Vec<Domain>,
    /// Wait before accepting a message from a first-time sender (`FirstTimeSenderDelay`,
    /// mox's default 15 s), keeping a spammer's connection busy.
    pub first_time_sender_delay: Duration,
}

impl SessionConfig {
    /// mox's defaults for a service: 100 MB messages, 1000 recipients, STARTTLS when `starttls`.
    pub fn new(service: Service, hostname: Domain, starttls: bool) -> SessionConfig {
        SessionConfig {
            service,
            hostname,
            starttls,
            require_tls_for_auth: true,
            require_tls_for_delivery: service.is_submission(),
            requiretls: true,
            max_message_size: 100 * 1024 * 1024,
            max_recipients: 1000,
            max_line_length: 4096,
            max_auth_line_length: 12288,
            max_errors: 20,
            chunking: true,
            dsn: true,
            future_release_max: service
                .is_submission()
                .then_some(Duration::from_secs(60 * 24 * 3600)),
            spill_threshold: 4 * 1024 * 1024,
            spool_dir: None,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            enforce_pipelining_sync: true,
            dnsbl_zones: Vec::new(),
            first_time_sender_delay: Duration::from_secs(15),
        }
    }
}

/// TLS facts of a connection.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    /// `TLS1.2`, `TLS1.3`.
    pub version: String,
    /// The cipher suite name.
    pub cipher: String,
    /// The SNI name the client asked for.
    pub server_name: Option<String>,
    /// Channel bindings for SCRAM-PLUS (tls-exporter, RFC 9266).
    pub channel_bindings: Vec<sasl::ChannelBinding>,
}

/// Who authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthIdentity {
    /// The login name (an email address).
    pub username: String,
    /// The account it belongs to.
    pub account: String,
}

/// What the backend knows about the connection when it handles a [`Request`].
#[derive(Debug, Clone)]
pub struct Context {
    /// The listener's settings.
    pub config: Arc<SessionConfig>,
    /// Connection id (mox's cid), for logs.
    pub cid: u64,
    /// The id for Received headers and replies.
    pub received_id: String,
    /// The client's address.
    pub remote_ip: IpAddr,
    /// Our address on this connection.
    pub local_ip: IpAddr,
    /// TLS, when active.
    pub tls: Option<TlsInfo>,
    /// The HELO/EHLO name.
    pub hello: Option<HelloName>,
    /// Whether EHLO (not HELO) was used.
    pub ehlo: bool,
    /// The authenticated user.
    pub auth: Option<AuthIdentity>,
    /// Failed AUTH attempts on this connection.
    pub auth_failures: u32,
}

/// A recipient accepted by the backend, with what it resolved the address to.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The address as given in RCPT TO.
    pub path: ForwardPath,
    /// Its parameters.
    pub params: RcptParams,
    /// The backend's resolution.
    pub target: crate::backend::Target,
}

/// A mail transaction in progress.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// MAIL FROM.
    pub mail_from: ReversePath,
    /// Its parameters.
    pub params: MailParams,
    /// Accepted recipients.
    pub recipients: Vec<Recipient>,
    /// The SPF result for MAIL FROM, if the backend already checked it during RCPT.
    pub spf: Option<Arc<spf::Verification>>,
}

/// A complete message to deliver (or submit).
#[derive(Debug)]
pub struct Delivery {
    /// The transaction.
    pub transaction: Transaction,
    /// The message.
    pub data: MessageData,
    /// What DATA found (for BDAT: size and 8-bit only).
    pub summary: DataSummary,
    /// Whether it arrived with BDAT.
    pub chunked: bool,
}

/// A question the session needs answered before it can continue.
#[derive(Debug)]
pub enum Request {
    /// HELO: check that the name resolves (RFC 5321 §4.1.4, mox does this for HELO only).
    Helo(Domain),
    /// AUTH: look up the credentials of `username`, continue the exchange with them
    /// ([`sasl::Server::credentials`]) and answer with [`Response::Credentials`].
    Credentials {
        /// The exchange, to be continued.
        server: Box<sasl::Server>,
        /// The authentication identity the client gave.
        username: String,
    },
    /// An AUTH exchange ended; record it (failed-login limits) and answer with
    /// [`Response::AuthRecorded`], possibly after a delay.
    AuthFinished {
        /// The authentication identity.
        username: String,
        /// Whether it succeeded.
        success: bool,
    },
    /// MAIL FROM: may this sender start a transaction? Answer [`Response::MailFrom`].
    MailFrom {
        /// The reverse path.
        from: ReversePath,
        /// The parameters.
        params: MailParams,
    },
    /// RCPT TO: resolve the recipient. Answer [`Response::Rcpt`].
    Rcpt {
        /// The forward path.
        to: ForwardPath,
        /// The parameters.
        params: RcptParams,
    },
    /// The message is complete: deliver it and answer [`Response::Delivered`] with the final
    /// reply. 2xx only once the message is durably stored or queued.
    Deliver(Box<Delivery>),
}

/// The answer to a [`Request`].
#[derive(Debug)]
pub enum Response {
    /// For [`Request::Helo`].
    Helo(Result<(), Reply>),
    /// For [`Request::Credentials`].
    Credentials {
        /// The exchange, continued.
        server: Box<sasl::Server>,
        /// What [`sasl::Server::credentials`] returned.
        step: Result<sasl::ServerStep, sasl::ServerError>,
        /// The account of the user, if known.
        account: Option<String>,
        /// A reply that ends the exchange instead (account disabled, too many failures).
        refuse: Option<Reply>,
    },
    /// For [`Request::AuthFinished`].
    AuthRecorded,
    /// For [`Request::MailFrom`].
    MailFrom(Result<(), Reply>),
    /// For [`Request::Rcpt`]: the resolution, and the SPF result if one was computed.
    Rcpt(Result<crate::backend::Target, Reply>, Option<Arc<spf::Verification>>),
    /// For [`Request::Deliver`]: the reply to the end of data.
    Delivered(Reply),
}

/// What the driver does next.
#[derive(Debug)]
pub enum Action {
    /// Send the output, then read more input.
    NeedInput,
    /// Send the output now (a reply that must not wait), then call
    /// [`Session::handle_input`] again with the rest of the input.
    Flush,
    /// Answer this request with [`Session::resolve`].
    Request(Request),
    /// Send the output (the 220 to STARTTLS), do the TLS handshake, then call
    /// [`Session::tls_started`]. The rest of the input buffer must be discarded.
    StartTls,
    /// Send the output and close the connection.
    Close,
}

#[derive(Debug)]
enum Mode {
    Command,
    /// Skipping the rest of an over-long line.
    SkipLine,
    Data(DataDecoder),
    Bdat {
        remaining: u64,
        last: bool,
        discard: bool,
    },
    Auth(Box<AuthExchange>),
    Waiting(Pending),
    Closed,
}

#[derive(Debug)]
struct AuthExchange {
    /// None while the server is out for a credentials lookup.
    server: Option<Box<sasl::Server>>,
    username: Option<String>,
    account: Option<String>,
}

#[derive(Debug)]
enum Pending {
    Helo(HelloName),
    Credentials(Box<AuthExchange>),
    AuthFinished { reply: Reply, identity: Option<AuthIdentity> },
    MailFrom(ReversePath, MailParams),
    Rcpt(ForwardPath, RcptParams),
    Deliver,
}

/// One SMTP server session.
#[derive(Debug)]
pub struct Session {
    ctx: Context,
    txn: Option<Transaction>,
    /// Message collected from BDAT chunks.
    bdat: Option<(MessageData, DataSummary)>,
    /// Message being collected with DATA.
    data: Option<MessageData>,
    mode: Mode,
    out: Vec<u8>,
    errors: u32,
    commands: u64,
    good_transactions: u32,
    bad_transactions: u32,
    /// The reply for a BDAT chunk being discarded.
    pending_bdat_error: Option<Reply>,
}

impl Session {
    /// A session for a new connection. `tls` is set for implicit TLS (submissions).
    pub fn new(
        config: Arc<SessionConfig>,
        cid: u64,
        received_id: String,
        remote_ip: IpAddr,
        local_ip: IpAddr,
        tls: Option<TlsInfo>,
    ) -> Session {
        Session {
            ctx: Context {
                config,
                cid,
                received_id,
                remote_ip,
                local_ip,
                tls,
                hello: None,
                ehlo: false,
                auth: None,
                auth_failures: 0,
            },
            txn: None,
            bdat: None,
            data: None,
            mode: Mode::Command,
            out: Vec::new(),
            errors: 0,
            commands: 0,
            good_transactions: 0,
            bad_transactions: 0,
            pending_bdat_error: None,
        }
    }

    /// Writes the greeting (RFC 5321 §4.2: `220 domain ESMTP ...`).
    pub fn greet(&mut self) {
        let text = format!("{} ESMTP mox", self.ctx.config.hostname.ascii());
        self.reply(Reply::plain(220, text));
    }

    /// Refuses the connection with `reply` (a 421: too many connections, shutting down) and
    /// closes.
    pub fn refuse(&mut self, reply: Reply) {
        self.reply(reply);
        self.mode = Mode::Closed;
    }

    /// Connection facts for the backend.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The transaction in progress.
    pub fn transaction(&self) -> Option<&Transaction> {
        self.txn.as_ref()
    }

    /// Output written since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Whether there is output waiting.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Whether the session ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.mode, Mode::Closed)
    }

    /// Whether the session is between commands (no transfer or request in progress): the
    /// moment a shutting-down server may say 421 and close.
    pub fn is_idle(&self) -> bool {
        matches!(self.mode, Mode::Command)
    }

    /// How long to wait for input in the current state.
    pub fn read_timeout(&self) -> Duration {
        match self.mode {
            Mode::Data(_) | Mode::Bdat { .. } => self.ctx.config.data_timeout,
            _ => self.ctx.config.command_timeout,
        }
    }

    /// The client was silent too long: 421 and close (RFC 5321 §4.5.3.2).
    pub fn timed_out(&mut self) {
        let reply = Reply::new(
            421,
            Ecode::NET_OTHER,
            format!("timeout, closing ({})", self.ctx.received_id),
        );
        self.refuse(reply);
    }

    /// The server is shutting down: 421 and close.
    pub fn shutting_down(&mut self) {
        self.refuse(Reply::new(421, Ecode::SYS_NOT_ACCEPTING, "shutting down"));
    }

    /// The TLS handshake after STARTTLS completed: the session starts over (RFC 3207 §4.2).
    pub fn tls_started(&mut self, info: TlsInfo) {
        self.ctx.tls = Some(info);
        self.ctx.hello = None;
        self.ctx.ehlo = false;
        self.ctx.auth = None;
        self.rset();
        self.mode = Mode::Command;
    }

    /// Processes `input`: returns how many bytes were consumed and what to do next.
    pub fn handle_input(&mut self, input: &[u8]) -> (usize, Action) {
        let mut pos = 0;
        loop {
            match &mut self.mode {
                Mode::Closed => return (pos, Action::Close),
                Mode::Waiting(_) => return (pos, Action::NeedInput),
                Mode::SkipLine => match memchr::memchr(b'\n', &input[pos..]) {
                    Some(i) => {
                        pos += i + 1;
                        self.mode = Mode::Command;
                    }
                    None => return (input.len(), Action::NeedInput),
                },
                Mode::Data(decoder) => {
                    let mut data =
                        self.data.take().unwrap_or_else(|| MessageData::from_bytes(Vec::new()));
                    let (n, done) = decoder.decode(&input[pos..], &mut data);
                    pos += n;
                    match done {
                        None => {
                            self.data = Some(data);
                            return (pos, Action::NeedInput);
                        }
                        Some(summary) => {
                            self.mode = Mode::Command;
                            if let Some(action) = self.data_done(data, summary, false) {
                                return (pos, action);
                            }
                        }
                    }
                }
                Mode::Bdat { remaining, last, discard } => {
                    let n =
                        (input.len() - pos).min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                    let chunk = &input[pos..pos + n];
                    pos += n;
                    *remaining -= n as u64;
                    if !*discard && let Some((data, summary)) = &mut self.bdat {
                        summary.size += n as u64;
                        if summary.size > self.ctx.config.max_message_size {
                            summary.too_large = true;
                        } else {
                            if !summary.has_8bit && chunk.iter().any(|&b| b >= 0x80) {
                                summary.has_8bit = true;
                            }
                            data.append(chunk);
                        }
                    }
                    if *remaining > 0 {
                        return (pos, Action::NeedInput);
                    }
                    let (last, discard) = (*last, *discard);
                    self.mode = Mode::Command;
                    if let Some(action) = self.bdat_chunk_done(last, discard) {
                        return (pos, action);
                    }
                }
                Mode::Auth(_) | Mode::Command => {
                    let rest = &input[pos..];
                    let limit = if matches!(self.mode, Mode::Auth(_)) {
                        self.ctx.config.max_auth_line_length
                    } else {
                        self.ctx.config.max_line_length
                    };
                    let Some(lf) = memchr::memchr(b'\n', rest) else {
                        if rest.len() > limit {
                            self.line_too_long();
                            return (
                                input.len(),
                                if self.is_closed() { Action::Close } else { Action::NeedInput },
                            );
                        }
                        return (pos, Action::NeedInput);
                    };
                    if lf + 1 > limit {
                        pos += lf + 1;
                        self.line_too_long();
                        self.mode = if self.is_closed() { Mode::Closed } else { Mode::Command };
                        continue;
                    }
                    let line = rest[..lf].strip_suffix(b"\r").unwrap_or(&rest[..lf]).to_vec();
                    pos += lf + 1;
                    let more_input = pos < input.len();
                    let action = if matches!(self.mode, Mode::Auth(_)) {
                        self.auth_line(&line)
                    } else {
                        self.command(&line, more_input)
                    };
                    if let Some(action) = action {
                        return (pos, action);
                    }
                }
            }
        }
    }

    /// Continues after a [`Request`] with its answer.
    pub fn resolve(&mut self, response: Response) -> Option<Action> {
        let Mode::Waiting(pending) = std::mem::replace(&mut self.mode, Mode::Command) else {
            tracing::error!(cid = self.ctx.cid, "response without request");
            return None;
        };
        match (pending, response) {
            (Pending::Helo(name), Response::Helo(result)) => match result {
                Ok(()) => self.hello_accepted(name, false),
                Err(reply) => self.reply(reply),
            },
            (
                Pending::Credentials(mut exchange),
                Response::Credentials { server, step, account, refuse },
            ) => {
                if let Some(reply) = refuse {
                    self.ctx.auth_failures += 1;
                    self.reply(reply);
                    return None;
                }
                exchange.server = Some(server);
                exchange.account = account;
                return self.auth_step(exchange, step);
            }
            (Pending::AuthFinished { reply, identity }, Response::AuthRecorded) => {
                if let Some(identity) = identity {
                    self.ctx.auth = Some(identity);
                    self.ctx.auth_failures = 0;
                } else {
                    self.ctx.auth_failures += 1;
                }
                self.reply(reply);
            }
            (Pending::MailFrom(from, params), Response::MailFrom(result)) => match result {
                Ok(()) => {
                    self.txn = Some(Transaction {
                        mail_from: from,
                        params,
                        recipients: Vec::new(),
                        spf: None,
                    });
                    self.reply(Reply::new(250, Ecode::ADDR_OTHER, "looking good"));
                }
                Err(reply) => self.reply(reply),
            },
            (Pending::Rcpt(to, params), Response::Rcpt(result, spf)) => {
                let Some(txn) = &mut self.txn else {
                    return None;
                };
                if spf.is_some() {
                    txn.spf = spf;
                }
                match result {
                    Ok(target) => {
                        txn.recipients.push(Recipient { path: to, params, target });
                        self.reply(Reply::new(250, Ecode::ADDR_OTHER, "now on the list"));
                    }
                    Err(reply) => self.reply(reply),
                }
            }
            (Pending::Deliver, Response::Delivered(reply)) => {
                if reply.is_success() {
                    self.good_transactions += 1;
                } else {
                    self.bad_transactions += 1;
                }
                self.rset();
                self.reply(reply);
                // The reply to end-of-data is the last of its group (RFC 2920 §3.1).
                return Some(Action::Flush);
            }
            (pending, response) => {
                tracing::error!(
                    cid = self.ctx.cid,
                    ?pending,
                    ?response,
                    "response does not match request"
                );
                self.reply(Reply::new(451, Ecode::SYS_OTHER, "internal error"));
            }
        }
        None
    }

    fn reply(&mut self, reply: Reply) {
        tracing::debug!(cid = self.ctx.cid, %reply, "reply");
        reply.encode(&mut self.out);
    }

    /// A command out of order: 503 5.5.1 with `text`, counted as an error.
    fn bad_sequence(&mut self, text: &str) -> Option<Action> {
        self.protocol_error(Reply::new(503, Ecode::PROTO_BAD_SEQUENCE, text))
    }

    fn protocol_error(&mut self, reply: Reply) -> Option<Action> {
        self.errors += 1;
        self.reply(reply);
        if self.errors > self.ctx.config.max_errors {
            self.refuse(Reply::new(421, Ecode::POL_OTHER, "too many errors, closing"));
            return Some(Action::Close);
        }
        None
    }

    fn line_too_long(&mut self) {
        self.mode = Mode::SkipLine;
        let max = self.ctx.config.max_line_length;
        let reply =
            Reply::new(500, Ecode::PROTO_SYNTAX, format!("line too long, max {max} octets"));
        if self.protocol_error(reply).is_some() {
            self.mode = Mode::Closed;
        }
    }

    fn rset(&mut self) {
        self.txn = None;
        self.bdat = None;
        self.data = None;
    }

    fn wait(&mut self, pending: Pending, request: Request) -> Option<Action> {
        self.mode = Mode::Waiting(pending);
        Some(Action::Request(request))
    }

    fn is_tls(&self) -> bool {
        self.ctx.tls.is_some()
    }

    fn out_of_sync(&mut self, after: &str) -> Option<Action> {
        tracing::info!(cid = self.ctx.cid, after, "client pipelined where RFC 2920 forbids it");
        self.refuse(Reply::new(
            554,
            Ecode::PROTO_OTHER,
            format!("improper command pipelining after {after}, closing"),
        ));
        Some(Action::Close)
    }

    fn sync_enforced(&self) -> bool {
        self.ctx.config.enforce_pipelining_sync && self.ctx.auth.is_none()
    }

    fn command(&mut self, line: &[u8], more_input: bool) -> Option<Action> {
        let smtputf8 = self.txn.as_ref().is_some_and(|t| t.params.smtputf8);
        let cmd = match parse_command(line, smtputf8) {
            Ok(cmd) => cmd,
            Err(reply) => {
                if reply.code == 500 && self.commands == 0 {
                    // Probably not SMTP at all (HTTP, TLS): stop before the rest of it.
                    self.refuse(Reply::new(
                        500,
                        Ecode::PROTO_SYNTAX,
                        "please try again speaking smtp",
                    ));
                    return Some(Action::Close);
                }
                // Submission: mail clients put garbage in EHLO; use the IP instead.
                if self.ctx.config.service.is_submission()
                    && line.len() >= 5
                    && line[..5].eq_ignore_ascii_case(b"EHLO ")
                {
                    return self.hello(HelloName::Ip(self.ctx.remote_ip), true, more_input);
                }
                self.commands += 1;
                let unknown = reply.code == 500;
                if let Some(a) = self.protocol_error(reply) {
                    return Some(a);
                }
                // Unknown commands must not have their reply buffered (RFC 2920 §3.2 (6)).
                return if unknown && more_input { Some(Action::Flush) } else { None };
            }
        };
        self.commands += 1;
        tracing::trace!(cid = self.ctx.cid, verb = cmd.verb(), "command");
        match cmd {
            Command::Helo(name) => {
                if self.sync_enforced() && more_input {
                    return self.out_of_sync("HELO");
                }
                if self.ctx.config.service.is_submission() {
                    return self.hello(HelloName::Ip(self.ctx.remote_ip), false, more_input);
                }
                self.wait(Pending::Helo(HelloName::Domain(name.clone())), Request::Helo(name))
            }
            Command::Ehlo(name) => {
                if self.sync_enforced() && more_input {
                    return self.out_of_sync("EHLO");
                }
                let name = if self.ctx.config.service.is_submission() {
                    HelloName::Ip(self.ctx.remote_ip)
                } else {
                    name
                };
                self.hello(name, true, more_input)
            }
            Command::StartTls => self.starttls(more_input),
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial),
            Command::Mail { from, params } => self.mail(from, params),
            Command::Rcpt { to, params } => self.rcpt(to, params),
            Command::Data => self.data(more_input),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.rset();
                self.reply(Reply::new(250, Ecode::OTHER, "all clear"));
                None
            }
            Command::Vrfy | Command::Expn => {
                // RFC 5321 §7.3: we do not reveal which addresses exist.
                let what = if matches!(cmd, Command::Vrfy) { "verify" } else { "expand" };
                self.reply(Reply::new(
                    252,
                    Ecode::POL_OTHER,
                    format!("no {what} but will try delivery"),
                ));
                more_input.then_some(Action::Flush)
            }
            Command::Help => {
                self.reply(Reply::new(214, Ecode::OTHER, "see rfc 5321 (smtp)"));
                more_input.then_some(Action::Flush)
            }
            Command::Noop => {
                self.reply(Reply::new(250, Ecode::OTHER, "alrighty"));
                more_input.then_some(Action::Flush)
            }
            Command::Quit => {
                self.refuse(Reply::new(221, Ecode::OTHER, "okay thanks bye"));
                Some(Action::Close)
            }
        }
    }

    fn hello(&mut self, name: HelloName, ehlo: bool, more_input: bool) -> Option<Action> {
        self.hello_accepted(name, ehlo);
        more_input.then_some(Action::Flush)
    }

    fn hello_accepted(&mut self, name: HelloName, ehlo: bool) {
        // RFC 5321 §4.1.4: EHLO/HELO resets the transaction.
        self.rset();
        self.ctx.hello = Some(name);
        self.ctx.ehlo = ehlo;
        let config = self.ctx.config.clone();
        if !ehlo {
            self.reply(Reply::plain(250, config.hostname.ascii()));
            return;
        }
        let mut lines = vec![config.hostname.ascii().to_string()];
        lines.push("PIPELINING".into());
        lines.push(format!("SIZE {}", config.max_message_size));
        if !self.is_tls() && config.starttls {
            lines.push("STARTTLS".into());
        } else if self.is_tls() && config.requiretls {
            lines.push("REQUIRETLS".into());
        }
        if config.service.is_submission() && (self.is_tls() || !config.require_tls_for_auth) {
            let mechs: Vec<&str> = AUTH_MECHANISMS
                .iter()
                .filter(|m| !m.is_plus() || self.is_tls())
                .map(|m| m.name())
                .collect();
            lines.push(format!("AUTH {}", mechs.join(" ")));
        }
        if config.service.is_submission()
            && let Some(max) = config.future_release_max
        {
            let until = std::time::SystemTime::now() + max;
            lines.push(format!("FUTURERELEASE {} {}", max.as_secs(), rfc3339_utc(until)));
        }
        lines.push("ENHANCEDSTATUSCODES".into());
        lines.push("8BITMIME".into());
        if config.chunking {
            lines.push("BINARYMIME".into());
            lines.push("CHUNKING".into());
        }
        if config.dsn {
            lines.push("DSN".into());
        }
        lines.push(format!("LIMITS RCPTMAX={}", config.max_recipients));
        lines.push("SMTPUTF8".into());
        self.reply(Reply::plain(250, lines.join("\n")));
    }

    /// Whether EHLO/HELO was done; if not, replies 503.
    fn need_hello(&mut self) -> bool {
        if self.ctx.hello.is_none() {
            self.bad_sequence("no ehlo/helo yet");
            return false;
        }
        true
    }

    /// Whether authentication is done where required (submission); if not, replies 530.
    fn need_auth(&mut self) -> bool {
        if self.ctx.config.service.is_submission() && self.ctx.auth.is_none() {
            // RFC 4954 §6.
            self.reply(Reply::new(530, Ecode::POL_OTHER, "authentication required"));
            return false;
        }
        true
    }

    /// After a refused command: close if the error limit was reached.
    fn after_error(&self) -> Option<Action> {
        self.is_closed().then_some(Action::Close)
    }

    fn starttls(&mut self, more_input: bool) -> Option<Action> {
        if !self.need_hello() {
            return self.after_error();
        }
        if self.is_tls() {
            return self.bad_sequence("already speaking tls");
        }
        if self.ctx.auth.is_some() {
            return self.bad_sequence("cannot starttls after authentication");
        }
        if !self.ctx.config.starttls {
            return self.bad_sequence("starttls not offered");
        }
        if more_input {
            // Plaintext after STARTTLS would be taken as commands inside TLS by a careless
            // server (CVE-2011-0411): never process it.
            return self.out_of_sync("STARTTLS");
        }
        let text = format!("go! ({})", self.ctx.received_id);
        self.reply(Reply::new(220, Ecode::OTHER, text));
        Some(Action::StartTls)
    }

    fn auth(&mut self, mechanism: &str, initial: Option<String>) -> Option<Action> {
        if !self.need_hello() {
            return self.after_error();
        }
        if !self.ctx.config.service.is_submission() {
            return self.bad_sequence("authentication only allowed on submission ports");
        }
        if self.ctx.auth.is_some() {
            return self.bad_sequence("already authenticated");
        }
        if self.txn.is_some() {
            return self.bad_sequence("authentication not allowed during mail transaction");
        }
        let Some(mech) =
            sasl::Mechanism::from_name(mechanism).filter(|m| AUTH_MECHANISMS.contains(m))
        else {
            return self.protocol_error(Reply::new(
                504,
                Ecode::PROTO_BAD_PARAMS,
                format!("mechanism {mechanism} not supported"),
            ));
        };
        if !self.is_tls() && (self.ctx.config.require_tls_for_auth || mech.is_plus()) {
            // RFC 4954 §4: 538 when the mechanism needs encryption.
            self.reply(Reply::new(538, Ecode::POL_ENC_REQ_FOR_AUTH, "authentication requires tls"));
            return None;
        }
        let options = sasl::ServerOptions {
            hostname: self.ctx.config.hostname.ascii().to_string(),
            channel_bindings: self
                .ctx
                .tls
                .as_ref()
                .map(|t| t.channel_bindings.clone())
                .unwrap_or_default(),
        };
        let server = match sasl::Server::new(mech, options) {
            Ok(s) => s,
            Err(_) => {
                self.reply(Reply::new(
                    538,
                    Ecode::POL_ENC_REQ_FOR_AUTH,
                    "mechanism needs tls channel binding",
                ));
                return None;
            }
        };
        let response = match initial.as_deref() {
            None => None,
            Some("=") => Some(Vec::new()),
            Some(b64) => match BASE64.decode(b64) {
                Ok(v) => Some(v),
                Err(_) => {
                    return self.protocol_error(Reply::new(
                        501,
                        Ecode::PROTO_SYNTAX,
                        "invalid base64 in initial response",
                    ));
                }
            },
        };
        let mut exchange = Box::new(AuthExchange {
            server: Some(Box::new(server)),
            username: None,
            account: None,
        });
        let step = exchange.server.as_mut().map(|s| s.step(response.as_deref()));
        match step {
            Some(step) => self.auth_step(exchange, step),
            None => None,
        }
    }

    /// A client line during an AUTH exchange.
    fn auth_line(&mut self, line: &[u8]) -> Option<Action> {
        let Mode::Auth(mut exchange) = std::mem::replace(&mut self.mode, Mode::Command) else {
            return None;
        };
        if line == b"*" {
            // RFC 4954 §4: the client cancelled.
            let username = exchange.username.clone().unwrap_or_default();
            let reply = Reply::new(501, Ecode::PROTO_OTHER, "authentication aborted");
            return self.wait(
                Pending::AuthFinished { reply, identity: None },
                Request::AuthFinished { username, success: false },
            );
        }
        let decoded = match BASE64.decode(line) {
            Ok(v) => v,
            Err(_) => {
                let username = exchange.username.clone().unwrap_or_default();
                let reply = Reply::new(501, Ecode::PROTO_SYNTAX, "invalid base64");
                return self.wait(
                    Pending::AuthFinished { reply, identity: None },
                    Request::AuthFinished { username, success: false },
                );
            }
        };
        let server = exchange.server.as_mut()?;
        let step = server.step(Some(&decoded));
        self.auth_step(exchange, step)
    }

    fn auth_step(
        &mut self,
        mut exchange: Box<AuthExchange>,
        step: Result<sasl::ServerStep, sasl::ServerError>,
    ) -> Option<Action> {
        let fail = |this: &mut Session, exchange: &AuthExchange, reply: Reply| {
            let username = exchange.username.clone().unwrap_or_default();
            this.wait(
                Pending::AuthFinished { reply, identity: None },
                Request::AuthFinished { username, success: false },
            )
        };
        match step {
            Ok(sasl::ServerStep::Challenge(challenge)) => {
                self.reply(Reply::plain(334, BASE64.encode(challenge)));
                self.mode = Mode::Auth(exchange);
                // The client waits for the challenge.
                Some(Action::Flush)
            }
            Ok(sasl::ServerStep::NeedCredentials { username }) => {
                exchange.username = Some(username.clone());
                let server = exchange.server.take()?;
                self.wait(Pending::Credentials(exchange), Request::Credentials { server, username })
            }
            Ok(sasl::ServerStep::Authenticated(who)) => {
                if who.authzid.as_ref().is_some_and(|z| *z != who.username) {
                    let reply =
                        Reply::new(535, Ecode::POL_AUTH_BAD_CREDS, "cannot assume other role");
                    return fail(self, &exchange, reply);
                }
                let Some(account) = exchange.account.clone() else {
                    let reply =
                        Reply::new(454, Ecode::SYS_OTHER, "temporary authentication failure");
                    return fail(self, &exchange, reply);
                };
                let identity = AuthIdentity { username: who.username.clone(), account };
                let reply = Reply::new(235, Ecode::POL_OTHER, "nice");
                self.wait(
                    Pending::AuthFinished { reply, identity: Some(identity) },
                    Request::AuthFinished { username: who.username, success: true },
                )
            }
            Ok(sasl::ServerStep::External { .. }) => {
                let reply =
                    Reply::new(504, Ecode::PROTO_BAD_PARAMS, "mechanism EXTERNAL not supported");
                fail(self, &exchange, reply)
            }
            Err(e) => {
                tracing::info!(cid = self.ctx.cid, error = %e, remote = %self.ctx.remote_ip, "failed authentication attempt");
                let reply = match e {
                    sasl::ServerError::InvalidCredentials { .. } => {
                        Reply::new(535, Ecode::POL_AUTH_BAD_CREDS, "bad user/pass")
                    }
                    sasl::ServerError::CredentialsUnavailable { .. } => Reply::new(
                        454,
                        Ecode::SYS_OTHER,
                        "authentication mechanism not available for this account",
                    ),
                    sasl::ServerError::ChannelBindingMismatch { .. } => Reply::new(
                        535,
                        Ecode::POL_MSG_INTEGRITY,
                        "channel bindings do not match, potential mitm",
                    ),
                    sasl::ServerError::Aborted { .. } => {
                        Reply::new(501, Ecode::PROTO_OTHER, "authentication aborted")
                    }
                    other => Reply::new(
                        501,
                        Ecode::PROTO_BAD_PARAMS,
                        format!("authentication failed: {other}"),
                    ),
                };
                fail(self, &exchange, reply)
            }
        }
    }

    fn mail(&mut self, from: ReversePath, params: MailParams) -> Option<Action> {
        if self.bad_transactions > 10 && self.good_transactions == 0 {
            // Probably guessing addresses (RFC 5321 §7.8).
            self.refuse(Reply::new(550, Ecode::ADDR_OTHER, "too many failures"));
            return Some(Action::Close);
        }
        if !self.need_hello() || !self.need_auth() {
            return self.after_error();
        }
        if self.txn.is_some() {
            return self.bad_sequence("already have MAIL");
        }
        let config = self.ctx.config.clone();
        if let Some(size) = params.size
            && size > config.max_message_size
        {
            // RFC 1870 §6.
            self.reply(Reply::new(552, Ecode::SYS_MSG_TOO_BIG, "message too large"));
            return None;
        }
        if params.body == BodyType::BinaryMime && !config.chunking {
            self.reply(Reply::new(555, Ecode::PROTO_BAD_PARAMS, "BINARYMIME not supported"));
            return None;
        }
        if params.requiretls {
            if !self.is_tls() {
                self.reply(Reply::new(
                    523,
                    Ecode::POL_ENC_NEEDED,
                    "requiretls only allowed on tls-encrypted connections",
                ));
                return None;
            }
            if !config.requiretls {
                self.reply(Reply::new(
                    555,
                    Ecode::SYS_NOT_SUPPORTED,
                    "REQUIRETLS not allowed for this connection",
                ));
                return None;
            }
        }
        if (params.ret.is_some() || params.envid.is_some()) && !config.dsn {
            self.reply(Reply::new(555, Ecode::SYS_NOT_SUPPORTED, "DSN not supported"));
            return None;
        }
        if let Some(release) = &params.future_release {
            let Some(max) = config.future_release_max.filter(|_| config.service.is_submission())
            else {
                self.reply(Reply::new(
                    555,
                    Ecode::SYS_NOT_SUPPORTED,
                    "FUTURERELEASE not supported",
                ));
                return None;
            };
            let now = unix_now();
            let wait = match release {
                FutureRelease::For(secs) => i64::try_from(*secs).unwrap_or(i64::MAX),
                FutureRelease::Until { timestamp, .. } => timestamp - now,
            };
            if wait <= 0 {
                self.reply(Reply::new(
                    554,
                    Ecode::PROTO_BAD_PARAMS,
                    "requested future release time is in the past",
                ));
                return None;
            }
            if wait > i64::try_from(max.as_secs()).unwrap_or(i64::MAX) {
                self.reply(Reply::new(
                    554,
                    Ecode::PROTO_BAD_PARAMS,
                    "requested future release time is too far in the future",
                ));
                return None;
            }
        }
        if let ReversePath::Path(Path { domain: PathDomain::Ip(_), .. }) = &from {
            let reply = if config.service.is_submission() {
                Reply::new(550, Ecode::POL_DELIVERY_UNAUTH, "must match authenticated user")
            } else {
                Reply::new(550, Ecode::POL_OTHER, "domain name required")
            };
            self.reply(reply);
            return None;
        }
        self.wait(
            Pending::MailFrom(from.clone(), params.clone()),
            Request::MailFrom { from, params },
        )
    }

    fn rcpt(&mut self, to: ForwardPath, params: RcptParams) -> Option<Action> {
        if !self.need_hello() || !self.need_auth() {
            return self.after_error();
        }
        let Some(txn) = &self.txn else {
            return self.bad_sequence("missing MAIL FROM");
        };
        let config = self.ctx.config.clone();
        if (params.notify.is_some() || params.orcpt.is_some()) && !config.dsn {
            self.reply(Reply::new(555, Ecode::SYS_NOT_SUPPORTED, "DSN not supported"));
            return None;
        }
        if txn.recipients.len() >= config.max_recipients {
            // RFC 5321 §4.5.3.1.10.
            let text = format!("max of {} recipients reached", config.max_recipients);
            self.reply(Reply::new(452, Ecode::PROTO_TOO_MANY_RCPTS, text));
            return None;
        }
        if !config.service.is_submission()
            && !txn.recipients.is_empty()
            && txn.mail_from == ReversePath::Null
        {
            // Bounces go to a single recipient.
            self.reply(Reply::new(
                452,
                Ecode::PROTO_TOO_MANY_RCPTS,
                "only one recipient allowed with null reverse address",
            ));
            return None;
        }
        if !config.service.is_submission()
            && let ForwardPath::Path(path) = &to
        {
            let lp = path.localpart.as_str();
            // Relay tricks: "user%host@us" (percent hack), "host!user@us" (bang path),
            // "\"user@host\"@us". We only deliver to our own local parts.
            if lp.contains('%') || lp.contains('!') || (path.quoted && lp.contains(['@', ':', ',']))
            {
                self.reply(Reply::new(550, Ecode::POL_DELIVERY_UNAUTH, "relaying not allowed"));
                return None;
            }
            if let PathDomain::Ip(ip) = &path.domain
                && *ip != self.ctx.local_ip
            {
                self.reply(Reply::new(
                    550,
                    Ecode::ADDR_UNKNOWN_MAILBOX,
                    "not accepting email for ip",
                ));
                return None;
            }
        }
        self.wait(Pending::Rcpt(to.clone(), params.clone()), Request::Rcpt { to, params })
    }

    fn data(&mut self, more_input: bool) -> Option<Action> {
        if !self.need_hello() || !self.need_auth() {
            return self.after_error();
        }
        let Some(txn) = &self.txn else {
            return self.bad_sequence("missing MAIL FROM");
        };
        if txn.recipients.is_empty() {
            // RFC 2920 §3.2 (3): no positive reply without valid recipients.
            return self.bad_sequence("missing RCPT TO");
        }
        if txn.params.body == BodyType::BinaryMime {
            return self.bad_sequence("BINARYMIME requires BDAT");
        }
        if self.bdat.is_some() {
            return self.bad_sequence("DATA after BDAT");
        }
        if self.sync_enforced() && more_input {
            return self.out_of_sync("DATA");
        }
        self.reply(Reply::plain(354, "see you at the bare dot"));
        let config = &self.ctx.config;
        self.data = Some(MessageData::new(config.spill_threshold, config.spool_dir.clone()));
        self.mode = Mode::Data(DataDecoder::new(config.max_message_size));
        // The client waits for the 354.
        Some(Action::Flush)
    }

    fn data_done(
        &mut self,
        data: MessageData,
        summary: DataSummary,
        chunked: bool,
    ) -> Option<Action> {
        let id = self.ctx.received_id.clone();
        if summary.too_large {
            self.rset();
            self.bad_transactions += 1;
            // RFC 1870 §6, RFC 3463: 552 5.3.4.
            self.reply(Reply::new(
                552,
                Ecode::SYS_MSG_TOO_BIG,
                format!("message too large ({id})"),
            ));
            return Some(Action::Flush);
        }
        if summary.bad_line_ending {
            self.rset();
            self.bad_transactions += 1;
            self.reply(Reply::new(
                500,
                Ecode::PROTO_SYNTAX,
                format!("invalid bare \\r or \\n, may be smtp smuggling ({id})"),
            ));
            return Some(Action::Flush);
        }
        let Some(transaction) = self.txn.take() else {
            self.reply(Reply::new(503, Ecode::PROTO_BAD_SEQUENCE, "missing MAIL FROM"));
            return Some(Action::Flush);
        };
        let delivery = Delivery { transaction, data, summary, chunked };
        self.wait(Pending::Deliver, Request::Deliver(Box::new(delivery)))
    }

    fn bdat(&mut self, size: u64, last: bool) -> Option<Action> {
        // The chunk is consumed whatever happens (RFC 3030 §4.2).
        let mut error = None;
        if !self.ctx.config.chunking {
            error = Some(Reply::new(500, Ecode::PROTO_BAD_SEQUENCE, "unknown command"));
        } else if self.ctx.hello.is_none() {
            error = Some(Reply::new(503, Ecode::PROTO_BAD_SEQUENCE, "no ehlo/helo yet"));
        } else if self.ctx.config.service.is_submission() && self.ctx.auth.is_none() {
            error = Some(Reply::new(530, Ecode::POL_OTHER, "authentication required"));
        } else if self.txn.is_none() {
            error = Some(Reply::new(503, Ecode::PROTO_BAD_SEQUENCE, "missing MAIL FROM"));
        } else if self.txn.as_ref().is_some_and(|t| t.recipients.is_empty()) {
            error = Some(Reply::new(503, Ecode::PROTO_BAD_SEQUENCE, "missing RCPT TO"));
        }
        if let Some(reply) = error {
            self.errors += 1;
            self.pending_bdat_error = Some(reply);
            self.mode = Mode::Bdat { remaining: size, last, discard: true };
            return None;
        }
        if self.bdat.is_none() {
            let config = &self.ctx.config;
            let data = MessageData::new(config.spill_threshold, config.spool_dir.clone());
            self.bdat = Some((data, DataSummary::default()));
        }
        self.mode = Mode::Bdat { remaining: size, last, discard: false };
        None
    }

    fn bdat_chunk_done(&mut self, last: bool, discard: bool) -> Option<Action> {
        if discard {
            let reply = self
                .pending_bdat_error
                .take()
                .unwrap_or_else(|| Reply::new(503, Ecode::PROTO_BAD_SEQUENCE, "bad sequence"));
            if self.errors > self.ctx.config.max_errors {
                self.reply(reply);
                self.refuse(Reply::new(421, Ecode::POL_OTHER, "too many errors, closing"));
                return Some(Action::Close);
            }
            self.reply(reply);
            return None;
        }
        let too_large = self.bdat.as_ref().is_some_and(|(_, s)| s.too_large);
        if too_large {
            let id = self.ctx.received_id.clone();
            self.rset();
            self.bad_transactions += 1;
            self.reply(Reply::new(
                552,
                Ecode::SYS_MSG_TOO_BIG,
                format!("message too large ({id})"),
            ));
            return None;
        }
        if !last {
            let size = self.bdat.as_ref().map_or(0, |(_, s)| s.size);
            self.reply(Reply::new(250, Ecode::OTHER, format!("{size} octets received")));
            return None;
        }
        let (data, mut summary) = self.bdat.take()?;
        summary.has_body = true;
        self.data_done(data, summary, true)
    }
}

/// The mechanisms offered for AUTH, strongest first (mox's list).
pub const AUTH_MECHANISMS: [sasl::Mechanism; 7] = [
    sasl::Mechanism::ScramSha256Plus,
    sasl::Mechanism::ScramSha256,
    sasl::Mechanism::ScramSha1Plus,
    sasl::Mechanism::ScramSha1,
    sasl::Mechanism::CramMd5,
    sasl::Mechanism::Plain,
    sasl::Mechanism::Login,
];

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2006-01-02T15:04:05Z`.
pub(crate) fn rfc3339_utc(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// (year, month, day) for days since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}
