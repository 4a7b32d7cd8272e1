//! Queue entries as stored: one per recipient domain of a submitted message, with the state
//! and last result of each of its recipients.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

use dns::Domain;
use message::{Address, Localpart};
use serde::{Deserialize, Serialize};

use crate::clock::from_unix_ms;

/// Identifies a queue entry (mox's queue message id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueueId(pub u64);

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a recipient's mail goes: a domain, or an address literal (`user@[192.0.2.1]`, RFC
/// 5321 §4.1.3), delivered to that IP without MX lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// A domain name.
    Domain(Domain),
    /// An IP address literal.
    Ip(IpAddr),
}

impl Destination {
    /// The form entries are grouped by: the ASCII domain, or `[ip]`.
    pub fn key(&self) -> String {
        match self {
            Destination::Domain(d) => d.ascii().to_string(),
            Destination::Ip(ip) => format!("[{ip}]"),
        }
    }

    /// The domain, unless an IP literal.
    pub fn domain(&self) -> Option<&Domain> {
        match self {
            Destination::Domain(d) => Some(d),
            Destination::Ip(_) => None,
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Domain(d) => write!(f, "{d}"),
            Destination::Ip(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// A recipient: localpart and [`Destination`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recipient {
    /// Before the `@`.
    pub localpart: Localpart,
    /// After the `@`.
    pub destination: Destination,
}

impl Recipient {
    /// Parses `localpart@domain` or `localpart@[ip]` (`[IPv6:...]` too).
    ///
    /// ```
    /// let r = queue::Recipient::parse("a.b@[IPv6:2001:db8::1]")?;
    /// assert_eq!(r.destination.key(), "[2001:db8::1]");
    /// assert_eq!(r.to_string(), "a.b@[IPv6:2001:db8::1]");
    /// let r = queue::Recipient::parse("x@Example.COM")?;
    /// assert_eq!(r.destination.key(), "example.com");
    /// # Ok::<(), message::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Recipient, message::Error> {
        if let Some(start) = text.rfind("@[")
            && let Some(literal) = text[start + 2..].strip_suffix(']')
        {
            let localpart = Localpart::parse(&text[..start])?;
            let ip_text = match literal.get(..5) {
                Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => &literal[5..],
                _ => literal,
            };
            let ip: IpAddr = ip_text.parse().map_err(|_| message::Error::Syntax {
                what: "address literal",
                expected: "IPv4 or IPv6 address",
                position: start + 2,
            })?;
            return Ok(Recipient { localpart, destination: Destination::Ip(ip) });
        }
        let address = Address::parse(text)?;
        Ok(Recipient::from(address))
    }

    /// The address, if the destination is a domain.
    pub fn address(&self) -> Option<Address> {
        match &self.destination {
            Destination::Domain(d) => Some(Address::new(self.localpart.clone(), d.clone())),
            Destination::Ip(_) => None,
        }
    }
}

impl From<Address> for Recipient {
    fn from(address: Address) -> Recipient {
        Recipient { localpart: address.localpart, destination: Destination::Domain(address.domain) }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.destination {
            Destination::Domain(d) => write!(f, "{}@{d}", self.localpart),
            Destination::Ip(IpAddr::V6(ip)) => write!(f, "{}@[IPv6:{ip}]", self.localpart),
            Destination::Ip(ip) => write!(f, "{}@[{ip}]", self.localpart),
        }
    }
}

/// When the sender wants DSNs for a recipient (RFC 3461 §4.1 NOTIFY). All false is `NEVER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Notify {
    /// `SUCCESS`: also when delivered.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`.
    pub const NEVER: Notify = Notify { success: false, failure: false, delay: false };

    /// Parses the NOTIFY value: `NEVER` or a comma-separated list of `SUCCESS`, `FAILURE`,
    /// `DELAY` (case-insensitive).
    ///
    /// ```
    /// let n = queue::Notify::parse("failure,Delay").unwrap();
    /// assert!(n.failure && n.delay && !n.success);
    /// assert_eq!(n.to_string(), "FAILURE,DELAY");
    /// assert_eq!(queue::Notify::parse("NEVER"), Some(queue::Notify::NEVER));
    /// assert_eq!(queue::Notify::parse("NEVER,SUCCESS"), None);
    /// ```
    pub fn parse(value: &str) -> Option<Notify> {
        if value.eq_ignore_ascii_case("NEVER") {
            return Some(Notify::NEVER);
        }
        let mut notify = Notify::NEVER;
        for word in value.split(',') {
            match word.to_ascii_uppercase().as_str() {
                "SUCCESS" => notify.success = true,
                "FAILURE" => notify.failure = true,
                "DELAY" => notify.delay = true,
                _ => return None,
            }
        }
        Some(notify)
    }
}

impl fmt::Display for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> =
            [(self.success, "SUCCESS"), (self.failure, "FAILURE"), (self.delay, "DELAY")]
                .into_iter()
                .filter_map(|(on, word)| on.then_some(word))
                .collect();
        if words.is_empty() { f.write_str("NEVER") } else { f.write_str(&words.join(",")) }
    }
}

