//! The sans-IO SMTP client session: replies in, commands out.
//!
//! A [`Session`] knows the protocol and nothing about sockets. The driver (see
//! [`Client`](crate::Client), or your own) asks it what to do next ([`Action`]), writes what
//! it is given, reads replies with the timeout [`Session::reply_timeout`] names, feeds them to
//! [`Session::on_reply`], performs the TLS handshake when told, and streams the message
//! through a [`DotStuffer`](crate::DotStuffer) when the server is ready for it.

use std::collections::VecDeque;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use message::Address;
use sasl::{ChannelBinding, ClientChannelBinding, Mechanism, Secret};

use crate::capabilities::Capabilities;
use crate::error::{Error, Phase};
use crate::reply::Reply;

/// How TLS is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (submissions, port 465; RFC 8314 §3.3).
    Implicit,
    /// STARTTLS, and fail if the server does not offer it or it fails.
    StartTls,
    /// STARTTLS when offered, plaintext otherwise (opportunistic, RFC 3207 for MX delivery).
    StartTlsIfOffered,
    /// Never TLS.
    Plaintext,
}

/// Authentication settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The username (for EXTERNAL: the authorization identity, empty for none).
    pub username: String,
    /// The password (unused for EXTERNAL).
    pub password: Secret<String>,
    /// Use only this mechanism. `None`: the strongest offered, in the order of
    /// [`Mechanism::PREFERENCE`]. Naming the mechanism the server is known to support
    /// prevents downgrades by a man in the middle who edits the EHLO reply.
    pub mechanism: Option<Mechanism>,
    /// Allow PLAIN and LOGIN without TLS. Off by default: they send the password.
    pub allow_password_without_tls: bool,
}

/// Reply timeouts, RFC 5321 §4.5.3.2 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP connection (not in the RFC).
    pub connect: Duration,
    /// The 220 greeting: 5 minutes.
    pub greeting: Duration,
    /// EHLO, HELO, STARTTLS, AUTH, RSET and the TLS handshake (not in the RFC): 5 minutes.
    pub command: Duration,
    /// MAIL: 5 minutes.
    pub mail: Duration,
    /// RCPT: 5 minutes.
    pub rcpt: Duration,
    /// DATA until 354: 2 minutes.
    pub data_initiation: Duration,
    /// Each write of message data: 3 minutes.
    pub data_block: Duration,
    /// The reply after the final dot: 10 minutes.
    pub data_termination: Duration,
    /// QUIT (not in the RFC): 30 seconds.
    pub quit: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        Timeouts {
            connect: Duration::from_secs(30),
            greeting: 5 * MINUTE,
            command: 5 * MINUTE,
            mail: 5 * MINUTE,
            rcpt: 5 * MINUTE,
            data_initiation: 2 * MINUTE,
            data_block: 3 * MINUTE,
            data_termination: 10 * MINUTE,
            quit: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    /// Every timeout set to `timeout`: for tests and impatient tools.
    pub fn all(timeout: Duration) -> Timeouts {
        Timeouts {
            connect: timeout,
            greeting: timeout,
            command: timeout,
            mail: timeout,
            rcpt: timeout,
            data_initiation: timeout,
            data_block: timeout,
            data_termination: timeout,
            quit: timeout,
        }
    }
}

/// Session settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our host name for EHLO/HELO.
    pub hostname: dns::Domain,
    /// How TLS is used.
    pub tls: TlsMode,
    /// Authenticate after EHLO (and STARTTLS), or not.
    pub auth: Option<AuthConfig>,
    /// Reply timeouts.
    pub timeouts: Timeouts,
}

