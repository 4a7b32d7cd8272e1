//! The session: one connection's protocol state machine, from the greeting to LOGOUT.
//!
//! Bytes from the client go in ([`Session::input`]); responses come out
//! ([`Session::take_output`]); what the connection should do next comes back as an
//! [`Action`]. No sockets: the tokio driver in [`crate::server`] owns those. The session does
//! call the store, whose methods block on disk I/O, so a driver calls it from a blocking
//! thread.
//!
//! States (RFC 9051 §3): not authenticated → authenticated → selected → logout. Changes made
//! by other sessions reach a session through [`Session::changes`]; it answers them with
//! untagged responses at the moments the protocol allows (after commands, during IDLE, or at
//! any time with NOTIFY).

mod append;
mod auth;
mod fetch;
mod mailboxes;
mod messages;
mod metadata;
mod mime;
mod notify;
mod quick;
mod search;
mod selected;
mod sort;
pub(crate) mod view;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::command::{Command, CommandBody};
use crate::error::ParseError;
use crate::framing::{Frame, Framer, Limits};
use crate::parse;
use crate::response;

pub use auth::{Authenticator, LoginLimiter, MemoryAuthenticator, OpenError, SimpleLoginLimiter};
pub(crate) use selected::Selected;

/// Output above this size makes the session pause and let the driver write (a FETCH of a
/// million messages is produced in pieces of about this size).
pub(crate) const OUTPUT_HIGH_WATER: usize = 64 * 1024;

/// Configuration shared by the sessions of a listener.
#[derive(Clone)]
pub struct Config {
    /// Our host name (greeting, CRAM-MD5 challenges).
    pub hostname: String,
    /// Looks up credentials and opens accounts.
    pub authenticator: Arc<dyn Authenticator>,
    /// Delays and refuses logins after failures, per IP address.
    pub login_limiter: Arc<dyn LoginLimiter>,
    /// Framing limits.
    pub limits: Limits,
    /// Largest message APPEND accepts (APPENDLIMIT, RFC 7889); `None`: no limit of our own.
    pub append_limit: Option<u64>,
    /// Allow LOGIN and AUTHENTICATE PLAIN without TLS (the listener's NoRequireSTARTTLS).
    pub allow_plaintext_auth: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("hostname", &self.hostname)
            .field("limits", &self.limits)
            .field("append_limit", &self.append_limit)
            .field("allow_plaintext_auth", &self.allow_plaintext_auth)
            .finish()
    }
}

/// What the session knows about its connection.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The client's address (failed-login limits are per address).
    pub remote_ip: IpAddr,
    /// TLS is active (implicit TLS, or after STARTTLS).
    pub tls: bool,
    /// STARTTLS can be offered (plain connection on a listener with a certificate).
    pub starttls_available: bool,
    /// Channel bindings of the TLS connection, for SCRAM-*-PLUS.
    pub channel_bindings: Vec<sasl::ChannelBinding>,
}

/// What the driver does after writing the session's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read more input (and pass account changes to [`Session::changes`] meanwhile).
    Read,
    /// Call [`Session::resume`] again: more output is being produced, or more buffered
    /// commands wait.
    Continue,
    /// Start TLS on the connection, then call [`Session::tls_established`].
    StartTls,
    /// Compress both directions with DEFLATE (RFC 4978) from now on.
    StartCompression,
    /// Close the connection.
    Close,
}

/// Capabilities the client enabled (RFC 5161).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Enabled {
    pub imap4rev2: bool,
    pub utf8: bool,
    pub condstore: bool,
    pub qresync: bool,
    pub uidonly: bool,
    pub metadata: bool,
}

impl Enabled {
    /// Whether UTF-8 may be sent in quoted strings and mailbox names.
    pub(crate) fn utf8(&self) -> bool {
        self.utf8 || self.imap4rev2
    }
}

/// What incoming bytes are for.
#[derive(Debug)]
enum InputMode {
    /// Commands.
    Command,
    /// APPEND/REPLACE message data going to a file.
    Append(Box<append::Streaming>),
    /// After APPEND message data: the end of the command or the next message.
    AppendNext(Box<append::Streaming>),
    /// A refused non-synchronizing literal being thrown away, then the rest of its command.
    Skip { remaining: u64, tag: String, reply: String },
    /// The rest of a refused command (up to its last line) being thrown away.
    DiscardCommand { tag: String, reply: String },
    /// An over-long line being thrown away up to its end; then `tag BAD [TOOBIG]`.
    DiscardLine { tag: Option<String> },
    /// Responses to an AUTHENTICATE exchange.
    Authenticate(Box<auth::Exchange>),
    /// IDLE: waiting for DONE.
    Idle { tag: String },
}

