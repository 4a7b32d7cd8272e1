//! Crash test: a child process delivers messages in a loop (from several threads, so group
//! commits are in flight) and changes flags, appending the id of every delivery acknowledged
//! to it to a side file. The parent kills it with SIGKILL at random moments, 25 times. After
//! each kill, verification must find no problem (leftovers of the interrupted writes are
//! allowed: they are what a crash leaves), and every acknowledged message must be present and
//! intact, before and after the account is opened again (which cleans the leftovers up).
//!
//! The child is this test binary itself, started with an environment variable that makes the
//! `crash_child` test run the delivery loop.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is a test failure.

use std::collections::hash_map::RandomState;
use std::fs::{self, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store::verify::{VerifyReport, verify_account};
use store::{Account, Error, FlagOp, Flags, MessageId, NewMessage, UidSet};

const CHILD_ENV: &str = "STORE_CRASH_CHILD";
const KILLS: usize = 25;
const THREADS: usize = 4;

fn random(n: u64) -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(n);
    h.finish()
}

/// The message for a key: 2 to 12 KB, with the key in the header and all through the body, so
/// a message torn or mixed up with another is noticed.
fn message_for(key: &str) -> Vec<u8> {
    // FNV-1a: deterministic across processes, unlike the standard hasher.
    let hash = key
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let size = 2000 + (hash % 10_000) as usize;
    let mut m = format!(
        "From: crash@example.org\r\nSubject: {key}\r\nMessage-ID: <{key}@example.org>\r\n\r\n"
    );
    while m.len() < size {
        m.push_str(key);
        m.push_str(" lorem ipsum dolor sit amet\r\n");
    }
    m.into_bytes()
}

/// The delivery loop of the child; never returns (the parent kills it).
fn child(dir: &Path, round: usize) -> ! {
    let account = loop {
        match Account::open_or_create(&dir.join("account")) {
            Ok(a) => break a,
            Err(Error::AccountLocked { .. }) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("open: {e}"),
        }
    };
    let acks = Arc::new(Mutex::new(
        OpenOptions::new().create(true).append(true).open(dir.join("acked")).unwrap(),
    ));
    let inbox = account.mailbox("Inbox").unwrap().unwrap().id;
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let (account, acks) = (account.clone(), acks.clone());
        handles.push(std::thread::spawn(move || {
            for seq in 0.. {
                let key = format!("r{round}t{t}s{seq}");
                let flags = if seq % 3 == 0 {
                    Flags::parse(["\\Seen", "$Crash"]).unwrap()
                } else {
                    Flags::default()
                };
                let d = account
                    .deliver_bytes(
                        "Inbox",
                        &message_for(&key),
                        NewMessage { flags, ..Default::default() },
                    )
                    .unwrap();
                // Acknowledged: record it (one write per line, so lines are whole).
                let line = format!("{} {key}\n", d.id.0);
                acks.lock().unwrap().write_all(line.as_bytes()).unwrap();
                if t == 0 && seq % 5 == 4 {
                    let op = if seq % 10 == 4 { FlagOp::Add } else { FlagOp::Remove };
                    account
                        .store_flags(
                            inbox,
                            &UidSet::from_ranges([1..=d.uid]),
                            op,
                            &Flags::parse(["\\Flagged"]).unwrap(),
                            None,
                        )
                        .unwrap();
                }
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    unreachable!("delivery threads never end");
}

/// Runs only when started by the crash test.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (round, dir) = spec.split_once(':').unwrap();
    child(Path::new(dir), round.parse().unwrap());
}

fn acknowledged(dir: &Path) -> Vec<(MessageId, String)> {
    let text = fs::read_to_string(dir.join("acked")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, key)| (MessageId(id.parse().unwrap()), key.to_string()))
        .collect()
}

fn check_acknowledged(account: &Account, acked: &[(MessageId, String)]) {
    for (id, key) in acked {
        let data = account
            .read_message(*id)
            .unwrap_or_else(|e| panic!("acknowledged message {id} ({key}): {e}"));
        assert!(data == message_for(key), "acknowledged message {id} ({key}) is not intact");
    }
}

#[test]
fn sigkill_loses_no_acknowledged_delivery() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().to_path_buf();
    let account_dir = dir.join("account");
    let exe = std::env::current_exe().unwrap();
    let (mut leftovers_seen, mut kills_with_leftovers) = (0, 0);
    let started = Instant::now();
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{round}:{}", dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it run a random while: from before the account is open to well into deliveries.
        std::thread::sleep(Duration::from_millis(20 + random(round as u64) % 700));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(status.code().is_none(), "the child died of the signal, not of an error: {status}");
        if !account_dir.join("data.mdb").exists() {
            continue; // Killed before it created the account.
        }

        // As the crash left it: no problem, only leftovers of interrupted writes.
        let mut report = VerifyReport::default();
        verify_account(&account_dir, "account", None, false, &mut report).unwrap();
        assert!(report.is_ok(), "round {round}: {:#?}", report.problems);
        leftovers_seen += report.leftovers.len();
        kills_with_leftovers += usize::from(!report.leftovers.is_empty());
        let acked = acknowledged(&dir);
        {
            let ro = Account::open_read_only(&account_dir).unwrap();
            check_acknowledged(&ro, &acked);
        }

        // Opened again, the account cleans up and still has everything.
        let account = Account::open_existing(&account_dir).unwrap();
        check_acknowledged(&account, &acked);
        let snap = account.snapshot().unwrap();
        let inbox = snap.mailbox("Inbox").unwrap().unwrap();
        assert!(inbox.counts.messages >= acked.len() as u64);
        drop(snap);
        drop(account);
        let mut report = VerifyReport::default();
        verify_account(&account_dir, "account", None, false, &mut report).unwrap();
        assert!(
            report.is_ok() && report.leftovers.is_empty(),
            "round {round} after reopen: {report:#?}"
        );
    }
    let acked = acknowledged(&dir);
    eprintln!(
        "{KILLS} SIGKILLs in {:.1?}: {} acknowledged deliveries all intact; {kills_with_leftovers} kills left \
         interrupted writes behind ({leftovers_seen} files), all cleaned up on reopen",
        started.elapsed(),
        acked.len()
    );
    assert!(
        acked.len() > KILLS * 5,
        "the child delivered too little for the test to mean much: {}",
        acked.len()
    );
}
