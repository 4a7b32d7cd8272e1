//! Policy fetching against a loopback HTTPS server with a certificate from a test CA (rcgen), and
//! the policy cache on top of it.
// Setup helpers outside #[test] functions panic on failure like the tests do.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use dns::{Domain, MockResolver};
use mtasts::{
    DnsConnector, Error, Fetcher, FixedConnector, Mode, PolicyCache, PolicyProblem, Source,
};
use test_support::{HttpsTestServer, TestCa, Validity, http_response};

const POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n";

fn response(status: &str, content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
    http_response(status, content_type, body)
}

/// A policy server for `names`, answering with `respond`.
async fn serve(
    ca: &TestCa,
    names: &[&str],
    validity: Validity,
    respond: impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> HttpsTestServer {
    HttpsTestServer::start(ca.server_config(names, validity).unwrap(), respond).await.unwrap()
}

fn ok(body: &'static str) -> impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static {
    move |_| Some(response("200 OK", Some("text/plain"), body.as_bytes()))
}

fn domain() -> Domain {
    Domain::parse("example.com").unwrap()
}

fn fetcher(ca: &TestCa, server: &HttpsTestServer) -> Fetcher {
    Fetcher::new().with_roots(ca.roots()).with_connector(FixedConnector::new(server.addr()))
}

#[tokio::test]
async fn fetches_and_parses_a_policy() {
    let ca = TestCa::new().unwrap();
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, ok(POLICY)).await;
    let policy = fetcher(&ca, &server).fetch(&MockResolver::new(), &domain()).await.unwrap();
    assert_eq!(policy.mode, Mode::Enforce);
    assert_eq!(policy.max_age, 604800);
    assert!(policy.matches(&Domain::parse("mx2.example.net").unwrap()));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = requests[0].to_ascii_lowercase();
    assert!(request.starts_with("get /.well-known/mta-sts.txt http/1.1\r\n"), "{request}");
    assert!(request.contains("\r\nhost: mta-sts.example.com\r\n"), "{request}");
}

#[tokio::test]
async fn accepts_charset_parameters_and_wildcard_certificates() {
    let ca = TestCa::new().unwrap();
    let server = serve(&ca, &["*.example.com"], Validity::Current, |_| {
        Some(response("200 OK", Some("Text/Plain ; charset=utf-8"), POLICY.as_bytes()))
    })
    .await;
    let policy = fetcher(&ca, &server).fetch(&MockResolver::new(), &domain()).await.unwrap();
    assert_eq!(policy.mx.len(), 2);
}

#[tokio::test]
async fn rejects_certificates_that_are_not_valid_for_the_policy_host() {
    let ca = TestCa::new().unwrap();
    let resolver = MockResolver::new();
    // Valid for the domain itself, not for mta-sts.<domain>.
    let server =
        serve(&ca, &["example.com", "mail.example.com"], Validity::Current, ok(POLICY)).await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("mta-sts.example.com"), "{err}");

    // Expired.
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Expired, ok(POLICY)).await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(err.to_string().to_lowercase().contains("expired"), "{err}");

    // From a CA that is not trusted: the default Mozilla roots do not include the test CA.
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, ok(POLICY)).await;
    let untrusting = Fetcher::new().with_connector(FixedConnector::new(server.addr()));
    let err = untrusting.fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 0, "no request is sent over an unverified connection");
}