/// The protocol state.
pub(crate) enum State {
    NotAuthenticated,
    Authenticated(Box<Authenticated>),
    Logout,
}

/// An authenticated session's account and what is selected.
pub(crate) struct Authenticated {
    /// For logs.
    #[allow(dead_code)]
    pub account_name: String,
    pub username: String,
    pub account: store::Account,
    /// Junk flag rules and filter (training on flag changes, moves, appends, expunges).
    pub junk: Option<junk::AccountJunk>,
    pub selected: Option<Selected>,
    pub notify: Option<notify::Notify>,
}

/// A resumable command that produces a lot of output (FETCH over many messages).
pub(crate) enum Job {
    Fetch(Box<fetch::FetchJob>),
}

/// One IMAP connection's state.
pub struct Session {
    pub(crate) config: Arc<Config>,
    pub(crate) conn: ConnectionInfo,
    pub(crate) state: State,
    pub(crate) enabled: Enabled,
    mode: InputMode,
    framer: Framer,
    inbuf: Vec<u8>,
    pub(crate) out: Vec<u8>,
    after_output: Option<Action>,
    delay: Option<Duration>,
    pub(crate) job: Option<Job>,
    /// The client sent `ID`; logged once.
    pub(crate) client_id: Option<String>,
    compressing: bool,
    consecutive_bad: u32,
    /// The running command removed messages from the selected mailbox: with QRESYNC its
    /// tagged OK carries the new HIGHESTMODSEQ (RFC 7162 §3.2.7, §3.2.9; RFC 6851 §4.4).
    pub(crate) highest_modseq_in_ok: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("conn", &self.conn)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// A command's failure: the tagged NO or BAD it gets.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub bad: bool,
    pub code: Option<String>,
    pub text: String,
}

impl Failure {
    pub(crate) fn no(text: impl Into<String>) -> Failure {
        Failure { bad: false, code: None, text: text.into() }
    }
    pub(crate) fn no_code(code: &str, text: impl Into<String>) -> Failure {
        Failure { bad: false, code: Some(code.to_string()), text: text.into() }
    }
    pub(crate) fn bad(text: impl Into<String>) -> Failure {
        Failure { bad: true, code: None, text: text.into() }
    }
    pub(crate) fn bad_code(code: &str, text: impl Into<String>) -> Failure {
        Failure { bad: true, code: Some(code.to_string()), text: text.into() }
    }
}

impl From<store::Error> for Failure {
    fn from(e: store::Error) -> Failure {
        use store::Error as E;
        match &e {
            E::MailboxNotFound { .. } => Failure::no_code("NONEXISTENT", e.to_string()),
            E::MailboxExists { .. } => Failure::no_code("ALREADYEXISTS", e.to_string()),
            E::MailboxNotSelectable { .. } => Failure::no_code("CANNOT", e.to_string()),
            E::MailboxHasChildren { .. } => Failure::no_code("HASCHILDREN", e.to_string()),
            E::InboxNotDeletable | E::RenameIntoSelf { .. } | E::InvalidMailboxName { .. } => {
                Failure::no_code("CANNOT", e.to_string())
            }
            E::InvalidKeyword { .. } => Failure::bad(e.to_string()),
            E::QuotaExceeded { .. } => Failure::no_code("OVERQUOTA", e.to_string()),
            E::UidsExhausted { .. } => Failure::no_code("LIMIT", e.to_string()),
            E::MessageNotFound { .. } => Failure::no_code("EXPUNGEISSUED", e.to_string()),
            E::ReadOnly => Failure::no_code("CANNOT", e.to_string()),
            _ => {
                tracing::error!(error = %e, "store error");
                Failure::no_code("SERVERBUG", "internal error, see server logs")
            }
        }
    }
}

pub(crate) type CmdResult = Result<Option<(Option<String>, String)>, Failure>;

/// A command that completed with `OK text`.
pub(crate) fn ok(text: impl Into<String>) -> CmdResult {
    Ok(Some((None, text.into())))
}

/// A command that completed with `OK [code] text`.
pub(crate) fn ok_code(code: impl Into<String>, text: impl Into<String>) -> CmdResult {
    Ok(Some((Some(code.into()), text.into())))
}

