//! `mox config dnscheck domain`: looks up the records `config dnsrecords` suggests and says,
//! per record, whether DNS has it.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::cmd::{Run, domain_arg};
use crate::context::Context;
use crate::dns_records::{self, Data, Record};

/// Check the DNS records with the configuration for the domain, and print any errors/warnings.
///
/// Each record that "mox config dnsrecords" suggests is looked up through the resolver (see
/// -dns-server) and reported on a line of its own:
///
/// - "ok": the record is in DNS as suggested.
///
/// - "missing": the name has no such record.
///
/// - "wrong": a record is there but differs; what was found is printed below it.
///
/// - "error": the lookup failed (server failure, timeout); try again later.
///
/// - "not checked": CAA records, which mox-rs cannot look up yet.
///
/// The host itself is checked too: its name must resolve to the public listener's IPs, and
/// each of those IPs must have the host name as reverse name (other mail servers check both).
///
/// Records are compared by meaning, not by text: an SPF, DMARC, MTA-STS or TLSRPT record is
/// parsed and compared with the suggested one, a DKIM record by its public key. Also shown:
/// whether the domain's zone is DNSSEC-signed, as the resolver reports (only meaningful with a
/// validating resolver). Records suggested commented out (DANE without DNSSEC) are not checked.
///
/// The exit status is 1 when a record is missing or wrong or a lookup failed, 0 otherwise.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox config dnscheck domain")]
pub(crate) struct Dnscheck {
    /// Domain, as configured in domains.conf.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for Dnscheck {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = domain_arg("domain", &self.domain)?;
        let config = ctx.load_config()?;
        if config.domain(&domain).is_none() {
            anyhow::bail!("unknown domain {}", domain.unicode());
        }
        let resolver = ctx.resolver()?;
        let dnssec = dns_records::zone_is_signed(resolver.as_ref(), &domain).await;
        let mut out = String::new();
        match &dnssec {
            Ok(true) => {
                let _ = writeln!(
                    out,
                    "DNSSEC: {} is DNSSEC-signed (the resolver vouches for its answers)",
                    domain.ascii()
                );
            }
            Ok(false) => {
                let _ = writeln!(
                    out,
                    "DNSSEC: {} is not DNSSEC-signed, or the resolver does not verify DNSSEC",
                    domain.ascii()
                );
            }
            Err(e) => {
                let _ = writeln!(out, "DNSSEC: unknown ({e:#})");
            }
        }
        let lines = dns_records::domain_records(
            &config,
            &domain,
            dns_records::Options { dnssec: *dnssec.as_ref().unwrap_or(&false) },
        )?;
        let mut counts = Counts::default();
        for record in dns_records::records(&lines).filter(|r| !r.commented) {
            let verdict = check(resolver.as_ref(), record).await;
            let shown = format!(
                "{}. {} {}",
                record.name.ascii(),
                record.data.type_name(),
                record.data.zone_data()
            );
            report(&mut out, &mut counts, &record.purpose, &shown, &verdict);
        }
        for (purpose, shown, verdict) in host_checks(resolver.as_ref(), &config).await {
            report(&mut out, &mut counts, &purpose, &shown, &verdict);
        }
        let _ = writeln!(
            out,
            "\n{} ok, {} missing, {} wrong, {} lookup errors, {} not checked",
            counts.ok, counts.missing, counts.wrong, counts.error, counts.unchecked
        );
        ctx.stdout().write_all(out.as_bytes())?;
        let bad = counts.missing + counts.wrong + counts.error;
        if bad > 0 {
            anyhow::bail!(
                "{bad} DNS record(s) for {} missing, wrong or not looked up",
                domain.ascii()
            );
        }
        Ok(())
    }
}

