//! `check_host()` (RFC 7208 §4) over a [`dns::Resolver`], and the MAIL FROM and HELO identities
//! (RFC 7208 §2.3, §2.4).

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dns::{Domain, LookupError, Resolver, TxtSelection};

use crate::SpfResult;
use crate::error::Error;
use crate::macros::{MacroLetter, MacroString, MacroValues};
use crate::record::{Directive, DomainSpec, DualCidr, Mechanism, Record};

/// The limits of RFC 7208 §4.6.4 that keep an evaluation's DNS traffic bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Terms that cause DNS lookups (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`) in the
    /// whole evaluation, includes and redirects counted; more is a permerror. RFC: 10.
    pub lookup_terms: usize,
    /// Lookups of names with no records (NXDOMAIN or an empty answer) made for mechanisms and
    /// the MX hosts they name; more is a permerror. RFC: 2.
    pub void_lookups: usize,
    /// MX names one `mx` mechanism may look up; more is a permerror. RFC: 10.
    pub mx_names: usize,
    /// PTR names validated for `ptr` and `%{p}`; the rest are ignored. RFC: 10.
    pub ptr_names: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { lookup_terms: 10, void_lookups: 2, mx_names: 10, ptr_names: 10 }
    }
}

/// How deep includes and redirects may nest, whatever the [`Limits`]: the lookup-term limit
/// already bounds nesting to 10, this keeps a raised limit from recursing without bound.
pub const MAX_NESTING: usize = 32;

/// How long an evaluation may take by default: RFC 7208 §4.6.4 asks for at least 20 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Evaluates SPF policies, with the resolver, limits and receiver name an SMTP server uses for
/// every transaction.
///
/// See the crate documentation for an example.
#[derive(Clone)]
pub struct Verifier<'r> {
    resolver: &'r dyn Resolver,
    receiver: Option<String>,
    limits: Limits,
    timeout: Option<Duration>,
    timestamp: Option<u64>,
}

impl fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("receiver", &self.receiver)
            .field("limits", &self.limits)
            .field("timeout", &self.timeout)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// Which identity was checked (RFC 7208 §2.3, §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// The MAIL FROM reverse-path, or `postmaster@` the HELO name when it was empty.
    MailFrom,
    /// The HELO/EHLO name.
    Helo,
}

