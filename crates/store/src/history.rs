//! Delivery history for reputation: where earlier messages came from and what the account did
//! with them, kept in indexes so a delivery decision reads a bounded number of entries however
//! many messages the account holds.
//!
//! A message delivered with an [`Origin`] (the SMTP facts: remote IP, EHLO, MAIL FROM, DKIM and
//! From domains and whether they were verified) gets a history record, and, while it is
//! classified, one index entry per signal under the mailbox it was delivered to:
//!
//! ```text
//! kind | mailbox (u32 BE) | len | value | u64::MAX - time (BE) | u64::MAX - message id (BE)
//! ```
//!
//! so "the 50 most recent classified messages delivered to Inbox from DKIM domain
//! example.org, at most half a year old" is one short range scan ([`Snapshot::history`]). A
//! message is classified as junk when it has `$Junk`, or, without `$Junk`/`$NotJunk`, when it
//! was moved to a Trash mailbox unread; as not junk when it has `$NotJunk`, or was answered.
//! Unclassified messages have no reputation entries, as in mox, which only looks at messages
//! marked junk or not junk.
//!
//! The same index holds, without a mailbox: the addresses, domains and organizational domains
//! the account sent to ([`NewMessage::sent_to`](crate::NewMessage::sent_to), for "we wrote to
//! them before"), Message-IDs (to find an earlier copy of a message, such as one already in the
//! Rejects mailbox), and per-network delivery counters in 10-second and 1-hour buckets
//! ([`Snapshot::delivery_rates`]).
//!
//! Everything is written in the transaction that delivers, changes flags, moves, copies or
//! expunges the message, so the history is never out of step with the messages.

use std::net::IpAddr;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::account::{Db, Env, Tx};
use crate::codec;
use crate::types::{Flags, MailboxId, MessageId, SpecialUse, SystemFlags};
use crate::{Error, Snapshot};

/// Where a message delivered over SMTP came from: the facts reputation is built on. Domains
/// are lower-case Unicode (as `dns::Domain::name` gives them), localparts as in the address.
/// Leave a field empty (or `false`) when it is unknown or did not verify.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The remote SMTP client's IP address; `None` for forwarded messages (the forwarding
    /// server is not to blame for what it forwards) and local submissions.
    pub remote_ip: Option<IpAddr>,
    /// The EHLO domain, if it is a domain (not an IP literal).
    pub ehlo_domain: String,
    /// Whether the EHLO domain verified (SPF pass for the EHLO identity).
    pub ehlo_validated: bool,
    /// SMTP MAIL FROM localpart; empty for the null sender.
    pub mail_from_localpart: String,
    /// SMTP MAIL FROM domain.
    pub mail_from_domain: String,
    /// Whether SPF passed for the MAIL FROM domain.
    pub mail_from_validated: bool,
    /// Localpart of the message's From address.
    pub msg_from_localpart: String,
    /// Domain of the message's From address.
    pub msg_from_domain: String,
    /// Organizational domain (public suffix plus one label) of the From domain.
    pub msg_from_org_domain: String,
    /// Whether the From domain is validated by an aligned SPF or DKIM pass (DMARC-style).
    pub msg_from_validated: bool,
    /// Domains of DKIM signatures that verified.
    pub dkim_domains: Vec<String>,
    /// The Message-ID, without angle brackets; empty if absent.
    pub message_id: String,
    /// The mailbox the delivery rules meant the message for, when it went elsewhere (to the
    /// Rejects mailbox): moving the message there, or anywhere out of Rejects, makes it count
    /// for that mailbox's reputation.
    pub destined_mailbox: Option<String>,
    /// Whether this is a rejected message kept in the Rejects mailbox.
    pub is_reject: bool,
}

/// An address a message was sent to (for messages saved to a Sent mailbox or submitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecipient {
    /// The localpart.
    pub localpart: String,
    /// The domain, lower-case Unicode.
    pub domain: String,
    /// Its organizational domain.
    pub org_domain: String,
}

/// Which network around an IP address to look at: mox's three masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpNetwork {
    /// The address itself: IPv4 /32, IPv6 /64.
    Host,
    /// IPv4 /26, IPv6 /48.
    Near,
    /// IPv4 /21, IPv6 /32.
    Wide,
}

impl IpNetwork {
    /// All three, narrowest first.
    pub const ALL: [IpNetwork; 3] = [IpNetwork::Host, IpNetwork::Near, IpNetwork::Wide];

    /// The prefix length for an address family.
    pub fn prefix_len(self, ipv6: bool) -> u8 {
        match (self, ipv6) {
            (IpNetwork::Host, false) => 32,
            (IpNetwork::Near, false) => 26,
            (IpNetwork::Wide, false) => 21,
            (IpNetwork::Host, true) => 64,
            (IpNetwork::Near, true) => 48,
            (IpNetwork::Wide, true) => 32,
        }
    }

    fn kind_offset(self) -> u8 {
        match self {
            IpNetwork::Host => 0,
            IpNetwork::Near => 1,
            IpNetwork::Wide => 2,
        }
    }
}

