//! The hand-written fixture `testdata/config/full/`: a realistic mox.conf/domains.conf pair
//! using most settings (that the real mox accepts), checked field by field.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{LookupError, LookupOptions, Recipient, TlsVersion};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config/full/mox.conf")
}

fn load() -> config::Config {
    match config::load(&fixture()) {
        Ok(c) => c,
        Err(e) => panic!("loading fixture:\n{e}"),
    }
}

fn domain(name: &str) -> dns::Domain {
    dns::Domain::parse(name).unwrap()
}

#[test]
fn static_fields() {
    let c = load();
    let s = &c.static_;
    assert_eq!(s.data_dir, "../data");
    assert_eq!(c.data_dir, fixture().parent().unwrap().join("../data"));
    assert_eq!(s.log_level, "debug");
    assert_eq!(s.package_log_levels.get("smtpserver").map(String::as_str), Some("trace"));
    assert_eq!(s.package_log_levels.len(), 2);
    assert_eq!(s.user.as_deref(), Some("1000"));
    assert!(!s.no_fix_permissions);
    assert_eq!(c.hostname(), &domain("mail.example.com"));
    assert!(s.check_updates);
    assert!(!s.pedantic);
    let ca = s.tls.ca.as_ref().unwrap();
    assert!(ca.additional_to_system);
    assert_eq!(ca.cert_files, ["tls/ca.pem"]);
    let acme = &s.acme["letsencrypt"];
    assert_eq!(acme.directory_url, "https://acme-v02.api.letsencrypt.org/directory");
    assert_eq!(acme.renew_before, Some(Duration::from_secs(720 * 3600)));
    assert_eq!(acme.contact_email, "admin@example.com");
    assert_eq!(acme.port, None);
    assert_eq!(acme.issuer_domain_name.as_deref(), Some("letsencrypt.org"));
    let eab = acme.external_account_binding.as_ref().unwrap();
    assert_eq!((eab.key_id.as_str(), eab.key_file.as_str()), ("kid-123", "acme-eab.key"));
    assert_eq!(s.admin_password_file.as_deref(), Some("adminpasswd"));

    assert_eq!(s.listeners.keys().collect::<Vec<_>>(), ["internal", "local", "public"]);
    let public = &s.listeners["public"];
    assert_eq!(
        public.ip_addrs,
        ["192.0.2.10".parse::<IpAddr>().unwrap(), "2001:db8::10".parse().unwrap()]
    );
    assert_eq!(public.nat_ip_addrs, ["198.51.100.10".parse::<IpAddr>().unwrap()]);
    assert_eq!(public.hostname_domain, Some(domain("mail.example.com")));
    let tls = public.tls.as_ref().unwrap();
    assert_eq!(tls.acme.as_deref(), Some("letsencrypt"));
    assert_eq!(tls.min_version_effective, TlsVersion::Tls12);
    assert_eq!(tls.host_private_key_files, ["tls/host-ecdsa.pem"]);
    assert_eq!(public.smtp_max_message_size, Some(52428800));
    assert!(public.smtp.enabled);
    assert_eq!(public.smtp.port, None);
    assert_eq!(public.smtp.dnsbl_zones, [domain("sbl.spamhaus.org"), domain("bl.spamcop.net")]);
    assert_eq!(public.smtp.first_time_sender_delay, Some(Duration::ZERO));
    assert_eq!(public.smtp.tls_session_tickets_disabled, Some(true));
    assert!(public.submissions.enabled && public.imaps.enabled);
    assert!(!public.submission.enabled && !public.imap.enabled);
    assert!(public.autoconfig_https.enabled && public.mtasts_https.enabled);
    assert!(public.webserver_http.enabled && public.webserver_https.enabled);

    let internal = &s.listeners["internal"];
    let tls = internal.tls.as_ref().unwrap();
    assert_eq!(tls.key_certs.len(), 1);
    assert_eq!(tls.key_certs[0].cert_file, "tls/localhost.pem");
    assert_eq!(tls.key_certs[0].key_file, "tls/localhost-key.pem");
    assert_eq!(tls.min_version_effective, TlsVersion::Tls13);
    assert_eq!(internal.submission.port, Some(1587));
    assert_eq!(internal.imap.port, Some(1143));
    assert!(internal.imap.no_require_starttls);
    assert_eq!(internal.account_http.path.as_deref(), Some("/"));
    assert!(
        internal.admin_http.enabled
            && internal.webapi_http.enabled
            && internal.metrics_http.enabled
    );
    assert!(internal.webmail_http.forwarded);
    let local = &s.listeners["local"];
    assert!(local.tls.is_none());
    assert_eq!(local.smtp.port, Some(2525));
    assert!(local.smtp.no_starttls);
    // Three addresses on SMTP listeners: no single IPv4/IPv6 pair to send from.
    assert!(s.specified_smtp_listen_ips.is_empty());

    assert_eq!(
        (s.postmaster.account.as_str(), s.postmaster.mailbox.as_str()),
        ("admin", "Postmaster")
    );
    assert_eq!(s.host_tlsrpt.localpart, "tlsreports");
    assert_eq!(s.host_tlsrpt.parsed_localpart.as_ref().map(|l| l.as_str()), Some("tlsreports"));
    let su = &s.initial_mailboxes.special_use;
    assert_eq!(
        [&su.sent, &su.archive, &su.trash, &su.draft, &su.junk].map(|m| m.as_deref()),
        [Some("Sent"), Some("Archive"), Some("Trash"), Some("Drafts"), Some("Junk")]
    );
    assert_eq!(s.initial_mailboxes.regular, ["Receipts"]);

    let t = &s.transports;
    let socks = t["proxy"].socks.as_ref().unwrap();
    assert_eq!(socks.address, "127.0.0.1:1080");
    assert_eq!(socks.ip_addrs, ["192.0.2.99".parse::<IpAddr>().unwrap()]);
    assert_eq!(socks.hostname_domain, domain("out.example.com"));
    let fail = t["reject"].fail.as_ref().unwrap();
    assert_eq!((fail.code, fail.message.as_str()), (550, "delivery disabled"));
    let relay = t["relay"].smtp.as_ref().unwrap();
    assert_eq!(
        (relay.dns_host.ascii(), relay.port, relay.no_starttls),
        ("relay.example.net", Some(2525), true)
    );
    let smarthost = t["smarthost"].submissions.as_ref().unwrap();
    let auth = smarthost.auth.as_ref().unwrap();
    assert_eq!((auth.username.as_str(), auth.password.as_str()), ("user", "secret"));
    assert_eq!(auth.effective_mechanisms, ["SCRAM-SHA-256"]);
    assert!(t["v4only"].direct.as_ref().unwrap().disable_ipv6);
    assert!(s.no_outgoing_dmarc_reports && !s.no_outgoing_tls_reports);
    assert!(s.outgoing_tls_reports_for_all_success);
    assert_eq!(s.quota_message_size, Some(1 << 30));
}

