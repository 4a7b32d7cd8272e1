//! Crash test: a child process delivers messages in a loop (from several threads, so group
//! commits are in flight) while one of its threads also changes flags, and appends a line to a
//! side file for every delivery and flag change the store acknowledged. The parent kills it with
//! SIGKILL, 25 times. After each kill, verification must find no problem (leftovers of the
//! interrupted writes are allowed: they are what a crash leaves), every acknowledged message
//! must be present and intact with the flags it was delivered with, and every message's
//! `\Flagged` must be what the acknowledged flag changes made it (a change that was in flight
//! when the child died is either wholly there or wholly absent) — before and after the account
//! is opened again (which cleans the leftovers up).
//!
//! Kill timing comes from a seed, printed when the test fails; `STORE_CRASH_SEED=<seed>` replays
//! it. Most rounds wait for a minimum of acknowledged deliveries before the random delay; every
//! fifth kills within the first milliseconds (while the account is being opened and recovered).
//! The child's delivery threads are watched: one that fails ends the child with the failure on
//! stderr, which the parent keeps and shows.
//!
//! This test cannot notice a missing fsync (the page cache survives a killed process):
//! `durability.rs` checks the flushes.
//!
//! The child is this test binary itself, started with an environment variable that makes the
//! `crash_child` test run the delivery loop.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is a test failure.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store::verify::{VerifyReport, verify_account};
use store::{Account, Error, FlagOp, Flags, MailboxId, MessageId, NewMessage, SystemFlags, UidSet};

const CHILD_ENV: &str = "STORE_CRASH_CHILD";
const SEED_ENV: &str = "STORE_CRASH_SEED";
const KILLS: usize = 25;
const THREADS: usize = 4;
/// Deliveries acknowledged in a round before the random part of its delay starts (except in
/// the early-kill rounds).
const MIN_ACKS_PER_ROUND: usize = 5;
/// How long a round may take to reach its minimum before the test fails.
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

/// The message for a key: 2 to 12 KB, with the key in the header and all through the body, so
/// a message torn or mixed up with another is noticed.
fn message_for(key: &str) -> Vec<u8> {
    let size = 2000 + (fnv(key) % 10_000) as usize;
    let mut m = format!(
        "From: crash@example.org\r\nSubject: {key}\r\nMessage-ID: <{key}@example.org>\r\n\r\n"
    );
    while m.len() < size {
        m.push_str(key);
        m.push_str(" lorem ipsum dolor sit amet\r\n");
    }
    m.into_bytes()
}

