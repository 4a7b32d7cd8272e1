//! Interop with dkimpy (Debian `python3-dkim`), an independent implementation, over the
//! corpus in `testdata/dkim/corpus/` plus a generated message with a 5 MB attachment:
//!
//! - every message we sign (RSA and Ed25519 at once, in all four canonicalizations) is
//!   verified by dkimpy, and fails there after a header or body change;
//! - every message dkimpy signs (both algorithms, all four canonicalizations, and with `l=`)
//!   we verify, and a header or body change fails here.
//!
//! dkimpy runs as `/usr/bin/python3 tests/dkimpy_peer.py JOB` (one process per direction);
//! `.ci/deps` installs it. Without it these tests fail, saying what to install.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use dkim::{Canonicalization, PrivateKey, Record, Selector, Signer, Status, VerifyOptions};
use dns::{Domain, MockResolver};
use serde_json::{Value, json};

const CANONICALIZATIONS: [&str; 4] =
    ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"];

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dkim")
}

fn key_path(name: &str) -> PathBuf {
    testdata().join("keys").join(name)
}

fn key(name: &str) -> PrivateKey {
    PrivateKey::from_pem(&std::fs::read_to_string(key_path(name)).unwrap()).unwrap()
}

/// The key records: selector `rsa` and `ed` at example.org.
fn records() -> Vec<(String, String)> {
    ["rsa", "ed"]
        .iter()
        .zip(["rsa2048.pem", "ed25519.pem"])
        .map(|(sel, file)| {
            let txt = Record::for_public_key(&key(file).public_key()).to_string();
            (format!("{sel}._domainkey.example.org"), txt)
        })
        .collect()
}

fn resolver() -> MockResolver {
    let zone: String = records().iter().map(|(n, t)| format!("{n} TXT \"{t}\"\n")).collect();
    MockResolver::from_zone(&zone).unwrap()
}

/// The corpus, and a message with a 5 MB base64 attachment (made here, deterministically,
/// rather than kept in the repository).
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut messages: Vec<(String, Vec<u8>)> = std::fs::read_dir(testdata().join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    messages.sort();
    assert!(messages.len() >= 24, "corpus is incomplete: {}", messages.len());
    messages.push(("generated-5mb-attachment.eml".into(), large_message(5 << 20)));
    messages
}