/// One signal of an incoming message to look up earlier messages by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal<'a> {
    /// The exact From address, among messages whose From was validated (or not).
    FromAddress {
        /// Localpart.
        localpart: &'a str,
        /// Domain.
        domain: &'a str,
        /// Look among validated (true) or unvalidated (false) messages.
        validated: bool,
    },
    /// The From domain.
    FromDomain {
        /// Domain.
        domain: &'a str,
        /// Look among validated (true) or unvalidated (false) messages.
        validated: bool,
    },
    /// The organizational domain of the From domain.
    FromOrgDomain {
        /// Organizational domain.
        domain: &'a str,
        /// Look among validated (true) or unvalidated (false) messages.
        validated: bool,
    },
    /// A verified DKIM signature's domain.
    DkimDomain(&'a str),
    /// The SMTP MAIL FROM address (localpart and domain).
    MailFromAddress {
        /// Localpart.
        localpart: &'a str,
        /// Domain.
        domain: &'a str,
    },
    /// The SMTP MAIL FROM domain.
    MailFromDomain(&'a str),
    /// The EHLO domain.
    EhloDomain(&'a str),
    /// The remote IP's network.
    Ip(IpAddr, IpNetwork),
}

/// An earlier classified message found through a [`Signal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The message.
    pub message: MessageId,
    /// When it was received (Unix seconds).
    pub received: i64,
    /// Classified as junk (else: not junk).
    pub junk: bool,
    /// Whether it had `\Seen` when last changed.
    pub seen: bool,
    /// Whether it was answered.
    pub answered: bool,
    /// Whether it was moved to a Trash mailbox without being read.
    pub trashed_unread: bool,
    /// Its From localpart (to count distinct senders of a domain).
    pub from_localpart: String,
}

/// Which kind of sent-to record to look for ([`Snapshot::sent_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentTo<'a> {
    /// The exact address.
    Address {
        /// Localpart.
        localpart: &'a str,
        /// Domain.
        domain: &'a str,
    },
    /// Any address in the domain.
    Domain(&'a str),
    /// Any address in the organizational domain.
    OrgDomain(&'a str),
}

/// Messages (not expunged) and their bytes delivered from a network in a time window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateCount {
    /// Number of messages.
    pub messages: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// Recent deliveries from the networks around an IP address, indexed like [`IpNetwork::ALL`]
/// (host, near, wide). Counted in buckets (10 seconds for the minute, 1 hour for the day), so
/// a window may include up to one bucket's worth of older deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRates {
    /// In the last minute.
    pub minute: [RateCount; 3],
    /// In the last 24 hours.
    pub day: [RateCount; 3],
}

/// The two tables of the history, in the account's environment.
#[derive(Clone, Copy)]
pub(crate) struct Tables {
    /// Message id (u64 BE) → [`Record`].
    records: Db,
    /// Index entries, see the module documentation.
    index: Db,
}

/// Opens (in a writable account: creates) the history tables. A read-only account written
/// before the history existed has none: it then has no history.
pub(crate) fn open_tables(
    env: &Env,
    dir: &std::path::Path,
    read_only: bool,
) -> Result<Option<Tables>, Error> {
    let ops = ("open history tables", "create history tables");
    let tables =
        crate::account::open_added_tables(env, dir, read_only, ["history", "history_index"], ops)?;
    Ok(tables.map(|[records, index]| Tables { records, index }))
}

// Kinds of index entries (first key byte).
const K_FROM_ADDR: u8 = 1; // +1: not validated
const K_FROM_DOMAIN: u8 = 3; // +1: not validated
const K_FROM_ORG: u8 = 5; // +1: not validated
const K_DKIM: u8 = 7;
const K_MAILFROM_ADDR: u8 = 8;
const K_MAILFROM_DOMAIN: u8 = 9;
const K_EHLO: u8 = 10;
const K_IP: u8 = 11; // +0, +1, +2 for IpNetwork
const K_SENT_ADDR: u8 = 20;
const K_SENT_DOMAIN: u8 = 21;
const K_SENT_ORG: u8 = 22;
const K_MESSAGE_ID: u8 = 30;
const K_RATE: u8 = 40;

const CLASS_NONE: u8 = 0;
const CLASS_JUNK: u8 = 1;
const CLASS_NOT_JUNK: u8 = 2;

const BIT_SEEN: u8 = 1;
const BIT_ANSWERED: u8 = 2;
const BIT_TRASHED_UNREAD: u8 = 4;

/// Longest value kept in a key (values are truncated: collisions of such long values are
/// harmless for reputation; Message-IDs are checked against the record).
const MAX_VALUE: usize = 255;
const MAX_MESSAGE_ID_KEY: usize = 400;

/// Rate bucket widths in seconds, and how long buckets are kept.
const RATE_MINUTE_BUCKET: i64 = 10;
const RATE_DAY_BUCKET: i64 = 3600;

/// The history of one message.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    /// Mailbox whose reputation the message counts for.
    mailbox_orig: u32,
    /// See [`Origin::destined_mailbox`]; 0 for none.
    mailbox_destined: u32,
    received: i64,
    size: u64,
    is_reject: bool,
    trashed_unread: bool,
    /// Flag bits as last indexed: class and seen/answered.
    class: u8,
    bits: u8,
    origin: Option<Origin>,
    sent_to: Vec<SentRecipient>,
}

fn inverse_time(t: i64) -> u64 {
    u64::MAX - t.max(0) as u64
}

