//! `mox dmarc lookup|parsereportmsg|verify` end to end: the built binary resolves through a loopback
//! DNS server (`test_support::DnsTestServer`) given with the global `--dns-server` option, and
//! reads report messages from testdata/dmarc.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use dns::MockResolver;
use test_support::DnsTestServer;

const ZONE: &str = r#"
    _dmarc.example.com        TXT   "v=DMARC1; p=reject; " "rua=mailto:dmarc@example.com"
    _dmarc.example.com        TXT   "some other text"
    _dmarc.signed.example     TXT   "v=DMARC1; p=quarantine; pct=50"
    _dmarc.signed.example     AUTHENTIC
    _dmarc.twice.example      TXT   "v=DMARC1; p=none"
    _dmarc.twice.example      TXT   "v=DMARC1; p=reject"
    _dmarc.down.example       TXT   SERVFAIL
"#;

fn server() -> DnsTestServer {
    DnsTestServer::start_on_thread(MockResolver::from_zone(ZONE).expect("zone"))
        .expect("dns server")
}

fn mox(server: Option<&DnsTestServer>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mox"));
    for name in ["MOXCONF", "MOX_LOG", "MOX_DNS_SERVER", "NO_COLOR"] {
        command.env_remove(name);
    }
    if let Some(server) = server {
        command.arg(format!("--dns-server={}", server.addr()));
    }
    command.args(args).stdin(Stdio::null()).output().expect("running mox")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

fn testdata(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dmarc").join(name);
    path.to_str().expect("UTF-8 path").to_string()
}

#[test]
fn dmarc_lookup_over_real_dns() {
    let server = server();
    let output = mox(Some(&server), &["dmarc", "lookup", "example.com"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "dmarc record at domain example.com: v=DMARC1; p=reject; rua=mailto:dmarc@example.com\n\
         (without dnssec)\n"
    );
    assert!(server.received_for("_dmarc.example.com").iter().any(|q| q.record_type == "TXT"));

    // Fallback to the organizational domain: two queries.
    let output = mox(Some(&server), &["dmarc", "lookup", "a.b.signed.example"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "dmarc record at domain signed.example: v=DMARC1; p=quarantine; pct=50\n(with dnssec)\n"
    );
    assert!(!server.received_for("_dmarc.a.b.signed.example").is_empty());

    for (domain, want) in [
        (
            "nowhere.example",
            "mox: dmarc lookup for nowhere.example: no DMARC record at _dmarc.nowhere.example\n",
        ),
        (
            "twice.example",
            "mox: dmarc lookup for twice.example: 2 DMARC records at _dmarc.twice.example, there must be one: \"v=DMARC1; p=none\", \"v=DMARC1; p=reject\"\n",
        ),
    ] {
        let output = mox(Some(&server), &["dmarc", "lookup", domain]);
        assert_eq!(output.status.code(), Some(1), "{domain}");
        assert_eq!(stdout(&output), "");
        assert_eq!(stderr(&output), want);
    }
    let output = mox(Some(&server), &["dmarc", "lookup", "down.example"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("SERVFAIL"), "{}", stderr(&output));

    // A wrong invocation.
    let output = mox(Some(&server), &["dmarc", "lookup", "bad domain"]);
    assert_eq!(output.status.code(), Some(2));
    let output = mox(Some(&server), &["dmarc", "lookup"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn dmarc_parsereportmsg_prints_json() {
    let output = mox(
        None,
        &["dmarc", "parsereportmsg", &testdata("google-zip.eml"), &testdata("microsoft-gzip.eml")],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    let reports: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&out)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("JSON values");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["report_metadata"]["org_name"], "google.com");
    assert_eq!(reports[0]["records"].as_array().map(Vec::len), Some(3));
    assert_eq!(reports[0]["records"][1]["row"]["source_ip"], "2001:db8:4860:4864:20::25");
    assert_eq!(reports[1]["report_metadata"]["org_name"], "Outlook.com");
    assert_eq!(
        reports[1]["records"][1]["row"]["policy_evaluated"]["reasons"][0]["type"],
        "sampled_out"
    );

    let output = mox(None, &["dmarc", "parsereportmsg", &testdata("no-report.eml")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).ends_with("no-report.eml: no DMARC report found in message\n"));

    let output = mox(None, &["dmarc", "parsereportmsg"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn dmarc_help() {
    let output = mox(None, &["help", "dmarc", "lookup"]);
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    assert!(
        help.contains("Lookup dmarc policy for domain, a DNS TXT record at _dmarc.<domain>"),
        "{help}"
    );
    assert!(help.contains("usage: mox dmarc lookup <domain>"), "{help}");
    let output = mox(None, &["help"]);
    let list = stdout(&output);
    assert!(list.contains("mox dmarc parsereportmsg <message>..."), "{list}");
}

#[test]
fn dmarc_verify_message_on_stdin() {
    // A message signed by example.com with a fresh key, published with the policies.
    let key = dkim::PrivateKey::generate_ed25519().expect("key");
    let record = dkim::Record::for_public_key(&key.public_key()).to_string();
    let signer = dkim::Signer::new(
        dns::Domain::parse("example.com").expect("domain"),
        dkim::Selector::parse("s1").expect("selector"),
        key,
    );
    // LF line endings, as a saved message often has.
    let message =
        "From: Jane <jane@mail.example.com>\nTo: bob@example.org\nSubject: hi\n\nHello.\n";
    let headers =
        dkim::sign(&[signer], message.as_bytes(), std::time::SystemTime::now()).expect("sign");
    let signed = [headers.replace("\r\n", "\n").as_bytes(), message.as_bytes()].concat();
    let zone = format!(
        r#"s1._domainkey.example.com TXT "{record}"
           example.com TXT "v=spf1 ip6:2001:db8::/32 -all"
           _dmarc.example.com TXT "v=DMARC1; p=quarantine; sp=reject; adkim=s""#
    );
    let server =
        DnsTestServer::start_on_thread(MockResolver::from_zone(&zone).expect("zone")).expect("dns");

    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mox"))
            .env_remove("MOX_DNS_SERVER")
            .env_remove("MOX_LOG")
            .arg(format!("--dns-server={}", server.addr()))
            .args(["dmarc", "verify"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running mox");
        child.stdin.take().expect("stdin").write_all(&signed).expect("writing message");
        child.wait_with_output().expect("mox output")
    };

    // adkim=s: d=example.com does not align with mail.example.com; SPF (relaxed) does.
    let output = run(&["2001:db8::25", "bounce@example.com", "mx.example.com"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "spf=pass smtp.mailfrom=example.com");
    assert!(lines[1].starts_with("dkim=pass header.d=example.com header.s=s1"), "{out}");
    assert_eq!(lines[2], "dmarc=pass (p=reject dis=none) header.from=mail.example.com");
    assert_eq!(
        lines[3],
        "dmarc record at domain example.com: v=DMARC1; p=quarantine; sp=reject; adkim=s"
    );

    // From another address SPF fails, and the subdomain policy applies.
    let output = run(&["198.51.100.7", "bounce@example.com", "mx.example.com"]);
    let out = stdout(&output);
    assert!(out.contains("spf=fail smtp.mailfrom=example.com\n"), "{out}");
    assert!(
        out.contains("dmarc=fail (p=reject dis=reject) header.from=mail.example.com\n"),
        "{out}"
    );

    let output = run(&["not-an-ip", "", ""]);
    assert_eq!(output.status.code(), Some(2));
}
