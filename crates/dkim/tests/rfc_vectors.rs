//! The examples of RFC 8463 Appendix A and RFC 6376 Appendix A as test vectors.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use dkim::{Algorithm, Canon, Reason, Status, VerifyOptions};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dkim").join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(testdata(name)).unwrap()
}

fn zone(name: &str) -> dns::MockResolver {
    dns::MockResolver::from_zone(&String::from_utf8(read(name)).unwrap()).unwrap()
}

/// A few years after the examples were made; they have no x=.
fn options() -> VerifyOptions {
    VerifyOptions::at(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

#[tokio::test]
async fn rfc8463_appendix_a_both_signatures_pass() {
    let message = read("rfc8463-appendix-a.eml");
    let resolver = zone("rfc8463-appendix-a.zone");
    let results = dkim::verify(&resolver, &message, &options()).await.unwrap();
    assert_eq!(results.len(), 2);
    let algorithms: Vec<_> =
        results.iter().map(|r| r.signature.as_ref().unwrap().algorithm).collect();
    assert_eq!(algorithms, [Algorithm::Ed25519Sha256, Algorithm::RsaSha256]);
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{:?}", r.reason);
        assert_eq!(r.domain.as_ref().unwrap().ascii(), "football.example.com");
    }
    assert_eq!(
        dkim::authentication_results(&results),
        [
            "dkim=pass header.d=football.example.com header.i=@football.example.com header.s=brisbane header.a=ed25519-sha256 header.b=\"/gCrinpc\"",
            "dkim=pass header.d=football.example.com header.i=@football.example.com header.s=test header.a=rsa-sha256 header.b=F45dVWDf",
        ]
    );
    // The RSA key is 1024 bits: the smallest RFC 8301 accepts.
    let record = results[1].record.as_ref().unwrap();
    assert_eq!(record.public_key().unwrap().bits(), 1024);
}

#[tokio::test]
async fn rfc8463_appendix_a_fails_when_changed() {
    let resolver = zone("rfc8463-appendix-a.zone");
    let message = String::from_utf8(read("rfc8463-appendix-a.eml")).unwrap();
    let body = message.replace("Are you hungry yet?", "Are you hungry now?");
    // Each check covers both signatures: the counts are asserted, so a verifier returning no
    // results cannot pass.
    let outcomes = |results: &[dkim::SignatureResult]| -> Vec<(Status, Option<Reason>)> {
        results.iter().map(|r| (r.status, r.reason.clone())).collect()
    };
    let results = dkim::verify(&resolver, body.as_bytes(), &options()).await.unwrap();
    let body_fail = (Status::Fail, Some(Reason::BodyHashMismatch));
    assert_eq!(outcomes(&results), [body_fail.clone(), body_fail]);
    let header = message.replace("Subject: Is dinner ready?", "Subject: Is dinner ready!");
    let results = dkim::verify(&resolver, header.as_bytes(), &options()).await.unwrap();
    let header_fail = (Status::Fail, Some(Reason::SignatureMismatch));
    assert_eq!(outcomes(&results), [header_fail.clone(), header_fail.clone()]);
    // Relaxed canonicalization tolerates whitespace and case changes in header fields.
    let relaxed =
        message.replace("Subject: Is dinner ready?", "SUBJECT:   Is dinner\r\n\t ready?  ");
    let results = dkim::verify(&resolver, relaxed.as_bytes(), &options()).await.unwrap();
    assert_eq!(outcomes(&results), [(Status::Pass, None), (Status::Pass, None)]);
    // Both signatures oversign Subject: adding one breaks them.
    let added = message.replace("Subject: Is dinner", "Subject: Added\r\nSubject: Is dinner");
    let results = dkim::verify(&resolver, added.as_bytes(), &options()).await.unwrap();
    assert_eq!(outcomes(&results), [header_fail.clone(), header_fail]);
}

/// RFC 6376 Appendix A signs with the Appendix C key, but its example is known to be wrong
/// (errata 3192): `bh=` is the hash of the *relaxed* body although `c=simple/simple`, so the
/// body hash does not verify (dkimpy says the same). We check the parts that are right.
#[tokio::test]
async fn rfc6376_appendix_a_example() {
    let message = read("rfc6376-appendix-a.eml");
    let resolver = zone("rfc6376-appendix-c.zone");
    let results = dkim::verify(&resolver, &message, &options()).await.unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!((r.status, r.reason.clone()), (Status::Fail, Some(Reason::BodyHashMismatch)));
    let sig = r.signature.as_ref().unwrap();
    assert_eq!(sig.selector.to_string(), "brisbane");
    assert_eq!(sig.identity.as_ref().unwrap().to_string(), "joe@football.example.com");
    assert_eq!(r.record.as_ref().unwrap().public_key().unwrap().bits(), 1024);

    let header = message::Header::parse(&message);
    let body = &message[header.body_offset()..];
    let b64 = |b: &[u8]| {
        base64::engine::general_purpose::STANDARD
            .encode(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
    };
    assert_eq!(
        b64(&dkim::canonicalize_body(Canon::Relaxed, body)),
        "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
    );
    // The simple body hash, as dkimpy computes it too.
    assert_eq!(
        b64(&dkim::canonicalize_body(Canon::Simple, body)),
        "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ="
    );
}
