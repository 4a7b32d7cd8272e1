//! Hostile records: every limit of RFC 7208 §4.6.4 holds, recursion stays bounded, and huge
//! records and macro blow-ups cost bounded work, with the number of DNS queries checked.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use dns::{Domain, Lookup, LookupResult, MockResolver, Mx, RecordType, Resolver, Tlsa};
use spf::{SpfResult, Verifier};

const CLIENT: &str = "192.0.2.1";

async fn check(zone: &MockResolver, mail_from: &str) -> spf::Evaluation {
    let ip: IpAddr = CLIENT.parse().expect("ip");
    let verifier = Verifier::new(zone);
    let verification = verifier.verify_mail_from(ip, "helo.example", mail_from).await;
    verification.expect("valid MAIL FROM").evaluation
}

fn count(zone: &MockResolver, record_type: RecordType) -> usize {
    zone.queries().iter().filter(|(_, t)| *t == record_type).count()
}

#[tokio::test]
async fn deep_include_chain_stops_at_ten_lookup_terms() {
    let mut text = String::new();
    for depth in 0..100 {
        writeln!(text, "d{depth}.example TXT \"v=spf1 include:d{}.example -all\"", depth + 1)
            .expect("write");
    }
    let zone = MockResolver::from_zone(&text).expect("zone");
    let evaluation = check(&zone, "user@d0.example").await;
    assert_eq!(evaluation.result, SpfResult::Permerror);
    let problem = evaluation.problem.expect("problem");
    assert!(problem.contains("more than 10 terms that cause DNS lookups"), "{problem}");
    assert_eq!(evaluation.lookup_terms, 11);
    // d0 plus the ten includes that were allowed; d11 is never asked for.
    assert_eq!(count(&zone, RecordType::Txt), 11);
    assert!(!zone.queries().iter().any(|(name, _)| name.ascii() == "d11.example"));
}

#[tokio::test]
async fn nesting_is_bounded_even_with_raised_limits() {
    let mut text = String::new();
    for depth in 0..100 {
        writeln!(text, "d{depth}.example TXT \"v=spf1 include:d{}.example -all\"", depth + 1)
            .expect("write");
    }
    let zone = MockResolver::from_zone(&text).expect("zone");
    let limits = spf::Limits { lookup_terms: 1000, ..spf::Limits::default() };
    let verifier = Verifier::new(&zone).with_limits(limits);
    let ip: IpAddr = CLIENT.parse().expect("ip");
    let evaluation = verifier.check_host(ip, "d0.example", "x@d0.example", "helo").await;
    assert_eq!(evaluation.result, SpfResult::Permerror);
    let problem = evaluation.problem.expect("problem");
    assert!(problem.ends_with("include:d32.example nests deeper than 32"), "{problem}");
    assert_eq!(count(&zone, RecordType::Txt), spf::MAX_NESTING);
}

#[tokio::test]
async fn include_and_redirect_loops_are_permerrors() {
    let zone = MockResolver::from_zone(
        r#"
        a.example TXT "v=spf1 include:b.example -all"
        b.example TXT "v=spf1 include:a.example -all"
        self.example TXT "v=spf1 redirect=self.example"
        "#,
    )
    .expect("zone");
    let evaluation = check(&zone, "x@a.example").await;
    assert_eq!(evaluation.result, SpfResult::Permerror);
    assert!(evaluation.problem.expect("problem").contains("loops back"));
    assert_eq!(count(&zone, RecordType::Txt), 2, "found on the second record, not the tenth");

    zone.clear_queries();
    let evaluation = check(&zone, "x@self.example").await;
    assert_eq!(evaluation.result, SpfResult::Permerror);
    assert!(evaluation.problem.expect("problem").contains("redirect=self.example loops back"));
    assert_eq!(count(&zone, RecordType::Txt), 1);
}

#[tokio::test]
async fn huge_record_without_lookups_is_evaluated_in_full() {
    // 50,000 ip4 terms (over 1 MB); the client matches the last one.
    let mut record = String::from("v=spf1");
    for i in 0..50_000u32 {
        let ip = Ipv4Addr::from(0x0a00_0000 + i);
        write!(record, " ip4:{ip}").expect("write");
    }
    record.push_str(" ip4:192.0.2.1 -all");
    assert!(record.len() > 500_000);
    let mut zone = MockResolver::new();
    let domain = Domain::parse("huge.example").expect("domain");
    zone.add(&domain, dns::Record::Txt(record));
    let evaluation = check(&zone, "x@huge.example").await;
    assert_eq!(evaluation.result, SpfResult::Pass);
    assert_eq!(evaluation.mechanism.expect("mechanism").to_string(), "ip4:192.0.2.1");
    assert_eq!(zone.queries().len(), 1);
}