#[tokio::test]
async fn does_not_follow_redirects() {
    let ca = TestCa::new().unwrap();
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, |_| {
        Some(b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.example/policy.txt\r\nContent-Length: 0\r\n\r\n".to_vec())
    })
    .await;
    let err = fetcher(&ca, &server).fetch(&MockResolver::new(), &domain()).await.unwrap_err();
    match &err {
        Error::Redirect { status: 301, location: Some(location), .. } => {
            assert_eq!(location, "https://elsewhere.example/policy.txt")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        err.to_string(),
        "policy host mta-sts.example.com answered with redirect 301 to https://elsewhere.example/policy.txt, which is not followed"
    );
}

#[tokio::test]
async fn requires_status_200_and_text_plain() {
    let ca = TestCa::new().unwrap();
    let resolver = MockResolver::new();
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, |_| {
        Some(response("404 Not Found", Some("text/plain"), b"not found"))
    })
    .await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::HttpStatus { status: 404, .. }), "{err:?}");
    assert!(err.is_not_implemented());

    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, |_| {
        Some(response("500 Internal Server Error", Some("text/plain"), POLICY.as_bytes()))
    })
    .await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::HttpStatus { status: 500, .. }), "{err:?}");
    assert!(!err.is_not_implemented());

    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, |_| {
        Some(response("200 OK", Some("text/html; charset=utf-8"), POLICY.as_bytes()))
    })
    .await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "policy host mta-sts.example.com served the policy as text/html; charset=utf-8, text/plain is required"
    );

    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, |_| {
        Some(response("200 OK", None, POLICY.as_bytes()))
    })
    .await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::ContentType { content_type: None, .. }), "{err:?}");
}

#[tokio::test]
async fn limits_the_size() {
    let ca = TestCa::new().unwrap();
    let resolver = MockResolver::new();
    let big = format!("{POLICY}{}", "x-padding: 0123456789\r\n".repeat(3000)); // about 70 KB
    assert!(big.len() > mtasts::DEFAULT_MAX_SIZE);
    let declared = big.clone();
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, move |_| {
        Some(response("200 OK", Some("text/plain"), declared.as_bytes()))
    })
    .await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::PolicyTooLarge { limit: 65536, .. }), "{err:?}");

    // Chunked, without a Content-Length: the limit applies while reading.
    let chunked = big.clone();
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, move |_| {
        let mut r =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        for chunk in chunked.as_bytes().chunks(4096) {
            r.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            r.extend_from_slice(chunk);
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"0\r\n\r\n");
        Some(r)
    })
    .await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::PolicyTooLarge { .. }), "{err:?}");

    // The same policy within a raised limit is fine (extensions are kept).
    let policy =
        fetcher(&ca, &server).with_max_size(1 << 20).fetch(&resolver, &domain()).await.unwrap();
    assert_eq!(policy.extensions.len(), 3000);
}

#[tokio::test]
async fn limits_the_time() {
    let ca = TestCa::new().unwrap();
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, |_| None).await;
    let started = std::time::Instant::now();
    let err = fetcher(&ca, &server)
        .with_timeout(Duration::from_millis(300))
        .fetch(&MockResolver::new(), &domain())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn invalid_policies_are_syntax_errors_with_their_text_available() {
    let ca = TestCa::new().unwrap();
    let resolver = MockResolver::new();
    let server = serve(
        &ca,
        &["mta-sts.example.com"],
        Validity::Current,
        ok("version: STSv1\nmode: enforce\nmax_age: 86400\n"),
    )
    .await;
    let f = fetcher(&ca, &server);
    let err = f.fetch(&resolver, &domain()).await.unwrap_err();
    assert!(
        matches!(err, Error::PolicySyntax { problem: PolicyProblem::MissingMx, .. }),
        "{err:?}"
    );
    let text = f.fetch_text(&resolver, &domain()).await.unwrap();
    assert_eq!(text, "version: STSv1\nmode: enforce\nmax_age: 86400\n");

    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, |_| {
        Some(response("200 OK", Some("text/plain"), b"version: STSv1\nx: \xff\n"))
    })
    .await;
    let err = fetcher(&ca, &server).fetch(&resolver, &domain()).await.unwrap_err();
    assert!(matches!(err, Error::PolicyNotUtf8 { position: 18, .. }), "{err:?}");
}

