//! Junk filter and reputation benchmarks:
//!
//! - classifying a 10 KB message with a database of 100,000 trained messages;
//! - training (messages per second, one commit per 2,000) and the database size;
//! - the reputation decision with 10 and with 100,000 earlier messages of the same sender
//!   network in the account.
//!
//! `cargo bench -p junk`. Setup trains 100,000 generated messages, each with a few words from
//! a vocabulary of 2 million synthetic words drawn log-uniformly, so the database has the many
//! rare words a real one has. Accounts live in /dev/shm where it exists (the flushes of
//! 100,000 deliveries would otherwise dominate the setup).

#![allow(clippy::unwrap_used)]

#[path = "../tests/corpus/mod.rs"]
mod corpus;

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use junk::{Class, Filter, Params};
use store::{Account, Flags, NewMessage, Origin};

const TRAINED: usize = 100_000;

fn synthetic_word(mut n: u64) -> String {
    const C: &[u8] = b"bdfgklmnprstvz";
    const V: &[u8] = b"aeiou";
    let mut s = String::new();
    loop {
        s.push(C[(n % C.len() as u64) as usize] as char);
        n /= C.len() as u64;
        s.push(V[(n % V.len() as u64) as usize] as char);
        n /= V.len() as u64;
        if n == 0 {
            return s + "x";
        }
    }
}

fn extra_words(r: &mut corpus::Rng, n: usize) -> String {
    (0..n)
        .map(|_| {
            let u = (r.next() >> 11) as f64 / (1u64 << 53) as f64;
            synthetic_word(2_000_000f64.powf(u) as u64)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn tmp() -> tempfile::TempDir {
    match std::fs::metadata("/dev/shm") {
        Ok(m) if m.is_dir() => tempfile::tempdir_in("/dev/shm").unwrap(),
        _ => tempfile::tempdir().unwrap(),
    }
}

fn filter_benches(c: &mut Criterion) {
    let dir = tmp();
    let params = Params::default();
    let filter = Filter::open(&dir.path().join("jf"), &params).unwrap();
    let mut r = corpus::Rng::new(1);
    let start = Instant::now();
    let mut t = filter.training().unwrap();
    for i in 0..TRAINED {
        let spam = i % 2 == 1;
        let mut m = corpus::message(&mut r, spam, i);
        m.extend_from_slice(extra_words(&mut r, 30).as_bytes());
        let words = filter.words(&m);
        t.train(if spam { Class::Spam } else { Class::Ham }, &words);
        if t.len() >= 2000 {
            t.commit().unwrap();
            t = filter.training().unwrap();
        }
    }
    t.commit().unwrap();
    let elapsed = start.elapsed();
    let stats = filter.stats().unwrap();
    println!(
        "trained {TRAINED} messages in {:.1} s: {:.0} messages/s; {} distinct words, database {:.1} MB on disk",
        elapsed.as_secs_f64(),
        TRAINED as f64 / elapsed.as_secs_f64(),
        stats.words,
        stats.file_size as f64 / 1e6
    );

    let msg = corpus::message_of_size(&mut r, true, 10 * 1024);
    let mut g = c.benchmark_group("junk");
    g.throughput(Throughput::Elements(1));
    g.bench_function("classify_10k_message_100k_trained", |b| {
        b.iter(|| filter.classify_message(std::hint::black_box(&msg)))
    });
    let words = filter.words(&msg);
    g.bench_function("classify_10k_words_only_100k_trained", |b| {
        b.iter(|| filter.classify(std::hint::black_box(&words)))
    });
    g.bench_function("tokenize_10k_message", |b| {
        b.iter(|| filter.words(std::hint::black_box(&msg)))
    });
    let mut id = 1u64 << 40;
    g.bench_function("train_and_untrain_one_message_committed", |b| {
        b.iter(|| {
            id += 1;
            let m = store::MessageId(id);
            filter.set_class(m, Some(Class::Spam), || Ok(words.clone())).unwrap();
            filter.set_class(m, None, || Ok(words.clone())).unwrap();
        })
    });
    g.finish();
}

/// An account with `n` earlier classified messages from one /21 network (all matching the
/// new message's IP signals) and the same DKIM domain.
fn account_with_history(n: usize) -> (tempfile::TempDir, Account) {
    let dir = tmp();
    let acc = Account::open_or_create(&dir.path().join("acc")).unwrap();
    let threads = 16;
    std::thread::scope(|s| {
        for t in 0..threads {
            let acc = acc.clone();
            s.spawn(move || {
                for i in (t..n).step_by(threads) {
                    let origin = Origin {
                        remote_ip: Some(
                            format!("10.1.{}.{}", (i / 200) % 8, i % 200).parse().unwrap(),
                        ),
                        msg_from_localpart: format!("user{i}"),
                        msg_from_domain: format!("d{}.example", i % 1000),
                        msg_from_org_domain: format!("d{}.example", i % 1000),
                        dkim_domains: vec!["esp.example".into()],
                        ..Default::default()
                    };
                    let flags =
                        Flags::parse([if i % 3 == 0 { "$Junk" } else { "$NotJunk" }]).unwrap();
                    let new = NewMessage { origin: Some(origin), flags, ..Default::default() };
                    acc.deliver_bytes("Inbox", b"Subject: x\r\n\r\nx\r\n", new).unwrap();
                }
            });
        }
    });
    (dir, acc)
}

fn reputation_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("reputation");
    for n in [10, TRAINED] {
        let start = Instant::now();
        let (_dir, acc) = account_with_history(n);
        println!("delivered {n} messages with history in {:.1} s", start.elapsed().as_secs_f64());
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        // A new sender in a known network and DKIM domain: every rule is tried, the DKIM and
        // IP lookups find the most entries.
        let m = Origin {
            remote_ip: Some("10.1.3.77".parse().unwrap()),
            msg_from_localpart: "new".into(),
            msg_from_domain: "new.example".into(),
            msg_from_org_domain: "new.example".into(),
            dkim_domains: vec!["esp.example".into()],
            ..Default::default()
        };
        let now = store::Timestamp::now().unix;
        g.bench_function(format!("evaluate_{n}_earlier_messages"), |b| {
            b.iter(|| {
                let snap = acc.snapshot().unwrap();
                junk::reputation::evaluate(&snap, inbox, std::hint::black_box(&m), now).unwrap()
            })
        });
        g.bench_function(format!("delivery_rates_{n}_earlier_messages"), |b| {
            b.iter(|| {
                let snap = acc.snapshot().unwrap();
                snap.delivery_rates("10.1.3.77".parse().unwrap(), now).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, filter_benches, reputation_benches);
criterion_main!(benches);
