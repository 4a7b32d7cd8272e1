//! One test per problem the checks find: each changes a valid base configuration in one way
//! and asserts the exact messages, with file, line and key path.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::path::Path;

const BASE_STATIC: &str = "DataDir: data
LogLevel: info
Hostname: mail.example.com
Listeners:
	public:
		IPs:
			- 192.0.2.1
		SMTP:
			Enabled: true
			NoSTARTTLS: true
Postmaster:
	Account: mjl
	Mailbox: Postmaster
";

const BASE_DYNAMIC: &str = "Domains:
	example.com:
		LocalpartCatchallSeparator: +
		DKIM:
			Selectors:
				s1:
					PrivateKeyFile: dkim/s1.pem
			Sign:
				- s1
Accounts:
	mjl:
		Domain: example.com
		Destinations:
			mjl@example.com: nil
";

fn edit(base: &str, edits: &[(&str, &str)]) -> String {
    let mut text = base.to_string();
    for (old, new) in edits {
        assert!(text.contains(old), "{old:?} not in {text}");
        text = text.replacen(old, new, 1);
    }
    text
}

/// Loads the base with the edits applied; returns the problems with the directory removed.
fn problems(static_edits: &[(&str, &str)], dynamic_edits: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dkim")).unwrap();
    let key = dkim::PrivateKey::generate_ed25519().unwrap();
    std::fs::write(dir.path().join("dkim/s1.pem"), key.to_pem()).unwrap();
    std::fs::write(
        dir.path().join("dkim/ec.pem"),
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate\n").unwrap();
    let mox_conf = dir.path().join("mox.conf");
    let result = config::load_from_texts(
        &mox_conf,
        &edit(BASE_STATIC, static_edits),
        &edit(BASE_DYNAMIC, dynamic_edits),
    );
    let prefix = format!("{}/", dir.path().display());
    match result {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().iter().map(|e| e.to_string().replace(&prefix, "")).collect(),
    }
}

macro_rules! case {
    ($name:ident, static: [$(($so:expr, $sn:expr)),*], dynamic: [$(($do:expr, $dn:expr)),*], $($expected:expr),+ $(,)?) => {
        #[test]
        fn $name() {
            assert_eq!(problems(&[$(($so, $sn)),*], &[$(($do, $dn)),*]), [$($expected),+]);
        }
    };
}

#[test]
fn base_is_valid() {
    assert_eq!(problems(&[], &[]), Vec::<String>::new());
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).exists());
}

// mox.conf.

case!(log_level, static: [("LogLevel: info", "LogLevel: loud")], dynamic: [],
    "mox.conf:2: LogLevel: invalid log level \"loud\"");
case!(package_log_level, static: [("LogLevel: info\n", "LogLevel: info\nPackageLogLevels:\n\tsmtpserver: loud\n")], dynamic: [],
    "mox.conf:4: PackageLogLevels.smtpserver: invalid package log level \"loud\"");
case!(hostname_not_unicode_form, static: [("mail.example.com", "Mail.Example.com")], dynamic: [],
    "mox.conf:3: Hostname: parsing hostname: domain \"Mail.Example.com\" must be written in its unicode form, \"mail.example.com\"");
case!(hostname_invalid, static: [("mail.example.com", "mail..example.com")], dynamic: [],
    "mox.conf:3: Hostname: parsing hostname: invalid domain \"mail..example.com\": empty label at position 5 in \"mail..example.com\"");
case!(host_tlsrpt_international, static: [("Postmaster:", "HostTLSRPT:\n\tAccount: mjl\n\tMailbox: TLSRPT\n\tLocalpart: tlsrépports\nPostmaster:")], dynamic: [],
    "mox.conf:14: HostTLSRPT.Localpart: host TLSRPT localpart \"tlsrépports\" is an internationalized address, only conventional ascii-only address allowed for interopability");