fn time_from_inverse(v: u64) -> i64 {
    (u64::MAX - v).min(i64::MAX as u64) as i64
}

fn push_value(k: &mut Vec<u8>, v: &[u8]) {
    let v = &v[..v.len().min(MAX_VALUE)];
    k.push(v.len() as u8);
    k.extend_from_slice(v);
}

fn mailbox_prefix(kind: u8, mailbox: u32, value: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(6 + value.len() + 16);
    k.push(kind);
    k.extend_from_slice(&mailbox.to_be_bytes());
    push_value(&mut k, value);
    k
}

fn account_prefix(kind: u8, value: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + value.len() + 16);
    k.push(kind);
    push_value(&mut k, value);
    k
}

fn with_time_and_id(mut prefix: Vec<u8>, time: i64, id: u64) -> Vec<u8> {
    // Newest first, and of messages received in the same second the later one first.
    prefix.extend_from_slice(&inverse_time(time).to_be_bytes());
    prefix.extend_from_slice(&(u64::MAX - id).to_be_bytes());
    prefix
}

fn address(localpart: &str, domain: &str) -> Vec<u8> {
    format!("{}@{}", localpart, domain.to_lowercase()).into_bytes()
}

/// The network of `ip` as key bytes: family, then the masked address.
fn ip_network_key(ip: IpAddr, net: IpNetwork) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => {
            let bits = net.prefix_len(false);
            let v = u32::from(a) & (u32::MAX << (32 - bits));
            let mut k = vec![4];
            k.extend_from_slice(&v.to_be_bytes());
            k
        }
        IpAddr::V6(a) => {
            // An IPv4-mapped address is the IPv4 address.
            if let Some(v4) = a.to_ipv4_mapped() {
                return ip_network_key(IpAddr::V4(v4), net);
            }
            let bits = net.prefix_len(true);
            let v = u128::from(a) & (u128::MAX << (128 - u32::from(bits)));
            let mut k = vec![6];
            k.extend_from_slice(&v.to_be_bytes()[..usize::from(bits / 8)]);
            k
        }
    }
}

impl Signal<'_> {
    fn prefix(&self, mailbox: u32) -> Vec<u8> {
        let validated_kind = |base: u8, validated: bool| if validated { base } else { base + 1 };
        match *self {
            Signal::FromAddress { localpart, domain, validated } => mailbox_prefix(
                validated_kind(K_FROM_ADDR, validated),
                mailbox,
                &address(localpart, domain),
            ),
            Signal::FromDomain { domain, validated } => mailbox_prefix(
                validated_kind(K_FROM_DOMAIN, validated),
                mailbox,
                domain.to_lowercase().as_bytes(),
            ),
            Signal::FromOrgDomain { domain, validated } => mailbox_prefix(
                validated_kind(K_FROM_ORG, validated),
                mailbox,
                domain.to_lowercase().as_bytes(),
            ),
            Signal::DkimDomain(d) => mailbox_prefix(K_DKIM, mailbox, d.to_lowercase().as_bytes()),
            Signal::MailFromAddress { localpart, domain } => {
                mailbox_prefix(K_MAILFROM_ADDR, mailbox, &address(localpart, domain))
            }
            Signal::MailFromDomain(d) => {
                mailbox_prefix(K_MAILFROM_DOMAIN, mailbox, d.to_lowercase().as_bytes())
            }
            Signal::EhloDomain(d) => mailbox_prefix(K_EHLO, mailbox, d.to_lowercase().as_bytes()),
            Signal::Ip(ip, net) => {
                mailbox_prefix(K_IP + net.kind_offset(), mailbox, &ip_network_key(ip, net))
            }
        }
    }
}

impl SentTo<'_> {
    fn prefix(&self) -> Vec<u8> {
        match *self {
            SentTo::Address { localpart, domain } => {
                account_prefix(K_SENT_ADDR, &address(localpart, domain))
            }
            SentTo::Domain(d) => account_prefix(K_SENT_DOMAIN, d.to_lowercase().as_bytes()),
            SentTo::OrgDomain(d) => account_prefix(K_SENT_ORG, d.to_lowercase().as_bytes()),
        }
    }
}

/// The signals of an origin, for its index entries.
fn signals(o: &Origin) -> Vec<Signal<'_>> {
    let mut v = Vec::new();
    if !o.msg_from_domain.is_empty() {
        let validated = o.msg_from_validated;
        v.push(Signal::FromAddress {
            localpart: &o.msg_from_localpart,
            domain: &o.msg_from_domain,
            validated,
        });
        v.push(Signal::FromDomain { domain: &o.msg_from_domain, validated });
        if !o.msg_from_org_domain.is_empty() {
            v.push(Signal::FromOrgDomain { domain: &o.msg_from_org_domain, validated });
        }
    }
    for d in &o.dkim_domains {
        if !d.is_empty() {
            v.push(Signal::DkimDomain(d));
        }
    }
    if !o.mail_from_domain.is_empty() {
        v.push(Signal::MailFromAddress {
            localpart: &o.mail_from_localpart,
            domain: &o.mail_from_domain,
        });
        v.push(Signal::MailFromDomain(&o.mail_from_domain));
    }
    if !o.ehlo_domain.is_empty() {
        v.push(Signal::EhloDomain(&o.ehlo_domain));
    }
    if let Some(ip) = o.remote_ip {
        for net in IpNetwork::ALL {
            v.push(Signal::Ip(ip, net));
        }
    }
    v.dedup();
    v
}

