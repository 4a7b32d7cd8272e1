//! `DnsTestServer` seen from the wire: raw DNS messages over UDP and TCP sockets, checking the
//! header bits, sections and encodings a client depends on. (`crates/dns/tests/hickory.rs`
//! checks the same server through our `HickoryResolver`.)
// Test code: a failed unwrap is a failed test (clippy allows it in #[test] fns, not helpers).
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use dns::{Domain, MockResolver, Record as ZoneRecord};
use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{Name, RData, RecordType};
use test_support::{DnsTestServer, ReceivedQuery, free_port};

const ZONE: &str = r#"
example.com          A      192.0.2.1
example.com          TXT    "v=spf1 -all"
example.com          AUTHENTIC
plain.example.com    A      192.0.2.2
nullmx.example.com   MX     0 .
www.example.com      CNAME  alias.example.com
alias.example.com    CNAME  example.com
servfail.example.com A      SERVFAIL
refused.example.com  A      REFUSED
timeout.example.com  *      TIMEOUT
"#;

fn server() -> DnsTestServer {
    let mut zone = MockResolver::from_zone(ZONE).unwrap();
    zone.add(&Domain::parse("long.example.com").unwrap(), ZoneRecord::Txt("x".repeat(600)));
    DnsTestServer::start_on_thread(zone).unwrap()
}

fn query(name: &str, record_type: RecordType) -> Message {
    let mut message = Message::new(4242, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), record_type));
    message
}

fn with_edns(mut message: Message, max_payload: u16, dnssec_ok: bool) -> Message {
    let mut edns = Edns::new();
    edns.set_max_payload(max_payload);
    edns.set_dnssec_ok(dnssec_ok);
    message.set_edns(edns);
    message
}

/// Sends `message` over UDP; `None` if nothing came back within 300 ms.
fn ask_udp(addr: SocketAddr, message: &Message) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    socket.send_to(&message.to_vec().unwrap(), addr).unwrap();
    let mut buf = vec![0; 65535];
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    Some(Message::from_vec(&buf[..len]).unwrap())
}

/// Sends `message` over TCP (RFC 1035 §4.2.2 length prefix); `None` if nothing came back
/// within 300 ms.
fn ask_tcp(addr: SocketAddr, message: &Message) -> Option<Message> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let bytes = message.to_vec().unwrap();
    let mut framed = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).unwrap();
    let mut length = [0; 2];
    stream.read_exact(&mut length).ok()?;
    let mut buf = vec![0; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut buf).unwrap();
    Some(Message::from_vec(&buf).unwrap())
}

fn rcode(response: &Message) -> ResponseCode {
    response.metadata.response_code
}

#[test]
fn answers_carry_the_question_and_records() {
    let server = server();
    let response = ask_udp(server.addr(), &query("example.com.", RecordType::A)).unwrap();
    assert_eq!(response.metadata.id, 4242);
    assert_eq!(response.metadata.message_type, MessageType::Response);
    assert!(response.metadata.recursion_available && response.metadata.recursion_desired);
    assert_eq!(rcode(&response), ResponseCode::NoError);
    assert_eq!(response.queries.len(), 1);
    assert_eq!(response.answers.len(), 1);
    assert_eq!(response.answers[0].data, RData::A(std::net::Ipv4Addr::new(192, 0, 2, 1).into()));
    assert_eq!(
        server.received(),
        [ReceivedQuery {
            name: "example.com".into(),
            record_type: "A".into(),
            tcp: false,
            authentic_data: false,
            dnssec_ok: false,
        }]
    );
}

#[test]
fn ad_bit_only_for_authentic_names_and_only_when_asked() {
    let server = server();
    let addr = server.addr();
    let ad = |name: &str, mut message: Message, ask_ad: bool| {
        message.metadata.authentic_data = ask_ad;
        let response = ask_udp(addr, &message).unwrap();
        assert_eq!(rcode(&response), ResponseCode::NoError, "{name}");
        response.metadata.authentic_data
    };
    let a = |name: &str| query(name, RecordType::A);
    assert!(!ad("plain query", a("example.com."), false), "no AD for a client that did not ask");
    assert!(ad("AD in query", a("example.com."), true));
    assert!(ad("DO bit", with_edns(a("example.com."), 1232, true), false));
    assert!(!ad("EDNS without DO", with_edns(a("example.com."), 1232, false), false));
    assert!(!ad("unsigned name", a("plain.example.com."), true));
    // The response echoes the DO bit in its OPT record.
    let response = ask_udp(addr, &with_edns(a("example.com."), 1232, true)).unwrap();
    assert!(response.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok));
}

