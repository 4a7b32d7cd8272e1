//! DATA encoding throughput: dot-stuffing and line-ending repair of a message in 64 KiB pieces,
//! as the driver streams it.
//!
//! `cargo bench -p smtpclient --bench dotstuff -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtpclient::DotStuffer;

fn message(size: usize, line_ending: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(size + 100);
    let mut i = 0usize;
    while message.len() < size {
        if i.is_multiple_of(20) {
            message.push(b'.');
        }
        let width = 20 + (i * 7) % 58;
        message.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, width));
        message.extend_from_slice(line_ending);
        i += 1;
    }
    message
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("dotstuff");
    for (name, ending) in [("crlf", &b"\r\n"[..]), ("bare_lf", &b"\n"[..])] {
        let input = message(8 << 20, ending);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            let mut out = Vec::with_capacity(80 << 10);
            b.iter(|| {
                let mut stuffer = DotStuffer::new();
                let mut total = 0;
                for chunk in input.chunks(64 << 10) {
                    out.clear();
                    stuffer.encode(chunk, &mut out);
                    total += out.len();
                }
                out.clear();
                stuffer.finish(&mut out);
                total + out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
