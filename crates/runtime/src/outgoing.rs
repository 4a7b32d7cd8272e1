//! The hand-off from the SMTP server's submission to the outgoing queue: the SMTP server holds
//! an [`Outgoing`] and calls [`Outgoing::submit`]; the queue implements it. When `submit`
//! returns `Ok`, the message is durably queued (the SMTP server may answer 250).

use std::time::SystemTime;

/// A queue identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub u64);

/// When to send a delivery status notification for a recipient (RFC 3461 §4.1 `NOTIFY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DsnNotify {
    /// `NOTIFY=NEVER`: never, whatever the other fields say.
    pub never: bool,
    /// On successful delivery.
    pub success: bool,
    /// On permanent failure.
    pub failure: bool,
    /// When delivery is delayed.
    pub delay: bool,
}

/// How much of the message a DSN returns (RFC 3461 §4.3 `RET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnRet {
    /// The whole message.
    Full,
    /// Only its header.
    Headers,
}

/// One recipient of an outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRecipient {
    /// The forward-path address (`localpart@domain`, domain in Unicode or ASCII).
    pub address: String,
    /// `NOTIFY`, if the client gave it (`None`: the default, failure and delay).
    pub notify: Option<DsnNotify>,
    /// `ORCPT` as given (`addr-type;xtext`), for the DSN.
    pub orcpt: Option<String>,
}

/// A message for the queue, with its envelope and submission parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The account that submitted it (DSNs go there); empty for messages the server itself
    /// sends (reports, DSNs).
    pub account: String,
    /// The reverse-path (MAIL FROM); empty for the null sender (`<>`).
    pub mail_from: String,
    /// The recipients, at least one.
    pub recipients: Vec<OutgoingRecipient>,
    /// `ENVID` (RFC 3461 §4.4), as given.
    pub envid: Option<String>,
    /// `RET` (RFC 3461 §4.3).
    pub ret: Option<DsnRet>,
    /// `Some(true)`: REQUIRETLS (RFC 8689) was asked for; `Some(false)`: the message has
    /// `TLS-Required: No`; `None`: the default policy.
    pub require_tls: Option<bool>,
    /// FUTURERELEASE (RFC 4865): do not deliver before this time.
    pub hold_until: Option<SystemTime>,
    /// The message needs SMTPUTF8 (non-ASCII addresses or headers).
    pub smtputf8: bool,
    /// The message has 8-bit content (BODY=8BITMIME).
    pub eight_bit: bool,
    /// The message as it is to be sent, with the headers added at submission (Received,
    /// DKIM-Signature, Message-ID, Date).
    pub data: Vec<u8>,
}

/// Why a message was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// Try again later (disk full, queue stopping, a limit for the moment): SMTP 4xx.
    #[error("temporary failure queueing message: {0}")]
    Temporary(String),
    /// Never going to work for this message: SMTP 5xx.
    #[error("message refused by the queue: {0}")]
    Permanent(String),
}

/// Something that takes outgoing messages: the queue.
#[async_trait::async_trait]
pub trait Outgoing: Send + Sync + std::fmt::Debug {
    /// Queues `message`; returns once it is on disk (fsynced). One id per queue entry (the
    /// queue may split recipients by domain).
    async fn submit(&self, message: OutgoingMessage) -> Result<Vec<QueueId>, SubmitError>;
}