#[tokio::test]
async fn huge_record_of_lookups_makes_at_most_ten() {
    let mut record = String::from("v=spf1");
    for i in 0..10_000 {
        write!(record, " a:h{i}.example").expect("write");
    }
    let mut text = format!("many.example TXT \"{record} -all\"\n");
    for i in 0..10_000 {
        writeln!(text, "h{i}.example A 198.51.100.1").expect("write");
    }
    let zone = MockResolver::from_zone(&text).expect("zone");
    let evaluation = check(&zone, "x@many.example").await;
    assert_eq!(evaluation.result, SpfResult::Permerror);
    assert_eq!(evaluation.mechanism.expect("mechanism").to_string(), "a:h10.example");
    assert_eq!(count(&zone, RecordType::A), 10);
}

#[tokio::test]
async fn void_lookups_stop_at_the_third() {
    let zone = MockResolver::from_zone(
        r#"void.example TXT "v=spf1 a:n1.example mx:n2.example exists:n3.example a:n4.example -all""#,
    )
    .expect("zone");
    let evaluation = check(&zone, "x@void.example").await;
    assert_eq!(evaluation.result, SpfResult::Permerror);
    assert_eq!(evaluation.void_lookups, 3);
    assert_eq!(evaluation.mechanism.expect("mechanism").to_string(), "exists:n3.example");
    assert!(!zone.queries().iter().any(|(name, _)| name.ascii() == "n4.example"));
}

#[tokio::test]
async fn more_than_ten_mx_names_is_a_permerror_before_any_address_lookup() {
    let mut text = String::from("mx.example TXT \"v=spf1 mx -all\"\n");
    for i in 0..11 {
        writeln!(text, "mx.example MX {i} m{i}.example\nm{i}.example A 192.0.2.1").expect("write");
    }
    let zone = MockResolver::from_zone(&text).expect("zone");
    let evaluation = check(&zone, "x@mx.example").await;
    assert_eq!(evaluation.result, SpfResult::Permerror);
    assert!(evaluation.problem.expect("problem").contains("11 MX names"));
    assert_eq!(count(&zone, RecordType::A), 0);

    // Ten are fine.
    let text = text.replace("mx.example MX 10 m10.example\n", "");
    let zone = MockResolver::from_zone(&text).expect("zone");
    assert_eq!(check(&zone, "x@mx.example").await.result, SpfResult::Pass);
}

#[tokio::test]
async fn only_ten_ptr_names_are_validated_and_only_once() {
    // The client's reverse DNS (controlled by whoever controls the IP) lists 100 names.
    let mut text = String::from(
        "ptr.example TXT \"v=spf1 ptr:ptr.example ptr exists:%{p}.x.example exists:%{p}.y.example -all\"\n",
    );
    for i in 0..100 {
        writeln!(text, "1.2.0.192.in-addr.arpa PTR n{i}.ptr.example").expect("write");
        writeln!(text, "n{i}.ptr.example A 192.0.2.1").expect("write");
    }
    let zone = MockResolver::from_zone(&text).expect("zone");
    let evaluation = check(&zone, "x@ptr.example").await;
    assert_eq!(evaluation.result, SpfResult::Pass);
    assert_eq!(count(&zone, RecordType::Ptr), 1, "PTR names are looked up once per check");
    assert_eq!(count(&zone, RecordType::A), 10);
}

