//! Files the real mox v0.0.17 wrote (`testdata/config/mox-v0.0.17/`, see its README): our
//! loader reads every one with every field kept, and writing them back gives what we read (for
//! the files mox wrote without comments, byte for byte).
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{LookupOptions, Recipient, TlsVersion};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config/mox-v0.0.17")
}

fn load(mox_conf: &Path) -> config::Config {
    config::load(mox_conf).unwrap_or_else(|e| panic!("loading {}:\n{e}", mox_conf.display()))
}

fn domain(s: &str) -> dns::Domain {
    dns::Domain::parse(s).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Parse, write, parse: the same values; both files.
fn round_trip(mox_conf: &Path) {
    let text = std::fs::read_to_string(mox_conf).unwrap();
    let parsed = config::parse_static("mox.conf", &text).unwrap();
    let written = config::static_to_string(&parsed).unwrap();
    assert_eq!(
        config::parse_static("mox.conf", &written).unwrap(),
        parsed,
        "{}",
        mox_conf.display()
    );
    let domains = mox_conf.with_file_name("domains.conf");
    let text = std::fs::read_to_string(&domains).unwrap();
    let parsed = config::parse_dynamic("domains.conf", &text).unwrap();
    let written = config::dynamic_to_string(&parsed).unwrap();
    assert_eq!(
        config::parse_dynamic("domains.conf", &written).unwrap(),
        parsed,
        "{}",
        domains.display()
    );
}

fn account<'a>(c: &'a config::Config, address: &str) -> &'a str {
    let addr = message::Address::parse(address).unwrap();
    match c.lookup_address(&addr.localpart, Some(&addr.domain), LookupOptions::DELIVERY) {
        Ok(Recipient::Account { account, .. }) => account,
        other => panic!("{address}: {other:?}"),
    }
}

/// What quickstart writes for a domain, the same in each quickstart fixture.
fn check_quickstart_domain(c: &config::Config, domain_name: &str, account_name: &str) {
    let d = c.domain(&domain(domain_name)).unwrap();
    assert_eq!(d.client_settings_domain.as_deref(), Some(format!("mail.{domain_name}").as_str()));
    assert_eq!(d.localpart_catchall_separator.as_deref(), Some("+"));
    assert_eq!(d.dkim.selectors.len(), 2);
    for sel in d.dkim.selectors.values() {
        assert_eq!(sel.algorithm, "rsa-2048");
        assert_eq!(sel.expiration_duration, Some(Duration::from_secs(72 * 3600)));
        assert!(sel.private_key_file.starts_with("dkim/"));
    }
    assert_eq!(d.dkim.sign.len(), 1);
    assert!(d.dkim.sign[0].ends_with('a'));
    let dmarc = d.dmarc.as_ref().unwrap();
    assert_eq!(
        (dmarc.localpart.as_str(), dmarc.account.as_str(), dmarc.mailbox.as_str()),
        ("dmarcreports", account_name, "DMARC")
    );
    let tlsrpt = d.tlsrpt.as_ref().unwrap();
    assert_eq!(
        (tlsrpt.localpart.as_str(), tlsrpt.account.as_str(), tlsrpt.mailbox.as_str()),
        ("tlsreports", account_name, "TLSRPT")
    );
    let (signed_for, signers) = c.dkim_signers(&domain(domain_name)).unwrap().unwrap();
    assert_eq!(signed_for, &domain(domain_name));
    assert_eq!(signers.len(), 1);
}

/// What quickstart (and mox's account add) write for a new account.
fn check_new_account(a: &config::Account) {
    assert_eq!(a.rejects_mailbox.as_deref(), Some("Rejects"));
    assert_eq!(a.subject_pass.period, Duration::from_secs(12 * 3600));
    assert!(a.automatic_junk_flags.enabled);
    assert_eq!(a.automatic_junk_flags.junk_mailbox_regexp.as_deref(), Some("^(junk|spam)"));
    assert!(a.neutral_mailbox.as_ref().unwrap().is_match("dmarc"));
    let jf = a.junk_filter.as_ref().unwrap();
    assert_eq!(jf.threshold, 0.95);
    assert!(jf.params.onegrams && !jf.params.twograms);
    assert_eq!(
        (jf.params.max_power, jf.params.top_words, jf.params.ignore_words, jf.params.rare_words),
        (0.01, 10, Some(0.1), Some(2))
    );
    assert!(a.no_custom_password);
}

