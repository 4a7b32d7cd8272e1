//! The abuse battery, against the real server over TCP: open relay forms, SMTP smuggling,
//! oversized lines and messages, too many recipients, AUTH before TLS, password guessing,
//! From spoofing at submission, connection limits, protocol errors and timeouts. Nothing may
//! be delivered that should not be, and the session must stay in sync or close cleanly.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::time::Duration;

use common::{Options, Raw, TestServer};

const ZONE: &str = r#"
1.0.0.127.in-addr.arpa PTR  mail.remote.example
mail.remote.example    A    127.0.0.1
remote.example         MX   10 mail.remote.example
remote.example         TXT  "v=spf1 ip4:127.0.0.0/8 -all"
"#;

async fn start(f: impl FnOnce(&mut Options)) -> TestServer {
    let mut o = Options { zone: ZONE.into(), ..Default::default() };
    f(&mut o);
    TestServer::start(o).await
}

async fn connect(addr: std::net::SocketAddr) -> Raw {
    let mut c = Raw::connect(addr).await;
    assert!(c.reply().await.starts_with("220 "));
    assert!(c.cmd("EHLO mail.remote.example").await.starts_with("250-"));
    c
}

#[tokio::test]
async fn open_relay_forms_are_refused() {
    let s = start(|_| {}).await;
    let mut c = connect(s.smtp).await;
    assert!(c.cmd("MAIL FROM:<alice@remote.example>").await.starts_with("250"));
    for (rcpt, want) in [
        ("victim@elsewhere.example", "550 5.1.1"),
        ("victim%elsewhere.example@mox.example", "550 5.7.1"),
        ("elsewhere.example!victim@mox.example", "550 5.7.1"),
        ("\"victim@elsewhere.example\"@mox.example", "550 5.7.1"),
        ("@mox.example:victim@elsewhere.example", "553 5.7.1"),
        ("@mox.example,@relay.example:victim@elsewhere.example", "553 5.7.1"),
        ("victim@[198.51.100.7]", "550 5.1.1"),
        ("victim@[IPv6:2001:db8::7]", "550 5.1.1"),
        ("mjl@mox.example.", "553 5.1.3"),
        ("victim@elsewhere.example.", "553 5.1.3"),
    ] {
        let r = c.cmd(&format!("RCPT TO:<{rcpt}>")).await;
        assert!(r.starts_with(want), "{rcpt}: {r}");
    }
    assert_eq!(c.cmd("DATA").await, "503 5.5.1 missing RCPT TO");
    // Without authentication, submission relays nothing either.
    let mut c = Raw::connect(s.submission).await;
    c.reply().await;
    c.cmd("EHLO client.example").await;
    assert_eq!(c.cmd("MAIL FROM:<mjl@mox.example>").await, "530 5.7.0 authentication required");
    assert_eq!(
        c.cmd("RCPT TO:<victim@elsewhere.example>").await,
        "530 5.7.0 authentication required"
    );
    assert!(s.messages("mjl", "Inbox").is_empty());
    s.stop().await;
}

#[tokio::test]
async fn smuggling_forms_never_deliver_a_second_message() {
    let s = start(|_| {}).await;
    for fake_end in ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n"] {
        let mut c = connect(s.smtp).await;
        assert!(c.cmd("MAIL FROM:<alice@remote.example>").await.starts_with("250"));
        assert!(c.cmd("RCPT TO:<mjl@mox.example>").await.starts_with("250"));
        assert!(c.cmd("DATA").await.starts_with("354"));
        let smuggled = format!(
            "From: alice@remote.example\r\nSubject: first\r\n\r\nfirst{fake_end}MAIL FROM:<admin@mox.example>\r\nRCPT TO:<mjl@mox.example>\r\nDATA\r\nFrom: admin@mox.example\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n"
        );
        c.send(&smuggled).await;
        let r = c.reply().await;
        assert!(
            r.starts_with("500 5.5.2 invalid bare \\r or \\n, may be smtp smuggling"),
            "{fake_end:?}: {r}"
        );
        // In sync: the next command gets its own reply.
        assert_eq!(c.cmd("NOOP").await, "250 2.0.0 alrighty", "{fake_end:?}");
    }
    assert!(s.messages("mjl", "Inbox").is_empty(), "nothing delivered");
    s.stop().await;
}

#[tokio::test]
async fn oversized_lines_and_messages() {
    let s = start(|o| {
        o.configure_session = Some(Box::new(|c| {
            c.max_message_size = 10_000;
            c.max_recipients = 3;
        }))
    })
    .await;
    let mut c = connect(s.smtp).await;
    let r = c.cmd(&format!("NOOP {}", "x".repeat(10_000))).await;
    assert_eq!(r, "500 5.5.2 line too long, max 4096 octets");
    assert_eq!(c.cmd("NOOP").await, "250 2.0.0 alrighty");
    assert_eq!(
        c.cmd("MAIL FROM:<alice@remote.example> SIZE=20000").await,
        "552 5.3.4 message too large"
    );
    assert!(c.cmd("MAIL FROM:<alice@remote.example>").await.starts_with("250"));
    for i in 0..3 {
        assert!(c.cmd(&format!("RCPT TO:<mjl+{i}@mox.example>")).await.starts_with("250"));
    }
    assert_eq!(c.cmd("RCPT TO:<mjl+4@mox.example>").await, "452 4.5.3 max of 3 recipients reached");
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send(&format!("Subject: big\r\n\r\n{}\r\n", "y".repeat(20_000))).await;
    let r = c.cmd(".").await;
    assert!(r.starts_with("552 5.3.4 message too large"), "{r}");
    assert_eq!(c.cmd("RCPT TO:<mjl@mox.example>").await, "503 5.5.1 missing MAIL FROM");
    assert!(s.messages("mjl", "Inbox").is_empty());
    s.stop().await;
}

