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

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dkim::{KeyCache, PrivateKey, Record, Selector, Signer, VerifyOptions};
use dns::{Domain, Lookup, LookupError, LookupResult, Mx, Resolver, Tlsa};
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

/// Answers TXT lookups for one name from memory, like a resolver's cache; nothing else.
struct Cached {
    name: Domain,
    txt: String,
}

#[dns::async_trait]
impl Resolver for Cached {
    async fn lookup_txt(&self, name: &Domain) -> LookupResult<String> {
        if *name == self.name {
            Ok(Lookup { records: vec![self.txt.clone()], authentic: false })
        } else {
            Err(LookupError::NxDomain { name: name.clone(), authentic: false })
        }
    }
    async fn lookup_a(&self, name: &Domain) -> LookupResult<Ipv4Addr> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
    async fn lookup_aaaa(&self, name: &Domain) -> LookupResult<Ipv6Addr> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
    async fn lookup_mx(&self, name: &Domain) -> LookupResult<Mx> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
    async fn lookup_ptr(&self, ip: IpAddr) -> LookupResult<Domain> {
        Err(LookupError::NxDomain { name: Domain::reverse_lookup_name(ip), authentic: false })
    }
    async fn lookup_cname(&self, name: &Domain) -> LookupResult<Domain> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
    async fn lookup_tlsa(&self, name: &Domain) -> LookupResult<Tlsa> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
}

/// What a verifier without a cache must do with the key record to verify: find `p=`, decode
/// its base64, and take the RSAPublicKey out of the SubjectPublicKeyInfo (for RSA-2048 the
/// part after a fixed 24-byte prefix, which is checked).
fn key_from_txt(txt: &str) -> Vec<u8> {
    use base64::Engine;
    const SPKI_RSA_2048: [u8; 24] = [
        0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
        0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00,
    ];
    let p = txt.find("p=").map(|i| &txt[i + 2..]).unwrap();
    let mut spki = base64::engine::general_purpose::STANDARD.decode(p).unwrap();
    assert_eq!(spki[..24], SPKI_RSA_2048);
    spki.drain(..24);
    spki
}

/// RFC 6376 §3.7 for a message whose header fields are all signed once: each field
/// canonicalized, then the DKIM-Signature field (`sig_field`) with an empty b= and no CRLF.
fn signed_header_data(msg: &[u8], sig_field: &str) -> Vec<u8> {
    use dkim::{Canon, canonicalize_header};
    let mut data = Vec::new();
    for field in message::Header::parse(msg).iter() {
        data.extend(canonicalize_header(Canon::Relaxed, field.raw()));
    }
    let without_b = &sig_field[..sig_field.rfind("b=").unwrap() + 2];
    data.extend(canonicalize_header(Canon::Relaxed, without_b.as_bytes()));
    data.truncate(data.len() - 2);
    data
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