#[tokio::test]
async fn macro_blowups_are_bounded() {
    // Each %{s} expands to the sender; 1,000 of them would be a name of over 20 KB.
    let spec = "%{s}".repeat(1000);
    let zone = MockResolver::from_zone(&format!(
        "blow.example TXT \"v=spf1 exists:{spec}.example -all exp=why.blow.example\"\n\
         why.blow.example TXT \"{}\"",
        "%{s}%{l}%{o}%{d}%{i}%{c}%{r}%{t}%{h}%{v}".repeat(500)
    ))
    .expect("zone");
    let evaluation = check(&zone, "someone-with-a-long-name@blow.example").await;
    // The name is not looked up, so the mechanism does not match; the explanation would be
    // over the limit, so there is none.
    assert_eq!(evaluation.result, SpfResult::Fail);
    assert_eq!(evaluation.explanation, None);
    assert_eq!(count(&zone, RecordType::A), 0);

    // The expander itself: digits that would overflow, many delimiters, reversal of many parts.
    let macros = spf::MacroString::parse_explanation(
        "%{l99999999999999999999r.-+,/_=}%{D1R}%{i0000000000001}",
    );
    assert!(macros.is_ok(), "{macros:?}");
    let long_local = "a.".repeat(2000);
    let values = spf::MacroValues {
        sender: "s@example.com",
        local_part: &long_local,
        sender_domain: "example.com",
        domain: "example.com",
        ip: CLIENT.parse().expect("ip"),
        validated_name: "unknown",
        helo: "helo.example",
        receiver: "unknown",
        timestamp: 0,
    };
    let expanded = macros.expect("parsed").expand(&values).expect("within the limit");
    // %{l...r...}: 2,001 parts (the last empty) reversed and joined with dots; %{D1R}:
    // "example.com" reversed, the rightmost part kept; %{i0..01}: the last octet.
    assert!(expanded.starts_with(".a.a."), "{:?}", &expanded[..20]);
    assert!(expanded.ends_with(".a.aexample1"), "{:?}", &expanded[expanded.len() - 20..]);
    assert_eq!(expanded.len(), 4000 + "example1".len());
    let many = spf::MacroString::parse_explanation(&"%{l}".repeat(10)).expect("parsed");
    assert!(matches!(many.expand(&values), Err(spf::Error::ExpansionTooLong { limit: 4096 })));
}

#[tokio::test]
async fn long_target_names_are_truncated_from_the_left() {
    // RFC 7208 §7.3: labels are dropped from the left until the name fits in 253 characters.
    let local = ["abcdefghij"; 30].join(".");
    let zone =
        MockResolver::from_zone(r#"trunc.example TXT "v=spf1 exists:%{l}.trunc.example -all""#)
            .expect("zone");
    let evaluation = check(&zone, &format!("{local}@trunc.example")).await;
    assert_eq!(evaluation.result, SpfResult::Fail);
    let asked = zone.queries();
    let (name, _) = asked.iter().find(|(_, t)| *t == RecordType::A).expect("an A query");
    assert!(name.ascii().len() <= 253, "{}", name.ascii());
    assert!(name.ascii().ends_with(".abcdefghij.trunc.example"), "{}", name.ascii());
}

/// A resolver whose answers never come.
#[derive(Debug)]
struct Unresponsive;

impl Unresponsive {
    async fn never<T>(&self) -> LookupResult<T> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(Lookup { records: Vec::new(), authentic: false })
    }
}

#[dns::async_trait]
impl Resolver for Unresponsive {
    async fn lookup_txt(&self, _: &Domain) -> LookupResult<String> {
        self.never().await
    }
    async fn lookup_a(&self, _: &Domain) -> LookupResult<Ipv4Addr> {
        self.never().await
    }
    async fn lookup_aaaa(&self, _: &Domain) -> LookupResult<Ipv6Addr> {
        self.never().await
    }
    async fn lookup_mx(&self, _: &Domain) -> LookupResult<Mx> {
        self.never().await
    }
    async fn lookup_ptr(&self, _: IpAddr) -> LookupResult<Domain> {
        self.never().await
    }
    async fn lookup_cname(&self, _: &Domain) -> LookupResult<Domain> {
        self.never().await
    }
    async fn lookup_tlsa(&self, _: &Domain) -> LookupResult<Tlsa> {
        self.never().await
    }
}

#[tokio::test(start_paused = true)]
async fn evaluation_time_is_limited() {
    let verifier = Verifier::new(&Unresponsive);
    let ip: IpAddr = CLIENT.parse().expect("ip");
    let started = tokio::time::Instant::now();
    let evaluation = verifier.check_host(ip, "slow.example", "x@slow.example", "helo").await;
    assert_eq!(evaluation.result, SpfResult::Temperror);
    assert_eq!(evaluation.problem.as_deref(), Some("evaluation took longer than 20 seconds"));
    assert_eq!(started.elapsed(), spf::DEFAULT_TIMEOUT);

    let verifier = verifier.with_timeout(Some(Duration::from_millis(1500)));
    let evaluation = verifier.check_host(ip, "slow.example", "x@slow.example", "helo").await;
    assert_eq!(evaluation.problem.as_deref(), Some("evaluation took longer than 1.5 seconds"));
}
