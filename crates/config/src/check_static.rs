//! The checks on mox.conf (mox's `PrepareStaticConfig`), filling in the parsed forms.

use std::net::IpAddr;
use std::path::Path;

use base64::Engine;

use crate::check::{
    Checker, Which, check_mailbox_name, is_printable_ascii, parent_mailbox, parse_domain,
    parse_domain_unicode, parse_localpart, pem_label,
};
use crate::sconf::KeyPath;
use crate::{Static, TlsVersion, TransportSmtp, config_dir_path};

/// mox's log levels.
pub(crate) const LOG_LEVELS: &[&str] =
    &["tracedata", "traceauth", "trace", "debug", "info", "warn", "error", "fatal", "print"];

/// The SASL mechanisms a smarthost transport may use.
const TRANSPORT_MECHANISMS: &[&str] = &[
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-1",
    "CRAM-MD5",
    "PLAIN",
];

pub(crate) fn check_static(s: &mut Static, config_file: &Path, c: &mut Checker) {
    let root = KeyPath::root();

    if !LOG_LEVELS.contains(&s.log_level.as_str()) {
        c.static_err(&root.key("LogLevel"), format!("invalid log level {:?}", s.log_level));
    }
    for (pkg, level) in &s.package_log_levels {
        if !LOG_LEVELS.contains(&level.as_str()) {
            c.static_err(
                &root.key("PackageLogLevels").key(pkg),
                format!("invalid package log level {level:?}"),
            );
        }
    }

    match parse_domain_unicode(&s.hostname) {
        Ok(d) => s.hostname_domain = d,
        Err(e) => c.static_err(&root.key("Hostname"), format!("parsing hostname: {e}")),
    }

    if !s.host_tlsrpt.account.is_empty() {
        let path = root.key("HostTLSRPT").key("Localpart");
        match parse_localpart(&s.host_tlsrpt.localpart) {
            Ok(lp) if !lp.is_ascii() => c.static_err(
                &path,
                format!(
                    "host TLSRPT localpart {:?} is an internationalized address, only \
                     conventional ascii-only address allowed for interopability",
                    lp.as_str()
                ),
            ),
            Ok(lp) => s.host_tlsrpt.parsed_localpart = Some(lp),
            Err(e) => c.static_err(&path, format!("invalid localpart for host tlsrpt: {e}")),
        }
    }

    for (name, acme) in &s.acme {
        let Some(eab) = &acme.external_account_binding else { continue };
        let path = root.key("ACME").key(name).key("ExternalAccountBinding").key("KeyFile");
        let file = config_dir_path(config_file, &eab.key_file);
        match crate::check::read_named_file(&file) {
            Err(e) => c.static_err(
                &path,
                format!("reading external account binding key {}: {e}", file.display()),
            ),
            Ok(text) => {
                let text: String = text.chars().filter(|ch| !ch.is_ascii_whitespace()).collect();
                if let Err(e) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text) {
                    c.static_err(
                        &path,
                        format!("parsing external account binding key as base64: {e}"),
                    );
                }
            }
        }
    }

    check_listeners(s, config_file, c);
    check_mailboxes(s, c);
    check_transports(s, c);

    if let Some(ca) = &s.tls.ca {
        for (i, file) in ca.cert_files.iter().enumerate() {
            let path = root.key("TLS").key("CA").key("CertFiles").index(i + 1);
            let p = config_dir_path(config_file, file);
            match crate::check::read_named_file(&p) {
                Err(e) => {
                    c.static_err(&path, format!("reading TLS CA cert file {}: {e}", p.display()))
                }
                Ok(text) if !text.contains("-----BEGIN CERTIFICATE-----") => {
                    c.static_err(&path, format!("no CA certs added from {}", p.display()))
                }
                Ok(_) => {}
            }
        }
    }
}

