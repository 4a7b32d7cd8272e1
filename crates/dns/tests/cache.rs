//! `HickoryResolver`'s answer cache against a DNS server on loopback whose answers, TTLs and
//! failures each test sets, and changes, while it counts the questions it gets: an answer is
//! reused exactly as long as its TTL (or negative TTL) says, and failures never are.
// Test code: a failed unwrap is a failed test (clippy allows it in #[test] fns, not helpers).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dns::{Domain, HickoryResolver, Lookup, LookupError, RecordType, Resolver, TemporaryKind};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType as WireType};
use tokio::net::UdpSocket;

/// Long enough that nothing a test looks up expires while it runs, unless it means to.
const LONG_TTL: u32 = 3600;

/// What the server answers for a name and type.
#[derive(Debug, Clone)]
enum Reply {
    /// One record with this data and TTL; the AD bit set when `authentic`.
    Record { data: RData, ttl: u32, authentic: bool },
    /// NXDOMAIN, with an SOA whose TTL and minimum are the negative TTL when there is one.
    NxDomain { negative_ttl: Option<u32> },
    /// NOERROR without answers ("NODATA"), with an SOA as for NXDOMAIN.
    NoData { negative_ttl: Option<u32> },
    /// SERVFAIL.
    ServFail,
}

/// A UDP DNS server on 127.0.0.1 answering from a table the test can change at any time.
/// Names without an entry of their own get the `*` entry of their type, if any, else NXDOMAIN
/// without SOA.
struct Server {
    addr: SocketAddr,
    zone: Arc<Mutex<HashMap<(String, WireType), Reply>>>,
    received: Arc<Mutex<Vec<(String, WireType)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Server {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Arc::new(Mutex::new(HashMap::new()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(serve(socket, zone.clone(), received.clone()));
        Server { addr, zone, received, task }
    }

    fn set(&self, name: &str, record_type: WireType, reply: Reply) {
        self.zone.lock().unwrap().insert((name.to_string(), record_type), reply);
    }

    /// How many questions came for `name` (of any type).
    fn asked(&self, name: &str) -> usize {
        self.received.lock().unwrap().iter().filter(|(n, _)| n == name).count()
    }

    fn resolver(&self) -> HickoryResolver {
        HickoryResolver::with_server(self.addr).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    socket: UdpSocket,
    zone: Arc<Mutex<HashMap<(String, WireType), Reply>>>,
    received: Arc<Mutex<Vec<(String, WireType)>>>,
) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buffer).await else { return };
        let Ok(request) = Message::from_vec(&buffer[..len]) else { continue };
        let Some(query) = request.queries.first().cloned() else { continue };
        let name = query.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
        let record_type = query.query_type();
        received.lock().unwrap().push((name.clone(), record_type));
        let reply = {
            let zone = zone.lock().unwrap();
            zone.get(&(name.clone(), record_type))
                .or_else(|| zone.get(&("*".to_string(), record_type)))
                .cloned()
                .unwrap_or(Reply::NxDomain { negative_ttl: None })
        };
        let mut response = Message::response(request.metadata.id, OpCode::Query);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        response.add_query(query.clone());
        let owner = query.name().clone();
        match reply {
            Reply::Record { data, ttl, authentic } => {
                response.metadata.authentic_data = authentic;
                response.add_answer(Record::from_rdata(owner, ttl, data));
            }
            Reply::NxDomain { negative_ttl } => {
                response.metadata.response_code = ResponseCode::NXDomain;
                if let Some(ttl) = negative_ttl {
                    response.add_authority(soa(ttl));
                }
            }
            Reply::NoData { negative_ttl } => {
                if let Some(ttl) = negative_ttl {
                    response.add_authority(soa(ttl));
                }
            }
            Reply::ServFail => response.metadata.response_code = ResponseCode::ServFail,
        }
        let _ = socket.send_to(&response.to_vec().unwrap(), peer).await;
    }
}

