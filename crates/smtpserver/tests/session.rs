//! Transcript tests of the session: every command and extension, pipelining, BDAT, AUTH,
//! limits and the SMTP smuggling forms. See `transcript/mod.rs` for the format.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod transcript;

use smtpserver::Service;
use transcript::{TestBackend, config, replay, session, tls};

#[tokio::test]
async fn greeting_ehlo_and_quit() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        r"
        S: 220 mox.example ESMTP mox
        C: EHLO client.example
        S: 250-mox.example
        S: 250-PIPELINING
        S: 250-SIZE 1000
        S: 250-STARTTLS
        S: 250-ENHANCEDSTATUSCODES
        S: 250-8BITMIME
        S: 250-BINARYMIME
        S: 250-CHUNKING
        S: 250-DSN
        S: 250-LIMITS RCPTMAX=3
        S: 250 SMTPUTF8
        C: HELO client.example
        S: 250 mox.example
        C: HELO nowhere.invalid
        S: 550 5.5.0 your ehlo domain does not resolve to an IP address
        C: NOOP
        S: 250 2.0.0 alrighty
        C: HELP me
        S: 214 2.0.0 see rfc 5321 (smtp)
        C: VRFY mjl
        S: 252 2.7.0 no verify but will try delivery
        C: EXPN list
        S: 252 2.7.0 no expand but will try delivery
        C: RSET
        S: 250 2.0.0 all clear
        C: QUIT
        S: 221 2.0.0 okay thanks bye
        CLOSED
        ",
    )
    .await;
}

#[tokio::test]
async fn ehlo_after_tls_and_on_submission() {
    let b = TestBackend::new();
    // With TLS: REQUIRETLS instead of STARTTLS.
    replay(
        session(config(Service::Smtp), Some(tls())),
        &*b,
        r"
        S: 220 *
        C: EHLO client.example
        S: 250-mox.example
        S: 250-PIPELINING
        S: 250-SIZE 1000
        S: 250-REQUIRETLS
        S: 250-ENHANCEDSTATUSCODES
        S: *
        S: *
        S: *
        S: *
        S: *
        S: 250 SMTPUTF8
        ",
    )
    .await;
    // Submission without TLS: no AUTH offered.
    replay(
        session(config(Service::Submission), None),
        &*b,
        r"
        S: 220 *
        C: EHLO client.example
        S: 250-mox.example
        S: 250-PIPELINING
        S: 250-SIZE 1000
        S: 250-STARTTLS
        S: 250-FUTURERELEASE 5184000 *
        S: 250-ENHANCEDSTATUSCODES
        S: *
        S: *
        S: *
        S: *
        S: *
        S: 250 SMTPUTF8
        C: AUTH PLAIN AG1qbEBtb3guZXhhbXBsZQB0ZXN0dGVzdA==
        S: 538 5.7.11 authentication requires tls
        C: MAIL FROM:<mjl@mox.example>
        S: 530 5.7.0 authentication required
        ",
    )
    .await;
    // Submission with TLS: all mechanisms.
    replay(
        session(config(Service::Submissions), Some(tls())),
        &*b,
        r"
        S: 220 *
        C: EHLO client.example
        S: 250-mox.example
        S: 250-PIPELINING
        S: 250-SIZE 1000
        S: 250-REQUIRETLS
        S: 250-AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN
        S: 250-FUTURERELEASE *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: 250 SMTPUTF8
        ",
    )
    .await;
}

#[tokio::test]
async fn sequence_errors() {
    let b = TestBackend::new();
    replay(
        session(smtpserver::SessionConfig { max_errors: 20, ..config(Service::Smtp) }, None),
        &*b,
        r"
        S: 220 *
        C: MAIL FROM:<a@remote.example>
        S: 503 5.5.1 no ehlo/helo yet
        C: EHLO client.example
        S: 250-*
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: 250 SMTPUTF8
        C: RCPT TO:<mjl@mox.example>
        S: 503 5.5.1 missing MAIL FROM
        C: DATA
        S: 503 5.5.1 missing MAIL FROM
        C: MAIL FROM:<a@remote.example>
        S: 250 2.1.0 looking good
        C: MAIL FROM:<a@remote.example>
        S: 503 5.5.1 already have MAIL
        C: DATA
        S: 503 5.5.1 missing RCPT TO
        C: AUTH PLAIN
        S: 503 5.5.1 authentication only allowed on submission ports
        C: FOO
        S: 500 5.5.1 unknown command
        C: QUIT
        S: 221 *
        CLOSED
        ",
    )
    .await;
}