fn check_listeners(s: &mut Static, config_file: &Path, c: &mut Checker) {
    let acme_names: Vec<String> = s.acme.keys().cloned().collect();
    let mut specified: Vec<IpAddr> = Vec::new();
    let mut unspecified_smtp = false;
    for (name, l) in s.listeners.iter_mut() {
        let lp = KeyPath::root().key("Listeners").key(name);
        if let Some(hostname) = &l.hostname {
            match parse_domain(hostname) {
                Ok(d) => l.hostname_domain = Some(d),
                Err(e) => c.static_err(&lp.key("Hostname"), format!("parsing hostname: {e}")),
            }
        }

        l.ip_addrs.clear();
        for (i, ip) in l.ips.iter().enumerate() {
            match ip.parse::<IpAddr>() {
                Ok(addr) => l.ip_addrs.push(addr),
                Err(_) => c.static_err(&lp.key("IPs").index(i + 1), format!("invalid IP {ip:?}")),
            }
        }
        if l.smtp.enabled {
            if l.ips.is_empty() {
                unspecified_smtp = true;
            }
            for ip in &l.ip_addrs {
                if ip.is_unspecified() {
                    unspecified_smtp = true;
                    break;
                }
                // One IPv4 and one IPv6 address at most, as mox decides.
                if specified.len() >= 2
                    || specified.first().is_some_and(|first| first.is_ipv4() == ip.is_ipv4())
                {
                    unspecified_smtp = true;
                } else {
                    specified.push(*ip);
                }
            }
        }

        if let Some(tls) = &mut l.tls {
            let tp = lp.key("TLS");
            match (&tls.acme, tls.key_certs.is_empty()) {
                (Some(_), false) => {
                    c.static_err(&tp, "cannot have ACME and static key/certificates");
                }
                (Some(acme), true) => {
                    if !acme_names.contains(acme) {
                        c.static_err(&tp.key("ACME"), format!("unknown ACME provider {acme:?}"));
                    }
                }
                (None, false) => {
                    for (i, kc) in tls.key_certs.iter().enumerate() {
                        let kp = tp.key("KeyCerts").index(i + 1);
                        check_pem_file(c, &kp.key("CertFile"), config_file, &kc.cert_file, true);
                        check_pem_file(c, &kp.key("KeyFile"), config_file, &kc.key_file, false);
                    }
                }
                (None, true) => c.static_err(
                    &tp,
                    "cannot have TLS config without ACME and without static keys/certificates",
                ),
            }
            for (i, file) in tls.host_private_key_files.iter().enumerate() {
                let path = tp.key("HostPrivateKeyFiles").index(i + 1);
                check_pem_file(c, &path, config_file, file, false);
            }
            tls.min_version_effective = match &tls.min_version {
                None => TlsVersion::Tls12,
                Some(v) => TlsVersion::parse(v).unwrap_or_else(|| {
                    c.static_err(
                        &tp.key("MinVersion"),
                        format!("unknown TLS mininum version {v:?}"),
                    );
                    TlsVersion::Tls12
                }),
            };
        } else {
            let needs: Vec<&str> = [
                ("IMAPS", l.imaps.enabled),
                ("SMTP", l.smtp.enabled && !l.smtp.no_starttls),
                ("Submissions", l.submissions.enabled),
                ("Submission", l.submission.enabled && !l.submission.no_require_starttls),
                ("AccountHTTPS", l.account_https.enabled),
                ("AdminHTTPS", l.admin_https.enabled),
                ("AutoconfigHTTPS", l.autoconfig_https.enabled && !l.autoconfig_https.non_tls),
                ("MTASTSHTTPS", l.mtasts_https.enabled && !l.mtasts_https.non_tls),
                ("WebserverHTTPS", l.webserver_https.enabled),
            ]
            .into_iter()
            .filter_map(|(what, needed)| needed.then_some(what))
            .collect();
            if !needs.is_empty() {
                c.static_err(
                    &lp,
                    format!("no tls config specified, but requires tls for {}", needs.join(", ")),
                );
            }
        }
        if l.autoconfig_https.enabled
            && l.mtasts_https.enabled
            && l.autoconfig_https.port == l.mtasts_https.port
            && l.autoconfig_https.non_tls != l.mtasts_https.non_tls
        {
            c.static_err(
                &lp,
                "autoconfig and mta-sts enabled on same port but with both http and https",
            );
        }

        l.smtp.dnsbl_zones.clear();
        for (i, zone) in l.smtp.dnsbls.iter().enumerate() {
            match parse_domain(zone) {
                Ok(d) => l.smtp.dnsbl_zones.push(d),
                Err(e) => c.static_err(
                    &lp.key("SMTP").key("DNSBLs").index(i + 1),
                    format!("parsing DNSBL zone: {e}"),
                ),
            }
        }

        if l.ips_nated && !l.nat_ips.is_empty() {
            c.static_err(
                &lp.key("IPsNATed"),
                "both IPsNATed and NATIPs configured (remove deprecated IPsNATed)",
            );
        }
        l.nat_ip_addrs.clear();
        for (i, ip) in l.nat_ips.iter().enumerate() {
            let path = lp.key("NATIPs").index(i + 1);
            match ip.parse::<IpAddr>() {
                Err(_) => c.static_err(&path, format!("invalid ip {ip:?}")),
                Ok(addr) if addr.is_unspecified() || addr.is_loopback() => c.static_err(
                    &path,
                    format!("NAT ip that is the unspecified or loopback address {ip}"),
                ),
                Ok(addr) => l.nat_ip_addrs.push(addr),
            }
        }

        for (key, service) in [
            ("AccountHTTP", &l.account_http),
            ("AccountHTTPS", &l.account_https),
            ("AdminHTTP", &l.admin_http),
            ("AdminHTTPS", &l.admin_https),
            ("WebmailHTTP", &l.webmail_http),
            ("WebmailHTTPS", &l.webmail_https),
            ("WebAPIHTTP", &l.webapi_http),
            ("WebAPIHTTPS", &l.webapi_https),
        ] {
            if let Some(path) = &service.path
                && service.enabled
                && !path.starts_with('/')
            {
                c.static_err(
                    &lp.key(key).key("Path"),
                    format!("{key} with path {path:?} that must start with a slash"),
                );
            }
        }
    }
    s.specified_smtp_listen_ips = if unspecified_smtp { Vec::new() } else { specified };
}

