//! Verification outcomes, one test per rule, with keys served by an in-memory zone.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use dkim::{
    Canonicalization, KeyCache, PrivateKey, Reason, Record, Selector, Signer, Status, VerifyOptions,
};
use dns::{Domain, MockResolver};

const NOW: u64 = 1_700_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn key(name: &str) -> PrivateKey {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dkim/keys").join(name);
    PrivateKey::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn domain() -> Domain {
    Domain::parse("example.org").unwrap()
}

fn signer(selector: &str, key_file: &str) -> Signer {
    Signer::new(domain(), Selector::parse(selector).unwrap(), key(key_file))
}

fn record(key_file: &str) -> String {
    Record::for_public_key(&key(key_file).public_key()).to_string()
}

/// A zone with `rsa` and `ed` selectors for the test keys, plus `extra` lines.
fn zone(extra: &str) -> MockResolver {
    let text = format!(
        "rsa._domainkey.example.org TXT \"{}\"\ned._domainkey.example.org TXT \"{}\"\n{extra}",
        record("rsa2048.pem"),
        record("ed25519.pem")
    );
    MockResolver::from_zone(&text).unwrap()
}

const MESSAGE: &str = "Received: from a by b; Tue, 14 Nov 2023 22:13:20 +0000\r
From: Jane Doe <jane@example.org>\r
To: bob@example.net\r
Subject: Test\r
Date: Tue, 14 Nov 2023 22:13:20 +0000\r
Message-ID: <1@example.org>\r
\r
Hello Bob,\r
\r
see you.\r
";

fn sign(signers: &[Signer], message: &str) -> String {
    let headers = dkim::sign(signers, message.as_bytes(), now()).unwrap();
    headers + message
}

/// A key cache all tests share: their zones hold other records under the same names, and
/// they run at once. Small, so entries are evicted too.
static KEY_CACHE: LazyLock<Arc<KeyCache>> = LazyLock::new(|| Arc::new(KeyCache::new(3)));

/// Verifies `message`, and again with the shared key cache, which must not change any result.
/// (Each call so makes two verifications, and lookups, as a cache saves parsing, not lookups.)
async fn verify(resolver: &MockResolver, message: &str) -> Vec<dkim::SignatureResult> {
    let options = VerifyOptions::at(now());
    let plain = dkim::verify(resolver, message.as_bytes(), &options).await.unwrap();
    let options = options.with_key_cache(KEY_CACHE.clone());
    let cached = dkim::verify(resolver, message.as_bytes(), &options).await.unwrap();
    assert_eq!(cached, plain);
    plain
}

fn statuses(results: &[dkim::SignatureResult]) -> Vec<(Status, Option<Reason>)> {
    results.iter().map(|r| (r.status, r.reason.clone())).collect()
}

/// Replaces the value of tag `tag` in the first DKIM-Signature (the text up to ";"), or adds
/// the tag after `v=1;`.
fn set_tag(message: &str, tag: &str, value: &str) -> String {
    let Some(start) = message.find(&format!(" {tag}=")) else {
        return message.replacen("v=1;", &format!("v=1; {tag}={value};"), 1);
    };
    let start = start + tag.len() + 2;
    let end = start + message[start..].find(';').unwrap();
    format!("{}{value}{}", &message[..start], &message[end..])
}

#[tokio::test]
async fn rsa_and_ed25519_at_once_in_all_canonicalizations() {
    let resolver = zone("");
    for c in ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"] {
        let c: Canonicalization = c.parse().unwrap();
        let signers = [
            signer("rsa", "rsa2048.pem").canonicalization(c),
            signer("ed", "ed25519.pem").canonicalization(c),
        ];
        let signed = sign(&signers, MESSAGE);
        let results = verify(&resolver, &signed).await;
        assert_eq!(statuses(&results), [(Status::Pass, None), (Status::Pass, None)], "{c}");
        assert_eq!(results[0].signature.as_ref().unwrap().algorithm.as_str(), "rsa-sha256");
        assert_eq!(results[1].signature.as_ref().unwrap().canonicalization, c);
        let tampered = signed.replace("see you.", "see you!");
        let results = verify(&resolver, &tampered).await;
        assert_eq!(
            statuses(&results),
            vec![(Status::Fail, Some(Reason::BodyHashMismatch)); 2],
            "{c}"
        );
    }
}

