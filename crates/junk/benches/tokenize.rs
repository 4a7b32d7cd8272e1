//! Tokenizer benchmarks, without the junk benchmark's long setup (100,000 trained messages):
//! `cargo bench -p junk --bench tokenize`. The messages are about 10 KB: plain text (as in
//! the junk benchmark's classification), HTML, base64-encoded plain text, and the mix of the
//! generated corpus (plain, HTML, multipart, base64, quoted-printable, German and French).
//!
//! For instruction counts on a shared machine, where wall time is noisy:
//! `valgrind --tool=callgrind target/release/deps/tokenize-* --bench --profile-time 2 plain`.

#![allow(clippy::unwrap_used)]

mod clock;
#[path = "../tests/corpus/mod.rs"]
mod corpus;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use junk::Params;
use junk::tokenize::message_words;

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            s.push_str("\r\n");
        }
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        s.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    s
}

fn messages() -> Vec<(&'static str, Vec<u8>)> {
    let mut r = corpus::Rng::new(2);
    let plain = corpus::message_of_size(&mut r, true, 10 * 1024);
    let split = plain.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (header, body) = plain.split_at(split);
    let header = &header[..header.len() - 2];

    let mut html = header.to_vec();
    html.extend_from_slice(b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p { font-family: arial; }</style></head><body>");
    for p in body.split(|&b| b == b'\n').filter(|l| l.len() > 2) {
        html.extend_from_slice(b"<p><b>");
        html.extend_from_slice(&p[..p.len() / 2]);
        html.extend_from_slice(b"</b>&nbsp;<a href=\"http://click.example/track\">");
        html.extend_from_slice(&p[p.len() / 2..]);
        html.extend_from_slice(b"</a></p>\r\n");
    }
    html.extend_from_slice(b"</body></html>\r\n");

    let mut b64 = header.to_vec();
    b64.extend_from_slice(
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    b64.extend_from_slice(base64(body).as_bytes());

    println!(
        "messages: plain {} bytes, html {} bytes, base64 {} bytes",
        plain.len(),
        html.len(),
        b64.len()
    );
    vec![("plain", plain), ("html", html), ("base64", b64)]
}

fn tokenize_benches(c: &mut Criterion<clock::Clock>) {
    let params = Params::default();
    let ngrams = Params { twograms: true, threegrams: true, ..Params::default() };
    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Elements(1));
    for (name, msg) in messages() {
        g.bench_function(format!("{name}_10k"), |b| {
            b.iter(|| message_words(std::hint::black_box(&msg), &params))
        });
        if name == "plain" {
            g.bench_function("plain_10k_ngrams", |b| {
                b.iter(|| message_words(std::hint::black_box(&msg), &ngrams))
            });
        }
    }
    let (ham, spam) = corpus::corpus(3, 20);
    let corpus: Vec<Vec<u8>> = ham.into_iter().chain(spam).collect();
    println!("corpus: 40 messages, {} bytes", corpus.iter().map(Vec::len).sum::<usize>());
    g.throughput(Throughput::Elements(corpus.len() as u64));
    g.bench_function("corpus_40_messages", |b| {
        b.iter(|| {
            for m in &corpus {
                std::hint::black_box(message_words(std::hint::black_box(m), &params));
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(clock::Clock::from_env());
    targets = tokenize_benches
}
criterion_main!(benches);
