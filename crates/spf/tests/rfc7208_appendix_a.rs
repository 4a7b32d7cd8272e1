//! RFC 7208 Appendix A, "Extended Examples", replayed against its DNS setup.

use std::net::IpAddr;

use dns::MockResolver;
use spf::{SpfResult, Verifier};

/// The DNS setup of Appendix A, in `MockResolver` zone syntax.
const APPENDIX_A_ZONE: &str = r#"
    example.com                 MX    10 mail-a.example.com
    example.com                 MX    20 mail-b.example.com
    example.com                 A     192.0.2.10
    example.com                 A     192.0.2.11
    amy.example.com             A     192.0.2.65
    bob.example.com             A     192.0.2.66
    mail-a.example.com          A     192.0.2.129
    mail-b.example.com          A     192.0.2.130
    www.example.com             CNAME example.com
    example.org                 MX    10 mail-c.example.org
    mail-c.example.org          A     192.0.2.140
    10.2.0.192.in-addr.arpa     PTR   example.com
    11.2.0.192.in-addr.arpa     PTR   example.com
    65.2.0.192.in-addr.arpa     PTR   amy.example.com
    66.2.0.192.in-addr.arpa     PTR   bob.example.com
    129.2.0.192.in-addr.arpa    PTR   mail-a.example.com
    130.2.0.192.in-addr.arpa    PTR   mail-b.example.com
    140.2.0.192.in-addr.arpa    PTR   mail-c.example.org
    4.0.0.10.in-addr.arpa       PTR   bob.example.com
"#;

/// Addresses tried against every record of A.1; the ones not listed as passing must fail.
const CLIENTS: [&str; 11] = [
    "192.0.2.10",
    "192.0.2.11",
    "192.0.2.65",
    "192.0.2.66",
    "192.0.2.129",
    "192.0.2.130",
    "192.0.2.131",
    "192.0.2.140",
    "192.0.2.142",
    "192.0.2.200",
    "10.0.0.4",
];

fn zone_with(extra: &str) -> MockResolver {
    MockResolver::from_zone(&format!("{APPENDIX_A_ZONE}\n{extra}")).expect("zone")
}

async fn result(zone: &MockResolver, ip: &str, mail_from: &str) -> SpfResult {
    let ip: IpAddr = ip.parse().expect("ip");
    let verifier = Verifier::new(zone);
    verifier.verify_mail_from(ip, "client.example.net", mail_from).await.expect("valid").result()
}

/// A.1: records for example.com, and the hosts that pass.
#[tokio::test]
async fn a1_simple_examples() {
    let cases: [(&str, &[&str]); 9] = [
        ("v=spf1 +all", &CLIENTS),
        ("v=spf1 a -all", &["192.0.2.10", "192.0.2.11"]),
        // No sending hosts pass since example.org has no A records.
        ("v=spf1 a:example.org -all", &[]),
        ("v=spf1 mx -all", &["192.0.2.129", "192.0.2.130"]),
        ("v=spf1 mx:example.org -all", &["192.0.2.140"]),
        ("v=spf1 mx mx:example.org -all", &["192.0.2.129", "192.0.2.130", "192.0.2.140"]),
        // Any host in 192.0.2.128/30 or 192.0.2.140/30.
        (
            "v=spf1 mx/30 mx:example.org/30 -all",
            &["192.0.2.129", "192.0.2.130", "192.0.2.131", "192.0.2.140", "192.0.2.142"],
        ),
        // 192.0.2.65 passes (valid reverse DNS in example.com), 192.0.2.140 fails (valid, but
        // in example.org), 10.0.0.4 fails (its reverse name bob.example.com does not have it).
        (
            "v=spf1 ptr -all",
            &["192.0.2.10", "192.0.2.11", "192.0.2.65", "192.0.2.66", "192.0.2.129", "192.0.2.130"],
        ),
        // 192.0.2.65 fails, 192.0.2.129 passes.
        (
            "v=spf1 ip4:192.0.2.128/28 -all",
            &["192.0.2.129", "192.0.2.130", "192.0.2.131", "192.0.2.140", "192.0.2.142"],
        ),
    ];
    for (record, passing) in cases {
        let zone = zone_with(&format!("example.com TXT \"{record}\""));
        for ip in CLIENTS {
            let expected = if passing.contains(&ip) { SpfResult::Pass } else { SpfResult::Fail };
            let got = result(&zone, ip, "someone@example.com").await;
            assert_eq!(got, expected, "{record:?} for {ip}");
        }
    }
}

