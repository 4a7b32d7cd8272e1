//! `HickoryResolver` against real DNS on loopback: `test_support::DnsTestServer` (hickory-server
//! answering from a `MockResolver` zone) over UDP and TCP, for every record type and every
//! failure kind.
// Test code: a failed unwrap is a failed test (clippy allows it in #[test] fns, not helpers).
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use dns::{
    Domain, HickoryResolver, LookupError, MockResolver, Mx, Record, RecordType, Resolver,
    TemporaryKind, Tlsa,
};
use test_support::DnsTestServer;

const TLSA_SHA256: &str = "8f2a3c9e1d0b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29";

const ZONE: &str = r#"
example.com               A      192.0.2.1
example.com               A      192.0.2.2
example.com               AAAA   2001:db8::1
example.com               TXT    "v=spf1 " "ip4:192.0.2.0/24 -all"
example.com               MX     20 mx2.example.com
example.com               MX     10 mx1.example.com
example.com               MX     30 mx3.example.com
example.com               AUTHENTIC
mx1.example.com           A      192.0.2.25
nullmx.example.com        MX     0 .
v4only.example.com        A      192.0.2.5
v6only.example.com        AAAA   2001:db8::6
1.2.0.192.in-addr.arpa    PTR    mail.example.com
1.2.0.192.in-addr.arpa    PTR    other.example.com
www.example.com           CNAME  example.com
www.example.com           AUTHENTIC
a.chain.example           CNAME  b.chain.example
b.chain.example           CNAME  c.chain.example
c.chain.example           A      192.0.2.3
c.chain.example           TXT    "end of chain"
dangling.example.com      CNAME  nowhere.example.com
loop1.example.com         CNAME  loop2.example.com
loop2.example.com         CNAME  loop1.example.com
bücher.example            A      192.0.2.4
bücher.example            MX     10 mail.bücher.example
deep.below.example.net    A      192.0.2.9
servfail.example.com      TXT    SERVFAIL
servfail.example.com      A      192.0.2.7
refused.example.com       TXT    REFUSED
timeout.example.com       *      TIMEOUT
gone.example.com          A      192.0.2.8
gone.example.com          NXDOMAIN
"#;

fn d(name: &str) -> Domain {
    Domain::parse(name).unwrap()
}

fn zone() -> MockResolver {
    let mut zone = MockResolver::from_zone(ZONE).unwrap();
    zone.add_zone(&format!("_25._tcp.mx1.example.com TLSA 3 1 1 {TLSA_SHA256}")).unwrap();
    zone.add_zone("_25._tcp.mx1.example.com TLSA 2 0 0 00ff7f80").unwrap();
    zone.add_zone("_imaps._tcp.example.com SRV 0 1 993 mail.example.com").unwrap();
    zone.add_zone("_pop3._tcp.example.com SRV 0 0 0 .").unwrap();
    // Over one 255-octet character-string: split on the wire, joined by the client.
    zone.add(&d("long.example.com"), Record::Txt(long_text(300)));
    // Far over a UDP answer (even with EDNS): truncated, so the client must retry over TCP.
    zone.add(&d("big.example.com"), Record::Txt(long_text(4000)));
    let v6 = Domain::reverse_lookup_name("2001:db8::567:89ab".parse().unwrap());
    zone.add(&v6, Record::Ptr(d("mail6.example.com")));
    zone
}

/// Text of `len` bytes whose content shows where a split or a reordering would go wrong.
fn long_text(len: usize) -> String {
    (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect()
}

async fn setup() -> (DnsTestServer, HickoryResolver) {
    let server = DnsTestServer::start(zone()).await.unwrap();
    let resolver = HickoryResolver::with_server(server.addr()).unwrap();
    (server, resolver)
}

#[tokio::test]
async fn a_and_aaaa_records() {
    let (server, resolver) = setup().await;
    let a = resolver.lookup_a(&d("example.com")).await.unwrap();
    assert_eq!(a.records, [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)]);
    let aaaa = resolver.lookup_aaaa(&d("example.com")).await.unwrap();
    assert_eq!(aaaa.records, ["2001:db8::1".parse::<Ipv6Addr>().unwrap()]);
    // Over UDP, since the answers are small: one question each.
    let received = server.received();
    let udp = received.iter().filter(|q| !q.tcp).count();
    assert_eq!((received.len(), udp), (2, 2), "{received:?}");
}

