//! What a repeated lookup through `HickoryResolver` costs once its answer is cached: the case of
//! an SMTP server asking for the same SPF, DKIM, DMARC, PTR and DNSBL names for every message.
//! The answers come from `test_support::DnsTestServer` on loopback, asked once to warm the
//! cache; every measured lookup is answered from memory (the server's query count is checked).
//!
//! Run with `cargo bench -p dns --bench cached_lookup`; criterion prints the time per 100
//! lookups, and lookups per second as "thrpt".

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dns::{Domain, HickoryResolver, MockResolver, Resolver};
use test_support::DnsTestServer;

/// Lookups per measured iteration.
const BATCH: u64 = 100;

const ZONE: &str = r#"
example.com                 TXT  "v=spf1 ip4:192.0.2.0/24 -all"
sel._domainkey.example.com  TXT  "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
example.com                 A    192.0.2.1
1.2.0.192.in-addr.arpa      PTR  mail.example.com
"#;

fn cached_lookups(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let zone = MockResolver::from_zone(ZONE).expect("zone");
    let server = runtime.block_on(DnsTestServer::start(zone)).expect("DNS test server");
    let resolver = HickoryResolver::with_server(server.addr()).expect("resolver");
    let spf = Domain::parse("example.com").expect("domain");
    let dkim = Domain::parse("sel._domainkey.example.com").expect("domain");
    let ip: IpAddr = "192.0.2.1".parse().expect("ip");
    runtime.block_on(async {
        resolver.lookup_txt(&spf).await.expect("warm TXT");
        resolver.lookup_txt(&dkim).await.expect("warm DKIM TXT");
        resolver.lookup_a(&spf).await.expect("warm A");
        resolver.lookup_ptr(ip).await.expect("warm PTR");
    });
    let warmed = server.received().len();

    // A hundred lookups per iteration on one `block_on`, whose own cost (about 200 ns on a
    // current-thread runtime) would otherwise dwarf a cache hit: the time shown is per 100
    // lookups, the throughput per lookup.
    let mut group = c.benchmark_group("cached_lookup");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("txt", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..BATCH {
                    black_box(resolver.lookup_txt(black_box(&spf)).await.expect("TXT"));
                }
            })
        })
    });
    group.bench_function("dkim_txt", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..BATCH {
                    black_box(resolver.lookup_txt(black_box(&dkim)).await.expect("TXT"));
                }
            })
        })
    });
    group.bench_function("a", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..BATCH {
                    black_box(resolver.lookup_a(black_box(&spf)).await.expect("A"));
                }
            })
        })
    });
    group.bench_function("ptr", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..BATCH {
                    black_box(resolver.lookup_ptr(black_box(ip)).await.expect("PTR"));
                }
            })
        })
    });
    group.finish();

    // Every measured lookup came from a cache (criterion runs a few seconds: well within the
    // server's 60 s TTL), so the server saw no more questions.
    assert_eq!(server.received().len(), warmed, "a cached lookup went to the server");
}

criterion_group!(benches, cached_lookups);
criterion_main!(benches);
