//! Parsing and evaluating a realistic policy: MX hosts, ip4/ip6 lists and three nested includes,
//! against an in-memory zone (so the figures are SPF's own cost, without network latency).
//!
//! Run with `cargo bench -p spf --bench evaluate`; criterion prints evaluations per second as
//! "thrpt" (elements/s).

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dns::MockResolver;
use spf::{Record, SpfResult, Verifier};

const TOP: &str = "v=spf1 mx ip4:192.0.2.0/26 ip4:192.0.2.64/27 ip6:2001:db8:1::/48 \
                   include:_spf1.example.com -all exp=why.example.com";

fn zone() -> MockResolver {
    let mut text = format!("example.com TXT \"{TOP}\"\n");
    text.push_str(
        "example.com MX 10 mx1.example.com\n\
         example.com MX 20 mx2.example.com\n\
         mx1.example.com A 198.51.100.10\n\
         mx2.example.com A 198.51.100.11\n\
         mx2.example.com AAAA 2001:db8:2::11\n\
         why.example.com TXT \"%{i} is not allowed to send for %{d}\"\n",
    );
    let ip4s: Vec<String> = (0..10).map(|i| format!("ip4:10.{i}.0.0/16")).collect();
    let ip6s: Vec<String> = (0..10).map(|i| format!("ip6:2001:db8:{:x}::/48", 0x100 + i)).collect();
    text.push_str(&format!(
        "_spf1.example.com TXT \"v=spf1 {} include:_spf2.example.com ~all\"\n",
        ip4s.join(" ")
    ));
    text.push_str(&format!(
        "_spf2.example.com TXT \"v=spf1 {} include:_spf3.example.com ?all\"\n",
        ip6s.join(" ")
    ));
    text.push_str("_spf3.example.com TXT \"v=spf1 ip4:172.16.0.0/12 ip4:203.0.113.0/24 -all\"\n");
    MockResolver::from_zone(&text).expect("zone")
}

fn bench(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let zone = zone();
    let verifier = Verifier::new(&zone).with_receiver("mx.example.org");

    let mut group = c.benchmark_group("spf");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse top-level record", |b| {
        b.iter(|| Record::parse(black_box(TOP)).expect("valid"))
    });

    // The client is only allowed by the innermost include: every record is fetched and parsed,
    // and the MX hosts are looked up first.
    let cases: [(&str, &str, SpfResult); 3] = [
        ("evaluate pass via mx", "198.51.100.11", SpfResult::Pass),
        ("evaluate pass via third nested include", "203.0.113.7", SpfResult::Pass),
        ("evaluate fail with explanation", "192.0.2.200", SpfResult::Fail),
    ];
    for (name, ip, expected) in cases {
        let ip: IpAddr = ip.parse().expect("ip");
        let check = || async {
            let verification = verifier
                .verify_mail_from(black_box(ip), "mail.example.net", "alice@example.com")
                .await
                .expect("valid");
            verification.result()
        };
        assert_eq!(runtime.block_on(check()), expected, "{name}");
        group.bench_function(name, |b| b.iter(|| runtime.block_on(check())));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
