//! The smtpclient error type.

use std::fmt;
use std::time::Duration;

use crate::reply::{Reply, ReplyError};

/// The step of the session during which something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Establishing the TCP connection.
    Connect,
    /// The TLS handshake (implicit TLS or after STARTTLS).
    TlsHandshake,
    /// Waiting for the 220 greeting.
    Greeting,
    /// EHLO.
    Ehlo,
    /// HELO (after EHLO was refused).
    Helo,
    /// STARTTLS.
    StartTls,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA, up to the 354.
    Data,
    /// Sending the message and waiting for the final reply.
    DataEnd,
    /// RSET.
    Rset,
    /// QUIT.
    Quit,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::TlsHandshake => "TLS handshake",
            Phase::Greeting => "greeting",
            Phase::Ehlo => "EHLO",
            Phase::Helo => "HELO",
            Phase::StartTls => "STARTTLS",
            Phase::Auth => "AUTH",
            Phase::Mail => "MAIL FROM",
            Phase::Rcpt => "RCPT TO",
            Phase::Data => "DATA",
            Phase::DataEnd => "end of DATA",
            Phase::Rset => "RSET",
            Phase::Quit => "QUIT",
        })
    }
}

/// Why a session or delivery failed. [`Error::is_permanent`] tells a queue whether to retry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing or connecting failed.
    #[error("{during}: {source}")]
    Io {
        /// When.
        during: Phase,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No reply (or no progress writing) within the RFC 5321 §4.5.3.2 time.
    #[error("{during}: timeout after {}s", after.as_secs())]
    Timeout {
        /// When.
        during: Phase,
        /// The timeout that expired.
        after: Duration,
    },
    /// The server closed the connection.
    #[error("{during}: connection closed by server{}", if *mid_reply { " in the middle of a reply" } else { "" })]
    ConnectionClosed {
        /// When.
        during: Phase,
        /// Whether part of a reply had arrived.
        mid_reply: bool,
    },
    /// The server sent something that is not an SMTP reply.
    #[error("{during}: {source}")]
    MalformedReply {
        /// When.
        during: Phase,
        /// What was wrong.
        #[source]
        source: ReplyError,
    },
    /// The server answered with an error (or an unexpected code).
    #[error("{during}: server replied {reply}")]
    Rejected {
        /// Which command was refused.
        during: Phase,
        /// The server's reply.
        reply: Reply,
    },
    /// The TLS handshake failed, e.g. the certificate did not verify.
    #[error("TLS handshake: {source}")]
    Tls {
        /// The error from rustls (wrapped in an I/O error by tokio-rustls).
        #[source]
        source: std::io::Error,
    },
    /// TLS is required but the server does not announce STARTTLS.
    #[error("server does not offer STARTTLS and TLS is required")]
    StartTlsUnavailable,
    /// The server sent bytes after its STARTTLS reply, before the handshake: an injection
    /// attempt (CVE-2011-0411 style). The session is dropped.
    #[error("data received after the STARTTLS reply, before the TLS handshake")]
    DataAfterStartTls,
    /// No offered SASL mechanism is one we may use.
    #[error("no usable authentication mechanism among those offered: {offered:?}")]
    NoAuthMechanism {
        /// What the server offered.
        offered: Vec<String>,
    },
    /// Authentication with a mechanism that sends the password (PLAIN, LOGIN) was refused
    /// because the connection is not encrypted.
    #[error("refusing to send the password with {mechanism} over a connection without TLS")]
    InsecureAuth {
        /// The mechanism.
        mechanism: sasl::Mechanism,
    },
    /// The server refused our credentials.
    #[error("authentication with {mechanism} failed: {reply}")]
    AuthFailed {
        /// The mechanism tried.
        mechanism: sasl::Mechanism,
        /// The server's reply.
        reply: Reply,
    },
    /// The SASL exchange failed on our side, e.g. the server's SCRAM signature is wrong.
    #[error("authentication: {0}")]
    Sasl(#[from] sasl::ClientError),
    /// The message is larger than the server's announced SIZE limit.
    #[error("message of {size} bytes exceeds the server's limit of {limit} bytes")]
    MessageTooLarge {
        /// Our message size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// The message has 8-bit content and the server lacks 8BITMIME.
    #[error("message has 8-bit content and the server does not support 8BITMIME")]
    EightBitMimeUnsupported,
    /// The message or an address needs SMTPUTF8 and the server lacks it.
    #[error("message needs SMTPUTF8 and the server does not support it")]
    SmtpUtf8Unsupported,
    /// REQUIRETLS was asked for, and the server lacks it or the connection has no TLS.
    #[error("REQUIRETLS requested but {0}")]
    RequireTlsUnavailable(&'static str),
    /// A MAIL or RCPT parameter given in the [`Envelope`](crate::Envelope) is empty or has a
    /// space or control character.
    #[error("invalid SMTP command parameter {0:?}")]
    InvalidParameter(String),
    /// The caller used the session out of order (e.g. delivered before setup finished).
    #[error("session used out of order: {0}")]
    OutOfOrder(&'static str),
    /// Reading the message to send failed.
    #[error("reading the message: {0}")]
    Message(#[source] std::io::Error),
}

impl Error {
    /// Whether retrying later cannot help: a 5xx reply, a message the server cannot take, a
    /// missing extension we require. Timeouts, I/O errors, 4xx replies and TLS failures are
    /// transient.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::Rejected { reply, .. } | Error::AuthFailed { reply, .. } => reply.is_permanent(),
            Error::MessageTooLarge { .. }
            | Error::EightBitMimeUnsupported
            | Error::SmtpUtf8Unsupported
            | Error::RequireTlsUnavailable(_)
            | Error::NoAuthMechanism { .. }
            | Error::InsecureAuth { .. } => true,
            _ => false,
        }
    }

    /// The server's reply behind this error, if there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::Rejected { reply, .. } | Error::AuthFailed { reply, .. } => Some(reply),
            _ => None,
        }
    }
}
