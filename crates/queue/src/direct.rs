//! Direct delivery to a recipient domain's mail servers (RFC 5321 §5.1), with MTA-STS (RFC
//! 8461), DANE (RFC 7672), REQUIRETLS (RFC 8689) and TLS results for TLSRPT (RFC 8460).
//!
//! 1. Destinations: an address literal is its own host; otherwise the domain's CNAMEs are
//!    followed, then its MX records: a null MX (RFC 7505) fails permanently, no MX means the
//!    domain itself (its A/AAAA), and MX hosts go in preference order, equal preferences in
//!    random order.
//! 2. The MTA-STS policy of the recipient domain (the original name, never a CNAME target)
//!    is looked up and cached. In `enforce` mode, hosts outside the policy are skipped and
//!    certificates must verify (PKIX, for the MX name); in `testing` mode both are checked and
//!    recorded, but delivery goes on.
//! 3. Per host: its addresses (CNAMEs followed, DNSSEC status kept). When the MX and address
//!    lookups were DNSSEC-authenticated, TLSA records are looked up; authenticated records
//!    make DANE apply, overriding MTA-STS: STARTTLS is required and the certificate must match
//!    a usable record. DNSSEC status comes from the answers that have records (a validating
//!    resolver sets AD on an answer only if it, CNAMEs included, validated); negative answers
//!    (no CNAME, no AAAA) count neither way, because the hickory adapter cannot tell whether
//!    they were authenticated. (Forging one takes the path to the validating resolver, which
//!    DANE has to trust anyway, RFC 7672 §1.3.)
//! 4. A message with REQUIRETLS goes only to a host verified by DANE or an enforced MTA-STS
//!    policy that announces REQUIRETLS; a message with `TLS-Required: No` ignores verification
//!    failures and policy mismatches (RFC 8689 §5).
//! 5. STARTTLS is used whenever offered. When only opportunistic TLS applies and the
//!    handshake fails, the host is tried again without TLS (RFC 7435).

use std::net::IpAddr;

use dns::{Domain, LookupError, Resolver, Tlsa};
use smtpclient::TlsMode;
use tlsrpt::{AppliedPolicy, PolicyResult, PolicyType, ResultType};

use crate::admin::day_utc;
use crate::dane;
use crate::deliver::{
    Attempt, Failure, Remote, Work, connect, dialed_before, establish, note_dialed, order_ips,
    send_entries, tls_description,
};
use crate::entry::Destination;
use crate::settings::{TransportDirect, TransportSocks};
use crate::tls::{CertOutcome, CertPolicy, PolicyVerifier};
use crate::tlsresults::{TlsResultRecord, add_failure, failure, new_result, no_policy};

/// How many CNAMEs are followed for a domain or host.
const MAX_CNAMES: usize = 16;