/// FNV-1a: deterministic across processes, unlike the standard hasher.
fn fnv(key: &str) -> u64 {
    key.bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Whether the delivery with sequence number `seq` is made with `\Seen` and `$Crash`.
fn delivered_seen(seq: u64) -> bool {
    seq.is_multiple_of(3)
}

/// The delivery loop of the child: never returns normally (the parent kills it). Lines in
/// `acked`, one write each: `deliver <id> <uid> <key>` once a delivery returned, `flags-asked
/// <uid> <add|remove>` before a flag change of UIDs 1 to `uid` and `flags <uid> <add|remove>`
/// once it returned.
fn child(dir: &Path, round: usize) -> ! {
    let account = loop {
        match Account::open_or_create(&dir.join("account")) {
            Ok(a) => break a,
            Err(Error::AccountLocked { .. }) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                eprintln!("crash child: opening the account failed: {e}");
                std::process::exit(1);
            }
        }
    };
    let acks = Arc::new(Mutex::new(
        OpenOptions::new().create(true).append(true).open(dir.join("acked")).unwrap(),
    ));
    let inbox = account.mailbox("Inbox").unwrap().unwrap().id;
    let mut threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (account, acks) = (account.clone(), acks.clone());
            std::thread::spawn(move || deliver_loop(&account, &acks, inbox, round, t))
        })
        .collect();
    // The threads run until the process is killed: one that ends has failed.
    loop {
        if let Some(i) = threads.iter().position(|t| t.is_finished()) {
            let failure = match threads.swap_remove(i).join() {
                Ok(Err(e)) => e,
                Ok(Ok(())) => "ended without an error".to_string(),
                Err(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into()),
            };
            eprintln!("crash child round {round}: a delivery thread failed: {failure}");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn deliver_loop(
    account: &Account,
    acks: &Mutex<File>,
    inbox: MailboxId,
    round: usize,
    t: usize,
) -> Result<(), String> {
    let ack = |line: String| {
        acks.lock()
            .map_err(|_| "ack lock poisoned".to_string())?
            .write_all(line.as_bytes())
            .map_err(|e| format!("writing ack: {e}"))
    };
    for seq in 0u64.. {
        let key = format!("r{round}t{t}s{seq}");
        let flags = if delivered_seen(seq) {
            Flags::parse(["\\Seen", "$Crash"]).map_err(|e| e.to_string())?
        } else {
            Flags::default()
        };
        let d = account
            .deliver_bytes("Inbox", &message_for(&key), NewMessage { flags, ..Default::default() })
            .map_err(|e| format!("delivering {key}: {e}"))?;
        ack(format!("deliver {} {} {key}\n", d.id.0, d.uid))?;
        if t == 0 && seq % 5 == 4 {
            let (op, name) =
                if seq % 10 == 4 { (FlagOp::Add, "add") } else { (FlagOp::Remove, "remove") };
            ack(format!("flags-asked {} {name}\n", d.uid))?;
            let flagged = Flags::parse(["\\Flagged"]).map_err(|e| e.to_string())?;
            account
                .store_flags(inbox, &UidSet::from_ranges([1..=d.uid]), op, &flagged, None)
                .map_err(|e| format!("changing flags of 1:{}: {e}", d.uid))?;
            ack(format!("flags {} {name}\n", d.uid))?;
        }
    }
    Ok(())
}

/// Runs only when started by the crash test.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (round, dir) = spec.split_once(':').unwrap();
    child(Path::new(dir), round.parse().unwrap());
}

/// splitmix64: kill timings from a seed, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the side file says was acknowledged.
#[derive(Default)]
struct Acked {
    /// Deliveries: id, UID, key.
    deliveries: Vec<(MessageId, u32, String)>,
    /// Flag changes in the order made (by one thread): UIDs 1 to `uid`, added or removed, and
    /// whether the change returned (`false`: asked, and the child died before it returned).
    flag_changes: Vec<(u32, bool, bool)>,
}

fn acknowledged(dir: &Path) -> Acked {
    let text = fs::read_to_string(dir.join("acked")).unwrap_or_default();
    let mut acked = Acked::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[..] {
            ["deliver", id, uid, key] => acked.deliveries.push((
                MessageId(id.parse().unwrap()),
                uid.parse().unwrap(),
                key.to_string(),
            )),
            ["flags-asked", uid, op] => {
                acked.flag_changes.push((uid.parse().unwrap(), op == "add", false))
            }
            ["flags", uid, op] => {
                let last = acked.flag_changes.last_mut().unwrap();
                assert_eq!((last.0, last.1), (uid.parse().unwrap(), op == "add"), "{line}");
                last.2 = true;
            }
            _ => panic!("unexpected line in acked: {line:?}"),
        }
    }
    acked
}

