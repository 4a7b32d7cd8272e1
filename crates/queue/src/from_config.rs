//! [`Settings`] from mox's configuration files as the `config` crate loads them.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use sasl::Mechanism;

use crate::settings::{
    Route, Settings, SmtpAuth, Transport, TransportDirect, TransportFail, TransportSmtp,
    TransportSocks,
};

/// Why the configuration cannot be used by the queue (beyond what `config` checks).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A transport has an authentication mechanism we do not implement.
    #[error("transport {transport}: unknown authentication mechanism {mechanism:?}")]
    UnknownMechanism {
        /// The transport's name.
        transport: String,
        /// The mechanism as written.
        mechanism: String,
    },
    /// A certificate file of `TLS.CA` cannot be read or has no certificate.
    #[error("TLS CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl Settings {
    /// The queue's settings from a loaded configuration: `Hostname`, `Transports`, the
    /// `Routes` of domains.conf (global, per domain, per account), the listener IPs to send from
    /// (mox's `SpecifiedSMTPListenIPs`) and `NoOutgoingTLSReports`. Other settings keep their
    /// defaults.
    pub fn from_config(config: &config::Config) -> Result<Settings, SettingsError> {
        let mut settings = Settings::new(config.hostname().clone());
        for (name, t) in &config.static_.transports {
            settings.transports.insert(name.clone(), transport(name, t)?);
        }
        settings.routes = config.dynamic.routes.iter().map(route).collect();
        for domain in config.dynamic.domains.values() {
            if !domain.routes.is_empty() {
                settings
                    .domain_routes
                    .insert(domain.domain.clone(), domain.routes.iter().map(route).collect());
            }
        }
        for (name, account) in &config.dynamic.accounts {
            if !account.routes.is_empty() {
                settings
                    .account_routes
                    .insert(name.clone(), account.routes.iter().map(route).collect());
            }
        }
        settings.local_ips = config.static_.specified_smtp_listen_ips.clone();
        settings.no_outgoing_tls_reports = config.static_.no_outgoing_tls_reports;
        Ok(settings)
    }
}

/// The roots for verifying MX hosts under MTA-STS and smarthosts: the Mozilla roots, plus or
/// instead of the certificates of mox.conf `TLS.CA` (`AdditionalToSystem`).
pub fn pkix_roots(config: &config::Config) -> Result<Arc<RootCertStore>, SettingsError> {
    let mut roots = RootCertStore::empty();
    let ca = config.static_.tls.ca.as_ref();
    if ca.is_none_or(|ca| ca.additional_to_system) {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for file in ca.map(|ca| ca.cert_files.as_slice()).unwrap_or_default() {
        let path = config.config_dir_path(file);
        let error =
            |reason: String| SettingsError::CaFile { path: path.display().to_string(), reason };
        let text = std::fs::read_to_string(&path).map_err(|e| error(e.to_string()))?;
        let mut found = 0;
        for der in pem_certificates(&text) {
            roots.add(CertificateDer::from(der)).map_err(|e| error(e.to_string()))?;
            found += 1;
        }
        if found == 0 {
            return Err(error("no PEM certificate in file".into()));
        }
    }
    Ok(Arc::new(roots))
}

fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            current = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(b64) = current.take()
                && let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64)
            {
                out.push(der);
            }
        } else if let Some(b64) = &mut current {
            b64.push_str(line);
        }
    }
    out
}

fn transport(name: &str, t: &config::Transport) -> Result<Transport, SettingsError> {
    let smtp = |s: &config::TransportSmtp| -> Result<TransportSmtp, SettingsError> {
        let auth = match &s.auth {
            Some(a) => {
                let list = if a.effective_mechanisms.is_empty() {
                    &a.mechanisms
                } else {
                    &a.effective_mechanisms
                };
                let mut mechanisms = Vec::new();
                for m in list {
                    let mechanism =
                        Mechanism::from_name(m).ok_or_else(|| SettingsError::UnknownMechanism {
                            transport: name.to_string(),
                            mechanism: m.clone(),
                        })?;
                    mechanisms.push(mechanism);
                }
                Some(SmtpAuth {
                    username: a.username.clone(),
                    password: sasl::Secret::new(a.password.clone()),
                    mechanisms,
                })
            }
            None => None,
        };
        Ok(TransportSmtp {
            host: s.dns_host.clone(),
            port: s.port.unwrap_or(0),
            starttls_insecure_skip_verify: s.starttls_insecure_skip_verify,
            no_starttls: s.no_starttls,
            auth,
        })
    };
    Ok(if let Some(s) = &t.submissions {
        Transport::Submissions(smtp(s)?)
    } else if let Some(s) = &t.submission {
        Transport::Submission(smtp(s)?)
    } else if let Some(s) = &t.smtp {
        Transport::Smtp(smtp(s)?)
    } else if let Some(s) = &t.socks {
        Transport::Socks(TransportSocks {
            address: s.address.clone(),
            remote_ips: s.ip_addrs.clone(),
            remote_hostname: s.hostname_domain.clone(),
        })
    } else if let Some(f) = &t.fail {
        Transport::Fail(TransportFail {
            smtp_code: u16::try_from(f.code).unwrap_or(554),
            smtp_message: f.message.clone(),
        })
    } else if let Some(d) = &t.direct {
        Transport::Direct(TransportDirect {
            disable_ipv4: d.disable_ipv4,
            disable_ipv6: d.disable_ipv6,
        })
    } else {
        // mox: a transport with nothing set is regular direct delivery.
        Transport::Direct(TransportDirect::default())
    })
}