impl Identity {
    /// `mailfrom` or `helo`, as in Received-SPF and Authentication-Results.
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::MailFrom => "mailfrom",
            Identity::Helo => "helo",
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of `check_host()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The result.
    pub result: SpfResult,
    /// The directive that decided the result: the one that matched, or the one whose evaluation
    /// failed for temperror and permerror. `None` when no mechanism matched (the default
    /// result), or when no record was evaluated. A match inside an `include` gives the `include`
    /// directive; after a `redirect`, the directive of the redirected record.
    pub mechanism: Option<Directive>,
    /// For fail: the explanation from the record's `exp=` modifier, macro-expanded and US-ASCII.
    /// It comes from the domain's owner; show it as such (RFC 7208 §6.2, §8.4).
    pub explanation: Option<String>,
    /// For none, temperror and permerror: what happened, for logs and the `problem=` key of
    /// Received-SPF.
    pub problem: Option<String>,
    /// How many terms that cause DNS lookups were evaluated.
    pub lookup_terms: usize,
    /// How many lookups found no records.
    pub void_lookups: usize,
}

/// The result of checking an identity of an SMTP transaction, with what Received-SPF and
/// Authentication-Results record about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The identity checked.
    pub identity: Identity,
    /// The SMTP client's address.
    pub client_ip: IpAddr,
    /// The HELO/EHLO argument as given.
    pub helo: String,
    /// The sender checked: the MAIL FROM address, or `postmaster@` the HELO name.
    pub sender: String,
    /// The domain whose policy was checked (the sender's domain), ASCII when it is a valid name.
    pub domain: String,
    /// What `check_host()` found.
    pub evaluation: Evaluation,
}

impl Verification {
    /// The result.
    pub fn result(&self) -> SpfResult {
        self.evaluation.result
    }
}

impl<'r> Verifier<'r> {
    /// A verifier with the RFC's limits, the receiver name `unknown` and a 20-second timeout.
    pub fn new(resolver: &'r dyn Resolver) -> Verifier<'r> {
        Verifier {
            resolver,
            receiver: None,
            limits: Limits::default(),
            timeout: Some(DEFAULT_TIMEOUT),
            timestamp: None,
        }
    }

    /// The name of this host, for the `%{r}` macro in explanations.
    pub fn with_receiver(mut self, receiver: impl Into<String>) -> Verifier<'r> {
        self.receiver = Some(receiver.into());
        self
    }

    /// Other processing limits than RFC 7208's.
    pub fn with_limits(mut self, limits: Limits) -> Verifier<'r> {
        self.limits = limits;
        self
    }

    /// The longest an evaluation may take before it gives temperror (RFC 7208 §4.6.4), or
    /// `None` for no limit. The timer needs a Tokio runtime with time enabled, as
    /// `#[tokio::main]` and `#[tokio::test]` provide.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Verifier<'r> {
        self.timeout = timeout;
        self
    }

    /// A fixed time (seconds since the epoch) for the `%{t}` macro instead of the clock.
    pub fn with_timestamp(mut self, timestamp: u64) -> Verifier<'r> {
        self.timestamp = Some(timestamp);
        self
    }

    /// Checks the MAIL FROM identity (RFC 7208 §2.4): `mail_from` is the reverse-path without
    /// angle brackets, or empty for the null reverse-path, in which case `postmaster@` the HELO
    /// name is checked. An empty local-part (`@example.com`) becomes `postmaster` (§4.3).
    ///
    /// A domain that is not a valid multi-label name gives [`SpfResult::None`]; only a
    /// non-empty `mail_from` without `@` is an error.
    pub async fn verify_mail_from(
        &self,
        client_ip: IpAddr,
        helo: &str,
        mail_from: &str,
    ) -> Result<Verification, Error> {
        let (local_part, domain) = if mail_from.is_empty() {
            ("", helo)
        } else {
            mail_from
                .rsplit_once('@')
                .ok_or_else(|| Error::InvalidMailFrom { mail_from: mail_from.to_string() })?
        };
        Ok(self.verify(Identity::MailFrom, client_ip, helo, local_part, domain).await)
    }

    /// Checks the HELO identity (RFC 7208 §2.3): the policy of the HELO name, with
    /// `postmaster@` the HELO name as sender. An address literal such as `[192.0.2.1]` or a
    /// single-label name gives [`SpfResult::None`].
    pub async fn verify_helo(&self, client_ip: IpAddr, helo: &str) -> Verification {
        self.verify(Identity::Helo, client_ip, helo, "", helo).await
    }

    /// `check_host(<ip>, <domain>, <sender>)` as RFC 7208 §4 defines it, with the HELO name for
    /// the `%{h}` macro. `sender` is `local-part@domain`; without `@` it is taken as a domain
    /// with local-part `postmaster`.
    pub async fn check_host(
        &self,
        client_ip: IpAddr,
        domain: &str,
        sender: &str,
        helo: &str,
    ) -> Evaluation {
        let (local_part, sender_domain) = sender.rsplit_once('@').unwrap_or(("", sender));
        let local_part = if local_part.is_empty() { "postmaster" } else { local_part };
        let sender = format!("{local_part}@{sender_domain}");
        let receiver = self.receiver.as_deref().unwrap_or("unknown");
        let timestamp = self.timestamp.unwrap_or_else(|| {
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
        });
        let mut evaluator = Evaluator {
            resolver: self.resolver,
            limits: self.limits,
            ip: canonical_ip(client_ip),
            sender: &sender,
            local_part,
            sender_domain,
            helo,
            receiver,
            timestamp,
            lookup_terms: 0,
            void_lookups: 0,
            ptr: None,
            stack: Vec::new(),
        };
        let outcome = match self.timeout {
            None => evaluator.check_initial(domain).await,
            Some(timeout) => {
                match tokio::time::timeout(timeout, evaluator.check_initial(domain)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Outcome::stop(Stop::temp(format!(
                        "evaluation took longer than {} seconds",
                        timeout.as_secs_f32()
                    ))),
                }
            }
        };
        let evaluation = Evaluation {
            result: outcome.result,
            mechanism: outcome.mechanism,
            explanation: outcome.explanation,
            problem: outcome.problem,
            lookup_terms: evaluator.lookup_terms,
            void_lookups: evaluator.void_lookups,
        };
        tracing::debug!(
            domain,
            ip = %client_ip,
            sender = %sender,
            result = %evaluation.result,
            mechanism = evaluation.mechanism.as_ref().map(tracing::field::display),
            problem = evaluation.problem.as_deref(),
            lookup_terms = evaluation.lookup_terms,
            void_lookups = evaluation.void_lookups,
            "spf check_host"
        );
        evaluation
    }

    async fn verify(
        &self,
        identity: Identity,
        client_ip: IpAddr,
        helo: &str,
        local_part: &str,
        domain: &str,
    ) -> Verification {
        // RFC 7208 §4.3: internationalized names are checked in their A-label form.
        let domain =
            Domain::parse(domain).map_or_else(|_| domain.to_string(), |d| d.ascii().into());
        let local_part = if local_part.is_empty() { "postmaster" } else { local_part };
        let sender = format!("{local_part}@{domain}");
        let evaluation = self.check_host(client_ip, &domain, &sender, helo).await;
        Verification { identity, client_ip, helo: helo.to_string(), sender, domain, evaluation }
    }
}

