//! Import/export round trip against a corpus written by an independent script
//! (`testdata/store/make_roundtrip_corpus.py`): LF and CRLF messages, 8-bit bytes, `From ` and
//! `>From ` lines in bodies, flags and keywords. Importing the mbox or the maildir and exporting
//! again must give the same message bytes with the same flags; the exported mbox must be the
//! corpus mbox byte for byte. Python's `mailbox` module reads our exports as a second opinion.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is a test failure.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use store::export::{ExportFormat, Selection, export};
use store::import::{import_maildir, import_mbox};
use store::{Account, NoProgress, UidSet};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/store")
}

/// The corpus: (bytes, received unix time, flag names).
fn corpus() -> Vec<(Vec<u8>, i64, BTreeSet<String>)> {
    let flags = fs::read_to_string(testdata().join("corpus/flags.txt")).unwrap();
    flags
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            let n = words.next().unwrap();
            let t: i64 = words.next().unwrap().parse().unwrap();
            let data = fs::read(testdata().join(format!("corpus/{n}.eml"))).unwrap();
            (data, t, words.map(|w| w.to_lowercase()).collect())
        })
        .collect()
}

fn flag_names(f: &store::Flags) -> BTreeSet<String> {
    let keywords = f.keywords.iter().map(|k| k.as_str().to_lowercase());
    f.system.names().map(str::to_lowercase).chain(keywords).collect()
}