/// The reputation class and bits for a message's flags.
fn classify(flags: &Flags, trashed_unread: bool) -> (u8, u8) {
    let answered = flags.system.contains(SystemFlags::ANSWERED);
    let class = if flags.has_keyword("$junk") {
        CLASS_JUNK
    } else if flags.has_keyword("$notjunk") || answered {
        CLASS_NOT_JUNK
    } else if trashed_unread {
        CLASS_JUNK
    } else {
        CLASS_NONE
    };
    let mut bits = 0;
    if flags.system.contains(SystemFlags::SEEN) {
        bits |= BIT_SEEN;
    }
    if answered {
        bits |= BIT_ANSWERED;
    }
    if trashed_unread {
        bits |= BIT_TRASHED_UNREAD;
    }
    (class, bits)
}

/// The reputation index entries of a record.
fn reputation_entries(id: u64, r: &Record) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Some(o) = &r.origin else { return Vec::new() };
    if r.class == CLASS_NONE {
        return Vec::new();
    }
    let mut value = vec![r.class, r.bits];
    value.extend_from_slice(o.msg_from_localpart.as_bytes());
    signals(o)
        .iter()
        .map(|s| (with_time_and_id(s.prefix(r.mailbox_orig), r.received, id), value.clone()))
        .collect()
}

/// Index entries that exist whatever the class: sent-to records and the Message-ID.
fn fixed_entries(id: u64, r: &Record) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for s in &r.sent_to {
        for sent in [
            SentTo::Address { localpart: &s.localpart, domain: &s.domain },
            SentTo::Domain(&s.domain),
            SentTo::OrgDomain(&s.org_domain),
        ] {
            if matches!(sent, SentTo::OrgDomain("")) {
                continue;
            }
            v.push(with_time_and_id(sent.prefix(), r.received, id));
        }
    }
    v.sort();
    v.dedup();
    v
}

fn message_id_key(message_id: &str, id: u64) -> Vec<u8> {
    let mut k = message_id_prefix(message_id);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn message_id_prefix(message_id: &str) -> Vec<u8> {
    let m = message_id.as_bytes();
    let mut k = vec![K_MESSAGE_ID];
    k.extend_from_slice(&m[..m.len().min(MAX_MESSAGE_ID_KEY)]);
    k.push(0);
    k
}

fn rate_key(ip: IpAddr, net: IpNetwork, width: i64, bucket: i64) -> Vec<u8> {
    let mut k = rate_prefix(ip, net, width);
    k.extend_from_slice(&(bucket.max(0) as u64).to_be_bytes());
    k
}

fn rate_prefix(ip: IpAddr, net: IpNetwork, width: i64) -> Vec<u8> {
    let mut k = vec![K_RATE, net.kind_offset()];
    k.extend_from_slice(&ip_network_key(ip, net));
    k.push(if width == RATE_MINUTE_BUCKET { 0 } else { 1 });
    k
}

fn decode_rate(v: &[u8]) -> RateCount {
    let n = |r: std::ops::Range<usize>| {
        v.get(r).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).unwrap_or(0)
    };
    RateCount { messages: n(0..8), bytes: n(8..16) }
}

fn encode_rate(c: RateCount) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&c.messages.to_le_bytes());
    b[8..].copy_from_slice(&c.bytes.to_le_bytes());
    b
}

fn now_unix() -> i64 {
    crate::types::Timestamp::now().unix
}