/// Checks that a file named in mox.conf exists and holds a certificate or a private key in PEM.
fn check_pem_file(c: &mut Checker, path: &KeyPath, config_file: &Path, file: &str, cert: bool) {
    let p = config_dir_path(config_file, file);
    let what = if cert { "certificate" } else { "private key" };
    match crate::check::read_named_file(&p) {
        Err(e) => c.static_err(path, format!("reading {what} file {}: {e}", p.display())),
        Ok(text) => {
            let ok = match pem_label(&text) {
                Some(label) if cert => label == "CERTIFICATE",
                Some(label) => {
                    ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"].contains(&label)
                }
                None => false,
            };
            if !ok {
                c.static_err(path, format!("no PEM {what} in {}", p.display()));
            }
        }
    }
}

fn check_mailboxes(s: &Static, c: &mut Checker) {
    let root = KeyPath::root();
    let im = &s.initial_mailboxes;
    let special = [
        ("Sent", &im.special_use.sent),
        ("Archive", &im.special_use.archive),
        ("Trash", &im.special_use.trash),
        ("Draft", &im.special_use.draft),
        ("Junk", &im.special_use.junk),
    ];
    let initial_set = special.iter().any(|(_, v)| v.is_some()) || !im.regular.is_empty();
    if !s.default_mailboxes.is_empty() && initial_set {
        c.static_err(
            &root.key("DefaultMailboxes"),
            "cannot have both DefaultMailboxes and InitialMailboxes",
        );
    }
    for (i, mb) in s.default_mailboxes.iter().enumerate() {
        let path = root.key("DefaultMailboxes").index(i + 1);
        c.mailbox_nfc(Which::Static, &path, mb);
        if !parent_mailbox(mb).is_empty() {
            c.static_err(&path, "default mailbox cannot be a child mailbox");
        }
    }
    let ip = root.key("InitialMailboxes");
    for (key, name) in special {
        let Some(name) = name else { continue };
        let path = ip.key("SpecialUse").key(key);
        c.mailbox_nfc(Which::Static, &path, name);
        if name.eq_ignore_ascii_case("inbox") {
            c.static_err(&path, "initial mailbox cannot be set to Inbox (Inbox is always created)");
        }
        if !parent_mailbox(name).is_empty() {
            c.static_err(&path, "initial mailboxes cannot be child mailboxes");
        }
    }
    for (i, name) in im.regular.iter().enumerate() {
        let path = ip.key("Regular").index(i + 1);
        c.mailbox_nfc(Which::Static, &path, name);
        if name.eq_ignore_ascii_case("inbox") {
            c.static_err(
                &path,
                "initial regular mailbox cannot be set to Inbox (Inbox is always created)",
            );
        }
        if !parent_mailbox(name).is_empty() {
            c.static_err(&path, "initial mailboxes cannot be child mailboxes");
        }
        if let Err(e) = check_mailbox_name(name, false) {
            c.static_err(&path, format!("invalid mailbox name: {e}"));
        }
    }
}

