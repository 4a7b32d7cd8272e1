//! Settings that are read and checked, but that mox-rs does not act on yet.
//!
//! `mox serve` logs the ones a configuration sets, once at startup, so that nothing is
//! silently ignored. Each line of [`NOT_IN_EFFECT`] goes when the feature is built.

use crate::Config;
use crate::sconf::{self, Segment};

/// A setting that is accepted but not in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotInEffect {
    /// Which file: `mox.conf` or `domains.conf`.
    pub file: &'static str,
    /// The key path; `*` stands for any map key or list position (`Listeners.*.AdminHTTP`).
    pub path: &'static str,
    /// Only when set to this value (for settings where only one value is not in effect).
    pub value: Option<&'static str>,
    /// What happens instead.
    pub why: &'static str,
}

const fn entry(file: &'static str, path: &'static str, why: &'static str) -> NotInEffect {
    NotInEffect { file, path, value: None, why }
}

const S: &str = "mox.conf";
const D: &str = "domains.conf";

/// The settings mox-rs accepts but does not act on yet.
pub const NOT_IN_EFFECT: &[NotInEffect] = &[
    entry(S, "CheckUpdates", "no update checks yet"),
    entry(S, "Pedantic", "no pedantic mode yet"),
    entry(S, "ACME", "no ACME (automatic TLS certificates) yet; use KeyCerts"),
    entry(S, "AdminPasswordFile", "no web admin yet"),
    entry(S, "Listeners.*.TLS.ACME", "no ACME yet; use KeyCerts"),
    entry(S, "Listeners.*.TLS.HostPrivateKeyFiles", "no ACME/DANE host keys yet"),
    entry(
        S,
        "Listeners.*.TLS.ClientAuthDisabled",
        "TLS client certificates are never requested yet",
    ),
    entry(S, "Listeners.*.AccountHTTP", "no web account interface yet"),
    entry(S, "Listeners.*.AccountHTTPS", "no web account interface yet"),
    entry(S, "Listeners.*.AdminHTTP", "no web admin yet"),
    entry(S, "Listeners.*.AdminHTTPS", "no web admin yet"),
    entry(S, "Listeners.*.WebmailHTTP", "no webmail yet"),
    entry(S, "Listeners.*.WebmailHTTPS", "no webmail yet"),
    entry(S, "Listeners.*.WebAPIHTTP", "no web API yet"),
    entry(S, "Listeners.*.WebAPIHTTPS", "no web API yet"),
    entry(S, "Listeners.*.MetricsHTTP", "no Prometheus metrics yet"),
    entry(S, "Listeners.*.PprofHTTP", "mox-rs has no Go profiler; this listener is never started"),
    entry(S, "Listeners.*.AutoconfigHTTPS", "no autoconfig/autodiscover yet"),
    entry(S, "Listeners.*.MTASTSHTTPS", "MTA-STS policies are not served yet"),
    entry(S, "Listeners.*.WebserverHTTP", "no webserver yet"),
    entry(S, "Listeners.*.WebserverHTTPS", "no webserver yet"),
    entry(S, "NoOutgoingDMARCReports", "DMARC reports are not sent yet"),
    entry(S, "NoOutgoingTLSReports", "TLS reports are not sent yet"),
    entry(S, "OutgoingTLSReportsForAllSuccess", "TLS reports are not sent yet"),
    entry(S, "QuotaMessageSize", "no storage quota yet"),
    entry(D, "Domains.*.MTASTS", "MTA-STS policies are not served yet"),
    NotInEffect {
        file: D,
        path: "Domains.*.DKIM.Selectors.*.Hash",
        value: Some("sha1"),
        why: "DKIM signatures are always made with sha256",
    },
    entry(D, "Accounts.*.OutgoingWebhook", "no webhooks yet"),
    entry(D, "Accounts.*.IncomingWebhook", "no webhooks yet"),
    entry(D, "Accounts.*.FromIDLoginAddresses", "no outgoing queue yet"),
    entry(D, "Accounts.*.KeepRetiredMessagePeriod", "no outgoing queue yet"),
    entry(D, "Accounts.*.KeepRetiredWebhookPeriod", "no webhooks yet"),
    entry(D, "Accounts.*.QuotaMessageSize", "no storage quota yet"),
    entry(D, "Accounts.*.Introbox", "no introbox yet"),
    entry(
        D,
        "Accounts.*.IMAPCapabilitiesDisabled",
        "the IMAP server does not disable capabilities per account yet",
    ),
    entry(D, "WebDomainRedirects", "no webserver yet"),
    entry(D, "WebHandlers", "no webserver yet"),
    entry(D, "MonitorDNSBLs", "our IPs are not monitored in DNSBLs yet"),
];

