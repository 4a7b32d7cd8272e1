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

// When our `mox quickstart` lands: a test here that runs it for the three setups of
// testdata/config/mox-v0.0.17/README.md (one domain, an IDNA domain, -existing-webserver, with a
// private resolv.conf as peer::command_with_resolv_conf does for the real mox) and calls
// peer::assert_real_mox_accepts on each config/mox.conf (with `User: mox` replaced by a numeric
// user where the machine has no mox user, as migration.rs does for mox's own quickstarts).

#[test]
fn what_our_localserve_and_setadminpassword_write_works_with_real_mox() {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_mox"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ours");
    let o =
        Command::new(&ours).args(["localserve", "-initonly", "-dir"]).arg(&dir).output().unwrap();
    assert!(o.status.success(), "our localserve -initonly:\n{}", peer::text(&o));
    peer::assert_real_mox_accepts(&dir.join("mox.conf"), "localserve -initonly");

    let mut set_password = Command::new(&ours)
        .arg("-config")
        .arg(dir.join("mox.conf"))
        .arg("setadminpassword")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    set_password.stdin.take().unwrap().write_all(b"admin-s3cret\n").unwrap();
    let o = set_password.wait_with_output().unwrap();
    assert!(o.status.success(), "our setadminpassword:\n{}", peer::text(&o));
    peer::assert_real_mox_accepts(&dir.join("mox.conf"), "setadminpassword");

    // The real mox serves on our configuration files (not our data: its account database has
    // another format) and its web admin takes the password we set.
    let real_dir = tmp.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), real_dir.join(entry.file_name())).unwrap();
        }
    }
    let ports = peer::use_free_ports(&real_dir);
    // No DNS is needed; a resolver address where nothing answers keeps mox on this machine.
    let resolv_conf = tmp.path().join("resolv.conf");
    std::fs::write(&resolv_conf, "nameserver 127.0.0.254\n").unwrap();
    let mut real = peer::RealLocalserve::start(&real_dir, ports, &resolv_conf);
    let login = |password: &str| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/admin_login.py");
        let o = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(ports.http.to_string())
            .arg(password)
            .output()
            .expect("running /usr/bin/python3");
        assert!(o.status.success(), "admin_login.py:\n{}\n{}", peer::text(&o), real.log());
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(login("admin-s3cret"), "ok\n", "{}", real.log());
    assert!(login("wrong").starts_with("failed:"));
    real.stop();
}

/// The same edits through a running `mox serve` (its control socket applies them): what it
/// writes passes the real mox's `config test` after each, DKIM keys of the new domain included.
#[test]
fn what_our_running_server_writes_for_config_edits_passes_real_mox_config_test() {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_mox"));
    let mut server = test_support::MoxServer::start(&ours, test_support::MoxMode::Serve);
    let conf = server.dir.join("mox.conf");
    peer::assert_real_mox_accepts(&conf, "localserve configuration");
    let steps: &[&[&str]] = &[
        &["config", "domain", "add", "example.net", "mox"],
        &["config", "address", "add", "info@example.net", "mox"],
        &["config", "account", "add", "carol", "carol@example.net"],
        &["config", "address", "add", "@example.net", "carol"],
        &["config", "address", "add", "extra@example.net", "mox"],
        &["config", "address", "rm", "extra@example.net"],
        &["config", "account", "rm", "carol"],
        &["config", "address", "rm", "info@example.net"],
        &["config", "domain", "rm", "example.net"],
        &["config", "domain", "add", "bücher.example", "jøran", "jøran"],
    ];
    for step in steps {
        let o = server.mox(step, b"");
        assert!(o.status.success(), "{step:?}:\n{}\n{}", peer::text(&o), server.log());
        peer::assert_real_mox_accepts(&conf, &step.join(" "));
    }
    let domains = std::fs::read_to_string(server.dir.join("domains.conf")).unwrap();
    assert!(
        domains.contains("\tbücher.example:\n") && !domains.contains("example.net"),
        "{domains}"
    );
    server.stop();
}
