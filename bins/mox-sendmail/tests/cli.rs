//! `mox-sendmail` is a placeholder: it must say so and fail, never pretend to have sent.

use std::io::Write as _;
use std::process::{Command, Stdio};

#[test]
fn placeholder_prints_usage_and_fails_without_reading_the_message() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mox-sendmail"))
        .args(["-t", "root"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running mox-sendmail");
    // As cron would: a message on stdin. The placeholder may exit before reading it.
    let _ = child.stdin.take().expect("stdin").write_all(b"Subject: cron\r\n\r\nhello\r\n");
    let output = child.wait_with_output().expect("waiting for mox-sendmail");

    assert_eq!(output.status.code(), Some(69));
    assert!(output.stdout.is_empty());
    let err = String::from_utf8(output.stderr).expect("UTF-8");
    assert!(err.starts_with("usage: sendmail [-Fname] [ignoredflags] [-t] [<message]\n"), "{err}");
    assert!(err.contains("/etc/moxsubmit.conf"), "{err}");
    assert_eq!(
        err.lines().last(),
        Some("mox-sendmail: submission is not implemented yet; no message was sent")
    );
}