/// A setting that a configuration sets and that is not in effect yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetNotInEffect {
    /// `mox.conf` or `domains.conf`.
    pub file: &'static str,
    /// The key path as set (`Listeners.internal.AdminHTTP`).
    pub path: String,
    /// What happens instead.
    pub why: &'static str,
}

impl Config {
    /// The settings of this configuration that mox-rs does not act on yet (from
    /// [`NOT_IN_EFFECT`]), for `mox serve` to log once at startup. Never a reason to refuse a
    /// configuration.
    pub fn not_in_effect(&self) -> Vec<SetNotInEffect> {
        let mut found = Vec::new();
        for (file, keys) in
            [(S, sconf::set_keys(&self.static_, false)), (D, sconf::set_keys(&self.dynamic, false))]
        {
            for entry in NOT_IN_EFFECT.iter().filter(|e| e.file == file) {
                let pattern: Vec<&str> = entry.path.split('.').collect();
                for (path, value) in &keys {
                    let value_matches = match entry.value {
                        None => value.is_none(),
                        Some(v) => value.as_deref() == Some(v),
                    };
                    if value_matches && matches(&pattern, path) {
                        found.push(SetNotInEffect {
                            file,
                            path: crate::sconf::KeyPath::from_segments(path.clone()).to_string(),
                            why: entry.why,
                        });
                    }
                }
            }
        }
        found
    }
}

fn matches(pattern: &[&str], path: &[Segment]) -> bool {
    pattern.len() == path.len()
        && pattern.iter().zip(path).all(|(p, s)| match s {
            _ if *p == "*" => true,
            Segment::Key(k) => k == p,
            Segment::Index(_) => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_set_settings_only() {
        let config = crate::testing::example_config();
        let set: Vec<String> =
            config.not_in_effect().iter().map(|s| format!("{}: {}", s.file, s.path)).collect();
        assert!(set.is_empty(), "listeners and their services are in effect: {set:?}");

        let dynamic = crate::testing::EXAMPLE_DYNAMIC.replace(
            "\t\tLocalpartCatchallSeparator: +\n",
            "\t\tLocalpartCatchallSeparator: +\n\t\tRoutes:\n\t\t\t-\n\t\t\t\tTransport: t\n",
        );
        let static_ = format!(
            "{}Transports:\n\tt:\n\t\tDirect:\n\t\t\tDisableIPv6: true\nPedantic: true\n",
            crate::testing::EXAMPLE_STATIC
        );
        let config =
            crate::load_from_texts(std::path::Path::new("/x/mox.conf"), &static_, &dynamic)
                .unwrap();
        let set: Vec<String> = config
            .not_in_effect()
            .iter()
            .map(|s| format!("{}: {} ({})", s.file, s.path, s.why))
            .collect();
        assert_eq!(
            set,
            ["mox.conf: Pedantic (no pedantic mode yet)"],
            "transports and routes are used by the queue"
        );
    }

    #[test]
    fn table_paths_are_keys() {
        // Every path in the table names keys that exist: describe output has them all.
        let keys: Vec<String> = [
            sconf::set_keys(&crate::Static::default(), true),
            sconf::set_keys(&crate::Dynamic::default(), true),
        ]
        .concat()
        .into_iter()
        .map(|(p, _)| {
            p.iter()
                .map(|s| match s {
                    Segment::Key(k) if k == "x" => "*".to_string(),
                    Segment::Key(k) => k.clone(),
                    Segment::Index(_) => "*".to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
        for e in NOT_IN_EFFECT {
            assert!(keys.iter().any(|k| k == e.path), "{} is not a key path", e.path);
        }
    }
}