#[tokio::test]
async fn only_the_body_hash_for_each_canonicalization_is_computed_once() {
    // Two signatures with different body canonicalizations and one with l=: all verify, and a
    // change after l= bytes only breaks the others.
    let resolver = zone("");
    let signers = [
        signer("rsa", "rsa2048.pem").canonicalization(Canonicalization::SIMPLE),
        signer("ed", "ed25519.pem"),
    ];
    let signed = sign(&signers, MESSAGE);
    assert_eq!(statuses(&verify(&resolver, &signed).await), vec![(Status::Pass, None); 2]);
}

#[tokio::test]
async fn header_changes_fail_and_relaxed_tolerates_whitespace() {
    let resolver = zone("");
    let signed = sign(&[signer("ed", "ed25519.pem")], MESSAGE);
    let changed = signed.replace("Subject: Test", "Subject: Test!");
    assert_eq!(
        statuses(&verify(&resolver, &changed).await),
        [(Status::Fail, Some(Reason::SignatureMismatch))]
    );
    let refolded = signed.replace("Subject: Test", "subject:\r\n   Test  ");
    assert_eq!(statuses(&verify(&resolver, &refolded).await), [(Status::Pass, None)]);

    let simple = [signer("ed", "ed25519.pem").canonicalization(Canonicalization::SIMPLE)];
    let signed = sign(&simple, MESSAGE);
    let refolded = signed.replace("Subject: Test", "subject: Test");
    assert_eq!(
        statuses(&verify(&resolver, &refolded).await),
        [(Status::Fail, Some(Reason::SignatureMismatch))]
    );
    // Unsigned header fields may change freely.
    let received = signed.replace("Received: from a", "Received: from z");
    assert_eq!(statuses(&verify(&resolver, &received).await), [(Status::Pass, None)]);
}

#[tokio::test]
async fn duplicate_headers_are_taken_bottom_up_and_oversigning_blocks_additions() {
    let resolver = zone("");
    let message =
        MESSAGE.replace("To: bob", "Cc: one@example.net\r\nCc: two@example.net\r\nTo: bob");
    let signed = sign(&[signer("ed", "ed25519.pem")], &message);
    assert!(signed.contains("Cc:Cc:Cc:"), "each Cc once, and once more");
    assert_eq!(statuses(&verify(&resolver, &signed).await), [(Status::Pass, None)]);
    // Adding a Cc anywhere breaks the oversigned signature.
    let added = signed.replace("To: bob", "Cc: three@example.net\r\nTo: bob");
    assert_eq!(statuses(&verify(&resolver, &added).await)[0].0, Status::Fail);
    // Swapping the two Cc fields changes which is signed where: fails.
    let swapped = signed
        .replace("Cc: one@", "Cc: tmp@")
        .replace("Cc: two@", "Cc: one@")
        .replace("Cc: tmp@", "Cc: two@");
    assert_eq!(statuses(&verify(&resolver, &swapped).await)[0].0, Status::Fail);

    // Without oversigning, a field added above the signed ones is not covered (RFC 6376
    // §5.4.2: the bottom-most instances are the signed ones) ...
    let signer = signer("ed", "ed25519.pem").oversign(false).headers(["From", "Subject"]);
    let signed = sign(&[signer], MESSAGE);
    assert!(signed.contains("h=From:Subject;"), "{signed}");
    let above = signed.replacen("From: Jane", "Subject: Added\r\nFrom: Jane", 1);
    assert_eq!(statuses(&verify(&resolver, &above).await), [(Status::Pass, None)]);
    // ... but one added below the signed one is.
    let below = signed.replacen("Date:", "Subject: Added\r\nDate:", 1);
    assert_eq!(statuses(&verify(&resolver, &below).await)[0].0, Status::Fail);
}