/// A.2: example.org's servers are the union of example.com's and example.net's, and three
/// more domains redirect to example.org.
#[tokio::test]
async fn a2_multiple_domain_example() {
    let zone = zone_with(
        r#"
        example.com     TXT "v=spf1 a -all"
        example.net     TXT "v=spf1 ip4:198.51.100.0/24 -all"
        example.org     TXT "v=spf1 include:example.com include:example.net -all"
        la.example.org  TXT "v=spf1 redirect=example.org"
        ny.example.org  TXT "v=spf1 redirect=example.org"
        sf.example.org  TXT "v=spf1 redirect=example.org"
        "#,
    );
    for sender in ["a@example.org", "b@la.example.org", "c@ny.example.org", "d@sf.example.org"] {
        assert_eq!(result(&zone, "192.0.2.10", sender).await, SpfResult::Pass, "{sender}");
        assert_eq!(result(&zone, "198.51.100.20", sender).await, SpfResult::Pass, "{sender}");
        // mail-c is example.org's MX, but its record does not name it.
        assert_eq!(result(&zone, "192.0.2.140", sender).await, SpfResult::Fail, "{sender}");
    }
}

/// A.3: users who mail from arbitrary servers (mobile-users) or from their own servers
/// (remote-users), in DNSBL style with `exists`.
#[tokio::test]
async fn a3_dnsbl_style_example() {
    let zone = zone_with(
        r#"
        example.com TXT "v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all"
        mobile-users._spf.example.com TXT "v=spf1 exists:%{l1r+}.%{d}"
        remote-users._spf.example.com TXT "v=spf1 exists:%{ir}.%{l1r+}.%{d}"
        mary.mobile-users._spf.example.com                A 127.0.0.2
        fred.mobile-users._spf.example.com                A 127.0.0.2
        15.15.168.192.joel.remote-users._spf.example.com  A 127.0.0.2
        16.15.168.192.joel.remote-users._spf.example.com  A 127.0.0.2
        "#,
    );
    // Mobile users send from anywhere, with or without a +suffix in the local-part.
    for sender in ["mary@example.com", "fred@example.com", "mary+lists@example.com"] {
        assert_eq!(result(&zone, "203.0.113.5", sender).await, SpfResult::Pass, "{sender}");
    }
    // Joel only from his own servers.
    assert_eq!(result(&zone, "192.168.15.15", "joel@example.com").await, SpfResult::Pass);
    assert_eq!(result(&zone, "192.168.15.16", "joel@example.com").await, SpfResult::Pass);
    assert_eq!(result(&zone, "192.168.15.17", "joel@example.com").await, SpfResult::Fail);
    assert_eq!(result(&zone, "192.168.15.15", "mary@example.com").await, SpfResult::Pass);
    assert_eq!(result(&zone, "203.0.113.5", "bob@example.com").await, SpfResult::Fail);
    // The MX hosts send for everyone.
    assert_eq!(result(&zone, "192.0.2.129", "bob@example.com").await, SpfResult::Pass);
}

/// A.4: the IP must be in 192.0.2.0/24 *and* have reverse DNS, by De Morgan's law with
/// `-include` and `+all`.
#[tokio::test]
async fn a4_multiple_requirements_example() {
    let records = r#"
        example.com           TXT "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all"
        ip4._spf.example.com  TXT "v=spf1 -ip4:192.0.2.0/24 +all"
    "#;
    // As printed, "-ptr" in ptr._spf.example.com checks names within ptr._spf.example.com (its
    // <domain>; RFC 7208 §5.5), which no reverse name is, so every client fails.
    let as_printed =
        zone_with(&format!("{records}\nptr._spf.example.com TXT \"v=spf1 -ptr +all\""));
    for ip in ["192.0.2.65", "192.0.2.140", "198.51.100.1"] {
        assert_eq!(result(&as_printed, ip, "a@example.com").await, SpfResult::Fail, "{ip}");
    }
    // With the target the example means, example.com, the requirements combine as intended.
    let intended =
        zone_with(&format!("{records}\nptr._spf.example.com TXT \"v=spf1 -ptr:example.com +all\""));
    // In range, reverse DNS valid and in example.com.
    assert_eq!(result(&intended, "192.0.2.65", "a@example.com").await, SpfResult::Pass);
    // In range, reverse DNS valid but in example.org.
    assert_eq!(result(&intended, "192.0.2.140", "a@example.com").await, SpfResult::Fail);
    // In range, no reverse DNS.
    assert_eq!(result(&intended, "192.0.2.200", "a@example.com").await, SpfResult::Fail);
    // Out of range, although its PTR claims bob.example.com.
    assert_eq!(result(&intended, "10.0.0.4", "a@example.com").await, SpfResult::Fail);
}