fn route(r: &config::Route) -> Route {
    let ascii = |derived: &Vec<String>, given: &Vec<String>| -> Vec<String> {
        if derived.is_empty() { given.clone() } else { derived.clone() }
    };
    Route {
        from_domain: ascii(&r.from_domain_ascii, &r.from_domain),
        to_domain: ascii(&r.to_domain_ascii, &r.to_domain),
        minimum_attempts: r.minimum_attempts.and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
        transport: r.transport.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATIC: &str = "DataDir: data
User: mox
LogLevel: info
Hostname: mail.mox.example
Listeners:
\tpublic:
\t\tIPs:
\t\t\t- 192.0.2.10
\t\tSMTP:
\t\t\tEnabled: true
\t\t\tNoSTARTTLS: true
Postmaster:
\tAccount: mjl
\tMailbox: Postmaster
Transports:
\tsmarthost:
\t\tSubmissions:
\t\t\tHost: smtp.relay.example
\t\t\tAuth:
\t\t\t\tUsername: u
\t\t\t\tPassword: p
\t\t\t\tMechanisms:
\t\t\t\t\t- SCRAM-SHA-256
\t\t\t\t\t- PLAIN
\tnope:
\t\tFail:
\t\t\tSMTPCode: 451
\t\t\tSMTPMessage: not today
\tproxy:
\t\tSocks:
\t\t\tAddress: 127.0.0.1:1080
\t\t\tRemoteIPs:
\t\t\t\t- 198.51.100.1
\t\t\tRemoteHostname: proxy.mox.example
";

    const DYNAMIC: &str = "Domains:
\tmox.example:
\t\tRoutes:
\t\t\t-
\t\t\t\tToDomain:
\t\t\t\t\t- .bücher.example
\t\t\t\tTransport: nope
Accounts:
\tmjl:
\t\tDomain: mox.example
\t\tDestinations:
\t\t\tmjl@mox.example: nil
\t\tRoutes:
\t\t\t-
\t\t\t\tMinimumAttempts: 2
\t\t\t\tTransport: smarthost
Routes:
\t-
\t\tFromDomain:
\t\t\t- mox.example
\t\tTransport: proxy
";

    #[test]
    fn settings_from_mox_config() {
        let config = match config::load_from_texts(
            std::path::Path::new("/etc/mox/mox.conf"),
            STATIC,
            DYNAMIC,
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let s = Settings::from_config(&config).unwrap();
        assert_eq!(s.hostname.ascii(), "mail.mox.example");
        let Some(Transport::Submissions(t)) = s.transports.get("smarthost") else {
            panic!("{:?}", s.transports)
        };
        assert_eq!(t.host.ascii(), "smtp.relay.example");
        assert_eq!(t.auth.as_ref().unwrap().mechanisms, [Mechanism::ScramSha256, Mechanism::Plain]);
        let Some(Transport::Fail(f)) = s.transports.get("nope") else { panic!() };
        assert_eq!((f.smtp_code, f.smtp_message.as_str()), (451, "not today"));
        let Some(Transport::Socks(p)) = s.transports.get("proxy") else { panic!() };
        assert_eq!(p.remote_hostname.ascii(), "proxy.mox.example");
        assert_eq!(s.routes[0].transport, "proxy");
        assert_eq!(s.routes[0].from_domain, ["mox.example"]);
        let domain = dns::Domain::parse("mox.example").unwrap();
        assert_eq!(s.domain_routes[&domain][0].to_domain, [".xn--bcher-kva.example"]);
        assert_eq!(s.account_routes["mjl"][0].minimum_attempts, 2);
        assert_eq!(s.local_ips, ["192.0.2.10".parse::<std::net::IpAddr>().unwrap()]);
        let roots = pkix_roots(&config).unwrap();
        assert!(roots.len() > 100, "the Mozilla roots");
    }

    #[test]
    fn pem_parsing() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_certificates(text), vec![vec![0, 1, 2, 3]]);
    }
}