/// How much of the message a failure DSN returns (RFC 3461 §4.3 RET).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ret {
    /// `FULL`: the whole message.
    Full,
    /// `HDRS`: only its header (also the default).
    Hdrs,
}

/// A message to add to the queue, as the SMTP server (submission) or the queue itself (DSNs)
/// hands it over.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The account that submitted it: DSNs are delivered there, and account routes apply.
    pub account: Option<String>,
    /// MAIL FROM; `None` for the null reverse-path `<>` (no DSNs are ever sent for it).
    pub sender: Option<Address>,
    /// RCPT TO, with DSN parameters.
    pub recipients: Vec<NewRecipient>,
    /// DSN `ENVID` (RFC 3461 §4.4), as xtext-decoded text.
    pub envid: Option<String>,
    /// DSN `RET`.
    pub ret: Option<Ret>,
    /// `Some(true)`: REQUIRETLS (RFC 8689 §4); `Some(false)`: the message says `TLS-Required:
    /// No` (§5; found in the message when left `None`); `None`: the recipient domain's policy.
    pub require_tls: Option<bool>,
    /// FUTURERELEASE (RFC 4865): not before this time.
    pub hold_until: Option<SystemTime>,
    /// The FUTURERELEASE parameter as given (`for;...` or `until;...`), for DSNs.
    pub future_release_request: Option<String>,
    /// A transport by name instead of the routes.
    pub transport: Option<String>,
    /// The message, headers included, with CRLF line endings.
    pub data: Vec<u8>,
}

impl NewMessage {
    /// A message from `sender` to `recipients` without DSN parameters or other options.
    pub fn new(sender: Option<Address>, recipients: Vec<Recipient>, data: Vec<u8>) -> NewMessage {
        NewMessage {
            account: None,
            sender,
            recipients: recipients.into_iter().map(NewRecipient::new).collect(),
            envid: None,
            ret: None,
            require_tls: None,
            hold_until: None,
            future_release_request: None,
            transport: None,
            data,
        }
    }
}

/// A recipient of a [`NewMessage`].
#[derive(Debug, Clone)]
pub struct NewRecipient {
    /// RCPT TO.
    pub address: Recipient,
    /// DSN `NOTIFY`; `None` when not given (failure and delay DSNs are sent).
    pub notify: Option<Notify>,
    /// DSN `ORCPT` (RFC 3461 §4.2): `addr-type;address`, xtext-decoded.
    pub orcpt: Option<String>,
}

impl NewRecipient {
    /// A recipient without DSN parameters.
    pub fn new(address: Recipient) -> NewRecipient {
        NewRecipient { address, notify: None, orcpt: None }
    }
}

/// Where a recipient of an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecipientState {
    /// Not delivered yet; attempts continue.
    Pending,
    /// Accepted by the next hop (or delivered locally).
    Delivered,
    /// Failed permanently; a DSN was sent if asked for.
    Failed,
}

/// One recipient of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecipient {
    /// The address, `localpart@domain` or `localpart@[ip]`.
    pub address: String,
    /// DSN NOTIFY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// DSN ORCPT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orcpt: Option<String>,
    /// Its state.
    pub state: RecipientState,
    /// The reply code of its last result (0: none).
    #[serde(default)]
    pub code: u16,
    /// The enhanced status code of its last result, without class (`1.1`), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secode: String,
    /// The error of its last attempt, empty if none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// The outcome of one delivery attempt of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptResult {
    /// When it started, ms since the epoch.
    pub start: u64,
    /// How long it took, ms.
    pub duration_ms: u64,
    /// Whether every recipient still pending was delivered.
    pub success: bool,
    /// The deciding SMTP code, 0 if none.
    pub code: u16,
    /// The enhanced status code (`1.1`, no class), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secode: String,
    /// What went wrong, empty on success.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// The host (MX or smarthost) the attempt ended with, if it got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// How the connection was protected: `plaintext`, `opportunistic TLS`, `MTA-STS`,
    /// `DANE-EE`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
}

/// The most results an entry keeps.
pub(crate) const MAX_RESULTS: usize = 16;

