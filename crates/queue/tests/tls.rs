//! TLS policies in direct delivery against aiosmtpd MX peers on 127.0.0.x:25: MTA-STS enforce
//! and testing (policies served over HTTPS by a loopback server with a test CA), DANE-EE and
//! DANE-TA with DNSSEC-authenticated TLSA records from the loopback DNS server (match and
//! mismatch, overriding MTA-STS), REQUIRETLS and TLS-Required: No, and the TLS results kept
//! for TLSRPT.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::time::Duration;

use common::*;
use queue::{Filter, NewMessage, Recipient};
use test_support::{HttpsTestServer, TestCa, TestCertificate, Validity, http_response};
use tlsrpt::{PolicyType, ResultType};

fn rcpt(address: &str) -> Recipient {
    Recipient::parse(address).unwrap()
}

fn msg(to: &str, id: &str) -> NewMessage {
    let mut m =
        NewMessage::new(Some("alice@mox.test".parse().unwrap()), vec![rcpt(to)], message(id, id));
    m.account = Some("alice".into());
    m
}

/// A loopback HTTPS server answering MTA-STS policy requests by Host header.
async fn policy_server(
    ca: &TestCa,
    policies: Vec<(&'static str, &'static str)>,
) -> HttpsTestServer {
    let names: Vec<String> = policies.iter().map(|(d, _)| format!("mta-sts.{d}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let config = ca.server_config(&names, Validity::Current).unwrap();
    HttpsTestServer::start(config, move |head| {
        let host = head
            .lines()
            .find_map(|l| l.strip_prefix("host: ").or_else(|| l.strip_prefix("Host: ")))
            .unwrap_or_default()
            .trim()
            .to_string();
        let policy =
            policies.iter().find(|(d, _)| host == format!("mta-sts.{d}")).map(|(_, p)| *p)?;
        Some(http_response("200 OK", Some("text/plain"), policy.as_bytes()))
    })
    .await
    .unwrap()
}

fn fetcher(ca: &TestCa, server: &HttpsTestServer) -> mtasts::Fetcher {
    mtasts::Fetcher::new()
        .with_roots(ca.roots())
        .with_connector(mtasts::FixedConnector::new(server.addr()))
        .with_timeout(Duration::from_secs(10))
}

fn result_for<'a>(
    results: &'a [queue::TlsResultRecord],
    policy_domain: &str,
    policy_type: PolicyType,
) -> &'a queue::TlsResultRecord {
    results
        .iter()
        .find(|r| r.policy_domain == policy_domain && r.result.policy.policy_type == policy_type)
        .unwrap_or_else(|| panic!("no {policy_type:?} result for {policy_domain} in {results:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtasts_enforce_refuses_unlisted_mx_and_untrusted_certificate() {
    let ca = TestCa::new().unwrap();
    let (bad_chain, bad_key, _) = ca_certificate(&ca, &["bad.sts.test"]);
    let (good_chain, good_key, _) = ca_certificate(&ca, &["good.sts.test"]);
    let untrusted = TestCertificate::generate(&["mx.badcert.test"]);
    let unlisted = MxPeer::start(
        "127.0.0.30",
        PeerOptions { tls: Some((bad_chain, bad_key)), ..Default::default() },
    );
    let listed = MxPeer::start(
        "127.0.0.31",
        PeerOptions { tls: Some((good_chain, good_key)), ..Default::default() },
    );
    let selfsigned = MxPeer::start(
        "127.0.0.32",
        PeerOptions {
            tls: Some((untrusted.cert_pem.clone(), untrusted.key_pem.clone())),
            ..Default::default()
        },
    );
    let https = policy_server(
        &ca,
        vec![
            (
                "sts.test",
                "version: STSv1\r\nmode: enforce\r\nmx: good.sts.test\r\nmax_age: 86400\r\n",
            ),
            (
                "badcert.test",
                "version: STSv1\r\nmode: enforce\r\nmx: *.badcert.test\r\nmax_age: 86400\r\n",
            ),
        ],
    )
    .await;
    let q = TestQueue::start(TestQueueOptions {
        zone: "
            _mta-sts.sts.test TXT \"v=STSv1; id=1\"
            sts.test MX 10 bad.sts.test
            sts.test MX 20 good.sts.test
            bad.sts.test A 127.0.0.30
            good.sts.test A 127.0.0.31
            _mta-sts.badcert.test TXT \"v=STSv1; id=1\"
            badcert.test MX 10 mx.badcert.test
            mx.badcert.test A 127.0.0.32
        "
        .into(),
        fetcher: Some(fetcher(&ca, &https)),
        pkix_roots: Some(ca.roots()),
        ..Default::default()
    })
    .await;
    let ok = q.queue.add(msg("x@sts.test", "sts-ok")).await.unwrap()[0];
    let refused = q.queue.add(msg("y@badcert.test", "sts-badcert")).await.unwrap()[0];
    q.wait_gone(ok).await;
    let delivered = listed.messages();
    assert_eq!(delivered.len(), 1);
    assert!(delivered[0].tls, "delivered over TLS");
    assert!(unlisted.connections().is_empty(), "the MX outside the policy is never contacted");

    let e = q.wait_attempts(refused, 1).await.unwrap();
    assert!(e.last_error().contains("TLS required by MTA-STS policy"), "{}", e.last_error());
    assert!(e.last_error().to_lowercase().contains("certificate"), "{}", e.last_error());
    assert!(selfsigned.messages().is_empty());
    assert_eq!(selfsigned.connections().len(), 1, "no second connection without TLS");
    assert_eq!(e.results[0].host.as_deref(), None, "never got a session");

    let results = wait_for("TLS results", Duration::from_secs(10), || {
        let r = q.queue.tls_results().unwrap();
        (r.len() >= 2).then_some(r)
    })
    .await;
    let sts = result_for(&results, "sts.test", PolicyType::Sts);
    assert_eq!(sts.result.summary.total_successful_session_count, 1);
    assert_eq!(
        sts.result.summary.total_failure_session_count, 1,
        "the skipped MX counts as a failure"
    );
    assert!(sts.result.policy.policy_string.contains(&"mode: enforce".to_string()));
    let mismatch = &sts.result.failure_details[0];
    assert_eq!(mismatch.failure_reason_code.as_deref(), Some("mtasts-policy-mx-mismatch"));
    assert_eq!(mismatch.receiving_mx_hostname.as_deref(), Some("bad.sts.test"));
    let bad = result_for(&results, "badcert.test", PolicyType::Sts);
    assert_eq!(bad.result.summary.total_failure_session_count, 1);
    assert_eq!(bad.result.failure_details[0].result_type, ResultType::CertificateNotTrusted);
    assert_eq!(bad.result.failure_details[0].receiving_ip, Some("127.0.0.32".parse().unwrap()));
    assert!(bad.send_report);
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtasts_testing_mode_delivers_and_records_the_failure() {
    let ca = TestCa::new().unwrap();
    let untrusted = TestCertificate::generate(&["mx.testing.test"]);
    let peer = MxPeer::start(
        "127.0.0.33",
        PeerOptions {
            tls: Some((untrusted.cert_pem.clone(), untrusted.key_pem.clone())),
            ..Default::default()
        },
    );
    let https = policy_server(
        &ca,
        vec![(
            "testing.test",
            "version: STSv1\r\nmode: testing\r\nmx: other.testing.test\r\nmax_age: 86400\r\n",
        )],
    )
    .await;
    let q = TestQueue::start(TestQueueOptions {
        zone: "
            _mta-sts.testing.test TXT \"v=STSv1; id=20240101\"
            testing.test MX 10 mx.testing.test
            mx.testing.test A 127.0.0.33
        "
        .into(),
        fetcher: Some(fetcher(&ca, &https)),
        pkix_roots: Some(ca.roots()),
        ..Default::default()
    })
    .await;
    let id = q.queue.add(msg("x@testing.test", "testing")).await.unwrap()[0];
    q.wait_gone(id).await;
    let m = peer.messages();
    assert_eq!(m.len(), 1);
    assert!(m[0].tls, "still over TLS, unverified");
    let results = wait_for("TLS results", Duration::from_secs(10), || {
        let r = q.queue.tls_results().unwrap();
        (!r.is_empty()).then_some(r)
    })
    .await;
    let r = result_for(&results, "testing.test", PolicyType::Sts);
    assert_eq!(r.result.summary.total_failure_session_count, 1);
    let kinds: Vec<(&ResultType, Option<&str>)> = r
        .result
        .failure_details
        .iter()
        .map(|d| (&d.result_type, d.failure_reason_code.as_deref()))
        .collect();
    assert!(
        kinds.contains(&(&ResultType::ValidationFailure, Some("mtasts-policy-mx-mismatch"))),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|(t, _)| **t == ResultType::CertificateNotTrusted), "{kinds:?}");
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_ee_and_ta_match_mismatch_and_override_mtasts() {
    let ca = TestCa::new().unwrap();
    // DANE-EE: the key matters, not the name nor the issuer.
    let ee_cert = TestCertificate::generate(&["unrelated.example"]);
    let ee = MxPeer::start(
        "127.0.0.34",
        PeerOptions {
            tls: Some((ee_cert.cert_pem.clone(), ee_cert.key_pem.clone())),
            ..Default::default()
        },
    );
    // DANE-TA: a certificate for the MX name from the CA the TLSA record names.
    let (ta_chain, ta_key, _) = ca_certificate(&ca, &["mx.dane-ta.test"]);
    let ta = MxPeer::start(
        "127.0.0.35",
        PeerOptions { tls: Some((ta_chain, ta_key)), ..Default::default() },
    );
    // Mismatch: a TLSA record for some other key.
    let bad_cert = TestCertificate::generate(&["mx.dane-bad.test"]);
    let bad = MxPeer::start(
        "127.0.0.36",
        PeerOptions {
            tls: Some((bad_cert.cert_pem.clone(), bad_cert.key_pem.clone())),
            ..Default::default()
        },
    );
    let other = TestCertificate::generate(&["x"]);
    // dane-ee.test also has an MTA-STS policy its self-signed certificate cannot satisfy: DANE
    // takes precedence (RFC 8461 §2).
    let https = policy_server(
        &ca,
        vec![(
            "dane-ee.test",
            "version: STSv1\r\nmode: enforce\r\nmx: mx.dane-ee.test\r\nmax_age: 86400\r\n",
        )],
    )
    .await;
    let zone = format!(
        "
        _mta-sts.dane-ee.test TXT \"v=STSv1; id=1\"
        dane-ee.test MX 10 mx.dane-ee.test
        mx.dane-ee.test A 127.0.0.34
        _25._tcp.mx.dane-ee.test TLSA 3 1 1 {ee}
        dane-ee.test AUTHENTIC
        mx.dane-ee.test AUTHENTIC
        _25._tcp.mx.dane-ee.test AUTHENTIC
        dane-ta.test MX 10 mx.dane-ta.test
        mx.dane-ta.test A 127.0.0.35
        _25._tcp.mx.dane-ta.test TLSA 2 0 1 {ta}
        dane-ta.test AUTHENTIC
        mx.dane-ta.test AUTHENTIC
        _25._tcp.mx.dane-ta.test AUTHENTIC
        dane-bad.test MX 10 mx.dane-bad.test
        mx.dane-bad.test A 127.0.0.36
        _25._tcp.mx.dane-bad.test TLSA 3 1 1 {wrong}
        dane-bad.test AUTHENTIC
        mx.dane-bad.test AUTHENTIC
        _25._tcp.mx.dane-bad.test AUTHENTIC
        ",
        ee = spki_sha256_hex(&ee_cert.cert_der),
        ta = sha256_hex(ca_der(&ca).as_slice()),
        wrong = spki_sha256_hex(&other.cert_der),
    );
    let q = TestQueue::start(TestQueueOptions {
        zone,
        fetcher: Some(fetcher(&ca, &https)),
        pkix_roots: Some(ca.roots()),
        ..Default::default()
    })
    .await;
    let ee_id = q.queue.add(msg("x@dane-ee.test", "dane-ee")).await.unwrap()[0];
    let ta_id = q.queue.add(msg("x@dane-ta.test", "dane-ta")).await.unwrap()[0];
    let bad_id = q.queue.add(msg("x@dane-bad.test", "dane-bad")).await.unwrap()[0];
    q.wait_gone(ee_id).await;
    q.wait_gone(ta_id).await;
    assert!(ee.messages()[0].tls && ta.messages()[0].tls);
    let e = q.wait_attempts(bad_id, 1).await.unwrap();
    assert!(e.last_error().contains("TLS required by DANE policy"), "{}", e.last_error());
    assert!(bad.messages().is_empty());
    assert_eq!(bad.connections().len(), 1, "no plaintext retry under DANE");

    let results = wait_for("TLS results", Duration::from_secs(10), || {
        let r = q.queue.tls_results().unwrap();
        (r.iter().filter(|r| r.is_host).count() >= 3).then_some(r)
    })
    .await;
    let ee_result = result_for(&results, "mx.dane-ee.test", PolicyType::Tlsa);
    assert_eq!(ee_result.result.summary.total_successful_session_count, 1);
    assert!(ee_result.result.policy.policy_string[0].starts_with("3 1 1 "));
    assert_eq!(
        result_for(&results, "mx.dane-ta.test", PolicyType::Tlsa)
            .result
            .summary
            .total_successful_session_count,
        1
    );
    let bad_result = result_for(&results, "mx.dane-bad.test", PolicyType::Tlsa);
    assert_eq!(bad_result.result.summary.total_failure_session_count, 1);
    assert_eq!(bad_result.result.failure_details[0].result_type, ResultType::ValidationFailure);
    q.stop().await;
}

fn ca_der(ca: &TestCa) -> Vec<u8> {
    let pem = ca.pem();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requiretls_and_tls_required_no() {
    let cert = TestCertificate::generate(&["mx"]);
    let tls = || Some((cert.cert_pem.clone(), cert.key_pem.clone()));
    let without = MxPeer::start("127.0.0.37", PeerOptions { tls: tls(), ..Default::default() });
    let with = MxPeer::start(
        "127.0.0.38",
        PeerOptions { tls: tls(), requiretls: true, ..Default::default() },
    );
    let unverified = MxPeer::start(
        "127.0.0.39",
        PeerOptions { tls: tls(), requiretls: true, ..Default::default() },
    );
    let mismatch = MxPeer::start("127.0.0.40", PeerOptions { tls: tls(), ..Default::default() });
    let spki = spki_sha256_hex(&cert.cert_der);
    let wrong = spki_sha256_hex(&TestCertificate::generate(&["y"]).cert_der);
    let mut zone = String::new();
    for (domain, ip, hash) in [
        ("no-rtls.test", "127.0.0.37", &spki),
        ("rtls.test", "127.0.0.38", &spki),
        ("tlsreqno.test", "127.0.0.40", &wrong),
    ] {
        zone.push_str(&format!(
            "{domain} MX 10 mx.{domain}\nmx.{domain} A {ip}\n_25._tcp.mx.{domain} TLSA 3 1 1 {hash}\n{domain} AUTHENTIC\nmx.{domain} AUTHENTIC\n_25._tcp.mx.{domain} AUTHENTIC\n"
        ));
    }
    // No DANE, no MTA-STS: REQUIRETLS cannot be satisfied at all.
    zone.push_str("plain.test MX 10 mx.plain.test\nmx.plain.test A 127.0.0.39\n");
    let q = TestQueue::start(TestQueueOptions { zone, ..Default::default() }).await;

    let mut m = msg("x@no-rtls.test", "rtls-missing");
    m.require_tls = Some(true);
    let missing = q.queue.add(m).await.unwrap()[0];
    let mut m = msg("x@rtls.test", "rtls-ok");
    m.require_tls = Some(true);
    let ok = q.queue.add(m).await.unwrap()[0];
    let mut m = msg("x@plain.test", "rtls-plain");
    m.require_tls = Some(true);
    let plain = q.queue.add(m).await.unwrap()[0];
    // TLS-Required: No in the header: the DANE mismatch is ignored.
    let mut data = b"TLS-Required: No\r\n".to_vec();
    data.extend(message("tlsreqno", "tlsreqno"));
    let mut m = NewMessage::new(
        Some("alice@mox.test".parse().unwrap()),
        vec![rcpt("x@tlsreqno.test")],
        data,
    );
    m.account = Some("alice".into());
    let tlsreqno = q.queue.add(m).await.unwrap()[0];
    assert_eq!(q.queue.entry(tlsreqno).unwrap().require_tls, Some(false));

    for id in [missing, ok, plain, tlsreqno] {
        q.wait_gone(id).await;
    }
    assert!(without.messages().is_empty());
    assert_eq!(with.messages().len(), 1);
    assert!(with.messages()[0].mail_options.contains(&"REQUIRETLS".to_string()));
    assert!(unverified.connections().is_empty(), "nothing to verify with: not even connected");
    assert_eq!(mismatch.messages().len(), 1, "TLS-Required: No delivers despite the mismatch");
    let dsns = wait_for("two DSNs", Duration::from_secs(20), || {
        let d = q.local.account_messages("alice");
        (d.len() == 2).then_some(d)
    })
    .await;
    for dsn in &dsns {
        let status = dsn_status(dsn);
        assert_eq!(status.recipients[0].field("Status"), Some("5.7.30"));
        let text = String::from_utf8_lossy(dsn);
        assert!(text.contains("REQUIRETLS"), "{text}");
    }
    assert!(q.queue.list(&Filter::default()).unwrap().is_empty());
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opportunistic_tls_when_offered_plaintext_otherwise() {
    // STARTTLS is used when offered, with a certificate nobody vouches for, and delivery goes
    // on in plain text when it is not offered.
    let cert = TestCertificate::generate(&["whatever"]);
    let tls_peer = MxPeer::start(
        "127.0.0.41",
        PeerOptions {
            tls: Some((cert.cert_pem.clone(), cert.key_pem.clone())),
            ..Default::default()
        },
    );
    let plain_peer = MxPeer::start("127.0.0.42", PeerOptions::default());
    let q = TestQueue::start(TestQueueOptions {
        zone: "
            opp.test MX 10 mx.opp.test
            mx.opp.test A 127.0.0.41
            noopp.test MX 10 mx.noopp.test
            mx.noopp.test A 127.0.0.42
        "
        .into(),
        ..Default::default()
    })
    .await;
    let a = q.queue.add(msg("x@opp.test", "opp")).await.unwrap()[0];
    let b = q.queue.add(msg("x@noopp.test", "noopp")).await.unwrap()[0];
    q.wait_gone(a).await;
    q.wait_gone(b).await;
    assert!(tls_peer.messages()[0].tls);
    assert!(!plain_peer.messages()[0].tls);
    let results = wait_for("TLS results", Duration::from_secs(10), || {
        let r = q.queue.tls_results().unwrap();
        (r.len() >= 2).then_some(r)
    })
    .await;
    let opp = result_for(&results, "opp.test", PolicyType::NoPolicyFound);
    assert_eq!(opp.result.summary.total_successful_session_count, 1);
    let noopp = result_for(&results, "noopp.test", PolicyType::NoPolicyFound);
    assert_eq!(noopp.result.summary.total_successful_session_count, 0);
    assert_eq!(noopp.result.summary.total_failure_session_count, 0);
    assert_eq!(noopp.result.failure_details[0].result_type, ResultType::StarttlsNotSupported);
    q.stop().await;
}
