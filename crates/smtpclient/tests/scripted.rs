//! The tokio driver against scripted servers on loopback: the exact bytes the client sends,
//! pipelining, HELO fallback, per-recipient results, and malformed or misbehaving servers
//! (wrong codes, broken continuation lines, disconnects mid-reply, silence), which must give
//! clear errors quickly, never hangs.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::sync::Arc;
use std::time::Duration;

use smtpclient::{
    AuthConfig, Client, ClientOptions, Envelope, Error, Phase, SessionConfig, Timeouts, TlsMode,
    TlsVerification,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One step of a scripted server.
#[derive(Debug, Clone)]
enum Step {
    /// Send these bytes.
    Send(&'static [u8]),
    /// Read until exactly these bytes have arrived (the client's commands).
    Expect(&'static [u8]),
    /// Read whatever comes until the peer closes or the deadline; ignore it.
    Drain,
    /// Close the connection.
    Close,
    /// Do nothing for a long time.
    Hang,
}

/// Starts a one-connection scripted server; its task returns an error text on mismatch.
async fn scripted(script: Vec<Step>) -> (u16, tokio::task::JoinHandle<Result<(), String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.map_err(|e| e.to_string())?;
        for step in script {
            match step {
                Step::Send(bytes) => conn.write_all(bytes).await.map_err(|e| e.to_string())?,
                Step::Expect(expected) => {
                    let mut got = vec![0u8; expected.len()];
                    let read =
                        tokio::time::timeout(Duration::from_secs(5), conn.read_exact(&mut got))
                            .await;
                    match read {
                        Ok(Ok(_)) if got == expected => {}
                        Ok(Ok(_)) => {
                            return Err(format!(
                                "expected {:?}, got {:?}",
                                String::from_utf8_lossy(expected),
                                String::from_utf8_lossy(&got)
                            ));
                        }
                        other => {
                            return Err(format!(
                                "expected {:?}: {other:?}",
                                String::from_utf8_lossy(expected)
                            ));
                        }
                    }
                }
                Step::Drain => {
                    let mut sink = Vec::new();
                    let _ =
                        tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut sink))
                            .await;
                }
                Step::Close => return Ok(()),
                Step::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
            }
        }
        Ok(())
    });
    (port, task)
}

fn options(tls: TlsMode, auth: Option<AuthConfig>) -> ClientOptions {
    ClientOptions {
        session: SessionConfig {
            hostname: dns::Domain::parse("client.example.org").unwrap(),
            tls,
            auth,
            timeouts: Timeouts::all(Duration::from_secs(2)),
        },
        tls: smtpclient::tls::client_config(&TlsVerification::Opportunistic, None).unwrap(),
        server_name: smtpclient::tls::server_name("localhost").unwrap(),
    }
}

fn envelope(recipients: &[&str]) -> Envelope {
    Envelope::new(
        Some("sender@example.org".parse().unwrap()),
        recipients.iter().map(|r| r.parse().unwrap()).collect(),
    )
}

async fn connect(
    port: u16,
    options: ClientOptions,
) -> Result<Client<tokio::net::TcpStream>, Error> {
    // Every test must finish well within this, whatever the server does.
    tokio::time::timeout(Duration::from_secs(10), Client::connect("127.0.0.1", port, options))
        .await
        .expect("client hung")
}

const GREETING: &[u8] = b"220 mx.example.org ESMTP\r\n";
const EHLO: &[u8] = b"EHLO client.example.org\r\n";