/// The SOA of a negative answer: its TTL and its minimum are both `ttl`, so the negative TTL
/// (the lower of the two, RFC 2308 §5) is `ttl`.
fn soa(ttl: u32) -> Record {
    let apex = Name::from_ascii("example.").unwrap();
    let soa = SOA::new(
        Name::from_ascii("ns.example.").unwrap(),
        Name::from_ascii("hostmaster.example.").unwrap(),
        1,
        3600,
        600,
        86400,
        ttl,
    );
    Record::from_rdata(apex, ttl, RData::SOA(soa))
}

fn txt(text: &str, ttl: u32, authentic: bool) -> Reply {
    Reply::Record { data: RData::TXT(TXT::new(vec![text.to_string()])), ttl, authentic }
}

fn a(ip: [u8; 4], ttl: u32) -> Reply {
    Reply::Record { data: RData::A(A::from(Ipv4Addr::from(ip))), ttl, authentic: false }
}

fn d(name: &str) -> Domain {
    Domain::parse(name).unwrap()
}

/// Just past a TTL of one second (hickory counts TTLs in whole seconds from when the answer
/// came).
async fn sleep_past_one_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn a_repeated_lookup_within_the_ttl_asks_no_one() {
    let server = Server::start().await;
    server.set("example.com", WireType::TXT, txt("v=spf1 -all", LONG_TTL, true));
    server.set("plain.example.com", WireType::TXT, txt("not signed", LONG_TTL, false));
    let resolver = server.resolver();

    let first = resolver.lookup_txt(&d("example.com")).await.unwrap();
    assert_eq!(first, Lookup { records: vec!["v=spf1 -all".to_string()], authentic: true });
    let plain = resolver.lookup_txt(&d("plain.example.com")).await.unwrap();
    assert_eq!(plain, Lookup { records: vec!["not signed".to_string()], authentic: false });
    assert_eq!(resolver.cached_answers(), (2, 10_000));

    // Same records, same AD flag, from this resolver and from a clone (which shares the cache).
    let clone = resolver.clone();
    for resolver in [&resolver, &clone] {
        for _ in 0..3 {
            assert_eq!(resolver.lookup_txt(&d("Example.COM")).await.unwrap(), first);
            assert_eq!(resolver.lookup_txt(&d("plain.example.com")).await.unwrap(), plain);
        }
    }
    assert_eq!((server.asked("example.com"), server.asked("plain.example.com")), (1, 1));
    // The type is part of the key: A is asked for.
    server.set("example.com", WireType::A, a([192, 0, 2, 1], LONG_TTL));
    let ip = resolver.lookup_a(&d("example.com")).await.unwrap();
    assert_eq!(ip.records, [Ipv4Addr::new(192, 0, 2, 1)]);
    assert_eq!(server.asked("example.com"), 2);
}

#[tokio::test]
async fn an_answer_is_asked_for_again_once_its_ttl_ran_out() {
    let server = Server::start().await;
    server.set("short.example.com", WireType::A, a([192, 0, 2, 1], 1));
    let resolver = server.resolver();

    let first = resolver.lookup_a(&d("short.example.com")).await.unwrap();
    assert_eq!(first.records, [Ipv4Addr::new(192, 0, 2, 1)]);
    // The zone changes; within the TTL the old answer is what the TTL allows.
    server.set("short.example.com", WireType::A, a([192, 0, 2, 2], 1));
    let cached = resolver.lookup_a(&d("short.example.com")).await.unwrap();
    assert_eq!(cached.records, [Ipv4Addr::new(192, 0, 2, 1)]);
    assert_eq!(server.asked("short.example.com"), 1);

    sleep_past_one_second().await;
    let fresh = resolver.lookup_a(&d("short.example.com")).await.unwrap();
    assert_eq!(fresh.records, [Ipv4Addr::new(192, 0, 2, 2)]);
    assert_eq!(server.asked("short.example.com"), 2);
    // And that answer is kept in turn.
    resolver.lookup_a(&d("short.example.com")).await.unwrap();
    assert_eq!(server.asked("short.example.com"), 2);
}