case!(host_tlsrpt_unknown_account, static: [("Postmaster:", "HostTLSRPT:\n\tAccount: nobody\n\tMailbox: TLSRPT\n\tLocalpart: tlsreports\nPostmaster:")], dynamic: [],
    "mox.conf:12: HostTLSRPT.Account: host tlsrpt account \"nobody\" does not exist");
case!(acme_eab_key_missing, static: [("Listeners:", "ACME:\n\tle:\n\t\tDirectoryURL: https://acme.example/dir\n\t\tContactEmail: a@example.com\n\t\tExternalAccountBinding:\n\t\t\tKeyID: x\n\t\t\tKeyFile: eab.key\nListeners:")], dynamic: [],
    "mox.conf:10: ACME.le.ExternalAccountBinding.KeyFile: reading external account binding key eab.key: No such file or directory (os error 2)");
case!(listener_hostname, static: [("\t\tIPs:", "\t\tHostname: bad..host\n\t\tIPs:")], dynamic: [],
    "mox.conf:6: Listeners.public.Hostname: parsing hostname: invalid domain \"bad..host\": empty label at position 4 in \"bad..host\"");
case!(tls_acme_and_keycerts, static: [("\t\tSMTP:", "\t\tTLS:\n\t\t\tACME: le\n\t\t\tKeyCerts:\n\t\t\t\t-\n\t\t\t\t\tCertFile: c.pem\n\t\t\t\t\tKeyFile: k.pem\n\t\tSMTP:")], dynamic: [],
    "mox.conf:8: Listeners.public.TLS: cannot have ACME and static key/certificates");
case!(tls_unknown_acme, static: [("\t\tSMTP:", "\t\tTLS:\n\t\t\tACME: le\n\t\tSMTP:")], dynamic: [],
    "mox.conf:9: Listeners.public.TLS.ACME: unknown ACME provider \"le\"");
case!(tls_without_keys, static: [("\t\tSMTP:", "\t\tTLS:\n\t\t\tMinVersion: TLSv1.3\n\t\tSMTP:")], dynamic: [],
    "mox.conf:8: Listeners.public.TLS: cannot have TLS config without ACME and without static keys/certificates");
case!(tls_keycert_files, static: [("\t\tSMTP:", "\t\tTLS:\n\t\t\tKeyCerts:\n\t\t\t\t-\n\t\t\t\t\tCertFile: cert.pem\n\t\t\t\t\tKeyFile: key.pem\n\t\tSMTP:")], dynamic: [],
    "mox.conf:11: Listeners.public.TLS.KeyCerts[1].CertFile: no PEM certificate in cert.pem",
    "mox.conf:12: Listeners.public.TLS.KeyCerts[1].KeyFile: reading private key file key.pem: No such file or directory (os error 2)");
case!(tls_min_version, static: [("\t\tSMTP:", "\t\tTLS:\n\t\t\tACME: le\n\t\t\tMinVersion: SSLv3\n\t\tSMTP:"), ("Listeners:", "ACME:\n\tle:\n\t\tDirectoryURL: https://acme.example/dir\n\t\tContactEmail: a@example.com\nListeners:")], dynamic: [],
    "mox.conf:14: Listeners.public.TLS.MinVersion: unknown TLS mininum version \"SSLv3\"");
case!(needs_tls, static: [("\t\t\tNoSTARTTLS: true\n", "\t\tIMAPS:\n\t\t\tEnabled: true\n")], dynamic: [],
    "mox.conf:5: Listeners.public: no tls config specified, but requires tls for IMAPS, SMTP");
case!(autoconfig_mtasts_port, static: [("Postmaster:", "\t\tAutoconfigHTTPS:\n\t\t\tEnabled: true\n\t\t\tNonTLS: true\n\t\tMTASTSHTTPS:\n\t\t\tEnabled: true\nPostmaster:")], dynamic: [],
    "mox.conf:5: Listeners.public: no tls config specified, but requires tls for MTASTSHTTPS",
    "mox.conf:5: Listeners.public: autoconfig and mta-sts enabled on same port but with both http and https");
