//! The checks on domains.conf (mox's `prepareDynamicConfig`), filling in the parsed forms and
//! building the lookup index.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use crate::check::{
    Checker, Which, check_mailbox_name, is_printable_ascii, parse_address, parse_domain,
    parse_domain_unicode, parse_localpart,
};
use crate::lookup::{AccountDestination, Index, canonical_localpart};
use crate::sconf::KeyPath;
use crate::{
    AddressAlias, AliasAddress, Destination, Domain, Dynamic, Regex, Route, Static, config_dir_path,
};

/// The header fields mox signs when a selector lists none (RFC 6376 §5.4.1).
pub(crate) const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "References",
    "In-Reply-To",
    "Subject",
    "Date",
    "Message-Id",
    "Content-Type",
];

const OUTGOING_HOOK_EVENTS: &[&str] = &[
    "delivered",
    "suppressed",
    "delayed",
    "failed",
    "relayed",
    "expanded",
    "canceled",
    "unrecognized",
];

pub(crate) fn check_dynamic(
    d: &mut Dynamic,
    s: &Static,
    dynamic_file: &Path,
    c: &mut Checker,
) -> Index {
    let mut index = Index::default();
    let root = KeyPath::root();

    if !d.accounts.contains_key(&s.postmaster.account) {
        c.at(
            Which::Static,
            &root.key("Postmaster").key("Account"),
            crate::ErrorKind::Invalid {
                message: format!("postmaster account {:?} does not exist", s.postmaster.account),
            },
        );
    }
    c.mailbox_nfc(Which::Static, &root.key("Postmaster").key("Mailbox"), &s.postmaster.mailbox);

    if !s.host_tlsrpt.account.is_empty() {
        let hp = root.key("HostTLSRPT");
        if !d.accounts.contains_key(&s.host_tlsrpt.account) {
            c.static_err(
                &hp.key("Account"),
                format!("host tlsrpt account {:?} does not exist", s.host_tlsrpt.account),
            );
        }
        c.mailbox_nfc(Which::Static, &hp.key("Mailbox"), &s.host_tlsrpt.mailbox);
        if let Some(lp) = &s.host_tlsrpt.parsed_localpart {
            let dest = Destination {
                mailbox: Some(s.host_tlsrpt.mailbox.clone()),
                host_tls_reports: true,
                ..Destination::default()
            };
            index.destinations.insert(
                (lp.as_str().to_string(), s.hostname_domain.clone()),
                AccountDestination {
                    catchall: false,
                    localpart: lp.as_str().to_string(),
                    account: s.host_tlsrpt.account.clone(),
                    destination: dest,
                },
            );
        }
    }

    let have_sts_listener = s.listeners.values().any(|l| l.mtasts_https.enabled);
    let have_webserver_listener =
        s.listeners.values().any(|l| l.webserver_http.enabled || l.webserver_https.enabled);

    check_routes(c, s, &root.key("Routes"), &mut d.routes);

    // Domains.
    for (name, domain) in d.domains.iter_mut() {
        check_domain(c, s, dynamic_file, name, domain, have_sts_listener, &mut index);
    }

    // Accounts and their addresses.
    let mut domain_has_address: HashSet<dns::Domain> = HashSet::new();
    let account_names: Vec<String> = d.accounts.keys().cloned().collect();
    for name in &account_names {
        check_account(c, s, d, name, &mut index, &mut domain_has_address);
    }

    // Reporting addresses.
    let domain_names: Vec<String> = d.domains.keys().cloned().collect();
    for name in &domain_names {
        check_reporting(c, d, name, &mut index, &mut domain_has_address);
    }
    for domain in d.domains.values_mut() {
        domain.reports_only = !domain_has_address.contains(&domain.domain);
    }

    // Aliases.
    for name in &domain_names {
        check_aliases(c, d, name, &mut index);
    }

    check_web(c, d, have_webserver_listener);

    d.monitor_dnsbl_zones.clear();
    for (i, zone) in d.monitor_dnsbls.iter().enumerate() {
        let path = root.key("MonitorDNSBLs").index(i + 1);
        match parse_domain(zone) {
            Err(e) => c.dynamic_err(&path, format!("parsing dnsbl zone: {e}")),
            Ok(z) if d.monitor_dnsbl_zones.contains(&z) => {
                c.dynamic_err(&path, format!("duplicate dnsbl zone {zone}"))
            }
            Ok(z) => d.monitor_dnsbl_zones.push(z),
        }
    }

    d.client_settings_domains =
        d.domains.values().filter_map(|dom| dom.client_settings_dns_domain.clone()).collect();
    index
}