/// One message's envelope and what the message needs from the server.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// MAIL FROM; `None` for the null reverse-path `<>` (bounces).
    pub from: Option<Address>,
    /// RCPT TO, in order.
    pub recipients: Vec<Address>,
    /// The message size in bytes, for the SIZE parameter (RFC 1870).
    pub size: Option<u64>,
    /// The message has bytes above 127: needs 8BITMIME (RFC 6152).
    pub eight_bit: bool,
    /// The message has UTF-8 headers: needs SMTPUTF8 (RFC 6531). Set automatically when an
    /// address is not ASCII.
    pub smtputf8: bool,
    /// Ask for REQUIRETLS (RFC 8689): needs TLS and the extension.
    pub require_tls: bool,
    /// More MAIL FROM parameters (`esmtp-param`, RFC 5321 §4.1.2), each `keyword[=value]`,
    /// sent as given after the ones above: e.g. `RET=HDRS` and `ENVID=...` of the DSN extension
    /// (RFC 3461 §4) when the server announces it. A parameter with a space or control
    /// character is refused ([`Error::InvalidParameter`]).
    pub mail_parameters: Vec<String>,
    /// RCPT TO parameters per recipient, by index into `recipients` (missing entries: none),
    /// such as `NOTIFY=FAILURE` and `ORCPT=rfc822;...` (RFC 3461 §4.1, §4.2).
    pub rcpt_parameters: Vec<Vec<String>>,
    /// When not empty, the RCPT TO paths to send, one per recipient, instead of `recipients`
    /// rendered: for forms an [`Address`] cannot hold, such as address literals
    /// (`user@[192.0.2.1]`, RFC 5321 §4.1.3). `recipients` still names them in the results. A
    /// path with a space, angle bracket or control character is refused.
    pub forward_paths: Vec<String>,
}

impl Envelope {
    /// An envelope for a 7-bit message without size hint.
    pub fn new(from: Option<Address>, recipients: Vec<Address>) -> Envelope {
        Envelope {
            from,
            recipients,
            size: None,
            eight_bit: false,
            smtputf8: false,
            require_tls: false,
            mail_parameters: Vec::new(),
            rcpt_parameters: Vec::new(),
            forward_paths: Vec::new(),
        }
    }
}

/// Bytes for the server.
#[derive(Clone)]
pub struct Outgoing {
    /// The command line(s), CRLF-terminated.
    pub bytes: Vec<u8>,
    /// The bytes carry credentials (AUTH): log them only at the `traceauth` level.
    pub secret: bool,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.secret {
            f.write_str("Outgoing(***)")
        } else {
            write!(f, "Outgoing({:?})", String::from_utf8_lossy(&self.bytes))
        }
    }
}

/// What the driver does next.
#[derive(Debug)]
pub enum Action {
    /// Write these bytes, then read a reply.
    Send(Outgoing),
    /// Read the next reply (more pipelined replies are due).
    AwaitReply,
    /// Perform the TLS handshake now, then call [`Session::tls_established`]. The driver must
    /// refuse to go on if the server sent bytes that are still unread.
    StartTls,
    /// The session is set up (or a transaction finished): call [`Session::begin`] or
    /// [`Session::quit`].
    Ready,
    /// The server said 354: stream the message through a [`DotStuffer`](crate::DotStuffer)
    /// (including its terminator), then read the reply.
    SendMessage,
    /// The transaction ended; per-recipient results inside. The session is ready again.
    Delivered(Delivery),
}

/// What happened to each recipient of a transaction.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The MAIL FROM reply.
    pub mail: Reply,
    /// One entry per recipient, in envelope order.
    pub recipients: Vec<RecipientResult>,
    /// The reply after the message data, if DATA got that far.
    pub data: Option<Reply>,
}

/// The outcome for one recipient.
#[derive(Debug, Clone)]
pub struct RecipientResult {
    /// The recipient.
    pub address: Address,
    /// The reply that decided: the final DATA reply if delivered, else the refusing reply
    /// (MAIL, RCPT or DATA). Its severity says whether to retry.
    pub reply: Reply,
    /// Whether the server accepted the message for this recipient.
    pub delivered: bool,
}

impl Delivery {
    /// Whether every recipient was accepted.
    pub fn all_delivered(&self) -> bool {
        self.recipients.iter().all(|r| r.delivered)
    }

    /// The recipients that were not accepted.
    pub fn failed(&self) -> impl Iterator<Item = &RecipientResult> {
        self.recipients.iter().filter(|r| !r.delivered)
    }
}

/// The replies the session waits for, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Rset,
    Mail,
    Rcpt(usize),
    Data,
    DataEnd,
    Quit,
}