case!(invalid_ip, static: [("192.0.2.1", "192.0.2.300")], dynamic: [],
    "mox.conf:7: Listeners.public.IPs[1]: invalid IP \"192.0.2.300\"");
case!(dnsbl_zone, static: [("\t\t\tNoSTARTTLS: true\n", "\t\t\tNoSTARTTLS: true\n\t\t\tDNSBLs:\n\t\t\t\t- bad..zone\n")], dynamic: [],
    "mox.conf:12: Listeners.public.SMTP.DNSBLs[1]: parsing DNSBL zone: invalid domain \"bad..zone\": empty label at position 4 in \"bad..zone\"");
case!(nated_twice, static: [("\t\tSMTP:", "\t\tIPsNATed: true\n\t\tNATIPs:\n\t\t\t- 127.0.0.1\n\t\tSMTP:")], dynamic: [],
    "mox.conf:8: Listeners.public.IPsNATed: both IPsNATed and NATIPs configured (remove deprecated IPsNATed)",
    "mox.conf:10: Listeners.public.NATIPs[1]: NAT ip that is the unspecified or loopback address 127.0.0.1");
case!(web_path, static: [("Postmaster:", "\t\tAccountHTTP:\n\t\t\tEnabled: true\n\t\t\tPath: account/\nPostmaster:")], dynamic: [],
    "mox.conf:13: Listeners.public.AccountHTTP.Path: AccountHTTP with path \"account/\" that must start with a slash");
case!(default_and_initial_mailboxes, static: [("Postmaster:", "DefaultMailboxes:\n\t- Sent\n\t- Archive/2024\nInitialMailboxes:\n\tRegular:\n\t\t- Inbox\nPostmaster:")], dynamic: [],
    "mox.conf:11: DefaultMailboxes: cannot have both DefaultMailboxes and InitialMailboxes",
    "mox.conf:13: DefaultMailboxes[2]: default mailbox cannot be a child mailbox",
    "mox.conf:16: InitialMailboxes.Regular[1]: initial regular mailbox cannot be set to Inbox (Inbox is always created)",
    "mox.conf:16: InitialMailboxes.Regular[1]: invalid mailbox name: special mailbox name Inbox not allowed");
case!(initial_mailbox_rules, static: [("Postmaster:", "InitialMailboxes:\n\tSpecialUse:\n\t\tSent: inbox\n\t\tJunk: Spam/Junk\n\t\tTrash: Trash\u{0308}\nPostmaster:")], dynamic: [],
    "mox.conf:13: InitialMailboxes.SpecialUse.Sent: initial mailbox cannot be set to Inbox (Inbox is always created)",
    "mox.conf:14: InitialMailboxes.SpecialUse.Junk: initial mailboxes cannot be child mailboxes",
    "mox.conf:15: InitialMailboxes.SpecialUse.Trash: mailbox \"Trash\\u{308}\" is not in NFC normalized form, should be \"Trasḧ\"");
case!(transport_smtp, static: [("Postmaster:", "Transports:\n\tx:\n\t\tSubmissions:\n\t\t\tHost: bad..host\n\t\t\tSTARTTLSInsecureSkipVerify: true\n\t\t\tNoSTARTTLS: true\n\t\t\tAuth:\n\t\t\t\tUsername: u\n\t\t\t\tPassword: p\n\t\t\t\tMechanisms:\n\t\t\t\t\t- PLAIN\n\t\t\t\t\t- PLAIN\n\t\t\t\t\t- XOAUTH2\nPostmaster:")], dynamic: [],
    "mox.conf:14: Transports.x.Submissions.Host: bad host: invalid domain \"bad..host\": empty label at position 4 in \"bad..host\"",
    "mox.conf:15: Transports.x.Submissions.STARTTLSInsecureSkipVerify: cannot have STARTTLSInsecureSkipVerify with immediate TLS",
    "mox.conf:16: Transports.x.Submissions.NoSTARTTLS: cannot have NoSTARTTLS with immediate TLS",
    "mox.conf:22: Transports.x.Submissions.Auth.Mechanisms[2]: duplicate authentication mechanism PLAIN",
    "mox.conf:23: Transports.x.Submissions.Auth.Mechanisms[3]: unknown authentication mechanism XOAUTH2");