#[tokio::test]
async fn lookup_ip_combines_both_families() {
    let (_server, resolver) = setup().await;
    let both = resolver.lookup_ip(&d("example.com")).await.unwrap();
    assert_eq!(
        both.records,
        [
            IpAddr::from([192, 0, 2, 1]),
            IpAddr::from([192, 0, 2, 2]),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        ]
    );
    let v4 = resolver.lookup_ip(&d("v4only.example.com")).await.unwrap();
    assert_eq!(v4.records, [IpAddr::from([192, 0, 2, 5])]);
    let v6 = resolver.lookup_ip(&d("v6only.example.com")).await.unwrap();
    assert_eq!(v6.records, ["2001:db8::6".parse::<IpAddr>().unwrap()]);
    let none = resolver.lookup_ip(&d("nowhere.example.com")).await.unwrap_err();
    assert!(matches!(none, LookupError::NxDomain { .. }), "{none:?}");
}

#[tokio::test]
async fn txt_strings_are_concatenated() {
    let (_server, resolver) = setup().await;
    let txt = resolver.lookup_txt(&d("example.com")).await.unwrap();
    assert_eq!(txt.records, ["v=spf1 ip4:192.0.2.0/24 -all"]);
    // 300 bytes travel as two character-strings (255 + 45).
    let long = resolver.lookup_txt(&d("long.example.com")).await.unwrap();
    assert_eq!(long.records, [long_text(300)]);
}

#[tokio::test]
async fn large_txt_falls_back_to_tcp() {
    let (server, resolver) = setup().await;
    let big = resolver.lookup_txt(&d("big.example.com")).await.unwrap();
    assert_eq!(big.records.len(), 1);
    assert_eq!(big.records[0].len(), 4000);
    assert_eq!(big.records[0], long_text(4000));
    let asked = server.received_for("big.example.com");
    let transports: Vec<bool> = asked.iter().map(|q| q.tcp).collect();
    assert_eq!(transports, [false, true], "UDP first, truncated, then TCP: {asked:?}");
}

#[tokio::test]
async fn mx_records_in_server_order_with_null_mx() {
    let (_server, resolver) = setup().await;
    let mx = resolver.lookup_mx(&d("example.com")).await.unwrap();
    // The trait promises the server's order; sorting by preference is the caller's job.
    let mut by_preference = mx.records.clone();
    by_preference.sort_by_key(|m| m.preference);
    assert_eq!(
        by_preference,
        [
            Mx { preference: 10, exchange: Some(d("mx1.example.com")) },
            Mx { preference: 20, exchange: Some(d("mx2.example.com")) },
            Mx { preference: 30, exchange: Some(d("mx3.example.com")) },
        ]
    );
    assert_eq!(
        mx.records.iter().map(|m| m.preference).collect::<Vec<_>>(),
        [20, 10, 30],
        "records come back in the order the server sent them"
    );
    let null = resolver.lookup_mx(&d("nullmx.example.com")).await.unwrap();
    assert_eq!(null.records, [Mx { preference: 0, exchange: None }]);
}

#[tokio::test]
async fn ptr_records_for_ipv4_and_ipv6() {
    let (server, resolver) = setup().await;
    let v4 = resolver.lookup_ptr("192.0.2.1".parse().unwrap()).await.unwrap();
    assert_eq!(v4.records, [d("mail.example.com"), d("other.example.com")]);
    let v6 = resolver.lookup_ptr("2001:db8::567:89ab".parse().unwrap()).await.unwrap();
    assert_eq!(v6.records, [d("mail6.example.com")]);
    let asked: Vec<String> = server.received().into_iter().map(|q| q.name).collect();
    assert_eq!(
        asked,
        [
            "1.2.0.192.in-addr.arpa",
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        ]
    );
    let missing = resolver.lookup_ptr("192.0.2.99".parse().unwrap()).await.unwrap_err();
    assert!(matches!(missing, LookupError::NxDomain { .. }), "{missing:?}");
}

#[tokio::test]
async fn cname_lookup_and_chains_followed() {
    let (_server, resolver) = setup().await;
    let cname = resolver.lookup_cname(&d("www.example.com")).await.unwrap();
    assert_eq!(cname.records, [d("example.com")]);
    let first_hop = resolver.lookup_cname(&d("a.chain.example")).await.unwrap();
    assert_eq!(first_hop.records, [d("b.chain.example")], "a CNAME lookup is not followed");

    let a = resolver.lookup_a(&d("a.chain.example")).await.unwrap();
    assert_eq!(a.records, [Ipv4Addr::new(192, 0, 2, 3)]);
    let txt = resolver.lookup_txt(&d("a.chain.example")).await.unwrap();
    assert_eq!(txt.records, ["end of chain"]);
    let via_www = resolver.lookup_mx(&d("www.example.com")).await.unwrap();
    assert_eq!(via_www.records.len(), 3);

    // A name without a CNAME has no CNAME records; it is not NXDOMAIN.
    let no_cname = resolver.lookup_cname(&d("example.com")).await.unwrap_err();
    assert!(matches!(no_cname, LookupError::NoRecords { record_type: RecordType::Cname, .. }));
}

