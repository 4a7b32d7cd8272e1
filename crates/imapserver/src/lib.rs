//! An IMAP server: IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) with mox's extensions and
//! more, over the [`store`] crate.
//!
//! # Structure
//!
//! - [`parse`] turns a complete command into a [`Command`] (typed arguments; literals, LITERAL+
//!   and literal8 inline); [`encode`] is its inverse, for clients and the round-trip fuzz
//!   target. [`framing`] finds command boundaries in buffered input with size limits applied
//!   before anything is buffered, and reports each literal announcement so APPEND data can be
//!   streamed to message files; "need more bytes" is the value [`framing::Frame::Incomplete`].
//! - [`session::Session`] is the protocol state machine, sans-IO: bytes in
//!   ([`Session::input`]), responses out ([`Session::take_output`]), and an [`Action`] for the
//!   driver (read more, continue, start TLS, start compression, close). It calls the store
//!   (which blocks on disk I/O) and takes the account's change notifications
//!   ([`Session::changes`]) to send EXISTS, EXPUNGE, VANISHED and FETCH when the protocol
//!   allows: after commands, in IDLE, or at any time with NOTIFY. The selected mailbox's view
//!   is synchronized from the store by MODSEQ, so bursts of changes cost one read.
//! - Logins go through two traits: [`session::Authenticator`] (login name → account and
//!   `sasl::StoredCredentials`) and [`session::LoginLimiter`] (delays and lockout per IP after
//!   failures, shared with other protocols).
//! - [`server`] is the tokio driver: listeners with STARTTLS or implicit TLS (tokio-rustls with
//!   ring), COMPRESS=DEFLATE, timeouts, a connection limit, graceful shutdown, and a tracing
//!   span with a connection id per connection.
//!
//! # Capabilities
//!
//! IMAP4rev2 IMAP4rev1 ENABLE LITERAL+ IDLE SASL-IR BINARY UNSELECT UIDPLUS ESEARCH SEARCHRES
//! MOVE UTF8=ACCEPT LIST-EXTENDED SPECIAL-USE CREATE-SPECIAL-USE LIST-STATUS
//! AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS AUTH=SCRAM-SHA-1
//! AUTH=CRAM-MD5 AUTH=PLAIN ID APPENDLIMIT CONDSTORE QRESYNC STATUS=SIZE QUOTA QUOTA=RES-STORAGE
//! METADATA SAVEDATE WITHIN NAMESPACE LIST-METADATA MULTIAPPEND REPLACE PREVIEW INPROGRESS
//! MULTISEARCH NOTIFY UIDONLY SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH
//! CONTEXT=SORT COMPRESS=DEFLATE, plus STARTTLS or LOGINDISABLED depending on the connection.
//! IMAP4rev1 clients get `\Recent`, RECENT, LSUB, the RFC822.* items and modified UTF-7
//! mailbox names until they enable UTF8=ACCEPT or IMAP4rev2.
//!
//! # Example
//!
//! A session driven without sockets:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use imapserver::session::{MemoryAuthenticator, SimpleLoginLimiter};
//! use imapserver::{Action, Config, ConnectionInfo, Session};
//!
//! let dir = tempfile::tempdir()?;
//! let auth = MemoryAuthenticator::new(dir.path().join("accounts"));
//! let cheap = sasl::DeriveParams { scram_iterations: 64.try_into()?, argon2_memory_kib: 64, argon2_passes: 1 };
//! auth.add_user("mjl@mox.example", "mjl", "secret-password", &cheap)?;
//! let config = Arc::new(Config {
//!     hostname: "mail.mox.example".into(),
//!     authenticator: Arc::new(auth),
//!     login_limiter: Arc::new(SimpleLoginLimiter::new(Duration::ZERO, Duration::ZERO, 10, Duration::from_secs(60))),
//!     limits: Default::default(),
//!     append_limit: None,
//!     allow_plaintext_auth: false,
//! });
//! let conn = ConnectionInfo {
//!     remote_ip: "127.0.0.1".parse()?,
//!     tls: true, // LOGIN is refused without TLS (LOGINDISABLED)
//!     starttls_available: false,
//!     channel_bindings: vec![],
//! };
//! let mut session = Session::new(config, conn);
//! session.greeting();
//! assert!(session.take_output().starts_with(b"* OK [CAPABILITY IMAP4rev2 IMAP4rev1 "));
//!
//! let action = session.input(b"a LOGIN mjl@mox.example secret-password\r\nb SELECT INBOX\r\n");
//! assert_eq!(action, Action::Read);
//! let out = String::from_utf8(session.take_output())?;
//! assert!(out.contains("a OK [CAPABILITY "));
//! assert!(out.contains("* 0 EXISTS\r\n"));
//! assert!(out.ends_with("b OK [READ-WRITE] SELECT completed\r\n"));
//!
//! // APPEND data is streamed to a message file as it arrives.
//! session.input(b"c APPEND INBOX {12}\r\n");
//! assert_eq!(session.take_output(), b"+ Ready for literal data\r\n");
//! session.input(b"Subject: x\r\n\r\n");
//! let out = String::from_utf8(session.take_output())?;
//! assert!(out.starts_with("* 1 EXISTS\r\n"), "{out}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod charset;
pub mod command;
pub mod compress;
pub mod encode;
pub mod error;
pub mod framing;
#[doc(hidden)]
pub mod fuzzing;
pub mod parse;
pub mod response;
pub mod seqset;
pub mod server;
pub mod session;
pub mod utf7;

pub use command::{Command, CommandBody};
pub use error::ParseError;
pub use session::{Action, Config, ConnectionInfo, Session};
