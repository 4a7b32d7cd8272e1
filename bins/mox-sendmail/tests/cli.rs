//! `mox-sendmail` end to end, as cron runs it: the binary with a moxsubmit.conf (via
//! MOXSUBMIT_CONF), a message on stdin, submitting to aiosmtpd and to Postfix on loopback; and
//! failures, which must leave the message in ~/moxsubmit.failures with a non-zero exit status.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use test_support::{
    Aiosmtpd, AiosmtpdConfig, PeerTls, Postfix, PostfixConfig, strip_postfix_delivery_headers,
};

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs mox-sendmail with `args`, `stdin`, the config text and a fresh HOME.
fn sendmail(config: &str, args: &[&str], stdin: &[u8], home: &Path, cert: Option<&Path>) -> Run {
    let conf = home.join("moxsubmit.conf");
    std::fs::write(&conf, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mox-sendmail"));
    command.args(args).env("MOXSUBMIT_CONF", &conf).env("HOME", home).env_remove("MOX_LOG");
    match cert {
        Some(cert) => command.env("SSL_CERT_FILE", cert),
        None => command.env("SSL_CERT_FILE", home.join("no-such-bundle.pem")),
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A usage error exits before reading the message: the pipe may close under our write.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing stdin: {e}");
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn config(port: u16, tls: &str, username: &str, password: &str, auth_method: &str) -> String {
    let (tls, starttls) = match tls {
        "tls" => ("true", "false"),
        "starttls" => ("false", "true"),
        _ => ("false", "false"),
    };
    format!(
        "# written for mox\nLocalHostname: client.example.org\nHost: localhost\nPort: {port}\nTLS: {tls}\nSTARTTLS: {starttls}\nUsername: {username}\nPassword: {password}\nAuthMethod: {auth_method}\nFrom: cron@example.org\nDefaultDestination: admin@example.org\n"
    )
}

fn saved_failures(home: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(home.join("moxsubmit.failures"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// What Debian's cron pipes into sendmail (LF line endings).
const CRON_MESSAGE: &[u8] = b"From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> /usr/local/bin/backup\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\nbackup done: 3 files\n.hidden file skipped\n";

#[test]
fn cron_message_to_aiosmtpd_over_starttls_with_auth() {
    let server = Aiosmtpd::start(AiosmtpdConfig {
        tls: PeerTls::StartTls,
        users: vec![("mjl".into(), "test1234".into())],
        ..Default::default()
    });
    let home = tempfile::tempdir().unwrap();
    let run = sendmail(
        &config(server.port, "starttls", "mjl", "test1234", ""),
        &["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
        CRON_MESSAGE,
        home.path(),
        Some(&server.cert_path()),
    );
    assert_eq!((run.code, run.stderr.as_str(), run.stdout.as_str()), (Some(0), "", ""));
    let received = server.messages();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.mail_from, "cron@example.org");
    assert_eq!(message.rcpt_tos, ["admin@example.org"]);
    assert!(message.tls);
    // Unconfigured AuthMethod: the strongest mechanism aiosmtpd offers.
    assert_eq!(message.mechanism.as_deref(), Some("CRAM-MD5"));
    let text = String::from_utf8(message.data.clone()).unwrap();
    let expected_start = "From: \"CronDaemon\" <cron@example.org>\r\nTo: root\r\nSubject: Cron <root@host> /usr/local/bin/backup\r\nMIME-Version: 1.0\r\n";
    assert!(text.starts_with(expected_start), "{text}");
    assert!(text.contains("\r\nDate: ") && text.contains("\r\nMessage-ID: <"), "{text}");
    assert!(text.ends_with("\r\n\r\nbackup done: 3 files\r\n.hidden file skipped\r\n"), "{text}");
    assert!(!text.contains("root (Cron Daemon)"));
    assert!(saved_failures(home.path()).is_empty());
}

#[test]
fn dash_t_with_implicit_tls_and_plain() {
    let server = Aiosmtpd::start(AiosmtpdConfig {
        tls: PeerTls::Implicit,
        users: vec![("mjl".into(), "test1234".into())],
        reject: vec![],
        ..Default::default()
    });
    let home = tempfile::tempdir().unwrap();
    let message = b"To: Alice <alice@example.net>, bob@example.net\nBcc: carol@example.net\nSubject: report\nDate: Tue, 1 Jul 2025 10:00:00 +0200\nMessage-ID: <r1@example.org>\n\nall good\n";
    let run = sendmail(
        &config(server.port, "tls", "mjl", "test1234", "PLAIN"),
        &["-t"],
        message,
        home.path(),
        Some(&server.cert_path()),
    );
    assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""));
    let received = &server.messages()[0];
    assert_eq!(received.rcpt_tos, ["alice@example.net", "bob@example.net", "carol@example.net"]);
    assert_eq!(received.mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(
        String::from_utf8_lossy(&received.data),
        "From: <cron@example.org>\r\nTo: Alice <alice@example.net>, bob@example.net\r\nSubject: report\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\nMessage-ID: <r1@example.org>\r\n\r\nall good\r\n"
    );
}

#[test]
fn to_postfix_delivered_intact() {
    let postfix =
        Postfix::start(PostfixConfig { mailboxes: vec!["bob@example.net".into()], starttls: true });
    let home = tempfile::tempdir().unwrap();
    let message = b"Subject: disk space\nDate: Tue, 1 Jul 2025 10:00:00 +0200\nMessage-ID: <d1@example.org>\n\n/dev/sda1 91%\n.\n..\ncaf\xc3\xa9\n";
    // No credentials: Postfix takes mail for its own domain from anyone.
    let run = sendmail(
        &config(postfix.port, "starttls", "", "", ""),
        &["-F", "Disk Monitor", "bob@example.net"],
        message,
        home.path(),
        Some(&postfix.cert_path()),
    );
    assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""));
    let delivered = postfix.wait_for_delivery("bob@example.net", Duration::from_secs(30));
    let text = String::from_utf8_lossy(&delivered);
    assert!(text.starts_with("Return-Path: <cron@example.org>\n"), "{text}");
    assert!(text.contains("with ESMTPS"), "{text}");
    assert_eq!(
        String::from_utf8_lossy(&strip_postfix_delivery_headers(&delivered)),
        "From: \"Disk Monitor\" <cron@example.org>\r\nSubject: disk space\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\nMessage-ID: <d1@example.org>\r\nTo: <bob@example.net>\r\n\r\n/dev/sda1 91%\r\n.\r\n..\r\ncaf\u{e9}\r\n"
    );
}

/// Every failure: non-zero exit, one line on stderr naming the cause and the saved file, and
/// the message in ~/moxsubmit.failures.
#[test]
fn failures_keep_the_message() {
    let server = Aiosmtpd::start(AiosmtpdConfig {
        tls: PeerTls::StartTls,
        users: vec![("mjl".into(), "test1234".into())],
        ..Default::default()
    });
    let closed_port = test_support::free_port().expect("a free port");
    let other_cert = test_support::TestCertificate::generate(&[]);
    let cases: Vec<(&str, String, Option<PathBuf>, &str)> = vec![
        (
            "nothing listening",
            config(closed_port, "starttls", "mjl", "test1234", ""),
            Some(server.cert_path()),
            "connect: ",
        ),
        (
            "wrong password",
            config(server.port, "starttls", "mjl", "wrong", ""),
            Some(server.cert_path()),
            "authentication with CRAM-MD5 failed: 535 5.7.8",
        ),
        (
            "untrusted certificate",
            config(server.port, "starttls", "mjl", "test1234", ""),
            None,
            "TLS handshake: ",
        ),
        ("bad config", "Host: x\n".to_string(), None, "configuration: "),
    ];
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    std::fs::write(&other, &other_cert.cert_pem).unwrap();
    for (name, conf, cert, cause) in cases {
        let home = tempfile::tempdir().unwrap();
        let cert = cert.unwrap_or_else(|| other.clone());
        let run = sendmail(
            &conf,
            &["-FCronDaemon", "-oi", "root"],
            CRON_MESSAGE,
            home.path(),
            Some(&cert),
        );
        assert_eq!(run.code, Some(75), "{name}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{name}: {}", run.stderr);
        assert!(run.stderr.starts_with("mox-sendmail: submit failed: "), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(cause), "{name}: {}", run.stderr);
        let saved = saved_failures(home.path());
        assert_eq!(saved.len(), 1, "{name}");
        assert!(
            run.stderr.trim_end().ends_with(&format!("message saved in {}", saved[0].display())),
            "{name}: {}",
            run.stderr
        );
        let kept = std::fs::read(&saved[0]).unwrap();
        let tail = b"backup done: 3 files\r\n.hidden file skipped\r\n";
        let raw_tail = b"backup done: 3 files\n.hidden file skipped\n";
        assert!(
            kept.ends_with(tail) || kept.ends_with(raw_tail),
            "{name}: {}",
            String::from_utf8_lossy(&kept)
        );
    }
    assert!(server.messages().is_empty());
}

#[test]
fn usage_errors_and_sendmail_modes() {
    let home = tempfile::tempdir().unwrap();
    let run = sendmail("", &["-oi"], b"x", home.path(), None);
    assert_eq!(run.code, Some(64));
    assert!(
        run.stderr.contains("no recipients") && run.stderr.contains("usage: sendmail"),
        "{}",
        run.stderr
    );
    let run = sendmail("", &["-bp"], b"", home.path(), None);
    assert_eq!(run.code, Some(0));
    assert!(run.stdout.starts_with("Mail queue is empty"));
    let run = sendmail("", &["-bi"], b"", home.path(), None);
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(0), "", ""));
}
