//! Verification of the benchmark's 10 KB (or 1 MB) message, for profiling and for comparing
//! with the ring limit on a busy machine, where criterion's means wander with the load.
//!
//! ```text
//! cargo run --release -p dkim --example verify_profile -- ratio [1mb]
//!     batches of 10 verifications alternate with batches of the limit, 3000 times; prints
//!     the minimum, 10th percentile and median of both and their ratios, for verification
//!     without and with a key cache (each beside its limit, as in benches/dkim.rs)
//! cargo run --release -p dkim --example verify_profile -- loop [cache] [n=100000]
//!     only verifications, to run under `perf record` or `valgrind --tool=callgrind`
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use dkim::{Canon, KeyCache, PrivateKey, Record, Selector, Signer, VerifyOptions};
use dns::{Domain, Lookup, LookupError, LookupResult, Mx, Resolver, Tlsa};
use ring::signature::{self, KeyPair, RsaKeyPair};

/// The message of benches/dkim.rs: a text part and a base64 attachment, CRLF lines.
fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: Jane Doe <jane@example.org>\r\nTo: Bob <bob@example.net>\r\n\
        Cc: Carol <carol@example.net>\r\nSubject: Quarterly figures, as promised\r\n\
        Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <bench@example.org>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
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

/// Answers TXT lookups for one name from memory, like a resolver's cache.
struct Cached {
    name: Domain,
    txt: String,
}

fn nx<T>(name: &Domain) -> LookupResult<T> {
    Err(LookupError::NxDomain { name: name.clone(), authentic: false })
}

#[dns::async_trait]
impl Resolver for Cached {
    async fn lookup_txt(&self, name: &Domain) -> LookupResult<String> {
        if *name != self.name {
            return nx(name);
        }
        Ok(Lookup { records: vec![self.txt.clone()], authentic: false })
    }
    async fn lookup_a(&self, name: &Domain) -> LookupResult<Ipv4Addr> {
        nx(name)
    }
    async fn lookup_aaaa(&self, name: &Domain) -> LookupResult<Ipv6Addr> {
        nx(name)
    }
    async fn lookup_mx(&self, name: &Domain) -> LookupResult<Mx> {
        nx(name)
    }
    async fn lookup_ptr(&self, ip: IpAddr) -> LookupResult<Domain> {
        nx(&Domain::reverse_lookup_name(ip))
    }
    async fn lookup_cname(&self, name: &Domain) -> LookupResult<Domain> {
        nx(name)
    }
    async fn lookup_tlsa(&self, name: &Domain) -> LookupResult<Tlsa> {
        nx(name)
    }
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q) as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |a: &str| args.iter().any(|x| x == a);
    let pem_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/dkim/keys/rsa2048.pem");
    let pem = std::fs::read_to_string(pem_path).unwrap();
    let key = PrivateKey::from_pem(&pem).unwrap();
    let txt = Record::for_public_key(&key.public_key()).to_string();
    let resolver =
        Cached { name: Domain::parse("sel._domainkey.example.org").unwrap(), txt: txt.clone() };
    let domain = Domain::parse("example.org").unwrap();
    let signers = [Signer::new(domain, Selector::parse("sel").unwrap(), key)];
    let msg = message(if has("1mb") { 1 << 20 } else { 10 << 10 });
    let headers = dkim::sign(&signers, &msg, SystemTime::now()).unwrap();
    let signed = [headers.as_bytes(), &msg].concat();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let plain = VerifyOptions::default();
    let cached = VerifyOptions::default().with_key_cache(Arc::new(KeyCache::new(100)));
    let verify = |options: &VerifyOptions| {
        let r = runtime.block_on(dkim::verify(&resolver, black_box(&signed), options)).unwrap();
        assert_eq!(r[0].status, dkim::Status::Pass);
        r
    };

    if has("loop") {
        let options = if has("cache") { &cached } else { &plain };
        let n =
            args.iter().find_map(|a| a.strip_prefix("n=")).map_or(100_000, |n| n.parse().unwrap());
        for _ in 0..n {
            black_box(verify(options));
        }
        return;
    }

    // The limits of benches/dkim.rs: the body's SHA-256 and one RSA verification of the
    // canonicalized signed header fields, with the key decoded from the record or given.
    let ring_key = RsaKeyPair::from_pkcs8(&pkcs8_der(&pem)).unwrap();
    let body_offset = message::Header::parse(&msg).body_offset();
    let mut header_data = Vec::new();
    for field in message::Header::parse(&msg).iter() {
        header_data.extend(dkim::canonicalize_header(Canon::Relaxed, field.raw()));
    }
    let without_b = &headers[..headers.rfind("b=").unwrap() + 2];
    header_data.extend(dkim::canonicalize_header(Canon::Relaxed, without_b.as_bytes()));
    header_data.truncate(header_data.len() - 2);
    let mut sig = vec![0u8; ring_key.public().modulus_len()];
    let rng = ring::rand::SystemRandom::new();
    ring_key.sign(&signature::RSA_PKCS1_SHA256, &rng, &header_data, &mut sig).unwrap();
    let decoded = ring_key.public_key().as_ref().to_vec();
    let limit = |from_txt: bool| {
        let body = ring::digest::digest(&ring::digest::SHA256, black_box(&msg[body_offset..]));
        let check = |key: &[u8]| {
            signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, key)
                .verify(black_box(&header_data), &sig)
                .unwrap()
        };
        if from_txt {
            check(&key_from_txt(black_box(&txt)));
        } else {
            check(&decoded);
        }
        body
    };

    let (batch, rounds) = if has("1mb") { (1, 400) } else { (10, 3000) };
    for (name, options, from_txt) in [("dkim", &plain, true), ("dkim, key cache", &cached, false)] {
        let (mut ours, mut lim) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(verify(options));
            }
            ours.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(batch));
            let t = Instant::now();
            for _ in 0..batch {
                black_box(limit(from_txt));
            }
            lim.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(batch));
        }
        let q = |v: &mut Vec<f64>| [0.0, 0.1, 0.5].map(|f| quantile(v, f));
        let (o, l) = (q(&mut ours), q(&mut lim));
        let limit_name = if from_txt { "ring limit, key from TXT" } else { "ring limit" };
        println!(
            "{name}: {:.2} / {:.2} / {:.2} µs (min / p10 / median); {limit_name}: {:.2} / {:.2} / {:.2} µs; ratio {:.1}% / {:.1}% / {:.1}%",
            o[0],
            o[1],
            o[2],
            l[0],
            l[1],
            l[2],
            l[0] / o[0] * 100.0,
            l[1] / o[1] * 100.0,
            l[2] / o[2] * 100.0
        );
    }
}

/// As in benches/dkim.rs: `p=` found, base64-decoded, the RSA-2048 SPKI prefix checked and cut.
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
