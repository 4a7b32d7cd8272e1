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
//! `BENCH_RUNS=n` repeats the deliver, import and flags cases n times, each in a fresh account,
//! and ends with min/median/max of each figure. Data goes to a temporary directory under
//! $BENCH_DIR (default: the system's), on the disk being measured; the load average is printed
//! before each run. The figures include real fsyncs.
//!
//! Hygiene: every run's data is kept until the end of the process and only then removed
//! (`BENCH_KEEP=1` keeps it), because on ext4 without a journal, creating files right after
//! many were deleted is slow: inode allocation skips inodes freed in the last 60 to 360
//! seconds, one inode-table lookup each (`recently_deleted` in the kernel). So leave a few
//! minutes between bench processes, and look at the system CPU time printed with each figure:
//! a run that spent much more of it than its neighbours was measured on such a file system.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark program: failures are fatal.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use store::import::import_mbox;
use store::{Account, FlagOp, Flags, NewMessage, NoProgress, UidSet};

/// Figures of all runs, by name, for the summary.
#[derive(Default)]
struct Figures(BTreeMap<String, Vec<f64>>);

impl Figures {
    fn add(&mut self, name: &str, v: f64) {
        self.0.entry(name.to_string()).or_default().push(v);
    }

    fn print_summary(&self) {
        println!("summary (min / median / max over runs):");
        for (name, v) in &self.0 {
            let mut v = v.clone();
            v.sort_by(f64::total_cmp);
            println!(
                "  {name}: {:.0} / {:.0} / {:.0} ({} runs)",
                v[0],
                v[v.len() / 2],
                v[v.len() - 1],
                v.len()
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let base = std::env::var_os("BENCH_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    // All runs' data stays until the end (see the module documentation).
    let root = tempfile::tempdir_in(&base).unwrap();
    let mut n = 0;
    let mut fresh = || {
        n += 1;
        let d = root.path().join(format!("run{n}"));
        std::fs::create_dir(&d).unwrap();
        d
    };
    let mut figures = Figures::default();
    for run in 1..=runs {
        if want("deliver") {
            println!("run {run}, load average {}", load());
            bench_deliver(&fresh(), &mut figures);
        }
        if want("import") || want("flags") {
            println!("run {run}, load average {}", load());
            bench_import_and_flags(&fresh(), want("flags"), &mut figures);
        }
    }
    if want("list") {
        println!("load average {}", load());
        bench_list(&fresh());
    }
    println!("load average at end: {}", load());
    if runs > 1 {
        figures.print_summary();
    }
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("data kept in {}", root.keep().display());
    }
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

fn bench_deliver(dir: &Path, figures: &mut Figures) {
    let msg = message(0, 10 * 1024);
    for (threads, per_thread) in [(1usize, 300usize), (32, 150)] {
        let account = Account::open_or_create(&dir.join(format!("deliver{threads}"))).unwrap();
        let mut rx = account.watch();
        let (u0, s0) = cpu_time();
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
        let (u1, s1) = cpu_time();
        let n = threads * per_thread;
        let commits = std::iter::from_fn(|| rx.try_recv()).count();
        let rate = n as f64 / elapsed.as_secs_f64();
        println!(
            "deliver 10 KB, {threads:>2} threads: {n} messages in {:.2?} = {rate:.0} messages/s ({commits} commits, {:.1} messages per commit); CPU user {:.2?} + system {:.2?}",
            elapsed,
            n as f64 / commits.max(1) as f64,
            u1 - u0,
            s1 - s0,
        );
        figures.add(&format!("deliver {threads:>2} threads, messages/s"), rate);
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

fn bench_import_and_flags(dir: &Path, flags: bool, figures: &mut Figures) {
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
    figures.add("import 100k, messages/s", n as f64 / elapsed.as_secs_f64());
    figures.add("import 100k, peak RSS MB", peak_rss_mb());
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
        figures.add(&format!("flag change 100k ({what}), ms"), elapsed.as_secs_f64() * 1e3);
    }
    let kw = Flags::parse(["$Label1", "project-x"]).unwrap();
    let start = Instant::now();
    account.store_flags(mailbox, &UidSet::all(), FlagOp::Add, &kw, None).unwrap();
    let elapsed = start.elapsed();
    println!("flag change on {n} messages (add 2 keywords): {elapsed:.2?}");
    figures.add("flag change 100k (add 2 keywords), ms", elapsed.as_secs_f64() * 1e3);
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