impl Tx<'_> {
    fn history_tables(&self) -> Option<Tables> {
        self.inner.history
    }

    fn history_record(&self, t: &Tables, id: u64) -> Result<Option<Record>, Error> {
        let v = t
            .records
            .get(&self.txn, &codec::u64_key(id))
            .map_err(self.inner.db_err("read history"))?;
        match v {
            None => Ok(None),
            Some(v) => codec::decode(v).map(Some).ok_or_else(|| self.inner.corrupt("history", id)),
        }
    }

    /// Writes record `new` for message `id`, replacing the index entries of `old`.
    fn put_history(
        &mut self,
        t: &Tables,
        id: u64,
        old: Option<&Record>,
        new: Option<&Record>,
    ) -> Result<(), Error> {
        let err = self.inner.db_err("write history");
        let old_rep = old.map(|r| reputation_entries(id, r)).unwrap_or_default();
        let new_rep = new.map(|r| reputation_entries(id, r)).unwrap_or_default();
        if old_rep != new_rep {
            for (k, _) in &old_rep {
                t.index.delete(&mut self.txn, k).map_err(self.inner.db_err("write history"))?;
            }
            for (k, v) in &new_rep {
                t.index.put(&mut self.txn, k, v).map_err(self.inner.db_err("write history"))?;
            }
        }
        let old_fixed = old.map(|r| fixed_entries(id, r)).unwrap_or_default();
        let new_fixed = new.map(|r| fixed_entries(id, r)).unwrap_or_default();
        if old_fixed != new_fixed {
            for k in &old_fixed {
                t.index.delete(&mut self.txn, k).map_err(self.inner.db_err("write history"))?;
            }
            for k in &new_fixed {
                t.index.put(&mut self.txn, k, &[]).map_err(self.inner.db_err("write history"))?;
            }
        }
        match new {
            Some(r) => t.records.put(&mut self.txn, &codec::u64_key(id), &codec::encode(r)),
            None => t.records.delete(&mut self.txn, &codec::u64_key(id)).map(|_| ()),
        }
        .map_err(err)
    }

    fn put_message_id(&mut self, t: &Tables, r: &Record, id: u64) -> Result<(), Error> {
        let Some(mid) = r.origin.as_ref().map(|o| &o.message_id).filter(|m| !m.is_empty()) else {
            return Ok(());
        };
        // No value: the current mailbox is read from the message record.
        t.index
            .put(&mut self.txn, &message_id_key(mid, id), &[])
            .map_err(self.inner.db_err("write history"))
    }

    fn delete_message_id(&mut self, t: &Tables, r: &Record, id: u64) -> Result<(), Error> {
        if let Some(mid) = r.origin.as_ref().map(|o| &o.message_id).filter(|m| !m.is_empty()) {
            t.index
                .delete(&mut self.txn, &message_id_key(mid, id))
                .map_err(self.inner.db_err("write history"))?;
        }
        Ok(())
    }

    /// Adds (`add`) or removes a delivery in the rate buckets.
    fn count_rate(&mut self, t: &Tables, r: &Record, add: bool) -> Result<(), Error> {
        let Some(ip) = r.origin.as_ref().and_then(|o| o.remote_ip) else { return Ok(()) };
        let now = now_unix();
        for net in IpNetwork::ALL {
            for (width, keep) in [(RATE_MINUTE_BUCKET, 120), (RATE_DAY_BUCKET, 2 * 86400)] {
                let bucket = r.received.div_euclid(width) * width;
                if add {
                    // Drop buckets too old to matter, so the index stays small.
                    let start = rate_key(ip, net, width, 0);
                    let end = rate_key(ip, net, width, now - keep);
                    let range = (Bound::Included(&start[..]), Bound::Excluded(&end[..]));
                    t.index
                        .delete_range(&mut self.txn, &range)
                        .map_err(self.inner.db_err("write history"))?;
                    if r.received < now - keep {
                        continue;
                    }
                }
                let key = rate_key(ip, net, width, bucket);
                let old = t
                    .index
                    .get(&self.txn, &key)
                    .map_err(self.inner.db_err("read history"))?
                    .map(decode_rate);
                let mut c = match (old, add) {
                    (Some(c), _) => c,
                    (None, true) => RateCount::default(),
                    (None, false) => continue,
                };
                if add {
                    c.messages += 1;
                    c.bytes += r.size;
                } else {
                    c.messages = c.messages.saturating_sub(1);
                    c.bytes = c.bytes.saturating_sub(r.size);
                }
                if c.messages == 0 {
                    t.index
                        .delete(&mut self.txn, &key)
                        .map_err(self.inner.db_err("write history"))?;
                } else {
                    t.index
                        .put(&mut self.txn, &key, &encode_rate(c))
                        .map_err(self.inner.db_err("write history"))?;
                }
            }
        }
        Ok(())
    }

    /// A message was added to `mailbox` with delivery facts.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn history_on_insert(
        &mut self,
        id: u64,
        mailbox: MailboxId,
        received: i64,
        size: u64,
        flags: &Flags,
        origin: Option<Origin>,
        sent_to: Vec<SentRecipient>,
    ) -> Result<(), Error> {
        let Some(t) = self.history_tables() else { return Ok(()) };
        if origin.is_none() && sent_to.is_empty() {
            return Ok(());
        }
        let mut mailbox_destined = 0;
        if let Some(name) = origin.as_ref().and_then(|o| o.destined_mailbox.as_deref())
            && let Ok(name) = crate::normalize_mailbox_name(name)
        {
            mailbox_destined = self.mailbox_id_by_name(&name)?.unwrap_or(0);
        }
        let (class, bits) = classify(flags, false);
        let r = Record {
            mailbox_orig: mailbox.0,
            mailbox_destined,
            received,
            size,
            is_reject: origin.as_ref().is_some_and(|o| o.is_reject),
            trashed_unread: false,
            class,
            bits,
            origin,
            sent_to,
        };
        self.put_history(&t, id, None, Some(&r))?;
        self.put_message_id(&t, &r, id)?;
        self.count_rate(&t, &r, true)
    }

    /// A message's flags changed.
    pub(crate) fn history_on_flags(&mut self, id: u64, flags: &Flags) -> Result<(), Error> {
        let Some(t) = self.history_tables() else { return Ok(()) };
        let Some(old) = self.history_record(&t, id)? else { return Ok(()) };
        let mut new = old.clone();
        (new.class, new.bits) = classify(flags, old.trashed_unread);
        if (new.class, new.bits) == (old.class, old.bits) {
            return Ok(());
        }
        self.put_history(&t, id, Some(&old), Some(&new))
    }

    /// A message was moved (same id) to a mailbox with special-use `to_special_use`.
    pub(crate) fn history_on_move(
        &mut self,
        id: u64,
        to_special_use: SpecialUse,
        flags: &Flags,
    ) -> Result<(), Error> {
        let Some(t) = self.history_tables() else { return Ok(()) };
        let Some(old) = self.history_record(&t, id)? else { return Ok(()) };
        let new = moved_record(&old, to_special_use, flags);
        self.put_history(&t, id, Some(&old), Some(&new))
    }

    /// Message `from` was copied as `to` into a mailbox with special-use `to_special_use`.
    pub(crate) fn history_on_copy(
        &mut self,
        from: u64,
        to: u64,
        to_special_use: SpecialUse,
        flags: &Flags,
    ) -> Result<(), Error> {
        let Some(t) = self.history_tables() else { return Ok(()) };
        let Some(old) = self.history_record(&t, from)? else { return Ok(()) };
        let new = moved_record(&old, to_special_use, flags);
        self.put_history(&t, to, None, Some(&new))?;
        self.put_message_id(&t, &new, to)?;
        self.count_rate(&t, &new, true)
    }

    /// A message was expunged.
    pub(crate) fn history_on_remove(&mut self, id: u64) -> Result<(), Error> {
        let Some(t) = self.history_tables() else { return Ok(()) };
        let Some(old) = self.history_record(&t, id)? else { return Ok(()) };
        self.put_history(&t, id, Some(&old), None)?;
        self.delete_message_id(&t, &old, id)?;
        self.count_rate(&t, &old, false)
    }
}