#[test]
fn quickstart() {
    let mox_conf = fixtures().join("quickstart/config/mox.conf");
    round_trip(&mox_conf);
    let c = load(&mox_conf);
    let s = &c.static_;
    assert_eq!(s.data_dir, "../data");
    assert_eq!(c.data_dir, fixtures().join("quickstart/config/../data"));
    assert_eq!((s.log_level.as_str(), s.user.as_deref()), ("debug", Some("mox")));
    assert_eq!(c.hostname(), &domain("mail.example.com"));
    assert!(!s.check_updates, "quickstart leaves CheckUpdates commented out");
    let acme = &s.acme["letsencrypt"];
    assert_eq!(acme.directory_url, "https://acme-v02.api.letsencrypt.org/directory");
    assert_eq!(
        (acme.contact_email.as_str(), acme.issuer_domain_name.as_deref()),
        ("mjl@example.com", Some("letsencrypt.org"))
    );
    assert_eq!(s.admin_password_file.as_deref(), Some("adminpasswd"));

    let internal = &s.listeners["internal"];
    assert_eq!(internal.ip_addrs, [ip("127.0.0.1"), ip("::1")]);
    assert_eq!(internal.hostname_domain, Some(domain("localhost")));
    assert!(
        internal.account_http.enabled
            && internal.admin_http.enabled
            && internal.webmail_http.enabled
    );
    assert!(internal.webapi_http.enabled && internal.metrics_http.enabled);
    assert!(internal.tls.is_none() && !internal.smtp.enabled);
    let public = &s.listeners["public"];
    assert_eq!(public.ip_addrs, [ip("192.0.2.10")]);
    let tls = public.tls.as_ref().unwrap();
    assert_eq!(tls.acme.as_deref(), Some("letsencrypt"));
    assert_eq!(tls.min_version_effective, TlsVersion::Tls12);
    assert_eq!(tls.host_private_key_files.len(), 2);
    assert!(
        tls.host_private_key_files[0].starts_with("hostkeys/mail.example.com.")
            && tls.host_private_key_files[0].ends_with(".rsa2048.privatekey.pkcs8.pem")
    );
    assert!(public.smtp.enabled && public.smtp.dnsbls.is_empty() && public.smtp.port.is_none());
    assert!(
        public.submissions.enabled
            && public.imaps.enabled
            && !public.submission.enabled
            && !public.imap.enabled
    );
    assert!(public.autoconfig_https.enabled && public.mtasts_https.enabled);
    assert!(public.webserver_http.enabled && public.webserver_https.enabled);
    assert_eq!(s.specified_smtp_listen_ips, [ip("192.0.2.10")]);
    assert_eq!(
        (s.postmaster.account.as_str(), s.postmaster.mailbox.as_str()),
        ("mjl", "Postmaster")
    );
    assert_eq!(
        (
            s.host_tlsrpt.account.as_str(),
            s.host_tlsrpt.mailbox.as_str(),
            s.host_tlsrpt.localpart.as_str()
        ),
        ("mjl", "TLSRPT", "tlsreports")
    );
    assert!(s.transports.is_empty() && s.initial_mailboxes.regular.is_empty());

    let d = &c.dynamic;
    assert_eq!(d.domains.keys().collect::<Vec<_>>(), ["example.com"]);
    check_quickstart_domain(&c, "example.com", "mjl");
    let sts = d.domains["example.com"].mtasts.as_ref().unwrap();
    assert_eq!(
        (sts.mode.as_str(), sts.max_age, sts.mx.as_slice()),
        ("enforce", Duration::from_secs(24 * 3600), ["mail.example.com".to_string()].as_slice())
    );
    assert_eq!(d.accounts.keys().collect::<Vec<_>>(), ["mjl"]);
    let mjl = &d.accounts["mjl"];
    assert_eq!(mjl.domain, "example.com");
    assert_eq!(mjl.destinations.keys().collect::<Vec<_>>(), ["mjl@example.com"]);
    check_new_account(mjl);
    assert_eq!(d.monitor_dnsbls, ["sbl.spamhaus.org", "bl.spamcop.net"]);

    assert_eq!(account(&c, "mjl+x@example.com"), "mjl");
    assert_eq!(account(&c, "tlsreports@mail.example.com"), "mjl");
    assert_eq!(account(&c, "postmaster@example.com"), "mjl");
    assert!(
        std::fs::read_to_string(fixtures().join("quickstart/mox.service"))
            .unwrap()
            .contains("ExecStart=")
    );
}

