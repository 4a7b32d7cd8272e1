//! Signing and verifying 10 KB and 1 MB messages (RSA-2048, relaxed/relaxed), each beside the
//! same cryptographic work done directly with ring: SHA-256 of the body plus one RSA-2048
//! PKCS#1 v1.5 signature (or verification) over data the size of the signed header fields.
//! That is the physical limit; the difference is parsing, canonicalization and the lookup.
//!
//! Run: `cargo bench -p dkim --bench dkim -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::SystemTime;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dkim::{PrivateKey, Record, Selector, Signer, VerifyOptions};
use ring::signature::{self, KeyPair, RsaKeyPair};

fn key_pem() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dkim/keys/rsa2048.pem");
    std::fs::read_to_string(path).unwrap()
}

/// A message of about `size` bytes: a text part and a base64 attachment, CRLF lines.
fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: Jane Doe <jane@example.org>\r\nTo: Bob <bob@example.net>\r\n\
        Cc: Carol <carol@example.net>\r\nSubject: Quarterly figures, as promised\r\n\
        Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <bench@example.org>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
    // Prose, with now and then what relaxed canonicalization rewrites: a tab, two spaces,
    // trailing whitespace, an empty line.
    for i in 0..40 {
        let line = match i % 8 {
            3 => format!("Line {i} of the text part:\tnumbers  and a trailing space \r\n"),
            7 => "\r\n".to_string(),
            _ => format!("Line {i} of the text part, in plain sentences like most mail has.\r\n"),
        };
        m.extend_from_slice(line.as_bytes());
    }
    m.extend_from_slice(
        b"\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u32 = 1;
    while m.len() + 80 < size {
        for _ in 0..76 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            m.push(B64[(x >> 16) as usize % 64]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

fn pkcs8_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

fn benches(c: &mut Criterion) {
    let pem = key_pem();
    let key = PrivateKey::from_pem(&pem).unwrap();
    let txt = Record::for_public_key(&key.public_key()).to_string();
    let resolver =
        dns::MockResolver::from_zone(&format!("sel._domainkey.example.org TXT \"{txt}\"")).unwrap();
    let signers = [Signer::new(
        dns::Domain::parse("example.org").unwrap(),
        Selector::parse("sel").unwrap(),
        key,
    )];
    let ring_key = RsaKeyPair::from_pkcs8(&pkcs8_der(&pem)).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let now = SystemTime::now();
    let options = VerifyOptions::default();

    for (label, size) in [("10KB", 10 << 10), ("1MB", 1 << 20)] {
        let msg = message(size);
        let body_offset = message::Header::parse(&msg).body_offset();
        let headers = dkim::sign(&signers, &msg, now).unwrap();
        let signed = [headers.as_bytes(), &msg].concat();
        // Data of the size ring signs for us: the signed header fields and the signature field.
        let header_data = [&msg[..body_offset], headers.as_bytes()].concat();
        let mut sig = vec![0u8; ring_key.public().modulus_len()];
        ring_key.sign(&signature::RSA_PKCS1_SHA256, &rng, &header_data, &mut sig).unwrap();
        let public = signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            ring_key.public_key().as_ref().to_vec(),
        );

        let mut g = c.benchmark_group(format!("sign/{label}"));
        g.throughput(Throughput::Bytes(msg.len() as u64));
        g.bench_function("dkim", |b| {
            b.iter(|| dkim::sign(&signers, black_box(&msg), now).unwrap())
        });
        g.bench_function("ring limit", |b| {
            b.iter(|| {
                let body =
                    ring::digest::digest(&ring::digest::SHA256, black_box(&msg[body_offset..]));
                let mut s = vec![0u8; ring_key.public().modulus_len()];
                ring_key
                    .sign(&signature::RSA_PKCS1_SHA256, &rng, black_box(&header_data), &mut s)
                    .unwrap();
                (body, s)
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("verify/{label}"));
        g.throughput(Throughput::Bytes(signed.len() as u64));
        g.bench_function("dkim", |b| {
            b.iter(|| {
                let r = runtime
                    .block_on(dkim::verify(&resolver, black_box(&signed), &options))
                    .unwrap();
                assert_eq!(r[0].status, dkim::Status::Pass);
                r
            })
        });
        g.bench_function("ring limit", |b| {
            b.iter(|| {
                let body =
                    ring::digest::digest(&ring::digest::SHA256, black_box(&msg[body_offset..]));
                public.verify(black_box(&header_data), &sig).unwrap();
                body
            })
        });
        g.finish();
    }
}

criterion_group!(dkim_benches, benches);
criterion_main!(dkim_benches);
