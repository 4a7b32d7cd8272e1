//! `HickoryResolver` against Debian's dnsmasq (package `dnsmasq-base`), an independent DNS
//! server, started by the test on 127.0.0.1 with a free port and its records on the command
//! line. dnsmasq differs from `DnsTestServer` in ways a client must cope with: no SOA in
//! negative answers, REFUSED for names outside its local zone, TXT strings as configured.
// Test code: a failed unwrap is a failed test (clippy allows it in #[test] fns, not helpers).
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dns::{
    Domain, HickoryResolver, LookupError, Mx, RecordType, Resolver, Srv, TemporaryKind, Tlsa,
};

/// A dnsmasq process, killed when dropped.
struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 250-octet strings, eight of them: 2000 octets of TXT, over the 1232 octets of EDNS a UDP
/// answer may have, so the answer comes over TCP.
fn big_txt_strings() -> Vec<String> {
    (0..8).map(|i| char::from(b'a' + i).to_string().repeat(250)).collect()
}

fn start_dnsmasq() -> Dnsmasq {
    let port = test_support::free_port().unwrap();
    let args = [
        "--keep-in-foreground".to_string(),
        "--conf-file=".into(), // no /etc/dnsmasq.conf
        "--no-resolv".into(),
        "--no-hosts".into(),
        format!("--port={port}"),
        "--listen-address=127.0.0.1".into(),
        "--bind-interfaces".into(),
        "--pid-file=".into(),
        "--log-facility=-".into(),
        // Names under example.test are answered from the records below, NXDOMAIN otherwise;
        // other names get REFUSED (there is no upstream server).
        "--local=/example.test/".into(),
        "--host-record=host.example.test,192.0.2.10,2001:db8::10".into(),
        "--host-record=v4.example.test,192.0.2.11".into(),
        // Quotes are for dnsmasq.conf; on the command line each comma-separated field is one
        // character-string as it stands.
        "--txt-record=example.test,v=spf1 ,ip4:192.0.2.0/24 -all".into(),
        format!("--txt-record=big.example.test,{}", big_txt_strings().join(",")),
        "--mx-host=example.test,mx1.example.test,10".into(),
        "--mx-host=example.test,mx2.example.test,20".into(),
        "--ptr-record=10.2.0.192.in-addr.arpa,host.example.test".into(),
        "--cname=www.example.test,host.example.test".into(),
        // TLSA is RR type 52: usage 3, selector 1, matching type 1, then the data.
        "--dns-rr=_25._tcp.host.example.test,52,030101c0ffee00ff".into(),
        // SRV (RFC 6186): a service at host:993, and one decidedly not offered (target ".").
        "--srv-host=_imaps._tcp.example.test,host.example.test,993,0,1".into(),
        "--srv-host=_pop3._tcp.example.test".into(),
    ];
    let child = Command::new("dnsmasq")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting dnsmasq: {e} (install Debian's dnsmasq-base for this test)")
        });
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let dnsmasq = Dnsmasq { child, addr };
    // dnsmasq binds UDP and TCP together; once TCP accepts, it answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "dnsmasq did not start listening on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    dnsmasq
}

fn d(name: &str) -> Domain {
    Domain::parse(name).unwrap()
}

#[tokio::test]
async fn records_from_dnsmasq() {
    let dnsmasq = start_dnsmasq();
    let resolver = HickoryResolver::with_server(dnsmasq.addr).unwrap();

    let a = resolver.lookup_a(&d("host.example.test")).await.unwrap();
    assert_eq!(a.records, [Ipv4Addr::new(192, 0, 2, 10)]);
    assert!(!a.authentic, "dnsmasq does not validate here");
    let aaaa = resolver.lookup_aaaa(&d("host.example.test")).await.unwrap();
    assert_eq!(aaaa.records, ["2001:db8::10".parse::<Ipv6Addr>().unwrap()]);

    let txt = resolver.lookup_txt(&d("example.test")).await.unwrap();
    assert_eq!(txt.records, ["v=spf1 ip4:192.0.2.0/24 -all"]);
    let big = resolver.lookup_txt(&d("big.example.test")).await.unwrap();
    assert_eq!(big.records, [big_txt_strings().concat()]);

    let mut mx = resolver.lookup_mx(&d("example.test")).await.unwrap().records;
    mx.sort_by_key(|m| m.preference);
    assert_eq!(
        mx,
        [
            Mx { preference: 10, exchange: Some(d("mx1.example.test")) },
            Mx { preference: 20, exchange: Some(d("mx2.example.test")) },
        ]
    );

    let ptr = resolver.lookup_ptr("192.0.2.10".parse().unwrap()).await.unwrap();
    assert_eq!(ptr.records, [d("host.example.test")]);

    let cname = resolver.lookup_cname(&d("www.example.test")).await.unwrap();
    assert_eq!(cname.records, [d("host.example.test")]);
    let via_cname = resolver.lookup_a(&d("www.example.test")).await.unwrap();
    assert_eq!(via_cname.records, [Ipv4Addr::new(192, 0, 2, 10)]);

    let tlsa = resolver.lookup_tlsa(&d("_25._tcp.host.example.test")).await.unwrap();
    assert_eq!(
        tlsa.records,
        [Tlsa {
            usage: 3,
            selector: 1,
            matching_type: 1,
            data: vec![0xc0, 0xff, 0xee, 0x00, 0xff]
        }]
    );

    let srv = resolver.lookup_srv(&d("_imaps._tcp.example.test")).await.unwrap();
    assert_eq!(
        srv.records,
        [Srv { priority: 0, weight: 1, port: 993, target: Some(d("host.example.test")) }]
    );
    let none = resolver.lookup_srv(&d("_pop3._tcp.example.test")).await.unwrap();
    // dnsmasq puts port 1 in its "not available" records; the target "." is what counts.
    assert_eq!(none.records, [Srv { priority: 0, weight: 0, port: 1, target: None }]);
}

#[tokio::test]
async fn negative_answers_from_dnsmasq() {
    let dnsmasq = start_dnsmasq();
    let resolver = HickoryResolver::with_server(dnsmasq.addr).unwrap();

    // Negative answers without an SOA record still come out as the right kind.
    let nx = resolver.lookup_a(&d("missing.example.test")).await.unwrap_err();
    assert_eq!(nx, LookupError::NxDomain { name: d("missing.example.test"), authentic: false });
    let nodata = resolver.lookup_txt(&d("host.example.test")).await.unwrap_err();
    assert_eq!(
        nodata,
        LookupError::NoRecords {
            name: d("host.example.test"),
            record_type: RecordType::Txt,
            authentic: false
        }
    );
    // AAAA for a name with only an A record: no records (lookup_ip still succeeds).
    let v4 = resolver.lookup_ip(&d("v4.example.test")).await.unwrap();
    assert_eq!(v4.records, [std::net::IpAddr::from([192, 0, 2, 11])]);

    // Outside its zone and without upstream servers, dnsmasq refuses.
    let refused = resolver.lookup_a(&d("example.org")).await.unwrap_err();
    assert!(
        matches!(refused, LookupError::Temporary { kind: TemporaryKind::Refused, .. }),
        "{refused:?}"
    );
}
