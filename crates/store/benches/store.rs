//! Store benchmarks, printing figures to compare with the targets:
//!
//! - durable delivery of 10 KB messages by 1 and by 32 concurrent threads (target: 3,000
//!   messages/s with 32 on a 2-core machine);
//! - import of a generated 100,000-message mbox (target: 20,000 messages/s, peak memory at most
//!   256 MB);
//! - listing UID, flags and MODSEQ of a 1,000,000-message mailbox (target: 300 ms);
//! - one flag change on 100,000 messages (target: 2 s).
//!
//! `cargo bench -p store --bench store -- [deliver] [import] [flags] [list]` (all by default).
//! Data goes to a temporary directory under $BENCH_DIR (default: the system's), on the disk
//! being measured. Run on a quiet machine: the figures include real fsyncs.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark program: failures are fatal.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use store::import::import_mbox;
use store::{Account, FlagOp, Flags, NewMessage, NoProgress, UidSet};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let base = std::env::var_os("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    println!("load average at start: {}", load());
    if want("deliver") {
        let dir = tempfile::tempdir_in(&base).unwrap();
        bench_deliver(dir.path());
    }
    if want("import") || want("flags") {
        let dir = tempfile::tempdir_in(&base).unwrap();
        bench_import_and_flags(dir.path(), want("flags"));
    }
    if want("list") {
        let dir = tempfile::tempdir_in(&base).unwrap();
        bench_list(dir.path());
    }
    println!("load average at end: {}", load());
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Peak resident memory (VmHWM) in MB, since the last reset.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// CPU time (user, system) of this process so far, from /proc/self/stat.
fn cpu_time() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        Duration::from_millis(f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 10)
    }; // USER_HZ = 100
    (tick(11), tick(12))
}

/// Resets the peak-memory mark (Linux: writing 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn message(n: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Bench <bench@example.org>\r\nTo: you@example.org\r\nSubject: message {n}\r\n\
Message-ID: <{n}@bench.example.org>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n"
    );
    let line = "The quick brown fox jumps over the lazy dog, again and again.\r\n";
    while m.len() + line.len() <= size {
        m.push_str(line);
    }
    while m.len() + 2 < size {
        m.push('x');
    }
    m.push_str("\r\n");
    m.into_bytes()
}