impl Expect {
    fn phase(self) -> Phase {
        match self {
            Expect::Greeting => Phase::Greeting,
            Expect::Ehlo => Phase::Ehlo,
            Expect::Helo => Phase::Helo,
            Expect::StartTls => Phase::StartTls,
            Expect::Auth => Phase::Auth,
            Expect::Rset => Phase::Rset,
            Expect::Mail => Phase::Mail,
            Expect::Rcpt(_) => Phase::Rcpt,
            Expect::Data => Phase::Data,
            Expect::DataEnd => Phase::DataEnd,
            Expect::Quit => Phase::Quit,
        }
    }
}

#[derive(Debug)]
struct Transaction {
    envelope_recipients: Vec<Address>,
    /// Commands not yet sent (without pipelining, one goes out per reply).
    pending: VecDeque<(Expect, Vec<u8>)>,
    mail: Option<Reply>,
    rcpts: Vec<Option<Reply>>,
    data: Option<Reply>,
    /// 354 came although nothing can be delivered (pipelining): we sent an empty message.
    discarding: bool,
}

#[derive(Debug)]
enum Stage {
    Setup,
    Auth { client: Box<sasl::Client>, aborted: Option<sasl::ClientError> },
    Ready,
    Transaction(Box<Transaction>),
    Closed,
}

/// The client side of one SMTP session, without I/O.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    stage: Stage,
    expected: VecDeque<Expect>,
    capabilities: Capabilities,
    tls: bool,
    channel_binding: Option<ChannelBinding>,
    /// A transaction is open on the server (MAIL accepted, message not sent): RSET first.
    needs_rset: bool,
    /// The 220 greeting has been received.
    greeted: bool,
}

impl Session {
    /// A session about to connect.
    pub fn new(config: SessionConfig) -> Session {
        Session {
            config,
            stage: Stage::Setup,
            expected: VecDeque::new(),
            capabilities: Capabilities::default(),
            tls: false,
            channel_binding: None,
            needs_rset: false,
            greeted: false,
        }
    }

    /// The first action after connecting: the TLS handshake for implicit TLS, else reading
    /// the greeting.
    pub fn start(&mut self) -> Action {
        if self.config.tls == TlsMode::Implicit {
            return Action::StartTls;
        }
        self.expected.push_back(Expect::Greeting);
        Action::AwaitReply
    }

    /// The server's extensions from the last EHLO (all off after HELO).
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// How long to wait for the next reply (RFC 5321 §4.5.3.2).
    pub fn reply_timeout(&self) -> Duration {
        let t = &self.config.timeouts;
        match self.expected.front() {
            Some(Expect::Greeting) => t.greeting,
            Some(Expect::Mail) => t.mail,
            Some(Expect::Rcpt(_)) => t.rcpt,
            Some(Expect::Data) => t.data_initiation,
            Some(Expect::DataEnd) => t.data_termination,
            Some(Expect::Quit) => t.quit,
            _ => t.command,
        }
    }

    /// The phase the next reply belongs to, for error messages.
    pub fn phase(&self) -> Phase {
        self.expected.front().map_or(Phase::Connect, |e| e.phase())
    }

    /// Whether a reply is due.
    pub fn awaiting_reply(&self) -> bool {
        !self.expected.is_empty()
    }

    /// Call after the TLS handshake, with the channel binding of the new connection (for
    /// SCRAM-PLUS; `None` if none could be derived).
    pub fn tls_established(&mut self, channel_binding: Option<ChannelBinding>) -> Action {
        self.tls = true;
        self.channel_binding = channel_binding;
        if !self.greeted {
            // Implicit TLS: the greeting comes over TLS.
            self.expected.push_back(Expect::Greeting);
            return Action::AwaitReply;
        }
        // RFC 3207 §4.2: forget everything learned before TLS and start over with EHLO.
        self.capabilities = Capabilities::default();
        self.send(Expect::Ehlo, self.ehlo_command("EHLO"))
    }

    /// Feeds the next reply from the server.
    pub fn on_reply(&mut self, reply: Reply) -> Result<Action, Error> {
        let Some(expect) = self.expected.pop_front() else {
            self.stage = Stage::Closed;
            return Err(Error::OutOfOrder("reply received while none was expected"));
        };
        let result = self.handle(expect, reply);
        if result.is_err() {
            self.stage = Stage::Closed;
            self.expected.clear();
        }
        result
    }