#[tokio::test]
async fn key_lookup_failures_are_temperror_or_permerror() {
    let resolver = zone(
        "servfail._domainkey.example.org TXT SERVFAIL\n\
         timeout._domainkey.example.org * TIMEOUT\n\
         bad._domainkey.example.org TXT \"v=DKIM1; k=rsa; p=!!\"",
    );
    let signed = sign(&[signer("rsa", "rsa2048.pem")], MESSAGE);
    for (selector, status) in [
        ("servfail", Status::Temperror),
        ("timeout", Status::Temperror),
        ("missing", Status::Permerror),
        ("bad", Status::Permerror),
    ] {
        let message = set_tag(&signed, "s", selector);
        let results = verify(&resolver, &message).await;
        assert_eq!(results[0].status, status, "{selector}: {:?}", results[0].reason);
        let reason = results[0].reason.clone().unwrap();
        match selector {
            "servfail" | "timeout" => assert!(matches!(reason, Reason::KeyUnavailable(_))),
            "missing" => {
                assert_eq!(reason.to_string(), "no key record at missing._domainkey.example.org")
            }
            _ => assert_eq!(reason.to_string(), "invalid key record: tag p=: invalid base64"),
        }
        assert_eq!(results[0].selector.as_ref().unwrap().to_string(), selector);
    }
}

#[tokio::test]
async fn key_record_rules() {
    let rsa_p = record("rsa2048.pem");
    let p = rsa_p.split("p=").nth(1).unwrap();
    let cases: Vec<(&str, String, Status, &str)> = vec![
        ("revoked", "v=DKIM1; p=".into(), Status::Permerror, "key revoked (empty p=)"),
        (
            "sha1only",
            format!("v=DKIM1; h=sha1; p={p}"),
            Status::Permerror,
            "key record allows h=sha1, not sha256",
        ),
        (
            "edkey",
            format!("v=DKIM1; k=ed25519; p={p}"),
            Status::Permerror,
            "key record has k=ed25519, signature has a=rsa-sha256",
        ),
        (
            "tlsrpt",
            format!("v=DKIM1; s=tlsrpt; p={p}"),
            Status::Permerror,
            "key record is for s=tlsrpt, not email",
        ),
        ("emailok", format!("v=DKIM1; s=tlsrpt:email; p={p}"), Status::Pass, ""),
        ("plain", format!("p={p}"), Status::Pass, ""),
        (
            "junk",
            "v=DKIM1; p=AAAA".into(),
            Status::Permerror,
            "key record: invalid rsa public key: not a SubjectPublicKeyInfo or RSAPublicKey",
        ),
    ];
    let zone_text: String = cases
        .iter()
        .map(|(sel, txt, _, _)| format!("{sel}._domainkey.example.org TXT \"{txt}\"\n"))
        .collect();
    let resolver = zone(&zone_text);
    for (selector, _, status, reason) in &cases {
        let signed = sign(&[signer(selector, "rsa2048.pem")], MESSAGE);
        let r = &verify(&resolver, &signed).await[0];
        assert_eq!(r.status, *status, "{selector}");
        assert_eq!(r.reason.as_ref().map(|r| r.to_string()).unwrap_or_default(), *reason);
    }
}