fn check_transports(s: &mut Static, c: &mut Checker) {
    for (name, t) in s.transports.iter_mut() {
        let tp = KeyPath::root().key("Transports").key(name);
        let mut methods = 0;
        for (key, smtp, is_tls) in [
            ("Submissions", &mut t.submissions, true),
            ("Submission", &mut t.submission, false),
            ("SMTP", &mut t.smtp, false),
        ] {
            if let Some(smtp) = smtp {
                methods += 1;
                check_transport_smtp(c, &tp.key(key), smtp, is_tls);
            }
        }
        if let Some(socks) = &mut t.socks {
            methods += 1;
            let sp = tp.key("Socks");
            let has_port = socks
                .address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !has_port {
                c.static_err(
                    &sp.key("Address"),
                    format!("bad address {:?}: must be host:port", socks.address),
                );
            }
            socks.ip_addrs.clear();
            for (i, ip) in socks.remote_ips.iter().enumerate() {
                match ip.parse::<IpAddr>() {
                    Ok(addr) => socks.ip_addrs.push(addr),
                    Err(_) => {
                        c.static_err(&sp.key("RemoteIPs").index(i + 1), format!("bad ip {ip}"))
                    }
                }
            }
            match parse_domain(&socks.remote_hostname) {
                Ok(d) => socks.hostname_domain = d,
                Err(e) => c.static_err(&sp.key("RemoteHostname"), format!("bad hostname: {e}")),
            }
        }
        if let Some(direct) = &t.direct {
            methods += 1;
            if direct.disable_ipv4 && direct.disable_ipv6 {
                c.static_err(
                    &tp.key("Direct"),
                    "both IPv4 and IPv6 are disabled, enable at least one",
                );
            }
        }
        if let Some(fail) = &mut t.fail {
            methods += 1;
            let fp = tp.key("Fail");
            fail.code = match fail.smtp_code {
                None => 554,
                Some(code) if code / 100 == 4 || code / 100 == 5 => code,
                Some(code) => {
                    c.static_err(
                        &fp.key("SMTPCode"),
                        format!("smtp code {code} must be 4xx or 5xx"),
                    );
                    554
                }
            };
            let message = fail.smtp_message.clone().unwrap_or_default();
            if message.len() > 256 {
                c.static_err(&fp.key("SMTPMessage"), "message must be <= 256 characters");
            }
            if !is_printable_ascii(&message) {
                c.static_err(
                    &fp.key("SMTPMessage"),
                    "message cannot contain control characters including newlines, and must be ascii-only",
                );
            }
            fail.message = if message.is_empty() {
                "transport fail: explicit immediate delivery failure per configuration".to_string()
            } else {
                message
            };
        }
        if methods > 1 {
            c.static_err(&tp, "cannot have multiple methods in a transport");
        }
    }
}

fn check_transport_smtp(c: &mut Checker, path: &KeyPath, t: &mut TransportSmtp, is_tls: bool) {
    match parse_domain(&t.host) {
        Ok(d) => t.dns_host = d,
        Err(e) => c.static_err(&path.key("Host"), format!("bad host: {e}")),
    }
    if is_tls && t.starttls_insecure_skip_verify {
        c.static_err(
            &path.key("STARTTLSInsecureSkipVerify"),
            "cannot have STARTTLSInsecureSkipVerify with immediate TLS",
        );
    }
    if is_tls && t.no_starttls {
        c.static_err(&path.key("NoSTARTTLS"), "cannot have NoSTARTTLS with immediate TLS");
    }
    let Some(auth) = &mut t.auth else { return };
    let mut seen: Vec<&str> = Vec::new();
    for (i, m) in auth.mechanisms.iter().enumerate() {
        let mp = path.key("Auth").key("Mechanisms").index(i + 1);
        if seen.contains(&m.as_str()) {
            c.static_err(&mp, format!("duplicate authentication mechanism {m}"));
        }
        seen.push(m);
        if !TRANSPORT_MECHANISMS.contains(&m.as_str()) {
            c.static_err(&mp, format!("unknown authentication mechanism {m}"));
        }
    }
    auth.effective_mechanisms = if auth.mechanisms.is_empty() {
        TRANSPORT_MECHANISMS[..5].iter().map(|m| m.to_string()).collect()
    } else {
        auth.mechanisms.clone()
    };
}

/// Why `User` does not name a user of this system.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "user {user:?} is not in /etc/passwd and is not a number (hint: add the user with \"useradd -d $PWD {user}\" or set User in mox.conf)"
)]
pub struct UnknownUser {
    /// The name from mox.conf (or `mox`).
    pub user: String,
}

impl Static {
    /// The user and group id to run as after binding the sockets, from `User` (default
    /// `mox`): the user's ids from `/etc/passwd`, or, if no such user exists, `User` as a
    /// number for both (as mox does). [`load`](crate::load) does not check this, since it
    /// depends on the machine; `mox serve` and `mox config test` do.
    pub fn user_ids(&self) -> Result<(u32, u32), UnknownUser> {
        let user = self.user.as_deref().unwrap_or("mox");
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4
                && fields[0] == user
                && let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse())
            {
                return Ok((uid, gid));
            }
        }
        user.parse::<u32>().map(|id| (id, id)).map_err(|_| UnknownUser { user: user.to_string() })
    }
}
