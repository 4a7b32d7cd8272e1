//! Interop with dkimpy (Debian `python3-dkim`), an independent implementation, over the
//! corpus in `testdata/dkim/corpus/` plus a generated message with a 5 MB attachment:
//!
//! - every message we sign (RSA and Ed25519 at once, in all four canonicalizations) is
//!   verified by dkimpy and by us, and fails in both after a header or body change;
//! - every message dkimpy signs (both algorithms, all four canonicalizations, and with `l=`)
//!   we verify, and a header or body change fails here (and, for the corpus, in dkimpy).
//!
//! The changes: the first signed header field (`From`), a signed field in the middle, two
//! signed fields of the same name swapped (their order is signed, RFC 6376 §5.4.2), the
//! body's first byte, and a line added at the end of the body (allowed by `l=`, RFC 6376
//! §3.5). Swapping two fields of different names must still verify, in both, since only the
//! order within one name is signed.
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

/// Header fields both signers sign: ours ([`dkim::DEFAULT_HEADERS`]) and dkimpy's default
/// list have these in common.
const SIGNED_BY_BOTH: [&str; 5] = ["From", "To", "Subject", "Date", "Message-ID"];

/// The header fields of `message` named in [`SIGNED_BY_BOTH`]: offset, length, lowercase name.
fn signed_fields(message: &[u8]) -> Vec<(usize, usize, String)> {
    message::Header::parse(message)
        .fields()
        .iter()
        .filter(|f| SIGNED_BY_BOTH.iter().any(|n| f.is(n)))
        .map(|f| (f.offset(), f.raw().len(), f.name().to_ascii_lowercase()))
        .collect()
}

/// A signed header field in the middle changed (an `X` after its colon): not the first one,
/// which [`tamper_header`] changes. `None` if there are fewer than three signed fields.
fn tamper_middle_header(message: &[u8]) -> Option<Vec<u8>> {
    let fields = signed_fields(message);
    if fields.len() < 3 {
        return None;
    }
    let (offset, _, _) = fields[fields.len() / 2];
    let colon = offset + message[offset..].iter().position(|&b| b == b':')?;
    let mut out = message.to_vec();
    out.insert(colon + 1, b'X');
    Some(out)
}

/// Swaps the header fields at `a` and `b` (offset, length; `a` first).
fn swap_fields(message: &[u8], a: (usize, usize), b: (usize, usize)) -> Vec<u8> {
    let field = |(o, l): (usize, usize)| &message[o..o + l];
    [&message[..a.0], field(b), &message[a.0 + a.1..b.0], field(a), &message[b.0 + b.1..]].concat()
}

/// Two signed fields of the same name (and different content) swapped: the order of fields
/// with one name is signed (RFC 6376 §5.4.2). `None` if the message has no such pair.
fn swap_same_name(message: &[u8]) -> Option<Vec<u8>> {
    let fields = signed_fields(message);
    for (i, a) in fields.iter().enumerate() {
        for b in &fields[i + 1..] {
            let content = |f: &(usize, usize, String)| &message[f.0..f.0 + f.1];
            // Both must end in a line ending, to be moved as they are.
            if a.2 == b.2 && content(a) != content(b) && content(b).ends_with(b"\n") {
                return Some(swap_fields(message, (a.0, a.1), (b.0, b.1)));
            }
        }
    }
    None
}

/// Two adjacent signed fields of different names swapped: the order across names is not
/// signed, so the signature still verifies. `None` if the message has no such pair.
fn swap_different_names(message: &[u8]) -> Option<Vec<u8>> {
    let fields = signed_fields(message);
    let pair = fields.windows(2).find(|w| {
        w[0].2 != w[1].2
            && w[0].0 + w[0].1 == w[1].0
            && message[w[1].0..w[1].0 + w[1].1].ends_with(b"\n")
    })?;
    Some(swap_fields(message, (pair[0].0, pair[0].1), (pair[1].0, pair[1].1)))
}