case!(transport_socks_direct_fail, static: [("Postmaster:", "Transports:\n\ts:\n\t\tSocks:\n\t\t\tAddress: nohost\n\t\t\tRemoteIPs:\n\t\t\t\t- 1.2.3\n\t\t\tRemoteHostname: out.example\n\t\tDirect:\n\t\t\tDisableIPv4: true\n\t\t\tDisableIPv6: true\n\tf:\n\t\tFail:\n\t\t\tSMTPCode: 300\n\t\t\tSMTPMessage: nö\nPostmaster:")], dynamic: [],
    "mox.conf:12: Transports.s: cannot have multiple methods in a transport",
    "mox.conf:14: Transports.s.Socks.Address: bad address \"nohost\": must be host:port",
    "mox.conf:16: Transports.s.Socks.RemoteIPs[1]: bad ip 1.2.3",
    "mox.conf:18: Transports.s.Direct: both IPv4 and IPv6 are disabled, enable at least one",
    "mox.conf:23: Transports.f.Fail.SMTPCode: smtp code 300 must be 4xx or 5xx",
    "mox.conf:24: Transports.f.Fail.SMTPMessage: message cannot contain control characters including newlines, and must be ascii-only");
case!(ca_cert_missing, static: [("Listeners:", "TLS:\n\tCA:\n\t\tCertFiles:\n\t\t\t- ca.pem\nListeners:")], dynamic: [],
    "mox.conf:7: TLS.CA.CertFiles[1]: reading TLS CA cert file ca.pem: No such file or directory (os error 2)");

// domains.conf, and references between the files.

case!(postmaster_account_missing, static: [("Account: mjl", "Account: admin")], dynamic: [],
    "mox.conf:12: Postmaster.Account: postmaster account \"admin\" does not exist");
case!(route_transport_and_domain, static: [], dynamic: [("Accounts:", "Routes:\n\t-\n\t\tFromDomain:\n\t\t\t- .bad..x\n\t\tTransport: nope\nAccounts:")],
    "domains.conf:13: Routes[1].FromDomain[1]: invalid domain \"bad..x\": empty label at position 4 in \"bad..x\"",
    "domains.conf:14: Routes[1].Transport: route references undefined transport \"nope\"");
case!(domain_not_unicode, static: [], dynamic: [("\tmjl:\n", "\tmjl:\n"), ("Accounts:", "\tExample.org: nil\nAccounts:")],
    "domains.conf:10: Domains.Example.org: parsing domain: domain \"Example.org\" must be written in its unicode form, \"example.org\"");
case!(separators, static: [], dynamic: [("\t\tLocalpartCatchallSeparator: +\n", "\t\tClientSettingsDomain: a..b\n\t\tLocalpartCatchallSeparator: +\n\t\tLocalpartCatchallSeparators:\n\t\t\t- +\n")],
    "domains.conf:2: Domains.example.com: cannot have both LocalpartCatchallSeparator and LocalpartCatchallSeparators",
    "domains.conf:3: Domains.example.com.ClientSettingsDomain: bad client settings domain: invalid domain \"a..b\": empty label at position 2 in \"a..b\"",
    "domains.conf:5: Domains.example.com.LocalpartCatchallSeparators: duplicate localpart catchall separator \"+\"");