#[tokio::test]
async fn first_command_unknown_closes() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        r"
        S: 220 *
        C: GET / HTTP/1.1
        S: 500 5.5.2 please try again speaking smtp
        CLOSED
        ",
    )
    .await;
}

#[tokio::test]
async fn too_many_errors_disconnects() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        r"
        S: 220 *
        C: HELO client.example
        S: 250 mox.example
        C: RCPT TO:<a@mox.example>
        S: 503 *
        C: BLAH
        S: 500 *
        C: BLAH
        S: 500 *
        C: MAIL FROM:<bad
        S: 501 *
        C: BLAH
        S: 500 *
        C: BLAH
        S: 500 5.5.1 unknown command
        S: 421 4.7.0 too many errors, closing
        CLOSED
        ",
    )
    .await;
}

const EHLO_REPLY: &str = r"
        S: 250-mox.example
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: 250 SMTPUTF8
";

fn with_ehlo(script: &str) -> String {
    format!("S: 220 *\nC: EHLO client.example\n{EHLO_REPLY}\n{script}")
}

#[tokio::test]
async fn pipelined_transaction_and_data() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r"
        C: MAIL FROM:<alice@remote.example> SIZE=100
        C: RCPT TO:<mjl@mox.example>
        C: RCPT TO:<nobody@mox.example>
        C: RCPT TO:<mjl+tag@mox.example>
        C: DATA
        S: 250 2.1.0 looking good
        S: 250 2.1.0 now on the list
        S: 550 5.1.1 no such user
        S: 250 2.1.0 now on the list
        S: 354 see you at the bare dot
        C: Subject: test
        C: 
        C: ..leading dot
        C: .
        S: 250 2.2.0 it is done
        # The next transaction may follow the data in the same group (RFC 2920 §3.1).
        C: MAIL FROM:<>
        C: RCPT TO:<postmaster>
        C: RCPT TO:<mjl@mox.example>
        C: QUIT
        S: 250 2.1.0 looking good
        S: 250 2.1.0 now on the list
        S: 452 4.5.3 only one recipient allowed with null reverse address
        S: 221 2.0.0 okay thanks bye
        CLOSED
        ",
        ),
    )
    .await;
    let d = b.delivered();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].mail_from, "alice@remote.example");
    assert_eq!(d[0].recipients, ["mjl@mox.example", "mjl+tag@mox.example"]);
    assert_eq!(d[0].data, b"Subject: test\r\n\r\n.leading dot\r\n");
}

#[tokio::test]
async fn mail_parameters() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r"
        C: MAIL FROM:<a@remote.example> SIZE=1001
        S: 552 5.3.4 message too large
        C: MAIL FROM:<a@remote.example> FOO=BAR
        S: 555 5.3.3 unrecognized parameter *
        C: MAIL FROM:<a@remote.example> REQUIRETLS
        S: 523 5.7.10 requiretls only allowed on tls-encrypted connections
        C: MAIL FROM:<a@remote.example> HOLDFOR=10
        S: 555 5.3.3 FUTURERELEASE not supported
        C: MAIL FROM:<a@[192.0.2.3]>
        S: 550 5.7.0 domain name required
        C: MAIL FROM:<a@nullmx.example>
        S: 550 5.7.27 mailfrom domain not configured for mail
        C: MAIL FROM:<jøran@remote.example>
        S: 550 5.6.7 non-ASCII address not permitted without SMTPUTF8
        C: MAIL FROM:<jøran@bücher.example> SMTPUTF8 BODY=8BITMIME RET=FULL ENVID=abc
        S: 250 2.1.0 looking good
        C: RCPT TO:<mjl@mox.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;mjl+40mox.example
        S: 250 2.1.0 now on the list
        C: RCPT TO:<other@mox.example> NOTIFY=NEVER,DELAY
        S: 501 5.5.4 NOTIFY=NEVER cannot be combined
        ",
        ),
    )
    .await;
}