#[tokio::test]
async fn pipelined_delivery_with_a_refused_recipient() {
    let (port, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Expect(EHLO),
        Step::Send(b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"),
        // One batch: MAIL, both RCPTs and DATA (RFC 2920).
        Step::Expect(b"MAIL FROM:<sender@example.org> SIZE=19 BODY=8BITMIME\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"),
        Step::Send(b"250 2.1.0 Ok\r\n550 5.1.1 <a@example.net>: no such user\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        Step::Expect(b"Subject: \xc3\xa9\r\n\r\n..dot\r\n.\r\n"),
        Step::Send(b"250 2.0.0 Ok: queued as ABC\r\n"),
        Step::Expect(b"QUIT\r\n"),
        Step::Send(b"221 2.0.0 Bye\r\n"),
    ])
    .await;
    let mut client = connect(port, options(TlsMode::StartTlsIfOffered, None)).await.unwrap();
    assert!(client.capabilities().pipelining);
    let mut env = envelope(&["a@example.net", "b@example.net"]);
    env.size = Some(19);
    env.eight_bit = true;
    let delivery = client.deliver(&env, &b"Subject: \xc3\xa9\n\n.dot\n"[..]).await.unwrap();
    assert!(!delivery.all_delivered());
    let [a, b] = &delivery.recipients[..] else { panic!() };
    assert!(
        !a.delivered
            && a.reply.is_permanent()
            && a.reply.enhanced().unwrap().to_string() == "5.1.1"
    );
    assert!(b.delivered);
    assert_eq!(b.reply.message(), "Ok: queued as ABC");
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn helo_fallback_and_one_command_at_a_time_without_pipelining() {
    let (port, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Expect(EHLO),
        Step::Send(b"502 command not implemented\r\n"),
        Step::Expect(b"HELO client.example.org\r\n"),
        Step::Send(b"250 mx.example.org\r\n"),
        Step::Expect(b"MAIL FROM:<sender@example.org>\r\n"),
        Step::Send(b"250 ok\r\n"),
        Step::Expect(b"RCPT TO:<a@example.net>\r\n"),
        Step::Send(b"451 try later\r\n"),
        Step::Expect(b"RCPT TO:<b@example.net>\r\n"),
        Step::Send(b"250 ok\r\n"),
        Step::Expect(b"DATA\r\n"),
        Step::Send(b"354 go\r\n"),
        Step::Expect(b"hi\r\n.\r\n"),
        Step::Send(b"250 ok\r\n"),
        // Second transaction: every recipient refused, so no DATA, and RSET before the next.
        Step::Expect(b"MAIL FROM:<sender@example.org>\r\n"),
        Step::Send(b"250 ok\r\n"),
        Step::Expect(b"RCPT TO:<c@example.net>\r\n"),
        Step::Send(b"550 no\r\n"),
        Step::Expect(b"RSET\r\n"),
        Step::Send(b"250 ok\r\n"),
        Step::Expect(b"MAIL FROM:<>\r\n"),
        Step::Send(b"550 no bounces\r\n"),
        Step::Drain,
    ])
    .await;
    let mut client = connect(port, options(TlsMode::StartTlsIfOffered, None)).await.unwrap();
    assert!(!client.capabilities().pipelining);
    let delivery =
        client.deliver(&envelope(&["a@example.net", "b@example.net"]), &b"hi"[..]).await.unwrap();
    assert!(!delivery.recipients[0].delivered && delivery.recipients[0].reply.is_transient());
    assert!(delivery.recipients[1].delivered);

    let delivery = client.deliver(&envelope(&["c@example.net"]), &b"x"[..]).await.unwrap();
    assert!(delivery.data.is_none() && !delivery.recipients[0].delivered);

    let mut bounce = envelope(&["d@example.net"]);
    bounce.from = None;
    let delivery = client.deliver(&bounce, &b"x"[..]).await.unwrap();
    assert_eq!(delivery.recipients[0].reply.code(), 550);
    assert_eq!(delivery.mail.code(), 550);
    drop(client);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn pipelined_data_accepted_without_recipients_sends_empty_message() {
    let (port, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Expect(EHLO),
        Step::Send(b"250-mx\r\n250 PIPELINING\r\n"),
        Step::Expect(b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n"),
        Step::Send(b"250 ok\r\n550 no\r\n354 go\r\n"),
        // RFC 2920 §3.1: the message is not sent; an empty one ends the transaction.
        Step::Expect(b".\r\n"),
        Step::Send(b"554 no valid recipients\r\n"),
        Step::Drain,
    ])
    .await;
    let mut client = connect(port, options(TlsMode::Plaintext, None)).await.unwrap();
    let delivery =
        client.deliver(&envelope(&["a@example.net"]), &b"secret message"[..]).await.unwrap();
    assert_eq!(delivery.recipients[0].reply.code(), 550);
    assert!(delivery.data.is_none());
    drop(client);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn prerequisites_are_checked_before_sending() {
    let (port, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Expect(EHLO),
        Step::Send(b"250-mx\r\n250 SIZE 10\r\n"),
        Step::Drain,
    ])
    .await;
    let mut client = connect(port, options(TlsMode::Plaintext, None)).await.unwrap();
    let mut env = envelope(&["a@example.net"]);
    env.size = Some(11);
    let err = client.deliver(&env, &b"01234567890"[..]).await.unwrap_err();
    assert!(
        matches!(err, Error::MessageTooLarge { size: 11, limit: 10 }) && err.is_permanent(),
        "{err}"
    );
    let err = client.deliver(&envelope(&["jösé@example.net"]), &b"x"[..]).await.unwrap_err();
    assert!(matches!(err, Error::SmtpUtf8Unsupported), "{err}");
    let mut env = envelope(&["a@example.net"]);
    env.eight_bit = true;
    assert!(matches!(
        client.deliver(&env, &b"\xff"[..]).await,
        Err(Error::EightBitMimeUnsupported)
    ));
    env.eight_bit = false;
    env.require_tls = true;
    assert!(matches!(client.deliver(&env, &b"x"[..]).await, Err(Error::RequireTlsUnavailable(_))));
    drop(client);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn starttls_required_but_not_offered() {
    let (port, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Expect(EHLO),
        Step::Send(b"250 mx\r\n"),
        Step::Drain,
    ])
    .await;
    let err = connect(port, options(TlsMode::StartTls, None)).await.unwrap_err();
    assert!(matches!(err, Error::StartTlsUnavailable), "{err}");
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn bytes_injected_after_starttls_reply_are_refused() {
    let (port, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Expect(EHLO),
        Step::Send(b"250-mx\r\n250 STARTTLS\r\n"),
        Step::Expect(b"STARTTLS\r\n"),
        Step::Send(b"220 go ahead\r\n250 injected\r\n"),
        Step::Drain,
    ])
    .await;
    let err = connect(port, options(TlsMode::StartTls, None)).await.unwrap_err();
    assert!(matches!(err, Error::DataAfterStartTls), "{err}");
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn plain_auth_is_refused_without_tls() {
    let auth = AuthConfig {
        username: "user".into(),
        password: "pw".into(),
        mechanism: None,
        allow_password_without_tls: false,
    };
    let (port, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Expect(EHLO),
        Step::Send(b"250-mx\r\n250 AUTH PLAIN LOGIN\r\n"),
        Step::Drain,
    ])
    .await;
    let err = connect(port, options(TlsMode::StartTlsIfOffered, Some(auth))).await.unwrap_err();
    assert!(
        matches!(err, Error::NoAuthMechanism { ref offered } if offered == &["PLAIN", "LOGIN"]),
        "{err}"
    );
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn cram_md5_auth_and_failure_reply() {
    let auth = |password: &str| AuthConfig {
        username: "tim".into(),
        password: password.into(),
        mechanism: None,
        allow_password_without_tls: false,
    };
    // RFC 2195 §2 challenge and response.
    let script = |result: &'static [u8]| {
        vec![
            Step::Send(GREETING),
            Step::Expect(EHLO),
            Step::Send(b"250-mx\r\n250 AUTH PLAIN CRAM-MD5\r\n"),
            Step::Expect(b"AUTH CRAM-MD5\r\n"),
            Step::Send(b"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
            Step::Expect(b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
            Step::Send(result),
            Step::Drain,
        ]
    };
    let (port, server) = scripted(script(b"235 2.7.0 Authentication successful\r\n")).await;
    let client =
        connect(port, options(TlsMode::Plaintext, Some(auth("tanstaaftanstaaf")))).await.unwrap();
    drop(client);
    server.await.unwrap().unwrap();

    let (port, server) =
        scripted(script(b"535 5.7.8 Authentication credentials invalid\r\n")).await;
    let err = connect(port, options(TlsMode::Plaintext, Some(auth("tanstaaftanstaaf"))))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::AuthFailed { mechanism: sasl::Mechanism::CramMd5, ref reply } if reply.code() == 535),
        "{err}"
    );
    assert!(err.is_permanent());
    server.await.unwrap().unwrap();
}

/// How the SCRAM test server ends the exchange.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ScramEnding {
    Honest,
    TamperedSignature,
    SuccessWithoutSignature,
}

/// A server that runs a real SCRAM-SHA-256 exchange (the sasl crate's server side) and ends it
/// as told.
async fn scram_server(ending: ScramEnding) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use tokio::io::AsyncBufReadExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (conn, _) = listener.accept().await.unwrap();
        let (read, mut write) = conn.into_split();
        let mut lines = tokio::io::BufReader::new(read).lines();
        let mut seen = Vec::new();
        let mut next = async || lines.next_line().await.unwrap().unwrap_or_default();
        write.write_all(GREETING).await.unwrap();
        seen.push(next().await);
        write.write_all(b"250-mx\r\n250 AUTH SCRAM-SHA-256 PLAIN\r\n").await.unwrap();
        let auth = next().await;
        seen.push(auth.clone());
        let initial = B64.decode(auth.rsplit(' ').next().unwrap()).unwrap();
        let stored = sasl::StoredCredentials::derive("pencil").unwrap();
        let mut server =
            sasl::Server::new(sasl::Mechanism::ScramSha256, Default::default()).unwrap();
        server.step(Some(&initial)).unwrap();
        let sasl::ServerStep::Challenge(first) = server.credentials(Some(&stored)).unwrap() else {
            panic!()
        };
        write.write_all(format!("334 {}\r\n", B64.encode(first)).as_bytes()).await.unwrap();
        let client_final = B64.decode(next().await).unwrap();
        let sasl::ServerStep::Challenge(mut verifier) = server.step(Some(&client_final)).unwrap()
        else {
            panic!()
        };
        match ending {
            ScramEnding::Honest => {
                write
                    .write_all(format!("334 {}\r\n", B64.encode(verifier)).as_bytes())
                    .await
                    .unwrap();
                seen.push(next().await);
                write.write_all(b"235 2.7.0 ok\r\n").await.unwrap();
            }
            ScramEnding::TamperedSignature => {
                let mut signature = B64.decode(&verifier[2..]).unwrap();
                signature[0] ^= 1;
                verifier = format!("v={}", B64.encode(signature)).into_bytes();
                write
                    .write_all(format!("334 {}\r\n", B64.encode(verifier)).as_bytes())
                    .await
                    .unwrap();
                seen.push(next().await);
                write.write_all(b"501 5.7.0 aborted\r\n").await.unwrap();
            }
            ScramEnding::SuccessWithoutSignature => {
                write.write_all(b"235 2.7.0 ok\r\n").await.unwrap()
            }
        }
        seen.push(next().await);
        seen
    });
    (port, task)
}

