//! Reputation: is an incoming message junk, judging by what the account did with earlier
//! messages from the same sender, domain, verified DKIM/SPF domain or IP network?
//!
//! These are mox's rules (its `smtpserver/reputation.go`), checked in order until one finds
//! earlier messages; only messages delivered to the same mailbox count, and only those
//! classified as junk or not junk (see [`store::history`] for what classifies a message):
//!
//! 1. The exact From address, among messages with the same From validation (last 2 messages,
//!    3 years). Conclusive only if the From domain is validated. An unvalidated message from
//!    an address whose earlier messages were validated is suspicious.
//! 2. The From address was a recipient of a message the account sent (3 years): accept.
//! 3. The From domain, then its organizational domain (last 20 messages, 2 years): over 80%
//!    not junk accepts; all junk from at least 3 addresses rejects; then, as in 2., a domain
//!    the account sent to.
//! 4. Verified DKIM domains, SPF-verified MAIL FROM (address, else domain) or EHLO domain
//!    (last 50 messages, half a year): a signal is ham below 10% junk, spam above 90%.
//! 5. The remote IP's /32, else /26, else /21 (IPv6: /64, /48, /32; last 50 messages, a
//!    quarter year); conclusive with at least 2, 5 and 10 messages and a clear signal.
//!
//! Each lookup reads at most a fixed number of index entries, so the cost does not grow with
//! the account's history.

use std::collections::HashSet;

use store::history::{IpNetwork, SentTo, Signal};
use store::{MailboxId, Origin, Snapshot};

use crate::Error;

const YEAR: i64 = 365 * 24 * 3600;

/// Which rule decided ([`Verdict::method`]); the names are mox's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The exact From address.
    MsgFromFull,
    /// The From address was a recipient of a message sent by the account.
    MsgToFull,
    /// The From domain.
    MsgFromDomain,
    /// The From organizational domain.
    MsgFromOrgDomain,
    /// The From domain was the domain of a recipient.
    MsgToDomain,
    /// The From organizational domain was that of a recipient.
    MsgToOrgDomain,
    /// Verified DKIM/SPF domains.
    DkimSpf,
    /// The IP address (/32, /64).
    Ip1,
    /// The IP's /26 (/48).
    Ip2,
    /// The IP's /21 (/32).
    Ip3,
    /// No history.
    None,
}

impl Method {
    /// mox's name, as in `X-Mox-Reason` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::MsgFromFull => "msgfromfull",
            Method::MsgToFull => "msgtofull",
            Method::MsgFromDomain => "msgfromdomain",
            Method::MsgFromOrgDomain => "msgfromorgdomain",
            Method::MsgToDomain => "msgtodomain",
            Method::MsgToOrgDomain => "msgtoorgdomain",
            Method::DkimSpf => "dkimspf",
            Method::Ip1 => "ip1",
            Method::Ip2 => "ip2",
            Method::Ip3 => "ip3",
            Method::None => "none",
        }
    }

    /// Whether the rule is about the sender's identity (From address or domain), rather than
    /// infrastructure (DKIM/SPF domains, IPs) or nothing.
    pub fn is_sender(self) -> bool {
        !matches!(self, Method::DkimSpf | Method::Ip1 | Method::Ip2 | Method::Ip3 | Method::None)
    }
}

/// What history says about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Junk (`Some(true)`), not junk (`Some(false)`), or no opinion.
    pub junk: Option<bool>,
    /// Whether the verdict is strong enough to decide delivery on its own.
    pub conclusive: bool,
    /// The rule that decided.
    pub method: Method,
    /// Why, for logs and the `X-Mox-Reason` header.
    pub reason: String,
}

impl Verdict {
    fn new(junk: Option<bool>, conclusive: bool, method: Method, reason: String) -> Verdict {
        Verdict { junk, conclusive, method, reason }
    }
}

