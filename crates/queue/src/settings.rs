//! The queue's configuration, with mox's names (mox.conf `Transports`, `Routes` of the global
//! configuration, of domains and of accounts): [`Settings`], [`Transport`], [`Route`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use dns::Domain;
use sasl::{Mechanism, Secret};

use crate::schedule::DEFAULT_MAX_ATTEMPTS;

/// How the queue delivers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Our host name: EHLO, the `Reporting-MTA` and the postmaster address of DSNs.
    pub hostname: Domain,
    /// Named transports (mox.conf `Transports`), referenced by routes and by a message's own
    /// transport.
    pub transports: BTreeMap<String, Transport>,
    /// Global routes (mox.conf `Routes`), evaluated after account and domain routes.
    pub routes: Vec<Route>,
    /// Routes per sender domain (domains.conf `Domains.<domain>.Routes`).
    pub domain_routes: BTreeMap<Domain, Vec<Route>>,
    /// Routes per account (domains.conf `Accounts.<account>.Routes`).
    pub account_routes: BTreeMap<String, Vec<Route>>,
    /// The IPs our SMTP listeners use (mox's `SpecifiedSMTPListenIPs`): outgoing connections
    /// leave from the first one of the destination's address family, so SPF and reverse DNS
    /// match. Empty: the system chooses.
    pub local_ips: Vec<IpAddr>,
    /// The port of MX hosts. 25, except in tests that cannot listen there.
    pub smtp_port: u16,
    /// How many recipient domains are delivered to at the same time (mox: 10).
    pub max_concurrent_deliveries: usize,
    /// How many entries of one domain a delivery takes from the queue at once.
    pub batch_size: usize,
    /// How many connections at most deliver a large batch of one domain in parallel (each
    /// with at least 16 entries). A connection sends its next message only after the previous
    /// one's outcome is on disk, so this bounds a domain's throughput too.
    pub max_connections_per_domain: usize,
    /// Attempts before giving up (see [`crate::schedule`]).
    pub max_attempts: u32,
    /// SMTP timeouts (RFC 5321 §4.5.3.2 by default).
    pub timeouts: smtpclient::Timeouts,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// The furthest ahead a message may be held (FUTURERELEASE, RFC 4865): mox allows 60 days.
    pub max_hold: Duration,
    /// Do not record TLS results for TLS reports (mox's `NoOutgoingTLSReports`).
    pub no_outgoing_tls_reports: bool,
}

impl Settings {
    /// Defaults for a host: direct delivery only, port 25, 10 concurrent domains.
    pub fn new(hostname: Domain) -> Settings {
        Settings {
            hostname,
            transports: BTreeMap::new(),
            routes: Vec::new(),
            domain_routes: BTreeMap::new(),
            account_routes: BTreeMap::new(),
            local_ips: Vec::new(),
            smtp_port: 25,
            max_concurrent_deliveries: 10,
            batch_size: 256,
            max_connections_per_domain: 8,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            timeouts: smtpclient::Timeouts::default(),
            connect_timeout: Duration::from_secs(30),
            max_hold: Duration::from_secs(60 * 24 * 3600),
            no_outgoing_tls_reports: false,
        }
    }
}

/// A way to deliver (mox `Transport`): exactly one kind.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Transport {
    /// Direct delivery to the recipient domain's MX hosts, with tweaks (`Direct`).
    Direct(TransportDirect),
    /// SMTP to a smarthost on port 25, typically unauthenticated relaying (`SMTP`).
    Smtp(TransportSmtp),
    /// Submission (port 587, STARTTLS) to a smarthost (`Submission`).
    Submission(TransportSmtp),
    /// Submission over TLS (port 465) to a smarthost (`Submissions`).
    Submissions(TransportSmtp),
    /// Direct delivery with connections through a SOCKS5 proxy (`Socks`).
    Socks(TransportSocks),
    /// Fail every attempt (`Fail`).
    Fail(TransportFail),
}