fn check_routes(c: &mut Checker, s: &Static, path: &KeyPath, routes: &mut [Route]) {
    for (i, route) in routes.iter_mut().enumerate() {
        let rp = path.index(i + 1);
        let mut parse_list = |key: &str, list: &[String]| -> Vec<String> {
            let mut out = Vec::new();
            for (j, entry) in list.iter().enumerate() {
                if entry == "." {
                    out.push(entry.clone());
                    continue;
                }
                let (prefix, name) = match entry.strip_prefix('.') {
                    Some(rest) => (".", rest),
                    None => ("", entry.as_str()),
                };
                match parse_domain(name) {
                    Ok(d) => out.push(format!("{prefix}{}", d.ascii())),
                    Err(e) => c.dynamic_err(&rp.key(key).index(j + 1), e),
                }
            }
            out
        };
        route.from_domain_ascii = parse_list("FromDomain", &route.from_domain);
        route.to_domain_ascii = parse_list("ToDomain", &route.to_domain);
        if !s.transports.contains_key(&route.transport) {
            c.dynamic_err(
                &rp.key("Transport"),
                format!("route references undefined transport {:?}", route.transport),
            );
        }
    }
}

fn check_domain(
    c: &mut Checker,
    s: &Static,
    dynamic_file: &Path,
    name: &str,
    domain: &mut Domain,
    have_sts_listener: bool,
    index: &mut Index,
) {
    let dp = KeyPath::root().key("Domains").key(name);
    match parse_domain_unicode(name) {
        Ok(d) => domain.domain = d,
        Err(e) => c.dynamic_err(&dp, format!("parsing domain: {e}")),
    }
    domain.client_settings_dns_domain = None;
    if let Some(csd) = &domain.client_settings_domain {
        match parse_domain(csd) {
            Ok(d) => domain.client_settings_dns_domain = Some(d),
            Err(e) => c.dynamic_err(
                &dp.key("ClientSettingsDomain"),
                format!("bad client settings domain: {e}"),
            ),
        }
    }

    if domain.localpart_catchall_separator.is_some()
        && !domain.localpart_catchall_separators.is_empty()
    {
        c.dynamic_err(
            &dp,
            "cannot have both LocalpartCatchallSeparator and LocalpartCatchallSeparators",
        );
    }
    let mut seps = domain.localpart_catchall_separators.clone();
    seps.extend(domain.localpart_catchall_separator.clone());
    for (i, sep) in seps.iter().enumerate() {
        if seps[..i].contains(sep) {
            c.dynamic_err(
                &dp.key("LocalpartCatchallSeparators"),
                format!("duplicate localpart catchall separator {sep:?}"),
            );
        }
    }
    domain.localpart_catchall_separators_effective = seps;

    // DKIM.
    let kp = dp.key("DKIM");
    for (i, sign) in domain.dkim.sign.iter().enumerate() {
        if !domain.dkim.selectors.contains_key(sign) {
            c.dynamic_err(
                &kp.key("Sign").index(i + 1),
                format!("unknown selector {sign} for signing"),
            );
        }
    }
    let mut keys: HashMap<String, dkim::PrivateKey> = HashMap::new();
    for (sel_name, sel) in domain.dkim.selectors.iter_mut() {
        let sp = kp.key("Selectors").key(sel_name);
        if let Err(e) = parse_domain_unicode(sel_name) {
            c.dynamic_err(&sp, format!("parsing selector: {e}"));
        }
        sel.expiration_duration = None;
        if let Some(exp) = &sel.expiration {
            match crate::sconf::duration::parse(exp) {
                Ok(d) => sel.expiration_duration = Some(Duration::from_secs(d.as_secs())),
                Err(_) => {
                    c.dynamic_err(&sp.key("Expiration"), format!("invalid expiration {exp:?}"))
                }
            }
        }
        sel.hash_effective = match sel.hash.as_deref() {
            None => "sha256".into(),
            Some(h @ ("sha1" | "sha256")) => h.into(),
            Some(h) => {
                c.dynamic_err(&sp.key("Hash"), format!("unsupported hash {h:?}"));
                "sha256".into()
            }
        };
        sel.headers_effective = if sel.headers.is_empty() {
            DEFAULT_SIGNED_HEADERS.iter().map(|h| h.to_string()).collect()
        } else {
            if !sel.headers.iter().any(|h| h.eq_ignore_ascii_case("From")) {
                c.dynamic_err(&sp.key("Headers"), "From-field must always be DKIM-signed");
            }
            sel.headers.clone()
        };

        let file = config_dir_path(dynamic_file, &sel.private_key_file);
        let fp = sp.key("PrivateKeyFile");
        let contents = match c.new_files.get(&file) {
            Some(text) => Ok(text.clone()),
            None => crate::check::read_named_file(&file),
        };
        let text = match contents {
            Ok(t) => t,
            Err(e) => {
                c.dynamic_err(&fp, format!("reading private key {}: {e}", file.display()));
                continue;
            }
        };
        match crate::check::pem_label(&text) {
            None => {
                c.dynamic_err(&fp, format!("private key {} has no PEM block", file.display()));
                continue;
            }
            Some("PRIVATE KEY") => {}
            Some(label) => {
                c.dynamic_err(
                    &fp,
                    format!(
                        "private key {} is a {label:?} PEM block, it must be PKCS#8 (\"PRIVATE KEY\")",
                        file.display()
                    ),
                );
                continue;
            }
        }
        let key = match dkim::PrivateKey::from_pem(&text) {
            Ok(k) => k,
            Err(e) => {
                c.dynamic_err(&fp, format!("parsing private key {}: {e}", file.display()));
                continue;
            }
        };
        match key.public_key() {
            dkim::PublicKey::Ed25519(_) => {
                if sel.hash_effective != "sha256" {
                    c.dynamic_err(
                        &sp.key("Hash"),
                        format!(
                            "hash algorithm {:?} is not supported with ed25519, only sha256 is",
                            sel.hash_effective
                        ),
                    );
                }
                sel.algorithm = "ed25519".into();
            }
            public => sel.algorithm = format!("rsa-{}", public.bits()),
        }
        keys.insert(sel_name.clone(), key);
    }
    // The signers, in the order of Sign.
    let mut signers = Vec::new();
    for sign in &domain.dkim.sign {
        let (Some(sel), Some(key)) = (domain.dkim.selectors.get(sign), keys.remove(sign)) else {
            continue;
        };
        let Ok(selector) = dkim::Selector::parse(sign) else { continue };
        let canon = |relaxed| if relaxed { dkim::Canon::Relaxed } else { dkim::Canon::Simple };
        let mut signer = dkim::Signer::new(domain.domain.clone(), selector, key)
            .headers(sel.headers_effective.clone())
            .oversign(!sel.dont_seal_headers)
            .canonicalization(dkim::Canonicalization {
                header: canon(sel.canonicalization.header_relaxed),
                body: canon(sel.canonicalization.body_relaxed),
            });
        if let Some(exp) = sel.expiration_duration {
            signer = signer.expiration(exp);
        }
        signers.push(signer);
    }
    if !signers.is_empty() {
        index.signers.insert(domain.domain.clone(), signers);
    }

    if let Some(sts) = &domain.mtasts {
        let mp = dp.key("MTASTS");
        if !have_sts_listener {
            c.dynamic_err(&mp, "MTA-STS enabled, but there is no listener for MTASTS");
        }
        if sts.policy_id.is_empty() {
            c.dynamic_err(&mp.key("PolicyID"), "invalid empty MTA-STS PolicyID");
        }
        if !["none", "testing", "enforce"].contains(&sts.mode.as_str()) {
            c.dynamic_err(&mp.key("Mode"), format!("invalid mtasts mode {:?}", sts.mode));
        }
    }

    check_routes(c, s, &dp.key("Routes"), &mut domain.routes);
}