#[test]
fn quickstart_idna() {
    let mox_conf = fixtures().join("quickstart-idna/config/mox.conf");
    round_trip(&mox_conf);
    let c = load(&mox_conf);
    assert_eq!(c.hostname().ascii(), "mail.xn--bcher-kva.example");
    assert_eq!(c.static_.hostname, "mail.bücher.example");
    assert_eq!(c.static_.acme["letsencrypt"].contact_email, "postmaster@xn--bcher-kva.example");
    assert_eq!(c.static_.postmaster.account, "jøran");
    assert_eq!(c.static_.listeners["public"].ip_addrs, [ip("192.0.2.20")]);
    assert!(
        c.static_.listeners["public"].tls.as_ref().unwrap().host_private_key_files[0]
            .starts_with("hostkeys/mail.bücher.example.")
    );
    check_quickstart_domain(&c, "bücher.example", "jøran");
    let acc = c.account("jøran").unwrap();
    assert_eq!(acc.dns_domain, Some(domain("xn--bcher-kva.example")));
    assert_eq!(acc.destinations.keys().collect::<Vec<_>>(), ["jøran@bücher.example"]);
    check_new_account(acc);
    assert_eq!(account(&c, "Jøran+news@xn--bcher-kva.example"), "jøran");
    assert_eq!(c.account_for_login("jøran@bücher.example").unwrap().0, "jøran");
}