#[tokio::test]
async fn scram_server_must_prove_itself() {
    let auth = AuthConfig {
        username: "user".into(),
        password: "pencil".into(),
        mechanism: None,
        allow_password_without_tls: false,
    };
    // Honest: SCRAM is preferred over PLAIN (which is not allowed without TLS anyway), the
    // client acknowledges the verifier with an empty line.
    let (port, server) = scram_server(ScramEnding::Honest).await;
    let client = connect(port, options(TlsMode::Plaintext, Some(auth.clone()))).await.unwrap();
    client.quit().await.unwrap();
    let seen = server.await.unwrap();
    assert!(seen[1].starts_with("AUTH SCRAM-SHA-256 "), "{seen:?}");
    assert_eq!(seen[2], "");
    assert_eq!(seen[3], "QUIT");

    // A wrong signature: the client cancels with "*" and reports why.
    let (port, server) = scram_server(ScramEnding::TamperedSignature).await;
    let err = connect(port, options(TlsMode::Plaintext, Some(auth.clone()))).await.unwrap_err();
    assert!(matches!(err, Error::Sasl(sasl::ClientError::ServerSignatureMismatch { .. })), "{err}");
    assert_eq!(server.await.unwrap()[2], "*");

    // Success claimed without the verifier: refused.
    let (port, server) = scram_server(ScramEnding::SuccessWithoutSignature).await;
    let err = connect(port, options(TlsMode::Plaintext, Some(auth))).await.unwrap_err();
    assert!(matches!(err, Error::Sasl(sasl::ClientError::ServerNotVerified { .. })), "{err}");
    server.abort();
}