    /// Authenticates now, on a session that is [`Ready`](Action::Ready) and was set up without
    /// [`SessionConfig::auth`]: for callers that choose the mechanism from what the server
    /// offers ([`capabilities`](Session::capabilities)), such as a relay that may use only the
    /// mechanisms its configuration lists. Returns the AUTH command; the exchange then runs as
    /// during setup and ends in [`Action::Ready`].
    pub fn authenticate(&mut self, auth: AuthConfig) -> Result<Action, Error> {
        if !matches!(self.stage, Stage::Ready) || !self.expected.is_empty() {
            return Err(Error::OutOfOrder("authenticate() on a session that is not ready"));
        }
        self.config.auth = Some(auth);
        self.after_tls_decision()
    }

    /// Starts a mail transaction. Returns the commands to send: with PIPELINING, MAIL, every
    /// RCPT and DATA at once (RFC 2920); otherwise MAIL alone.
    pub fn begin(&mut self, envelope: &Envelope) -> Result<Outgoing, Error> {
        if !matches!(self.stage, Stage::Ready) || !self.expected.is_empty() {
            return Err(Error::OutOfOrder("begin() before the session is ready"));
        }
        if envelope.recipients.is_empty() {
            return Err(Error::OutOfOrder("an envelope needs at least one recipient"));
        }
        let caps = &self.capabilities;
        let smtputf8 = envelope.smtputf8
            || envelope.from.as_ref().is_some_and(|a| !is_ascii_address(a))
            || envelope.recipients.iter().any(|a| !is_ascii_address(a));
        if smtputf8 && !caps.smtputf8 {
            return Err(Error::SmtpUtf8Unsupported);
        }
        if envelope.eight_bit && !caps.eight_bit_mime && !smtputf8 {
            return Err(Error::EightBitMimeUnsupported);
        }
        if envelope.require_tls {
            if !self.tls {
                return Err(Error::RequireTlsUnavailable("the connection has no TLS"));
            }
            if !caps.requiretls {
                return Err(Error::RequireTlsUnavailable("the server does not support REQUIRETLS"));
            }
        }
        let mut mail = format!(
            "MAIL FROM:<{}>",
            envelope.from.as_ref().map(|a| render(a, smtputf8)).unwrap_or_default()
        );
        if let (Some(size), Some(limit)) = (envelope.size, caps.size) {
            if limit > 0 && size > limit {
                return Err(Error::MessageTooLarge { size, limit });
            }
            mail.push_str(&format!(" SIZE={size}"));
        }
        if envelope.eight_bit && caps.eight_bit_mime {
            mail.push_str(" BODY=8BITMIME");
        }
        if smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        if envelope.require_tls {
            mail.push_str(" REQUIRETLS");
        }
        for parameter in &envelope.mail_parameters {
            mail.push(' ');
            mail.push_str(checked_parameter(parameter)?);
        }
        mail.push_str("\r\n");

        let mut pending = VecDeque::new();
        pending.push_back((Expect::Mail, mail.into_bytes()));
        if !envelope.forward_paths.is_empty()
            && envelope.forward_paths.len() != envelope.recipients.len()
        {
            return Err(Error::OutOfOrder("forward_paths and recipients differ in length"));
        }
        for (i, rcpt) in envelope.recipients.iter().enumerate() {
            let path = match envelope.forward_paths.get(i) {
                Some(path) => checked_path(path)?.to_string(),
                None => render(rcpt, smtputf8),
            };
            let mut command = format!("RCPT TO:<{path}>");
            for parameter in envelope.rcpt_parameters.get(i).into_iter().flatten() {
                command.push(' ');
                command.push_str(checked_parameter(parameter)?);
            }
            command.push_str("\r\n");
            pending.push_back((Expect::Rcpt(i), command.into_bytes()));
        }
        pending.push_back((Expect::Data, b"DATA\r\n".to_vec()));
        let mut transaction = Transaction {
            envelope_recipients: envelope.recipients.clone(),
            pending,
            mail: None,
            rcpts: vec![None; envelope.recipients.len()],
            data: None,
            discarding: false,
        };

        let mut bytes = Vec::new();
        let mut batch = if self.capabilities.pipelining { transaction.pending.len() } else { 1 };
        if self.needs_rset {
            // Close the transaction a failed earlier attempt left open. Without PIPELINING,
            // MAIL follows after RSET's reply.
            bytes.extend_from_slice(b"RSET\r\n");
            self.expected.push_back(Expect::Rset);
            self.needs_rset = false;
            if !self.capabilities.pipelining {
                batch = 0;
            }
        }
        for _ in 0..batch {
            if let Some((expect, command)) = transaction.pending.pop_front() {
                bytes.extend_from_slice(&command);
                self.expected.push_back(expect);
            }
        }
        self.stage = Stage::Transaction(Box::new(transaction));
        Ok(Outgoing { bytes, secret: false })
    }

