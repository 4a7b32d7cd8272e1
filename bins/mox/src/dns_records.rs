//! The DNS records a configured domain needs, as mox suggests them: made once here, from the
//! configuration, and used by `quickstart` (printed), `config dnsrecords` (printed as a zone
//! file) and `config dnscheck` (looked up and compared).
//!
//! The records are values ([`Record`] with typed [`Data`]), built with the policy crates' own
//! record types (SPF, DKIM, DMARC, MTA-STS, TLSRPT), so what is printed is what those crates
//! parse, and dnscheck compares parsed records rather than text. [`zone_text`] writes them in
//! zone-file syntax with mox's annotations, ready to paste.

use std::fmt::Write as _;
use std::net::IpAddr;

use anyhow::Context as _;

/// One line of the suggested zone: a record, or an explanation for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// A `;` comment.
    Comment(String),
    /// A zone-file directive such as `$TTL 300`.
    Directive(String),
    /// An empty line between groups.
    Blank,
    /// A record.
    Record(Record),
}

/// A suggested DNS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// What the record is for, as dnscheck names it: `MX`, `SPF`, `DKIM 2026a`, ...
    pub(crate) purpose: String,
    /// The owner name.
    pub(crate) name: dns::Domain,
    /// The type and data.
    pub(crate) data: Data,
    /// Suggested but commented out (`;; `), such as DANE records for a zone without DNSSEC:
    /// not to be created yet, and not checked.
    pub(crate) commented: bool,
}

/// The type and data of a [`Record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Data {
    /// `MX preference exchange`.
    Mx { preference: u16, exchange: dns::Domain },
    /// A TXT record (one string; split in the zone text when long).
    Txt(String),
    /// `CNAME target`.
    Cname(dns::Domain),
    /// `SRV priority weight port target`; target `None` is `.`, "service not offered"
    /// (RFC 6186 §3.4).
    Srv { priority: u16, weight: u16, port: u16, target: Option<dns::Domain> },
    /// `CAA flags tag "value"` (RFC 8659).
    Caa { tag: &'static str, value: String },
    /// `TLSA usage selector matching-type data` (RFC 6698).
    Tlsa(dns::Tlsa),
}

impl Data {
    /// The type mnemonic.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Data::Mx { .. } => "MX",
            Data::Txt(_) => "TXT",
            Data::Cname(_) => "CNAME",
            Data::Srv { .. } => "SRV",
            Data::Caa { .. } => "CAA",
            Data::Tlsa(_) => "TLSA",
        }
    }

    /// The data as in a zone file, on one line (TXT as one quoted string).
    pub(crate) fn zone_data(&self) -> String {
        match self {
            Data::Mx { preference, exchange } => format!("{preference} {}.", exchange.ascii()),
            Data::Txt(text) => quote_txt(text),
            Data::Cname(target) => format!("{}.", target.ascii()),
            Data::Srv { priority, weight, port, target } => format!(
                "{priority} {weight} {port} {}",
                target.as_ref().map(|t| format!("{}.", t.ascii())).unwrap_or_else(|| ".".into())
            ),
            Data::Caa { tag, value } => format!("0 {tag} {}", quote_txt(value)),
            Data::Tlsa(t) => {
                format!("{} {} {} {}", t.usage, t.selector, t.matching_type, hex(&t.data))
            }
        }
    }
}

/// What the records depend on besides the configuration.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Whether the domain's zone is DNSSEC-signed (as the resolver reported): DANE records
    /// are only suggested for a signed zone, and commented out otherwise.
    pub(crate) dnssec: bool,
}