fn check_regex(
    c: &mut Checker,
    path: &KeyPath,
    what: &str,
    pattern: &Option<String>,
) -> Option<Regex> {
    let pattern = pattern.as_ref()?;
    match Regex::new(pattern) {
        Ok(r) => Some(r),
        Err(e) => {
            c.dynamic_err(path, format!("invalid {what} regular expression: {e}"));
            None
        }
    }
}

fn check_account(
    c: &mut Checker,
    s: &Static,
    d: &mut Dynamic,
    name: &str,
    index: &mut Index,
    domain_has_address: &mut HashSet<dns::Domain>,
) {
    let ap = KeyPath::root().key("Accounts").key(name);
    let Some(mut acc) = d.accounts.remove(name) else { return };

    // An empty Domain is allowed, as in mox (localserve writes one).
    acc.dns_domain = None;
    if !acc.domain.is_empty() {
        match parse_domain(&acc.domain) {
            Ok(dom) => acc.dns_domain = Some(dom),
            Err(e) => c.dynamic_err(&ap.key("Domain"), format!("parsing domain: {e}")),
        }
    }
    if acc.rejects_mailbox.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("inbox")) {
        c.dynamic_err(
            &ap.key("RejectsMailbox"),
            "cannot set RejectsMailbox to inbox, messages will be removed automatically from the rejects mailbox",
        );
    }
    if let Some(introbox) = &acc.introbox {
        match check_mailbox_name(introbox, false) {
            Ok(normalized) => acc.introbox = Some(normalized),
            Err(e) => c.dynamic_err(&ap.key("Introbox"), format!("invalid Introbox mailbox: {e}")),
        }
        if acc.introbox == acc.rejects_mailbox {
            c.dynamic_err(
                &ap.key("Introbox"),
                "cannot set Introbox and RejectsMailbox to the same mailbox",
            );
        }
    }
    if let Some(rejects) = &acc.rejects_mailbox {
        c.mailbox_nfc(Which::Dynamic, &ap.key("RejectsMailbox"), rejects);
    }
    if let Some(msg) = &acc.login_disabled {
        if msg.len() > 256 {
            c.dynamic_err(
                &ap.key("LoginDisabled"),
                "message for disabled login must be <256 characters",
            );
        }
        if !is_printable_ascii(msg) {
            c.dynamic_err(
                &ap.key("LoginDisabled"),
                "message cannot contain control characters including newlines, and must be ascii-only",
            );
        }
    }
    let jp = ap.key("AutomaticJunkFlags");
    acc.junk_mailbox = check_regex(
        c,
        &jp.key("JunkMailboxRegexp"),
        "JunkMailboxRegexp",
        &acc.automatic_junk_flags.junk_mailbox_regexp,
    );
    acc.neutral_mailbox = check_regex(
        c,
        &jp.key("NeutralMailboxRegexp"),
        "NeutralMailboxRegexp",
        &acc.automatic_junk_flags.neutral_mailbox_regexp,
    );
    acc.not_junk_mailbox = check_regex(
        c,
        &jp.key("NotJunkMailboxRegexp"),
        "NotJunkMailboxRegexp",
        &acc.automatic_junk_flags.not_junk_mailbox_regexp,
    );
    if let Some(jf) = &acc.junk_filter {
        let pp = ap.key("JunkFilter").key("Params");
        let p = &jf.params;
        if !(0.0..=0.5).contains(&p.max_power) {
            c.dynamic_err(&pp.key("MaxPower"), "junk filter MaxPower must be >= 0 and < 0.5");
        }
        if p.top_words < 0 {
            c.dynamic_err(&pp.key("TopWords"), "junk filter TopWords must be >= 0");
        }
        if !(0.0..=0.5).contains(&p.ignore_words.unwrap_or(0.0)) {
            c.dynamic_err(&pp.key("IgnoreWords"), "junk filter IgnoreWords must be >= 0 and < 0.5");
        }
        if p.rare_words.unwrap_or(0) < 0 {
            c.dynamic_err(&pp.key("RareWords"), "junk filter RareWords must be >= 0");
        }
    }

    acc.parsed_from_id_login_addresses.clear();
    for (i, text) in acc.from_id_login_addresses.iter().enumerate() {
        let fp = ap.key("FromIDLoginAddresses").index(i + 1);
        match parse_address(text) {
            Err(e) => c.dynamic_err(&fp, format!("invalid fromid login address: {e}")),
            Ok(addr) => {
                match d.domains.get(addr.domain.unicode()) {
                    None => c.dynamic_err(&fp, format!("unknown domain in fromid login address {text:?}")),
                    Some(dom) if dom.localpart_catchall_separators_effective.is_empty() => c.dynamic_err(
                        &fp,
                        format!("localpart catchall separator not configured for domain for fromid login address {text:?}"),
                    ),
                    Some(_) => {}
                }
                acc.parsed_from_id_login_addresses.push(addr);
            }
        }
    }
    acc.aliases.clear();

    for (key, hook) in [
        ("OutgoingWebhook", acc.outgoing_webhook.as_ref().map(|h| &h.url)),
        ("IncomingWebhook", acc.incoming_webhook.as_ref().map(|h| &h.url)),
    ] {
        let Some(u) = hook else { continue };
        let ok = url::Url::parse(u).map_err(|e| e.to_string()).and_then(|parsed| {
            if matches!(parsed.scheme(), "http" | "https") {
                Ok(())
            } else {
                Err("scheme must be http or https".into())
            }
        });
        if let Err(e) = ok {
            c.dynamic_err(&ap.key(key).key("URL"), format!("parsing webhook url {u:?}: {e}"));
        }
    }
    if let Some(hook) = &acc.outgoing_webhook {
        for (i, e) in hook.events.iter().enumerate() {
            if !OUTGOING_HOOK_EVENTS.contains(&e.as_str()) {
                c.dynamic_err(
                    &ap.key("OutgoingWebhook").key("Events").index(i + 1),
                    format!("unknown outgoing hook event {e:?}"),
                );
            }
        }
    }

    // Destinations. Keys that are only a localpart (deprecated) become full addresses.
    let mut destinations = BTreeMap::new();
    for (addr_name, mut dest) in std::mem::take(&mut acc.destinations) {
        let dp = ap.key("Destinations").key(&addr_name);
        check_destination(c, &dp, &mut dest);

        if let Some(domain_name) = addr_name.strip_prefix('@') {
            let dom = match parse_domain(domain_name) {
                Ok(dom) => dom,
                Err(e) => {
                    c.dynamic_err(&dp, format!("parsing domain of catchall address: {e}"));
                    destinations.insert(addr_name, dest);
                    continue;
                }
            };
            if !d.domains.contains_key(dom.unicode()) {
                c.dynamic_err(&dp, "unknown domain for address");
                destinations.insert(addr_name, dest);
                continue;
            }
            domain_has_address.insert(dom.clone());
            if index.catchalls.contains_key(&dom) {
                c.dynamic_err(
                    &dp,
                    format!(
                        "duplicate canonicalized catchall destination address @{}",
                        dom.unicode()
                    ),
                );
            }
            index.catchalls.insert(
                dom,
                AccountDestination {
                    catchall: true,
                    localpart: String::new(),
                    account: name.to_string(),
                    destination: dest.clone(),
                },
            );
            destinations.insert(addr_name, dest);
            continue;
        }

        let mut key = addr_name.clone();
        let address = if let Ok(lp) = parse_localpart(&addr_name) {
            // Deprecated: only a localpart, at the account's domain.
            let Some(account_domain) =
                acc.dns_domain.clone().filter(|dom| d.domains.contains_key(dom.unicode()))
            else {
                c.dynamic_err(&dp, format!("unknown domain {:?} for address", acc.domain));
                destinations.insert(addr_name, dest);
                continue;
            };
            let address = message::Address::new(lp, account_domain);
            key = address.to_string();
            tracing::warn!(
                account = name,
                localpart = addr_name,
                address = key,
                "deprecated: destination is only a localpart; use the full email address as key in domains.conf"
            );
            address
        } else {
            match parse_address(&addr_name) {
                Err(_) => {
                    c.dynamic_err(&dp, "invalid email address");
                    destinations.insert(addr_name, dest);
                    continue;
                }
                Ok(address) if !d.domains.contains_key(address.domain.unicode()) => {
                    c.dynamic_err(&dp, "unknown domain for address");
                    destinations.insert(addr_name, dest);
                    continue;
                }
                Ok(address) => address,
            }
        };

        if let Some(dc) = d.domains.get(address.domain.unicode()) {
            domain_has_address.insert(address.domain.clone());
            let original = address.localpart.as_str().to_string();
            let mut lp = canonical_localpart(&original, dc);
            let mut has_sep = false;
            for sep in &dc.localpart_catchall_separators_effective {
                if original.contains(sep.as_str()) {
                    has_sep = true;
                    c.dynamic_err(&dp, format!("localpart of address {address} includes domain catchall separator {sep}"));
                }
            }
            if has_sep {
                lp = original.clone();
            }
            let k = (lp, address.domain.clone());
            if index.destinations.contains_key(&k) {
                c.dynamic_err(
                    &dp,
                    format!(
                        "duplicate canonicalized destination address {}",
                        crate::lookup::format_address(&k.0, &k.1)
                    ),
                );
            }
            index.destinations.insert(
                k,
                AccountDestination {
                    catchall: false,
                    localpart: original,
                    account: name.to_string(),
                    destination: dest.clone(),
                },
            );
        }
        destinations.insert(key, dest);
    }
    acc.destinations = destinations;

    // fromid login addresses must be addresses of the account.
    for (i, a) in acc.parsed_from_id_login_addresses.iter().enumerate() {
        if index.catchalls.contains_key(&a.domain) {
            continue;
        }
        let Some(dc) = d.domains.get(a.domain.unicode()) else { continue };
        let lp = canonical_localpart(a.localpart.as_str(), dc);
        let matches =
            index.destinations.get(&(lp, a.domain.clone())).is_some_and(|ad| ad.account == name);
        if !matches {
            c.dynamic_err(
                &ap.key("FromIDLoginAddresses").index(i + 1),
                format!(
                    "fromid login address {:?} does not match its destination addresses",
                    acc.from_id_login_addresses[i]
                ),
            );
        }
    }

    check_routes(c, s, &ap.key("Routes"), &mut acc.routes);
    d.accounts.insert(name.to_string(), acc);
}