    /// QUIT; read its reply (or not: the session is over either way).
    pub fn quit(&mut self) -> Outgoing {
        self.stage = Stage::Closed;
        self.expected.clear();
        self.expected.push_back(Expect::Quit);
        Outgoing { bytes: b"QUIT\r\n".to_vec(), secret: false }
    }

    fn send(&mut self, expect: Expect, bytes: Vec<u8>) -> Action {
        self.expected.push_back(expect);
        Action::Send(Outgoing { bytes, secret: expect == Expect::Auth })
    }

    fn ehlo_command(&self, verb: &str) -> Vec<u8> {
        format!("{verb} {}\r\n", self.config.hostname.ascii()).into_bytes()
    }

    fn handle(&mut self, expect: Expect, reply: Reply) -> Result<Action, Error> {
        let rejected = |reply: Reply| Error::Rejected { during: expect.phase(), reply };
        match expect {
            Expect::Greeting => {
                if reply.code() != 220 {
                    return Err(rejected(reply));
                }
                self.greeted = true;
                Ok(self.send(Expect::Ehlo, self.ehlo_command("EHLO")))
            }
            Expect::Ehlo => {
                if reply.is_success() {
                    self.capabilities = Capabilities::from_ehlo(&reply);
                    return self.after_hello();
                }
                // RFC 5321 §3.2: a server that does not know EHLO says 5xx; try HELO.
                if reply.is_permanent() {
                    return Ok(self.send(Expect::Helo, self.ehlo_command("HELO")));
                }
                Err(rejected(reply))
            }
            Expect::Helo => {
                if !reply.is_success() {
                    return Err(rejected(reply));
                }
                self.capabilities = Capabilities {
                    server_name: reply.lines().first().cloned().unwrap_or_default(),
                    ..Default::default()
                };
                self.after_hello()
            }
            Expect::StartTls => {
                if reply.code() == 220 {
                    return Ok(Action::StartTls);
                }
                if self.config.tls == TlsMode::StartTls {
                    return Err(rejected(reply));
                }
                // Opportunistic: go on without TLS.
                self.after_tls_decision()
            }
            Expect::Auth => self.auth_reply(reply),
            Expect::Rset => {
                if !reply.is_success() {
                    return Err(rejected(reply));
                }
                if !self.expected.is_empty() {
                    return Ok(Action::AwaitReply);
                }
                // Without pipelining, MAIL waited for this reply.
                let next = match &mut self.stage {
                    Stage::Transaction(t) => t.pending.pop_front(),
                    _ => None,
                };
                match next {
                    Some((expect, command)) => Ok(self.send(expect, command)),
                    None => Ok(Action::Ready),
                }
            }
            Expect::Quit => Ok(Action::Ready),
            Expect::Mail | Expect::Rcpt(_) | Expect::Data | Expect::DataEnd => {
                self.transaction_reply(expect, reply)
            }
        }
    }

    fn after_hello(&mut self) -> Result<Action, Error> {
        if !self.tls && matches!(self.config.tls, TlsMode::StartTls | TlsMode::StartTlsIfOffered) {
            if self.capabilities.starttls {
                return Ok(self.send(Expect::StartTls, b"STARTTLS\r\n".to_vec()));
            }
            if self.config.tls == TlsMode::StartTls {
                return Err(Error::StartTlsUnavailable);
            }
        }
        self.after_tls_decision()
    }