fn bench_deliver(dir: &Path) {
    let msg = message(0, 10 * 1024);
    for (threads, per_thread) in [(1usize, 300usize), (32, 150)] {
        let account = Account::open_or_create(&dir.join(format!("deliver{threads}"))).unwrap();
        let mut rx = account.watch();
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (account, msg) = (account.clone(), msg.clone());
                std::thread::spawn(move || {
                    for _ in 0..per_thread {
                        account.deliver_bytes("Inbox", &msg, NewMessage::default()).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let elapsed = start.elapsed();
        let n = threads * per_thread;
        let commits = std::iter::from_fn(|| rx.try_recv()).count();
        println!(
            "deliver 10 KB, {threads:>2} threads: {n} messages in {:.2?} = {:.0} messages/s ({commits} commits, {:.1} messages per commit)",
            elapsed,
            n as f64 / elapsed.as_secs_f64(),
            n as f64 / commits.max(1) as f64
        );
    }
}

/// Writes an mbox of `n` messages of about `size` bytes (LF line endings, as mbox files have),
/// each followed by the empty line that separates messages.
fn write_mbox(path: &Path, n: usize, size: usize) {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    for i in 0..n {
        let m = message(i, size);
        let m = String::from_utf8(m).unwrap().replace("\r\n", "\n");
        write!(w, "From bench@example.org Tue Nov 14 22:13:20 2023\n{m}\n").unwrap();
    }
    w.flush().unwrap();
}

fn bench_import_and_flags(dir: &Path, flags: bool) {
    let n = 100_000;
    let mbox = dir.join("bench.mbox");
    write_mbox(&mbox, n, 2048);
    let mb_size = std::fs::metadata(&mbox).unwrap().len() as f64 / 1e6;
    let account = Account::open_or_create(&dir.join("import")).unwrap();
    reset_peak_rss();
    let before = peak_rss_mb();
    let (u0, s0) = cpu_time();
    let start = Instant::now();
    let s = import_mbox(&account, "Imported", &mbox, &NoProgress).unwrap();
    let elapsed = start.elapsed();
    let (u1, s1) = cpu_time();
    assert_eq!(s.messages, n as u64);
    println!(
        "import mbox of {n} messages ({mb_size:.0} MB): {:.2?} = {:.0} messages/s; CPU user {:.2?} + system {:.2?}; peak RSS {:.0} MB (at start of import {before:.0} MB)",
        elapsed,
        n as f64 / elapsed.as_secs_f64(),
        u1 - u0,
        s1 - s0,
        peak_rss_mb()
    );
    std::fs::remove_file(&mbox).unwrap();
    if !flags {
        return;
    }
    let mailbox = account.mailbox("Imported").unwrap().unwrap().id;
    let seen = Flags::parse(["\\Seen"]).unwrap();
    for (op, what) in [(FlagOp::Add, "add \\Seen"), (FlagOp::Remove, "remove \\Seen")] {
        let start = Instant::now();
        let out = account.store_flags(mailbox, &UidSet::all(), op, &seen, None).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(out.changed.len(), n);
        println!("flag change on {n} messages ({what}, one transaction, durable): {elapsed:.2?}");
    }
    let kw = Flags::parse(["$Label1", "project-x"]).unwrap();
    let start = Instant::now();
    account.store_flags(mailbox, &UidSet::all(), FlagOp::Add, &kw, None).unwrap();
    println!("flag change on {n} messages (add 2 keywords): {:.2?}", start.elapsed());
}

fn bench_list(dir: &Path) {
    let n = 1_000_000;
    let account = Account::open_or_create(&dir.join("list")).unwrap();
    // Built with the real import path, in 10 mboxes of 100,000 small messages.
    let start = Instant::now();
    for part in 0..10 {
        let mbox = dir.join(format!("part{part}.mbox"));
        write_mbox(&mbox, n / 10, 300);
        import_mbox(&account, "Big", &mbox, &NoProgress).unwrap();
        std::fs::remove_file(&mbox).unwrap();
    }
    let build = start.elapsed();
    let mailbox = account.mailbox("Big").unwrap().unwrap().id;
    // Some flags, so the listing decodes flags and keywords too.
    account
        .store_flags(
            mailbox,
            &UidSet::from_ranges([1..=300_000]),
            FlagOp::Add,
            &Flags::parse(["\\Seen", "$Junk"]).unwrap(),
            None,
        )
        .unwrap();
    println!(
        "built a {n}-message mailbox by importing 10 mboxes: {build:.1?} ({:.0} messages/s)",
        n as f64 / build.as_secs_f64()
    );

    let mut best = Duration::MAX;
    for round in 0..5 {
        let start = Instant::now();
        let snap = account.snapshot().unwrap();
        let mut count = 0usize;
        let mut max_modseq = 0u64;
        snap.for_each_state(mailbox, &UidSet::all(), |s| {
            count += 1;
            max_modseq = max_modseq.max(s.modseq);
        })
        .unwrap();
        let elapsed = start.elapsed();
        assert_eq!(count, n);
        best = best.min(elapsed);
        println!(
            "list uid+flags+modseq of {n} messages (for_each_state), run {round}: {elapsed:.0?}"
        );
    }
    let start = Instant::now();
    let v = account.snapshot().unwrap().message_states(mailbox, &UidSet::all()).unwrap();
    println!(
        "list into a Vec<MessageState> of {}: {:.0?}; best streaming run {best:.0?}",
        v.len(),
        start.elapsed()
    );
}