#[tokio::test]
async fn cname_to_nowhere_and_loops() {
    let (_server, resolver) = setup().await;
    let dangling = resolver.lookup_a(&d("dangling.example.com")).await.unwrap_err();
    assert!(matches!(dangling, LookupError::NxDomain { .. }), "{dangling:?}");
    assert_eq!(dangling.name(), &d("dangling.example.com"), "the error names what was asked");
    let looped = resolver.lookup_a(&d("loop1.example.com")).await.unwrap_err();
    assert!(looped.is_temporary(), "{looped:?}");
}

#[tokio::test]
async fn tlsa_bytes_are_exact() {
    let (_server, resolver) = setup().await;
    let tlsa = resolver.lookup_tlsa(&d("_25._tcp.mx1.example.com")).await.unwrap();
    let sha256: Vec<u8> = (0..TLSA_SHA256.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&TLSA_SHA256[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(
        tlsa.records,
        [
            Tlsa { usage: 3, selector: 1, matching_type: 1, data: sha256 },
            Tlsa { usage: 2, selector: 0, matching_type: 0, data: vec![0x00, 0xff, 0x7f, 0x80] },
        ]
    );
}

#[tokio::test]
async fn nxdomain_and_no_records_are_told_apart() {
    let (_server, resolver) = setup().await;
    let nx = resolver.lookup_txt(&d("nowhere.example.com")).await.unwrap_err();
    assert_eq!(nx, LookupError::NxDomain { name: d("nowhere.example.com"), authentic: false });
    let nodata = resolver.lookup_txt(&d("mx1.example.com")).await.unwrap_err();
    assert_eq!(
        nodata,
        LookupError::NoRecords {
            name: d("mx1.example.com"),
            record_type: RecordType::Txt,
            authentic: false
        }
    );
    // An empty non-terminal exists: "no records", not NXDOMAIN.
    let ent = resolver.lookup_a(&d("below.example.net")).await.unwrap_err();
    assert!(matches!(ent, LookupError::NoRecords { .. }), "{ent:?}");
    // Injected NXDOMAIN wins over the records the name has.
    let gone = resolver.lookup_a(&d("gone.example.com")).await.unwrap_err();
    assert!(matches!(gone, LookupError::NxDomain { .. }), "{gone:?}");
}

#[tokio::test]
async fn servfail_is_temporary_and_fast() {
    let (server, resolver) = setup().await;
    let started = Instant::now();
    let err = resolver.lookup_txt(&d("servfail.example.com")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            err,
            LookupError::Temporary {
                kind: TemporaryKind::ServFail,
                record_type: RecordType::Txt,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(elapsed < Duration::from_secs(1), "SERVFAIL took {elapsed:?}");
    // Tried twice in all (once more in case the failure was fleeting), not three times.
    assert_eq!(server.received_for("servfail.example.com").len(), 2);
    // Failures are not cached: asking again asks the server again.
    let again = resolver.lookup_txt(&d("servfail.example.com")).await.unwrap_err();
    assert!(again.is_temporary());
    assert_eq!(server.received_for("servfail.example.com").len(), 4);
    // Only TXT is broken at that name.
    let a = resolver.lookup_a(&d("servfail.example.com")).await.unwrap();
    assert_eq!(a.records, [Ipv4Addr::new(192, 0, 2, 7)]);
}

#[tokio::test]
async fn refused_is_temporary() {
    let (_server, resolver) = setup().await;
    let err = resolver.lookup_txt(&d("refused.example.com")).await.unwrap_err();
    assert!(matches!(err, LookupError::Temporary { kind: TemporaryKind::Refused, .. }), "{err:?}");
}

#[tokio::test]
async fn no_answer_is_a_timeout() {
    let (server, mut resolver) = setup().await;
    resolver.set_timeout(Duration::from_millis(200)).unwrap();
    let started = Instant::now();
    let err = resolver.lookup_a(&d("timeout.example.com")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, LookupError::Temporary { kind: TemporaryKind::Timeout, .. }), "{err:?}");
    // Two tries of 200 ms each. (A try can also resend over UDP, but only after hickory's
    // 333 ms retransmit floor, which a 200 ms timeout never reaches.)
    assert_eq!(server.received_for("timeout.example.com").len(), 2);
    assert!(elapsed >= Duration::from_millis(400), "gave up after {elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "timeout took {elapsed:?}");
    // The resolver still works after a timeout.
    let a = resolver.lookup_a(&d("example.com")).await.unwrap();
    assert_eq!(a.records.len(), 2);
}

#[tokio::test]
async fn authentic_only_for_authentic_names_and_ad_bit_is_requested() {
    let (server, resolver) = setup().await;
    let signed = resolver.lookup_a(&d("example.com")).await.unwrap();
    assert!(signed.authentic);
    let unsigned = resolver.lookup_a(&d("mx1.example.com")).await.unwrap();
    assert!(!unsigned.authentic);
    // Through a CNAME both names must be authentic: www is, example.com is.
    let via_cname = resolver.lookup_a(&d("www.example.com")).await.unwrap();
    assert!(via_cname.authentic);
    // a.chain.example is not.
    let chain = resolver.lookup_a(&d("a.chain.example")).await.unwrap();
    assert!(!chain.authentic);
    // The server sets AD only when asked: every query we sent asked (one per lookup; the
    // server follows the CNAME).
    let received = server.received();
    let asked = received.iter().filter(|q| q.authentic_data).count();
    assert_eq!((received.len(), asked), (4, 4), "{received:?}");
}

#[tokio::test]
async fn unicode_names_are_looked_up_in_ascii() {
    let (server, resolver) = setup().await;
    let a = resolver.lookup_a(&d("Bücher.example")).await.unwrap();
    assert_eq!(a.records, [Ipv4Addr::new(192, 0, 2, 4)]);
    let mx = resolver.lookup_mx(&d("xn--bcher-kva.example")).await.unwrap();
    assert_eq!(mx.records, [Mx { preference: 10, exchange: Some(d("mail.bücher.example")) }]);
    assert_eq!(
        mx.records[0].exchange.as_ref().map(|e| e.unicode().to_string()),
        Some("mail.bücher.example".into())
    );
    let asked: Vec<String> = server.received().into_iter().map(|q| q.name).collect();
    assert_eq!(asked, ["xn--bcher-kva.example", "xn--bcher-kva.example"]);
}

#[tokio::test]
async fn answers_are_cached() {
    let (server, resolver) = setup().await;
    for _ in 0..3 {
        resolver.lookup_txt(&d("example.com")).await.unwrap();
    }
    assert_eq!(server.received_for("example.com").len(), 1);
}

#[test]
fn server_specs_are_checked() {
    for junk in ["", "dns.example", "127.0.0.1:", "127.0.0.1:99999", "::1:53x", "[::1", "1.2.3"] {
        let err = HickoryResolver::with_server_spec(junk).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("invalid DNS server {:?}: expected IP or IP:PORT", junk)),
            "{junk:?}: {message}"
        );
    }
    let resolver = HickoryResolver::with_server_spec(" 127.0.0.1:5353 ").unwrap();
    assert_eq!(resolver.servers(), ["127.0.0.1:5353".parse().unwrap()]);
    let resolver = HickoryResolver::new(Some("[::1]:53")).unwrap();
    assert_eq!(resolver.servers(), ["[::1]:53".parse().unwrap()]);
}

#[test]
fn system_configuration_builds_or_explains() {
    // The machine's /etc/resolv.conf decides; nothing is looked up.
    match HickoryResolver::from_system_conf() {
        Ok(resolver) => assert!(!resolver.servers().is_empty(), "a resolver with no servers"),
        Err(e) => assert!(
            e.to_string().starts_with("reading the system DNS configuration"),
            "unexpected error: {e}"
        ),
    }
}

#[test]
fn synchronous_callers_can_use_a_server_thread() {
    let server = DnsTestServer::start_on_thread(zone()).unwrap();
    let addr = server.addr();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let txt = runtime.block_on(async {
        let resolver = HickoryResolver::with_server(addr).unwrap();
        resolver.lookup_txt(&d("example.com")).await
    });
    assert_eq!(txt.unwrap().records, ["v=spf1 ip4:192.0.2.0/24 -all"]);
    drop(server);
    // Stopped: the port no longer answers (the UDP socket is closed, so it can be bound again).
    assert!(std::net::UdpSocket::bind(addr).is_ok(), "{addr} still bound after drop");
}

#[tokio::test]
async fn srv_records_with_the_not_offered_target() {
    let (_server, resolver) = setup().await;
    let srv = resolver.lookup_srv(&d("_imaps._tcp.example.com")).await.unwrap();
    assert_eq!(
        srv.records,
        [dns::Srv { priority: 0, weight: 1, port: 993, target: Some(d("mail.example.com")) }]
    );
    let none = resolver.lookup_srv(&d("_pop3._tcp.example.com")).await.unwrap();
    assert_eq!(none.records, [dns::Srv { priority: 0, weight: 0, port: 0, target: None }]);
    let missing = resolver.lookup_srv(&d("_submissions._tcp.example.com")).await;
    assert!(missing.unwrap_err().is_not_found());
}