/// The records `domain` needs, with the annotations mox prints, in mox's order: DANE (TLSA)
/// for the host keys, SPF and TLSRPT for the host itself, MX, DKIM, SPF, DMARC, MTA-STS,
/// TLSRPT, the client settings name, autoconfig/autodiscover and SRV records (RFC 6186), and
/// CAA when certificates come from ACME.
///
/// Reads the DKIM and host private key files named in the configuration, to publish their
/// public keys.
pub(crate) fn domain_records(
    config: &config::Config,
    domain: &dns::Domain,
    options: Options,
) -> anyhow::Result<Vec<Line>> {
    let domain_config = config
        .domain(domain)
        .ok_or_else(|| anyhow::anyhow!("domain {} is not configured", domain.unicode()))?;
    let host = config.hostname().clone();
    let d = domain.ascii().to_string();
    let client_settings = domain_config
        .client_settings_dns_domain
        .clone()
        .filter(|c| *c != host)
        .unwrap_or_else(|| host.clone());

    let mut out = Lines::default();
    out.comment("Time To Live of 5 minutes, may be recognized if importing as a zone file.");
    out.comment("Once your setup is working, you may want to increase the TTL.");
    out.lines.push(Line::Directive("$TTL 300".into()));
    out.blank();

    let host_keys = host_key_spkis(config)?;
    if !host_keys.is_empty() {
        for text in [
            "DANE: These records indicate that a remote mail server trying to deliver email",
            "with SMTP (TCP port 25) must verify the TLS certificate with DANE-EE (3), based",
            "on the certificate public key (\"SPKI\", 1) that is SHA2-256-hashed (1) to the",
            "hexadecimal hash. DANE-EE verification means only the certificate or public",
            "key is verified, not whether the certificate is signed by a (centralized)",
            "certificate authority (CA), is expired, or matches the host name.",
            "",
            "NOTE: Create the records below only once: They are for the machine, and apply",
            "to all hosted domains.",
        ] {
            out.comment(text);
        }
        if !options.dnssec {
            out.comment("");
            out.comment(
                "WARNING: Domain does not appear to be DNSSEC-signed. To enable DANE, first",
            );
            out.comment(
                "enable DNSSEC on your domain, then add the TLSA records. Records below have been",
            );
            out.comment("commented out.");
        }
        let name = prefixed("_25._tcp", &host)?;
        for (kind, spki) in host_keys {
            let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
            out.record(Record {
                purpose: format!("DANE {kind}"),
                name: name.clone(),
                data: Data::Tlsa(dns::Tlsa {
                    usage: 3,
                    selector: 1,
                    matching_type: 1,
                    data: digest.as_ref().to_vec(),
                }),
                commented: !options.dnssec,
            });
        }
        out.blank();
    }

    if d != host.ascii() {
        out.comment("For the machine, only needs to be created once, for the first domain added:");
        out.comment(" ");
        out.comment("SPF-allow host for itself, resulting in relaxed DMARC pass for (postmaster)");
        out.comment("messages (DSNs) sent from host:");
        out.record(Record::new("host SPF", host.clone(), Data::Txt(host_spf().to_string())));
        out.blank();
        if let Some(localpart) = &config.static_.host_tlsrpt.parsed_localpart {
            out.comment(
                "For the machine, only needs to be created once, for the first domain added:",
            );
            out.comment(" ");
            out.comment(
                "Request reporting about success/failures of TLS connections to (MX) host, for DANE.",
            );
            let record = tlsrpt_record(localpart.as_str(), &host)?;
            out.record(Record::new(
                "host TLSRPT",
                prefixed("_smtp._tls", &host)?,
                Data::Txt(record.to_string()),
            ));
            out.blank();
        }
    }

    out.comment("Deliver email for the domain to this host.");
    out.record(Record::new(
        "MX",
        domain.clone(),
        Data::Mx { preference: 10, exchange: host.clone() },
    ));
    out.blank();

    out.comment("Outgoing messages will be signed with the configured DKIM keys (see Sign in");
    out.comment("domains.conf); keys not used for signing are backups, switching to them is just");
    out.comment("a config change.");
    for (selector, sel) in &domain_config.dkim.selectors {
        let path = config.config_dir_path(&sel.private_key_file);
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("reading DKIM key {}", path.display()))?;
        let key = dkim::PrivateKey::from_pem(&pem)
            .with_context(|| format!("DKIM key {}", path.display()))?;
        let text = dkim::Record::for_public_key(&key.public_key()).to_string();
        if text.len() > 100 {
            out.comment(
                "NOTE: The following is a single long record split over several lines for use",
            );
            out.comment(
                "in zone files. When adding through a DNS operator web interface, combine the",
            );
            out.comment("strings into a single string, without ().");
        }
        out.record(Record::new(
            &format!("DKIM {selector}"),
            prefixed(&format!("{selector}._domainkey"), domain)?,
            Data::Txt(text),
        ));
    }
    out.blank();

    out.comment("Specify the MX host is allowed to send for our domain and for itself (for DSNs).");
    out.comment(
        "~all means softfail for anything else, which is done instead of -all to prevent older",
    );
    out.comment("mail servers from rejecting the message because they never get to looking for a dkim/dmarc pass.");
    out.record(Record::new("SPF", domain.clone(), Data::Txt(domain_spf(config)?.to_string())));
    out.blank();

    out.comment("Emails that fail the DMARC check (without aligned DKIM and without aligned SPF)");
    out.comment("should be rejected, and request reports. If you email through mailing lists that");
    out.comment("strip DKIM-Signature headers and don't rewrite the From header, you may want to");
    out.comment("set the policy to p=none.");
    let mut dmarc = dmarc::Record { policy: dmarc::Policy::Reject, ..dmarc::Record::default() };
    if let Some(conf) = &domain_config.dmarc {
        let uri = format!("mailto:{}@{}!10m", conf.parsed_localpart, conf.dns_domain.ascii());
        dmarc.aggregate_report_uris.push(
            dmarc::ReportUri::parse(&uri)
                .map_err(|e| anyhow::anyhow!("DMARC report address {uri}: {e}"))?,
        );
    }
    out.record(Record::new("DMARC", prefixed("_dmarc", domain)?, Data::Txt(dmarc.to_string())));
    out.blank();

    if let Some(sts) = &domain_config.mtasts {
        out.comment("Remote servers can use MTA-STS to verify our TLS certificate with the");
        out.comment("WebPKI pool of CA's (certificate authorities) when delivering over SMTP with");
        out.comment("STARTTLS.");
        out.record(Record::new(
            "MTA-STS host",
            prefixed("mta-sts", domain)?,
            Data::Cname(host.clone()),
        ));
        let record = mtasts::Record { id: sts.policy_id.clone(), extensions: Vec::new() };
        out.record(Record::new(
            "MTA-STS",
            prefixed("_mta-sts", domain)?,
            Data::Txt(record.to_string()),
        ));
    } else {
        out.comment(
            "Note: No MTA-STS to indicate TLS should be used. Either because disabled for the",
        );
        out.comment("domain or because mox.conf does not have a listener with MTA-STS configured.");
    }
    out.blank();

    if let Some(conf) = &domain_config.tlsrpt {
        out.comment("Request reporting about TLS failures.");
        let record = tlsrpt_record(&conf.parsed_localpart, &conf.dns_domain)?;
        out.record(Record::new(
            "TLSRPT",
            prefixed("_smtp._tls", domain)?,
            Data::Txt(record.to_string()),
        ));
        out.blank();
    }

    if client_settings != host {
        out.comment("Client settings will reference a subdomain of the hosted domain, making it");
        out.comment(
            "easier to migrate to a different server in the future by not requiring settings",
        );
        out.comment("in all clients to be updated.");
        out.record(Record::new(
            "client settings",
            client_settings.clone(),
            Data::Cname(host.clone()),
        ));
        out.blank();
    }

    out.comment(
        "Autoconfig is used by Thunderbird. Autodiscover is (in theory) used by Microsoft.",
    );
    out.record(Record::new(
        "autoconfig",
        prefixed("autoconfig", domain)?,
        Data::Cname(host.clone()),
    ));
    out.record(Record::new(
        "autodiscover",
        prefixed("_autodiscover._tcp", domain)?,
        Data::Srv { priority: 0, weight: 1, port: 443, target: Some(host.clone()) },
    ));
    out.blank();

    // RFC 6186 §3 (and RFC 8314 §5.1 for submissions): where clients find IMAP and submission.
    out.comment("For secure IMAP and submission autoconfig, point to mail host.");
    for (service, port) in [("_imaps._tcp", 993), ("_submissions._tcp", 465)] {
        out.record(Record::new(
            &format!("SRV {service}"),
            prefixed(service, domain)?,
            Data::Srv { priority: 0, weight: 1, port, target: Some(client_settings.clone()) },
        ));
    }
    out.blank();
    // RFC 6186 §3.4: target "." says the service is not offered.
    out.comment("Next records specify POP3 and non-TLS ports are not to be used.");
    out.comment("These are optional and safe to leave out (e.g. if you have to click a lot in a");
    out.comment("DNS admin web interface).");
    for service in ["_imap._tcp", "_submission._tcp", "_pop3._tcp", "_pop3s._tcp"] {
        out.record(Record::new(
            &format!("SRV {service}"),
            prefixed(service, domain)?,
            Data::Srv { priority: 0, weight: 0, port: 0, target: None },
        ));
    }

    if let Some(issuer) = acme_issuer(config) {
        // RFC 8659: only this CA may issue certificates for the domain.
        out.blank();
        out.comment("Optional:");
        out.comment("You could mark Let's Encrypt as the only Certificate Authority allowed to");
        out.comment("sign TLS certificates for your domain.");
        out.record(Record::new("CAA", domain.clone(), Data::Caa { tag: "issue", value: issuer }));
    }
    Ok(out.lines)
}