case!(dkim_selector_problems, static: [], dynamic: [("\t\t\t\t\tPrivateKeyFile: dkim/s1.pem\n", "\t\t\t\t\tPrivateKeyFile: dkim/s1.pem\n\t\t\t\t\tHash: sha1\n\t\t\t\t\tExpiration: 3 days\n\t\t\t\t\tHeaders:\n\t\t\t\t\t\t- To\n\t\t\t\ts2:\n\t\t\t\t\tHash: md5\n\t\t\t\t\tPrivateKeyFile: dkim/missing.pem\n\t\t\t\ts3:\n\t\t\t\t\tPrivateKeyFile: dkim/ec.pem\n"), ("\t\t\t\t- s1\n", "\t\t\t\t- s1\n\t\t\t\t- s9\n")],
    "domains.conf:8: Domains.example.com.DKIM.Selectors.s1.Hash: hash algorithm \"sha1\" is not supported with ed25519, only sha256 is",
    "domains.conf:9: Domains.example.com.DKIM.Selectors.s1.Expiration: invalid expiration \"3 days\"",
    "domains.conf:10: Domains.example.com.DKIM.Selectors.s1.Headers: From-field must always be DKIM-signed",
    "domains.conf:13: Domains.example.com.DKIM.Selectors.s2.Hash: unsupported hash \"md5\"",
    "domains.conf:14: Domains.example.com.DKIM.Selectors.s2.PrivateKeyFile: reading private key dkim/missing.pem: No such file or directory (os error 2)",
    "domains.conf:16: Domains.example.com.DKIM.Selectors.s3.PrivateKeyFile: private key dkim/ec.pem is a \"EC PRIVATE KEY\" PEM block, it must be PKCS#8 (\"PRIVATE KEY\")",
    "domains.conf:19: Domains.example.com.DKIM.Sign[2]: unknown selector s9 for signing");
case!(mtasts, static: [], dynamic: [("\t\tDKIM:", "\t\tMTASTS:\n\t\t\tPolicyID: \n\t\t\tMode: strict\n\t\t\tMaxAge: 24h\n\t\tDKIM:")],
    "domains.conf:4: Domains.example.com.MTASTS: MTA-STS enabled, but there is no listener for MTASTS",
    "domains.conf:5: Domains.example.com.MTASTS.PolicyID: invalid empty MTA-STS PolicyID",
    "domains.conf:6: Domains.example.com.MTASTS.Mode: invalid mtasts mode \"strict\"");
case!(account_settings, static: [], dynamic: [("\t\tDomain: example.com\n", "\t\tDomain: bad..domain\n\t\tRejectsMailbox: INBOX\n\t\tIntrobox: Inbox\n\t\tLoginDisabled: gone\u{7}\n\t\tAutomaticJunkFlags:\n\t\t\tEnabled: true\n\t\t\tJunkMailboxRegexp: (junk\n\t\tJunkFilter:\n\t\t\tThreshold: 0.9\n\t\t\tParams:\n\t\t\t\tMaxPower: 0.6\n\t\t\t\tTopWords: -1\n\t\t\t\tIgnoreWords: 0.7\n\t\t\t\tRareWords: -2\n")],
    "domains.conf:12: Accounts.mjl.Domain: parsing domain: invalid domain \"bad..domain\": empty label at position 4 in \"bad..domain\"",
    "domains.conf:13: Accounts.mjl.RejectsMailbox: cannot set RejectsMailbox to inbox, messages will be removed automatically from the rejects mailbox",
    "domains.conf:14: Accounts.mjl.Introbox: invalid Introbox mailbox: special mailbox name Inbox not allowed",
    "domains.conf:15: Accounts.mjl.LoginDisabled: message cannot contain control characters including newlines, and must be ascii-only",
    "domains.conf:18: Accounts.mjl.AutomaticJunkFlags.JunkMailboxRegexp: invalid JunkMailboxRegexp regular expression: regex parse error:\n    (junk\n    ^\nerror: unclosed group",
    "domains.conf:22: Accounts.mjl.JunkFilter.Params.MaxPower: junk filter MaxPower must be >= 0 and < 0.5",
    "domains.conf:23: Accounts.mjl.JunkFilter.Params.TopWords: junk filter TopWords must be >= 0",
    "domains.conf:24: Accounts.mjl.JunkFilter.Params.IgnoreWords: junk filter IgnoreWords must be >= 0 and < 0.5",
    "domains.conf:25: Accounts.mjl.JunkFilter.Params.RareWords: junk filter RareWords must be >= 0");
