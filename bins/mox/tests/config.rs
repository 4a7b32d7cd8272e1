//! `mox config ...` and `mox example` as users run them: output, errors and exit codes.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mox(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mox"))
        .args(args)
        .current_dir(dir)
        .env_remove("MOXCONF")
        .env_remove("MOX_LOG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn testdata(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config").join(path)
}

#[test]
fn config_test_ok() {
    let o = mox(&testdata("full"), &["-config", "mox.conf", "config", "test"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "config OK\n");
}

#[test]
fn config_test_prints_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let static_text = config::testing::EXAMPLE_STATIC
        .replace("LogLevel: info\n", "LogLevel: info\nUser: 0\n")
        .replace("\t\t\tNoSTARTTLS: true\n", "\t\t\tNoSTARTTLS: true\n\t\t\tPort: notaport\n");
    std::fs::write(dir.path().join("mox.conf"), static_text).unwrap();
    let dynamic = config::testing::EXAMPLE_DYNAMIC.replace(
        "\t\t\talice@example.com: nil\n",
        "\t\t\talice@example.net: nil\n\t\tColour: blue\n",
    );
    std::fs::write(dir.path().join("domains.conf"), dynamic).unwrap();
    let o = mox(dir.path(), &["-config", "mox.conf", "config", "test"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        "mox.conf:12: Listeners.public.SMTP.Port: \"notaport\" is not a number\n\
         domains.conf:12: Domains.example.com.Aliases.team.Addresses[2]: references non-existent address \"alice@example.com\"\n\
         domains.conf:19: Accounts.alice.Destinations.alice@example.net: unknown domain for address\n\
         domains.conf:20: Accounts.alice.Colour: unknown key \"Colour\"\n\
         mox: 4 errors in the configuration\n"
    );

    // An unknown user is an error too, as in mox.
    let static_text = config::testing::EXAMPLE_STATIC
        .replace("LogLevel: info\n", "LogLevel: info\nUser: no-such-user-here\n");
    std::fs::write(dir.path().join("mox.conf"), static_text).unwrap();
    std::fs::write(dir.path().join("domains.conf"), config::testing::EXAMPLE_DYNAMIC).unwrap();
    let o = mox(dir.path(), &["-config", "mox.conf", "config", "test"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("mox.conf: User: user \"no-such-user-here\" is not in /etc/passwd"),
        "{}",
        stderr(&o)
    );

    let o = mox(dir.path(), &["-config", "missing.conf", "config", "test"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("missing.conf: reading config file \"missing.conf\": No such file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn describe_is_mox_output() {
    let dir = std::env::temp_dir();
    for (cmd, file) in
        [("describe-static", "describe-static.conf"), ("describe-domains", "describe-domains.conf")]
    {
        let o = mox(&dir, &["config", cmd]);
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(
            stdout(&o),
            std::fs::read_to_string(testdata("mox-v0.0.17").join(file)).unwrap()
        );
    }
}

#[test]
fn examples_are_mox_output() {
    let dir = std::env::temp_dir();
    let o = mox(&dir, &["example"]);
    assert_eq!(
        stdout(&o),
        "webhook-outgoing-delivered\nwebhook-outgoing-dsn-failed\nwebhook-incoming-basic\n"
    );
    for name in stdout(&o).lines() {
        let o = mox(&dir, &["example", name]);
        let expected =
            std::fs::read_to_string(testdata("mox-v0.0.17/example").join(format!("{name}.txt")))
                .unwrap();
        assert_eq!(stdout(&o), expected, "{name}");
    }
    let o = mox(&dir, &["config", "example"]);
    assert_eq!(stdout(&o), "webhandlers\ntransport\n");
    for name in stdout(&o).lines() {
        let o = mox(&dir, &["config", "example", name]);
        let expected = std::fs::read_to_string(
            testdata("mox-v0.0.17/config-example").join(format!("{name}.conf")),
        )
        .unwrap();
        assert_eq!(stdout(&o), expected, "{name}");
    }
    let o = mox(&dir, &["example", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "mox: example \"nope\" not found\n");
}

#[test]
fn printservice_uses_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let o = mox(dir.path(), &["config", "printservice"]);
    assert_eq!(o.status.code(), Some(0));
    let cwd = dir.path().canonicalize().unwrap();
    let unit = stdout(&o);
    assert!(unit.contains(&format!("ExecStart={}/mox serve\n", cwd.display())), "{unit}");
    assert!(unit.contains("[Install]\nWantedBy=multi-user.target\n"));
}

#[test]
fn edit_commands_report_refusals() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mox.conf"), config::testing::EXAMPLE_STATIC).unwrap();
    std::fs::write(dir.path().join("domains.conf"), config::testing::EXAMPLE_DYNAMIC).unwrap();
    let o = mox(
        dir.path(),
        &["-config", "mox.conf", "config", "account", "add", "bob", "bob@example.com"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "account added, set a password with \"mox setaccountpassword bob@example.com\"\n"
    );
    let o = mox(
        dir.path(),
        &["-config", "mox.conf", "config", "address", "add", "mjl+x@example.com", "bob"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "mox: address mjl+x@example.com not available: canonicalized address mjl@example.com already configured\n"
    );
    let o =
        mox(dir.path(), &["-config", "mox.conf", "config", "domain", "add", "not a domain", "bob"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = mox(dir.path(), &["-config", "mox.conf", "config", "domain", "rm", "example.org"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Accounts.alice.Destinations.@example.org: unknown domain for address"),
        "{}",
        stderr(&o)
    );
    let o = mox(dir.path(), &["-config", "mox.conf", "config", "address", "rm", "bob@example.com"]);
    assert_eq!(stdout(&o), "address removed\n");
}
