//! An SMTP client: a sans-IO session core and a tokio driver, for submission (RFC 6409) and
//! delivery to MX hosts (RFC 5321).
//!
//! - [`Session`] is the protocol state machine: greeting, EHLO with HELO fallback, extension
//!   parsing ([`Capabilities`]: PIPELINING, SIZE, 8BITMIME, SMTPUTF8, STARTTLS, AUTH,
//!   ENHANCEDSTATUSCODES, REQUIRETLS, CHUNKING), STARTTLS (RFC 3207), AUTH (RFC 4954) with the
//!   strongest mechanism from the `sasl` crate (SCRAM-PLUS > SCRAM > CRAM-MD5 > PLAIN/LOGIN,
//!   the last two only over TLS), MAIL/RCPT/DATA pipelined when offered (RFC 2920), and
//!   per-recipient results ([`Delivery`]). It never touches a socket.
//! - [`parse_reply`] turns bytes into [`Reply`]s: code, [`EnhancedCode`] (RFC 3463), every
//!   line; malformed replies are errors, never hangs.
//! - [`DotStuffer`] encodes a message for DATA as it streams (RFC 5321 §4.5.2).
//! - [`Client`] drives a session over tokio with rustls (ring), implicit TLS or STARTTLS with
//!   the verification policy the caller chooses ([`TlsVerification`]), and the RFC 5321
//!   §4.5.3.2 timeouts ([`Timeouts`]).
//! - [`dial`] opens the connection from a chosen local address or through a SOCKS5 proxy
//!   (RFC 1928), for [`Client::establish`].
//! - [`Error::is_permanent`] and [`Reply::is_permanent`] tell a queue whether to retry.
//!
//! Logging: protocol lines at `trace` level; AUTH exchanges only at the `traceauth::smtpclient` target (see the `mox` logging conventions).
//!
//! The session alone, fed by hand (no network):
//!
//! ```
//! use smtpclient::{Action, Envelope, Reply, Session, SessionConfig, TlsMode, parse_reply};
//!
//! let config = SessionConfig {
//!     hostname: dns::Domain::parse("client.example.org")?,
//!     tls: TlsMode::Plaintext,
//!     auth: None,
//!     timeouts: Default::default(),
//! };
//! let mut session = Session::new(config);
//! let reply = |text: &[u8]| parse_reply(text).unwrap().unwrap().0;
//!
//! assert!(matches!(session.start(), Action::AwaitReply));
//! let Action::Send(ehlo) = session.on_reply(reply(b"220 mx.example.org ESMTP\r\n"))? else { panic!() };
//! assert_eq!(ehlo.bytes, b"EHLO client.example.org\r\n");
//! let ready = session.on_reply(reply(b"250-mx.example.org\r\n250 PIPELINING\r\n"))?;
//! assert!(matches!(ready, Action::Ready));
//!
//! let envelope = Envelope::new(Some("a@example.org".parse()?), vec!["b@example.net".parse()?]);
//! let batch = session.begin(&envelope)?;
//! assert_eq!(batch.bytes, b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
//! session.on_reply(reply(b"250 2.1.0 Ok\r\n"))?;
//! session.on_reply(reply(b"250 2.1.5 Ok\r\n"))?;
//! assert!(matches!(session.on_reply(reply(b"354 go ahead\r\n"))?, Action::SendMessage));
//! // ... the driver streams the message through a DotStuffer ...
//! let Action::Delivered(delivery) = session.on_reply(reply(b"250 2.0.0 queued as 1234\r\n"))? else { panic!() };
//! assert!(delivery.all_delivered());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod capabilities;
mod client;
pub mod dial;
mod dotstuff;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod reply;
mod session;
pub mod tls;

pub use capabilities::Capabilities;
pub use client::{Client, ClientOptions};
pub use dotstuff::{DotStuffer, dot_stuff, dot_unstuff};
pub use error::{Error, Phase};
pub use reply::{
    EnhancedCode, MAX_REPLY_LINE, MAX_REPLY_SIZE, Reply, ReplyError, Severity, parse_reply,
};
pub use session::{
    Action, AuthConfig, Delivery, Envelope, Outgoing, RecipientResult, Session, SessionConfig,
    Timeouts, TlsMode, select_mechanism,
};
pub use tls::{ClientCertificate, TlsVerification};