case!(introbox_is_rejects, static: [], dynamic: [("\t\tDomain: example.com\n", "\t\tDomain: example.com\n\t\tRejectsMailbox: Rejects\n\t\tIntrobox: Rejects\n")],
    "domains.conf:14: Accounts.mjl.Introbox: cannot set Introbox and RejectsMailbox to the same mailbox");
case!(fromid_addresses, static: [], dynamic: [("\tmjl:\n", "\tmjl:\n\t\tFromIDLoginAddresses:\n\t\t\t- mjl@example.org\n\t\t\t- other@example.com\n\t\t\t- not an address\n"), ("\t\tLocalpartCatchallSeparator: +\n", ""), ("Accounts:", "\texample.org: nil\nAccounts:")],
    "domains.conf:13: Accounts.mjl.FromIDLoginAddresses[1]: localpart catchall separator not configured for domain for fromid login address \"mjl@example.org\"",
    "domains.conf:13: Accounts.mjl.FromIDLoginAddresses[1]: fromid login address \"mjl@example.org\" does not match its destination addresses",
    "domains.conf:14: Accounts.mjl.FromIDLoginAddresses[2]: localpart catchall separator not configured for domain for fromid login address \"other@example.com\"",
    "domains.conf:14: Accounts.mjl.FromIDLoginAddresses[2]: fromid login address \"other@example.com\" does not match its destination addresses",
    "domains.conf:15: Accounts.mjl.FromIDLoginAddresses[3]: invalid fromid login address: invalid email address \"not an address\": syntax error in address at position 3: expected \"@\"");
case!(webhooks, static: [], dynamic: [("\tmjl:\n", "\tmjl:\n\t\tOutgoingWebhook:\n\t\t\tURL: ftp://hooks.example/\n\t\t\tEvents:\n\t\t\t\t- delivered\n\t\t\t\t- exploded\n\t\tIncomingWebhook:\n\t\t\tURL: not a url\n")],
    "domains.conf:13: Accounts.mjl.OutgoingWebhook.URL: parsing webhook url \"ftp://hooks.example/\": scheme must be http or https",
    "domains.conf:16: Accounts.mjl.OutgoingWebhook.Events[2]: unknown outgoing hook event \"exploded\"",
    "domains.conf:18: Accounts.mjl.IncomingWebhook.URL: parsing webhook url \"not a url\": relative URL without a base");
case!(destination_smtp_errors, static: [], dynamic: [("\t\t\tmjl@example.com: nil\n", "\t\t\tmjl@example.com: nil\n\t\t\ta@example.com:\n\t\t\t\tMailbox: Inbox\n\t\t\t\tSMTPError: 451 try later\n\t\t\tb@example.com:\n\t\t\t\tMessageAuthRequiredSMTPError: müst\n")],
    "domains.conf:17: Accounts.mjl.Destinations.a@example.com.SMTPError: cannot have both SMTPError and Mailbox",
    "domains.conf:17: Accounts.mjl.Destinations.a@example.com.SMTPError: smtp error must be 421 or 550 (with optional message), not \"451 try later\"",
    "domains.conf:19: Accounts.mjl.Destinations.b@example.com.MessageAuthRequiredSMTPError: message authentication required smtp error cannot contain contain control characters (including newlines) or non-ascii");
