//! `mox dnsbl`, `mox mtasts` and `mox tlsrpt` as users run them, with DNS from a loopback DNS
//! server (test_support::DnsTestServer) reached through the global `-dns-server` option.

use std::process::{Command, Output, Stdio};

use test_support::DnsTestServer;

const ZONE: &str = r#"
    2.0.0.127.bl.example.org    A    127.0.0.2
    99.2.0.192.bl.example.org   A    127.0.0.2
    99.2.0.192.bl.example.org   TXT  "Dynamic address, see https://bl.example.org/?192.0.2.99"
    1.0.0.127.wild.example.org  A    127.0.0.2
    2.0.0.127.wild.example.org  A    127.0.0.2
    b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com A 127.0.0.2
    b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com TXT "Spam received."
    99.2.0.192.broken.example.org A SERVFAIL
    _mta-sts.example.com        TXT  "v=STSv1; id=20160831085700Z;"
    _smtp._tls.example.com      TXT  "v=TLSRPTv1;rua=mailto:reports@example.com"
    _smtp._tls.example.com      AUTHENTIC
"#;

fn mox(server: &DnsTestServer, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mox"));
    command.arg(format!("-dns-server={}", server.addr())).args(args).stdin(Stdio::null());
    for name in ["MOXCONF", "MOX_LOG", "MOX_DNS_SERVER", "NO_COLOR"] {
        command.env_remove(name);
    }
    command.output().expect("running mox")
}

fn server() -> DnsTestServer {
    DnsTestServer::start_on_thread(dns::MockResolver::from_zone(ZONE).expect("zone"))
        .expect("dns server")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8")
}

#[test]
fn dnsbl_check() {
    let server = server();
    let output = mox(&server, &["dnsbl", "check", "bl.example.org", "192.0.2.99"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "status: listed\naddresses: 127.0.0.2\nexplanation: Dynamic address, see https://bl.example.org/?192.0.2.99\n"
    );

    // RFC 5782 §2.4's IPv6 example.
    let output = mox(&server, &["dnsbl", "check", "ugly.example.com", "2001:db8:1:2:3:4:567:89ab"]);
    assert_eq!(
        stdout(&output),
        "status: listed\naddresses: 127.0.0.2\nexplanation: Spam received.\n"
    );

    let output = mox(&server, &["dnsbl", "check", "bl.example.org", "192.0.2.1"]);
    assert_eq!(
        (output.status.code(), stdout(&output)),
        (Some(0), "status: not listed\n".to_string())
    );

    let output = mox(&server, &["dnsbl", "check", "broken.example.org", "192.0.2.99"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.starts_with("mox: dnsbl broken.example.org: 192.0.2.99: "), "{err}");
    assert!(err.contains("SERVFAIL"), "{err}");

    let output = mox(&server, &["dnsbl", "check", "bl.example.org", "not-an-ip"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn dnsbl_checkhealth() {
    let server = server();
    let output = mox(&server, &["dnsbl", "checkhealth", "bl.example.org"]);
    assert_eq!((output.status.code(), stdout(&output)), (Some(0), "healthy\n".to_string()));

    let output = mox(&server, &["dnsbl", "checkhealth", "wild.example.org"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "mox: dnsbl wild.example.org lists the forbidden test address 127.0.0.1 (127.0.0.2)\n"
    );

    let output = mox(&server, &["dnsbl", "checkhealth", "gone.example.org"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "mox: dnsbl gone.example.org does not list the required test address 127.0.0.2\n"
    );
}

#[test]
fn tlsrpt_lookup() {
    let server = server();
    let output = mox(&server, &["tlsrpt", "lookup", "example.com"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "DNS TXT record _smtp._tls.example.com: v=TLSRPTv1;rua=mailto:reports@example.com\n\
         (DNSSEC-authenticated)\n\
         rua: mailto:reports@example.com (reports by email)\n"
    );

    let output = mox(&server, &["tlsrpt", "lookup", "example.org"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "mox: example.org: no TLSRPT record at _smtp._tls.example.org\n");
}

#[test]
fn mtasts_lookup_without_policy_host() {
    // The record is there, but mta-sts.example.com does not exist: the record is printed, then
    // the failure to fetch the policy (resolved through the same DNS server, never the network).
    let server = server();
    let output = mox(&server, &["mtasts", "lookup", "example.com"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "DNS TXT record _mta-sts.example.com: v=STSv1; id=20160831085700Z;\n\n"
    );
    let err = stderr(&output);
    assert!(
        err.starts_with("mox: fetching policy at https://mta-sts.example.com/.well-known/mta-sts.txt: looking up policy host mta-sts.example.com: "),
        "{err}"
    );
    assert!(err.contains("NXDOMAIN"), "{err}");

    let output = mox(&server, &["mtasts", "lookup", "example.org"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "mox: example.org: no MTA-STS record at _mta-sts.example.org\n");
}

fn testdata(name: &str) -> String {
    format!("{}/../../testdata/tlsrpt/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn tlsrpt_parsereportmsg() {
    let server = server();
    for (file, organization) in [
        ("google-report.eml", "Google Inc."),
        ("microsoft-report.eml", "Microsoft Corporation"),
        ("plain-json-report.eml", "Microsoft Corporation"),
        ("rfc8460-section-5.3.1.eml", "Company-X"),
    ] {
        let output = mox(&server, &["tlsrpt", "parsereportmsg", &testdata(file)]);
        assert_eq!(output.status.code(), Some(0), "{file}: {}", stderr(&output));
        // The printed JSON is the report in the message.
        let printed = tlsrpt::Report::parse(&output.stdout).expect("printed JSON is a report");
        let message = std::fs::read(testdata(file)).expect("read");
        assert_eq!(printed, tlsrpt::parse_report_message(&message).expect("report"), "{file}");
        assert_eq!(printed.organization_name, organization);
        assert!(stdout(&output).starts_with("{\n  \"organization-name\": "), "{file}");
    }

    let output = mox(&server, &["tlsrpt", "parsereportmsg", &testdata("README.md")]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.contains("README.md: no TLSRPT report in message"), "{err}");
    assert!(err.ends_with("README.md: no valid TLS report\n"), "{err}");

    let output = mox(&server, &["tlsrpt", "parsereportmsg"]);
    assert_eq!(output.status.code(), Some(2));
}