#[tokio::test]
async fn strict_identity_and_testing_flags() {
    let p = record("ed25519.pem");
    let p = p.split("p=").nth(1).unwrap();
    let resolver = zone(&format!(
        "strict._domainkey.example.org TXT \"k=ed25519; t=s; p={p}\"\n\
         testing._domainkey.example.org TXT \"k=ed25519; t=y; p={p}\"\n"
    ));
    let sub: dkim::Identity = "jane@mail.example.org".parse().unwrap();
    let exact: dkim::Identity = "jane@example.org".parse().unwrap();
    let signed = sign(&[signer("strict", "ed25519.pem").identity(sub.clone())], MESSAGE);
    let r = &verify(&resolver, &signed).await[0];
    assert_eq!(r.status, Status::Permerror);
    assert_eq!(
        r.reason.as_ref().unwrap().to_string(),
        "key record has t=s but i= is in subdomain mail.example.org"
    );
    let signed = sign(&[signer("strict", "ed25519.pem").identity(exact)], MESSAGE);
    assert_eq!(verify(&resolver, &signed).await[0].status, Status::Pass);

    // Testing mode: a pass is a pass, a failure counts as no signature.
    let signed = sign(&[signer("testing", "ed25519.pem").identity(sub)], MESSAGE);
    let r = &verify(&resolver, &signed).await[0];
    assert_eq!((r.status, r.testing), (Status::Pass, true));
    let tampered = signed.replace("see you.", "see you?");
    let r = &verify(&resolver, &tampered).await[0];
    assert_eq!((r.status, r.reason.clone()), (Status::None, Some(Reason::BodyHashMismatch)));
    let mut options = VerifyOptions::at(now());
    options.ignore_test_mode = true;
    let r = &dkim::verify(&resolver, tampered.as_bytes(), &options).await.unwrap()[0];
    assert_eq!(r.status, Status::Fail);
}

#[tokio::test]
async fn signature_rules_checked_before_any_lookup() {
    let resolver = zone("");
    let signed =
        sign(&[signer("rsa", "rsa2048.pem").expiration(Duration::from_secs(3600))], MESSAGE);
    assert!(signed.contains(&format!("x={};", NOW + 3600)));
    assert_eq!(statuses(&verify(&resolver, &signed).await), [(Status::Pass, None)]);
    let later = VerifyOptions::at(now() + Duration::from_secs(3601));
    let r = &dkim::verify(&resolver, signed.as_bytes(), &later).await.unwrap()[0];
    assert_eq!(
        (r.status, r.reason.clone()),
        (Status::Permerror, Some(Reason::Expired { expiration: NOW + 3600, now: NOW + 3601 }))
    );

    let cases = [
        ("a", "rsa-sha1", Status::Fail, "rsa-sha1 is historic and not accepted (RFC 8301)"),
        ("h", "To:Subject", Status::Permerror, "From header field not signed"),
        (
            "q",
            "http/well-known",
            Status::Permerror,
            "no supported query method in q=http/well-known",
        ),
        (
            "t",
            "1700003600",
            Status::Permerror,
            "signature timestamp in the future (t=1700003600, now 1700000000)",
        ),
        (
            "d",
            "example.com",
            Status::Permerror,
            "invalid DKIM-Signature: tag i=: identity domain example.org is not example.com or a subdomain of it",
        ),
        (
            "v",
            "2",
            Status::Permerror,
            "invalid DKIM-Signature: tag v=: unsupported version \"2\", expected \"1\"",
        ),
    ];
    let signed =
        sign(&[signer("rsa", "rsa2048.pem").identity("@example.org".parse().unwrap())], MESSAGE);
    let resolver = zone("");
    for (tag, value, status, reason) in cases {
        let changed = set_tag(&signed, tag, value);
        let results = verify(&resolver, &changed).await;
        assert_eq!(results[0].status, status, "{tag}={value}");
        assert_eq!(results[0].reason.as_ref().unwrap().to_string(), reason);
        // Domain and selector are reported even for a signature that does not parse.
        assert_eq!(results[0].selector.as_ref().unwrap().to_string(), "rsa");
    }
    assert!(resolver.queries().is_empty(), "no key lookups: {:?}", resolver.queries());
    // A small clock skew is accepted.
    let changed = set_tag(&signed, "t", "1700000100");
    assert_eq!(
        verify(&resolver, &changed).await[0].status,
        Status::Fail,
        "the signature covers t="
    );
}