/// A host to deliver to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    Name(Domain),
    Ip(IpAddr),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Name(d) => write!(f, "{}", d.ascii()),
            Host::Ip(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// Where mail for a domain goes.
#[derive(Debug, Clone)]
pub(crate) struct Destinations {
    /// The domain has MX records (else: its own address, or an address literal).
    pub(crate) have_mx: bool,
    /// The first lookups (CNAME, MX) for the recipient domain were DNSSEC-authenticated.
    pub(crate) orig_authentic: bool,
    /// All lookups up to the MX records were.
    pub(crate) expanded_authentic: bool,
    /// The domain after following CNAMEs.
    pub(crate) expanded: Option<Domain>,
    /// The hosts in order.
    pub(crate) hosts: Vec<Host>,
}

/// Looks up where mail for `destination` goes (RFC 5321 §5.1).
pub(crate) async fn destinations(
    resolver: &dyn Resolver,
    destination: &Destination,
) -> Result<Destinations, Failure> {
    let domain = match destination {
        Destination::Ip(ip) => {
            return Ok(Destinations {
                have_mx: false,
                orig_authentic: false,
                expanded_authentic: false,
                expanded: None,
                hosts: vec![Host::Ip(*ip)],
            });
        }
        Destination::Domain(d) => d.clone(),
    };
    let mut orig_authentic = true;
    let mut expanded_authentic = true;
    let mut name = domain.clone();
    let mut seen = vec![name.clone()];
    loop {
        match resolver.lookup_cname(&name).await {
            Ok(lookup) => {
                let Some(target) = lookup.records.into_iter().next() else { break };
                if seen.len() == 1 {
                    orig_authentic &= lookup.authentic;
                }
                expanded_authentic &= lookup.authentic;
                if seen.contains(&target) || seen.len() > MAX_CNAMES {
                    return Err(Failure::temporary(format!(
                        "{domain}: CNAME loop or too many CNAMEs at {target}"
                    )));
                }
                seen.push(target.clone());
                name = target;
            }
            Err(LookupError::Temporary { .. }) => {
                return Err(Failure::temporary(format!(
                    "{domain}: looking up CNAME of {name} failed temporarily"
                )));
            }
            // No CNAME. A negative answer does not count for or against DNSSEC status (see
            // the module documentation); the MX answer that follows does.
            Err(_) => break,
        }
    }
    let first = seen.len() == 1;
    match resolver.lookup_mx(&name).await {
        Ok(lookup) => {
            if first {
                orig_authentic &= lookup.authentic;
            }
            expanded_authentic &= lookup.authentic;
            // RFC 7505 §3: a single MX with "." as exchange: the domain accepts no mail.
            if lookup.records.iter().all(|mx| mx.exchange.is_none()) {
                return Err(Failure::coded(
                    true,
                    556,
                    "5.1.10",
                    format!("{domain} does not accept email (null MX record, RFC 7505)"),
                ));
            }
            let mut mxs: Vec<(u16, u64, Domain)> = lookup
                .records
                .into_iter()
                .filter_map(|mx| Some((mx.preference, crate::schedule::random_u64(), mx.exchange?)))
                .collect();
            // RFC 5321 §5.1: lowest preference first, equal preferences in random order.
            mxs.sort_by_key(|(pref, random, _)| (*pref, *random));
            Ok(Destinations {
                have_mx: true,
                orig_authentic,
                expanded_authentic,
                expanded: Some(name),
                hosts: mxs.into_iter().map(|(_, _, host)| Host::Name(host)).collect(),
            })
        }
        Err(LookupError::NoRecords { .. }) => {
            // RFC 5321 §5.1: no MX records, the domain itself is the host ("implicit MX").
            Ok(Destinations {
                have_mx: false,
                orig_authentic,
                expanded_authentic,
                expanded: Some(name.clone()),
                hosts: vec![Host::Name(name)],
            })
        }
        Err(LookupError::NxDomain { .. }) => Err(Failure::coded(
            true,
            550,
            "5.1.2",
            format!("recipient domain {domain} does not exist (NXDOMAIN)"),
        )),
        Err(e) => Err(Failure::temporary(format!("{domain}: looking up MX records: {e}"))),
    }
}

/// A host's addresses.
#[derive(Debug, Clone)]
pub(crate) struct HostAddresses {
    /// The first lookup for the host name was authenticated.
    pub(crate) authentic: bool,
    /// All lookups, CNAMEs included, were.
    pub(crate) expanded_authentic: bool,
    /// The host after following CNAMEs.
    pub(crate) expanded: Option<Domain>,
    pub(crate) ips: Vec<IpAddr>,
}

/// The addresses of `host`, CNAMEs followed (RFC 7672 §2.2.1 needs the expanded name).
pub(crate) async fn host_addresses(
    resolver: &dyn Resolver,
    host: &Host,
    direct: &TransportDirect,
) -> Result<HostAddresses, Failure> {
    let name = match host {
        Host::Ip(ip) => {
            return Ok(HostAddresses {
                authentic: false,
                expanded_authentic: false,
                expanded: None,
                ips: vec![*ip],
            });
        }
        Host::Name(name) => name.clone(),
    };
    let mut authentic = true;
    let mut expanded_authentic = true;
    let mut current = name.clone();
    for i in 0..=MAX_CNAMES {
        match resolver.lookup_cname(&current).await {
            Ok(lookup) => {
                if i == 0 {
                    authentic &= lookup.authentic;
                }
                expanded_authentic &= lookup.authentic;
                match lookup.records.into_iter().next() {
                    Some(target) if target != current => current = target,
                    _ => break,
                }
            }
            Err(LookupError::Temporary { .. }) => {
                return Err(Failure::temporary(format!(
                    "{name}: looking up CNAME failed temporarily"
                )));
            }
            Err(_) => break,
        }
        if i == MAX_CNAMES {
            return Err(Failure::temporary(format!("{name}: too many CNAMEs")));
        }
    }
    // A and AAAA separately: an address family without records says nothing about DNSSEC
    // (hickory does not show it for negative answers); every address answer must be secure.
    let (v4, v6) = tokio::join!(resolver.lookup_a(&current), resolver.lookup_aaaa(&current));
    let mut ips: Vec<IpAddr> = Vec::new();
    let mut errors = Vec::new();
    for result in [
        v4.map(|l| (l.records.into_iter().map(IpAddr::V4).collect::<Vec<_>>(), l.authentic)),
        v6.map(|l| (l.records.into_iter().map(IpAddr::V6).collect::<Vec<_>>(), l.authentic)),
    ] {
        match result {
            Ok((records, secure)) => {
                authentic &= secure;
                expanded_authentic &= secure;
                ips.extend(records);
            }
            Err(e) => errors.push(e),
        }
    }
    if ips.is_empty() {
        let temporary = errors.iter().any(|e| e.is_temporary());
        let detail = errors.first().map(|e| e.to_string()).unwrap_or_default();
        let f = Failure::temporary(format!("looking up addresses of {name}: {detail}"));
        return Err(if temporary {
            f
        } else {
            Failure { message: format!("{name}: no A or AAAA records"), ..f }
        });
    }
    ips.retain(|ip| !(direct.disable_ipv4 && ip.is_ipv4() || direct.disable_ipv6 && ip.is_ipv6()));
    if ips.is_empty() {
        return Err(Failure::temporary(format!("{name}: no addresses of an allowed IP family")));
    }
    Ok(HostAddresses { authentic, expanded_authentic, expanded: Some(current), ips })
}

/// The outcome of looking for DANE records of a host.
#[derive(Debug, Clone)]
pub(crate) struct DaneLookup {
    /// TLSA records exist (authenticated): DANE applies.
    pub(crate) required: bool,
    /// The usable ones (may be empty: then TLS without verification, RFC 7672 §2.2).
    pub(crate) usable: Vec<Tlsa>,
    /// All records found, for the report.
    pub(crate) all: Vec<Tlsa>,
    /// Where they were found.
    pub(crate) base: Domain,
    /// Whether the base is the CNAME-expanded host name.
    pub(crate) base_is_expanded: bool,
}

/// Looks up TLSA records at `_25._tcp.` of the expanded host name, then the host name (RFC
/// 7672 §2.2.2). Only authenticated answers count.
pub(crate) async fn dane_lookup(
    resolver: &dyn Resolver,
    host: &Domain,
    addresses: &HostAddresses,
) -> Result<Option<DaneLookup>, Failure> {
    let mut candidates = Vec::new();
    if let Some(expanded) = &addresses.expanded
        && expanded != host
        && addresses.expanded_authentic
    {
        candidates.push((expanded.clone(), true));
    }
    candidates.push((host.clone(), false));
    for (base, is_expanded) in candidates {
        let Ok(name) = base.with_prefix("_25._tcp") else { continue };
        match resolver.lookup_tlsa(&name).await {
            Ok(lookup) if lookup.authentic => {
                let usable = dane::usable_records(&lookup.records);
                return Ok(Some(DaneLookup {
                    required: true,
                    usable,
                    all: lookup.records,
                    base,
                    base_is_expanded: is_expanded,
                }));
            }
            Ok(_) => {
                tracing::debug!(%name, "queue: TLSA records not DNSSEC-authenticated, no DANE");
                return Ok(None);
            }
            Err(LookupError::Temporary { .. }) => {
                // RFC 7672 §2.2: a failed TLSA lookup on a secure host may hide records.
                return Err(Failure::temporary(format!(
                    "{name}: looking up TLSA records failed temporarily"
                )));
            }
            Err(_) => continue,
        }
    }
    Ok(None)
}

/// The names a DANE-TA certificate may have (RFC 7672 §3.2.2), the one for SNI first.
fn dane_names(
    dest: &Destinations,
    recipient_domain: &Domain,
    host: &Domain,
    dane: &DaneLookup,
) -> Vec<Domain> {
    let mut names = vec![dane.base.clone()];
    if dane.base_is_expanded && &dane.base != host {
        names.push(host.clone());
    }
    if dest.have_mx && dest.expanded_authentic {
        names.push(recipient_domain.clone());
        if let Some(expanded) = &dest.expanded
            && expanded != recipient_domain
        {
            names.push(expanded.clone());
        }
    }
    names.dedup();
    names
}

/// What MTA-STS says for this delivery.
struct Sts {
    policy: Option<mtasts::Policy>,
}

impl Sts {
    fn mode(&self) -> Option<mtasts::Mode> {
        self.policy.as_ref().map(|p| p.mode)
    }
    fn enforce(&self) -> bool {
        self.mode() == Some(mtasts::Mode::Enforce)
    }
    fn testing(&self) -> bool {
        self.mode() == Some(mtasts::Mode::Testing)
    }
    fn applied(&self, domain: &Domain) -> AppliedPolicy {
        match &self.policy {
            Some(p) if p.mode != mtasts::Mode::None => AppliedPolicy {
                policy_type: PolicyType::Sts,
                policy_string: p.lines(),
                policy_domain: domain.ascii().to_string(),
                mx_host: p.mx.iter().map(|m| m.to_string()).collect(),
            },
            _ => no_policy(domain.ascii()),
        }
    }
}

/// Delivers `works` (entries for `domain`) directly, through `socks` if given.
pub(crate) async fn deliver(
    attempt: &mut Attempt<'_>,
    domain: &str,
    works: &mut [Work],
    direct: &TransportDirect,
    socks: Option<&TransportSocks>,
) {
    let resolver = attempt.inner.resolver.clone();
    let Some(destination) = works.first().and_then(|w| w.entry.destination()) else {
        for work in works.iter_mut() {
            work.failure = Some(Failure::permanent(format!("invalid recipient domain {domain}")));
        }
        return;
    };
    let tls_required_no = works.first().is_some_and(|w| w.entry.require_tls == Some(false));
    let dest = match destinations(&*resolver, &destination).await {
        Ok(dest) => dest,
        Err(failure) => {
            for work in works.iter_mut() {
                work.failure = Some(failure.clone());
            }
            return;
        }
    };

    // RFC 8461 §4: the policy of the recipient domain as written, not a CNAME target.
    let recipient_domain = destination.domain().cloned();
    let sts = match &recipient_domain {
        Some(d) => {
            let inner = attempt.inner;
            let resolution = inner
                .mtasts
                .cache
                .resolve_at(&*resolver, &inner.mtasts.fetcher, d, inner.clock.now())
                .await;
            if let Some(problem) = &resolution.problem
                && !problem.is_not_implemented()
            {
                tracing::info!(domain = %d, error = %problem, "queue: MTA-STS policy lookup problem");
            }
            Sts { policy: resolution.policy }
        }
        None => Sts { policy: None },
    };
    let mut domain_result = recipient_domain.as_ref().map(|d| new_result(sts.applied(d)));
    let mut host_results: Vec<(String, PolicyResult)> = Vec::new();

    for host in &dest.hosts {
        if works.iter().all(|w| w.done) {
            break;
        }
        // RFC 8461 §4.1: the MX host must match the policy.
        if let (Some(policy), Host::Name(name)) = (&sts.policy, host)
            && policy.mode != mtasts::Mode::None
            && !policy.matches(name)
        {
            if let Some(result) = &mut domain_result {
                let detail = failure(
                    ResultType::ValidationFailure,
                    Some("mtasts-policy-mx-mismatch".into()),
                    Some(name.ascii().to_string()),
                    None,
                    None,
                    0,
                );
                add_failure(result, detail);
            }
            if sts.enforce() && !tls_required_no {
                tracing::info!(host = %name, "queue: MX host not in enforced MTA-STS policy, skipped");
                if let Some(result) = &mut domain_result {
                    result.summary.total_failure_session_count += 1;
                }
                let f = Failure::temporary(format!(
                    "mx host {name} does not match enforced MTA-STS policy with hosts {}",
                    policy.mx.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")
                ));
                for work in works.iter_mut().filter(|w| !w.done) {
                    work.failure = Some(f.clone());
                }
                continue;
            }
            tracing::info!(host = %name, "queue: MX host not in MTA-STS policy, delivering anyway (testing mode or TLS-Required: No)");
        }
        let permanent = deliver_host(
            attempt,
            works,
            host,
            &dest,
            recipient_domain.as_ref(),
            &sts,
            tls_required_no,
            direct,
            socks,
            &mut domain_result,
            &mut host_results,
        )
        .await;
        if permanent {
            break;
        }
    }

    // TLS results for the report.
    let settings = &attempt.settings;
    if !settings.no_outgoing_tls_reports
        && let Some(d) = &recipient_domain
    {
        let day = day_utc(attempt.inner.clock.now());
        let is_tlsrpt = works.iter().any(|w| w.entry.subject.starts_with("Report Domain:"));
        let record = |policy_domain: String, is_host: bool, result: PolicyResult| TlsResultRecord {
            day_utc: day.clone(),
            policy_domain,
            recipient_domain: d.ascii().to_string(),
            is_host,
            send_report: !is_tlsrpt,
            result,
        };
        for (policy_domain, result) in host_results {
            attempt.tls_results.push(record(policy_domain, true, result));
        }
        if let Some(result) = domain_result
            && (result.summary.total_successful_session_count > 0
                || result.summary.total_failure_session_count > 0
                || !result.failure_details.is_empty())
        {
            attempt.tls_results.push(record(d.ascii().to_string(), false, result));
        }
    }
}

/// Tries one host for the unfinished entries. Returns true when the failure is permanent
/// (stop trying hosts).
#[allow(clippy::too_many_arguments)]
async fn deliver_host(
    attempt: &mut Attempt<'_>,
    works: &mut [Work],
    host: &Host,
    dest: &Destinations,
    recipient_domain: Option<&Domain>,
    sts: &Sts,
    tls_required_no: bool,
    direct: &TransportDirect,
    socks: Option<&TransportSocks>,
    domain_result: &mut Option<PolicyResult>,
    host_results: &mut Vec<(String, PolicyResult)>,
) -> bool {
    let resolver = attempt.inner.resolver.clone();
    let fail_all = |works: &mut [Work], f: &Failure| {
        for work in works.iter_mut().filter(|w| !w.done) {
            work.failure = Some(f.clone());
        }
    };
    let host_text = host.to_string();
    let addresses = match host_addresses(&*resolver, host, direct).await {
        Ok(a) => a,
        Err(f) => {
            // A domain without MX and without addresses: nothing will change soon.
            let f = if !dest.have_mx && matches!(host, Host::Name(_)) {
                Failure { permanent: false, ..f }
            } else {
                f
            };
            fail_all(works, &f);
            return false;
        }
    };

    // DANE applies only when everything that led here was authenticated (RFC 7672 §2.2).
    let dest_authentic = addresses.authentic
        && dest.orig_authentic
        && (!dest.have_mx || dest.expanded_authentic)
        && matches!(host, Host::Name(_));
    let mut dane_lookup = None;
    if dest_authentic && let Host::Name(name) = host {
        match dane_lookup_for(&*resolver, name, &addresses).await {
            Ok(found) => dane_lookup = found,
            Err(f) if tls_required_no => {
                tracing::info!(host = %name, error = %f.message, "queue: TLSA lookup failed, ignored for TLS-Required: No");
            }
            Err(f) => {
                fail_all(works, &f);
                return false;
            }
        }
    }
    let mut host_result = match (&dane_lookup, host) {
        (Some(d), _) => Some((
            d.base.ascii().to_string(),
            new_result(AppliedPolicy {
                policy_type: PolicyType::Tlsa,
                policy_string: d.all.iter().map(dane::tlsa_text).collect(),
                policy_domain: d.base.ascii().to_string(),
                mx_host: Vec::new(),
            }),
        )),
        _ => None,
    };

    let dane_required = dane_lookup.as_ref().is_some_and(|d| d.required);
    let dane_usable = dane_lookup.as_ref().is_some_and(|d| !d.usable.is_empty());
    let enforce = sts.enforce() && !dane_required;
    let require_tls = works.iter().any(|w| !w.done && w.entry.require_tls == Some(true));
    // RFC 8689 §4.2.1: REQUIRETLS needs a verified connection: DANE or enforced MTA-STS.
    if require_tls && !dane_usable && !enforce {
        let f = Failure::coded(
            false,
            554,
            "5.7.30",
            format!(
                "{host_text}: REQUIRETLS: no DANE or enforced MTA-STS policy to verify TLS with"
            ),
        );
        for work in works.iter_mut().filter(|w| !w.done) {
            work.missing_requiretls += 1;
            work.failure = Some(f.clone());
        }
        return false;
    }

    let (cert_policy, tls_mode) = match (&dane_lookup, host) {
        (Some(d), Host::Name(name)) if d.required => {
            let policy = if d.usable.is_empty() {
                // RFC 7672 §2.2: records exist but none usable: TLS is required, unverified.
                if let Some((_, r)) = &mut host_result {
                    add_failure(
                        r,
                        failure(
                            ResultType::TlsaInvalid,
                            Some("all-unusable-records+ignored".into()),
                            Some(name.ascii().to_string()),
                            None,
                            None,
                            0,
                        ),
                    );
                }
                CertPolicy::Any
            } else {
                let names = match recipient_domain {
                    Some(rd) => dane_names(dest, rd, name, d),
                    None => vec![d.base.clone()],
                };
                CertPolicy::Dane { records: d.usable.clone(), names }
            };
            (policy, if tls_required_no { TlsMode::StartTlsIfOffered } else { TlsMode::StartTls })
        }
        _ if enforce => (
            CertPolicy::Pkix(attempt.inner.pkix_roots.clone()),
            if tls_required_no { TlsMode::StartTlsIfOffered } else { TlsMode::StartTls },
        ),
        _ if sts.testing() => {
            (CertPolicy::Pkix(attempt.inner.pkix_roots.clone()), TlsMode::StartTlsIfOffered)
        }
        _ => (CertPolicy::Any, TlsMode::StartTlsIfOffered),
    };
    let ignore_failures = tls_required_no || (sts.testing() && !dane_required);
    let plaintext_fallback = tls_required_no || (!dane_required && !enforce);
    let server_name = match host {
        Host::Name(name) => {
            let sni = match &cert_policy {
                CertPolicy::Dane { names, .. } => names.first().unwrap_or(name),
                _ => name,
            };
            rustls::pki_types::ServerName::try_from(sni.ascii().to_string())
        }
        Host::Ip(ip) => Ok(rustls::pki_types::ServerName::IpAddress((*ip).into())),
    };
    let Ok(server_name) = server_name else {
        fail_all(works, &Failure::temporary(format!("{host_text}: not a valid TLS server name")));
        return false;
    };

    let mut ips = addresses.ips.clone();
    order_ips(&mut ips, &dialed_before(works, &host_text));
    let ehlo = match socks {
        Some(s) => s.remote_hostname.clone(),
        None => attempt.settings.hostname.clone(),
    };
    let port = attempt.settings.smtp_port;
    let mut last_failure = None;
    let mut permanent = false;
    for ip in ips {
        if works.iter().all(|w| w.done) {
            break;
        }
        let stream = match connect(attempt, ip, port, socks).await {
            Ok(s) => s,
            Err(f) => {
                tracing::debug!(host = %host_text, %ip, error = %f.message, "queue: connect failed");
                last_failure = Some(f);
                continue;
            }
        };
        note_dialed(works, &host_text, ip);
        let sending_ip = stream.local_addr().ok().map(|a| a.ip());
        let verifier = PolicyVerifier::new(cert_policy.clone(), ignore_failures);
        let client = match establish(
            attempt,
            stream,
            &ehlo,
            tls_mode,
            &verifier,
            server_name.clone(),
        )
        .await
        {
            Ok(client) => {
                record_tls(
                    &verifier,
                    &client,
                    domain_result,
                    &mut host_result,
                    &host_text,
                    sending_ip,
                    ip,
                    tls_mode,
                );
                client
            }
            Err(e) => {
                let tls_failed = matches!(e, smtpclient::Error::Tls { .. });
                let starttls_missing = matches!(e, smtpclient::Error::StartTlsUnavailable);
                if tls_failed || starttls_missing {
                    let (result_type, reason) = match verifier.outcome() {
                        Some(CertOutcome::Failed(rt, reason)) => (rt, reason),
                        _ if starttls_missing => (ResultType::StarttlsNotSupported, String::new()),
                        _ => (ResultType::ValidationFailure, e.to_string()),
                    };
                    let reason = (!reason.is_empty()).then_some(reason);
                    let detail = failure(
                        result_type,
                        reason,
                        Some(host_text.clone()),
                        sending_ip,
                        Some(ip),
                        1,
                    );
                    count_failure(domain_result, &mut host_result, detail);
                }
                let mut f = Failure::from_smtp(&e, &host_text);
                if tls_failed && plaintext_fallback {
                    tracing::info!(host = %host_text, %ip, error = %e, "queue: TLS failed, trying again without TLS");
                    let retry = match connect(attempt, ip, port, socks).await {
                        Ok(stream) => {
                            let verifier = PolicyVerifier::new(CertPolicy::Any, true);
                            establish(
                                attempt,
                                stream,
                                &ehlo,
                                TlsMode::Plaintext,
                                &verifier,
                                server_name.clone(),
                            )
                            .await
                            .map_err(|e| Failure::from_smtp(&e, &host_text))
                        }
                        Err(f) => Err(f),
                    };
                    match retry {
                        Ok(client) => {
                            deliver_on(
                                attempt,
                                works,
                                client,
                                &host_text,
                                ip,
                                "plaintext (after TLS failure)".into(),
                            )
                            .await;
                            continue;
                        }
                        Err(retry_failure) => f = retry_failure,
                    }
                } else if tls_failed || starttls_missing {
                    f.message = format!(
                        "{}: TLS required by {} policy: {}",
                        host_text,
                        if dane_required { "DANE" } else { "MTA-STS" },
                        f.message
                    );
                    f.permanent = false;
                }
                permanent |= f.permanent;
                last_failure = Some(f);
                if permanent {
                    break;
                }
                continue;
            }
        };
        // REQUIRETLS also needs the server to announce it; smtpclient checks per transaction.
        let description = tls_description(&client, &verifier);
        if client.capabilities().requiretls || !require_tls {
            deliver_on(attempt, works, client, &host_text, ip, description).await;
        } else {
            let f = Failure::coded(
                false,
                554,
                "5.7.30",
                format!("{host_text}: REQUIRETLS not supported by server"),
            );
            for work in works.iter_mut().filter(|w| !w.done) {
                work.missing_requiretls += 1;
                work.failure = Some(f.clone());
            }
            let _ = client.quit().await;
            break;
        }
    }
    if let Some(f) = last_failure
        && works.iter().any(|w| !w.done && w.failure.is_none())
    {
        fail_all(works, &f);
    }
    if let Some((domain, result)) = host_result {
        host_results.push((domain, result));
    }
    permanent
}

async fn dane_lookup_for(
    resolver: &dyn Resolver,
    name: &Domain,
    addresses: &HostAddresses,
) -> Result<Option<DaneLookup>, Failure> {
    dane_lookup(resolver, name, addresses).await
}

#[allow(clippy::too_many_arguments)]
fn record_tls(
    verifier: &PolicyVerifier,
    client: &smtpclient::Client<tokio::net::TcpStream>,
    domain_result: &mut Option<PolicyResult>,
    host_result: &mut Option<(String, PolicyResult)>,
    host: &str,
    sending_ip: Option<IpAddr>,
    ip: IpAddr,
    mode: TlsMode,
) {
    if !client.is_tls() {
        // STARTTLS not offered, and not required. Under a testing policy that is a failed
        // session; otherwise only noted (RFC 8460 §4.3.2.1, as mox: a detail without a count).
        if mode == TlsMode::StartTlsIfOffered {
            let count = u64::from(verifier.verifies());
            let detail = failure(
                ResultType::StarttlsNotSupported,
                None,
                Some(host.to_string()),
                sending_ip,
                Some(ip),
                count,
            );
            if count > 0 {
                count_failure(domain_result, host_result, detail);
            } else if let Some(r) = domain_result {
                add_failure(r, detail);
            }
        }
        return;
    }
    match verifier.outcome() {
        Some(CertOutcome::Failed(rt, reason)) => {
            // Ignored (testing mode, TLS-Required: No), but reported.
            let detail = failure(rt, Some(reason), Some(host.to_string()), sending_ip, Some(ip), 1);
            count_failure(domain_result, host_result, detail);
        }
        _ => {
            if let Some(r) = domain_result {
                r.summary.total_successful_session_count += 1;
            }
            if let Some((_, r)) = host_result {
                r.summary.total_successful_session_count += 1;
            }
        }
    }
}

fn count_failure(
    domain_result: &mut Option<PolicyResult>,
    host_result: &mut Option<(String, PolicyResult)>,
    detail: tlsrpt::FailureDetails,
) {
    if let Some(r) = domain_result {
        r.summary.total_failure_session_count += 1;
        add_failure(r, detail.clone());
    }
    if let Some((_, r)) = host_result {
        r.summary.total_failure_session_count += 1;
        add_failure(r, detail);
    }
}

async fn deliver_on(
    attempt: &mut Attempt<'_>,
    works: &mut [Work],
    mut client: smtpclient::Client<tokio::net::TcpStream>,
    host: &str,
    ip: IpAddr,
    tls: String,
) {
    let remote =
        Remote { host: Some(host.to_string()), ip: Some(ip), tls: Some(tls), relays_dsn: false };
    match send_entries(attempt, &mut client, works, &remote).await {
        Ok(()) => {
            let _ = client.quit().await;
        }
        Err(f) => {
            tracing::info!(%host, %ip, error = %f.message, "queue: session ended");
        }
    }
}
