//! `mox spf check|lookup|parse` end to end: the built binary resolves through a loopback DNS
//! server (hickory-server, `test_support::DnsTestServer`) that serves a zone, given with the
//! global `--dns-server` option.

use std::process::{Command, Output, Stdio};

use dns::{Domain, MockResolver, Record};
use test_support::DnsTestServer;

const ZONE: &str = r#"
    example.com            TXT   "v=spf1 mx include:_spf.example.net a:foo:bar/baz.example.com -all exp=why.example.com"
    example.com            TXT   "google-site-verification=abc"
    example.com            MX    10 mail.example.com
    mail.example.com       A     192.0.2.25
    _spf.example.net       TXT   "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all"
    why.example.com        TXT   "%{i} is not one of %{d}'s designated mail servers"
    signed.example         TXT   "v=spf1 ~all"
    signed.example         AUTHENTIC
    loop.example           TXT   "v=spf1 include:loop2.example -all"
    loop2.example          TXT   "v=spf1 include:loop.example -all"
    broken.example         TXT   "v=spf1 ip4:192.0.2.1/33 -all"
    down.example           TXT   SERVFAIL
"#;

fn server() -> DnsTestServer {
    let mut zone = MockResolver::from_zone(ZONE).expect("zone");
    // A name zone text cannot hold: SPF looks up names with any printable character.
    let odd = Domain::parse_lenient("foo:bar/baz.example.com").expect("lenient name");
    zone.add(&odd, Record::A("203.0.113.9".parse().expect("ip")));
    DnsTestServer::start_on_thread(zone).expect("dns server")
}

fn mox(server: &DnsTestServer, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mox"));
    for name in ["MOXCONF", "MOX_LOG", "MOX_DNS_SERVER", "NO_COLOR"] {
        command.env_remove(name);
    }
    command
        .arg(format!("--dns-server={}", server.addr()))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running mox")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

#[test]
fn spf_lookup_prints_the_record_over_real_dns() {
    let server = server();
    let output = mox(&server, &["spf", "lookup", "example.com"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "v=spf1 mx include:_spf.example.net a:foo:bar/baz.example.com -all \
         exp=why.example.com\n(without dnssec)\n"
    );
    assert!(server.received_for("example.com").iter().any(|q| q.record_type == "TXT"));

    let output = mox(&server, &["spf", "lookup", "signed.example"]);
    assert_eq!(stdout(&output), "v=spf1 ~all\n(with dnssec)\n");

    let output = mox(&server, &["spf", "lookup", "nowhere.example"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.starts_with("mox: spf lookup for nowhere.example: no SPF record"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let output = mox(&server, &["spf", "lookup", "broken.example"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("invalid CIDR prefix length \"33\""), "{}", stderr(&output));
}

#[test]
fn spf_check_prints_result_mechanism_and_explanation_over_real_dns() {
    let server = server();
    let check = |ip: &str| {
        let output = mox(&server, &["spf", "check", "example.com", ip]);
        assert_eq!(output.status.code(), Some(0), "{ip}: {}", stderr(&output));
        stdout(&output)
    };
    assert_eq!(check("192.0.2.25"), "status: pass\nmechanism: mx\n");
    assert_eq!(check("198.51.100.77"), "status: pass\nmechanism: include:_spf.example.net\n");
    assert_eq!(check("2001:db8::5"), "status: pass\nmechanism: include:_spf.example.net\n");
    // Through the hickory adapter to the server and back with ':' and '/' in a label.
    assert_eq!(check("203.0.113.9"), "status: pass\nmechanism: a:foo:bar/baz.example.com\n");
    assert_eq!(
        check("192.0.2.99"),
        "explanation: 192.0.2.99 is not one of example.com's designated mail servers\n\
         status: fail\nmechanism: -all\n"
    );
    let asked: Vec<String> = server.received().into_iter().map(|q| q.name).collect();
    // The server logs names in presentation form, with `:` and `/` escaped.
    assert!(asked.iter().any(|name| name == r"foo\:bar\/baz.example.com"), "{asked:?}");
    assert!(asked.iter().any(|name| name == "why.example.com"), "{asked:?}");

    let output = mox(&server, &["spf", "check", "down.example", "192.0.2.1"]);
    let out = stdout(&output);
    assert!(out.starts_with("error: down.example: temporary failure"), "{out}");
    assert!(out.ends_with("\nstatus: temperror\n"), "{out}");

    let output = mox(&server, &["spf", "check", "loop.example", "192.0.2.1"]);
    let out = stdout(&output);
    assert!(out.contains("loops back"), "{out}");
    assert!(out.ends_with("status: permerror\nmechanism: include:loop2.example\n"), "{out}");
}

#[test]
fn spf_check_usage_errors_exit_2() {
    let server = server();
    let output = mox(&server, &["spf", "check", "example.com", "not-an-ip"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).starts_with("mox: ip \"not-an-ip\": "), "{}", stderr(&output));
    let output = mox(&server, &["spf", "check", "example.com"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("usage: mox spf check <domain> <ip>"), "{}", stderr(&output));
}

#[test]
fn spf_parse_is_silent_for_valid_records_and_exits_1_with_the_error() {
    let server = server();
    let output = mox(&server, &["spf", "parse", "v=spf1 mx a:%{d} ip6:2001:db8::/32 ~all"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "");

    let output = mox(&server, &["spf", "parse", "v=spf1 mx -all moo"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "mox: parsing record: unknown mechanism \"moo\" at position 15 (in \"moo\")\n"
    );
    assert!(server.received().is_empty(), "parse does no lookups");
}

#[test]
fn help_lists_the_spf_commands() {
    let server = server();
    let output = mox(&server, &["help"]);
    let out = stdout(&output);
    assert!(out.contains("\n  mox spf check <domain> <ip>\n\tCheck the status of IP"), "{out}");
    assert!(out.contains("\n  mox spf lookup <domain>\n\tLookup the SPF record"), "{out}");
    assert!(out.contains("\n  mox spf parse <txtrecord>\n\tParse the record"), "{out}");
    let output = mox(&server, &["help", "spf", "check"]);
    let out = stdout(&output);
    assert!(out.starts_with("usage: mox spf check <domain> <ip>\n"), "{out}");
    assert!(out.contains("explanation may be provided by the policy"), "{out}");
}