/// The capabilities every connection has (RFC 9051 §7.2.2), before the state-dependent ones.
pub const CAPABILITIES: &[&str] = &[
    "IMAP4rev2",
    "IMAP4rev1",
    "ENABLE",
    "LITERAL+",
    "IDLE",
    "SASL-IR",
    "BINARY",
    "UNSELECT",
    "UIDPLUS",
    "ESEARCH",
    "SEARCHRES",
    "MOVE",
    "UTF8=ACCEPT",
    "LIST-EXTENDED",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "LIST-STATUS",
    "AUTH=SCRAM-SHA-256-PLUS",
    "AUTH=SCRAM-SHA-256",
    "AUTH=SCRAM-SHA-1-PLUS",
    "AUTH=SCRAM-SHA-1",
    "AUTH=CRAM-MD5",
    "ID",
    "CONDSTORE",
    "QRESYNC",
    "STATUS=SIZE",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "METADATA",
    "SAVEDATE",
    "WITHIN",
    "NAMESPACE",
    "LIST-METADATA",
    "MULTIAPPEND",
    "REPLACE",
    "PREVIEW",
    "INPROGRESS",
    "MULTISEARCH",
    "NOTIFY",
    "UIDONLY",
    "SORT",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "ESORT",
    "CONTEXT=SEARCH",
    "CONTEXT=SORT",
];

impl Session {
    /// A new session for a connection; write [`Session::greeting`] first.
    pub fn new(config: Arc<Config>, conn: ConnectionInfo) -> Session {
        Session {
            config,
            conn,
            state: State::NotAuthenticated,
            enabled: Enabled::default(),
            mode: InputMode::Command,
            framer: Framer::new(),
            inbuf: Vec::new(),
            out: Vec::new(),
            after_output: None,
            delay: None,
            job: None,
            client_id: None,
            compressing: false,
            consecutive_bad: 0,
            highest_modseq_in_ok: false,
        }
    }

    /// Writes the greeting (`* OK [CAPABILITY ...] ...`).
    pub fn greeting(&mut self) {
        let caps = self.capabilities();
        self.out.extend_from_slice(b"* OK [CAPABILITY ");
        self.out.extend_from_slice(caps.as_bytes());
        self.out.extend_from_slice(b"] mox-rs IMAP4rev2 server ready\r\n");
    }

    /// Output produced so far, for the driver to write; the session's buffer is emptied.
    pub fn take_output(&mut self) -> Vec<u8> {
        let cap = self.out.capacity();
        let out = std::mem::take(&mut self.out);
        if cap > 4096 {
            // Keep idle sessions small: a large buffer is not kept around.
            self.out = Vec::new();
        }
        out
    }

    /// Whether output is waiting.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// A delay the driver applies before writing the output (after a failed login).
    pub fn take_delay(&mut self) -> Option<Duration> {
        self.delay.take()
    }

    /// The account of an authenticated session (to watch its changes).
    pub fn account(&self) -> Option<&store::Account> {
        match &self.state {
            State::Authenticated(a) => Some(&a.account),
            _ => None,
        }
    }

    /// The login name of an authenticated session, for logs.
    pub fn username(&self) -> Option<&str> {
        match &self.state {
            State::Authenticated(a) => Some(&a.username),
            _ => None,
        }
    }

    /// Whether the session is in IDLE.
    pub fn is_idle(&self) -> bool {
        matches!(self.mode, InputMode::Idle { .. })
    }

    /// Whether the session has nothing in progress: no partial command, no job. Idle
    /// connections release their buffers.
    pub fn is_quiet(&self) -> bool {
        self.inbuf.is_empty() && self.job.is_none() && self.out.is_empty()
    }

    /// Feeds bytes read from the connection and processes what can be processed.
    pub fn input(&mut self, data: &[u8]) -> Action {
        match &mut self.mode {
            InputMode::Append(_) | InputMode::Skip { .. } if self.inbuf.is_empty() => {
                // Streamed data is not buffered: it goes to its file (or nowhere) directly.
                let used = self.stream_input(data);
                self.inbuf.extend_from_slice(&data[used..]);
            }
            _ => self.inbuf.extend_from_slice(data),
        }
        self.process()
    }

    /// Continues after [`Action::Continue`].
    pub fn resume(&mut self) -> Action {
        self.process()
    }

    /// Called when TLS is established after STARTTLS.
    pub fn tls_established(&mut self, channel_bindings: Vec<sasl::ChannelBinding>) {
        self.conn.tls = true;
        self.conn.starttls_available = false;
        self.conn.channel_bindings = channel_bindings;
    }

    /// Reports a committed transaction of the account. Returns whether the session wants
    /// to send responses now ([`Session::flush_changes`]): during IDLE, or with NOTIFY.
    pub fn changes(&mut self, changes: &store::Changes) -> bool {
        let idle = self.is_idle();
        let busy = self.job.is_some();
        let State::Authenticated(a) = &mut self.state else { return false };
        let mut selected = false;
        if let Some(sel) = &mut a.selected {
            selected = sel.note_changes(changes);
        }
        let selected_id = a.selected.as_ref().map(|s| s.id);
        let mut notify = false;
        if let Some(n) = &mut a.notify {
            notify = n.note_changes(changes, selected_id);
        }
        !busy && (notify || (idle && selected))
    }

