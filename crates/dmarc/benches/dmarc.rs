//! What DMARC costs per message, without network latency: record parsing, organizational
//! domains (the Public Suffix List), a whole verification against an in-memory zone, and
//! reading an aggregate report from its message.
//!
//! Run with `cargo bench -p dmarc --bench dmarc`; criterion prints operations per second as
//! "thrpt" (elements/s).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dmarc::{AlwaysApply, DkimOutcome, DkimResult, DmarcResult, Record, SpfOutcome, SpfResult};
use dns::{Domain, MockResolver};

const RECORD: &str = "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.com,\
                      mailto:reports@thirdparty.example.net!10m; ruf=mailto:f@example.com; \
                      adkim=s; aspf=r; fo=1:d; pct=100";

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("dmarc");
    group.throughput(Throughput::Elements(1));

    group.bench_function("record_parse", |b| b.iter(|| Record::parse(black_box(RECORD))));

    let name = Domain::parse("a.b.mail.example.co.uk").expect("domain");
    group.bench_function("organizational_domain", |b| {
        b.iter(|| dmarc::organizational_domain(black_box(&name)))
    });

    let zone =
        MockResolver::from_zone(&format!("_dmarc.example.com TXT \"{RECORD}\"")).expect("zone");
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let message = b"From: \"Jane\" <jane@news.example.com>\r\nSubject: hi\r\n\r\nbody\r\n";
    let spf = SpfOutcome {
        result: SpfResult::Pass,
        domain: Domain::parse("bounces.example.com").expect("domain"),
    };
    let dkim = [
        DkimOutcome {
            result: DkimResult::Pass,
            domain: Domain::parse("esp.example").expect("domain"),
            selector: None,
        },
        DkimOutcome {
            result: DkimResult::Pass,
            domain: Domain::parse("example.com").expect("domain"),
            selector: None,
        },
    ];
    group.bench_function("verify_message", |b| {
        b.iter(|| {
            let header = message::Header::parse(black_box(message));
            let e = runtime.block_on(dmarc::verify(
                &zone,
                &header,
                Some(&spf),
                &dkim,
                &mut AlwaysApply,
            ));
            assert_eq!(e.result, DmarcResult::Pass); // SPF aligned under aspf=r
            e
        })
    });

    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dmarc/microsoft-gzip.eml");
    let report = std::fs::read(path).expect("testdata");
    group.bench_function("report_parse_message_gzip", |b| {
        b.iter(|| dmarc::report::parse_message(black_box(&report)).expect("report"))
    });
    group.finish();
}

criterion_group!(dmarc_benches, benches);
criterion_main!(dmarc_benches);