    fn after_tls_decision(&mut self) -> Result<Action, Error> {
        let Some(auth) = self.config.auth.clone() else {
            self.stage = Stage::Ready;
            return Ok(Action::Ready);
        };
        let mechanism = select_mechanism(
            &self.capabilities.auth,
            self.tls,
            self.channel_binding.is_some(),
            auth.mechanism,
            auth.allow_password_without_tls,
        )?;
        let mut client = match mechanism.scram_hash() {
            Some(hash) if !mechanism.is_plus() => {
                // Auto-selected plain SCRAM although we could bind: the server offered no
                // -PLUS; say so ("y") so a server that does support it detects the stripping.
                let binding = if auth.mechanism.is_none() && self.channel_binding.is_some() {
                    ClientChannelBinding::ServerLacksSupport
                } else {
                    ClientChannelBinding::Unsupported
                };
                sasl::Client::scram(hash, &auth.username, auth.password.clone(), binding)
            }
            _ => sasl::Client::new(
                mechanism,
                &auth.username,
                auth.password.clone(),
                self.channel_binding.clone(),
            )?,
        };
        let mut command = format!("AUTH {}", mechanism.name());
        if let Some(initial) = client.initial_response() {
            // RFC 4954 §4: an empty initial response is sent as "=".
            command.push(' ');
            if initial.is_empty() {
                command.push('=');
            } else {
                command.push_str(&BASE64.encode(initial));
            }
        }
        command.push_str("\r\n");
        self.stage = Stage::Auth { client: Box::new(client), aborted: None };
        Ok(self.send(Expect::Auth, command.into_bytes()))
    }

    fn auth_reply(&mut self, reply: Reply) -> Result<Action, Error> {
        let Stage::Auth { client, aborted } = &mut self.stage else {
            return Err(Error::OutOfOrder("AUTH reply outside authentication"));
        };
        let mechanism = client.mechanism();
        if let Some(error) = aborted.take() {
            // We sent "*" after our side failed; the server's answer does not matter.
            return Err(Error::Sasl(error));
        }
        match reply.code() {
            235 => {
                client.finish()?;
                self.stage = Stage::Ready;
                Ok(Action::Ready)
            }
            334 => {
                let text = reply.lines().first().map(String::as_str).unwrap_or_default().trim();
                let response = match BASE64.decode(text) {
                    Ok(challenge) => client.step(&challenge),
                    Err(_) => Err(sasl::ClientError::MalformedChallenge {
                        mechanism,
                        reason: "challenge is not base64",
                    }),
                };
                match response {
                    Ok(response) => {
                        let line = format!("{}\r\n", BASE64.encode(response));
                        Ok(self.send(Expect::Auth, line.into_bytes()))
                    }
                    Err(error) => {
                        // RFC 4954 §4: "*" cancels the exchange.
                        *aborted = Some(error);
                        Ok(self.send(Expect::Auth, b"*\r\n".to_vec()))
                    }
                }
            }
            _ => Err(Error::AuthFailed { mechanism, reply }),
        }
    }

    fn transaction_reply(&mut self, expect: Expect, reply: Reply) -> Result<Action, Error> {
        let Stage::Transaction(t) = &mut self.stage else {
            return Err(Error::OutOfOrder("transaction reply outside a transaction"));
        };
        let pipelined = self.capabilities.pipelining;
        match expect {
            Expect::Mail => {
                let accepted = reply.is_success();
                t.mail = Some(reply);
                if pipelined {
                    return Ok(Action::AwaitReply);
                }
                if !accepted {
                    return Ok(self.finish_transaction());
                }
            }
            Expect::Rcpt(i) => {
                if let Some(slot) = t.rcpts.get_mut(i) {
                    *slot = Some(reply);
                }
                if pipelined {
                    return Ok(Action::AwaitReply);
                }
                let next_is_data = matches!(t.pending.front(), Some((Expect::Data, _)));
                if next_is_data
                    && !t.rcpts.iter().any(|r| r.as_ref().is_some_and(Reply::is_success))
                {
                    // RFC 5321 §3.3: no accepted recipient, no DATA.
                    self.needs_rset = true;
                    return Ok(self.finish_transaction());
                }
            }
            Expect::Data => {
                let deliverable = t.mail.as_ref().is_some_and(Reply::is_success)
                    && t.rcpts.iter().any(|r| r.as_ref().is_some_and(Reply::is_success));
                if reply.code() == 354 {
                    if deliverable {
                        self.expected.push_back(Expect::DataEnd);
                        return Ok(Action::SendMessage);
                    }
                    // RFC 2920 §3.1: DATA accepted after every RCPT failed: send an empty
                    // message so the server ends the transaction; report the earlier failures.
                    t.discarding = true;
                    return Ok(self.send(Expect::DataEnd, b".\r\n".to_vec()));
                }
                if t.mail.as_ref().is_some_and(Reply::is_success) {
                    self.needs_rset = true;
                }
                t.data = Some(reply);
                return Ok(self.finish_transaction());
            }
            Expect::DataEnd => {
                if !t.discarding {
                    t.data = Some(reply);
                }
                return Ok(self.finish_transaction());
            }
            _ => return Err(Error::OutOfOrder("unexpected reply kind in a transaction")),
        }
        // Without pipelining: the next command.
        match t.pending.pop_front() {
            Some((expect, command)) => Ok(self.send(expect, command)),
            None => Ok(self.finish_transaction()),
        }
    }