    /// Sends the responses for changes reported with [`Session::changes`] (in IDLE, or
    /// with NOTIFY while no command runs).
    pub fn flush_changes(&mut self) -> Action {
        if self.job.is_some() {
            return Action::Continue;
        }
        if self.is_idle() {
            self.sync_unsolicited(true, true);
            return Action::Read;
        }
        // With NOTIFY and no command in progress: the events, and the selected mailbox's
        // changes if a selected filter asks for them (expunges not with selected-delayed).
        let selected = self
            .auth()
            .and_then(|a| a.notify.as_ref())
            .and_then(|n| n.selected_filter().map(|(delayed, _)| !delayed));
        match selected {
            Some(expunges) => self.sync_unsolicited(expunges, false),
            None => self.flush_notify_events(),
        }
        Action::Read
    }

    /// Logs out because the server shuts down: `* BYE`.
    pub fn shutdown(&mut self) {
        self.out.extend_from_slice(b"* BYE server shutting down\r\n");
        self.state = State::Logout;
    }

    /// Logs out after the connection was idle too long (RFC 9051 §5.4: at least 30 minutes
    /// once authenticated).
    pub fn timeout(&mut self) {
        self.out.extend_from_slice(b"* BYE autologout; idle for too long\r\n");
        self.state = State::Logout;
    }

    /// The capability list for the current state.
    pub(crate) fn capabilities(&self) -> String {
        let mut caps = CAPABILITIES.join(" ");
        if self.conn.starttls_available && !self.conn.tls {
            caps.push_str(" STARTTLS");
        }
        if self.plaintext_auth_allowed() {
            caps.push_str(" AUTH=PLAIN");
        } else {
            caps.push_str(" LOGINDISABLED");
        }
        if !self.compressing && matches!(self.state, State::Authenticated(_)) {
            caps.push_str(" COMPRESS=DEFLATE");
        }
        // RFC 7889: the largest message APPEND accepts.
        let limit = self.config.append_limit.unwrap_or(i64::MAX as u64);
        caps.push_str(&format!(" APPENDLIMIT={limit}"));
        caps
    }

    pub(crate) fn plaintext_auth_allowed(&self) -> bool {
        self.conn.tls || self.config.allow_plaintext_auth
    }

    pub(crate) fn utf8(&self) -> bool {
        self.enabled.utf8()
    }

    fn process(&mut self) -> Action {
        loop {
            if self.out.len() >= OUTPUT_HIGH_WATER {
                return Action::Continue;
            }
            if let Some(job) = self.job.take() {
                self.run_job(job);
                if self.job.is_some() {
                    return Action::Continue;
                }
                continue;
            }
            if let Some(a) = self.after_output.take() {
                return a;
            }
            if matches!(self.state, State::Logout) {
                return Action::Close;
            }
            if !self.step_input() {
                if self.inbuf.is_empty() && self.inbuf.capacity() > 4096 {
                    self.inbuf = Vec::new();
                }
                return Action::Read;
            }
        }
    }

    /// Handles buffered input; false when more input is needed.
    fn step_input(&mut self) -> bool {
        match std::mem::replace(&mut self.mode, InputMode::Command) {
            InputMode::Command => self.step_command(),
            InputMode::Append(s) => {
                self.mode = InputMode::Append(s);
                if self.inbuf.is_empty() {
                    return false;
                }
                let data = std::mem::take(&mut self.inbuf);
                let used = self.stream_input(&data);
                self.inbuf = data[used..].to_vec();
                true
            }
            InputMode::Skip { remaining, tag, reply } => {
                self.mode = InputMode::Skip { remaining, tag, reply };
                if self.inbuf.is_empty() {
                    return false;
                }
                let data = std::mem::take(&mut self.inbuf);
                let used = self.stream_input(&data);
                self.inbuf = data[used..].to_vec();
                true
            }
            InputMode::AppendNext(s) => self.step_append_next(s),
            InputMode::DiscardCommand { tag, reply } => self.step_discard_command(tag, reply),
            InputMode::DiscardLine { tag } => match memchr::memchr(b'\n', &self.inbuf) {
                Some(i) => {
                    self.inbuf.drain(..=i);
                    let tag = tag.as_deref().unwrap_or("*");
                    self.out.extend_from_slice(tag.as_bytes());
                    self.out.extend_from_slice(b" BAD [TOOBIG] command line too long\r\n");
                    true
                }
                None => {
                    self.inbuf.clear();
                    self.mode = InputMode::DiscardLine { tag };
                    false
                }
            },
            InputMode::Authenticate(ex) => self.step_authenticate(ex),
            InputMode::Idle { tag } => {
                let Some(i) = memchr::memchr(b'\n', &self.inbuf) else {
                    self.mode = InputMode::Idle { tag };
                    if self.inbuf.len() > 1024 {
                        self.inbuf.clear();
                        self.mode = InputMode::Command;
                        self.out.extend_from_slice(b"* BYE expected DONE\r\n");
                        self.state = State::Logout;
                        return true;
                    }
                    return false;
                };
                let line: Vec<u8> = self.inbuf.drain(..=i).collect();
                let line = trim_crlf(&line);
                if line.eq_ignore_ascii_case(b"DONE") {
                    self.end_idle(&tag);
                } else {
                    self.tagged(&tag, "IDLE", Err(Failure::bad("expected DONE to end IDLE")));
                }
                true
            }
        }
    }