#[test]
fn dynamic_fields() {
    let c = load();
    let d = &c.dynamic;
    assert_eq!(
        d.domains.keys().collect::<Vec<_>>(),
        ["bücher.example", "example.com", "example.net", "reports.example"]
    );
    let buecher = &d.domains["bücher.example"];
    assert_eq!(buecher.domain.ascii(), "xn--bcher-kva.example");
    assert_eq!(buecher.localpart_catchall_separators_effective, ["+", "-"]);
    assert!(buecher.localpart_case_sensitive);

    let ex = &d.domains["example.com"];
    assert_eq!(ex.description.as_deref(), Some("Main domain"));
    assert_eq!(ex.client_settings_dns_domain, Some(domain("mail.example.com")));
    assert_eq!(ex.localpart_catchall_separators_effective, ["+"]);
    let a = &ex.dkim.selectors["2024a"];
    assert_eq!(a.hash.as_deref(), Some("sha256"));
    assert!(a.canonicalization.header_relaxed && a.canonicalization.body_relaxed);
    assert_eq!(a.headers, ["From", "To", "Subject", "Date"]);
    assert_eq!(a.expiration.as_deref(), Some("72h"));
    assert_eq!(a.expiration_duration, Some(Duration::from_secs(72 * 3600)));
    assert_eq!(a.algorithm, "ed25519");
    let b = &ex.dkim.selectors["2024b"];
    assert!(b.dont_seal_headers && !b.canonicalization.body_relaxed);
    assert_eq!(b.hash_effective, "sha256");
    assert_eq!(b.algorithm, "rsa-2048");
    assert_eq!(b.headers_effective.first().map(String::as_str), Some("From"));
    assert_eq!(ex.dkim.sign, ["2024a", "2024b"]);
    let dmarc = ex.dmarc.as_ref().unwrap();
    assert_eq!(
        (dmarc.localpart.as_str(), dmarc.account.as_str(), dmarc.mailbox.as_str()),
        ("dmarc-reports", "admin", "DMARC")
    );
    let sts = ex.mtasts.as_ref().unwrap();
    assert_eq!((sts.policy_id.as_str(), sts.mode.as_str()), ("20240101T000000", "enforce"));
    assert_eq!(sts.max_age, Duration::from_secs(168 * 3600));
    assert_eq!(sts.mx, ["mail.example.com"]);
    assert_eq!(ex.tlsrpt.as_ref().unwrap().parsed_localpart, "tls-reports");
    assert_eq!(ex.routes[0].to_domain_ascii, [".gmail.com"]);
    assert_eq!(
        (ex.routes[0].minimum_attempts, ex.routes[0].transport.as_str()),
        (Some(3), "smarthost")
    );
    let team = &ex.aliases["team"];
    assert!(team.post_public && team.list_members && team.allow_msg_from);
    assert_eq!(
        team.parsed_addresses.iter().map(|a| a.account_name.as_str()).collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    assert!(d.domains["example.net"].disabled);
    let reports = &d.domains["reports.example"];
    assert!(reports.reports_only);
    assert_eq!(reports.dmarc.as_ref().unwrap().dns_domain, domain("example.com"));
    assert!(!ex.reports_only);

    let admin = &d.accounts["admin"];
    assert_eq!(admin.description.as_deref(), Some("Administrator"));
    assert_eq!(admin.destinations["postmaster@example.com"].mailbox.as_deref(), Some("Postmaster"));
    let alice = &d.accounts["alice"];
    let hook = alice.outgoing_webhook.as_ref().unwrap();
    assert_eq!(
        (hook.url.as_str(), hook.authorization.as_deref()),
        ("https://hooks.example.com/out", Some("Bearer x"))
    );
    assert_eq!(hook.events, ["delivered", "failed"]);
    assert_eq!(alice.incoming_webhook.as_ref().unwrap().url, "https://hooks.example.com/in");
    assert_eq!(alice.parsed_from_id_login_addresses[0].to_string(), "alice@example.com");
    assert_eq!(alice.keep_retired_message_period, Some(Duration::from_secs(168 * 3600)));
    assert_eq!(alice.keep_retired_webhook_period, Some(Duration::from_secs(24 * 3600)));
    assert_eq!(alice.dns_domain, Some(domain("example.com")));
    let dest = &alice.destinations["alice@example.com"];
    assert_eq!(dest.full_name.as_deref(), Some("Alice A."));
    let r0 = &dest.rulesets[0];
    assert_eq!(r0.smtp_mail_from_regexp.as_deref(), Some(r"^list@lists\.example\.org$"));
    assert!(r0.smtp_mail_from_regexp_compiled.as_ref().unwrap().is_match("list@lists.example.org"));
    assert_eq!(r0.verified_dns_domain, Some(domain("lists.example.org")));
    assert_eq!(r0.headers_regexp["^list-id$"], r"<list\.lists\.example\.org>");
    assert!(r0.headers_regexp_compiled[0].1.is_match("<list.lists.example.org>"));
    assert_eq!(r0.list_allow_dns_domain, Some(domain("lists.example.org")));
    assert_eq!((r0.mailbox.as_str(), r0.comment.as_deref()), ("Lists", Some("mailing list")));
    let r1 = &dest.rulesets[1];
    assert!(r1.msg_from_regexp_compiled.as_ref().unwrap().is_match("x@bank.example"));
    assert_eq!(r1.accept_rejects_to_mailbox.as_deref(), Some("Junk"));
    assert_eq!(alice.destinations["@bücher.example"].mailbox.as_deref(), Some("Bücher"));
    assert_eq!(alice.subject_pass.period, Duration::from_secs(12 * 3600));
    assert_eq!(alice.quota_message_size, Some(2 << 30));
    assert!(alice.keep_rejects);
    assert_eq!(alice.introbox.as_deref(), Some("Introbox"));
    assert!(alice.automatic_junk_flags.enabled);
    assert!(alice.junk_mailbox.as_ref().unwrap().is_match("spam"));
    assert!(alice.not_junk_mailbox.as_ref().unwrap().is_match("anything"));
    let jf = alice.junk_filter.as_ref().unwrap();
    assert_eq!(jf.threshold, 0.95);
    assert!(jf.params.onegrams && jf.params.twograms && !jf.params.threegrams);
    assert_eq!((jf.params.max_power, jf.params.top_words), (0.01, 10));
    assert_eq!((jf.params.ignore_words, jf.params.rare_words), (Some(0.1), Some(2)));
    assert_eq!(alice.max_outgoing_messages_per_day, Some(500));
    assert_eq!(alice.max_first_time_recipients_per_day, Some(100));
    assert!(alice.no_first_time_sender_delay && alice.no_custom_password);
    assert_eq!(alice.imap_capabilities_disabled, ["NOTIFY"]);
    assert_eq!(alice.routes[0].from_domain_ascii, ["example.com"]);
    assert_eq!(alice.aliases.len(), 1);
    assert_eq!(alice.aliases[0].member_addresses, ["alice@example.com", "bob@example.com"]);
    let bob = &d.accounts["bob"];
    assert_eq!(bob.login_disabled.as_deref(), Some("account suspended"));
    let noreply = &bob.destinations["noreply@example.com"];
    assert_eq!(
        (
            noreply.smtp_error_code,
            noreply.smtp_error_secode.as_str(),
            noreply.smtp_error_msg.as_str()
        ),
        (550, "1.1", "no such user here")
    );
    assert_eq!(
        bob.destinations["autoreply@example.com"].message_auth_required_smtp_error.as_deref(),
        Some("message must be authenticated")
    );

    assert_eq!(d.web_dns_domain_redirects[&domain("www.example.net")], domain("www.example.com"));
    let wh = &d.web_handlers;
    assert_eq!(wh.len(), 4);
    assert_eq!((wh[0].name.as_str(), wh[1].name.as_str()), ("static", "1"));
    let ws = wh[0].web_static.as_ref().unwrap();
    assert_eq!(
        (ws.strip_prefix.as_deref(), ws.root.as_str()),
        (Some("/static"), "/var/www/static")
    );
    assert!(
        ws.list_files && ws.continue_not_found && wh[0].dont_redirect_plain_http && wh[0].compress
    );
    assert_eq!(ws.response_headers["Cache-Control"], "max-age=3600");
    let wr = wh[1].web_redirect.as_ref().unwrap();
    assert_eq!(wr.base_url.as_deref(), Some("https://new.example.com"));
    assert_eq!((wr.replace_path.as_deref(), wr.status_code), (Some("/new/$1"), Some(307)));
    assert!(wr.orig_path.as_ref().unwrap().is_match("/old/x"));
    let wf = wh[2].web_forward.as_ref().unwrap();
    assert!(wf.strip_path);
    assert_eq!(wf.url, "http://127.0.0.1:8080/");
    let wi = wh[3].web_internal.as_ref().unwrap();
    assert_eq!((wi.base_path.as_str(), wi.service.as_str()), ("/webmail2/", "webmail"));
    assert_eq!(d.routes[0].to_domain_ascii, ["."]);
    assert_eq!(d.monitor_dnsbl_zones, [domain("dnsbl.example.org")]);
}

#[test]
fn write_then_read_gives_the_same() {
    let dir = fixture().parent().unwrap().to_path_buf();
    for (file, is_static) in [("mox.conf", true), ("domains.conf", false)] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        if is_static {
            let parsed = config::parse_static(file, &text).unwrap();
            let written = config::static_to_string(&parsed).unwrap();
            assert_eq!(config::parse_static(file, &written).unwrap(), parsed);
        } else {
            let parsed = config::parse_dynamic(file, &text).unwrap();
            let written = config::dynamic_to_string(&parsed).unwrap();
            assert_eq!(config::parse_dynamic(file, &written).unwrap(), parsed);
            // The hand-written file is in mox's order already (except comments).
            let without_comments: String =
                text.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
            assert_eq!(written, without_comments);
        }
    }
}