/// The records as a zone file: names padded to a common column as mox prints them, TXT
/// data longer than 100 characters split over several strings in parentheses.
pub(crate) fn zone_text(domain: &dns::Domain, lines: &[Line]) -> String {
    let width = domain.ascii().len() + 20;
    let mut text = String::new();
    for line in lines {
        match line {
            Line::Comment(c) => {
                let _ = writeln!(text, "; {c}");
            }
            Line::Directive(d) => {
                let _ = writeln!(text, "{d}");
            }
            Line::Blank => text.push('\n'),
            Line::Record(r) => {
                let name = format!("{}.", r.name.ascii());
                let data = match &r.data {
                    Data::Txt(t) => txt_strings(t),
                    other => other.zone_data(),
                };
                if r.commented {
                    let _ = writeln!(
                        text,
                        ";; {name:<w$} {} {data}",
                        r.data.type_name(),
                        w = width.saturating_sub(3)
                    );
                } else {
                    let _ = writeln!(text, "{name:<width$} {} {data}", r.data.type_name());
                }
            }
        }
    }
    text
}

/// Just the records of `lines`.
pub(crate) fn records(lines: &[Line]) -> impl Iterator<Item = &Record> {
    lines.iter().filter_map(|l| match l {
        Line::Record(r) => Some(r),
        _ => None,
    })
}