/// What looking up a domain's SPF record found (RFC 7208 §4.4, §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordLookup {
    /// The domain has exactly one SPF record, and it parses.
    Found {
        /// The record as published (its strings concatenated).
        text: String,
        /// The parsed record.
        record: Record,
        /// Whether the answer was DNSSEC-authenticated.
        authentic: bool,
    },
    /// The domain does not exist or has no SPF record: result none.
    None {
        /// What was found.
        problem: String,
    },
    /// The lookup failed temporarily: result temperror.
    Temperror {
        /// The DNS failure.
        problem: String,
    },
    /// Several SPF records, or one that does not parse: result permerror.
    Permerror {
        /// What is wrong.
        problem: String,
        /// The record, when there is one that does not parse.
        text: Option<String>,
    },
}

impl RecordLookup {
    /// The SPF result the lookup implies, or `None` when a record was found and has to be
    /// evaluated.
    pub fn result(&self) -> Option<SpfResult> {
        match self {
            RecordLookup::Found { .. } => None,
            RecordLookup::None { .. } => Some(SpfResult::None),
            RecordLookup::Temperror { .. } => Some(SpfResult::Temperror),
            RecordLookup::Permerror { .. } => Some(SpfResult::Permerror),
        }
    }
}

/// Looks up the SPF record of `domain`: the TXT records that start with `v=spf1`, of which there
/// must be exactly one (RFC 7208 §4.4, §4.5). Other TXT records are ignored.
pub async fn lookup_record(resolver: &dyn Resolver, domain: &Domain) -> RecordLookup {
    let (text, authentic) = match dns::select_txt(resolver, domain, Record::is_spf).await {
        Ok(TxtSelection::One { text, authentic }) => (text, authentic),
        Ok(TxtSelection::Absent { reason: Some(e) }) => {
            return RecordLookup::None { problem: format!("no SPF record: {e}") };
        }
        Ok(TxtSelection::Absent { reason: None }) => {
            let problem = format!("{domain}: no SPF record among its TXT records");
            return RecordLookup::None { problem };
        }
        Ok(TxtSelection::Several { texts }) => {
            let problem = format!("{domain}: {} SPF records, there must be one", texts.len());
            return RecordLookup::Permerror { problem, text: None };
        }
        Err(e) => return RecordLookup::Temperror { problem: e.to_string() },
    };
    match Record::parse(&text) {
        Ok(record) => RecordLookup::Found { text, record, authentic },
        Err(e) => RecordLookup::Permerror {
            problem: format!("{domain}: invalid record: {e}"),
            text: Some(text),
        },
    }
}

/// An IPv4-mapped IPv6 address is an IPv4 client (RFC 7208 §5, RFC 4291 §2.5.5.2).
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a mechanism stopped the evaluation: temperror or permerror, with what happened.
#[derive(Debug)]
struct Stop {
    result: SpfResult,
    problem: String,
}

impl Stop {
    fn temp(problem: String) -> Stop {
        Stop { result: SpfResult::Temperror, problem }
    }

    fn perm(problem: String) -> Stop {
        Stop { result: SpfResult::Permerror, problem }
    }
}

/// The outcome of one (possibly nested) `check_host()`.
#[derive(Debug)]
struct Outcome {
    result: SpfResult,
    mechanism: Option<Directive>,
    explanation: Option<String>,
    problem: Option<String>,
}