/// A message for one recipient domain in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Entry {
    /// Its id.
    pub id: QueueId,
    /// When it was queued, ms since the epoch.
    pub queued: u64,
    /// The submitting account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// MAIL FROM, empty for `<>`.
    pub sender: String,
    /// The recipient domain: ASCII name, or `[ip]`.
    pub domain: String,
    /// The recipients at that domain.
    pub recipients: Vec<EntryRecipient>,
    /// Attempts made.
    pub attempts: u32,
    /// Attempts to make before giving up.
    pub max_attempts: u32,
    /// When the next attempt is due, ms since the epoch.
    pub next_attempt: u64,
    /// When the last attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<u64>,
    /// Held: not delivered until released.
    #[serde(default)]
    pub hold: bool,
    /// A transport by name, instead of the routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// REQUIRETLS (`Some(true)`), `TLS-Required: No` (`Some(false)`), or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// DSN ENVID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envid: Option<String>,
    /// DSN RET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<Ret>,
    /// FUTURERELEASE as requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub future_release_request: Option<String>,
    /// Message size in bytes.
    pub size: u64,
    /// The message has bytes above 127.
    #[serde(default)]
    pub has_8bit: bool,
    /// The message or an address needs SMTPUTF8.
    #[serde(default)]
    pub smtputf8: bool,
    /// The Message-ID header value, for the DSN's References.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_id: String,
    /// The Subject, for logs and the list.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// The delayed DSN was sent.
    #[serde(default)]
    pub delay_dsn_sent: bool,
    /// IPs connected to per host, for choosing addresses in later attempts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dialed_ips: BTreeMap<String, Vec<IpAddr>>,
    /// The last attempts' results, oldest first (at most 16).
    #[serde(default)]
    pub results: Vec<AttemptResult>,
    /// This entry is a DSN for this local account, delivered there directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsn_account: Option<String>,
}

impl Entry {
    /// When it was queued.
    pub fn queued_at(&self) -> SystemTime {
        from_unix_ms(self.queued)
    }

    /// When the next attempt is due.
    pub fn next_attempt_at(&self) -> SystemTime {
        from_unix_ms(self.next_attempt)
    }

    /// When the last attempt started.
    pub fn last_attempt_at(&self) -> Option<SystemTime> {
        self.last_attempt.map(from_unix_ms)
    }

    /// MAIL FROM, `None` for `<>`.
    pub fn sender_address(&self) -> Option<Address> {
        if self.sender.is_empty() { None } else { Address::parse(&self.sender).ok() }
    }

    /// The sender's domain.
    pub fn sender_domain(&self) -> Option<Domain> {
        self.sender_address().map(|a| a.domain)
    }

    /// The recipient domain, unless an IP literal.
    pub fn destination(&self) -> Option<Destination> {
        if let Some(literal) = self.domain.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            return literal.parse().ok().map(Destination::Ip);
        }
        Domain::parse(&self.domain).ok().map(Destination::Domain)
    }

    /// The recipients not yet delivered or failed.
    pub fn pending(&self) -> impl Iterator<Item = &EntryRecipient> {
        self.recipients.iter().filter(|r| r.state == RecipientState::Pending)
    }

    /// Whether an attempt is worth making: not held, and recipients pending.
    pub fn is_schedulable(&self) -> bool {
        !self.hold && self.pending().next().is_some()
    }

    /// The error of the last attempt, empty if none.
    pub fn last_error(&self) -> &str {
        self.results.last().map(|r| r.error.as_str()).unwrap_or("")
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serializing plain data to a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes an entry as stored in the queue database.
    pub fn decode(id: u64, bytes: &[u8]) -> Result<Entry, crate::Error> {
        serde_json::from_slice(bytes)
            .map_err(|e| crate::Error::Corrupt { id, reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_and_literals() {
        let r = Recipient::parse("u@[192.0.2.7]").unwrap();
        assert_eq!(r.destination, Destination::Ip("192.0.2.7".parse().unwrap()));
        assert_eq!(r.to_string(), "u@[192.0.2.7]");
        assert!(r.address().is_none());
        assert!(Recipient::parse("u@[300.1.1.1]").is_err());
        assert!(Recipient::parse("u@[IPv6:zz]").is_err());
        let r = Recipient::parse("\"a b\"@xn--bcher-kva.example").unwrap();
        assert_eq!(r.to_string(), "\"a b\"@bücher.example");
        assert_eq!(r.destination.key(), "xn--bcher-kva.example");
        assert_eq!(Recipient::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn entry_round_trip_and_old_fields() {
        let json = br#"{"id":7,"queued":1,"sender":"","domain":"[::1]","recipients":[{"address":"a@[IPv6:::1]","state":"Pending"}],"attempts":0,"max_attempts":9,"next_attempt":5,"size":10}"#;
        let entry = Entry::decode(7, json).unwrap();
        assert_eq!(entry.destination(), Some(Destination::Ip("::1".parse().unwrap())));
        assert!(entry.is_schedulable());
        assert_eq!(Entry::decode(7, &entry.encode()).unwrap(), entry);
        assert!(matches!(Entry::decode(7, b"{"), Err(crate::Error::Corrupt { id: 7, .. })));
    }
}