case!(rulesets, static: [], dynamic: [("\t\t\tmjl@example.com: nil\n", "\t\t\tmjl@example.com:\n\t\t\t\tRulesets:\n\t\t\t\t\t-\n\t\t\t\t\t\tMailbox: Empty\n\t\t\t\t\t-\n\t\t\t\t\t\tSMTPMailFromRegexp: (x\n\t\t\t\t\t\tIsForward: true\n\t\t\t\t\t\tListAllowDomain: bad..domain\n\t\t\t\t\t\tAcceptRejectsToMailbox: inbox\n\t\t\t\t\t\tMailbox: X\n\t\t\t\t\t-\n\t\t\t\t\t\tHeadersRegexp:\n\t\t\t\t\t\t\tList-Id: x\n\t\t\t\t\t\tVerifiedDomain: a..b\n\t\t\t\t\t\tMailbox: Y\n")],
    "domains.conf:16: Accounts.mjl.Destinations.mjl@example.com.Rulesets[1]: ruleset must have at least one rule",
    "domains.conf:18: Accounts.mjl.Destinations.mjl@example.com.Rulesets[2]: ruleset cannot have both IsForward and ListAllowDomain",
    "domains.conf:18: Accounts.mjl.Destinations.mjl@example.com.Rulesets[2]: ruleset with IsForward must have both SMTPMailFromRegexp and VerifiedDomain too",
    "domains.conf:19: Accounts.mjl.Destinations.mjl@example.com.Rulesets[2].SMTPMailFromRegexp: invalid SMTPMailFrom regular expression: regex parse error:\n    (x\n    ^\nerror: unclosed group",
    "domains.conf:21: Accounts.mjl.Destinations.mjl@example.com.Rulesets[2].ListAllowDomain: invalid ListAllowDomain: invalid domain \"bad..domain\": empty label at position 4 in \"bad..domain\"",
    "domains.conf:22: Accounts.mjl.Destinations.mjl@example.com.Rulesets[2].AcceptRejectsToMailbox: AcceptRejectsToMailbox cannot be set to Inbox",
    "domains.conf:26: Accounts.mjl.Destinations.mjl@example.com.Rulesets[3].HeadersRegexp.List-Id: header field \"List-Id\" must only have lower case characters",
    "domains.conf:27: Accounts.mjl.Destinations.mjl@example.com.Rulesets[3].VerifiedDomain: invalid VerifiedDomain: invalid domain \"a..b\": empty label at position 2 in \"a..b\"");
case!(destination_addresses, static: [], dynamic: [("\t\t\tmjl@example.com: nil\n", "\t\t\tmjl@example.com: nil\n\t\t\tMJL@example.com: nil\n\t\t\tmjl+x@example.com: nil\n\t\t\tmjl@example.org: nil\n\t\t\t@example.org: nil\n\t\t\tnot@an@address: nil\n")],
    "domains.conf:14: Accounts.mjl.Destinations.mjl@example.com: duplicate canonicalized destination address mjl@example.com",
    "domains.conf:16: Accounts.mjl.Destinations.mjl+x@example.com: localpart of address mjl+x@example.com includes domain catchall separator +",
    "domains.conf:17: Accounts.mjl.Destinations.mjl@example.org: unknown domain for address",
    "domains.conf:18: Accounts.mjl.Destinations.@example.org: unknown domain for address",
    "domains.conf:19: Accounts.mjl.Destinations.not@an@address: invalid email address");
case!(reporting_addresses, static: [], dynamic: [("\t\tDKIM:", "\t\tDMARC:\n\t\t\tLocalpart: dmärc\n\t\t\tAccount: nobody\n\t\t\tMailbox: DMARC\n\t\tTLSRPT:\n\t\t\tLocalpart: tls\n\t\t\tDomain: example.org\n\t\t\tAccount: mjl\n\t\t\tMailbox: TLSRPT\n\t\tDKIM:")],
    "domains.conf:5: Domains.example.com.DMARC.Localpart: DMARC localpart \"dmärc\" is an internationalized address, only conventional ascii-only address allowed for interopability",
    "domains.conf:6: Domains.example.com.DMARC.Account: DMARC account \"nobody\" does not exist",
    "domains.conf:10: Domains.example.com.TLSRPT.Domain: unknown domain \"example.org\" for TLSRPT address");