#[test]
fn quickstart_existing_webserver() {
    let src = fixtures().join("quickstart-existing-webserver/config");
    round_trip(&src.join("mox.conf"));
    let s =
        config::parse_static("mox.conf", &std::fs::read_to_string(src.join("mox.conf")).unwrap())
            .unwrap();
    assert!(s.acme.is_empty());
    let public = &s.listeners["public"];
    let tls = public.tls.as_ref().unwrap();
    assert!(tls.acme.is_none());
    let files: Vec<(&str, &str)> =
        tls.key_certs.iter().map(|k| (k.cert_file.as_str(), k.key_file.as_str())).collect();
    assert_eq!(
        files,
        [
            ("path/to/mail.example.org-chain.crt.pem", "path/to/mail.example.org.key.pem"),
            ("path/to/mta-sts.example.org-chain.crt.pem", "path/to/mta-sts.example.org.key.pem"),
            (
                "path/to/autoconfig.example.org-chain.crt.pem",
                "path/to/autoconfig.example.org.key.pem"
            ),
        ]
    );
    assert!(public.smtp.enabled && public.submissions.enabled && public.imaps.enabled);
    assert!(!public.webserver_http.enabled && !public.autoconfig_https.enabled);
    // The existing webserver forwards to mox's internal listener on port 81 and 1080.
    let internal = &s.listeners["internal"];
    assert!(
        internal.autoconfig_https.enabled
            && internal.autoconfig_https.non_tls
            && internal.autoconfig_https.forwarded
    );
    assert!(internal.mtasts_https.enabled && internal.mtasts_https.non_tls);
    assert_eq!(
        (internal.autoconfig_https.port, internal.mtasts_https.port, internal.webserver_http.port),
        (Some(81), Some(81), Some(81))
    );
    assert_eq!((internal.account_http.port, internal.account_http.forwarded), (Some(1080), true));

    // With the operator's certificate files in place, the whole configuration loads.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    let tls_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config/full/tls");
    std::fs::create_dir(dir.path().join("path")).unwrap();
    std::fs::create_dir(dir.path().join("path/to")).unwrap();
    for (cert, key) in files {
        std::fs::copy(tls_dir.join("localhost.pem"), dir.path().join(cert)).unwrap();
        std::fs::copy(tls_dir.join("localhost-key.pem"), dir.path().join(key)).unwrap();
    }
    let c = load(&dir.path().join("mox.conf"));
    assert_eq!(c.hostname(), &domain("mail.example.org"));
    check_quickstart_domain(&c, "example.org", "mjl");
    assert_eq!(account(&c, "mjl@example.org"), "mjl");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn localserve() {
    let mox_conf = fixtures().join("localserve/mox.conf");
    round_trip(&mox_conf);
    let c = load(&mox_conf);
    let s = &c.static_;
    assert_eq!(
        (s.data_dir.as_str(), s.log_level.as_str(), s.user.as_deref()),
        (".", "traceauth", Some("0"))
    );
    assert_eq!(s.user_ids().unwrap(), (0, 0));
    assert!(s.pedantic);
    assert_eq!(s.tls.ca.as_ref().unwrap().cert_files, ["localhost.crt"]);
    let l = &s.listeners["local"];
    assert_eq!(l.ip_addrs, [ip("127.0.0.1"), ip("::1")]);
    assert_eq!(l.tls.as_ref().unwrap().key_certs[0].cert_file, "localhost.crt");
    let ports = [l.smtp.port, l.submission.port, l.submissions.port, l.imap.port, l.imaps.port];
    assert_eq!(ports, [Some(1025), Some(1587), Some(1465), Some(1143), Some(1993)]);
    assert!(l.submission.no_require_starttls && l.imap.no_require_starttls);
    assert_eq!(
        (l.account_http.port, l.account_http.path.as_deref()),
        (Some(1080), Some("/account/"))
    );
    assert_eq!(
        (l.webmail_https.port, l.webmail_https.path.as_deref()),
        (Some(1443), Some("/webmail/"))
    );
    assert_eq!(l.metrics_http.port, Some(1081));
    assert!(l.webserver_http.enabled && l.webserver_https.enabled);
    assert_eq!((s.postmaster.account.as_str(), s.postmaster.mailbox.as_str()), ("mox", "Inbox"));

    let d = &c.dynamic;
    let local = &d.domains["localhost"];
    assert_eq!(local.dkim.sign, ["localserve"]);
    assert_eq!(local.dkim.selectors["localserve"].algorithm, "ed25519");
    let mox = &d.accounts["mox"];
    assert_eq!(mox.domain, "");
    assert_eq!(mox.dns_domain, None);
    assert_eq!(mox.keep_retired_message_period, Some(Duration::from_secs(72 * 3600)));
    assert!(mox.no_first_time_sender_delay);
    let wh = &d.web_handlers[0];
    assert_eq!(
        (wh.log_name.as_deref(), wh.domain.as_str(), wh.path_regexp.as_str()),
        (Some("workdir"), "localhost", "^/workdir/")
    );
    let ws = wh.web_static.as_ref().unwrap();
    assert_eq!(
        (ws.strip_prefix.as_deref(), ws.root.as_str(), ws.list_files),
        (Some("/workdir/"), ".", true)
    );
    assert_eq!(account(&c, "mox@localhost"), "mox");
}

#[test]
fn describe_outputs() {
    // The describe outputs read with every key known (values are empty, so only the syntax).
    let s = std::fs::read_to_string(fixtures().join("describe-static.conf")).unwrap();
    config::parse_static("describe-static.conf", &s).unwrap();
    let d = std::fs::read_to_string(fixtures().join("describe-domains.conf")).unwrap();
    config::parse_dynamic("describe-domains.conf", &d).unwrap();
}

#[test]
fn after_mox_edits() {
    let src = fixtures().join("edits");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src.join("config"), dir.path());
    for (file, domains, bob) in [
        ("domains-after-domain-add.conf", 2, None),
        ("domains-after-account-add.conf", 2, Some(&["bob@example.com"][..])),
        ("domains-after-catchall-add.conf", 2, Some(&["@example.com", "bob@example.com"][..])),
        (
            "domains-after-address-add.conf",
            2,
            Some(&["@example.com", "bob@example.com", "bob@example.net"][..]),
        ),
    ] {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        // mox wrote these without comments: we write them back byte for byte.
        let parsed = config::parse_dynamic(file, &text).unwrap();
        assert_eq!(config::dynamic_to_string(&parsed).unwrap(), text, "{file}");

        std::fs::write(dir.path().join("domains.conf"), &text).unwrap();
        let c = load(&dir.path().join("mox.conf"));
        assert_eq!(c.dynamic.domains.len(), domains, "{file}");
        check_quickstart_domain(&c, "example.net", "mjl");
        assert_eq!(
            c.domain(&domain("example.net")).unwrap().mtasts.as_ref().unwrap().mx,
            ["mail.example.com"]
        );
        match bob {
            None => assert!(c.account("bob").is_none()),
            Some(addresses) => {
                let acc = c.account("bob").unwrap();
                assert_eq!(acc.destinations.keys().collect::<Vec<_>>(), addresses, "{file}");
                check_new_account(acc);
                assert_eq!(account(&c, "bob@example.com"), "bob");
            }
        }
    }
    let c = load(&dir.path().join("mox.conf"));
    assert_eq!(account(&c, "anyone@example.com"), "bob");
    assert_eq!(account(&c, "mjl@example.com"), "mjl");
    assert_eq!(account(&c, "bob+x@example.net"), "bob");
}