fn check_destination(c: &mut Checker, dp: &KeyPath, dest: &mut Destination) {
    if let Some(mb) = &dest.mailbox {
        c.mailbox_nfc(Which::Dynamic, &dp.key("Mailbox"), mb);
    }
    dest.smtp_error_code = 0;
    if let Some(err) = &dest.smtp_error {
        let ep = dp.key("SMTPError");
        if err.len() > 256 {
            c.dynamic_err(&ep, "smtp error must be smaller than 256 bytes");
        }
        if !is_printable_ascii(err) {
            c.dynamic_err(&ep, "smtp error cannot contain contain control characters (including newlines) or non-ascii");
        }
        if dest.mailbox.is_some() {
            c.dynamic_err(&ep, "cannot have both SMTPError and Mailbox");
        }
        if !dest.rulesets.is_empty() {
            c.dynamic_err(&ep, "cannot have both SMTPError and Rulesets");
        }
        let (code, msg) = match err.split_once(' ') {
            Some((code, msg)) => (code, Some(msg.trim())),
            None => (err.as_str(), None),
        };
        match code {
            "421" => {
                dest.smtp_error_code = 451;
                dest.smtp_error_secode = "3.0".into();
                dest.smtp_error_msg = "error processing".into();
            }
            "550" => {
                dest.smtp_error_code = 550;
                dest.smtp_error_secode = "1.1".into();
                dest.smtp_error_msg = "no such user(s)".into();
            }
            _ => c.dynamic_err(
                &ep,
                format!("smtp error must be 421 or 550 (with optional message), not {err:?}"),
            ),
        }
        if let Some(msg) = msg {
            dest.smtp_error_msg = msg.to_string();
        }
    }
    if let Some(err) = &dest.message_auth_required_smtp_error {
        let ep = dp.key("MessageAuthRequiredSMTPError");
        if err.len() > 256 {
            c.dynamic_err(
                &ep,
                "message authentication required smtp error must be smaller than 256 bytes",
            );
        }
        if !is_printable_ascii(err) {
            c.dynamic_err(&ep, "message authentication required smtp error cannot contain contain control characters (including newlines) or non-ascii");
        }
    }

    for (i, rs) in dest.rulesets.iter_mut().enumerate() {
        let rp = dp.key("Rulesets").index(i + 1);
        c.mailbox_nfc(Which::Dynamic, &rp.key("Mailbox"), &rs.mailbox);
        let mut rules = 0;
        if rs.smtp_mail_from_regexp.is_some() {
            rules += 1;
        }
        rs.smtp_mail_from_regexp_compiled = check_regex(
            c,
            &rp.key("SMTPMailFromRegexp"),
            "SMTPMailFrom",
            &rs.smtp_mail_from_regexp,
        );
        if rs.msg_from_regexp.is_some() {
            rules += 1;
        }
        rs.msg_from_regexp_compiled =
            check_regex(c, &rp.key("MsgFromRegexp"), "MsgFrom", &rs.msg_from_regexp);
        rs.verified_dns_domain = None;
        if let Some(vd) = &rs.verified_domain {
            rules += 1;
            match parse_domain(vd) {
                Ok(dom) => rs.verified_dns_domain = Some(dom),
                Err(e) => {
                    c.dynamic_err(&rp.key("VerifiedDomain"), format!("invalid VerifiedDomain: {e}"))
                }
            }
        }
        rs.headers_regexp_compiled.clear();
        for (k, v) in &rs.headers_regexp {
            rules += 1;
            let hp = rp.key("HeadersRegexp").key(k);
            if k.to_lowercase() != *k {
                c.dynamic_err(
                    &hp,
                    format!("header field {k:?} must only have lower case characters"),
                );
            }
            if v.to_lowercase() != *v {
                c.dynamic_err(
                    &hp,
                    format!("header value {v:?} must only have lower case characters"),
                );
            }
            let rk = Regex::new(k)
                .map_err(|e| c.dynamic_err(&hp, format!("invalid rule header regexp {k:?}: {e}")));
            let rv = Regex::new(v)
                .map_err(|e| c.dynamic_err(&hp, format!("invalid rule header regexp {v:?}: {e}")));
            if let (Ok(rk), Ok(rv)) = (rk, rv) {
                rs.headers_regexp_compiled.push((rk, rv));
            }
        }
        if rules == 0 {
            c.dynamic_err(&rp, "ruleset must have at least one rule");
        }
        if rs.is_forward && rs.list_allow_domain.is_some() {
            c.dynamic_err(&rp, "ruleset cannot have both IsForward and ListAllowDomain");
        }
        if rs.is_forward && (rs.smtp_mail_from_regexp.is_none() || rs.verified_domain.is_none()) {
            c.dynamic_err(
                &rp,
                "ruleset with IsForward must have both SMTPMailFromRegexp and VerifiedDomain too",
            );
        }
        rs.list_allow_dns_domain = None;
        if let Some(lad) = &rs.list_allow_domain {
            match parse_domain(lad) {
                Ok(dom) => rs.list_allow_dns_domain = Some(dom),
                Err(e) => c.dynamic_err(
                    &rp.key("ListAllowDomain"),
                    format!("invalid ListAllowDomain: {e}"),
                ),
            }
        }
        if let Some(mb) = &rs.accept_rejects_to_mailbox {
            c.mailbox_nfc(Which::Dynamic, &rp.key("AcceptRejectsToMailbox"), mb);
            if mb.eq_ignore_ascii_case("inbox") {
                c.dynamic_err(
                    &rp.key("AcceptRejectsToMailbox"),
                    "AcceptRejectsToMailbox cannot be set to Inbox",
                );
            }
        }
    }
}