#[tokio::test]
async fn a_zero_ttl_is_not_kept() {
    let server = Server::start().await;
    server.set("zero.example.com", WireType::TXT, txt("now", 0, false));
    let resolver = server.resolver();
    for expected_questions in 1..=3 {
        let answer = resolver.lookup_txt(&d("zero.example.com")).await.unwrap();
        assert_eq!(answer.records, ["now"]);
        assert_eq!(server.asked("zero.example.com"), expected_questions);
    }
    assert_eq!(resolver.cached_answers().0, 0);
}

#[tokio::test]
async fn nxdomain_with_an_soa_is_kept_for_its_negative_ttl() {
    let server = Server::start().await;
    server.set("gone.example.com", WireType::TXT, Reply::NxDomain { negative_ttl: Some(1) });
    let resolver = server.resolver();

    let first = resolver.lookup_txt(&d("gone.example.com")).await.unwrap_err();
    assert_eq!(first, LookupError::NxDomain { name: d("gone.example.com"), authentic: false });
    assert_eq!(resolver.cached_answers().0, 1, "kept in front of hickory");
    // The name appears, but the negative answer stands for its TTL.
    server.set("gone.example.com", WireType::TXT, txt("back", LONG_TTL, false));
    let cached = resolver.lookup_txt(&d("gone.example.com")).await.unwrap_err();
    assert_eq!(cached, first, "the same error as the uncached lookup");
    assert_eq!(server.asked("gone.example.com"), 1);

    sleep_past_one_second().await;
    let fresh = resolver.lookup_txt(&d("gone.example.com")).await.unwrap();
    assert_eq!(fresh.records, ["back"]);
    assert_eq!(server.asked("gone.example.com"), 2);
}

#[tokio::test]
async fn no_records_with_an_soa_is_kept_for_its_negative_ttl() {
    let server = Server::start().await;
    server.set("_dmarc.example.com", WireType::TXT, Reply::NoData { negative_ttl: Some(1) });
    let resolver = server.resolver();

    let first = resolver.lookup_txt(&d("_dmarc.example.com")).await.unwrap_err();
    assert_eq!(
        first,
        LookupError::NoRecords {
            name: d("_dmarc.example.com"),
            record_type: RecordType::Txt,
            authentic: false
        }
    );
    assert_eq!(resolver.cached_answers().0, 1, "kept in front of hickory");
    server.set("_dmarc.example.com", WireType::TXT, txt("v=DMARC1; p=reject", LONG_TTL, false));
    for _ in 0..3 {
        let cached = resolver.lookup_txt(&d("_dmarc.example.com")).await.unwrap_err();
        assert_eq!(cached, first, "the same error as the uncached lookup");
    }
    assert_eq!(server.asked("_dmarc.example.com"), 1);

    sleep_past_one_second().await;
    let fresh = resolver.lookup_txt(&d("_dmarc.example.com")).await.unwrap();
    assert_eq!(fresh.records, ["v=DMARC1; p=reject"]);
    assert_eq!(server.asked("_dmarc.example.com"), 2);
}

#[tokio::test]
async fn negative_answers_without_an_soa_are_not_kept() {
    let server = Server::start().await;
    server.set("nosoa.example.com", WireType::TXT, Reply::NxDomain { negative_ttl: None });
    server.set("nosoa.example.com", WireType::A, Reply::NoData { negative_ttl: None });
    let resolver = server.resolver();
    for round in 1..=2 {
        let nx = resolver.lookup_txt(&d("nosoa.example.com")).await.unwrap_err();
        assert_eq!(nx, LookupError::NxDomain { name: d("nosoa.example.com"), authentic: false });
        let nodata = resolver.lookup_a(&d("nosoa.example.com")).await.unwrap_err();
        assert!(matches!(nodata, LookupError::NoRecords { record_type: RecordType::A, .. }));
        assert_eq!(server.asked("nosoa.example.com"), 2 * round);
    }
    assert_eq!(resolver.cached_answers().0, 0);
}