/// The record of a message after a move or copy: mox's rules for Rejects (a rejected message
/// taken out of Rejects counts for the mailbox it was meant for) plus "trashed unread".
fn moved_record(old: &Record, to_special_use: SpecialUse, flags: &Flags) -> Record {
    let mut new = old.clone();
    if new.is_reject && new.mailbox_destined != 0 {
        new.mailbox_orig = new.mailbox_destined;
        new.mailbox_destined = 0;
        new.is_reject = false;
    }
    new.trashed_unread =
        to_special_use.contains(SpecialUse::TRASH) && !flags.system.contains(SystemFlags::SEEN);
    (new.class, new.bits) = classify(flags, new.trashed_unread);
    new
}

impl Snapshot<'_> {
    /// Earlier classified messages delivered to `mailbox` that share `signal`, newest first,
    /// received at or after `since` (Unix seconds), at most `limit`. Reads only those entries.
    pub fn history(
        &self,
        mailbox: MailboxId,
        signal: &Signal<'_>,
        since: i64,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, Error> {
        let Some(t) = self.inner.history else { return Ok(Vec::new()) };
        let prefix = signal.prefix(mailbox.0);
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let err = || self.inner.db_err("read history");
        for item in t.index.prefix_iter(&self.txn, &prefix).map_err(err())? {
            let (k, v) = item.map_err(err())?;
            let corrupt = || self.inner.corrupt("history_index", k);
            let rest = k.get(prefix.len()..).filter(|r| r.len() == 16).ok_or_else(corrupt)?;
            let received = time_from_inverse(codec::read_u64_be(rest).ok_or_else(corrupt)?);
            if received < since {
                break;
            }
            let id = u64::MAX - codec::read_u64_be(&rest[8..]).ok_or_else(corrupt)?;
            let (class, bits) = (v.first().copied(), v.get(1).copied().unwrap_or(0));
            out.push(HistoryEntry {
                message: MessageId(id),
                received,
                junk: class == Some(CLASS_JUNK),
                seen: bits & BIT_SEEN != 0,
                answered: bits & BIT_ANSWERED != 0,
                trashed_unread: bits & BIT_TRASHED_UNREAD != 0,
                from_localpart: String::from_utf8_lossy(v.get(2..).unwrap_or_default())
                    .into_owned(),
            });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Whether the account sent a message to `to` at or after `since` (Unix seconds).
    pub fn sent_to(&self, to: &SentTo<'_>, since: i64) -> Result<bool, Error> {
        let Some(t) = self.inner.history else { return Ok(false) };
        let prefix = to.prefix();
        let err = || self.inner.db_err("read history");
        let mut iter = t.index.prefix_iter(&self.txn, &prefix).map_err(err())?;
        let Some(item) = iter.next() else { return Ok(false) };
        let (k, _) = item.map_err(err())?;
        let t = k.get(prefix.len()..).and_then(codec::read_u64_be).map(time_from_inverse);
        Ok(t.is_some_and(|t| t >= since))
    }

    /// Messages (still present) with Message-ID `message_id` that were delivered with an
    /// [`Origin`], with their current mailbox.
    pub fn messages_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Vec<(MessageId, MailboxId)>, Error> {
        let Some(t) = self.inner.history else { return Ok(Vec::new()) };
        if message_id.is_empty() {
            return Ok(Vec::new());
        }
        let prefix = message_id_prefix(message_id);
        let mut ids = Vec::new();
        let err = || self.inner.db_err("read history");
        for item in t.index.prefix_iter(&self.txn, &prefix).map_err(err())? {
            let (k, _) = item.map_err(err())?;
            if let Some(id) = k.get(prefix.len()..).and_then(codec::read_u64_be) {
                ids.push(id);
            }
        }
        let mut out = Vec::new();
        for id in ids {
            let Some(m) = self.message(MessageId(id))? else { continue };
            let rec = self.origin_of(m.id)?;
            if rec.is_some_and(|o| o.message_id == message_id) {
                out.push((m.id, m.mailbox));
            }
        }
        Ok(out)
    }

    /// The delivery facts a message was stored with, if any.
    pub fn origin_of(&self, id: MessageId) -> Result<Option<Origin>, Error> {
        let Some(t) = self.inner.history else { return Ok(None) };
        let v = t
            .records
            .get(&self.txn, &codec::u64_key(id.0))
            .map_err(self.inner.db_err("read history"))?;
        let Some(v) = v else { return Ok(None) };
        let r: Record = codec::decode(v).ok_or_else(|| self.inner.corrupt("history", id.0))?;
        Ok(r.origin)
    }

    /// Deliveries from the networks around `ip` in the last minute and day, as of `now`
    /// (Unix seconds). Reads at most 7 + 25 counters per network.
    pub fn delivery_rates(&self, ip: IpAddr, now: i64) -> Result<DeliveryRates, Error> {
        let mut out = DeliveryRates::default();
        let Some(t) = self.inner.history else { return Ok(out) };
        let err = || self.inner.db_err("read history");
        for (i, net) in IpNetwork::ALL.into_iter().enumerate() {
            for (width, window) in [(RATE_MINUTE_BUCKET, 60), (RATE_DAY_BUCKET, 86400)] {
                let from = (now - window).div_euclid(width) * width;
                let start = rate_key(ip, net, width, from);
                let end = rate_key(ip, net, width, i64::MAX);
                let range = (Bound::Included(&start[..]), Bound::Included(&end[..]));
                let mut sum = RateCount::default();
                for item in t.index.range(&self.txn, &range).map_err(err())? {
                    let (_, v) = item.map_err(err())?;
                    let c = decode_rate(v);
                    sum.messages += c.messages;
                    sum.bytes += c.bytes;
                }
                if width == RATE_MINUTE_BUCKET {
                    out.minute[i] = sum;
                } else {
                    out.day[i] = sum;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{account, msg};
    use crate::{FlagOp, NewMessage, UidSet};

    fn origin(from: &str, ip: &str) -> Origin {
        let (lp, dom) = from.split_once('@').unwrap();
        Origin {
            remote_ip: Some(ip.parse().unwrap()),
            msg_from_localpart: lp.into(),
            msg_from_domain: dom.into(),
            msg_from_org_domain: dom.into(),
            msg_from_validated: true,
            dkim_domains: vec![dom.into()],
            message_id: format!("{from}.{ip}@test"),
            ..Default::default()
        }
    }

    fn kw(names: &[&str]) -> Flags {
        Flags::parse(names.iter().copied()).unwrap()
    }

    #[test]
    fn index_follows_flags_moves_copies_and_expunges() {
        let (_d, acc) = account();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let trash = acc.create_mailbox("Trash", SpecialUse::TRASH).unwrap();
        let archive = acc.create_mailbox("Archive", SpecialUse::ARCHIVE).unwrap();
        let mut new =
            NewMessage { origin: Some(origin("a@x.example", "10.1.2.3")), ..Default::default() };
        let d1 = acc.deliver_bytes("Inbox", &msg(1), new.clone()).unwrap();
        new.origin = Some(origin("b@x.example", "10.1.2.77"));
        let d2 = acc.deliver_bytes("Inbox", &msg(2), new).unwrap();
        let dkim = Signal::DkimDomain("x.example");
        let h =
            |acc: &crate::Account| acc.snapshot().unwrap().history(inbox, &dkim, 0, 50).unwrap();
        assert!(h(&acc).is_empty(), "unclassified messages have no reputation entries");

        acc.store_flags(inbox, &UidSet::single(1), FlagOp::Add, &kw(&["$Junk"]), None).unwrap();
        let e = h(&acc);
        assert_eq!(e.len(), 1);
        assert!(e[0].junk && e[0].message == d1.id && e[0].from_localpart == "a");
        // Answered counts as not junk.
        acc.store_flags(inbox, &UidSet::single(2), FlagOp::Add, &kw(&["\\Answered"]), None)
            .unwrap();
        let e = h(&acc);
        assert_eq!(
            e.iter().map(|e| (e.message, e.junk)).collect::<Vec<_>>(),
            [(d2.id, false), (d1.id, true)]
        );
        // The /26 network of both, the /32 of only one.
        let snap = acc.snapshot().unwrap();
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(snap.history(inbox, &Signal::Ip(ip, IpNetwork::Host), 0, 50).unwrap().len(), 1);
        assert_eq!(snap.history(inbox, &Signal::Ip(ip, IpNetwork::Near), 0, 50).unwrap().len(), 1);
        assert_eq!(
            snap.history(inbox, &Signal::Ip("10.1.5.1".parse().unwrap(), IpNetwork::Wide), 0, 50)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(snap.history(inbox, &dkim, 0, 1).unwrap().len(), 1, "limit");
        assert!(snap.history(inbox, &dkim, now_unix() + 10, 50).unwrap().is_empty(), "since");
        assert!(snap.history(trash, &dkim, 0, 50).unwrap().is_empty(), "per mailbox");
        drop(snap);

        // Removing $Junk drops the entry; moving unread to Trash makes it junk again.
        acc.store_flags(inbox, &UidSet::single(1), FlagOp::Remove, &kw(&["$Junk"]), None).unwrap();
        assert_eq!(h(&acc).len(), 1);
        acc.move_messages(inbox, &UidSet::single(1), trash).unwrap();
        let e = h(&acc);
        assert!(e.iter().any(|e| e.message == d1.id && e.junk && e.trashed_unread), "{e:?}");
        // Moved on to the archive: no longer "trashed unread".
        acc.move_messages(trash, &UidSet::all(), archive).unwrap();
        assert!(!h(&acc).iter().any(|e| e.message == d1.id));

        // A copy counts too (it is another message), and an expunge removes the entry.
        acc.copy_messages(inbox, &UidSet::single(2), archive).unwrap();
        assert_eq!(h(&acc).len(), 2);
        acc.store_flags(inbox, &UidSet::single(2), FlagOp::Add, &kw(&["\\Deleted"]), None).unwrap();
        acc.expunge(inbox, None).unwrap();
        let e = h(&acc);
        assert_eq!(e.len(), 1);
        assert_ne!(e[0].message, d2.id);
        let snap = acc.snapshot().unwrap();
        assert!(snap.messages_by_message_id("b@x.example.10.1.2.77@test").unwrap().len() == 1);
        assert_eq!(
            snap.messages_by_message_id("a@x.example.10.1.2.3@test").unwrap(),
            [(d1.id, archive)]
        );
    }

    #[test]
    fn rejects_count_for_the_destined_mailbox_once_moved_out() {
        let (_d, acc) = account();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let rejects = acc.create_mailbox("Rejects", SpecialUse::NONE).unwrap();
        let mut o = origin("s@spam.example", "192.0.2.1");
        o.is_reject = true;
        o.destined_mailbox = Some("Inbox".into());
        let new = NewMessage { origin: Some(o), flags: kw(&["$NotJunk"]), ..Default::default() };
        acc.deliver_bytes("Rejects", &msg(1), new).unwrap();
        let sig = Signal::FromDomain { domain: "spam.example", validated: true };
        assert_eq!(acc.snapshot().unwrap().history(rejects, &sig, 0, 9).unwrap().len(), 1);
        assert!(acc.snapshot().unwrap().history(inbox, &sig, 0, 9).unwrap().is_empty());
        acc.move_messages(rejects, &UidSet::all(), inbox).unwrap();
        assert_eq!(acc.snapshot().unwrap().history(inbox, &sig, 0, 9).unwrap().len(), 1);
        assert!(acc.snapshot().unwrap().history(rejects, &sig, 0, 9).unwrap().is_empty());
    }

    #[test]
    fn sent_to_and_rates() {
        let (_d, acc) = account();
        let sent = acc.create_mailbox("Sent", SpecialUse::SENT).unwrap();
        let r = SentRecipient {
            localpart: "bob".into(),
            domain: "b.example".into(),
            org_domain: "example".into(),
        };
        let d = acc
            .deliver_bytes("Sent", &msg(1), NewMessage { sent_to: vec![r], ..Default::default() })
            .unwrap();
        let snap = acc.snapshot().unwrap();
        assert!(
            snap.sent_to(&SentTo::Address { localpart: "bob", domain: "B.example" }, 0).unwrap()
        );
        assert!(
            !snap.sent_to(&SentTo::Address { localpart: "alice", domain: "b.example" }, 0).unwrap()
        );
        assert!(snap.sent_to(&SentTo::OrgDomain("example"), 0).unwrap());
        assert!(!snap.sent_to(&SentTo::Domain("b.example"), now_unix() + 100).unwrap());
        drop(snap);
        acc.remove_messages(sent, &UidSet::single(d.uid)).unwrap();
        assert!(!acc.snapshot().unwrap().sent_to(&SentTo::Domain("b.example"), 0).unwrap());

        for (i, ip) in
            ["198.51.100.1", "198.51.100.1", "198.51.100.60", "2001:db8::1"].iter().enumerate()
        {
            let new = NewMessage {
                origin: Some(origin(&format!("x{i}@y.example"), ip)),
                ..Default::default()
            };
            acc.deliver_bytes("Inbox", &msg(i as u32), new).unwrap();
        }
        let size = msg(0).len() as u64;
        let rates = acc
            .snapshot()
            .unwrap()
            .delivery_rates("198.51.100.1".parse().unwrap(), now_unix())
            .unwrap();
        assert_eq!(rates.minute[0], RateCount { messages: 2, bytes: 2 * size });
        assert_eq!(rates.minute[1].messages, 3);
        assert_eq!(rates.day[2].messages, 3);
        let v6 = acc
            .snapshot()
            .unwrap()
            .delivery_rates("2001:db8::ffff".parse().unwrap(), now_unix())
            .unwrap();
        assert_eq!((v6.minute[0].messages, v6.day[2].messages), (1, 1));
        // Expunged messages no longer count.
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        acc.remove_messages(inbox, &UidSet::single(1)).unwrap();
        let rates = acc
            .snapshot()
            .unwrap()
            .delivery_rates("198.51.100.1".parse().unwrap(), now_unix())
            .unwrap();
        assert_eq!(rates.minute[0].messages, 1);
    }
}
