//! An SMTP server for incoming mail (MX, port 25) and submission (587 with STARTTLS, 465 with
//! TLS), with the checks mox makes, in mox's order.
//!
//! # Layers
//!
//! - [`Session`]: the protocol, without I/O (RFC 5321). Bytes in ([`Session::handle_input`]),
//!   replies out ([`Session::take_output`]), and an [`Action`] saying what the driver does
//!   next: read, flush, start TLS, close, or answer a [`Request`] (a HELO check, a credentials
//!   lookup, a sender or recipient check, the delivery of a complete message) with a
//!   [`Response`]. Extensions: PIPELINING (RFC 2920, with its synchronization rules),
//!   SIZE (RFC 1870), STARTTLS (RFC 3207), AUTH (RFC 4954; SCRAM-SHA-256(-PLUS),
//!   SCRAM-SHA-1(-PLUS), CRAM-MD5, PLAIN, LOGIN through the `sasl` crate), 8BITMIME
//!   (RFC 6152), CHUNKING and BINARYMIME (RFC 3030), DSN (RFC 3461), SMTPUTF8 (RFC 6531),
//!   REQUIRETLS (RFC 8689), FUTURERELEASE (RFC 4865), LIMITS (RFC 9422), ENHANCEDSTATUSCODES
//!   (RFC 2034, RFC 3463). Message data is decoded by [`DataDecoder`], which never ends DATA
//!   on a bare CR or LF and rejects the SMTP smuggling forms.
//! - [`server`]: the tokio driver: listeners, rustls, timeouts, shutdown and drain
//!   ([`runtime::Shutdown`]), connection limits ([`limits`]).
//! - [`Mailer`]: the [`Backend`] of a real server. Recipients resolve through a
//!   [`directory::Directory`] ([`config_directory::ConfigDirectory`] over mox's
//!   domains.conf; [`directory::StaticDirectory`] in memory). Incoming mail gets iprev, SPF
//!   (HELO and MAIL FROM), DKIM, DMARC (reject → `550 5.7.1`, quarantine → the Junk mailbox),
//!   rulesets, reputation from the account's history and the junk filter (the `junk` crate),
//!   DNSBLs, the Rejects mailbox and FirstTimeSenderDelay; Authentication-Results,
//!   Received-SPF and Received go into the stored message's prefix. Submission requires AUTH,
//!   checks MAIL FROM and From against the account, adds Message-ID and Date, DKIM-signs,
//!   delivers locally and queues the rest ([`runtime::Outgoing`]). A 250 is only sent once the
//!   message is durably in every recipient's mailbox (fsync, commit) or queued.
//! - [`listener`]: the session settings of a mox.conf listener and a starter for `mox serve`;
//!   [`localserve`]: the special local parts of `mox localserve`.
//!
//! # Example
//!
//! The session alone, fed by hand, with the backend's answers given inline:
//!
//! ```
//! use std::sync::Arc;
//! use smtpserver::{Action, Ecode, Reply, Request, Response, Service, Session, SessionConfig, Target};
//! use smtpserver::directory::{Destination, LocalRecipient};
//!
//! let config = SessionConfig::new(Service::Smtp, dns::Domain::parse("mx.example.org")?, false);
//! let remote = "192.0.2.10".parse()?;
//! let local = "192.0.2.1".parse()?;
//! let mut s = Session::new(Arc::new(config), 1, "cid1".into(), remote, local, None);
//! s.greet();
//! assert_eq!(s.take_output(), b"220 mx.example.org ESMTP mox\r\n");
//!
//! // Commands in the wrong order are refused.
//! let (_, action) = s.handle_input(b"MAIL FROM:<alice@example.com>\r\n");
//! assert!(matches!(action, Action::NeedInput));
//! assert_eq!(s.take_output(), b"503 5.5.1 no ehlo/helo yet\r\n");
//! let (_, action) = s.handle_input(b"EHLO client.example.com\r\n");
//! assert!(matches!(action, Action::NeedInput));
//! assert!(String::from_utf8(s.take_output())?.contains("250-PIPELINING\r\n"));
//!
//! // A pipelined transaction: the session asks about the sender, then the recipient.
//! let input = b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\n";
//! let (n, action) = s.handle_input(input);
//! let Action::Request(Request::MailFrom { from, .. }) = action else { panic!() };
//! assert_eq!(from.ascii(), "alice@example.com");
//! assert!(s.resolve(Response::MailFrom(Ok(()))).is_none());
//! let (m, action) = s.handle_input(&input[n..]);
//! let Action::Request(Request::Rcpt { .. }) = action else { panic!() };
//! let bob = LocalRecipient { account: "bob".into(), canonical: "bob@example.org".into(), destination: Arc::new(Destination::default()) };
//! s.resolve(Response::Rcpt(Ok(Target::Local(bob)), None));
//! assert_eq!(n + m, input.len());
//! assert_eq!(s.take_output(), b"250 2.1.0 looking good\r\n250 2.1.0 now on the list\r\n");
//!
//! // DATA, the message, and the end of data: the backend delivers and gives the reply.
//! let (_, action) = s.handle_input(b"DATA\r\n");
//! assert!(matches!(action, Action::Flush));
//! assert_eq!(s.take_output(), b"354 see you at the bare dot\r\n");
//! let (_, action) = s.handle_input(b"Subject: hi\r\n\r\n..dot-stuffed\r\n.\r\n");
//! let Action::Request(Request::Deliver(delivery)) = action else { panic!() };
//! assert_eq!(delivery.data.into_bytes()?, b"Subject: hi\r\n\r\n.dot-stuffed\r\n");
//! s.resolve(Response::Delivered(Reply::new(250, Ecode::MAILBOX_OTHER, "it is done")));
//! assert_eq!(s.take_output(), b"250 2.2.0 it is done\r\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A whole server: build a [`Mailer`] from a directory, a resolver and [`limits::Limits`],
//! and run [`server::serve`] (or [`listener::serve_service`] for a mox.conf listener) for each
//! listener; the `serve` example does this for a mox.conf.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
mod command;
pub mod config_directory;
mod data;
pub mod directory;
mod dsn;
#[doc(hidden)]
pub mod fuzzing;
mod headers;
mod incoming;
pub mod iprev;
mod junk_settings;
pub mod limits;
pub mod listener;
pub mod localserve;
mod mailer;
mod reply;
mod rules;
pub mod server;
mod session;
mod store_delivery;
mod submit;

pub use backend::{Backend, Target};
pub use command::{
    BodyType, Command, DsnRet, ForwardPath, FutureRelease, HelloName, MailParams, Notify, Path,
    PathDomain, RcptParams, ReversePath, address_literal, parse_command, xtext_decode,
    xtext_encode,
};
pub use data::{DataDecoder, DataSummary, MessageData};
pub use mailer::Mailer;
pub use reply::{Ecode, Reply, check_replies};
pub use runtime::{Outgoing, OutgoingMessage, OutgoingRecipient, QueueId, SubmitError};
pub use session::{
    AUTH_MECHANISMS, Action, AuthIdentity, Context, Delivery, Recipient, Request, Response,
    Service, Session, SessionConfig, TlsInfo, Transaction,
};