#[tokio::test]
async fn rsa_keys_under_1024_bits_fail() {
    // A 512-bit key (RFC 8301 §3.2): ring cannot sign with it, so only the record matters,
    // the check comes before the signature.
    let pem = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dkim/keys/rsa512-pkcs1.pem"),
    )
    .unwrap();
    let b64: String = pem.lines().filter(|l| !l.contains(' ') && !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    // RSAPrivateKey ::= SEQUENCE { version, n, e, ... }: take n and e.
    let (n, e) = rsa_n_e(&der);
    let public = dkim::PublicKey::Rsa { n, e };
    assert_eq!(public.bits(), 512);
    let txt = Record::for_public_key(&public).to_string();
    let resolver = zone(&format!("small._domainkey.example.org TXT \"{txt}\""));
    let signed = sign(&[signer("small", "rsa2048.pem")], MESSAGE);
    let r = &verify(&resolver, &signed).await[0];
    assert_eq!(
        (r.status, r.reason.clone()),
        (Status::Fail, Some(Reason::KeyTooSmall { bits: 512 }))
    );
    assert_eq!(
        r.method_result().split(" header.b").next().unwrap(),
        "dkim=fail (RSA key of 512 bits is too small, need 1024 [RFC 8301]) header.d=example.org header.s=small header.a=rsa-sha256"
    );
}

/// Reads n and e from a PKCS#1 RSAPrivateKey (test helper; short-form lengths inside).
fn rsa_n_e(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn tlv(b: &[u8]) -> (&[u8], &[u8]) {
        let (len, hdr) = if b[1] < 0x80 {
            (b[1] as usize, 2)
        } else {
            let n = (b[1] & 0x7f) as usize;
            (b[2..2 + n].iter().fold(0usize, |l, &x| (l << 8) | x as usize), 2 + n)
        };
        (&b[hdr..hdr + len], &b[hdr + len..])
    }
    let (seq, _) = tlv(der);
    let (_, rest) = tlv(seq);
    let (n, rest) = tlv(rest);
    let (e, _) = tlv(rest);
    let strip = |v: &[u8]| v.iter().skip_while(|&&b| b == 0).copied().collect();
    (strip(n), strip(e))
}

#[tokio::test]
async fn several_signatures_each_get_a_result() {
    let resolver = zone("");
    let signed = sign(&[signer("rsa", "rsa2048.pem"), signer("ed", "ed25519.pem")], MESSAGE);
    // Break only the second (Ed25519) signature's b=.
    let pos = signed.match_indices(" b=").nth(1).unwrap().0 + 3;
    let mut broken = signed.clone();
    let c = if &signed[pos..pos + 1] == "A" { "B" } else { "A" };
    broken.replace_range(pos..pos + 1, c);
    let results = verify(&resolver, &broken).await;
    assert_eq!(
        statuses(&results),
        [(Status::Pass, None), (Status::Fail, Some(Reason::SignatureMismatch))]
    );
    assert!(results[0].field_offset < results[1].field_offset);
    // One lookup per key (in each of the helper's two verifications).
    assert_eq!(resolver.queries().len(), 2 * 2);
    // No DKIM-Signature: no results, and "dkim=none".
    assert!(verify(&resolver, MESSAGE).await.is_empty());
    assert_eq!(dkim::authentication_results(&[]), ["dkim=none"]);
}

#[tokio::test]
async fn signatures_sharing_a_key_share_one_lookup_and_each_get_the_record() {
    let resolver = zone("");
    let signers = [
        signer("rsa", "rsa2048.pem"),
        signer("ed", "ed25519.pem"),
        signer("rsa", "rsa2048.pem").canonicalization(Canonicalization::SIMPLE),
    ];
    let results = verify(&resolver, &sign(&signers, MESSAGE)).await;
    assert_eq!(statuses(&results), vec![(Status::Pass, None); 3]);
    assert_eq!(resolver.queries().len(), 2 * 2);
    let rsa = dkim::Record::parse(&record("rsa2048.pem")).unwrap();
    assert_eq!(results[0].record.as_ref(), Some(&rsa));
    assert_eq!(results[2].record.as_ref(), Some(&rsa));
    assert_eq!(results[1].record.as_ref().map(|r| &*r.key_type), Some("ed25519"));
}

