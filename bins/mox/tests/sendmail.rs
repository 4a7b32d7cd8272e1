//! `mox sendmail`, `mox config describe-sendmail`, and `mox` installed as `sendmail`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn run(program: &std::path::Path, args: &[&str], stdin: &[u8], home: &std::path::Path) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .env("HOME", home)
        .env("MOXSUBMIT_CONF", home.join("missing.conf"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn describe_sendmail_prints_the_annotated_example() {
    let home = tempfile::tempdir().unwrap();
    let out =
        run(env!("CARGO_BIN_EXE_mox").as_ref(), &["config", "describe-sendmail"], b"", home.path());
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for key in [
        "LocalHostname:",
        "Host:",
        "Port:",
        "TLS:",
        "STARTTLS:",
        "TLSInsecureSkipVerify:",
        "Username:",
        "Password:",
        "ClientAuthEd25519PrivateKey:",
        "ClientAuthCertPrivateKeyPEMFile:",
        "AuthMethod:",
        "From:",
        "DefaultDestination:",
        "RequireTLS:",
    ] {
        assert!(text.lines().any(|l| l.starts_with(key)), "{key} missing:\n{text}");
    }
}

#[test]
fn invoked_as_sendmail_behaves_as_sendmail() {
    let home = tempfile::tempdir().unwrap();
    let link = home.path().join("sendmail");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_mox"), &link).unwrap();

    let out = run(&link, &["-bp"], b"", home.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Mail queue is empty"));

    // sendmail's flags, not mox's; the missing configuration makes it fail and keep the message.
    let out = run(
        &link,
        &["-FCronDaemon", "-i", "-B", "8BITMIME", "root"],
        b"Subject: x\n\nhello\n",
        home.path(),
    );
    assert_eq!(out.status.code(), Some(75));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("sendmail: submit failed: configuration: reading "), "{err}");
    let saved: Vec<_> =
        std::fs::read_dir(home.path().join("moxsubmit.failures")).unwrap().collect();
    assert_eq!(saved.len(), 1);

    // The same through "mox sendmail": mox's exit status 1 and "mox:" prefix.
    let out = run(
        env!("CARGO_BIN_EXE_mox").as_ref(),
        &["sendmail", "-FCronDaemon", "-oi", "root"],
        b"hello\n",
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("mox: submit failed: configuration: "), "{err}");
    assert_eq!(std::fs::read_dir(home.path().join("moxsubmit.failures")).unwrap().count(), 2);
}
