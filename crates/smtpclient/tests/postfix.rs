//! The client against a private Postfix instance on loopback: STARTTLS, pipelining, a refused
//! recipient, and the delivered message intact byte for byte apart from the headers Postfix
//! adds (Return-Path, X-Original-To, Delivered-To, Received).

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::sync::Arc;
use std::time::Duration;

use smtpclient::{
    Client, ClientOptions, Envelope, SessionConfig, Timeouts, TlsMode, TlsVerification,
};
use test_support::{Postfix, PostfixConfig, strip_postfix_delivery_headers};

fn options(postfix: &Postfix, tls: TlsMode) -> ClientOptions {
    ClientOptions {
        session: SessionConfig {
            hostname: dns::Domain::parse("client.example.org").unwrap(),
            tls,
            auth: None,
            timeouts: Timeouts::all(Duration::from_secs(20)),
        },
        tls: smtpclient::tls::client_config(
            &TlsVerification::Roots(Arc::new(postfix.certificate.root_store())),
            None,
        )
        .unwrap(),
        server_name: smtpclient::tls::server_name("localhost").unwrap(),
    }
}

/// Complete headers, so Postfix adds none of its own (Message-ID, Date, From); dots at line
/// starts; 8-bit text; a long line.
fn message(subject: &str) -> Vec<u8> {
    let mut message = format!(
        "From: Sender <sender@example.org>\r\nTo: <bob@example.net>\r\nSubject: {subject}\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\nMessage-ID: <{subject}@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    .into_bytes();
    message.extend_from_slice(b".dot at start\r\n.\r\n..\r\ncaf\xc3\xa9\r\n");
    message.extend_from_slice("x".repeat(900).as_bytes());
    message.extend_from_slice(b"\r\nend\r\n");
    message
}

#[tokio::test]
async fn delivers_intact_over_starttls_with_pipelining() {
    let postfix = Postfix::start(PostfixConfig {
        mailboxes: vec!["bob@example.net".into(), "alice@example.net".into()],
        starttls: true,
    });
    let mut client =
        Client::connect("127.0.0.1", postfix.port, options(&postfix, TlsMode::StartTls))
            .await
            .unwrap();
    assert!(client.is_tls());
    let caps = client.capabilities().clone();
    assert!(
        caps.pipelining
            && caps.eight_bit_mime
            && caps.smtputf8
            && caps.chunking
            && caps.enhanced_status_codes,
        "{caps:?}"
    );
    assert!(caps.size.is_some_and(|s| s > 0));

    let body = message("first");
    let mut envelope = Envelope::new(
        Some("sender@example.org".parse().unwrap()),
        vec![
            "bob@example.net".parse().unwrap(),
            "nobody@example.net".parse().unwrap(),
            "alice@example.net".parse().unwrap(),
        ],
    );
    envelope.eight_bit = true;
    envelope.size = Some(body.len() as u64);
    let delivery = client.deliver(&envelope, &body[..]).await.unwrap();
    let results: Vec<(bool, u16)> =
        delivery.recipients.iter().map(|r| (r.delivered, r.reply.code())).collect();
    assert_eq!(results, [(true, 250), (false, 550), (true, 250)]);
    let refused = &delivery.recipients[1].reply;
    assert_eq!(refused.enhanced().unwrap().to_string(), "5.1.1");
    assert!(refused.message().contains("User unknown"), "{refused}");
    assert!(delivery.data.as_ref().unwrap().message().contains("queued as"));

    // A second transaction on the same session.
    let second = message("second");
    let envelope = Envelope::new(
        Some("sender@example.org".parse().unwrap()),
        vec!["alice@example.net".parse().unwrap()],
    );
    let delivery = client.deliver(&envelope, &second[..]).await.unwrap();
    assert!(delivery.all_delivered());
    client.quit().await.unwrap();

    let delivered = postfix.wait_for_delivery("bob@example.net", Duration::from_secs(30));
    let text = String::from_utf8_lossy(&delivered);
    assert!(text.starts_with("Return-Path: <sender@example.org>"), "{text}");
    assert!(text.contains("with ESMTPS"), "Received header should show TLS: {text}");
    assert_eq!(
        String::from_utf8_lossy(&strip_postfix_delivery_headers(&delivered)),
        String::from_utf8_lossy(&body)
    );
    assert_eq!(strip_postfix_delivery_headers(&delivered), body);
}

#[tokio::test]
async fn plaintext_and_smtputf8() {
    let postfix = Postfix::start(PostfixConfig {
        mailboxes: vec!["bob@example.net".into()],
        starttls: false,
    });
    let mut client =
        Client::connect("127.0.0.1", postfix.port, options(&postfix, TlsMode::StartTlsIfOffered))
            .await
            .unwrap();
    assert!(!client.is_tls());
    let body = b"From: <s@example.org>\r\nTo: <bob@example.net>\r\nSubject: utf8\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\nMessage-ID: <u@example.org>\r\n\r\nhi\r\n".to_vec();
    let envelope = Envelope::new(
        Some("s\u{e9}nder@example.org".parse().unwrap()),
        vec!["bob@example.net".parse().unwrap()],
    );
    let delivery = client.deliver(&envelope, &body[..]).await.unwrap();
    assert!(delivery.all_delivered(), "{delivery:?}");
    client.quit().await.unwrap();
    let delivered = postfix.wait_for_delivery("bob@example.net", Duration::from_secs(30));
    let text = String::from_utf8_lossy(&delivered);
    assert!(text.starts_with("Return-Path: <s\u{e9}nder@example.org>"), "{text}");
    assert!(text.contains("with UTF8SMTP"), "{text}");
    assert_eq!(strip_postfix_delivery_headers(&delivered), body);
}