    fn finish_transaction(&mut self) -> Action {
        let stage = std::mem::replace(&mut self.stage, Stage::Ready);
        let Stage::Transaction(t) = stage else {
            return Action::Ready;
        };
        let mail = t.mail.unwrap_or_else(|| Reply::new(554, vec!["no MAIL reply".into()]));
        let mut recipients = Vec::with_capacity(t.envelope_recipients.len());
        for (address, rcpt) in t.envelope_recipients.into_iter().zip(t.rcpts) {
            let (reply, delivered) = if !mail.is_success() {
                (mail.clone(), false)
            } else {
                match (rcpt, &t.data) {
                    (Some(rcpt), _) if !rcpt.is_success() => (rcpt, false),
                    (Some(_), Some(data)) => (data.clone(), data.is_success()),
                    (Some(rcpt), None) => (rcpt, false),
                    (None, _) => (Reply::new(451, vec!["4.5.0 no RCPT reply".into()]), false),
                }
            };
            recipients.push(RecipientResult { address, reply, delivered });
        }
        Action::Delivered(Delivery { mail, recipients, data: t.data })
    }
}

/// Picks the SASL mechanism: the configured one, or the strongest offered that is safe here.
pub fn select_mechanism(
    offered: &[String],
    tls: bool,
    channel_binding: bool,
    configured: Option<Mechanism>,
    allow_password_without_tls: bool,
) -> Result<Mechanism, Error> {
    if let Some(mechanism) = configured {
        if mechanism.reveals_password() && !tls && !allow_password_without_tls {
            return Err(Error::InsecureAuth { mechanism });
        }
        if mechanism.is_plus() && !channel_binding {
            return Err(Error::Sasl(sasl::ClientError::ChannelBindingRequired { mechanism }));
        }
        return Ok(mechanism);
    }
    Mechanism::PREFERENCE
        .into_iter()
        .filter(|m| !m.is_plus() || channel_binding)
        .filter(|m| !m.reveals_password() || tls || allow_password_without_tls)
        .find(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name())))
        .ok_or_else(|| Error::NoAuthMechanism { offered: offered.to_vec() })
}

/// An `esmtp-param` as the caller gave it, if it cannot break the command line.
fn checked_parameter(parameter: &str) -> Result<&str, Error> {
    if parameter.is_empty() || parameter.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Error::InvalidParameter(parameter.to_string()));
    }
    Ok(parameter)
}

/// A forward path as the caller gave it, if it cannot break the command line.
fn checked_path(path: &str) -> Result<&str, Error> {
    if path.is_empty() || path.chars().any(|c| c <= ' ' || c == '\x7f' || c == '<' || c == '>') {
        return Err(Error::InvalidParameter(path.to_string()));
    }
    Ok(path)
}

fn is_ascii_address(address: &Address) -> bool {
    address.localpart.is_ascii() && address.domain.ascii() == address.domain.unicode()
}