/// The DMARC and TLS reporting addresses of a domain become destinations.
fn check_reporting(
    c: &mut Checker,
    d: &mut Dynamic,
    name: &str,
    index: &mut Index,
    domain_has_address: &mut HashSet<dns::Domain>,
) {
    let dp = KeyPath::root().key("Domains").key(name);
    let Some(domain) = d.domains.get(name).cloned() else { return };
    for kind in ["DMARC", "TLSRPT"] {
        let (localpart, alt_domain, account, mailbox) = match kind {
            "DMARC" => match &domain.dmarc {
                Some(r) => (&r.localpart, &r.domain, &r.account, &r.mailbox),
                None => continue,
            },
            _ => match &domain.tlsrpt {
                Some(r) => (&r.localpart, &r.domain, &r.account, &r.mailbox),
                None => continue,
            },
        };
        let rp = dp.key(kind);
        if !d.accounts.contains_key(account) {
            c.dynamic_err(&rp.key("Account"), format!("{kind} account {account:?} does not exist"));
        }
        // For compatibility, reporting localparts may contain a catchall separator.
        let mut lp = match parse_localpart(localpart) {
            Ok(lp) => {
                if !lp.is_ascii() {
                    c.dynamic_err(
                        &rp.key("Localpart"),
                        format!("{kind} localpart {:?} is an internationalized address, only conventional ascii-only address allowed for interopability", lp.as_str()),
                    );
                }
                lp.as_str().to_string()
            }
            Err(e) => {
                c.dynamic_err(&rp.key("Localpart"), format!("invalid {kind} localpart: {e}"));
                localpart.clone()
            }
        };
        let mut addr_domain = domain.domain.clone();
        match alt_domain {
            Some(alt) => match parse_domain(alt) {
                Err(e) => c.dynamic_err(&rp.key("Domain"), format!("{kind} domain: {e}")),
                Ok(ad) => {
                    match d.domains.get(ad.unicode()) {
                        None => c.dynamic_err(
                            &rp.key("Domain"),
                            format!("unknown domain {alt:?} for {kind} address"),
                        ),
                        Some(other) if !other.localpart_case_sensitive => lp = lp.to_lowercase(),
                        Some(_) => {}
                    }
                    addr_domain = ad;
                }
            },
            None if !domain.localpart_case_sensitive => lp = lp.to_lowercase(),
            None => {}
        }
        if addr_domain == domain.domain {
            domain_has_address.insert(addr_domain.clone());
        }
        c.mailbox_nfc(Which::Dynamic, &rp.key("Mailbox"), mailbox);
        let dest = Destination {
            mailbox: Some(mailbox.clone()),
            dmarc_reports: kind == "DMARC",
            domain_tls_reports: kind == "TLSRPT",
            ..Destination::default()
        };
        index.destinations.insert(
            (lp.clone(), addr_domain.clone()),
            AccountDestination {
                catchall: false,
                localpart: lp.clone(),
                account: account.clone(),
                destination: dest,
            },
        );
        if let Some(dom) = d.domains.get_mut(name) {
            if kind == "DMARC" {
                if let Some(r) = &mut dom.dmarc {
                    r.parsed_localpart = lp;
                    r.dns_domain = addr_domain;
                }
            } else if let Some(r) = &mut dom.tlsrpt {
                r.parsed_localpart = lp;
                r.dns_domain = addr_domain;
            }
        }
    }
}

