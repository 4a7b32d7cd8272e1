//! Durability, not only atomicity: a child delivers messages (from several threads, so group
//! commits batch them) and changes flags under `strace -f`, writing a line to a side file for
//! every delivery or flag change the store acknowledged (returned `Ok` for). The trace must show,
//! before each such line:
//!
//! - for a delivery of a message above the inline limit: the message file's data flushed
//!   (fdatasync), its name flushed in its directory (and the directories created for it in
//!   theirs), and then an LMDB commit synced;
//! - for a delivery of a message kept in the database (every other one here): an LMDB commit
//!   synced after the delivery was asked for;
//! - for a flag change: an LMDB commit synced after the change was asked for.
//!
//! The SIGKILL crash test (`crash.rs`) cannot see a missing flush, since the page cache
//! survives a killed process; this test fails if any of those flushes is left out (see
//! `test_support::Durable`). A second run has strace turn every `fsync` and `fdatasync` into a
//! no-op, and the check must then fail for every acknowledgement: the check is not vacuous.
//!
//! The child is this test binary itself, started with an environment variable that makes the
//! `durability_child` test run.

#![allow(clippy::unwrap_used)] // Test code: a failure is a test failure.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use store::{Account, FlagOp, Flags, MessageId, NewMessage, UidSet};
use test_support::{Acknowledged, Durable, Strace, Trace};

const CHILD_ENV: &str = "STORE_DURABILITY_CHILD";
const THREADS: usize = 3;
const PER_THREAD: usize = 12;
/// Flag changes made by thread 0, one after every third delivery.
const FLAG_CHANGES: usize = PER_THREAD / 3;

