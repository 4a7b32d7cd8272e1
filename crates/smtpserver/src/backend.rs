//! The interfaces between the session and the rest of the mail server: [`Backend`] answers
//! the session's requests (the driver calls it); [`runtime::Outgoing`] takes submitted
//! messages for remote recipients (the queue implements it); [`Classifier`] is where
//! reputation and the junk filter plug into the delivery decision.

use std::net::IpAddr;

use async_trait::async_trait;

use crate::directory::{AliasRecipient, LocalRecipient};
use crate::session::{Context, Request, Response, Transaction};

/// What a recipient address resolved to.
#[derive(Debug, Clone)]
pub enum Target {
    /// A local account.
    Local(LocalRecipient),
    /// A local alias.
    Alias(AliasRecipient),
    /// Not ours (submission only): the message goes to the queue.
    Remote(String),
}

/// Answers the session's requests. [`crate::Mailer`] is the real one; tests use their own.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Handles one request. `transaction` is the transaction in progress (for RCPT), `None`
    /// otherwise (for delivery the transaction is inside the request).
    async fn handle(
        &self,
        ctx: &Context,
        transaction: Option<&Transaction>,
        request: Request,
    ) -> Response;

    /// Whether a new connection from `ip` may start (connection rate, failed logins on
    /// submission); `Err` with the 421 to send.
    fn admit(&self, _service: crate::Service, _ip: IpAddr) -> Result<(), crate::Reply> {
        Ok(())
    }
}

/// How a delivery decision was reached from reputation (mox's `reputationMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReputationMethod {
    /// No history at all: a first-time sender.
    None,
    /// Earlier messages from this From address.
    MsgFromFull,
    /// Earlier messages to this From address (we wrote to them).
    MsgToFull,
    /// Earlier messages from the From domain.
    MsgFromDomain,
    /// Earlier messages from the organizational domain.
    MsgFromOrgDomain,
    /// Earlier messages with these verified DKIM or SPF domains.
    DkimSpf,
    /// Earlier messages from this IP (/32 or /64).
    Ip1,
    /// Earlier messages from this network (/26 or /48).
    Ip2,
    /// Earlier messages from this network (/21 or /32).
    Ip3,
}

impl ReputationMethod {
    /// mox's name, used in X-Mox-Reason.
    pub fn name(self) -> &'static str {
        match self {
            ReputationMethod::None => "none",
            ReputationMethod::MsgFromFull => "msgfromfull",
            ReputationMethod::MsgToFull => "msgtofull",
            ReputationMethod::MsgFromDomain => "msgfromdomain",
            ReputationMethod::MsgFromOrgDomain => "msgfromorgdomain",
            ReputationMethod::DkimSpf => "dkimspf",
            ReputationMethod::Ip1 => "ip1",
            ReputationMethod::Ip2 => "ip2",
            ReputationMethod::Ip3 => "ip3",
        }
    }
}

/// What the history says about a sender.
#[derive(Debug, Clone, PartialEq)]
pub struct Reputation {
    /// Junk (true), not junk (false), or no signal.
    pub junk: Option<bool>,
    /// Whether the signal is strong enough to decide alone.
    pub conclusive: bool,
    /// Which history gave it.
    pub method: ReputationMethod,
    /// Explanation for X-Mox-Reason.
    pub text: String,
}

impl Reputation {
    /// No history: what every sender has without a reputation store.
    pub fn none() -> Reputation {
        Reputation {
            junk: None,
            conclusive: false,
            method: ReputationMethod::None,
            text: "no history".into(),
        }
    }
}

/// A content verdict of the junk filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentVerdict {
    /// Spam probability, 0 to 1.
    pub probability: f64,
    /// Whether enough words were known for the probability to mean something.
    pub significant: bool,
    /// The account's threshold above which a message is junk.
    pub threshold: f64,
    /// Explanation for X-Mox-Reason (ham and spam words).
    pub text: String,
}

/// Facts about an incoming message, for reputation and the junk filter (what mox stores with
/// each message and later classifies on).
#[derive(Debug, Clone)]
pub struct DeliveryFacts {
    /// The client's address.
    pub remote_ip: IpAddr,
    /// EHLO/HELO domain (empty for an address literal).
    pub ehlo_domain: String,
    /// MAIL FROM address, empty for `<>`.
    pub mail_from: String,
    /// MAIL FROM domain.
    pub mail_from_domain: String,
    /// RCPT TO address.
    pub rcpt_to: String,
    /// The From header address.
    pub msg_from: Option<message::Address>,
    /// Organizational domain of the From domain.
    pub msg_from_org_domain: String,
    /// SPF passed for the EHLO name.
    pub ehlo_validated: bool,
    /// SPF passed for the MAIL FROM domain.
    pub mail_from_validated: bool,
    /// The From domain is validated (aligned SPF or DKIM pass, or DMARC pass).
    pub msg_from_validated: bool,
    /// Domains of DKIM signatures that passed.
    pub dkim_domains: Vec<String>,
    /// Whether it is a delivery status notification.
    pub is_dsn: bool,
    /// A forwarded message (ruleset `IsForward`): forwarder signals are not its sender's.
    pub is_forward: bool,
    /// Message size.
    pub size: u64,
    /// Received over TLS.
    pub tls: bool,
}

/// Reputation and content classification: the junk filter's plug point in the delivery
/// decision. Without one, every sender is a first-time sender and no content is judged.
#[async_trait]
pub trait Classifier: Send + Sync + std::fmt::Debug {
    /// The sender's reputation with this account, from indexed history (flat cost).
    async fn reputation(&self, account: &store::Account, facts: &DeliveryFacts) -> Reputation;

    /// A content verdict for a sender without conclusive reputation; `None` when the
    /// account has no junk filter.
    async fn classify(
        &self,
        account: &store::Account,
        facts: &DeliveryFacts,
        message: &[u8],
    ) -> Option<ContentVerdict>;
}

/// The [`Classifier`] used when there is none: no history, no content filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClassifier;

#[async_trait]
impl Classifier for NoClassifier {
    async fn reputation(&self, _account: &store::Account, _facts: &DeliveryFacts) -> Reputation {
        Reputation::none()
    }

    async fn classify(
        &self,
        _account: &store::Account,
        _facts: &DeliveryFacts,
        _message: &[u8],
    ) -> Option<ContentVerdict> {
        None
    }
}