fn check_aliases(c: &mut Checker, d: &mut Dynamic, name: &str, index: &mut Index) {
    let Some(domain) = d.domains.get(name).cloned() else { return };
    for (lp_str, alias) in &domain.aliases {
        let ap = KeyPath::root().key("Domains").key(name).key("Aliases").key(lp_str);
        let lp = match parse_localpart(lp_str) {
            Ok(lp) => lp,
            Err(e) => {
                c.dynamic_err(&ap, format!("parsing alias: {e}"));
                continue;
            }
        };
        if domain
            .localpart_catchall_separators_effective
            .iter()
            .any(|sep| lp.as_str().contains(sep.as_str()))
        {
            c.dynamic_err(&ap, "alias contains localpart catchall separator");
            continue;
        }
        let clp = canonical_localpart(lp.as_str(), &domain);
        let key = (clp, domain.domain.clone());
        let shown = crate::lookup::format_address(&key.0, &key.1);
        if index.aliases.contains_key(&key) {
            c.dynamic_err(&ap, format!("duplicate alias address {shown:?}"));
            continue;
        }
        if index.destinations.contains_key(&key) {
            c.dynamic_err(&ap, format!("alias {shown:?} already present as regular address"));
            continue;
        }
        if alias.addresses.is_empty() {
            c.dynamic_err(&ap, format!("alias {shown:?} needs at least one destination address"));
            continue;
        }
        let mut parsed = Vec::new();
        let mut seen = HashSet::new();
        for (i, member) in alias.addresses.iter().enumerate() {
            let mp = ap.key("Addresses").index(i + 1);
            let addr = match parse_address(member) {
                Ok(a) => a,
                Err(e) => {
                    c.dynamic_err(&mp, format!("parsing destination address: {e}"));
                    continue;
                }
            };
            let member_key = (addr.localpart.as_str().to_string(), addr.domain.clone());
            let Some(ad) = index.destinations.get(&member_key) else {
                c.dynamic_err(&mp, format!("references non-existent address {member:?}"));
                continue;
            };
            if !seen.insert(member_key) {
                c.dynamic_err(&mp, format!("duplicate address {member:?}"));
                continue;
            }
            parsed.push(AliasAddress {
                address: addr,
                account_name: ad.account.clone(),
                destination: ad.destination.clone(),
            });
        }
        let mut full = alias.clone();
        full.localpart_str = lp_str.clone();
        full.domain = domain.domain.clone();
        full.parsed_addresses = parsed;

        let members: Vec<String> =
            full.parsed_addresses.iter().map(|aa| aa.address.to_string()).collect();
        for aa in &full.parsed_addresses {
            let Some(acc) = d.accounts.get_mut(&aa.account_name) else { continue };
            let mut without_members = full.clone();
            without_members.addresses.clear();
            without_members.parsed_addresses.clear();
            acc.aliases.push(AddressAlias {
                subscription_address: aa.address.to_string(),
                alias: without_members,
                member_addresses: if full.list_members { members.clone() } else { Vec::new() },
            });
        }
        if let Some(dom) = d.domains.get_mut(name)
            && let Some(a) = dom.aliases.get_mut(lp_str)
        {
            *a = full.clone();
        }
        index.aliases.insert(key, full);
    }
}