#[tokio::test]
async fn relay_attempts_are_refused() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r#"
        C: MAIL FROM:<a@remote.example>
        S: 250 *
        C: RCPT TO:<victim@elsewhere.example>
        S: 550 5.1.1 not accepting email for domain
        C: RCPT TO:<victim%elsewhere.example@mox.example>
        S: 550 5.7.1 relaying not allowed
        C: RCPT TO:<elsewhere.example!victim@mox.example>
        S: 550 5.7.1 relaying not allowed
        C: RCPT TO:<"victim@elsewhere.example"@mox.example>
        S: 550 5.7.1 relaying not allowed
        C: RCPT TO:<@mox.example:victim@elsewhere.example>
        S: 553 5.7.1 source routes are not accepted
        C: RCPT TO:<victim@[198.51.100.1]>
        S: 550 5.1.1 not accepting email for ip
        C: RCPT TO:<mjl@mox.example.>
        S: 553 5.1.3 domain with trailing dot not accepted
        C: RCPT TO:<mjl@[192.0.2.1]>
        S: 550 5.1.1 not accepting email for domain
        "#,
        ),
    )
    .await;
}

#[tokio::test]
async fn too_many_recipients() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r"
        C: MAIL FROM:<a@remote.example>
        C: RCPT TO:<mjl@mox.example>
        C: RCPT TO:<mjl+1@mox.example>
        C: RCPT TO:<mjl+2@mox.example>
        C: RCPT TO:<mjl+3@mox.example>
        S: 250 *
        S: 250 *
        S: 250 *
        S: 250 *
        S: 452 4.5.3 max of 3 recipients reached
        ",
        ),
    )
    .await;
}

#[tokio::test]
async fn smuggling_forms_are_rejected_in_sync() {
    for fake_end in [r"\n.\n", r"\n.\r\n", r"\r\n.\n", r"\r.\r", r"\r\n.\r"] {
        let b = TestBackend::new();
        let script = format!(
            r"
        C: MAIL FROM:<a@remote.example>
        S: 250 *
        C: RCPT TO:<mjl@mox.example>
        S: 250 *
        C: DATA
        S: 354 *
        C: Subject: a\c
        C: {fake_end}\c
        C: MAIL FROM:<evil@mox.example>
        C: RCPT TO:<mjl@mox.example>
        C: DATA
        C: Subject: smuggled
        C: .
        S: 500 5.5.2 invalid bare \r or \n, may be smtp smuggling (ID)
        C: NOOP
        S: 250 2.0.0 alrighty
        "
        );
        replay(session(config(Service::Smtp), None), &*b, &with_ehlo(&script)).await;
        assert!(b.delivered().is_empty(), "{fake_end}: nothing may be delivered");
    }
}

#[tokio::test]
async fn bare_lf_inside_message_is_fixed() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r"
        C: MAIL FROM:<a@remote.example>
        C: RCPT TO:<mjl@mox.example>
        S: 250 *
        S: 250 *
        C: DATA
        S: 354 *
        C: Subject: a\nX: y\n\nbody\nmore
        C: .
        S: 250 2.2.0 it is done
        ",
        ),
    )
    .await;
    assert_eq!(b.delivered()[0].data, b"Subject: a\r\nX: y\r\n\r\nbody\r\nmore\r\n");
}

#[tokio::test]
async fn message_too_large_keeps_sync() {
    let b = TestBackend::new();
    let big = "x".repeat(600);
    let script = format!(
        r"
        C: MAIL FROM:<a@remote.example>
        C: RCPT TO:<mjl@mox.example>
        S: 250 *
        S: 250 *
        C: DATA
        S: 354 *
        C: Subject: big
        C: 
        C: {big}
        C: {big}
        C: .
        S: 552 5.3.4 message too large (ID)
        C: NOOP
        S: 250 2.0.0 alrighty
        C: RCPT TO:<mjl@mox.example>
        S: 503 5.5.1 missing MAIL FROM
        "
    );
    replay(session(config(Service::Smtp), None), &*b, &with_ehlo(&script)).await;
    assert!(b.delivered().is_empty());
}