/// The `\Flagged` state of every UID as the committed flag changes made it. `resolved` holds,
/// for each change that was in flight at a kill (asked, not acknowledged), whether it turned
/// out committed; a new in-flight change is resolved here by looking: it is atomic, so either
/// every message it covers shows it or none does.
fn check_flags(
    account: &Account,
    acked: &Acked,
    resolved: &mut HashMap<usize, bool>,
    context: &str,
) -> usize {
    let snap = account.snapshot().unwrap();
    let inbox = snap.mailbox("Inbox").unwrap().unwrap().id;
    let states: BTreeMap<u32, bool> = snap
        .message_states(inbox, &UidSet::all())
        .unwrap()
        .into_iter()
        .map(|s| (s.uid, s.flags.system.contains(SystemFlags::FLAGGED)))
        .collect();
    let mut committed: Vec<(u32, bool)> = Vec::new();
    let expected = |committed: &[(u32, bool)], uid: u32| {
        committed.iter().rev().find(|(upto, _)| *upto >= uid).is_some_and(|(_, add)| *add)
    };
    for (i, &(upto, add, returned)) in acked.flag_changes.iter().enumerate() {
        let is_committed = if returned {
            true
        } else if let Some(&c) = resolved.get(&i) {
            c
        } else {
            let covered: Vec<(u32, bool)> = states.range(1..=upto).map(|(&u, &f)| (u, f)).collect();
            // Nothing is expunged: every UID up to the change's last is there.
            assert_eq!(covered.len(), upto as usize, "{context}: UIDs 1:{upto}");
            let before = covered.iter().all(|&(u, f)| f == expected(&committed, u));
            let after = covered.iter().all(|&(_, f)| f == add);
            assert!(
                before || after,
                "{context}: the flag change of 1:{upto} in flight at the kill is partly there: {:?}",
                covered
                    .iter()
                    .filter(|&&(u, f)| f != expected(&committed, u))
                    .take(10)
                    .collect::<Vec<_>>()
            );
            resolved.insert(i, !before);
            !before
        };
        if is_committed {
            committed.push((upto, add));
        }
    }
    for (&uid, &flagged) in &states {
        assert_eq!(
            flagged,
            expected(&committed, uid),
            "{context}: \\Flagged of UID {uid} is not what the acknowledged flag changes made it"
        );
    }
    committed.len()
}

fn check_acknowledged(account: &Account, acked: &Acked, context: &str) {
    let snap = account.snapshot().unwrap();
    let inbox = snap.mailbox("Inbox").unwrap().unwrap();
    assert!(inbox.counts.messages >= acked.deliveries.len() as u64, "{context}");
    let states: HashMap<u32, (MessageId, Flags)> = snap
        .message_states(inbox.id, &UidSet::all())
        .unwrap()
        .into_iter()
        .map(|s| (s.uid, (s.id, s.flags)))
        .collect();
    drop(snap);
    for (id, uid, key) in &acked.deliveries {
        let data = account
            .read_message(*id)
            .unwrap_or_else(|e| panic!("{context}: acknowledged message {id} ({key}): {e}"));
        assert!(
            data == message_for(key),
            "{context}: acknowledged message {id} ({key}) is not intact"
        );
        let (state_id, flags) = states.get(uid).unwrap_or_else(|| {
            panic!("{context}: acknowledged message {id} ({key}) has no UID {uid}")
        });
        assert_eq!(state_id, id, "{context}: UID {uid}");
        let seq: u64 = key.rsplit_once('s').unwrap().1.parse().unwrap();
        let seen = delivered_seen(seq);
        assert_eq!(
            (flags.system.contains(SystemFlags::SEEN), flags.has_keyword("$crash")),
            (seen, seen),
            "{context}: flags of acknowledged message {id} ({key}) are not as delivered: {flags:?}"
        );
    }
}

