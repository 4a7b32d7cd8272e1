//! `mox serve`, `mox localserve`, `mox stop` and the control commands, end to end: the real
//! binary on a real mox.conf/domains.conf, driven by the real `mox` commands.

use std::path::Path;
use std::time::Duration;

use test_support::{MoxMode, MoxServer};

fn mox_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mox"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The account's stored credentials check `password` (read from the store after the server
/// stopped, the way the server itself reads them).
fn password_works(dir: &Path, account: &str, password: &str) -> bool {
    let acc = store::Account::open_read_only(&dir.join("accounts").join(account)).expect("account");
    let data = acc.login_credentials().expect("read").expect("credentials set");
    let creds = runtime::credentials::decode(&data).expect("decodable");
    creds.password_hash.expect("hash").verify(password)
}

#[test]
fn localserve_first_run_makes_a_config_that_serves_and_stops_within_three_seconds() {
    let mut server = MoxServer::start(mox_bin(), MoxMode::Localserve);
    let dir = server.dir.clone();
    for f in ["mox.conf", "domains.conf", "localhost.crt", "localhost.key", "adminpasswd"] {
        assert!(dir.join(f).is_file(), "{f} written");
    }
    let log = server.log();
    assert!(log.contains("the default user is mox@localhost, with password moxmoxmox"), "{log}");

    // Control commands work while it runs.
    let out = server.mox(&["loglevels"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "(default): debug\n", "MOX_LOG=debug in the test");
    let out = server.mox(&["loglevels", "trace", "queue"], b"");
    assert_eq!(text(&out.stdout), "(default): debug\nqueue: trace\n");
    let out = server.mox(&["loglevels", "nonsense"], b"");
    assert_eq!(out.status.code(), Some(2), "a bad level is a usage error");

    // A second server on the same directory is refused.
    let second = std::process::Command::new(mox_bin())
        .args(["localserve", "-dir"])
        .arg(&dir)
        .env_remove("MOX_LOG")
        .output()
        .expect("second localserve");
    assert_eq!(second.status.code(), Some(1));
    assert!(
        text(&second.stderr).contains("another mox is already serving"),
        "{}",
        text(&second.stderr)
    );

    let (status, took) = server.stop();
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(3), "stopped in {took:?}");
    assert!(!dir.join("ctl").exists(), "control socket removed");
    assert!(password_works(&dir, "mox", "moxmoxmox"));
    assert!(!password_works(&dir, "mox", "wrong"));
}

#[test]
fn serve_follows_domains_conf_and_carries_out_control_commands() {
    let mut server = MoxServer::start(mox_bin(), MoxMode::Serve);
    let dir = server.dir.clone();

    // An address that is not configured yet.
    let out = server.mox(&["setaccountpassword", "other@localhost"], b"pw-other\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no account has address \"other@localhost\""),
        "{}",
        text(&out.stderr)
    );

    // An operator's edit of domains.conf is picked up while serving.
    let domains = dir.join("domains.conf");
    let original = std::fs::read_to_string(&domains).expect("domains.conf");
    let added = original.replacen(
        "Accounts:\n",
        "Accounts:\n\tother:\n\t\tDomain: localhost\n\t\tDestinations:\n\t\t\tother@localhost: nil\n",
        1,
    );
    std::fs::write(&domains, &added).expect("edit domains.conf");
    server.wait_for_log("domains.conf changed, reloaded", Duration::from_secs(10));
    let out = server.mox(&["setaccountpassword", "other@localhost"], b"pw-other\n");
    assert!(out.status.success(), "{}\n{}", text(&out.stderr), server.log());
    // By account name too, as mox v0.0.17 takes it.
    let out = server.mox(&["setaccountpassword", "mox"], b"pw-mox\r\n");
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A broken edit is refused and the server keeps the previous configuration.
    let broken = added.replace("other@localhost: nil", "other@no-such-domain.example: nil");
    std::fs::write(&domains, broken).expect("edit");
    server.wait_for_log("still serving the previous configuration", Duration::from_secs(10));
    let out = server.mox(&["setaccountpassword", "other@localhost"], b"pw-other2\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(&domains, &added).expect("restore");

    // Import and backup go through the running server.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/store/roundtrip.mbox");
    let out =
        server.mox(&["import", "mbox", "mox", "Imported", corpus.to_str().expect("utf-8")], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "imported 8 messages into \"Imported\"\n");
    assert!(server.log().contains("\"command\":\"import\""), "went through the server");
    // Configuration changes go through the running server, which uses them at once (no
    // wait for the domains.conf poll: the password is set right after the account is added).
    let out = server.mox(&["config", "account", "add", "third", "third@localhost"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(server.log().contains("\"command\":\"account-add\""), "went through the server");
    let out = server.mox(&["setaccountpassword", "third@localhost"], b"pw-third\n");
    assert!(out.status.success(), "{}\n{}", text(&out.stderr), server.log());
    let out = server.mox(&["config", "address", "add", "extra@localhost", "third"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = server.mox(&["config", "domain", "add", "-disabled", "example.org", "third"], b"");
    assert!(out.status.success(), "{}\n{}", text(&out.stderr), server.log());
    assert!(server.log().contains("\"disabled\":true"), "{}", server.log());
    let written = std::fs::read_to_string(&domains).expect("domains.conf");
    assert!(written.contains("\texample.org:\n\t\tDisabled: true\n"), "{written}");
    // An edit the configuration refuses is reported in one line, and changes nothing.
    let out = server.mox(&["config", "account", "add", "fourth", "fourth@nowhere.example"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nowhere.example"), "{}", text(&out.stderr));
    let out = server.mox(&["config", "address", "rm", "extra@localhost"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = server.mox(&["setaccountpassword", "extra@localhost"], b"pw\n");
    assert_eq!(out.status.code(), Some(1), "the address is gone at once");
    // As in mox, a domain with addresses (postmaster@example.org went to the existing account)
    // is not removed; the refusal names the address.
    let out = server.mox(&["config", "domain", "rm", "example.org"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("postmaster@example.org"), "{}", text(&out.stderr));

    // The server writes the backup, as its user: into a directory it may write.
    let backup = dir.join("backup-test");
    let out = server.mox(&["backup", "-verbose", backup.to_str().expect("utf-8")], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("backup of 3 accounts done"), "{}", text(&out.stdout));

    // SIGTERM stops it as cleanly as `mox stop`.
    let pid = server.pid();
    std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().expect("kill");
    let (status, took) = server.wait_exit(Duration::from_secs(5));
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(3), "stopped in {took:?}");

    assert!(password_works(&dir, "other", "pw-other2"));
    assert!(password_works(&dir, "mox", "pw-mox"));
    let acc = store::Account::open_read_only(&dir.join("accounts/mox")).expect("account");
    assert_eq!(acc.mailbox("Imported").expect("read").expect("mailbox").counts.messages, 8);
    let copy =
        store::Account::open_read_only(&backup.join("accounts/mox")).expect("backup account");
    assert!(copy.mailbox("Imported").expect("read").is_some(), "backup has the import");

    // Without the server, commands that need it say so in one line.
    let out = server.mox(&["loglevels"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("mox: mox is not running"), "{}", text(&out.stderr));
    // ... and setaccountpassword works directly.
    let out = server.mox(&["setaccountpassword", "mox@localhost"], b"offline-pw\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(password_works(&dir, "mox", "offline-pw"));
}