/// Reads an exported maildir with a parser written here, not the crate's: (bytes, time in the
/// name, flags), in name order.
fn read_maildir(dir: &Path) -> Vec<(Vec<u8>, i64, BTreeSet<String>)> {
    let keywords: Vec<String> = fs::read_to_string(dir.join("dovecot-keywords"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect();
    let mut names: Vec<String> = fs::read_dir(dir.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort_by_key(|n| (n.split('.').next().unwrap().parse::<i64>().unwrap(), n.clone()));
    assert_eq!(fs::read_dir(dir.join("new")).unwrap().count(), 0);
    names
        .into_iter()
        .map(|name| {
            let data = fs::read(dir.join("cur").join(&name)).unwrap();
            let t = name.split('.').next().unwrap().parse().unwrap();
            let info = name.rsplit_once(":2,").unwrap().1;
            let flags = info
                .chars()
                .map(|c| match c {
                    'D' => "\\draft".to_string(),
                    'F' => "\\flagged".into(),
                    'R' => "\\answered".into(),
                    'S' => "\\seen".into(),
                    'T' => "\\deleted".into(),
                    c => keywords[(c as u8 - b'a') as usize].to_lowercase(),
                })
                .collect();
            (data, t, flags)
        })
        .collect()
}

fn new_account(dir: &Path) -> Account {
    Account::open_or_create(&dir.join("account")).unwrap()
}

fn check_account(acc: &Account, mailbox: &str) {
    let expected = corpus();
    let snap = acc.snapshot().unwrap();
    let mb = snap.mailbox(mailbox).unwrap().unwrap();
    let states = snap.message_states(mb.id, &UidSet::all()).unwrap();
    assert_eq!(states.len(), expected.len());
    for (s, (data, t, flags)) in states.iter().zip(&expected) {
        assert_eq!(&flag_names(&s.flags), flags, "flags of uid {}", s.uid);
        let m = snap.message(s.id).unwrap().unwrap();
        assert_eq!(m.received.unix, *t);
        // Stored with CRLF line endings, whatever they came with.
        let stored = acc.read_message(s.id).unwrap();
        let lf = String::from_utf8_lossy(data).replace("\r\n", "\n");
        assert_eq!(String::from_utf8_lossy(&stored).replace("\r\n", "\n"), lf);
        assert!(!stored.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r') || stored.is_empty());
    }
}

fn check_maildir_export(acc: &Account, mailbox: &str, dst: &Path) {
    let summary =
        export(acc, dst, ExportFormat::Maildir, Selection::Single(mailbox), &NoProgress).unwrap();
    assert_eq!((summary.mailboxes, summary.messages), (1, corpus().len() as u64));
    assert!(summary.skipped.is_empty());
    let got = read_maildir(&dst.join(mailbox));
    let expected = corpus();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!(
            g.0 == e.0,
            "message {i} differs:\n{:?}\n{:?}",
            String::from_utf8_lossy(&g.0),
            String::from_utf8_lossy(&e.0)
        );
        assert_eq!((g.1, &g.2), (e.1, &e.2), "message {i}");
    }
}

#[test]
fn mbox_import_export_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let acc = new_account(dir.path());
    let mbox = testdata().join("roundtrip.mbox");
    let summary = import_mbox(&acc, "Imported", &mbox, &NoProgress).unwrap();
    assert_eq!(summary.messages, corpus().len() as u64);
    assert_eq!((summary.mixed_line_endings, summary.invalid_keywords), (0, 0));
    check_account(&acc, "Imported");

    let out = dir.path().join("mbox-out");
    let s = export(&acc, &out, ExportFormat::Mbox, Selection::All, &NoProgress).unwrap();
    assert_eq!(s.mailboxes, 2, "Inbox and Imported");
    let exported = fs::read(out.join("Imported.mbox")).unwrap();
    let original = fs::read(&mbox).unwrap();
    assert!(exported == original, "exported mbox differs:\n{}", String::from_utf8_lossy(&exported));
    assert_eq!(fs::read(out.join("Inbox.mbox")).unwrap(), b"");

    check_maildir_export(&acc, "Imported", &dir.path().join("maildir-out"));
    // A second export into a non-empty directory is refused.
    assert!(export(&acc, &out, ExportFormat::Mbox, Selection::All, &NoProgress).is_err());
}

#[test]
fn maildir_import_export_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let acc = new_account(dir.path());
    let summary =
        import_maildir(&acc, "Folder/Sub", &testdata().join("roundtrip-maildir"), &NoProgress)
            .unwrap();
    assert_eq!(summary.messages, corpus().len() as u64);
    check_account(&acc, "Folder/Sub");
    check_maildir_export(&acc, "Folder/Sub", &dir.path().join("maildir-out"));

    // As mbox: the corpus mbox, except that a maildir has no envelope senders.
    let out = dir.path().join("mbox-out");
    export(&acc, &out, ExportFormat::Mbox, Selection::Single("Folder/Sub"), &NoProgress).unwrap();
    let exported = fs::read(out.join("Folder/Sub.mbox")).unwrap();
    let original = fs::read(testdata().join("roundtrip.mbox")).unwrap();
    let expected: Vec<u8> = original
        .split_inclusive(|&c| c == b'\n')
        .flat_map(|line| {
            if line.starts_with(b"From ") {
                let rest = &line[5..];
                let date = &rest[rest.iter().position(|&c| c == b' ').unwrap()..];
                [&b"From MAILER-DAEMON"[..], date].concat()
            } else {
                line.to_vec()
            }
        })
        .collect();
    assert!(exported == expected, "exported mbox differs:\n{}", String::from_utf8_lossy(&exported));

    // Importing that mbox again gives the same messages and flags once more.
    let acc2 = Account::open_or_create(&dir.path().join("account2")).unwrap();
    import_mbox(&acc2, "Again", &out.join("Folder/Sub.mbox"), &NoProgress).unwrap();
    check_account(&acc2, "Again");
}

#[test]
fn python_mailbox_module_reads_our_exports() {
    let dir = tempfile::tempdir().unwrap();
    let acc = new_account(dir.path());
    import_mbox(&acc, "Imported", &testdata().join("roundtrip.mbox"), &NoProgress).unwrap();
    let out = dir.path().join("out");
    export(
        &acc,
        &out.join("mbox"),
        ExportFormat::Mbox,
        Selection::WithChildren("Imported"),
        &NoProgress,
    )
    .unwrap();
    export(
        &acc,
        &out.join("maildir"),
        ExportFormat::Maildir,
        Selection::WithChildren("Imported"),
        &NoProgress,
    )
    .unwrap();
    let script = r#"
import mailbox, sys
d = sys.argv[1]
for m in mailbox.mbox(d + "/mbox/Imported.mbox"):
    print("mbox", m.get_from().split()[0], "".join(sorted(m.get_flags())), m["subject"])
md = mailbox.Maildir(d + "/maildir/Imported", create=False)
for key in sorted(md.keys(), key=lambda k: md.get_message(k).get_date()):
    m = md.get_message(key)
    print("maildir", int(m.get_date()), m.get_flags(), m["subject"])
"#;
    let output = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .expect("run /usr/bin/python3");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 16, "{text}");
    // Python's mbox flags: R (seen), O (old), A, F, D (no draft letter); sorted.
    assert_eq!(lines[0], "mbox alice@example.org R plain LF");
    assert_eq!(lines[1], "mbox bob@example.org AF CRLF with From lines");
    assert_eq!(lines[4], "mbox dave@example.org D multipart");
    assert_eq!(lines[6], "mbox frank@example.org FR body looks like flag headers");
    assert_eq!(lines[8], "maildir 1700000000 S plain LF");
    assert_eq!(lines[9], "maildir 1700003600 FR CRLF with From lines");
    assert_eq!(lines[12], "maildir 1700014400 Tc multipart");
    assert_eq!(lines[14], "maildir 1700021600 FSd body looks like flag headers");
}