/// Whether the zone of `domain` is DNSSEC-signed, as the resolver reports: the AD bit on the
/// answer (or the authenticated denial) for the domain's TXT records.
pub(crate) async fn zone_is_signed(
    resolver: &dyn dns::Resolver,
    domain: &dns::Domain,
) -> anyhow::Result<bool> {
    match resolver.lookup_txt(domain).await {
        Ok(lookup) => Ok(lookup.authentic),
        Err(dns::LookupError::NxDomain { authentic, .. })
        | Err(dns::LookupError::NoRecords { authentic, .. }) => Ok(authentic),
        Err(e) => Err(anyhow::Error::new(e).context("looking up record for DNSSEC status")),
    }
}

/// The SPF record for the host name itself: its own A/AAAA addresses may send (RFC 7208
/// §10.1.3), so DSNs from the host pass.
pub(crate) fn host_spf() -> spf::Record {
    "v=spf1 a -all".parse().expect("a valid constant SPF record")
}

/// The domain's SPF record: the public IPs mox sends from, its MX hosts, `~all` for the
/// rest (as mox).
pub(crate) fn domain_spf(config: &config::Config) -> anyhow::Result<spf::Record> {
    let mut text = String::from("v=spf1");
    for ip in public_ips(config) {
        match ip {
            IpAddr::V4(ip) => {
                let _ = write!(text, " ip4:{ip}");
            }
            IpAddr::V6(ip) => {
                let _ = write!(text, " ip6:{ip}");
            }
        }
    }
    text.push_str(" mx ~all");
    text.parse().map_err(|e| anyhow::anyhow!("making SPF record {text:?}: {e}"))
}

/// The IPs mail is sent from, as mox decides for SPF: those of [`listener_ips`] and of SOCKS
/// transports.
pub(crate) fn public_ips(config: &config::Config) -> Vec<IpAddr> {
    let mut ips = listener_ips(config);
    for transport in config.static_.transports.values() {
        if let Some(socks) = &transport.socks {
            ips.extend(socks.ip_addrs.iter().copied());
        }
    }
    ips
}

