//! kill -9 during delivery: a child process runs the queue and is killed at random moments
//! while it delivers 200 messages to an aiosmtpd MX, then restarted. Nothing is lost, and a
//! message is only ever sent twice if its 250 had been read but its mark not yet committed
//! when the process died: it was still in the queue at the restart.
//!
//! The child is this test binary again, running `child_queue_runner` with the queue directory
//! and DNS server in its environment.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use queue::{Filter, NewMessage, Queue, Recipient, Settings};

const MESSAGES: usize = 200;
const KILLS: usize = 6;
const DIR_VAR: &str = "QUEUE_CRASH_CHILD_DIR";
const DNS_VAR: &str = "QUEUE_CRASH_CHILD_DNS";

fn settings() -> Settings {
    let mut s = Settings::new(dns::Domain::parse("mail.mox.test").unwrap());
    s.connect_timeout = Duration::from_secs(5);
    s.timeouts = smtpclient::Timeouts::all(Duration::from_secs(20));
    // One connection per domain: 4 at a time, so a kill can catch at most 4 messages between
    // their 250 and the commit of their mark.
    s.max_connections_per_domain = 1;
    s
}

fn open(dir: &std::path::Path, dns: std::net::SocketAddr) -> Queue {
    let resolver = dns::HickoryResolver::with_server(dns).unwrap();
    Queue::builder(dir, settings()).resolver(Arc::new(resolver)).open().unwrap()
}

/// The queue process: runs until the queue is empty. A no-op in a normal test run.
#[test]
fn child_queue_runner() {
    let (Ok(dir), Ok(dns)) = (std::env::var(DIR_VAR), std::env::var(DNS_VAR)) else { return };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let queue = open(std::path::Path::new(&dir), dns.parse().unwrap());
        let runner = queue.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        while !queue.is_empty().unwrap() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop.send(());
        task.await.unwrap();
    });
}

fn message_ids(queue: &Queue) -> BTreeSet<String> {
    queue.list(&Filter::default()).unwrap().into_iter().map(|e| e.message_id).collect()
}

fn received_ids(peer: &MxPeer) -> Vec<String> {
    peer.messages()
        .iter()
        .map(|m| {
            let header = message::Header::parse(&m.data);
            header.value("message-id").unwrap().trim().to_string()
        })
        .collect()
}

#[test]
fn kill_9_during_delivery_loses_nothing_and_resends_only_unmarked() {
    let peer = MxPeer::start("127.0.0.60", PeerOptions::default());
    let mut zone = String::from("mx.crash.test A 127.0.0.60\n");
    for d in 0..4 {
        zone.push_str(&format!("d{d}.crash.test MX 10 mx.crash.test\n"));
    }
    let dns =
        test_support::DnsTestServer::start_on_thread(dns::MockResolver::from_zone(&zone).unwrap())
            .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("queue");

    // Queue everything first, durably, then close.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let queued: BTreeSet<String> = runtime.block_on(async {
        let queue = open(&dir, dns.addr());
        for i in 0..MESSAGES {
            let to = Recipient::parse(&format!("user{i}@d{}.crash.test", i % 4)).unwrap();
            let m = NewMessage::new(
                Some("alice@mox.test".parse().unwrap()),
                vec![to],
                message(&format!("crash{i}"), "crash"),
            );
            queue.add(m).await.unwrap();
        }
        message_ids(&queue)
    });
    assert_eq!(queued.len(), MESSAGES);

    let spawn = || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_queue_runner", "--nocapture", "--test-threads", "1"])
            .env(DIR_VAR, &dir)
            .env(DNS_VAR, dns.addr().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    };
    // Per kill: what the MX had received, and what was still queued after the restart.
    let mut windows: Vec<(Vec<String>, BTreeSet<String>)> = Vec::new();
    let mut seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
            as u64;
    let mut random = |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for _ in 0..KILLS {
        let mut child = spawn();
        let before = received_ids(&peer).len();
        let target = before + 5 + random(20) as usize;
        let deadline = Instant::now() + Duration::from_secs(60);
        while received_ids(&peer).len() < target
            && Instant::now() < deadline
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_micros(random(5000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The MX may still be writing a message whose data arrived just before the kill.
        std::thread::sleep(Duration::from_millis(300));
        let received = received_ids(&peer);
        let pending = runtime.block_on(async { message_ids(&open(&dir, dns.addr())) });
        windows.push((received, pending));
    }
    let mut child = spawn();
    let status = child.wait().unwrap();
    assert!(status.success(), "the last run empties the queue");

    let received = received_ids(&peer);
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for id in &received {
        *counts.entry(id).or_default() += 1;
    }
    let missing: Vec<&String> = queued.iter().filter(|id| !counts.contains_key(id)).collect();
    assert!(missing.is_empty(), "lost after kill -9: {missing:?}");
    let duplicates: Vec<&String> =
        counts.iter().filter(|(_, n)| **n > 1).map(|(id, _)| *id).collect();
    // A message sent twice was received before a kill and still queued after it: its 250 had
    // been read but not yet committed. Never a message whose delivery was recorded.
    // Each extra copy needs its own such kill (a message can be caught twice in a row).
    for id in &duplicates {
        let unmarked_kills = windows
            .iter()
            .filter(|(rcvd, pending)| rcvd.contains(id) && pending.contains(*id))
            .count();
        assert!(
            counts[id] - 1 <= unmarked_kills,
            "{id}: {} copies, but only {unmarked_kills} kills left it unrecorded after its 250",
            counts[id]
        );
    }
    assert!(
        duplicates.len() <= KILLS * 4,
        "{} duplicates in {KILLS} kills of 4 connections",
        duplicates.len()
    );
    println!(
        "kill -9: {MESSAGES} messages, {KILLS} kills, {} received, {} sent twice (killed between the end of their data and the commit of their mark), 0 lost",
        received.len(),
        duplicates.len()
    );
    let queue = runtime.block_on(async { open(&dir, dns.addr()) });
    assert!(queue.is_empty().unwrap());
    let leftover: Vec<_> = walk(&dir.join("msg"));
    assert!(leftover.is_empty(), "message files left: {leftover:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}