    fn step_command(&mut self) -> bool {
        let limits = self.config.limits;
        match self.framer.next(&self.inbuf, &limits) {
            Frame::Incomplete => false,
            Frame::LineTooLong => {
                let tag = parse::parse_tag(&self.inbuf);
                self.framer.reset();
                // DiscardLine drops the line up to its end, which may be buffered already
                // (with commands after it): the buffer is not simply cleared.
                self.mode = InputMode::DiscardLine { tag };
                true
            }
            Frame::Complete(n) => {
                let cmd: Vec<u8> = self.inbuf.drain(..n).collect();
                self.framer.reset();
                if matches!(self.state, State::Authenticated(_)) || !cmd.is_empty() {
                    self.handle_command(&cmd);
                }
                true
            }
            Frame::Literal(a) => {
                self.literal_announced(a);
                true
            }
        }
    }
}

/// After this many BAD responses in a row the connection is closed: the client is confused
/// or not an IMAP client.
const MAX_CONSECUTIVE_BAD: u32 = 20;

impl Session {
    fn literal_announced(&mut self, a: crate::framing::LiteralAnnouncement) {
        if !matches!(self.state, State::NotAuthenticated) {
            // APPEND and REPLACE message data is streamed to a message file, never buffered.
            if let Ok(Some(prefix)) = parse::parse_append_prefix(&self.inbuf[..a.line_end]) {
                self.inbuf.drain(..a.line_end);
                self.framer.reset();
                self.start_append(prefix);
                return;
            }
        }
        let mut limits = self.config.limits;
        if matches!(self.state, State::NotAuthenticated) {
            // Before login, nothing needs more than a user name and password.
            limits.max_literal = limits.max_literal.min(8 * 1024);
        }
        if self.framer.accept_literal(a.size, &limits) {
            if a.sync {
                self.out.extend_from_slice(b"+ Ready for literal data\r\n");
            }
            return;
        }
        let tag = parse::parse_tag(&self.inbuf).unwrap_or_else(|| "*".to_string());
        let reply = format!("BAD [TOOBIG] literal of {} bytes is larger than allowed", a.size);
        self.inbuf.drain(..a.line_end);
        self.framer.reset();
        if a.sync {
            // The client waits for a continuation request before sending the data: it sends
            // nothing more of this command.
            self.tagged_line(&tag, &reply);
        } else {
            self.mode = InputMode::Skip { remaining: a.size, tag, reply };
        }
    }

    /// Feeds streamed data (APPEND message data, or skipped literals); returns how many
    /// bytes it used.
    fn stream_input(&mut self, data: &[u8]) -> usize {
        match std::mem::replace(&mut self.mode, InputMode::Command) {
            InputMode::Append(mut s) => {
                let used = self.append_data(&mut s, data);
                if s.literal_left == 0 {
                    self.mode = self.append_literal_done(s);
                } else {
                    self.mode = InputMode::Append(s);
                }
                used
            }
            InputMode::Skip { remaining, tag, reply } => {
                let n = remaining.min(data.len() as u64);
                let remaining = remaining - n;
                self.mode = if remaining == 0 {
                    InputMode::DiscardCommand { tag, reply }
                } else {
                    InputMode::Skip { remaining, tag, reply }
                };
                n as usize
            }
            other => {
                self.mode = other;
                0
            }
        }
    }