#[test]
fn nxdomain_and_nodata_have_an_soa() {
    let server = server();
    let nx = ask_udp(server.addr(), &query("missing.example.com.", RecordType::TXT)).unwrap();
    assert_eq!(rcode(&nx), ResponseCode::NXDomain);
    assert!(nx.answers.is_empty());
    assert_eq!(nx.authorities.len(), 1);
    assert_eq!(nx.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(nx.authorities[0].name.to_ascii(), "example.com.");

    let nodata = ask_udp(server.addr(), &query("plain.example.com.", RecordType::TXT)).unwrap();
    assert_eq!(rcode(&nodata), ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authorities[0].record_type(), RecordType::SOA);

    // Types the zone cannot hold: NODATA at a name that exists, NXDOMAIN elsewhere.
    let soa = ask_udp(server.addr(), &query("example.com.", RecordType::SOA)).unwrap();
    assert_eq!((rcode(&soa), soa.answers.len()), (ResponseCode::NoError, 0));
    let ns = ask_udp(server.addr(), &query("missing.example.com.", RecordType::NS)).unwrap();
    assert_eq!(rcode(&ns), ResponseCode::NXDomain);
}

#[test]
fn injected_failures() {
    let server = server();
    let addr = server.addr();
    let servfail = ask_udp(addr, &query("servfail.example.com.", RecordType::A)).unwrap();
    assert_eq!(rcode(&servfail), ResponseCode::ServFail);
    let refused = ask_udp(addr, &query("refused.example.com.", RecordType::A)).unwrap();
    assert_eq!(rcode(&refused), ResponseCode::Refused);
    assert!(ask_udp(addr, &query("timeout.example.com.", RecordType::A)).is_none());
    assert!(ask_tcp(addr, &query("timeout.example.com.", RecordType::TXT)).is_none());
    // Silence is per question: the server still answers others.
    assert!(ask_udp(addr, &query("example.com.", RecordType::A)).is_some());
    assert_eq!(server.received_for("timeout.example.com").len(), 2);
}

#[test]
fn cname_chain_precedes_the_answer() {
    let server = server();
    let response = ask_udp(server.addr(), &query("www.example.com.", RecordType::TXT)).unwrap();
    let sections: Vec<(String, RecordType)> =
        response.answers.iter().map(|r| (r.name.to_ascii(), r.record_type())).collect();
    assert_eq!(
        sections,
        [
            ("www.example.com.".to_string(), RecordType::CNAME),
            ("alias.example.com.".to_string(), RecordType::CNAME),
            ("example.com.".to_string(), RecordType::TXT),
        ]
    );
    // Asking for the CNAME itself gives just that record.
    let cname = ask_udp(server.addr(), &query("www.example.com.", RecordType::CNAME)).unwrap();
    assert_eq!(cname.answers.len(), 1);
    assert_eq!(
        cname.answers[0].data,
        RData::CNAME(hickory_server::proto::rr::rdata::CNAME(
            Name::from_ascii("alias.example.com.").unwrap()
        ))
    );
}

#[test]
fn question_case_is_echoed() {
    // 0x20 randomization (draft-vixie-dnsext-dns0x20): clients check the case comes back.
    let server = server();
    let response = ask_udp(server.addr(), &query("ExAmPle.CoM.", RecordType::A)).unwrap();
    assert_eq!(response.queries[0].name().to_ascii(), "ExAmPle.CoM.");
    assert_eq!(response.answers[0].name.to_ascii(), "ExAmPle.CoM.");
    assert_eq!(server.received()[0].name, "ExAmPle.CoM");
}

#[test]
fn null_mx_is_the_root() {
    let server = server();
    let response = ask_udp(server.addr(), &query("nullmx.example.com.", RecordType::MX)).unwrap();
    let RData::MX(mx) = &response.answers[0].data else { panic!("{response:?}") };
    assert_eq!(mx.preference, 0);
    assert!(mx.exchange.is_root());
}

#[test]
fn long_txt_is_split_and_truncated_over_udp() {
    let server = server();
    let addr = server.addr();
    // Without EDNS a UDP answer may be 512 octets (RFC 1035 §4.2.1): 600 octets of TXT do not
    // fit, so the answer is truncated.
    let udp = ask_udp(addr, &query("long.example.com.", RecordType::TXT)).unwrap();
    assert!(udp.metadata.truncation, "{udp:?}");
    assert!(udp.answers.is_empty());
    // With an EDNS payload size that fits, it comes whole over UDP.
    let edns = ask_udp(addr, &with_edns(query("long.example.com.", RecordType::TXT), 1232, false))
        .unwrap();
    assert!(!edns.metadata.truncation);
    assert_eq!(edns.answers.len(), 1);
    // Over TCP the whole answer comes, in character-strings of at most 255 octets.
    let tcp = ask_tcp(addr, &query("long.example.com.", RecordType::TXT)).unwrap();
    assert!(!tcp.metadata.truncation);
    let RData::TXT(txt) = &tcp.answers[0].data else { panic!("{tcp:?}") };
    let lengths: Vec<usize> = txt.txt_data.iter().map(|s| s.len()).collect();
    assert_eq!(lengths, [255, 255, 90]);
    let transports: Vec<bool> = server.received().iter().map(|q| q.tcp).collect();
    assert_eq!(transports, [false, false, true]);
}

#[test]
fn malformed_questions_get_formerr() {
    let server = server();
    let mut two = query("example.com.", RecordType::A);
    two.add_query(Query::query(Name::from_ascii("example.com.").unwrap(), RecordType::TXT));
    let response = ask_udp(server.addr(), &two).unwrap();
    assert_eq!(rcode(&response), ResponseCode::FormErr);
    assert!(server.received().is_empty(), "no question was answered");
}

#[tokio::test]
async fn async_start_and_stop() {
    let zone = MockResolver::from_zone(ZONE).unwrap();
    let server = DnsTestServer::start(zone).await.unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    let response =
        tokio::task::spawn_blocking(move || ask_tcp(addr, &query("example.com.", RecordType::A)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(response.answers.len(), 1);
    server.stop().await;
    // Both sockets are closed.
    assert!(UdpSocket::bind(addr).is_ok(), "UDP {addr} still bound");
    assert!(TcpStream::connect(addr).is_err(), "TCP {addr} still listening");
}

#[test]
fn free_ports_are_free_for_tcp_and_udp() {
    let port = free_port().unwrap();
    assert_ne!(port, 0);
    let _udp = UdpSocket::bind(("127.0.0.1", port)).unwrap();
    let _tcp = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}