/// An address for MAIL/RCPT: Unicode domain with SMTPUTF8, IDNA (A-label) domain otherwise.
fn render(address: &Address, smtputf8: bool) -> String {
    if smtputf8 {
        address.to_string()
    } else {
        format!("{}@{}", address.localpart, address.domain.ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::parse_reply;

    fn reply(text: &[u8]) -> Reply {
        parse_reply(text).unwrap().unwrap().0
    }

    fn ready_session(ehlo: &[u8]) -> Session {
        let mut session = Session::new(SessionConfig {
            hostname: dns::Domain::parse("client.example").unwrap(),
            tls: TlsMode::Plaintext,
            auth: None,
            timeouts: Timeouts::default(),
        });
        session.start();
        session.on_reply(reply(b"220 mx ESMTP\r\n")).unwrap();
        assert!(matches!(session.on_reply(reply(ehlo)).unwrap(), Action::Ready));
        session
    }

    #[test]
    fn authenticate_after_setup_with_chosen_mechanism() {
        let mut session = ready_session(b"250-mx\r\n250 AUTH PLAIN CRAM-MD5\r\n");
        assert_eq!(session.capabilities().auth, ["PLAIN", "CRAM-MD5"]);
        let auth = AuthConfig {
            username: "u".into(),
            password: Secret::new("p".to_string()),
            mechanism: Some(Mechanism::Plain),
            allow_password_without_tls: true,
        };
        let Action::Send(command) = session.authenticate(auth).unwrap() else { panic!() };
        assert!(command.secret);
        assert_eq!(command.bytes, b"AUTH PLAIN AHUAcA==\r\n");
        assert!(matches!(session.on_reply(reply(b"235 ok\r\n")).unwrap(), Action::Ready));
        // Not twice at once, and not in the middle of something.
        let envelope = Envelope::new(None, vec!["a@b.example".parse().unwrap()]);
        session.begin(&envelope).unwrap();
        let again = AuthConfig {
            username: "u".into(),
            password: Secret::new("p".to_string()),
            mechanism: None,
            allow_password_without_tls: false,
        };
        assert!(matches!(session.authenticate(again), Err(Error::OutOfOrder(_))));
    }

    #[test]
    fn mail_and_rcpt_parameters() {
        let mut session = ready_session(b"250-mx\r\n250-PIPELINING\r\n250 DSN\r\n");
        let mut envelope = Envelope::new(
            Some("a@a.example".parse().unwrap()),
            vec!["b@b.example".parse().unwrap(), "c@b.example".parse().unwrap()],
        );
        envelope.mail_parameters = vec!["RET=HDRS".into(), "ENVID=x+2Ey".into()];
        envelope.rcpt_parameters = vec![vec!["NOTIFY=FAILURE,DELAY".into()]];
        let batch = session.begin(&envelope).unwrap();
        assert_eq!(
            String::from_utf8(batch.bytes).unwrap(),
            "MAIL FROM:<a@a.example> RET=HDRS ENVID=x+2Ey\r\nRCPT TO:<b@b.example> NOTIFY=FAILURE,DELAY\r\nRCPT TO:<c@b.example>\r\nDATA\r\n"
        );

        let mut session = ready_session(b"250-mx\r\n250 PIPELINING\r\n");
        let mut literal = Envelope::new(None, vec!["u@placeholder.invalid".parse().unwrap()]);
        literal.forward_paths = vec!["u@[192.0.2.1]".into()];
        let batch = session.begin(&literal).unwrap();
        assert_eq!(batch.bytes, b"MAIL FROM:<>\r\nRCPT TO:<u@[192.0.2.1]>\r\nDATA\r\n");

        let mut session = ready_session(b"250 mx\r\n");
        literal.forward_paths = vec!["u@[192.0.2.1]> NOTIFY=NEVER".into()];
        assert!(matches!(session.begin(&literal), Err(Error::InvalidParameter(_))));
        literal.forward_paths = vec![];
        envelope.mail_parameters = vec!["RET=HDRS\r\nRSET".into()];
        assert!(matches!(session.begin(&envelope), Err(Error::InvalidParameter(_))));
        envelope.mail_parameters.clear();
        envelope.rcpt_parameters = vec![vec![String::new()]];
        assert!(matches!(session.begin(&envelope), Err(Error::InvalidParameter(_))));
    }
}