    fn step_discard_command(&mut self, tag: String, reply: String) -> bool {
        let limits = self.config.limits;
        match self.framer.next(&self.inbuf, &limits) {
            Frame::Incomplete => {
                self.mode = InputMode::DiscardCommand { tag, reply };
                false
            }
            Frame::LineTooLong => {
                self.framer.reset();
                self.tagged_line(&tag, &reply);
                self.mode = InputMode::DiscardLine { tag: None };
                true
            }
            Frame::Complete(n) => {
                self.inbuf.drain(..n);
                self.framer.reset();
                self.tagged_line(&tag, &reply);
                true
            }
            Frame::Literal(a) => {
                self.inbuf.drain(..a.line_end);
                self.framer.reset();
                if a.sync {
                    self.tagged_line(&tag, &reply);
                } else {
                    self.mode = InputMode::Skip { remaining: a.size, tag, reply };
                }
                true
            }
        }
    }

    fn handle_command(&mut self, buf: &[u8]) {
        match parse::parse_command(buf) {
            Err((tag, e)) => {
                let tag = tag.unwrap_or_else(|| "*".to_string());
                tracing::debug!(error = %e, "command parse error");
                let f = match &e {
                    ParseError::BadCharset { .. } => {
                        Failure::no_code("BADCHARSET (UTF-8 US-ASCII)", e.to_string())
                    }
                    ParseError::UnknownCommand { name } => {
                        Failure::bad(format!("unknown command {}", name.escape_default()))
                    }
                    _ => Failure::bad(e.to_string()),
                };
                self.tagged(&tag, "", Err(f));
            }
            Ok(cmd) => self.execute(cmd),
        }
    }