#[tokio::test]
async fn servfail_is_not_kept() {
    let server = Server::start().await;
    server.set("broken.example.com", WireType::TXT, Reply::ServFail);
    let resolver = server.resolver();

    let first = resolver.lookup_txt(&d("broken.example.com")).await.unwrap_err();
    assert!(
        matches!(first, LookupError::Temporary { kind: TemporaryKind::ServFail, .. }),
        "{first:?}"
    );
    // Tried twice (the second try in case the failure was fleeting).
    assert_eq!(server.asked("broken.example.com"), 2);
    // Asking again asks the server again, and a repaired server is heard at once.
    let again = resolver.lookup_txt(&d("broken.example.com")).await.unwrap_err();
    assert!(again.is_temporary(), "{again:?}");
    assert_eq!(server.asked("broken.example.com"), 4);
    server.set("broken.example.com", WireType::TXT, txt("fixed", LONG_TTL, false));
    let fixed = resolver.lookup_txt(&d("broken.example.com")).await.unwrap();
    assert_eq!(fixed.records, ["fixed"]);
    assert_eq!(resolver.cached_answers().0, 1);
}

#[tokio::test]
async fn a_flood_of_unique_names_stays_within_the_capacity() {
    let server = Server::start().await;
    server.set("*", WireType::A, a([192, 0, 2, 9], LONG_TTL));
    server.set("hot.example.com", WireType::TXT, txt("v=spf1 -all", LONG_TTL, false));
    let mut resolver = server.resolver();
    resolver.set_cache_capacity(100);

    for i in 0..1000 {
        let name = d(&format!("{i}.flood.example"));
        let answer = resolver.lookup_a(&name).await.unwrap();
        assert_eq!(answer.records, [Ipv4Addr::new(192, 0, 2, 9)], "{name}");
        let (len, capacity) = resolver.cached_answers();
        assert!(len <= capacity, "{len} answers held, capacity {capacity}, after {i}");
        if i % 10 == 0 {
            let hot = resolver.lookup_txt(&d("hot.example.com")).await.unwrap();
            assert_eq!(hot.records, ["v=spf1 -all"]);
        }
    }
    assert_eq!(resolver.cached_answers().1, 100);
    // Each unique name was asked once; the hot name once in all (when the front cache dropped
    // it, hickory's cache still had it).
    assert_eq!(server.received.lock().unwrap().len(), 1001);
    assert_eq!(server.asked("hot.example.com"), 1);
}

#[tokio::test]
async fn a_capacity_of_zero_keeps_nothing_in_front() {
    let server = Server::start().await;
    server.set("example.com", WireType::TXT, txt("v=spf1 -all", LONG_TTL, true));
    let mut resolver = server.resolver();
    resolver.set_cache_capacity(0);
    for _ in 0..3 {
        let answer = resolver.lookup_txt(&d("example.com")).await.unwrap();
        assert_eq!(answer, Lookup { records: vec!["v=spf1 -all".to_string()], authentic: true });
    }
    assert_eq!(resolver.cached_answers(), (0, 0));
    // hickory's own cache still answers.
    assert_eq!(server.asked("example.com"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_on_many_tasks_share_one_cache() {
    let server = Server::start().await;
    server.set("example.com", WireType::TXT, txt("v=spf1 -all", LONG_TTL, false));
    server.set("*", WireType::A, a([192, 0, 2, 9], LONG_TTL));
    let resolver = server.resolver();
    resolver.lookup_txt(&d("example.com")).await.unwrap();

    let mut tasks = Vec::new();
    for task in 0..20 {
        let resolver = resolver.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let spf = resolver.lookup_txt(&d("example.com")).await.unwrap();
                assert_eq!(spf.records, ["v=spf1 -all"]);
                let name = d(&format!("{}.tasks.example", (task * 50 + i) % 100));
                let ip = resolver.lookup_a(&name).await.unwrap();
                assert_eq!(ip.records, [Ipv4Addr::new(192, 0, 2, 9)]);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(server.asked("example.com"), 1);
    // 100 distinct A names and the TXT.
    assert_eq!(resolver.cached_answers().0, 101);
}