#[tokio::test]
async fn long_lines() {
    let b = TestBackend::new();
    let long = "A".repeat(300);
    let script = format!(
        r"
        C: NOOP {long}
        S: 500 5.5.2 line too long, max 200 octets
        C: NOOP
        S: 250 2.0.0 alrighty
        "
    );
    replay(session(config(Service::Smtp), None), &*b, &with_ehlo(&script)).await;
}

#[tokio::test]
async fn bdat_chunks() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r"
        C: MAIL FROM:<a@remote.example> BODY=BINARYMIME
        C: RCPT TO:<mjl@mox.example>
        C: BDAT 12
        C: Subject: a\r\n\c
        C: BDAT 7 LAST
        C: \r\nbody\0\c
        C: NOOP
        S: 250 2.1.0 looking good
        S: 250 2.1.0 now on the list
        S: 250 2.0.0 12 octets received
        S: 250 2.2.0 it is done
        S: 250 2.0.0 alrighty
        # Errors still consume the chunk.
        C: BDAT 5 LAST
        C: QUIT\r\c
        C: NOOP
        S: 503 5.5.1 missing MAIL FROM
        S: 250 2.0.0 alrighty
        # DATA is not allowed for BINARYMIME.
        C: MAIL FROM:<a@remote.example> BODY=BINARYMIME
        C: RCPT TO:<mjl@mox.example>
        C: DATA
        S: 250 *
        S: 250 *
        S: 503 5.5.1 BINARYMIME requires BDAT
        C: BDAT 0 LAST
        S: 250 2.2.0 it is done
        ",
        ),
    )
    .await;
    let d = b.delivered();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].data, b"Subject: a\r\n\r\nbody\0");
    assert!(d[0].chunked);
    assert!(d[1].data.is_empty());
}

#[tokio::test]
async fn bdat_too_large() {
    let b = TestBackend::new();
    let chunk = "y".repeat(600);
    let script = format!(
        r"
        C: MAIL FROM:<a@remote.example>
        C: RCPT TO:<mjl@mox.example>
        C: BDAT 600
        C: {chunk}\c
        C: BDAT 600 LAST
        C: {chunk}\c
        S: 250 *
        S: 250 *
        S: 250 2.0.0 600 octets received
        S: 552 5.3.4 message too large (ID)
        "
    );
    replay(session(config(Service::Smtp), None), &*b, &with_ehlo(&script)).await;
    assert!(b.delivered().is_empty());
}

#[tokio::test]
async fn pipelining_out_of_sync_disconnects() {
    let b = TestBackend::new();
    // Message data sent before the 354.
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r"
        C: MAIL FROM:<a@remote.example>
        C: RCPT TO:<mjl@mox.example>
        C: DATA
        C: Subject: early
        C: .
        S: 250 *
        S: 250 *
        S: 554 5.5.0 improper command pipelining after DATA, closing
        CLOSED
        ",
        ),
    )
    .await;
    // Commands before the reply to EHLO.
    replay(
        session(config(Service::Smtp), None),
        &*b,
        r"
        S: 220 *
        C: EHLO client.example
        C: MAIL FROM:<a@remote.example>
        S: 554 5.5.0 improper command pipelining after EHLO, closing
        CLOSED
        ",
    )
    .await;
    // Plaintext after STARTTLS is never processed.
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r"
        C: STARTTLS
        C: MAIL FROM:<injected@remote.example>
        S: 554 5.5.0 improper command pipelining after STARTTLS, closing
        CLOSED
        ",
        ),
    )
    .await;
}

#[tokio::test]
async fn starttls_resets() {
    let b = TestBackend::new();
    replay(
        session(config(Service::Smtp), None),
        &*b,
        &with_ehlo(
            r"
        C: MAIL FROM:<a@remote.example>
        S: 250 *
        C: STARTTLS
        S: 220 2.0.0 go! (ID)
        C: MAIL FROM:<a@remote.example>
        S: 503 5.5.1 no ehlo/helo yet
        C: STARTTLS
        S: 503 5.5.1 no ehlo/helo yet
        C: HELO client.example
        S: 250 mox.example
        C: STARTTLS
        S: 503 5.5.1 already speaking tls
        ",
        ),
    )
    .await;
}