    fn execute(&mut self, cmd: Command) {
        let Command { tag, body } = cmd;
        let name = body.name();
        tracing::debug!(command = name, "command");
        let authenticated = matches!(self.state, State::Authenticated(_));
        let selected = match &self.state {
            State::Authenticated(a) => a.selected.is_some(),
            _ => false,
        };
        use CommandBody as C;
        let needs = match &body {
            C::Capability | C::Noop | C::Logout | C::Id(_) => 0,
            C::StartTls | C::Authenticate { .. } | C::Login { .. } => 1,
            C::Check
            | C::Close
            | C::Unselect
            | C::Expunge { .. }
            | C::Search(_)
            | C::Fetch { .. }
            | C::Store { .. }
            | C::Copy { .. }
            | C::Move { .. }
            | C::Replace { .. }
            | C::Sort { .. }
            | C::Thread { .. }
            | C::CancelUpdate(_) => 3,
            _ => 2,
        };
        let refused = match needs {
            1 if authenticated => Some(Failure::bad("already authenticated")),
            2 if !authenticated => Some(Failure::bad("not authenticated: log in first")),
            3 if !selected => Some(Failure::bad("no mailbox selected")),
            _ => None,
        };
        if let Some(f) = refused {
            self.tagged(&tag, name, Err(f));
            return;
        }
        // UIDONLY (RFC 9586 §3): commands with message sequence numbers are refused.
        if self.enabled.uidonly {
            let seq_cmd = match &body {
                C::Fetch { uid, .. }
                | C::Store { uid, .. }
                | C::Copy { uid, .. }
                | C::Move { uid, .. }
                | C::Replace { uid, .. }
                | C::Thread { uid, .. } => !uid,
                C::Search(s) | C::Sort { search: s, .. } => !s.uid,
                _ => false,
            };
            if seq_cmd {
                let f = Failure::bad_code("UIDREQUIRED", "UIDONLY enabled: use UID commands");
                self.tagged(&tag, name, Err(f));
                return;
            }
        }
        // EXPUNGE responses may not be sent during FETCH, STORE and SEARCH with sequence
        // numbers (RFC 9051 §7.5.1).
        let expunge_allowed =
            !matches!(&body, C::Fetch { uid: false, .. } | C::Store { uid: false, .. })
                && !matches!(&body, C::Search(s) if !s.uid)
                && !matches!(&body, C::Sort { search, .. } if !search.uid)
                && !matches!(&body, C::Thread { uid: false, .. });
        if expunge_allowed && selected {
            // Expunges already known go out first, so the command does not trip over them.
            let _ = self.flush_expunges(true);
        }
        let r = match body {
            C::Capability => {
                let caps = self.capabilities();
                self.untagged(format!("CAPABILITY {caps}").as_bytes());
                ok("CAPABILITY completed")
            }
            C::Noop => ok("NOOP completed"),
            C::Check => ok("CHECK completed"),
            C::Logout => {
                self.out.extend_from_slice(b"* BYE logging out\r\n");
                self.state = State::Logout;
                ok("LOGOUT completed")
            }
            C::Id(params) => self.cmd_id(params),
            C::StartTls => self.cmd_starttls(),
            C::Authenticate { mechanism, initial_response } => {
                self.cmd_authenticate(&tag, &mechanism, initial_response)
            }
            C::Login { username, password } => self.cmd_login(&username, password.expose()),
            C::Enable(caps) => self.cmd_enable(&caps),
            C::Select { mailbox, read_only, condstore, qresync } => {
                self.cmd_select(&mailbox, read_only, condstore, qresync)
            }
            C::Namespace => {
                self.untagged(b"NAMESPACE ((\"\" \"/\")) NIL NIL");
                ok("NAMESPACE completed")
            }
            C::Create { mailbox, special_use } => self.cmd_create(&mailbox, &special_use),
            C::Delete(mailbox) => self.cmd_delete(&mailbox),
            C::Rename { from, to } => self.cmd_rename(&from, &to),
            C::Subscribe(mailbox) => self.cmd_subscribe(&mailbox, true),
            C::Unsubscribe(mailbox) => self.cmd_subscribe(&mailbox, false),
            C::List(l) => self.cmd_list(&l),
            C::Lsub { reference, pattern } => self.cmd_lsub(&reference, &pattern),
            C::Status { mailbox, items } => self.cmd_status(&mailbox, &items),
            C::Append { mailbox, messages } => self.cmd_append_inline(&mailbox, messages),
            C::Idle => {
                self.out.extend_from_slice(b"+ idling\r\n");
                self.mode = InputMode::Idle { tag: tag.clone() };
                self.sync_unsolicited(true, true);
                Ok(None)
            }
            C::Close => self.cmd_close(),
            C::Unselect => self.cmd_unselect(),
            C::Expunge { uids } => self.cmd_expunge(uids.as_ref()),
            C::Search(s) => self.cmd_search(&tag, &s),
            C::Esearch { source, search } => self.cmd_esearch(&tag, source.as_deref(), &search),
            C::Fetch { uid, set, items, changed_since, vanished } => {
                self.cmd_fetch(&tag, uid, &set, items, changed_since, vanished)
            }
            C::Store { uid, set, unchanged_since, op, silent, flags } => {
                self.cmd_store(uid, &set, unchanged_since, op, silent, &flags)
            }
            C::Copy { uid, set, mailbox } => self.cmd_copy_move(uid, &set, &mailbox, false),
            C::Move { uid, set, mailbox } => self.cmd_copy_move(uid, &set, &mailbox, true),
            C::Replace { uid, number, mailbox, message } => {
                self.cmd_replace_inline(uid, number, &mailbox, message)
            }
            C::Sort { criteria, search } => self.cmd_sort(&tag, &criteria, &search),
            C::Thread { uid, algorithm, charset: _, key } => self.cmd_thread(uid, algorithm, &key),
            C::CancelUpdate(tags) => self.cmd_cancel_update(&tags),
            C::GetMetadata { max_size, depth, mailbox, entries } => {
                self.cmd_getmetadata(max_size, depth, &mailbox, &entries)
            }
            C::SetMetadata { mailbox, entries } => self.cmd_setmetadata(&mailbox, entries),
            C::GetQuota(root) => self.cmd_getquota(&root),
            C::GetQuotaRoot(mailbox) => self.cmd_getquotaroot(&mailbox),
            C::SetQuota { .. } => {
                Err(Failure::no_code("NOPERM", "quota is set by the administrator"))
            }
            C::Notify(set) => self.cmd_notify(set),
            C::Compress(mechanism) => self.cmd_compress(&mechanism),
        };
        if matches!(r, Ok(None)) {
            // Answered later (IDLE, AUTHENTICATE, a FETCH job).
            return;
        }
        self.finish_command(&tag, name, r, expunge_allowed);
    }

    /// Sends what changed meanwhile (when in selected state and allowed), then the tagged
    /// response.
    pub(crate) fn finish_command(
        &mut self,
        tag: &str,
        name: &str,
        r: CmdResult,
        expunge_allowed: bool,
    ) {
        if !matches!(self.state, State::Logout) {
            self.sync_unsolicited(expunge_allowed, false);
        }
        let mut r = r;
        if std::mem::take(&mut self.highest_modseq_in_ok)
            && self.enabled.qresync
            && let Ok(Some((code @ None, _))) = &mut r
            && let Some(sel) = self.auth().and_then(|a| a.selected.as_ref())
        {
            // The expunges were just reported: the client is in sync up to this MODSEQ.
            *code = Some(format!("HIGHESTMODSEQ {}", sel.synced_modseq));
        }
        self.tagged(tag, name, r);
    }

