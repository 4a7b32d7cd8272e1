//! `mox clientconfig domain`: the IMAP and submission settings email clients need.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::cmd::{Run, domain_arg};
use crate::context::Context;

/// Print the configuration for email clients for a domain.
///
/// Sending email is typically not done on the SMTP port 25, but on submission ports 465 (with
/// TLS) and 587 (without initial TLS, but usually added to the connection with STARTTLS). For
/// IMAP, the port with TLS is 993 and without is 143.
///
/// Without TLS/STARTTLS, passwords are sent in clear text, which should only be configured
/// over otherwise secured connections, like a VPN.
///
/// One line is printed per enabled IMAP and submission service of each listener in mox.conf:
/// the host name clients connect to (the domain's ClientSettingsDomain if set, else the
/// listener's or the server's host name), the port, and whether TLS is immediate or with
/// STARTTLS. The username is the full email address.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox clientconfig domain")]
pub(crate) struct Clientconfig {
    /// Domain, as configured in domains.conf, to print client settings for.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for Clientconfig {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = domain_arg("domain", &self.domain)?;
        let config = ctx.load_config()?;
        let text = client_config_text(&config, &domain)?;
        ctx.stdout().write_all(text.as_bytes())?;
        Ok(())
    }
}

/// One service a client can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `IMAP` or `Submission (SMTP)`.
    pub(crate) protocol: &'static str,
    /// The host name to connect to.
    pub(crate) host: dns::Domain,
    /// The port.
    pub(crate) port: u16,
    /// The listener in mox.conf.
    pub(crate) listener: String,
    /// TLS mode and other notes.
    pub(crate) note: String,
}

/// The client settings for `domain`, by listener (in name order), as mox lists them:
/// submissions and IMAPS (immediate TLS) first, then submission and IMAP with their STARTTLS
/// requirement.
pub(crate) fn client_config_entries(
    config: &config::Config,
    domain: &dns::Domain,
) -> anyhow::Result<Vec<Entry>> {
    let domain_config = config
        .domain(domain)
        .ok_or_else(|| anyhow::anyhow!("unknown domain {}", domain.unicode()))?;
    let starttls_note = |tls: bool, required: bool| {
        match (tls, required) {
            (false, _) => "plain text, no STARTTLS configured",
            (true, true) => "STARTTLS required",
            (true, false) => "STARTTLS optional",
        }
        .to_string()
    };
    let on_https = |enabled: bool, alpn: &str| {
        let mut note = String::from("with TLS");
        if enabled {
            let _ = write!(note, "; also served on port 443 with TLS ALPN \"{alpn}\"");
        }
        note
    };
    let mut entries = Vec::new();
    // BTreeMap: listeners in name order, as mox sorts them.
    for (name, l) in &config.static_.listeners {
        let host = domain_config
            .client_settings_dns_domain
            .clone()
            .or_else(|| l.hostname_domain.clone())
            .unwrap_or_else(|| config.hostname().clone());
        let mut add = |protocol, port, note| {
            entries.push(Entry { protocol, host: host.clone(), port, listener: name.clone(), note })
        };
        if l.submissions.enabled {
            add(
                "Submission (SMTP)",
                l.submissions.port.unwrap_or(465),
                on_https(l.submissions.enabled_on_https, "smtp"),
            );
        }
        if l.imaps.enabled {
            add("IMAP", l.imaps.port.unwrap_or(993), on_https(l.imaps.enabled_on_https, "imap"));
        }
        if l.submission.enabled {
            add(
                "Submission (SMTP)",
                l.submission.port.unwrap_or(587),
                starttls_note(l.tls.is_some(), !l.submission.no_require_starttls),
            );
        }
        if l.imap.enabled {
            add(
                "IMAP",
                l.imap.port.unwrap_or(143),
                starttls_note(l.tls.is_some(), !l.imap.no_require_starttls),
            );
        }
    }
    Ok(entries)
}

/// The client settings as printed by `clientconfig` (and quickstart): a table, then the
/// advice on authentication mechanisms.
pub(crate) fn client_config_text(
    config: &config::Config,
    domain: &dns::Domain,
) -> anyhow::Result<String> {
    let entries = client_config_entries(config, domain)?;
    let mut text = String::new();
    let _ = writeln!(text, "{:<20} {:<30} {:>5} {:<15} Note", "Protocol", "Host", "Port", "Listener");
    for e in &entries {
        let _ = writeln!(
            text,
            "{:<20} {:<30} {:>5} {:<15} {}",
            e.protocol,
            e.host.unicode(),
            e.port,
            e.listener,
            e.note
        );
    }
    if entries.is_empty() {
        text.push_str("(no listener has IMAP or submission enabled)\n");
    }
    text.push_str(
        "
Username: the full email address, e.g. you@example.com.

To prevent authentication mechanism downgrade attempts that may result in
clients sending plain text passwords to a MitM, clients should always be
explicitly configured with the most secure authentication mechanism supported,
the first of: SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1,
CRAM-MD5.
",
    );
    Ok(text.replace("you@example.com", &format!("you@{}", domain.unicode())))
}