/// The public IPs of the host: those of listeners with SMTP that are not NATed (the NAT IPs
/// when configured), without the unspecified address.
pub(crate) fn listener_ips(config: &config::Config) -> Vec<IpAddr> {
    let mut ips = Vec::new();
    for listener in config.static_.listeners.values() {
        if !listener.smtp.enabled || listener.ips_nated {
            continue;
        }
        let list = if listener.nat_ip_addrs.is_empty() {
            &listener.ip_addrs
        } else {
            &listener.nat_ip_addrs
        };
        ips.extend(list.iter().filter(|ip| !ip.is_unspecified()).copied());
    }
    ips
}

fn tlsrpt_record(localpart: &str, domain: &dns::Domain) -> anyhow::Result<tlsrpt::Record> {
    let uri = format!("mailto:{localpart}@{}", domain.ascii());
    let rua = tlsrpt::Rua::parse(&uri).map_err(|e| anyhow::anyhow!("TLSRPT address {uri}: {e}"))?;
    Ok(tlsrpt::Record { rua: vec![rua], extensions: Vec::new() })
}

/// The ACME CA's domain name for CAA, when the public listener gets its certificates with ACME.
fn acme_issuer(config: &config::Config) -> Option<String> {
    let public = config.static_.listeners.get("public")?;
    let provider = public.tls.as_ref()?.acme.as_ref()?;
    config.static_.acme.get(provider)?.issuer_domain_name.clone().filter(|s| !s.is_empty())
}

/// The SubjectPublicKeyInfo (DER) of the public listener's host keys, ECDSA P-256 ones first,
/// then RSA, as mox lists them for DANE.
fn host_key_spkis(config: &config::Config) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let Some(tls) = config.static_.listeners.get("public").and_then(|l| l.tls.as_ref()) else {
        return Ok(Vec::new());
    };
    let mut ecdsa = Vec::new();
    let mut rsa = Vec::new();
    for file in &tls.host_private_key_files {
        let path = config.config_dir_path(file);
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("reading host key {}", path.display()))?;
        match crate::host_keys::spki_from_pem(&pem)
            .with_context(|| format!("host key {}", path.display()))?
        {
            crate::host_keys::HostKey::EcdsaP256(spki) => ecdsa.push(("ecdsa-p256", spki)),
            crate::host_keys::HostKey::Rsa(spki) => rsa.push(("rsa", spki)),
        }
    }
    ecdsa.extend(rsa);
    Ok(ecdsa)
}

/// `label.name`, for names such as `_dmarc.example.com`.
pub(crate) fn prefixed(label: &str, name: &dns::Domain) -> anyhow::Result<dns::Domain> {
    let text = format!("{label}.{}", name.ascii());
    dns::Domain::parse(&text).map_err(|e| anyhow::anyhow!("name {text}: {e}"))
}

impl Record {
    fn new(purpose: &str, name: dns::Domain, data: Data) -> Record {
        Record { purpose: purpose.to_string(), name, data, commented: false }
    }
}

#[derive(Default)]
struct Lines {
    lines: Vec<Line>,
}

impl Lines {
    fn comment(&mut self, text: &str) {
        self.lines.push(Line::Comment(text.to_string()));
    }
    fn blank(&mut self) {
        self.lines.push(Line::Blank);
    }
    fn record(&mut self, record: Record) {
        self.lines.push(Line::Record(record));
    }
}

/// A TXT value as one quoted character-string, `"` and `\` escaped (RFC 1035 §5.1).
fn quote_txt(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A TXT value as mox writes it in a zone: one string up to 100 characters, else strings of
/// 100 characters in parentheses, one per line.
fn txt_strings(text: &str) -> String {
    if text.len() <= 100 {
        return quote_txt(text);
    }
    let mut out = String::from("(\n");
    let mut rest = text;
    while !rest.is_empty() {
        // The values are ASCII (base64, tags), but never split inside a character.
        let mut n = rest.len().min(100);
        while !rest.is_char_boundary(n) {
            n -= 1;
        }
        let _ = writeln!(out, " \t\t{}", quote_txt(&rest[..n]));
        rest = &rest[n..];
    }
    out.push_str("\t)");
    out
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}