    /// Writes the tagged response of a finished command.
    pub(crate) fn tagged(&mut self, tag: &str, name: &str, r: CmdResult) {
        let _ = name;
        let line = match r {
            Ok(None) => return,
            Ok(Some((code, text))) => {
                self.consecutive_bad = 0;
                match code {
                    Some(c) => format!("OK [{c}] {text}"),
                    None => format!("OK {text}"),
                }
            }
            Err(f) => {
                if f.bad {
                    self.consecutive_bad += 1;
                } else {
                    self.consecutive_bad = 0;
                }
                let kind = if f.bad { "BAD" } else { "NO" };
                match f.code {
                    Some(c) => format!("{kind} [{c}] {}", f.text),
                    None => format!("{kind} {}", f.text),
                }
            }
        };
        self.tagged_line(tag, &line);
        if self.consecutive_bad >= MAX_CONSECUTIVE_BAD {
            self.out.extend_from_slice(b"* BYE too many bad commands\r\n");
            self.state = State::Logout;
        }
    }

    pub(crate) fn tagged_line(&mut self, tag: &str, line: &str) {
        self.out.extend_from_slice(tag.as_bytes());
        self.out.push(b' ');
        let utf8 = self.utf8();
        response::text(&mut self.out, line, utf8);
        self.out.extend_from_slice(b"\r\n");
    }

    /// Writes `* <data>\r\n`.
    pub(crate) fn untagged(&mut self, data: &[u8]) {
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\r\n");
    }

    fn end_idle(&mut self, tag: &str) {
        self.finish_command(tag, "IDLE", ok("IDLE terminated"), true);
    }

    fn run_job(&mut self, job: Job) {
        match job {
            Job::Fetch(j) => self.fetch_step(j),
        }
    }

    fn cmd_id(&mut self, params: Option<Vec<(String, Option<String>)>>) -> CmdResult {
        if let Some(p) = params {
            let s: Vec<String> = p
                .iter()
                .take(30)
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NIL")))
                .collect();
            let s = s.join(" ");
            tracing::info!(client = %s, "client identification");
            self.client_id = Some(s);
        }
        self.untagged(b"ID (\"name\" \"mox-rs\")");
        ok("ID completed")
    }

    fn cmd_starttls(&mut self) -> CmdResult {
        if self.conn.tls {
            return Err(Failure::bad("TLS already active"));
        }
        if !self.conn.starttls_available {
            return Err(Failure::bad("STARTTLS not available on this listener"));
        }
        if !self.inbuf.is_empty() {
            // Commands sent before the TLS handshake could be injected by a man in the
            // middle (RFC 9051 §11.1, the STARTTLS command injection problem): refuse.
            self.inbuf.clear();
            return Err(Failure::bad("data after STARTTLS before TLS handshake"));
        }
        self.after_output = Some(Action::StartTls);
        ok("begin TLS negotiation now")
    }

    fn cmd_enable(&mut self, caps: &[String]) -> CmdResult {
        let mut enabled = Vec::new();
        for c in caps {
            let u = c.to_ascii_uppercase();
            let newly = match u.as_str() {
                "IMAP4REV2" => !std::mem::replace(&mut self.enabled.imap4rev2, true),
                "UTF8=ACCEPT" => !std::mem::replace(&mut self.enabled.utf8, true),
                "CONDSTORE" => !std::mem::replace(&mut self.enabled.condstore, true),
                "QRESYNC" => {
                    // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
                    self.enabled.condstore = true;
                    !std::mem::replace(&mut self.enabled.qresync, true)
                }
                "UIDONLY" => !std::mem::replace(&mut self.enabled.uidonly, true),
                "METADATA" => !std::mem::replace(&mut self.enabled.metadata, true),
                _ => false,
            };
            if newly {
                enabled.push(match u.as_str() {
                    "IMAP4REV2" => "IMAP4rev2",
                    other => CAPABILITIES
                        .iter()
                        .copied()
                        .find(|k| k.eq_ignore_ascii_case(other))
                        .unwrap_or("UIDONLY"),
                });
            }
        }
        let mut line = b"ENABLED".to_vec();
        for e in enabled {
            line.push(b' ');
            line.extend_from_slice(e.as_bytes());
        }
        self.untagged(&line);
        ok("ENABLE completed")
    }

    fn cmd_compress(&mut self, mechanism: &str) -> CmdResult {
        if mechanism != "DEFLATE" {
            return Err(Failure::bad("only DEFLATE compression is supported"));
        }
        if self.compressing {
            return Err(Failure::no_code("COMPRESSIONACTIVE", "compression already active"));
        }
        if !self.inbuf.is_empty() {
            self.inbuf.clear();
            return Err(Failure::bad("data after COMPRESS before compression started"));
        }
        self.compressing = true;
        self.after_output = Some(Action::StartCompression);
        ok("DEFLATE active")
    }
}

fn trim_crlf(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}