#[tokio::test]
async fn bare_lf_messages_sign_and_verify_as_crlf() {
    let resolver = zone("");
    let lf = MESSAGE.replace("\r\n", "\n");
    let headers = dkim::sign(&[signer("ed", "ed25519.pem")], lf.as_bytes(), now()).unwrap();
    // Verifies in LF form and after conversion to CRLF (as sent over SMTP).
    let signed_lf = headers.replace("\r\n", "\n") + &lf;
    let signed_crlf = signed_lf.replace('\n', "\r\n");
    assert_eq!(statuses(&verify(&resolver, &signed_lf).await), [(Status::Pass, None)]);
    assert_eq!(statuses(&verify(&resolver, &signed_crlf).await), [(Status::Pass, None)]);
}

#[test]
fn signing_mistakes_are_errors() {
    let two_from = MESSAGE.replace("To:", "From: other@example.org\r\nTo:");
    let err = dkim::sign(&[signer("ed", "ed25519.pem")], two_from.as_bytes(), now()).unwrap_err();
    assert_eq!(err.to_string(), "message has 2 From header fields, need exactly one to sign");
    let err = dkim::sign(&[signer("ed", "ed25519.pem").headers(["To"])], MESSAGE.as_bytes(), now())
        .unwrap_err();
    assert!(matches!(err, dkim::Error::FromNotSigned));
    let err = dkim::sign(&[], MESSAGE.as_bytes(), now()).unwrap_err();
    assert!(matches!(err, dkim::Error::NoSigners));
    let other: dkim::Identity = "a@example.com".parse().unwrap();
    let err = dkim::sign(&[signer("ed", "ed25519.pem").identity(other)], MESSAGE.as_bytes(), now())
        .unwrap_err();
    assert!(matches!(err, dkim::Error::IdentityOutsideDomain { .. }));
}

#[tokio::test]
async fn streaming_in_small_chunks_gives_the_same_result() {
    let resolver = zone("");
    let signers = [signer("rsa", "rsa2048.pem"), signer("ed", "ed25519.pem")];
    let message = MESSAGE.replace("see you.", &"a line  with\t spaces \r\n\r\n".repeat(500));
    let whole = dkim::sign(&signers, message.as_bytes(), now()).unwrap();
    let mut s = dkim::Signing::new(&signers, message.as_bytes(), now()).unwrap();
    for chunk in message.as_bytes()[s.body_offset()..].chunks(7) {
        s.update_body(chunk);
    }
    // RSA PKCS#1 v1.5 and Ed25519 are deterministic: the same headers.
    assert_eq!(s.finish().unwrap(), whole);
    let signed = whole + &message;
    let mut v = dkim::Verification::new(signed.as_bytes(), &VerifyOptions::at(now())).unwrap();
    for chunk in signed.as_bytes()[v.body_offset()..].chunks(3) {
        v.update_body(chunk);
    }
    assert_eq!(statuses(&v.finish(&resolver).await), vec![(Status::Pass, None); 2]);
}

#[test]
fn keys_never_appear_in_debug_output() {
    let pem = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dkim/keys/rsa2048.pem"),
    )
    .unwrap();
    let signer = signer("rsa", "rsa2048.pem");
    let debug = format!("{signer:?} {:?}", signer.key());
    // No line of the private key's base64 shows up, but the public key does.
    for line in pem.lines().filter(|l| l.len() == 64) {
        assert!(!debug.contains(line), "private key material in {debug}");
    }
    assert!(debug.contains("PublicKey(rsa, 2048 bits, MIIBIjAN"), "{debug}");
}