/// One line (and the details below it) of the report.
fn report(out: &mut String, counts: &mut Counts, purpose: &str, shown: &str, verdict: &Verdict) {
    counts.add(verdict);
    let _ = writeln!(out, "{:<12} {purpose:<24} {shown}", verdict.label());
    match verdict {
        Verdict::Wrong(found) => {
            for f in found {
                let _ = writeln!(out, "{:<12} {:<24} found: {f}", "", "");
            }
        }
        Verdict::Error(e) => {
            let _ = writeln!(out, "{:<12} {:<24} {e}", "", "");
        }
        Verdict::Unchecked(why) => {
            let _ = writeln!(out, "{:<12} {:<24} ({why})", "", "");
        }
        Verdict::Ok | Verdict::Missing => {}
    }
}

/// The host itself, which other mail servers check before they accept its mail: its name
/// resolves to the public IPs it sends from, and each of those IPs has the host name as its
/// reverse name (iprev, RFC 8601 §3).
async fn host_checks(
    resolver: &dyn dns::Resolver,
    config: &config::Config,
) -> Vec<(String, String, Verdict)> {
    let host = config.hostname();
    let ips = dns_records::listener_ips(config);
    let mut out = Vec::new();
    if ips.is_empty() {
        return out;
    }
    let shown = ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>().join(", ");
    let verdict = match resolver.lookup_ip(host).await {
        Ok(l) if ips.iter().all(|ip| l.records.contains(ip)) => Verdict::Ok,
        Ok(l) => Verdict::Wrong(
            l.records
                .iter()
                .map(|ip| format!("{} {ip}", if ip.is_ipv4() { "A" } else { "AAAA" }))
                .collect(),
        ),
        Err(e) => from_error(e),
    };
    out.push(("host IPs".to_string(), format!("{}. A/AAAA {shown}", host.ascii()), verdict));
    for ip in ips {
        let verdict = match resolver.lookup_ptr(ip).await {
            Ok(l) if l.records.contains(host) => Verdict::Ok,
            Ok(l) => {
                Verdict::Wrong(l.records.iter().map(|n| format!("PTR {}.", n.ascii())).collect())
            }
            Err(e) => from_error(e),
        };
        out.push((format!("reverse DNS {ip}"), format!("PTR {}.", host.ascii()), verdict));
    }
    out
}

/// What the lookup of one record found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// As suggested.
    Ok,
    /// No such record.
    Missing,
    /// Records there, none as suggested: what was found.
    Wrong(Vec<String>),
    /// The lookup failed.
    Error(String),
    /// Not looked up, and why.
    Unchecked(&'static str),
}

impl Verdict {
    fn label(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Missing => "missing",
            Verdict::Wrong(_) => "wrong",
            Verdict::Error(_) => "error",
            Verdict::Unchecked(_) => "not checked",
        }
    }
}

#[derive(Default)]
struct Counts {
    ok: usize,
    missing: usize,
    wrong: usize,
    error: usize,
    unchecked: usize,
}

impl Counts {
    fn add(&mut self, v: &Verdict) {
        match v {
            Verdict::Ok => self.ok += 1,
            Verdict::Missing => self.missing += 1,
            Verdict::Wrong(_) => self.wrong += 1,
            Verdict::Error(_) => self.error += 1,
            Verdict::Unchecked(_) => self.unchecked += 1,
        }
    }
}