/// Runs only when started by the durability test: delivers and changes flags, appending one
/// line per operation to `acked` (one write each): `deliver-asked <t>.<seq>` before a delivery
/// and `deliver <id> <t>.<seq> inline|file` after it, `flags-asked <n>` before a flag change
/// and `flags <n>` after it. Even deliveries are small (kept in the database), odd ones larger
/// than the inline limit (files).
#[test]
fn durability_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let dir = PathBuf::from(dir);
    let account = Account::open_or_create(&dir.join("account")).unwrap();
    let inbox = account.mailbox("Inbox").unwrap().unwrap().id;
    let acks = Arc::new(Mutex::new(
        OpenOptions::new().create(true).append(true).open(dir.join("acked")).unwrap(),
    ));
    let ack = move |acks: &Mutex<std::fs::File>, line: String| {
        acks.lock().unwrap().write_all(line.as_bytes()).unwrap();
    };
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (account, acks) = (account.clone(), acks.clone());
            std::thread::spawn(move || {
                for seq in 0..PER_THREAD {
                    let mut message = format!("Subject: t{t} s{seq}\r\n\r\nbody {t} {seq}\r\n");
                    if seq % 2 == 1 {
                        message.push_str(&"a line of a large message\r\n".repeat(3000));
                    }
                    let kept = if account.keeps_in_database(message.len() as u64) {
                        "inline"
                    } else {
                        "file"
                    };
                    ack(&acks, format!("deliver-asked {t}.{seq}\n"));
                    let d = account
                        .deliver_bytes("Inbox", message.as_bytes(), NewMessage::default())
                        .unwrap();
                    ack(&acks, format!("deliver {} {t}.{seq} {kept}\n", d.id.0));
                    if t == 0 && seq % 3 == 2 {
                        let n = seq / 3;
                        ack(&acks, format!("flags-asked {n}\n"));
                        let op = if n % 2 == 0 { FlagOp::Add } else { FlagOp::Remove };
                        let seen = Flags::parse(["\\Seen"]).unwrap();
                        account
                            .store_flags(inbox, &UidSet::from_ranges([1..=d.uid]), op, &seen, None)
                            .unwrap();
                        ack(&acks, format!("flags {n}\n"));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Runs the child under strace (with `inject` as no-ops) and returns the trace and the
/// directory holding the account.
fn traced_child(inject: &[&str]) -> (Trace, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "durability_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, tmp.path());
    let mut strace = Strace::new(tmp.path().join("trace"));
    for s in inject {
        strace = strace.inject_noop(s);
    }
    let output = strace
        .command(&child)
        .unwrap()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the traced child failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    (strace.trace().unwrap(), tmp)
}

/// The acknowledgements in the trace and what each requires.
fn acknowledgements(trace: &Trace, dir: &Path) -> Vec<Acknowledged> {
    let account = dir.join("account");
    let database = account.join("data.mdb");
    let mut asked = std::collections::HashMap::new();
    let mut acks = Vec::new();
    for (at, line) in trace.lines_written_to(&dir.join("acked")).unwrap() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[..] {
            ["deliver-asked", label] => {
                asked.insert(format!("delivery {label}"), at);
            }
            ["deliver", id, label, kept] => {
                let n: u64 = id.parse().unwrap();
                let file = account.join(store::message_path(n));
                let durable = match kept {
                    "inline" => vec![Durable::LmdbCommit(database.clone())],
                    _ => vec![
                        Durable::FileData(file.clone()),
                        Durable::Entry(file),
                        Durable::LmdbCommit(database.clone()),
                    ],
                };
                acks.push(Acknowledged {
                    label: format!("delivery of message {n} ({kept})"),
                    at,
                    after: Some(asked[&format!("delivery {label}")]),
                    durable,
                });
            }
            ["flags-asked", n] => {
                asked.insert(format!("flags {n}"), at);
            }
            ["flags", n] => acks.push(Acknowledged {
                label: format!("flag change {n}"),
                at,
                after: Some(asked[&format!("flags {n}")]),
                durable: vec![Durable::LmdbCommit(database.clone())],
            }),
            _ => panic!("unexpected line in acked: {line}"),
        }
    }
    acks
}

#[test]
fn every_acknowledgement_follows_its_flushes() {
    let started = Instant::now();
    let (trace, tmp) = traced_child(&[]);
    let acks = acknowledgements(&trace, tmp.path());
    assert_eq!(acks.len(), THREADS * PER_THREAD + FLAG_CHANGES, "acknowledgements in the trace");
    let checked = match trace.check(&acks) {
        Ok(c) => c,
        Err(violations) => {
            let list: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
            let kept = tmp.keep(); // For reading the trace.
            panic!(
                "{} of {} acknowledgements came before their data was on disk (trace kept: {}):\n{}",
                violations.len(),
                acks.len(),
                kept.join("trace").display(),
                list.join("\n")
            );
        }
    };
    assert_eq!(checked.acknowledgements, acks.len());
    // Half the deliveries in files (three requirements each), half in the database (one).
    let files = THREADS * PER_THREAD / 2;
    assert_eq!(acks.iter().filter(|a| a.label.ends_with("(file)")).count(), files);
    assert_eq!(checked.requirements, files * 3 + files + FLAG_CHANGES);

    // The messages acknowledged are there (the account as the child left it).
    let account = Account::open_read_only(&tmp.path().join("account")).unwrap();
    let delivered: Vec<u64> = acks
        .iter()
        .filter_map(|a| {
            a.label.strip_prefix("delivery of message ")?.split(' ').next()?.parse().ok()
        })
        .collect();
    for id in &delivered {
        let data = account.read_message(MessageId(*id)).unwrap();
        assert!(data.starts_with(b"Subject: t"), "message {id}");
    }
    eprintln!(
        "{} deliveries and {FLAG_CHANGES} flag changes acknowledged, each after its flushes \
         ({} requirements checked in a trace of {} lines) in {:.1?}",
        delivered.len(),
        checked.requirements,
        trace.lines(),
        started.elapsed()
    );
}

/// With every flush suppressed, every acknowledgement must fail the check: each delivery on
/// all its requirements (three for a file, the commit for a message in the database), each
/// flag change on its commit.
#[test]
fn check_fails_when_flushes_are_suppressed() {
    let (trace, tmp) = traced_child(&["fsync", "fdatasync"]);
    let acks = acknowledgements(&trace, tmp.path());
    assert_eq!(acks.len(), THREADS * PER_THREAD + FLAG_CHANGES);
    let violations = trace.check(&acks).unwrap_err();
    let count = |f: fn(&Durable) -> bool| violations.iter().filter(|v| f(&v.durable)).count();
    let files = THREADS * PER_THREAD / 2;
    assert_eq!(count(|d| matches!(d, Durable::FileData(_))), files, "{violations:#?}");
    assert_eq!(count(|d| matches!(d, Durable::Entry(_))), files);
    assert_eq!(count(|d| matches!(d, Durable::LmdbCommit(_))), THREADS * PER_THREAD + FLAG_CHANGES);
}
