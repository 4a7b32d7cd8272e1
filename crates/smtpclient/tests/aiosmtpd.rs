//! The client against Python's aiosmtpd (an independent SMTP server) on loopback: STARTTLS and
//! implicit TLS with certificate verification, AUTH PLAIN, LOGIN and CRAM-MD5, refused
//! recipients, and messages arriving byte for byte.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::sync::Arc;
use std::time::Duration;

use sasl::Mechanism;
use smtpclient::{
    AuthConfig, Client, ClientOptions, Envelope, Error, SessionConfig, Timeouts, TlsMode,
    TlsVerification,
};
use test_support::{Aiosmtpd, AiosmtpdConfig, PeerTls};

fn options(
    server: &Aiosmtpd,
    tls: TlsMode,
    verification: TlsVerification,
    auth: Option<AuthConfig>,
) -> ClientOptions {
    let _ = server;
    ClientOptions {
        session: SessionConfig {
            hostname: dns::Domain::parse("client.example.org").unwrap(),
            tls,
            auth,
            timeouts: Timeouts::all(Duration::from_secs(10)),
        },
        tls: smtpclient::tls::client_config(&verification, None).unwrap(),
        server_name: smtpclient::tls::server_name("localhost").unwrap(),
    }
}

fn trusting(server: &Aiosmtpd) -> TlsVerification {
    TlsVerification::Roots(Arc::new(server.certificate.root_store()))
}

fn auth(password: &str, mechanism: Option<Mechanism>) -> Option<AuthConfig> {
    Some(AuthConfig {
        username: "mjl".into(),
        password: password.into(),
        mechanism,
        allow_password_without_tls: false,
    })
}

fn users() -> Vec<(String, String)> {
    vec![("mjl".into(), "test1234".into())]
}

/// A message with the awkward parts: dots at line starts, a lone dot line, 8-bit text, a bare
/// LF (which the client must turn into CRLF), and no final line ending.
const MESSAGE: &[u8] = b"From: <mjl@example.org>\r\nTo: <rcpt@example.net>\r\nSubject: test \xc3\xa9\r\n\r\n.leading dot\r\n.\r\n..two dots\r\nbare lf\nlast line";
const EXPECTED: &[u8] = b"From: <mjl@example.org>\r\nTo: <rcpt@example.net>\r\nSubject: test \xc3\xa9\r\n\r\n.leading dot\r\n.\r\n..two dots\r\nbare lf\r\nlast line\r\n";

fn envelope(recipients: &[&str]) -> Envelope {
    let mut envelope = Envelope::new(
        Some("mjl@example.org".parse().unwrap()),
        recipients.iter().map(|r| r.parse().unwrap()).collect(),
    );
    envelope.eight_bit = true;
    envelope.size = Some(MESSAGE.len() as u64);
    envelope
}

#[tokio::test]
async fn starttls_with_each_password_mechanism() {
    let server = Aiosmtpd::start(AiosmtpdConfig {
        tls: PeerTls::StartTls,
        users: users(),
        ..Default::default()
    });
    // aiosmtpd offers LOGIN, PLAIN and our CRAM-MD5: unconfigured, the client picks CRAM-MD5.
    let cases =
        [(Some(Mechanism::Plain), "PLAIN"), (Some(Mechanism::Login), "LOGIN"), (None, "CRAM-MD5")];
    for (i, (mechanism, used)) in cases.into_iter().enumerate() {
        let opts =
            options(&server, TlsMode::StartTls, trusting(&server), auth("test1234", mechanism));
        let mut client = Client::connect("127.0.0.1", server.port, opts).await.unwrap();
        assert!(client.is_tls());
        assert!(
            client.capabilities().auth.contains(&"CRAM-MD5".to_string()),
            "{:?}",
            client.capabilities()
        );
        let delivery = client.deliver(&envelope(&["rcpt@example.net"]), MESSAGE).await.unwrap();
        assert!(delivery.all_delivered(), "{delivery:?}");
        assert_eq!(delivery.data.as_ref().unwrap().code(), 250);
        client.quit().await.unwrap();

        let received = &server.messages()[i];
        assert_eq!(String::from_utf8_lossy(&received.data), String::from_utf8_lossy(EXPECTED));
        assert_eq!(received.data, EXPECTED);
        assert_eq!(received.mail_from, "mjl@example.org");
        assert_eq!(received.rcpt_tos, ["rcpt@example.net"]);
        assert_eq!(received.login.as_deref(), Some("mjl"));
        assert_eq!(received.mechanism.as_deref(), Some(used));
        assert!(received.tls);
        assert!(
            received.mail_options.contains(&"BODY=8BITMIME".to_string()),
            "{:?}",
            received.mail_options
        );
        assert!(
            received.mail_options.contains(&format!("SIZE={}", MESSAGE.len())),
            "{:?}",
            received.mail_options
        );
    }
}