impl Transport {
    /// mox's name for the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Direct(_) => "Direct",
            Transport::Smtp(_) => "SMTP",
            Transport::Submission(_) => "Submission",
            Transport::Submissions(_) => "Submissions",
            Transport::Socks(_) => "Socks",
            Transport::Fail(_) => "Fail",
        }
    }
}

/// A smarthost (mox `TransportSMTP`).
#[derive(Debug, Clone)]
pub struct TransportSmtp {
    /// Host to connect to, and the name its certificate must have (`Host`).
    pub host: Domain,
    /// Port; 0 for the default of the kind: 25, 587 or 465 (`Port`).
    pub port: u16,
    /// Accept a certificate that does not verify during STARTTLS
    /// (`STARTTLSInsecureSkipVerify`).
    pub starttls_insecure_skip_verify: bool,
    /// Never STARTTLS: credentials and messages in plain text (`NoSTARTTLS`).
    pub no_starttls: bool,
    /// Credentials (`Auth`).
    pub auth: Option<SmtpAuth>,
}

/// Credentials for a smarthost (mox `SMTPAuth`).
#[derive(Debug, Clone)]
pub struct SmtpAuth {
    /// `Username`.
    pub username: String,
    /// `Password`.
    pub password: Secret<String>,
    /// `Mechanisms` allowed, in order of preference; empty for the default, which leaves out
    /// PLAIN (see [`SmtpAuth::effective_mechanisms`]).
    pub mechanisms: Vec<Mechanism>,
}

impl SmtpAuth {
    /// mox's default when `Mechanisms` is empty: SCRAM first, then CRAM-MD5; never PLAIN or
    /// LOGIN, which reveal the password, unless listed.
    pub const DEFAULT_MECHANISMS: [Mechanism; 5] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha1,
        Mechanism::CramMd5,
    ];

    /// The mechanisms to try, in order.
    pub fn effective_mechanisms(&self) -> &[Mechanism] {
        if self.mechanisms.is_empty() { &Self::DEFAULT_MECHANISMS } else { &self.mechanisms }
    }
}

/// Direct delivery through a SOCKS5 proxy (mox `TransportSocks`).
#[derive(Debug, Clone)]
pub struct TransportSocks {
    /// The proxy, `host:port` (`Address`).
    pub address: String,
    /// The IPs connections from the proxy come from (`RemoteIPs`), for the record.
    pub remote_ips: Vec<IpAddr>,
    /// The name of those IPs, used in EHLO (`RemoteHostname`).
    pub remote_hostname: Domain,
}

/// Direct delivery with restrictions (mox `TransportDirect`).
#[derive(Debug, Clone, Default)]
pub struct TransportDirect {
    /// Never connect to IPv4 addresses (`DisableIPv4`).
    pub disable_ipv4: bool,
    /// Never connect to IPv6 addresses (`DisableIPv6`).
    pub disable_ipv6: bool,
}

/// A transport that fails every attempt (mox `TransportFail`).
#[derive(Debug, Clone)]
pub struct TransportFail {
    /// The SMTP code (`SMTPCode`); 4xx retries, 5xx fails at once. 0 means 554.
    pub smtp_code: u16,
    /// The text, shown in the DSN (`SMTPMessage`).
    pub smtp_message: String,
}

/// When to use a transport (mox `Route`): all given conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// Sender domains (`FromDomain`), ASCII; `.example.com` also matches its subdomains.
    /// Empty matches all.
    pub from_domain: Vec<String>,
    /// Recipient domains (`ToDomain`), as `from_domain`.
    pub to_domain: Vec<String>,
    /// Matches once at least this many attempts were made (`MinimumAttempts`), e.g. to try a
    /// smarthost after direct delivery failed a few times.
    pub minimum_attempts: u32,
    /// The transport's name (`Transport`).
    pub transport: String,
}

