//! Parsing throughput: the header section and full MIME tree of a ~10 KB plain message and of a
//! ~1 MB multipart message with a base64 attachment, and the latter with every part decoded.
//!
//! `cargo bench -p message --bench parse -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use message::{Header, Message};

const HEADER: &str = "Received: from mail.example.org (mail.example.org [192.0.2.1])\r\n\tby mx.example.net (mox) with ESMTPS id 7Yh3kP2xQ0aB\r\n\tfor <rcpt@example.net>; Wed, 25 Nov 2026 18:30:25 +0000\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=2026a;\r\n\th=from:to:subject:date:message-id:mime-version:content-type;\r\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\nFrom: Sender Name <sender@example.org>\r\nTo: Recipient <rcpt@example.net>, other@example.net\r\nSubject: =?utf-8?q?A_benchmark_message_with_caf=C3=A9?=\r\nDate: Wed, 25 Nov 2026 18:30:00 +0000\r\nMessage-ID: <bench.1@example.org>\r\nMIME-Version: 1.0\r\n";

fn plain_message() -> Vec<u8> {
    let mut m = HEADER.to_string();
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    let mut i = 0;
    while m.len() < 10 * 1024 {
        m.push_str(&format!("Line {i} of a plain text body, long enough to look like prose.\r\n"));
        i += 1;
    }
    m.into_bytes()
}

fn multipart_message() -> Vec<u8> {
    let mut m = HEADER.to_string();
    m.push_str("Content-Type: multipart/mixed; boundary=\"=_outer_boundary\"\r\n\r\n");
    m.push_str(
        "--=_outer_boundary\r\nContent-Type: multipart/alternative; boundary=\"=_alt\"\r\n\r\n",
    );
    m.push_str("--=_alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    for i in 0..100 {
        m.push_str(&format!(
            "Caf=C3=A9 line {i} of the text part, soft broken here =\r\nand continued.\r\n"
        ));
    }
    m.push_str("--=_alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n");
    for i in 0..100 {
        m.push_str(&format!("<p>Paragraph {i} of the html part.</p>\r\n"));
    }
    m.push_str("--=_alt--\r\n\r\n--=_outer_boundary\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    // Pseudo-random bytes, base64 encoded in 76-character lines.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = 0x2545_f491_4f6c_dd1du64;
    while m.len() < 1024 * 1024 - 100 {
        for _ in 0..76 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            m.push(alphabet[(state % 64) as usize] as char);
        }
        m.push_str("\r\n");
    }
    m.push_str("--=_outer_boundary--\r\n");
    m.into_bytes()
}

fn bench(c: &mut Criterion) {
    let plain = plain_message();
    let multipart = multipart_message();
    assert_eq!(Message::parse(&multipart).parts().count(), 5);

    // Throughput of the header section alone is over its own bytes (13 fields, ~1 KB).
    let header_len = Header::parse(&plain).body_offset();
    let mut g = c.benchmark_group("header-section");
    g.throughput(Throughput::Bytes(header_len as u64));
    g.bench_function("parse", |b| b.iter(|| Header::parse(black_box(&plain)).len()));
    g.finish();

    let mut g = c.benchmark_group("plain-10KB");
    g.throughput(Throughput::Bytes(plain.len() as u64));
    g.bench_function("message", |b| {
        b.iter(|| Message::parse(black_box(&plain)).root().line_count())
    });
    g.finish();

    let mut g = c.benchmark_group("multipart-1MB");
    g.throughput(Throughput::Bytes(multipart.len() as u64));
    g.bench_function("message", |b| {
        b.iter(|| Message::parse(black_box(&multipart)).parts().count())
    });
    g.bench_function("message+decode", |b| {
        b.iter(|| {
            let msg = Message::parse(black_box(&multipart));
            msg.parts().map(|p| p.decoded_body().len()).sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