fn b64(s: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s)
}

#[tokio::test]
async fn auth_plain_login_cram() {
    let b = TestBackend::new();
    let plain_ok = b64(b"\0mjl@mox.example\0testtest");
    let plain_bad = b64(b"\0mjl@mox.example\0wrong");
    let plain_other = b64(b"other@mox.example\0mjl@mox.example\0testtest");
    let script = format!(
        r"
        S: 220 *
        C: EHLO client.example
        S: 250-*
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: *
        S: 250 SMTPUTF8
        C: AUTH XOAUTH2
        S: 504 5.5.4 mechanism XOAUTH2 not supported
        C: AUTH PLAIN {plain_bad}
        S: 535 5.7.8 bad user/pass
        C: AUTH PLAIN {plain_other}
        S: 535 5.7.8 cannot assume other role
        C: AUTH PLAIN
        S: 334 
        C: *
        S: 501 5.5.0 authentication aborted
        C: AUTH LOGIN
        S: 334 VXNlcm5hbWU6
        C: {user}
        S: 334 UGFzc3dvcmQ6
        C: {pass}
        S: 235 2.7.0 nice
        C: AUTH PLAIN {plain_ok}
        S: 503 5.5.1 already authenticated
        C: MAIL FROM:<other@mox.example>
        S: 550 5.7.1 must match authenticated user
        C: MAIL FROM:<mjl@mox.example>
        C: RCPT TO:<friend@remote.example>
        C: DATA
        S: 250 *
        S: 250 *
        S: 354 *
        C: Subject: hi
        C: 
        C: hello
        C: .
        S: 250 2.2.0 it is done
        ",
        user = b64(b"mjl@mox.example"),
        pass = b64(b"testtest"),
    );
    replay(session(config(Service::Submissions), Some(tls())), &*b, &script).await;
    let events = b.auth_events.lock().unwrap().clone();
    let results: Vec<bool> = events.iter().map(|(_, ok)| *ok).collect();
    assert_eq!(results, [false, false, false, true]);
    assert_eq!(b.delivered()[0].recipients, ["friend@remote.example"]);
}

/// SCRAM and CRAM-MD5 through the sasl crate's client, step by step.
#[tokio::test]
async fn auth_scram_plus_and_cram_md5() {
    use transcript::step;
    for mech in
        [sasl::Mechanism::ScramSha256Plus, sasl::Mechanism::ScramSha1, sasl::Mechanism::CramMd5]
    {
        let b = TestBackend::new();
        let mut s = session(config(Service::Submissions), Some(tls()));
        s.take_output();
        let _ = step(&mut s, &*b, b"EHLO client.example\r\n").await;
        let mut client = match mech {
            sasl::Mechanism::CramMd5 => {
                sasl::Client::cram_md5("mjl@mox.example", sasl::Secret::from("testtest"))
            }
            m => sasl::Client::scram(
                m.scram_hash().unwrap(),
                "mjl@mox.example",
                sasl::Secret::from("testtest"),
                if m.is_plus() {
                    sasl::ClientChannelBinding::Bind(sasl::ChannelBinding::tls_exporter(vec![
                        7;
                        32
                    ]))
                } else {
                    sasl::ClientChannelBinding::Unsupported
                },
            ),
        };
        let mut line = format!("AUTH {}", mech.name());
        if let Some(ir) = client.initial_response() {
            line.push(' ');
            line.push_str(&b64(&ir));
        }
        line.push_str("\r\n");
        let mut input = line.into_bytes();
        let reply = loop {
            let (out, _) = step(&mut s, &*b, &input).await;
            let text = String::from_utf8(out).unwrap();
            let Some(challenge) = text.strip_prefix("334 ") else { break text };
            let challenge = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                challenge.trim_end(),
            )
            .unwrap();
            let response = client.step(&challenge).unwrap_or_default();
            input = format!("{}\r\n", b64(&response)).into_bytes();
        };
        assert_eq!(reply, "235 2.7.0 nice\r\n", "{mech}");
        assert_eq!(s.context().auth.as_ref().unwrap().account, "mjl");
    }
}