case!(aliases, static: [], dynamic: [("\t\tDKIM:", "\t\tAliases:\n\t\t\tmjl:\n\t\t\t\tAddresses:\n\t\t\t\t\t- mjl@example.com\n\t\t\tlist+x:\n\t\t\t\tAddresses:\n\t\t\t\t\t- mjl@example.com\n\t\t\tlist:\n\t\t\t\tAddresses:\n\t\t\t\t\t- mjl@example.com\n\t\t\t\t\t- mjl@example.com\n\t\t\t\t\t- bob@example.com\n\t\tDKIM:")],
    "domains.conf:5: Domains.example.com.Aliases.mjl: alias \"mjl@example.com\" already present as regular address",
    "domains.conf:8: Domains.example.com.Aliases.list+x: alias contains localpart catchall separator",
    "domains.conf:14: Domains.example.com.Aliases.list.Addresses[2]: duplicate address \"mjl@example.com\"",
    "domains.conf:15: Domains.example.com.Aliases.list.Addresses[3]: references non-existent address \"bob@example.com\"");
case!(web_handlers, static: [], dynamic: [("Accounts:", "WebDomainRedirects:\n\twww.example.com: www.example.com\nWebHandlers:\n\t-\n\t\tDomain: www.example.com\n\t\tPathRegexp: /x\n\t-\n\t\tDomain: www.example.com\n\t\tPathRegexp: ^/\n\t\tWebRedirect:\n\t\t\tOrigPathRegexp: ^/a\n\t\t\tStatusCode: 200\n\t\tWebInternal:\n\t\t\tBasePath: /x\n\t\t\tService: shell\nAccounts:")],
    "domains.conf:11: WebDomainRedirects.www.example.com: will not redirect domain www.example.com to itself",
    "domains.conf:12: WebHandlers: WebDomainRedirects or WebHandlers configured but no listener with WebserverHTTP or WebserverHTTPS enabled",
    "domains.conf:13: WebHandlers[1]: must have exactly one handler, not 0",
    "domains.conf:15: WebHandlers[1].PathRegexp: path regexp must start with a ^",
    "domains.conf:16: WebHandlers[2]: must have exactly one handler, not 2",
    "domains.conf:19: WebHandlers[2].WebRedirect: redirect: must have either both OrigPathRegexp and ReplacePath, or neither",
    "domains.conf:21: WebHandlers[2].WebRedirect.StatusCode: redirect: invalid redirect status code 200",
    "domains.conf:23: WebHandlers[2].WebInternal.BasePath: internal service: base path \"/x\" must start and end with /",
    "domains.conf:24: WebHandlers[2].WebInternal.Service: internal service: unknown service \"shell\"");
case!(monitor_dnsbls, static: [], dynamic: [("Accounts:", "MonitorDNSBLs:\n\t- bl.example\n\t- BL.example\n\t- bad..bl\nAccounts:")],
    "domains.conf:12: MonitorDNSBLs[2]: duplicate dnsbl zone BL.example",
    "domains.conf:13: MonitorDNSBLs[3]: parsing dnsbl zone: invalid domain \"bad..bl\": empty label at position 4 in \"bad..bl\"");
case!(parse_and_check_together, static: [("\t\t\tNoSTARTTLS: true\n", "\t\t\tNoSTARTTLS: true\n\t\t\tPort: notaport\n\t\tColor: blue\n")], dynamic: [("\t\tDomain: example.com\n", "")],
    "mox.conf:11: Listeners.public.SMTP.Port: \"notaport\" is not a number",
    "mox.conf:12: Listeners.public.Color: unknown key \"Color\"",
    "domains.conf:11: Accounts.mjl.Domain: missing required key \"Domain\"");
case!(key_file_not_regular, static: [], dynamic: [("PrivateKeyFile: dkim/s1.pem", "PrivateKeyFile: /dev/zero")],
    "domains.conf:7: Domains.example.com.DKIM.Selectors.s1.PrivateKeyFile: reading private key /dev/zero: not a regular file");
