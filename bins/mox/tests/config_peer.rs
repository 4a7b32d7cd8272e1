//! Our configuration commands against the real mox v0.0.17: every domains.conf (and DKIM key)
//! that our `config account|address|domain add|rm` write passes the real `mox config test`.
//! The peer is built with shared/peers/mox/build.sh if needed (see tests/peer/mod.rs for where
//! it is looked for); if it cannot be had, the test fails (it is never skipped).
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod peer;

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(program: &Path, dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(program)
        .args(["-config", "mox.conf"])
        .args(args)
        .current_dir(dir)
        .env_remove("MOXCONF")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn what_our_edits_write_passes_real_mox_config_test() {
    let real = peer::real_mox();
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_mox"));
    let dir = tempfile::tempdir().unwrap();
    // A numeric user: the real mox checks that User exists on this machine.
    let static_text = config::testing::EXAMPLE_STATIC
        .replace("LogLevel: info\n", "LogLevel: info\nUser: 65534\n");
    std::fs::write(dir.path().join("mox.conf"), static_text).unwrap();
    std::fs::write(dir.path().join("domains.conf"), config::testing::EXAMPLE_DYNAMIC).unwrap();

    let check = |after: &str| {
        let (ok, text) = run(&real, dir.path(), &["config", "test"]);
        assert!(ok && text.contains("config OK"), "real mox config test after {after}:\n{text}");
        let (ok, text) = run(&ours, dir.path(), &["config", "test"]);
        assert!(ok, "our config test after {after}:\n{text}");
    };
    check("nothing");
    let steps: &[&[&str]] = &[
        &["config", "account", "add", "bob", "bob@example.com"],
        &["config", "address", "add", "@example.com", "bob"],
        &["config", "address", "add", "extra@example.com", "bob"],
        &["config", "address", "rm", "extra@example.com"],
        &["config", "address", "rm", "@example.com"],
        &["config", "domain", "add", "bücher.example", "newuser", "info"],
        &["config", "domain", "add", "-disabled", "other.example", "alice"],
        &["config", "account", "rm", "bob"],
        &["config", "address", "rm", "postmaster@other.example"],
        &["config", "domain", "rm", "other.example"],
    ];
    for step in steps {
        let (ok, text) = run(&ours, dir.path(), step);
        assert!(ok, "{step:?}:\n{text}");
        check(&step.join(" "));
    }
    // The real mox reads the keys we made and our domain, and signs with them.
    let domains = std::fs::read_to_string(dir.path().join("domains.conf")).unwrap();
    assert!(domains.contains("\tbücher.example:\n"), "{domains}");
    assert!(!domains.contains("other.example"), "{domains}");
    assert!(dir.path().join("dkim/old").read_dir().unwrap().count() == 2);

    // And a change that the checks refuse leaves the file alone.
    let (ok, text) = run(&ours, dir.path(), &["config", "account", "rm", "mjl"]);
    assert!(!ok && text.contains("postmaster account \"mjl\" does not exist"), "{text}");
    assert_eq!(std::fs::read_to_string(dir.path().join("domains.conf")).unwrap(), domains);
}