#[tokio::test]
async fn dns_connector_resolves_the_policy_host() {
    let ca = TestCa::new().unwrap();
    let server = serve(&ca, &["mta-sts.example.com"], Validity::Current, ok(POLICY)).await;
    let resolver = MockResolver::from_zone("mta-sts.example.com A 127.0.0.1").unwrap();
    let f = Fetcher::new()
        .with_roots(ca.roots())
        .with_connector(DnsConnector::with_port(server.addr().port()));
    let policy = f.fetch(&resolver, &domain()).await.unwrap();
    assert_eq!(policy.mode, Mode::Enforce);

    // The first address refuses (nothing listens on 127.0.0.2), the next one is tried.
    let two =
        MockResolver::from_zone("mta-sts.example.com A 127.0.0.2\nmta-sts.example.com A 127.0.0.1")
            .unwrap();
    assert_eq!(f.fetch(&two, &domain()).await.unwrap().mode, Mode::Enforce);
    let refusing = MockResolver::from_zone("mta-sts.example.com A 127.0.0.2").unwrap();
    let err = f.fetch(&refusing, &domain()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Connect { address, .. } if address.ip() == std::net::Ipv4Addr::new(127, 0, 0, 2)),
        "{err:?}"
    );

    // No policy host in DNS: the domain serves no policy.
    let err = f.fetch(&resolver, &Domain::parse("other.example").unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::PolicyHostLookup { .. }), "{err:?}");
    assert!(err.is_not_implemented());
}

/// A server whose policy and availability the test changes between resolutions.
struct Switchable {
    policy: Arc<Mutex<Option<&'static str>>>,
    served: Arc<AtomicUsize>,
    server: HttpsTestServer,
}

async fn switchable(ca: &TestCa) -> Switchable {
    let policy = Arc::new(Mutex::new(Some(POLICY)));
    let served = Arc::new(AtomicUsize::new(0));
    let (p, s) = (policy.clone(), served.clone());
    let server = serve(ca, &["mta-sts.example.com"], Validity::Current, move |_| {
        s.fetch_add(1, Ordering::SeqCst);
        Some(match *p.lock().unwrap() {
            Some(body) => response("200 OK", Some("text/plain"), body.as_bytes()),
            None => response("503 Service Unavailable", Some("text/plain"), b""),
        })
    })
    .await;
    Switchable { policy, served, server }
}

fn record(id: &str) -> MockResolver {
    MockResolver::from_zone(&format!("_mta-sts.example.com TXT \"v=STSv1; id={id}\"")).unwrap()
}