impl Outcome {
    fn stop(stop: Stop) -> Outcome {
        Outcome {
            result: stop.result,
            mechanism: None,
            explanation: None,
            problem: Some(stop.problem),
        }
    }

    fn none(problem: String) -> Outcome {
        Outcome {
            result: SpfResult::None,
            mechanism: None,
            explanation: None,
            problem: Some(problem),
        }
    }
}

/// The reverse names of the client that were looked up, for `ptr` and `%{p}`.
#[derive(Debug)]
struct PtrNames {
    /// Names whose addresses include the client.
    validated: Vec<Domain>,
    /// Whether the PTR lookup found nothing.
    void: bool,
}

/// The state of one evaluation: its inputs and the counters shared by every nested record.
struct Evaluator<'a> {
    resolver: &'a dyn Resolver,
    limits: Limits,
    ip: IpAddr,
    sender: &'a str,
    local_part: &'a str,
    sender_domain: &'a str,
    helo: &'a str,
    receiver: &'a str,
    timestamp: u64,
    lookup_terms: usize,
    void_lookups: usize,
    /// Looked up at most once per evaluation.
    ptr: Option<PtrNames>,
    /// Domains whose records are being evaluated, outermost first, to stop loops early.
    stack: Vec<Domain>,
}

impl<'a> Evaluator<'a> {
    async fn check_initial(&mut self, domain: &str) -> Outcome {
        // RFC 7208 §4.3: a malformed domain gives "none". Host names only: a MAIL FROM or HELO
        // domain with other characters is not one.
        let Ok(domain) = Domain::parse(domain) else {
            return Outcome::none(format!("{domain:?} is not a valid domain name"));
        };
        self.stack.push(domain.clone());
        self.check_host(domain, true).await
    }