impl Route {
    /// Whether the route applies to a message from `from` to `to` after `attempts` attempts.
    /// `None` domains (null sender, IP-literal recipient) match only unrestricted lists.
    ///
    /// ```
    /// use dns::Domain;
    /// use queue::Route;
    ///
    /// let route = Route {
    ///     to_domain: vec![".example.com".into()],
    ///     minimum_attempts: 2,
    ///     transport: "smarthost".into(),
    ///     ..Default::default()
    /// };
    /// let to = Domain::parse("mail.example.com")?;
    /// assert!(!route.matches(None, Some(&to), 1));
    /// assert!(route.matches(None, Some(&to), 2));
    /// assert!(route.matches(None, Some(&Domain::parse("example.com")?), 3));
    /// assert!(!route.matches(None, Some(&Domain::parse("badexample.com")?), 3));
    /// # Ok::<(), dns::DomainError>(())
    /// ```
    pub fn matches(&self, from: Option<&Domain>, to: Option<&Domain>, attempts: u32) -> bool {
        attempts >= self.minimum_attempts
            && domain_matches(&self.from_domain, from)
            && domain_matches(&self.to_domain, to)
    }
}

fn domain_matches(list: &[String], domain: Option<&Domain>) -> bool {
    if list.is_empty() {
        return true;
    }
    let Some(domain) = domain else { return false };
    let ascii = domain.ascii();
    list.iter().any(|entry| {
        let entry = entry.to_ascii_lowercase();
        match entry.strip_prefix('.') {
            Some(parent) => {
                ascii == parent || (ascii.len() > entry.len() && ascii.ends_with(entry.as_str()))
            }
            None => ascii == entry,
        }
    })
}

/// The first matching route of the account's, then the sender domain's, then the global
/// routes (as mox evaluates them).
pub(crate) fn find_route<'a>(
    settings: &'a Settings,
    account: Option<&str>,
    from: Option<&Domain>,
    to: Option<&Domain>,
    attempts: u32,
) -> Option<&'a Route> {
    let account_routes = account.and_then(|a| settings.account_routes.get(a));
    let domain_routes = from.and_then(|d| settings.domain_routes.get(d));
    account_routes
        .into_iter()
        .chain(domain_routes)
        .chain(std::iter::once(&settings.routes))
        .flat_map(|routes| routes.iter())
        .find(|route| route.matches(from, to, attempts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    #[test]
    fn routes_in_mox_order() {
        let mut settings = Settings::new(d("mox.example"));
        let route = |transport: &str, from: &[&str], minimum_attempts| Route {
            from_domain: from.iter().map(|s| s.to_string()).collect(),
            to_domain: Vec::new(),
            minimum_attempts,
            transport: transport.into(),
        };
        settings.routes = vec![route("global-late", &[], 3), route("global", &[], 0)];
        settings.domain_routes.insert(d("a.example"), vec![route("domain", &[], 1)]);
        settings.account_routes.insert("acc".into(), vec![route("account", &[".a.example"], 0)]);
        let find = |settings: &Settings, account, from: Option<&str>, attempts| {
            let from = from.map(d);
            find_route(settings, account, from.as_ref(), Some(&d("r.example")), attempts)
                .map(|r| r.transport.clone())
        };
        assert_eq!(
            find(&settings, Some("acc"), Some("sub.a.example"), 0).as_deref(),
            Some("account")
        );
        assert_eq!(find(&settings, Some("other"), Some("a.example"), 0).as_deref(), Some("global"));
        assert_eq!(find(&settings, Some("other"), Some("a.example"), 1).as_deref(), Some("domain"));
        assert_eq!(find(&settings, None, None, 5).as_deref(), Some("global-late"));
        settings.routes.clear();
        assert_eq!(find(&settings, None, Some("b.example"), 0), None);
        assert!(!route("x", &["a.example"], 0).matches(None, None, 0));
    }

    #[test]
    fn default_mechanisms_leave_out_plain() {
        let auth = SmtpAuth {
            username: "u".into(),
            password: Secret::new("p".into()),
            mechanisms: Vec::new(),
        };
        assert!(!auth.effective_mechanisms().iter().any(|m| m.reveals_password()));
        assert_eq!(auth.effective_mechanisms()[0], Mechanism::ScramSha256Plus);
        let plain = SmtpAuth { mechanisms: vec![Mechanism::Plain], ..auth };
        assert_eq!(plain.effective_mechanisms(), [Mechanism::Plain]);
    }
}
