//! `mox import`, `export`, `backup` and `verifydata` as users run them: output, quiet success,
//! exit codes, and the round trip of the corpus mbox through the commands.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn mox(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mox"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("MOX_LOG")
        .output()
        .expect("running mox")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn import_export_backup_verify() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/store/roundtrip.mbox");
    let corpus = corpus.to_str().expect("utf-8 path");

    let out = mox(dir, &["import", "mbox", "-datadir", "data", "mjl", "Archive/Old", corpus]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "imported 8 messages into \"Archive/Old\"\n");
    assert_eq!(text(&out.stderr), "", "no progress bar when stderr is not a terminal");

    let out = mox(dir, &["export", "mbox", "out", "data/accounts/mjl", "Archive"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = std::fs::read(dir.join("out/Archive/Old.mbox")).expect("exported child");
    assert!(exported == std::fs::read(corpus).expect("corpus"), "round trip through the commands");
    assert_eq!(std::fs::read(dir.join("out/Archive.mbox")).expect("parent"), b"");
    let out = mox(dir, &["export", "maildir", "-single", "out2", "data/accounts/mjl", "Archive"]);
    assert!(out.status.success());
    assert!(!dir.join("out2/Archive/Old").exists(), "-single leaves out children");

    // A clean backup prints nothing; -verbose tells what it did.
    let out = mox(dir, &["backup", "-datadir", "data", "bk"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!((text(&out.stdout), text(&out.stderr)), (String::new(), String::new()));
    let out = mox(dir, &["backup", "-verbose", "-datadir", "data", "bk"]);
    assert!(!out.status.success(), "backup refuses a non-empty destination");
    assert!(text(&out.stderr).contains("not empty"), "{}", text(&out.stderr));
    let out = mox(dir, &["backup", "-verbose", "-datadir", "data", "bk2"]);
    // The 8 small messages are kept in the database and come with its copy.
    assert!(
        text(&out.stdout).contains("8 messages in the databases, 0 message files linked"),
        "{}",
        text(&out.stdout)
    );

    let out = mox(dir, &["verifydata", "bk"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(text(&out.stdout), "1 accounts, 8 messages, 0 problems, 0 leftovers\n");

    // (The backup's messages are all in its database: msg/0 is made here.)
    std::fs::create_dir_all(dir.join("bk/accounts/mjl/msg/0")).expect("mkdir");
    std::fs::write(dir.join("bk/accounts/mjl/msg/0/stray"), b"x").expect("write");
    let out = mox(dir, &["verifydata", "bk"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("stray: file without message"), "{}", text(&out.stdout));
    let out = mox(dir, &["verifydata", "-fix", "bk"]);
    assert!(text(&out.stdout).contains("moved aside"), "{}", text(&out.stdout));
    let out = mox(dir, &["verifydata", "bk"]);
    assert!(out.status.success(), "{}", text(&out.stdout));

    // Without -datadir the data directory comes from mox.conf, which is not there.
    let out = mox(dir, &["import", "mbox", "mjl", "X", corpus]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("config/mox.conf"), "{}", text(&out.stderr));
}