    fn check_host<'s>(&'s mut self, domain: Domain, explain: bool) -> BoxFuture<'s, Outcome> {
        Box::pin(async move {
            if domain.labels().count() < 2 {
                return Outcome::none(format!("{domain} is not a multi-label domain name"));
            }
            let record = match self.lookup_record(&domain).await {
                Ok(record) => record,
                Err(outcome) => return outcome,
            };
            for directive in record.directives() {
                let decided = match self.evaluate(directive, &domain).await {
                    Ok(false) => continue,
                    Ok(true) => {
                        let result = directive.qualifier.result();
                        let explanation = if result == SpfResult::Fail && explain {
                            self.explain(&record, &domain).await
                        } else {
                            None
                        };
                        Outcome { result, mechanism: None, explanation, problem: None }
                    }
                    Err(stop) => Outcome::stop(stop),
                };
                return Outcome { mechanism: Some(directive.clone()), ..decided };
            }
            // RFC 7208 §6.1: redirect is ignored when the record has "all".
            let has_all = record.directives().any(|d| d.mechanism == Mechanism::All);
            match record.redirect() {
                Some(spec) if !has_all => self.redirect(spec, &domain, explain).await,
                _ => Outcome {
                    result: SpfResult::Neutral,
                    mechanism: None,
                    explanation: None,
                    problem: None,
                },
            }
        })
    }

    /// RFC 7208 §4.4, §4.5: the one SPF record of `domain`, or the outcome without one.
    async fn lookup_record(&mut self, domain: &Domain) -> Result<Record, Outcome> {
        match lookup_record(self.resolver, domain).await {
            RecordLookup::Found { record, .. } => Ok(record),
            RecordLookup::None { problem } => Err(Outcome::none(problem)),
            RecordLookup::Temperror { problem } => Err(Outcome::stop(Stop::temp(problem))),
            RecordLookup::Permerror { problem, .. } => Err(Outcome::stop(Stop::perm(problem))),
        }
    }

    /// Whether `directive` matches, or why evaluation stops.
    async fn evaluate(&mut self, directive: &Directive, domain: &Domain) -> Result<bool, Stop> {
        if directive.causes_lookup() {
            self.count_lookup_term()?;
        }
        match &directive.mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Include(spec) => self.include(spec, domain).await,
            Mechanism::A { domain: spec, cidr } => {
                let Some(target) = self.optional_target(spec.as_ref(), domain).await else {
                    return Ok(false);
                };
                let addresses = self.addresses(&target).await?;
                Ok(addresses.into_iter().any(|a| self.matches_cidr(a, *cidr)))
            }
            Mechanism::Mx { domain: spec, cidr } => {
                let Some(target) = self.optional_target(spec.as_ref(), domain).await else {
                    return Ok(false);
                };
                self.mx(&target, *cidr).await
            }
            Mechanism::Ptr(spec) => {
                let Some(target) = self.optional_target(spec.as_ref(), domain).await else {
                    return Ok(false);
                };
                self.ensure_ptr_names().await;
                let Some(ptr) = &self.ptr else { return Ok(false) };
                let (void, matched) =
                    (ptr.void, ptr.validated.iter().any(|name| name.is_within(&target)));
                if void {
                    self.count_void(&format!("PTR of {}", self.ip))?;
                }
                Ok(matched)
            }
            Mechanism::Ip4 { network, prefix } => Ok(match self.ip {
                IpAddr::V4(ip) => prefix_matches(
                    u128::from(ip.to_bits()),
                    u128::from(network.to_bits()),
                    prefix.unwrap_or(32),
                    32,
                ),
                IpAddr::V6(_) => false,
            }),
            Mechanism::Ip6 { network, prefix } => Ok(match self.ip {
                IpAddr::V6(ip) => {
                    prefix_matches(ip.to_bits(), network.to_bits(), prefix.unwrap_or(128), 128)
                }
                IpAddr::V4(_) => false,
            }),
            Mechanism::Exists(spec) => {
                let Some(target) = self.target_name(spec, domain).await else {
                    return Ok(false);
                };
                // RFC 7208 §5.7: an A lookup, even for IPv6 clients.
                match self.resolver.lookup_a(&target).await {
                    Ok(_) => Ok(true),
                    Err(e) => self.not_found_or_stop(e).map(|()| false),
                }
            }
        }
    }

    /// RFC 7208 §5.2.
    async fn include(&mut self, spec: &DomainSpec, domain: &Domain) -> Result<bool, Stop> {
        let Some(target) = self.target_name(spec, domain).await else {
            return Err(Stop::perm(format!("include:{spec}: target is not a valid domain name")));
        };
        if self.stack.contains(&target) {
            return Err(Stop::perm(format!(
                "include:{target} loops back to a record being evaluated"
            )));
        }
        if self.stack.len() >= MAX_NESTING {
            return Err(Stop::perm(format!("include:{target} nests deeper than {MAX_NESTING}")));
        }
        self.stack.push(target.clone());
        let nested = self.check_host(target.clone(), false).await;
        self.stack.pop();
        let problem = || nested.problem.clone().unwrap_or_default();
        match nested.result {
            SpfResult::Pass => Ok(true),
            SpfResult::Fail | SpfResult::Softfail | SpfResult::Neutral => Ok(false),
            SpfResult::Temperror => Err(Stop::temp(format!("include:{target}: {}", problem()))),
            SpfResult::Permerror => Err(Stop::perm(format!("include:{target}: {}", problem()))),
            SpfResult::None => Err(Stop::perm(format!("include:{target}: {}", problem()))),
        }
    }

    /// RFC 7208 §6.1.
    async fn redirect(&mut self, spec: &DomainSpec, domain: &Domain, explain: bool) -> Outcome {
        if let Err(stop) = self.count_lookup_term() {
            return Outcome::stop(stop);
        }
        let Some(target) = self.target_name(spec, domain).await else {
            let problem = format!("redirect={spec}: target is not a valid domain name");
            return Outcome::stop(Stop::perm(problem));
        };
        if self.stack.contains(&target) {
            let problem = format!("redirect={target} loops back to a record being evaluated");
            return Outcome::stop(Stop::perm(problem));
        }
        if self.stack.len() >= MAX_NESTING {
            let problem = format!("redirect={target} nests deeper than {MAX_NESTING}");
            return Outcome::stop(Stop::perm(problem));
        }
        self.stack.push(target.clone());
        let outcome = self.check_host(target.clone(), explain).await;
        self.stack.pop();
        if outcome.result == SpfResult::None {
            let problem = format!("redirect={target}: {}", outcome.problem.unwrap_or_default());
            return Outcome::stop(Stop::perm(problem));
        }
        outcome
    }

    /// RFC 7208 §5.4.
    async fn mx(&mut self, target: &Domain, cidr: DualCidr) -> Result<bool, Stop> {
        let mxs = match self.resolver.lookup_mx(target).await {
            Ok(lookup) => lookup.records,
            Err(e) => return self.not_found_or_stop(e).map(|()| false),
        };
        // A null MX (RFC 7505) names no host.
        let names: Vec<Domain> = mxs.into_iter().filter_map(|mx| mx.exchange).collect();
        if names.len() > self.limits.mx_names {
            return Err(Stop::perm(format!(
                "{target} has {} MX names, more than the limit of {}",
                names.len(),
                self.limits.mx_names
            )));
        }
        for name in names {
            let addresses = self.addresses(&name).await?;
            if addresses.into_iter().any(|a| self.matches_cidr(a, cidr)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// RFC 7208 §6.2: the explanation for a fail, or `None` when there is none or it cannot be
    /// had; problems with it never change the result.
    async fn explain(&mut self, record: &Record, domain: &Domain) -> Option<String> {
        let spec = record.explanation()?;
        let target = self.target_name(spec, domain).await?;
        let lookup = self.resolver.lookup_txt(&target).await.ok()?;
        let [text] = lookup.records.as_slice() else { return None };
        let explanation = MacroString::parse_explanation(text).ok()?;
        let expanded = self.expand(&explanation, domain).await.ok()?;
        expanded.bytes().all(|b| b == b' ' || b.is_ascii_graphic()).then_some(expanded)
    }

    async fn optional_target(
        &mut self,
        spec: Option<&DomainSpec>,
        domain: &Domain,
    ) -> Option<Domain> {
        match spec {
            Some(spec) => self.target_name(spec, domain).await,
            None => Some(domain.clone()),
        }
    }

    /// The <target-name> of a domain-spec (RFC 7208 §4.8, §7.3), or `None` when the expansion
    /// is not a valid DNS name (an empty label, a label over 63 octets): such names are not
    /// looked up, and the mechanism does not match (§4.8 leaves the choice to implementations).
    async fn target_name(&mut self, spec: &DomainSpec, domain: &Domain) -> Option<Domain> {
        let expanded = self.expand(spec.macro_string(), domain).await.ok()?;
        let mut name = expanded.strip_suffix('.').unwrap_or(&expanded);
        // RFC 7208 §7.3: drop labels from the left until the name fits in 253 characters.
        while name.len() > dns::MAX_NAME_LENGTH {
            name = name.split_once('.')?.1;
        }
        Domain::parse_lenient(name).ok()
    }

    async fn expand(&mut self, macros: &MacroString, domain: &Domain) -> Result<String, Error> {
        let validated_name = if macros.uses(MacroLetter::ValidatedName) {
            self.ensure_ptr_names().await;
            self.validated_name_for(domain)
        } else {
            "unknown".to_string()
        };
        let values = MacroValues {
            sender: self.sender,
            local_part: self.local_part,
            sender_domain: self.sender_domain,
            domain: domain.ascii(),
            ip: self.ip,
            validated_name: &validated_name,
            helo: self.helo,
            receiver: self.receiver,
            timestamp: self.timestamp,
        };
        macros.expand(&values)
    }

    /// RFC 7208 §7.3: `<domain>` itself if validated, else a validated subdomain of it, else any
    /// validated name, else `unknown`.
    fn validated_name_for(&self, domain: &Domain) -> String {
        let names = self.ptr.as_ref().map(|p| p.validated.as_slice()).unwrap_or_default();
        names
            .iter()
            .find(|name| *name == domain)
            .or_else(|| names.iter().find(|name| name.is_within(domain)))
            .or_else(|| names.first())
            .map_or_else(|| "unknown".to_string(), |name| name.ascii().to_string())
    }

    /// RFC 7208 §5.5: looks up the client's PTR names (the first `ptr_names` of them) and keeps
    /// those whose addresses include the client. DNS errors only make names unvalidated.
    async fn ensure_ptr_names(&mut self) {
        if self.ptr.is_some() {
            return;
        }
        let (names, void) = match self.resolver.lookup_ptr(self.ip).await {
            Ok(lookup) => (lookup.records, false),
            Err(e) => (Vec::new(), e.is_not_found()),
        };
        let mut validated = Vec::new();
        for name in names.into_iter().take(self.limits.ptr_names) {
            let addresses = match self.ip {
                IpAddr::V4(_) => self
                    .resolver
                    .lookup_a(&name)
                    .await
                    .map(|l| l.records.into_iter().map(IpAddr::V4).collect::<Vec<_>>()),
                IpAddr::V6(_) => self
                    .resolver
                    .lookup_aaaa(&name)
                    .await
                    .map(|l| l.records.into_iter().map(IpAddr::V6).collect()),
            };
            if addresses.is_ok_and(|a| a.contains(&self.ip)) {
                validated.push(name);
            }
        }
        self.ptr = Some(PtrNames { validated, void });
    }

    /// The addresses of `name` of the client's family (RFC 7208 §5): A for IPv4, AAAA for IPv6.
    async fn addresses(&mut self, name: &Domain) -> Result<Vec<IpAddr>, Stop> {
        let lookup = match self.ip {
            IpAddr::V4(_) => self
                .resolver
                .lookup_a(name)
                .await
                .map(|l| l.records.into_iter().map(IpAddr::V4).collect()),
            IpAddr::V6(_) => self
                .resolver
                .lookup_aaaa(name)
                .await
                .map(|l| l.records.into_iter().map(IpAddr::V6).collect()),
        };
        match lookup {
            Ok(addresses) => Ok(addresses),
            Err(e) => self.not_found_or_stop(e).map(|()| Vec::new()),
        }
    }

    /// RFC 7208 §5: NXDOMAIN and empty answers are "no records" and count as void lookups;
    /// other failures stop the evaluation with temperror.
    fn not_found_or_stop(&mut self, error: LookupError) -> Result<(), Stop> {
        if error.is_not_found() {
            self.count_void(&error.to_string())
        } else {
            Err(Stop::temp(error.to_string()))
        }
    }

    /// RFC 7208 §4.6.4: at most 10 terms that cause lookups.
    fn count_lookup_term(&mut self) -> Result<(), Stop> {
        self.lookup_terms += 1;
        if self.lookup_terms > self.limits.lookup_terms {
            return Err(Stop::perm(format!(
                "more than {} terms that cause DNS lookups",
                self.limits.lookup_terms
            )));
        }
        Ok(())
    }

    /// RFC 7208 §4.6.4: at most 2 void lookups.
    fn count_void(&mut self, what: &str) -> Result<(), Stop> {
        self.void_lookups += 1;
        if self.void_lookups > self.limits.void_lookups {
            return Err(Stop::perm(format!(
                "more than {} void lookups (the last: {what})",
                self.limits.void_lookups
            )));
        }
        Ok(())
    }

    fn matches_cidr(&self, address: IpAddr, cidr: DualCidr) -> bool {
        match (self.ip, address) {
            (IpAddr::V4(ip), IpAddr::V4(a)) => prefix_matches(
                u128::from(ip.to_bits()),
                u128::from(a.to_bits()),
                cidr.ip4.unwrap_or(32),
                32,
            ),
            (IpAddr::V6(ip), IpAddr::V6(a)) => {
                prefix_matches(ip.to_bits(), a.to_bits(), cidr.ip6.unwrap_or(128), 128)
            }
            _ => false,
        }
    }
}

/// Whether the top `prefix` of `bits` bits of `a` and `b` are equal.
fn prefix_matches(a: u128, b: u128, prefix: u8, bits: u32) -> bool {
    let prefix = u32::from(prefix).min(bits);
    if prefix == 0 {
        return true;
    }
    let shift = bits - prefix;
    (a ^ b) >> shift == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let v4 = |s: &str| u128::from(s.parse::<std::net::Ipv4Addr>().unwrap().to_bits());
        assert!(prefix_matches(v4("192.0.2.1"), v4("192.0.2.200"), 24, 32));
        assert!(!prefix_matches(v4("192.0.2.1"), v4("192.0.3.1"), 24, 32));
        assert!(prefix_matches(v4("192.0.2.1"), v4("10.0.0.1"), 0, 32));
        assert!(!prefix_matches(v4("192.0.2.1"), v4("192.0.2.2"), 32, 32));
        let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().to_bits();
        assert!(prefix_matches(v6("2001:db8::1"), v6("2001:db8:ffff::"), 32, 128));
        assert!(!prefix_matches(v6("2001:db8::1"), v6("2001:db9::"), 32, 128));
        assert!(prefix_matches(v6("2001:db8::1"), v6("2001:db8::1"), 128, 128));
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        assert_eq!(
            canonical_ip("::ffff:1.2.3.4".parse().unwrap()),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            canonical_ip("::1.2.3.4".parse().unwrap()),
            "::1.2.3.4".parse::<IpAddr>().unwrap()
        );
    }
}