#[test]
fn lookups() {
    let c = load();
    let lp = |s: &str| message::Localpart::parse(s).unwrap();
    let look =
        |l: &str, d: &str| c.lookup_address(&lp(l), Some(&domain(d)), LookupOptions::DELIVERY);
    let account = |r: Result<Recipient<'_>, LookupError>| match r {
        Ok(Recipient::Account { account, canonical, destination }) => {
            (account.to_string(), canonical.to_string(), destination.mailbox.clone())
        }
        other => panic!("not an account: {other:?}"),
    };
    assert_eq!(
        account(look("Alice+news", "example.com")),
        ("alice".into(), "alice@example.com".into(), None)
    );
    // Case-sensitive IDNA domain with two separators and a catchall.
    assert_eq!(account(look("Alice-x", "xn--bcher-kva.example")).1, "Alice@bücher.example");
    assert_eq!(account(look("alice", "bücher.example")).1, "@bücher.example");
    // Reporting addresses, also with a separator.
    assert_eq!(account(look("dmarc-reports+x", "example.com")).2.as_deref(), Some("DMARC"));
    assert_eq!(account(look("tlsreports", "mail.example.com")).0, "admin");
    // postmaster: configured at example.com, the postmaster account at the hostname.
    assert_eq!(account(look("Postmaster", "example.com")).2.as_deref(), Some("Postmaster"));
    assert_eq!(account(look("postmaster", "mail.example.com")).1, "postmaster");
    assert!(
        matches!(look("team", "example.com"), Ok(Recipient::Alias { alias, .. }) if alias.parsed_addresses.len() == 2)
    );
    assert_eq!(look("x", "example.net"), Err(LookupError::DomainDisabled));
    assert_eq!(look("dmarc", "reports.example"), Err(LookupError::DomainNotFound));
    assert_eq!(look("nobody", "example.com"), Err(LookupError::AddressNotFound));
    assert_eq!(account(look("noreply", "example.com")).0, "bob");

    // Logins: disabled domains log in, aliases do not.
    assert_eq!(c.account_for_login("admin@example.net").unwrap().0, "admin");
    assert_eq!(c.account_for_login("team@example.com").unwrap_err(), LookupError::AddressNotFound);

    let (d, signers) = c.dkim_signers(&domain("sub.example.com")).unwrap().unwrap();
    assert_eq!(d, &domain("example.com"));
    assert_eq!(
        signers.iter().map(|s| s.selector().as_domain().ascii().to_string()).collect::<Vec<_>>(),
        ["2024a", "2024b"]
    );
    let headers = dkim::sign(
        signers,
        b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n",
        std::time::SystemTime::now(),
    )
    .unwrap();
    assert!(headers.contains("a=ed25519-sha256") && headers.contains("a=rsa-sha256"), "{headers}");
    assert!(headers.contains("c=relaxed/simple"), "{headers}");
    assert!(headers.contains("x="), "{headers}");
    assert_eq!(c.dkim_signers(&domain("example.net")).unwrap_err(), LookupError::DomainDisabled);
    assert!(c.dkim_signers(&domain("other.example")).unwrap().is_none());
}