#[tokio::test]
async fn auth_before_tls_and_password_guessing() {
    let s = start(|_| {}).await;
    // Plaintext: no AUTH offered, and even valid credentials are refused.
    let mut c = Raw::connect(s.submission).await;
    c.reply().await;
    let ehlo = c.cmd("EHLO client.example").await;
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    let plain = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("\0mjl@mox.example\0{}", common::PASSWORD),
    );
    assert_eq!(
        c.cmd(&format!("AUTH PLAIN {plain}")).await,
        "538 5.7.11 authentication requires tls"
    );

    // Guessing over TLS: refused after mox's 10 failures a minute from an address.
    let guess = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "\0mjl@mox.example\0guess",
    );
    let mut results = Vec::new();
    let mut tls = common::tls_client(&s, s.submissions).await;
    for _ in 0..12 {
        results.push(tls.cmd(&format!("AUTH PLAIN {guess}")).await);
    }
    assert!(results[..10].iter().all(|r| r == "535 5.7.8 bad user/pass"), "{results:?}");
    assert!(results[10].starts_with("454 4.7.0 too many authentication failures"), "{results:?}");
    // Even the right password is refused now, and new connections are turned away.
    assert!(tls.cmd(&format!("AUTH PLAIN {plain}")).await.starts_with("454"));
    let mut c = Raw::connect(s.submission).await;
    assert_eq!(c.reply().await, "421 4.7.0 too many auth failures");
    s.stop().await;
}

#[tokio::test]
async fn from_spoofing_at_submission() {
    let s = start(|_| {}).await;
    let mut c = common::tls_client(&s, s.submissions).await;
    let plain = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("\0mjl@mox.example\0{}", common::PASSWORD),
    );
    assert_eq!(c.cmd(&format!("AUTH PLAIN {plain}")).await, "235 2.7.0 nice");
    assert_eq!(
        c.cmd("MAIL FROM:<other@mox.example>").await,
        "550 5.7.1 must match authenticated user"
    );
    assert_eq!(
        c.cmd("MAIL FROM:<ceo@remote.example>").await,
        "550 5.7.1 must match authenticated user"
    );
    assert!(c.cmd("MAIL FROM:<mjl+tag@mox.example>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<other@mox.example>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    let r =
        c.cmd("From: The CEO <ceo@remote.example>\r\nSubject: wire money\r\n\r\nnow\r\n.").await;
    assert_eq!(r, "550 5.7.1 message from address must belong to authenticated user");
    assert!(s.messages("other", "Inbox").is_empty());
    s.stop().await;
}

#[tokio::test]
async fn connection_limits_errors_and_timeouts() {
    let s = start(|o| {
        o.limits.connections_per_ip = [2, 100, 100];
        o.configure_session = Some(Box::new(|c| c.command_timeout = Duration::from_millis(500)));
    })
    .await;
    let mut a = Raw::connect(s.smtp).await;
    let mut b = Raw::connect(s.smtp).await;
    assert!(a.reply().await.starts_with("220"));
    assert!(b.reply().await.starts_with("220"));
    let mut c = Raw::connect(s.smtp).await;
    assert_eq!(c.reply().await, "421 4.7.0 too many open connections from your ip or network");
    // Errors before disconnect.
    assert!(a.cmd("EHLO client.example").await.starts_with("250"));
    let mut last = String::new();
    for _ in 0..25 {
        last = a.cmd("FOO").await;
        if last.contains("421") {
            break;
        }
    }
    assert!(last.ends_with("421 4.7.0 too many errors, closing"), "{last}");
    // Silence is cut off after the command timeout.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(b.reply().await.starts_with("421 4.4.0 timeout"));
    // Slots are given back.
    let mut d = Raw::connect(s.smtp).await;
    assert!(d.reply().await.starts_with("220"));
    s.stop().await;
}

#[tokio::test]
async fn message_data_before_354_is_out_of_sync() {
    let s = start(|_| {}).await;
    let mut c = connect(s.smtp).await;
    c.send("MAIL FROM:<alice@remote.example>\r\nRCPT TO:<mjl@mox.example>\r\nDATA\r\nSubject: x\r\n\r\nearly\r\n.\r\n").await;
    assert!(c.reply().await.starts_with("250"));
    assert!(c.reply().await.starts_with("250"));
    assert_eq!(c.reply().await, "554 5.5.0 improper command pipelining after DATA, closing");
    assert_eq!(c.reply().await, "", "connection closed");
    assert!(s.messages("mjl", "Inbox").is_empty());
    s.stop().await;
}
