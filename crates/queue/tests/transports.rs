//! Transports and routes: smarthosts with SASL (aiosmtpd with STARTTLS and implicit TLS),
//! the mechanism chosen from the configured list (never PLAIN unless listed), SOCKS5, Fail,
//! routes by recipient domain and attempt count, and address literals.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use queue::{
    NewMessage, Recipient, Route, SmtpAuth, Transport, TransportFail, TransportSmtp, TransportSocks,
};
use sasl::{Mechanism, Secret};
use test_support::{Aiosmtpd, AiosmtpdConfig, PeerTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn rcpt(address: &str) -> Recipient {
    Recipient::parse(address).unwrap()
}

fn msg(to: &str, id: &str) -> NewMessage {
    let mut m =
        NewMessage::new(Some("alice@mox.test".parse().unwrap()), vec![rcpt(to)], message(id, id));
    m.account = Some("alice".into());
    m
}

fn smarthost(port: u16, mechanisms: Vec<Mechanism>) -> TransportSmtp {
    TransportSmtp {
        host: dns::Domain::parse("aiosmtpd.test").unwrap(),
        port,
        starttls_insecure_skip_verify: false,
        no_starttls: false,
        auth: Some(SmtpAuth {
            username: "relay".into(),
            password: Secret::new("secret".into()),
            mechanisms,
        }),
    }
}

fn route(to: &str, transport: &str) -> Route {
    Route { to_domain: vec![to.into()], transport: transport.into(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smarthosts_with_auth_choose_the_mechanism() {
    let users = vec![("relay".to_string(), "secret".to_string())];
    let starttls = Aiosmtpd::start(AiosmtpdConfig { users: users.clone(), ..Default::default() });
    let implicit =
        Aiosmtpd::start(AiosmtpdConfig { tls: PeerTls::Implicit, users, ..Default::default() });
    let mut roots = starttls.certificate.root_store();
    for cert in implicit.certificate.root_store().roots {
        roots.roots.push(cert);
    }
    let (p1, p2) = (starttls.port, implicit.port);
    let q = TestQueue::start(TestQueueOptions {
        zone: "aiosmtpd.test A 127.0.0.1".into(),
        pkix_roots: Some(roots),
        settings: Box::new(move |s| {
            s.transports
                .insert("default-mechs".into(), Transport::Submission(smarthost(p1, Vec::new())));
            s.transports.insert(
                "plain".into(),
                Transport::Submission(smarthost(p1, vec![Mechanism::Plain])),
            );
            s.transports.insert(
                "scram-only".into(),
                Transport::Submission(smarthost(p1, vec![Mechanism::ScramSha256])),
            );
            s.transports.insert("tls".into(), Transport::Submissions(smarthost(p2, Vec::new())));
            s.routes = vec![
                route("a.test", "default-mechs"),
                route("b.test", "plain"),
                route("c.test", "scram-only"),
                route("d.test", "tls"),
            ];
        }),
        ..Default::default()
    })
    .await;
    let ids: Vec<_> = [("x@a.test", "a"), ("x@b.test", "b"), ("x@c.test", "c"), ("x@d.test", "d")]
        .into_iter()
        .map(|(to, id)| msg(to, id))
        .collect();
    let mut queued = Vec::new();
    for m in ids {
        queued.push(q.queue.add(m).await.unwrap()[0]);
    }
    for id in &queued {
        q.wait_gone(*id).await;
    }
    let messages = starttls.messages();
    assert_eq!(messages.len(), 2);
    let by_rcpt = |r: &str| messages.iter().find(|m| m.rcpt_tos == [r]).unwrap().clone();
    // The default list (SCRAM, CRAM-MD5; aiosmtpd has no SCRAM) picks CRAM-MD5 over PLAIN.
    let a = by_rcpt("x@a.test");
    assert_eq!((a.login.as_deref(), a.mechanism.as_deref()), (Some("relay"), Some("CRAM-MD5")));
    assert!(a.tls, "STARTTLS before AUTH");
    let b = by_rcpt("x@b.test");
    assert_eq!(b.mechanism.as_deref(), Some("PLAIN"), "PLAIN only when listed");
    let d = &implicit.messages()[0];
    assert_eq!((d.mechanism.as_deref(), d.tls), (Some("CRAM-MD5"), true));
    // No common mechanism: a permanent failure, the sender learns why.
    let dsn = wait_for("a DSN", Duration::from_secs(20), || {
        q.local.account_messages("alice").into_iter().next()
    })
    .await;
    let text = String::from_utf8_lossy(&dsn);
    assert!(
        text.contains("offers none of the allowed authentication mechanisms SCRAM-SHA-256"),
        "{text}"
    );
    assert_eq!(dsn_status(&dsn).recipients[0].field("Final-Recipient"), Some("rfc822;x@c.test"));
    assert_eq!(q.queue.stats().connections, 4);
    q.stop().await;
}

/// A SOCKS5 proxy for the test: no authentication, CONNECT only, logs the targets.
async fn socks5_proxy() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let targets = log.clone();
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let targets = targets.clone();
            tokio::spawn(async move {
                let mut greeting = [0u8; 3];
                client.read_exact(&mut greeting).await.unwrap();
                client.write_all(&[5, 0]).await.unwrap();
                let mut head = [0u8; 4];
                client.read_exact(&mut head).await.unwrap();
                assert_eq!(head[..3], [5, 1, 0]);
                assert_eq!(head[3], 1, "an IPv4 address");
                let mut rest = [0u8; 6];
                client.read_exact(&mut rest).await.unwrap();
                let ip = std::net::Ipv4Addr::new(rest[0], rest[1], rest[2], rest[3]);
                let port = u16::from_be_bytes([rest[4], rest[5]]);
                targets.lock().unwrap().push(format!("{ip}:{port}"));
                let mut upstream = tokio::net::TcpStream::connect((ip, port)).await.unwrap();
                client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socks_fail_routes_by_attempts_and_address_literals() {
    let socks_peer = MxPeer::start("127.0.0.50", PeerOptions::default());
    let relay = MxPeer::start("127.0.0.51", PeerOptions::default());
    let literal = MxPeer::start("127.0.0.53", PeerOptions::default());
    let (proxy, targets) = socks5_proxy().await;
    let q = TestQueue::start(TestQueueOptions {
        zone: "
            socks.test MX 10 mx.socks.test
            mx.socks.test A 127.0.0.50
            retry.test MX 10 mx.retry.test
            mx.retry.test A 127.0.0.52
            relay.test A 127.0.0.51
        "
        .into(),
        manual_clock: true,
        settings: Box::new(move |s| {
            s.transports.insert(
                "proxy".into(),
                Transport::Socks(TransportSocks {
                    address: proxy.to_string(),
                    remote_ips: vec!["198.51.100.7".parse().unwrap()],
                    remote_hostname: dns::Domain::parse("proxy.mox.test").unwrap(),
                }),
            );
            s.transports.insert(
                "refuse".into(),
                Transport::Fail(TransportFail {
                    smtp_code: 550,
                    smtp_message: "mail to this domain is not allowed".into(),
                }),
            );
            s.transports.insert(
                "relay".into(),
                Transport::Smtp(TransportSmtp {
                    host: dns::Domain::parse("relay.test").unwrap(),
                    port: 0,
                    starttls_insecure_skip_verify: false,
                    no_starttls: true,
                    auth: None,
                }),
            );
            s.routes = vec![
                route("socks.test", "proxy"),
                route(".forbidden.test", "refuse"),
                Route {
                    to_domain: vec!["retry.test".into()],
                    minimum_attempts: 1,
                    transport: "relay".into(),
                    ..Default::default()
                },
            ];
        }),
        ..Default::default()
    })
    .await;
    let socks = q.queue.add(msg("x@socks.test", "socks")).await.unwrap()[0];
    let forbidden = q.queue.add(msg("x@sub.forbidden.test", "forbidden")).await.unwrap()[0];
    let retry = q.queue.add(msg("x@retry.test", "retry")).await.unwrap()[0];
    let lit = q.queue.add(msg("u@[127.0.0.53]", "literal")).await.unwrap()[0];

    q.wait_gone(socks).await;
    assert_eq!(targets.lock().unwrap().as_slice(), ["127.0.0.50:25"]);
    let sessions = socks_peer.sessions();
    assert!(sessions[0].ends_with(" proxy.mox.test"), "EHLO with the proxy's name: {sessions:?}");

    q.wait_gone(forbidden).await;
    let dsn = wait_for("the DSN", Duration::from_secs(20), || {
        q.local.account_messages("alice").into_iter().next()
    })
    .await;
    assert!(String::from_utf8_lossy(&dsn).contains("mail to this domain is not allowed"));
    assert_eq!(dsn_status(&dsn).recipients[0].field("Status"), Some("5.0.0"));

    // First attempt direct (its MX, 127.0.0.52, does not answer); from the second on, the
    // route with MinimumAttempts 1 sends it through the relay.
    let e = q.wait_attempts(retry, 1).await.unwrap();
    assert!(e.last_error().contains("127.0.0.52"), "{}", e.last_error());
    q.advance(Duration::from_secs(460));
    q.wait_gone(retry).await;
    assert_eq!(relay.messages()[0].rcpt_tos, ["x@retry.test"]);

    q.wait_gone(lit).await;
    assert_eq!(literal.messages()[0].rcpt_tos, ["u@[127.0.0.53]"]);
    q.stop().await;
}
