//! Signing and verifying 10 KB and 1 MB messages (RSA-2048, relaxed/relaxed), each beside the
//! same cryptographic work done directly with ring: SHA-256 of the body plus one RSA-2048
//! PKCS#1 v1.5 signature (or verification) of the canonicalized signed header fields.
//! That is the physical limit; the difference is parsing, canonicalization and the lookup.
//!
//! Verification is measured twice, each beside its own limit:
//! - `dkim`: every key record is parsed, as without a cache. A verifier must then decode the
//!   key from the record's base64 `p=` every time, so its limit, `ring limit, key from TXT`,
//!   does that too (finds `p=`, decodes it, unwraps the SubjectPublicKeyInfo).
//! - `dkim, key cache`: with a [`dkim::KeyCache`], the record text is still looked up and
//!   compared, but its parse is reused; its limit, `ring limit`, starts from the decoded key.
//!
//! Keys are looked up through a resolver that answers from memory, as a resolver's cache
//! does: `dns::MockResolver`, a test double that also logs every query (a log that grows
//! without bound over a benchmark run) and consults failure tables, costs about 1 µs more per
//! lookup, which is not DKIM's work.
//!
//! Run: `cargo bench -p dkim --bench dkim -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use common::{Cached, key_from_txt, key_pem, message, pkcs8_der, signed_header_data};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dkim::{KeyCache, PrivateKey, Record, Selector, Signer, VerifyOptions};
use dns::Domain;
use ring::signature::{self, KeyPair, RsaKeyPair};

fn benches(c: &mut Criterion) {
    let pem = key_pem();
    let key = PrivateKey::from_pem(&pem).unwrap();
    let txt = Record::for_public_key(&key.public_key()).to_string();
    let resolver =
        Cached { name: Domain::parse("sel._domainkey.example.org").unwrap(), txt: txt.clone() };
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
    let cached_options = VerifyOptions::default().with_key_cache(Arc::new(KeyCache::new(100)));

    for (label, size) in [("10KB", 10 << 10), ("1MB", 1 << 20)] {
        let msg = message(size);
        let body_offset = message::Header::parse(&msg).body_offset();
        let headers = dkim::sign(&signers, &msg, now).unwrap();
        let signed = [headers.as_bytes(), &msg].concat();
        // The data the header signature covers, as we hash it: every header field (all are
        // signed) and the DKIM-Signature field without its b= value, relaxed.
        let header_data = signed_header_data(&msg, &headers);
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
        for (name, options) in [("dkim", &options), ("dkim, key cache", &cached_options)] {
            g.bench_function(name, |b| {
                b.iter(|| {
                    let r = runtime
                        .block_on(dkim::verify(&resolver, black_box(&signed), options))
                        .unwrap();
                    assert_eq!(r[0].status, dkim::Status::Pass);
                    r
                })
            });
        }
        g.bench_function("ring limit", |b| {
            b.iter(|| {
                let body =
                    ring::digest::digest(&ring::digest::SHA256, black_box(&msg[body_offset..]));
                public.verify(black_box(&header_data), &sig).unwrap();
                body
            })
        });
        g.bench_function("ring limit, key from TXT", |b| {
            b.iter(|| {
                let body =
                    ring::digest::digest(&ring::digest::SHA256, black_box(&msg[body_offset..]));
                let key = key_from_txt(black_box(&txt));
                signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &key)
                    .verify(black_box(&header_data), &sig)
                    .unwrap();
                body
            })
        });
        g.finish();
    }
}

criterion_group!(dkim_benches, benches);
criterion_main!(dkim_benches);