fn large_message(size: usize) -> Vec<u8> {
    let mut m =
        b"From: Jane <jane@example.org>\r\nTo: bob@example.net\r\nSubject: Big attachment\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nAttached.\r\n--b\r\n\
        Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u32 = 12345;
    while m.len() < size {
        for _ in 0..76 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            m.push(B64[(x >> 16) as usize % 64]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

/// The message with a changed header: an `X` right after `From:`.
fn tamper_header(message: &[u8]) -> Vec<u8> {
    let text = message.to_vec();
    let pos = if text.starts_with(b"From:") {
        0
    } else {
        memchr::memmem::find(&text, b"\nFrom:").unwrap() + 1
    };
    let mut out = text;
    out.insert(pos + 5, b'X');
    out
}

/// The message with a changed body: an `X` at its start (a body added where there was none).
fn tamper_body(message: &[u8]) -> Vec<u8> {
    let header = message::Header::parse(message);
    let mut out = message.to_vec();
    if header.has_separator() {
        out.insert(header.body_offset(), b'X');
    } else {
        if !out.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\nX\r\n");
    }
    out
}

fn dkimpy(dir: &Path, job: &Value) -> Vec<Value> {
    let job_file = dir.join("job.json");
    std::fs::write(&job_file, serde_json::to_vec(job).unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/dkimpy_peer.py");
    let out =
        Command::new("/usr/bin/python3").arg(script).arg(&job_file).output().expect(
            "running /usr/bin/python3: install Debian's python3 and python3-dkim (.ci/deps)",
        );
    assert!(
        out.status.success(),
        "dkimpy peer failed (is python3-dkim installed? see .ci/deps): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn zone_json() -> Value {
    let zone: serde_json::Map<String, Value> =
        records().into_iter().map(|(n, t)| (format!("{n}."), Value::String(t))).collect();
    Value::Object(zone)
}

#[test]
fn dkimpy_verifies_what_we_sign() {
    let dir = tempfile::tempdir().unwrap();
    let domain = Domain::parse("example.org").unwrap();
    let now = SystemTime::now();
    let mut verify = Vec::new();
    // (file, expected ok)
    let mut expected = Vec::new();
    for (name, message) in corpus() {
        for c in CANONICALIZATIONS {
            let canon: Canonicalization = c.parse().unwrap();
            let signers = [
                Signer::new(domain.clone(), Selector::parse("rsa").unwrap(), key("rsa2048.pem"))
                    .canonicalization(canon),
                Signer::new(domain.clone(), Selector::parse("ed").unwrap(), key("ed25519.pem"))
                    .canonicalization(canon),
            ];
            let headers = dkim::sign(&signers, &message, now).unwrap();
            let signed = [headers.as_bytes(), &message].concat();
            for (variant, bytes, ok) in [
                ("signed", signed.clone(), true),
                ("header-changed", tamper_header(&signed), false),
                ("body-changed", tamper_body(&signed), false),
            ] {
                let file = dir.path().join(format!("{name}.{}.{variant}", c.replace('/', "-")));
                std::fs::write(&file, &bytes).unwrap();
                for idx in [0, 1] {
                    verify.push(json!({"file": file, "idx": idx}));
                    expected.push((format!("{name} {c} {variant} idx {idx}"), ok));
                }
            }
        }
    }
    let results = dkimpy(dir.path(), &json!({"zone": zone_json(), "verify": verify}));
    assert_eq!(results.len(), expected.len());
    let mut wrong = Vec::new();
    for (r, (what, ok)) in results.iter().zip(&expected) {
        if r["ok"].as_bool() != Some(*ok) {
            wrong.push(format!("{what}: dkimpy says {} ({})", r["ok"], r["error"]));
        }
    }
    let passed = expected.iter().filter(|(_, ok)| *ok).count();
    println!(
        "dkimpy checked {} signatures we made ({passed} should verify, {} are tampered)",
        expected.len(),
        expected.len() - passed
    );
    assert!(wrong.is_empty(), "{} of {} wrong:\n{}", wrong.len(), expected.len(), wrong.join("\n"));
}

#[tokio::test]
async fn we_verify_what_dkimpy_signs() {
    let dir = tempfile::tempdir().unwrap();
    let messages = corpus();
    let mut sign = Vec::new();
    let mut cases = Vec::new();
    for (i, (name, message)) in messages.iter().enumerate() {
        let file = dir.path().join(format!("{i}.eml"));
        std::fs::write(&file, message).unwrap();
        let mut variants: Vec<(&str, &str, &str, bool)> = Vec::new();
        for c in CANONICALIZATIONS {
            variants.push(("rsa", "rsa-sha256", c, false));
            variants.push(("ed", "ed25519-sha256", c, false));
        }
        // And with l=, in relaxed/relaxed.
        variants.push(("rsa", "rsa-sha256", "relaxed/relaxed", true));
        for (j, (selector, algorithm, c, length)) in variants.into_iter().enumerate() {
            let out = dir.path().join(format!("{i}.{j}.sig"));
            let (h, b) = c.split_once('/').unwrap();
            let key_file = if selector == "rsa" { "rsa2048.pem" } else { "ed25519.pem" };
            sign.push(json!({
                "file": file, "out": out, "domain": "example.org", "selector": selector,
                "key": key_path(key_file), "algorithm": algorithm, "canonicalize": [h, b],
                "length": length,
            }));
            cases.push((format!("{name} {algorithm} {c} l={length}"), i, out, length));
        }
    }
    let results = dkimpy(dir.path(), &json!({"sign": sign}));
    for r in &results {
        assert_eq!(r["ok"], true, "dkimpy could not sign: {r}");
    }
    let resolver = resolver();
    let options = VerifyOptions::default();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (what, i, out, length) in &cases {
        let header = std::fs::read(out).unwrap();
        let signed = [header.as_slice(), &messages[*i].1].concat();
        // With l=0 (an empty body in relaxed form) no body byte is signed.
        let value = &header[header.iter().position(|&b| b == b':').unwrap() + 1..];
        let value = value.strip_suffix(b"\r\n").unwrap_or(value);
        let unsigned_body = dkim::Signature::parse(value).unwrap().body_length == Some(0);
        let body_changed = if unsigned_body { Status::Pass } else { Status::Fail };
        let mut variants = vec![
            ("signed", signed.clone(), Status::Pass),
            ("header-changed", tamper_header(&signed), Status::Fail),
            ("body-changed", tamper_body(&signed), body_changed),
        ];
        if *length {
            // Text appended after the signed length is allowed by l= (RFC 6376 §3.5).
            let mut appended = signed.clone();
            if !appended.ends_with(b"\n") {
                appended.extend_from_slice(b"\r\n");
            }
            if !message::Header::parse(&appended).has_separator() {
                appended.extend_from_slice(b"\r\n");
            }
            appended.extend_from_slice(b"-- \r\nA mailing list footer.\r\n");
            variants.push(("footer-appended", appended, Status::Pass));
        }
        for (variant, bytes, want) in variants {
            // dkimpy's signature is the first; a corpus message may carry others.
            let results = dkim::verify(&resolver, &bytes, &options).await.unwrap();
            checked += 1;
            if results.first().map(|r| r.status) != Some(want) {
                let got: Vec<_> = results.iter().map(|r| (r.status, r.reason.clone())).collect();
                wrong.push(format!("{what} {variant}: want {want}, got {got:?}"));
            }
        }
    }
    println!(
        "verified {checked} messages dkimpy signed ({} signatures, tampered variants included)",
        cases.len()
    );
    assert!(wrong.is_empty(), "{} of {checked} wrong:\n{}", wrong.len(), wrong.join("\n"));
}