/// Looks `record` up and compares.
pub(crate) async fn check(resolver: &dyn dns::Resolver, record: &Record) -> Verdict {
    let name = &record.name;
    match &record.data {
        // The preference does not matter with one MX host.
        Data::Mx { exchange, .. } => match resolver.lookup_mx(name).await {
            Ok(l) => {
                if l.records.iter().any(|mx| mx.exchange.as_ref() == Some(exchange)) {
                    Verdict::Ok
                } else {
                    Verdict::Wrong(
                        l.records
                            .iter()
                            .map(|mx| {
                                let host = mx.exchange.as_ref().map(|e| format!("{}.", e.ascii()));
                                format!(
                                    "MX {} {}",
                                    mx.preference,
                                    host.unwrap_or_else(|| ".".into())
                                )
                            })
                            .collect(),
                    )
                }
            }
            Err(e) => from_error(e),
        },
        Data::Cname(target) => match resolver.lookup_cname(name).await {
            Ok(l) if l.records.contains(target) => Verdict::Ok,
            Ok(l) => {
                Verdict::Wrong(l.records.iter().map(|t| format!("CNAME {}.", t.ascii())).collect())
            }
            Err(e) => from_error(e),
        },
        Data::Tlsa(expected) => match resolver.lookup_tlsa(name).await {
            Ok(l) if l.records.contains(expected) => Verdict::Ok,
            Ok(l) => Verdict::Wrong(
                l.records
                    .iter()
                    .map(|t| Data::Tlsa(t.clone()).zone_data())
                    .map(|d| format!("TLSA {d}"))
                    .collect(),
            ),
            Err(e) => from_error(e),
        },
        Data::Txt(expected) => match resolver.lookup_txt(name).await {
            Ok(l) => compare_txt(expected, &l.records),
            Err(e) => from_error(e),
        },
        Data::Srv { port, target, .. } => match resolver.lookup_srv(name).await {
            // Priority and weight matter only among several hosts; the target "." says the
            // service is not offered, whatever the port (RFC 6186 §3.4).
            Ok(l)
                if l.records
                    .iter()
                    .any(|r| r.target == *target && (target.is_none() || r.port == *port)) =>
            {
                Verdict::Ok
            }
            Ok(l) => Verdict::Wrong(
                l.records
                    .iter()
                    .map(|r| {
                        let target = r.target.as_ref().map(|t| format!("{}.", t.ascii()));
                        format!(
                            "SRV {} {} {} {}",
                            r.priority,
                            r.weight,
                            r.port,
                            target.unwrap_or_else(|| ".".into())
                        )
                    })
                    .collect(),
            ),
            Err(e) => from_error(e),
        },
        Data::Caa { .. } => Verdict::Unchecked("CAA records cannot be looked up by mox-rs yet"),
    }
}

fn from_error(e: dns::LookupError) -> Verdict {
    if e.is_not_found() { Verdict::Missing } else { Verdict::Error(e.to_string()) }
}

/// Compares the TXT records at a name with the suggested one, by the protocol of the
/// suggestion: only records of that protocol count, and they are compared parsed.
fn compare_txt(expected: &str, found: &[String]) -> Verdict {
    type Same = fn(&str, &str) -> Option<bool>;
    let (is_kind, same): (fn(&str) -> bool, Same) = if spf::Record::is_spf(expected) {
        (spf::Record::is_spf, |a, b| {
            Some(spf::Record::parse(a).ok()? == spf::Record::parse(b).ok()?)
        })
    } else if dmarc::is_dmarc_record(expected) {
        (dmarc::is_dmarc_record, |a, b| {
            Some(dmarc::Record::parse(a).ok()? == dmarc::Record::parse(b).ok()?)
        })
    } else if mtasts::Record::is_mtasts(expected) {
        (mtasts::Record::is_mtasts, |a, b| {
            Some(mtasts::Record::parse(a).ok()?.id == mtasts::Record::parse(b).ok()?.id)
        })
    } else if tlsrpt::Record::is_tlsrpt(expected) {
        (tlsrpt::Record::is_tlsrpt, |a, b| {
            Some(tlsrpt::Record::parse(a).ok()?.rua == tlsrpt::Record::parse(b).ok()?.rua)
        })
    } else {
        // DKIM: the key record at the selector's name; same key type and public key.
        (
            |t| t.contains("p="),
            |a, b| {
                let (a, b) = (dkim::Record::parse(a).ok()?, dkim::Record::parse(b).ok()?);
                Some(a.key_type == b.key_type && a.public_key_data == b.public_key_data)
            },
        )
    };
    let candidates: Vec<&String> = found.iter().filter(|t| is_kind(t)).collect();
    if candidates.is_empty() {
        return Verdict::Missing;
    }
    if candidates.len() == 1 && same(expected, candidates[0]) == Some(true) {
        return Verdict::Ok;
    }
    let mut shown: Vec<String> = candidates.iter().map(|t| format!("TXT \"{t}\"")).collect();
    if candidates.len() > 1 {
        shown.push(format!("({} records where one is allowed)", candidates.len()));
    }
    Verdict::Wrong(shown)
}