#[tokio::test]
async fn wrong_password_is_a_permanent_auth_failure() {
    let server = Aiosmtpd::start(AiosmtpdConfig {
        tls: PeerTls::StartTls,
        users: users(),
        ..Default::default()
    });
    for mechanism in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
        let opts =
            options(&server, TlsMode::StartTls, trusting(&server), auth("wrong", Some(mechanism)));
        let err = Client::connect("127.0.0.1", server.port, opts).await.unwrap_err();
        match &err {
            Error::AuthFailed { mechanism: m, reply } => {
                assert_eq!(*m, mechanism);
                assert_eq!(reply.code(), 535, "{reply}");
                assert_eq!(reply.enhanced().unwrap().to_string(), "5.7.8");
            }
            other => panic!("{mechanism}: {other:?}"),
        }
        assert!(err.is_permanent());
    }
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn implicit_tls() {
    let server = Aiosmtpd::start(AiosmtpdConfig {
        tls: PeerTls::Implicit,
        users: users(),
        ..Default::default()
    });
    let opts = options(
        &server,
        TlsMode::Implicit,
        trusting(&server),
        auth("test1234", Some(Mechanism::Plain)),
    );
    let mut client = Client::connect("127.0.0.1", server.port, opts).await.unwrap();
    assert!(client.is_tls());
    assert!(!client.capabilities().starttls);
    let delivery = client.deliver(&envelope(&["rcpt@example.net"]), MESSAGE).await.unwrap();
    assert!(delivery.all_delivered());
    client.quit().await.unwrap();
    let received = server.messages();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].data, EXPECTED);
    assert!(received[0].tls);
}

#[tokio::test]
async fn certificate_verification_policy_is_the_callers() {
    let server = Aiosmtpd::start(AiosmtpdConfig { tls: PeerTls::StartTls, ..Default::default() });
    // The public roots do not know the test certificate.
    let err = Client::connect(
        "127.0.0.1",
        server.port,
        options(&server, TlsMode::StartTls, TlsVerification::WebPki, None),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    // Trusted, but for another name.
    let mut opts = options(&server, TlsMode::StartTls, trusting(&server), None);
    opts.server_name = smtpclient::tls::server_name("other.example").unwrap();
    let err = Client::connect("127.0.0.1", server.port, opts).await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    // Opportunistic: encrypted, unverified.
    let client = Client::connect(
        "127.0.0.1",
        server.port,
        options(&server, TlsMode::StartTls, TlsVerification::Opportunistic, None),
    )
    .await
    .unwrap();
    assert!(client.is_tls());
    assert_eq!(client.tls_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    client.quit().await.unwrap();
}

#[tokio::test]
async fn refused_recipient_gets_its_own_result() {
    let server = Aiosmtpd::start(AiosmtpdConfig {
        tls: PeerTls::StartTls,
        users: users(),
        reject: vec!["nobody@example.net".into()],
        ..Default::default()
    });
    let opts = options(&server, TlsMode::StartTls, trusting(&server), auth("test1234", None));
    let mut client = Client::connect("127.0.0.1", server.port, opts).await.unwrap();
    let delivery = client
        .deliver(&envelope(&["nobody@example.net", "rcpt@example.net"]), MESSAGE)
        .await
        .unwrap();
    let [nobody, rcpt] = &delivery.recipients[..] else { panic!() };
    assert!(!nobody.delivered);
    assert_eq!(nobody.reply.code(), 550);
    assert!(nobody.reply.is_permanent());
    assert!(rcpt.delivered);
    // The session is usable for another transaction.
    let delivery = client
        .deliver(&envelope(&["rcpt@example.net"]), &b"Subject: second\r\n\r\nx\r\n"[..])
        .await
        .unwrap();
    assert!(delivery.all_delivered());
    client.quit().await.unwrap();
    let received = server.messages();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].rcpt_tos, ["rcpt@example.net"]);
    assert_eq!(received[1].data, b"Subject: second\r\n\r\nx\r\n");
}

#[tokio::test]
async fn large_message_streams_intact() {
    let server = Aiosmtpd::start(AiosmtpdConfig { tls: PeerTls::StartTls, ..Default::default() });
    // 3 MB of lines, a fifth of them starting with a dot.
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    let mut i = 0u32;
    while message.len() < 3_000_000 {
        if i.is_multiple_of(5) {
            message.push(b'.');
        }
        message.extend_from_slice(
            format!("line {i} {}\r\n", "x".repeat((i % 90) as usize)).as_bytes(),
        );
        i += 1;
    }
    let opts = options(&server, TlsMode::StartTls, TlsVerification::Opportunistic, None);
    let mut client = Client::connect("127.0.0.1", server.port, opts).await.unwrap();
    let mut env = envelope(&["rcpt@example.net"]);
    env.size = Some(message.len() as u64);
    env.eight_bit = false;
    let delivery = client.deliver(&env, &message[..]).await.unwrap();
    assert!(delivery.all_delivered());
    client.quit().await.unwrap();
    assert_eq!(server.messages()[0].data, message);
}

#[tokio::test]
async fn required_starttls_and_plaintext_auth_refusal() {
    let server = Aiosmtpd::start(AiosmtpdConfig {
        tls: PeerTls::StartTls,
        require_starttls: true,
        users: users(),
        ..Default::default()
    });
    // Plaintext toward a server that requires STARTTLS: refused by the server at MAIL.
    let opts = options(&server, TlsMode::Plaintext, TlsVerification::Opportunistic, None);
    let mut client = Client::connect("127.0.0.1", server.port, opts).await.unwrap();
    let delivery = client.deliver(&envelope(&["rcpt@example.net"]), MESSAGE).await.unwrap();
    assert_eq!(delivery.mail.code(), 530, "{:?}", delivery.mail);
    assert!(!delivery.recipients[0].delivered);
    // Asking for PLAIN without TLS is refused by the client before anything is sent.
    let opts = options(
        &server,
        TlsMode::Plaintext,
        TlsVerification::Opportunistic,
        auth("test1234", Some(Mechanism::Plain)),
    );
    let err = Client::connect("127.0.0.1", server.port, opts).await.unwrap_err();
    assert!(matches!(err, Error::InsecureAuth { mechanism: Mechanism::Plain }), "{err}");
    assert!(server.messages().is_empty());
}