/// Evaluates the reputation of a message with delivery facts `m` for delivery to `mailbox`,
/// as of `now` (Unix seconds).
pub fn evaluate(
    snap: &Snapshot<'_>,
    mailbox: MailboxId,
    m: &Origin,
    now: i64,
) -> Result<Verdict, Error> {
    let history =
        |s: Signal<'_>, age: i64, limit: usize| snap.history(mailbox, &s, now - age, limit);
    // "Junk" from the last one or two: the last was junk, and so was the one before if any.
    let last_junk = |l: &[store::history::HistoryEntry]| l[0].junk && (l.len() == 1 || l[1].junk);

    if !m.msg_from_domain.is_empty() {
        let (lp, dom, validated) =
            (&m.msg_from_localpart[..], &m.msg_from_domain[..], m.msg_from_validated);
        let l =
            history(Signal::FromAddress { localpart: lp, domain: dom, validated }, 3 * YEAR, 2)?;
        if !l.is_empty() {
            return Ok(Verdict::new(
                Some(last_junk(&l)),
                validated,
                Method::MsgFromFull,
                "reputation of exact message-from address".into(),
            ));
        }
        if !validated {
            let l = history(
                Signal::FromAddress { localpart: lp, domain: dom, validated: true },
                3 * YEAR,
                2,
            )?;
            if !l.is_empty() {
                return Ok(Verdict::new(
                    Some(true),
                    last_junk(&l),
                    Method::MsgFromFull,
                    "unvalidated message with validated historic messages with exact message-from address".into(),
                ));
            }
        }
        if snap.sent_to(&SentTo::Address { localpart: lp, domain: dom }, now - 3 * YEAR)? {
            return Ok(Verdict::new(
                Some(false),
                true,
                Method::MsgToFull,
                "exact message-from address was earlier message recipient".into(),
            ));
        }
        for org in [false, true] {
            let (domain, method, to_method, source) = if org {
                if m.msg_from_org_domain.is_empty() {
                    continue;
                }
                (
                    &m.msg_from_org_domain[..],
                    Method::MsgFromOrgDomain,
                    Method::MsgToOrgDomain,
                    "organizational domain of message-from address",
                )
            } else {
                (
                    dom,
                    Method::MsgFromDomain,
                    Method::MsgToDomain,
                    "exact domain of message-from address",
                )
            };
            let signal = |validated| {
                if org {
                    Signal::FromOrgDomain { domain, validated }
                } else {
                    Signal::FromDomain { domain, validated }
                }
            };
            let l = history(signal(validated), 2 * YEAR, 20)?;
            if !l.is_empty() {
                let nonjunk = l.iter().filter(|e| !e.junk).count();
                let n = l.len();
                if 100 * nonjunk / n > 80 {
                    return Ok(Verdict::new(
                        Some(false),
                        true,
                        method,
                        format!("positive reputation with {source} based on {n} messages"),
                    ));
                }
                if nonjunk == 0 {
                    let senders: HashSet<&str> =
                        l.iter().map(|e| e.from_localpart.as_str()).collect();
                    if senders.len() >= 3 {
                        return Ok(Verdict::new(
                            Some(true),
                            true,
                            method,
                            format!(
                                "negative reputation of at least 3 addresses with {source} based on {n} messages"
                            ),
                        ));
                    }
                    return Ok(Verdict::new(
                        Some(true),
                        false,
                        method,
                        format!("negative reputation with {source} based on {n} messages"),
                    ));
                }
                return Ok(Verdict::new(
                    None,
                    false,
                    method,
                    format!("mixed signals with {source} based on {n} messages"),
                ));
            }
            if !validated {
                let l = history(signal(true), 2 * YEAR, 2)?;
                if !l.is_empty() {
                    return Ok(Verdict::new(
                        Some(true),
                        last_junk(&l),
                        method,
                        format!(
                            "unvalidated message with {source} while we have validated messages from that source"
                        ),
                    ));
                }
            }
            let sent = if org { SentTo::OrgDomain(domain) } else { SentTo::Domain(domain) };
            if snap.sent_to(&sent, now - 2 * YEAR)? {
                return Ok(Verdict::new(
                    Some(false),
                    true,
                    to_method,
                    format!("{source} was recipient address"),
                ));
            }
        }
    }

    // Verified DKIM and SPF identities (failed ones are not used: RFC 6376 §6.1).
    let mut signals: Vec<(f64, &str)> = Vec::new();
    let mut most = 0;
    for d in m.dkim_domains.iter().filter(|d| !d.is_empty()) {
        let l = history(Signal::DkimDomain(d), YEAR / 2, 50)?;
        if !l.is_empty() {
            signals.push((junk_fraction(&l), d));
            most = most.max(l.len());
        }
    }
    if m.mail_from_validated || m.ehlo_validated {
        let mut l = Vec::new();
        let mut dom = "";
        if m.mail_from_validated && !m.mail_from_domain.is_empty() {
            dom = &m.mail_from_domain;
            l = history(
                Signal::MailFromAddress { localpart: &m.mail_from_localpart, domain: dom },
                YEAR / 2,
                50,
            )?;
            if l.is_empty() {
                l = history(Signal::MailFromDomain(dom), YEAR / 2, 50)?;
            }
        }
        if l.is_empty() && m.ehlo_validated && !m.ehlo_domain.is_empty() {
            dom = &m.ehlo_domain;
            l = history(Signal::EhloDomain(dom), YEAR / 2, 50)?;
        }
        if !l.is_empty() {
            signals.push((junk_fraction(&l), dom));
            most = most.max(l.len());
        }
    }
    if !signals.is_empty() {
        let hams: Vec<&str> = signals.iter().filter(|s| s.0 < 0.1).map(|s| s.1).collect();
        let spams: Vec<&str> = signals.iter().filter(|s| s.0 > 0.9).map(|s| s.1).collect();
        return Ok(if !hams.is_empty() && spams.is_empty() {
            Verdict::new(
                Some(false),
                true,
                Method::DkimSpf,
                format!("positive dkim/spf reputation for domain(s) {}", hams.join(",")),
            )
        } else if !spams.is_empty() && hams.is_empty() {
            Verdict::new(
                Some(true),
                most > 1,
                Method::DkimSpf,
                format!("negative dkim/spf reputation for domain(s) {}", spams.join(",")),
            )
        } else {
            Verdict::new(
                None,
                false,
                Method::DkimSpf,
                format!(
                    "mixed dkim/spf reputation, positive for {}, negative for {}",
                    hams.join(","),
                    spams.join(",")
                ),
            )
        });
    }

    // The IP's networks: a wider network needs more messages to be conclusive.
    if let Some(ip) = m.remote_ip {
        for (net, need, method) in [
            (IpNetwork::Host, 2, Method::Ip1),
            (IpNetwork::Near, 5, Method::Ip2),
            (IpNetwork::Wide, 10, Method::Ip3),
        ] {
            let l = history(Signal::Ip(ip, net), YEAR / 4, 50)?;
            if l.is_empty() {
                continue;
            }
            let p = junk_fraction(&l);
            let junk = if p < 0.25 {
                Some(false)
            } else if p > 0.75 {
                Some(true)
            } else {
                None
            };
            let conclusive = l.len() >= need && (p <= 0.1 || p >= 0.9);
            let len = net.prefix_len(ip.is_ipv6() && !ip.to_canonical().is_ipv4());
            return Ok(Verdict::new(
                junk,
                conclusive,
                method,
                format!("reputation for ip {ip}/{len}, spam score {p:.2}"),
            ));
        }
    }
    Ok(Verdict::new(None, false, Method::None, "no address/spf/dkim/ip reputation".into()))
}

fn junk_fraction(l: &[store::history::HistoryEntry]) -> f64 {
    l.iter().filter(|e| e.junk).count() as f64 / l.len() as f64
}