/// Malformed and misbehaving servers: each must give the named error, quickly.
#[tokio::test]
async fn malformed_replies_give_clear_errors() {
    struct Case {
        name: &'static str,
        script: Vec<Step>,
        check: fn(&Error) -> bool,
    }
    let cases = vec![
        Case {
            name: "wrong code in greeting",
            script: vec![Step::Send(b"120 wait\r\n"), Step::Drain],
            check: |e| matches!(e, Error::MalformedReply { during: Phase::Greeting, .. }),
        },
        Case {
            name: "non-digit code",
            script: vec![Step::Send(b"2x0 hi\r\n"), Step::Drain],
            check: |e| matches!(e, Error::MalformedReply { .. }),
        },
        Case {
            name: "greeting refused",
            script: vec![Step::Send(b"554 go away\r\n"), Step::Drain],
            check: |e| matches!(e, Error::Rejected { during: Phase::Greeting, reply } if reply.code() == 554),
        },
        Case {
            name: "continuation with another code",
            script: vec![
                Step::Send(GREETING),
                Step::Expect(EHLO),
                Step::Send(b"250-mx\r\n251 PIPELINING\r\n"),
                Step::Drain,
            ],
            check: |e| matches!(e, Error::MalformedReply { during: Phase::Ehlo, .. }),
        },
        Case {
            name: "continuation without code",
            script: vec![
                Step::Send(GREETING),
                Step::Expect(EHLO),
                Step::Send(b"250-mx\r\nPIPELINING\r\n"),
                Step::Drain,
            ],
            check: |e| matches!(e, Error::MalformedReply { during: Phase::Ehlo, .. }),
        },
        Case {
            name: "disconnect mid-reply",
            script: vec![
                Step::Send(GREETING),
                Step::Expect(EHLO),
                Step::Send(b"250-mx\r\n250-PIPEL"),
                Step::Close,
            ],
            check: |e| {
                matches!(e, Error::ConnectionClosed { during: Phase::Ehlo, mid_reply: true })
            },
        },
        Case {
            name: "disconnect before greeting",
            script: vec![Step::Close],
            check: |e| {
                matches!(e, Error::ConnectionClosed { during: Phase::Greeting, mid_reply: false })
            },
        },
        Case {
            name: "silence",
            script: vec![Step::Hang],
            check: |e| matches!(e, Error::Timeout { during: Phase::Greeting, .. }),
        },
        Case {
            name: "endless line",
            script: vec![Step::Send(&[b'2'; 5000]), Step::Drain],
            check: |e| {
                matches!(
                    e,
                    Error::MalformedReply { source: smtpclient::ReplyError::TooLong { .. }, .. }
                )
            },
        },
        Case {
            name: "reply without end, then silence",
            script: vec![Step::Send(b"220-still"), Step::Hang],
            check: |e| matches!(e, Error::Timeout { during: Phase::Greeting, .. }),
        },
    ];
    for case in cases {
        let (port, server) = scripted(case.script).await;
        let started = std::time::Instant::now();
        let err = connect(port, options(TlsMode::Plaintext, None)).await.unwrap_err();
        assert!((case.check)(&err), "{}: {err:?}", case.name);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}: took {:?}",
            case.name,
            started.elapsed()
        );
        // The error reads as one clear line.
        assert!(!err.to_string().contains('\n'), "{}: {err}", case.name);
        server.abort();
    }
}

#[tokio::test]
async fn tls_handshake_failure_is_a_tls_error() {
    // A server that answers STARTTLS and then speaks plaintext garbage.
    let (port, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Expect(EHLO),
        Step::Send(b"250-mx\r\n250 STARTTLS\r\n"),
        Step::Expect(b"STARTTLS\r\n"),
        Step::Send(b"220 go ahead\r\n"),
        Step::Drain,
        Step::Send(b"this is not TLS\r\n"),
    ])
    .await;
    let mut opts = options(TlsMode::StartTls, None);
    opts.tls = smtpclient::tls::client_config(
        &TlsVerification::Roots(Arc::new(rustls::RootCertStore::empty())),
        None,
    )
    .unwrap();
    let err = connect(port, opts).await.unwrap_err();
    assert!(
        matches!(err, Error::Tls { .. } | Error::Timeout { during: Phase::TlsHandshake, .. }),
        "{err}"
    );
    server.abort();
}