/// A line added at the end of the body (and a body made, for a message without one).
fn tamper_body_end(message: &[u8]) -> Vec<u8> {
    let mut out = message.to_vec();
    if !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    if !message::Header::parse(message).has_separator() {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Added at the end.\r\n");
    out
}

/// The changed versions of a signed message, with whether a signature over it (not limited by
/// `l=`) still verifies. The changes beyond the first header and body byte are made for the
/// corpus only, not for the 5 MB message.
fn variants(signed: &[u8], corpus: bool) -> Vec<(&'static str, Vec<u8>, bool)> {
    let mut v = vec![
        ("signed", signed.to_vec(), true),
        ("header-changed", tamper_header(signed), false),
        ("body-changed", tamper_body(signed), false),
    ];
    if corpus {
        v.push(("body-line-appended", tamper_body_end(signed), false));
        if let Some(m) = tamper_middle_header(signed) {
            v.push(("middle-header-changed", m, false));
        }
        if let Some(m) = swap_same_name(signed) {
            v.push(("same-name-headers-swapped", m, false));
        }
        if let Some(m) = swap_different_names(signed) {
            v.push(("different-name-headers-swapped", m, true));
        }
    }
    v
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

/// The generated message (not in the corpus directory) gets only the first-header and
/// first-body-byte changes: the others are about header and body structure.
const GENERATED: &str = "generated-5mb-attachment.eml";

#[tokio::test]
async fn dkimpy_verifies_what_we_sign() {
    let dir = tempfile::tempdir().unwrap();
    let domain = Domain::parse("example.org").unwrap();
    let now = SystemTime::now();
    let resolver = resolver();
    let options = VerifyOptions::default();
    let mut verify = Vec::new();
    // (what, expected ok)
    let mut expected = Vec::new();
    let mut ours_wrong = Vec::new();
    let mut variant_counts = std::collections::BTreeMap::<&str, usize>::new();
    let messages = corpus();
    let message_count = messages.len();
    for (name, message) in messages {
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
            for (variant, bytes, ok) in variants(&signed, name != GENERATED) {
                *variant_counts.entry(variant).or_default() += 1;
                let what = format!("{name} {c} {variant}");
                // Our verifier too, on both of our signatures (the first two results), for the
                // corpus (the 5 MB message is verified in `we_verify_what_dkimpy_signs`).
                if name != GENERATED {
                    let results = dkim::verify(&resolver, &bytes, &options).await.unwrap();
                    let want = if ok { Status::Pass } else { Status::Fail };
                    let got: Vec<Status> = results.iter().take(2).map(|r| r.status).collect();
                    if got != [want, want] {
                        ours_wrong.push(format!("{what}: we say {got:?}, want {want}"));
                    }
                }
                let file = dir.path().join(format!("{name}.{}.{variant}", c.replace('/', "-")));
                std::fs::write(&file, &bytes).unwrap();
                for idx in [0, 1] {
                    verify.push(json!({"file": file, "idx": idx}));
                    expected.push((format!("{what} idx {idx}"), ok));
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
        "dkimpy and we checked {} signatures we made ({passed} should verify, {} are tampered): \
         {variant_counts:?}",
        expected.len(),
        expected.len() - passed
    );
    // Every variant was made as often as expected, so none can pass by being left out: each
    // message (the corpus and the generated one) in 4 canonicalizations.
    let messages = message_count * 4;
    let corpus = (message_count - 1) * 4;
    assert_eq!(variant_counts["signed"], messages);
    assert_eq!(variant_counts["header-changed"], messages);
    assert_eq!(variant_counts["body-changed"], messages);
    assert_eq!(variant_counts["body-line-appended"], corpus);
    // Every corpus message has From, To, Subject, Date and Message-ID.
    assert_eq!(variant_counts["middle-header-changed"], corpus);
    assert_eq!(variant_counts["different-name-headers-swapped"], corpus);
    // duplicate-headers.eml has two Subject and two To fields.
    assert_eq!(variant_counts["same-name-headers-swapped"], 4);
    assert!(wrong.is_empty(), "{} of {} wrong:\n{}", wrong.len(), expected.len(), wrong.join("\n"));
    assert!(ours_wrong.is_empty(), "{} wrong:\n{}", ours_wrong.len(), ours_wrong.join("\n"));
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
    // The corpus variants go to dkimpy too: (file, what, whether it should verify).
    let mut dkimpy_verify = Vec::new();
    let mut dkimpy_expected = Vec::new();
    let mut variant_counts = std::collections::BTreeMap::<&str, usize>::new();
    for (n, (what, i, out, length)) in cases.iter().enumerate() {
        let header = std::fs::read(out).unwrap();
        let signed = [header.as_slice(), &messages[*i].1].concat();
        let in_corpus = messages[*i].0 != GENERATED;
        // With l= (RFC 6376 §3.5), text after the signed length is allowed; with l=0 (an
        // empty body in relaxed form) no body byte is signed at all.
        let value = &header[header.iter().position(|&b| b == b':').unwrap() + 1..];
        let value = value.strip_suffix(b"\r\n").unwrap_or(value);
        let unsigned_body = dkim::Signature::parse(value).unwrap().body_length == Some(0);
        let mut variants: Vec<(&str, Vec<u8>, Status)> = variants(&signed, in_corpus)
            .into_iter()
            .map(|(variant, bytes, ok)| {
                let want = match variant {
                    "body-changed" if unsigned_body => Status::Pass,
                    "body-line-appended" if *length => Status::Pass,
                    _ if ok => Status::Pass,
                    _ => Status::Fail,
                };
                (variant, bytes, want)
            })
            .collect();
        if *length {
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
            *variant_counts.entry(variant).or_default() += 1;
            // dkimpy's signature is the first; a corpus message may carry others.
            let results = dkim::verify(&resolver, &bytes, &options).await.unwrap();
            checked += 1;
            if results.first().map(|r| r.status) != Some(want) {
                let got: Vec<_> = results.iter().map(|r| (r.status, r.reason.clone())).collect();
                wrong.push(format!("{what} {variant}: want {want}, got {got:?}"));
            }
            if in_corpus {
                let file = dir.path().join(format!("{n}.{variant}.eml"));
                std::fs::write(&file, &bytes).unwrap();
                dkimpy_verify.push(json!({"file": file, "idx": 0}));
                dkimpy_expected.push((format!("{what} {variant}"), want == Status::Pass));
            }
        }
    }
    let results = dkimpy(dir.path(), &json!({"zone": zone_json(), "verify": dkimpy_verify}));
    assert_eq!(results.len(), dkimpy_expected.len());
    for (r, (what, ok)) in results.iter().zip(&dkimpy_expected) {
        if r["ok"].as_bool() != Some(*ok) {
            wrong.push(format!("{what}: dkimpy says {} ({})", r["ok"], r["error"]));
        }
    }
    println!(
        "verified {checked} messages dkimpy signed ({} signatures, tampered variants included; \
         dkimpy checked the {} of the corpus too): {variant_counts:?}",
        cases.len(),
        dkimpy_expected.len()
    );
    // Each variant as often as expected: per signature (9 per message), the corpus ones for
    // the corpus messages; l= once per message; two same-name fields in duplicate-headers.eml.
    let per_message = cases.len() / messages.len();
    let corpus = (messages.len() - 1) * per_message;
    assert_eq!(per_message, 9);
    assert_eq!(variant_counts["signed"], cases.len());
    assert_eq!(variant_counts["header-changed"], cases.len());
    assert_eq!(variant_counts["body-changed"], cases.len());
    assert_eq!(variant_counts["footer-appended"], messages.len());
    assert_eq!(variant_counts["body-line-appended"], corpus);
    assert_eq!(variant_counts["middle-header-changed"], corpus);
    assert_eq!(variant_counts["different-name-headers-swapped"], corpus);
    assert_eq!(variant_counts["same-name-headers-swapped"], per_message);
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
}