fn check_web(c: &mut Checker, d: &mut Dynamic, have_webserver_listener: bool) {
    let root = KeyPath::root();
    if (!d.web_domain_redirects.is_empty() || !d.web_handlers.is_empty())
        && !have_webserver_listener
    {
        let key = if d.web_handlers.is_empty() { "WebDomainRedirects" } else { "WebHandlers" };
        c.dynamic_err(
            &root.key(key),
            "WebDomainRedirects or WebHandlers configured but no listener with WebserverHTTP or WebserverHTTPS enabled",
        );
    }
    d.web_dns_domain_redirects.clear();
    for (from, to) in &d.web_domain_redirects {
        let rp = root.key("WebDomainRedirects").key(from);
        let from_dom = parse_domain(from)
            .map_err(|e| c.dynamic_err(&rp, format!("parsing domain for redirect: {e}")));
        let to_dom = parse_domain(to)
            .map_err(|e| c.dynamic_err(&rp, format!("parsing domain for redirect: {e}")));
        if let (Ok(f), Ok(t)) = (from_dom, to_dom) {
            if f == t {
                c.dynamic_err(&rp, format!("will not redirect domain {t} to itself"));
            }
            if d.web_dns_domain_redirects.contains_key(&f) {
                c.dynamic_err(&rp, format!("duplicate redirect domain {from}"));
            }
            d.web_dns_domain_redirects.insert(f, t);
        }
    }

    for (i, wh) in d.web_handlers.iter_mut().enumerate() {
        let hp = root.key("WebHandlers").index(i + 1);
        wh.name = wh.log_name.clone().unwrap_or_else(|| i.to_string());
        match parse_domain(&wh.domain) {
            Ok(dom) => wh.dns_domain = dom,
            Err(e) => c.dynamic_err(&hp.key("Domain"), format!("parsing domain: {e}")),
        }
        if !wh.path_regexp.starts_with('^') {
            c.dynamic_err(&hp.key("PathRegexp"), "path regexp must start with a ^");
        }
        wh.path =
            check_regex(c, &hp.key("PathRegexp"), "PathRegexp", &Some(wh.path_regexp.clone()));

        let mut handlers = 0;
        if let Some(ws) = &wh.web_static {
            handlers += 1;
            let sp = hp.key("WebStatic");
            if let Some(prefix) = &ws.strip_prefix
                && !prefix.starts_with('/')
            {
                c.dynamic_err(
                    &sp.key("StripPrefix"),
                    format!("static: prefix to strip {prefix} must start with a slash"),
                );
            }
            for k in ws.response_headers.keys() {
                if k.trim() != k || k.is_empty() {
                    c.dynamic_err(
                        &sp.key("ResponseHeaders").key(k),
                        format!("static: bad header {k:?}"),
                    );
                }
            }
        }
        if let Some(wr) = &mut wh.web_redirect {
            handlers += 1;
            let rp = hp.key("WebRedirect");
            if let Some(base) = &wr.base_url {
                // A URL without scheme ("//host/") is allowed, as Go's url.Parse allows it.
                let parsed =
                    url::Url::parse(base).or_else(|_| url::Url::parse(&format!("https:{base}")));
                match parsed {
                    Err(e) => c.dynamic_err(
                        &rp.key("BaseURL"),
                        format!("redirect: parsing redirect url {base}: {e}"),
                    ),
                    Ok(u) if !matches!(u.path(), "" | "/") => c.dynamic_err(
                        &rp.key("BaseURL"),
                        format!("redirect: BaseURL must have empty path: {base}"),
                    ),
                    Ok(_) => {}
                }
            }
            wr.orig_path = None;
            match (&wr.orig_path_regexp, &wr.replace_path) {
                (Some(_), Some(_)) => {
                    wr.orig_path = check_regex(
                        c,
                        &rp.key("OrigPathRegexp"),
                        "OrigPathRegexp",
                        &wr.orig_path_regexp,
                    );
                }
                (Some(_), None) | (None, Some(_)) => c.dynamic_err(
                    &rp,
                    "redirect: must have either both OrigPathRegexp and ReplacePath, or neither",
                ),
                (None, None) if wr.base_url.is_none() => c.dynamic_err(
                    &rp,
                    "must at least one of BaseURL and OrigPathRegexp+ReplacePath",
                ),
                (None, None) => {}
            }
            if let Some(code) = wr.status_code
                && !(300..400).contains(&code)
            {
                c.dynamic_err(
                    &rp.key("StatusCode"),
                    format!("redirect: invalid redirect status code {code}"),
                );
            }
        }
        if let Some(wf) = &wh.web_forward {
            handlers += 1;
            let fp = hp.key("WebForward");
            if let Err(e) = url::Url::parse(&wf.url) {
                c.dynamic_err(&fp.key("URL"), format!("forward: parsing url {}: {e}", wf.url));
            }
            for k in wf.response_headers.keys() {
                if k.trim() != k || k.is_empty() {
                    c.dynamic_err(
                        &fp.key("ResponseHeaders").key(k),
                        format!("forward: bad header {k:?}"),
                    );
                }
            }
        }
        if let Some(wi) = &wh.web_internal {
            handlers += 1;
            let ip = hp.key("WebInternal");
            if !wi.base_path.starts_with('/') || !wi.base_path.ends_with('/') {
                c.dynamic_err(
                    &ip.key("BasePath"),
                    format!(
                        "internal service: base path {:?} must start and end with /",
                        wi.base_path
                    ),
                );
            }
            if !["admin", "account", "webmail", "webapi"].contains(&wi.service.as_str()) {
                c.dynamic_err(
                    &ip.key("Service"),
                    format!("internal service: unknown service {:?}", wi.service),
                );
            }
        }
        if handlers != 1 {
            c.dynamic_err(&hp, format!("must have exactly one handler, not {handlers}"));
        }
    }
}
