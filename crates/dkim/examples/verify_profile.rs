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

#[path = "../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use common::{Cached, key_from_txt, key_pem, message, pkcs8_der, signed_header_data};
use dkim::{KeyCache, PrivateKey, Record, Selector, Signer, VerifyOptions};
use dns::Domain;
use ring::signature::{self, KeyPair, RsaKeyPair};

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q) as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |a: &str| args.iter().any(|x| x == a);
    let pem = key_pem();
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
    let header_data = signed_header_data(&msg, &headers);
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