#[tokio::test]
async fn cache_fetches_only_when_needed() {
    let ca = TestCa::new().unwrap();
    let s = switchable(&ca).await;
    let f = fetcher(&ca, &s.server);
    let cache = PolicyCache::new();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mx = Domain::parse("mail.example.com").unwrap();
    let outside = Domain::parse("mx.attacker.example").unwrap();

    let r = cache.resolve_at(&record("1"), &f, &domain(), t0).await;
    assert_eq!(r.source, Source::Fetched);
    assert!(r.problem.is_none());
    assert!(r.permits(&mx));
    assert!(!r.permits(&outside), "an enforced policy refuses MX hosts outside it");
    assert_eq!(s.served.load(Ordering::SeqCst), 1);

    // Valid and same id: no fetch.
    let r = cache.resolve_at(&record("1"), &f, &domain(), t0 + Duration::from_secs(3600)).await;
    assert_eq!(r.source, Source::Cached);
    assert_eq!(r.policy.as_ref().map(|p| p.mode), Some(Mode::Enforce));
    assert_eq!(s.served.load(Ordering::SeqCst), 1);

    // The id changed: fetch, and the new policy replaces the old.
    *s.policy.lock().unwrap() =
        Some("version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 86400\n");
    let r = cache.resolve_at(&record("2"), &f, &domain(), t0 + Duration::from_secs(7200)).await;
    assert_eq!(r.source, Source::Fetched);
    assert!(r.permits(&outside), "testing mode only reports");
    assert_eq!(s.served.load(Ordering::SeqCst), 2);
    assert_eq!(cache.get(&domain()).map(|c| c.record_id), Some("2".to_string()));

    // Expired (max_age 86400 after fetching at t0+7200): fetch again although the id is the same.
    let t1 = t0 + Duration::from_secs(7200 + 86400);
    let r = cache.resolve_at(&record("2"), &f, &domain(), t1).await;
    assert_eq!(r.source, Source::Fetched);
    assert_eq!(s.served.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn cache_keeps_applying_a_valid_policy_when_lookups_or_fetches_fail() {
    let ca = TestCa::new().unwrap();
    let s = switchable(&ca).await;
    let f = fetcher(&ca, &s.server);
    let cache = PolicyCache::new();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let outside = Domain::parse("mx.attacker.example").unwrap();

    assert_eq!(cache.resolve_at(&record("1"), &f, &domain(), t0).await.source, Source::Fetched);

    // The record disappeared (or an attacker removed it): the cached policy still applies.
    let r =
        cache.resolve_at(&MockResolver::new(), &f, &domain(), t0 + Duration::from_secs(60)).await;
    assert_eq!(r.source, Source::CachedAfterFailure);
    assert!(matches!(r.problem, Some(Error::NoRecord { .. })), "{:?}", r.problem);
    assert!(!r.permits(&outside));

    // A new id, but the server fails: the cached policy still applies, and the failure is kept.
    *s.policy.lock().unwrap() = None;
    let r = cache.resolve_at(&record("2"), &f, &domain(), t0 + Duration::from_secs(120)).await;
    assert_eq!(r.source, Source::CachedAfterFailure);
    assert!(matches!(r.problem, Some(Error::HttpStatus { status: 503, .. })), "{:?}", r.problem);
    assert_eq!(s.served.load(Ordering::SeqCst), 2);

    // Within five minutes of the failure, the same id is not fetched again.
    *s.policy.lock().unwrap() = Some(POLICY);
    let r = cache.resolve_at(&record("2"), &f, &domain(), t0 + Duration::from_secs(240)).await;
    assert_eq!(r.source, Source::CachedAfterFailure);
    assert!(matches!(r.problem, Some(Error::FetchBackoff { .. })), "{:?}", r.problem);
    assert_eq!(s.served.load(Ordering::SeqCst), 2);

    // After the backoff it is.
    let r =
        cache.resolve_at(&record("2"), &f, &domain(), t0 + Duration::from_secs(120 + 301)).await;
    assert_eq!(r.source, Source::Fetched);
    assert_eq!(s.served.load(Ordering::SeqCst), 3);
    assert_eq!(cache.get(&domain()).map(|c| c.record_id), Some("2".to_string()));

    // Once expired and unreachable, no policy applies.
    *s.policy.lock().unwrap() = None;
    let much_later = t0 + Duration::from_secs(120 + 301 + 604800);
    let r = cache.resolve_at(&record("3"), &f, &domain(), much_later).await;
    assert_eq!(r.source, Source::None);
    assert!(r.policy.is_none());
    assert!(r.permits(&outside));
    assert_eq!(cache.remove_expired(much_later), 1);
    assert!(cache.get(&domain()).is_none());
}

#[tokio::test]
async fn cache_without_record_or_policy_means_no_mtasts() {
    let ca = TestCa::new().unwrap();
    let s = switchable(&ca).await;
    let f = fetcher(&ca, &s.server);
    let cache = PolicyCache::new();
    let r = cache.resolve(&MockResolver::new(), &f, &domain()).await;
    assert_eq!(r.source, Source::None);
    assert!(matches!(r.problem, Some(Error::NoRecord { .. })));
    assert_eq!(s.served.load(Ordering::SeqCst), 0, "no record, no fetch");

    // Two MTA-STS records count as none (RFC 8461 §3.1).
    let two = MockResolver::from_zone(
        "_mta-sts.example.com TXT \"v=STSv1; id=1\"\n_mta-sts.example.com TXT \"v=STSv1; id=2\"",
    )
    .unwrap();
    let r = cache.resolve(&two, &f, &domain()).await;
    assert!(matches!(r.problem, Some(Error::MultipleRecords { count: 2, .. })), "{:?}", r.problem);
    assert_eq!(s.served.load(Ordering::SeqCst), 0);
}