/// Waits until the acked file has `lines` lines or the child exits; returns whether it got
/// them.
fn wait_for_lines(dir: &Path, child: &mut Child, lines: usize) -> bool {
    let started = Instant::now();
    while started.elapsed() < ROUND_TIMEOUT {
        let n = fs::read_to_string(dir.join("acked"))
            .map(|t| t.lines().filter(|l| l.starts_with("deliver ")).count())
            .unwrap_or(0);
        if n >= lines {
            return true;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

#[test]
fn sigkill_loses_no_acknowledged_delivery() {
    let seed = match std::env::var(SEED_ENV) {
        Ok(s) => s.parse().unwrap_or_else(|_| panic!("{SEED_ENV} must be a number: {s}")),
        Err(_) => RandomState::new().build_hasher().finish(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().to_path_buf();
    let current_round = Arc::new(Mutex::new((0usize, PathBuf::new())));
    let watched = current_round.clone();
    let result = std::panic::catch_unwind(move || run_rounds(&dir, seed, &watched));
    if let Err(panic) = result {
        let (round, stderr_file) = current_round.lock().map(|g| g.clone()).unwrap_or_default();
        let stderr = fs::read_to_string(&stderr_file).unwrap_or_default();
        eprintln!(
            "crash test failed in round {round}; replay the kill timing with {SEED_ENV}={seed}\n\
             child stderr ({}):\n{stderr}",
            stderr_file.display()
        );
        let _ = tmp.keep();
        std::panic::resume_unwind(panic);
    }
}

fn run_rounds(dir: &Path, seed: u64, current: &Mutex<(usize, PathBuf)>) {
    let mut rng = Rng(seed);
    let account_dir = dir.join("account");
    let exe = std::env::current_exe().unwrap();
    let (mut leftovers_seen, mut kills_with_leftovers, mut early_kills) = (0, 0, 0);
    let mut resolved = HashMap::new();
    let mut committed_flag_changes = 0;
    let mut acked_before = 0;
    let started = Instant::now();
    for round in 0..KILLS {
        let stderr_path = dir.join(format!("child-{round}.stderr"));
        *current.lock().unwrap() = (round, stderr_path.clone());
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{round}:{}", dir.display()))
            .stdout(Stdio::null())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        // Every fifth round: killed within its first 40 ms (opening and recovering the
        // account, first deliveries). The others: after a minimum of deliveries, and then a
        // random while more.
        let early = round % 5 == 2;
        if early {
            std::thread::sleep(Duration::from_millis(rng.below(40)));
            early_kills += 1;
        } else {
            assert!(
                wait_for_lines(dir, &mut child, acked_before + MIN_ACKS_PER_ROUND),
                "round {round}: the child did not acknowledge {MIN_ACKS_PER_ROUND} deliveries \
                 (it exited, or took over {ROUND_TIMEOUT:?})"
            );
            std::thread::sleep(Duration::from_millis(rng.below(250)));
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("round {round}: the child exited by itself ({status}) before it was killed");
        }
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(status.code().is_none(), "round {round}: the child died of an error: {status}");
        if !account_dir.join("data.mdb").exists() {
            continue; // Killed before it created the account.
        }
        let acked = acknowledged(dir);
        let in_round = acked.deliveries.len() - acked_before;
        assert!(
            early || in_round >= MIN_ACKS_PER_ROUND,
            "round {round}: only {in_round} deliveries acknowledged"
        );
        acked_before = acked.deliveries.len();

        // As the crash left it: no problem, only leftovers of interrupted writes.
        let mut report = VerifyReport::default();
        verify_account(&account_dir, "account", None, false, &mut report).unwrap();
        assert!(report.is_ok(), "round {round}: {:#?}", report.problems);
        leftovers_seen += report.leftovers.len();
        kills_with_leftovers += usize::from(!report.leftovers.is_empty());
        {
            let ro = Account::open_read_only(&account_dir).unwrap();
            let context = format!("round {round}, as the crash left it");
            check_acknowledged(&ro, &acked, &context);
            check_flags(&ro, &acked, &mut resolved, &context);
        }

        // Opened again, the account cleans up and still has everything.
        let account = Account::open_existing(&account_dir).unwrap();
        let context = format!("round {round}, reopened");
        check_acknowledged(&account, &acked, &context);
        committed_flag_changes = check_flags(&account, &acked, &mut resolved, &context);
        drop(account);
        let mut report = VerifyReport::default();
        verify_account(&account_dir, "account", None, false, &mut report).unwrap();
        assert!(
            report.is_ok() && report.leftovers.is_empty(),
            "round {round} after reopen: {report:#?}"
        );
    }
    let acked = acknowledged(dir);
    let in_flight = resolved.len();
    let in_flight_committed = resolved.values().filter(|&&c| c).count();
    eprintln!(
        "{KILLS} SIGKILLs ({early_kills} early) in {:.1?} (seed {seed}): {} acknowledged deliveries \
         all intact with their flags; {committed_flag_changes} flag changes committed, of them \
         {in_flight_committed} of {in_flight} in flight at a kill; {kills_with_leftovers} kills \
         left interrupted writes behind ({leftovers_seen} files), all cleaned up on reopen",
        started.elapsed(),
        acked.deliveries.len()
    );
    assert!(
        acked.deliveries.len() >= (KILLS - early_kills) * MIN_ACKS_PER_ROUND,
        "the child delivered too little for the test to mean much: {}",
        acked.deliveries.len()
    );
    assert!(
        committed_flag_changes >= KILLS,
        "too few flag changes for the test to mean much: {committed_flag_changes}"
    );
}
