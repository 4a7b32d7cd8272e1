//! The commands of `bench/imap/run.sh load` on a session, without the network: what one
//! STORE, EXPUNGE, SEARCH and FETCH cost the server (with real fsyncs where the command
//! commits, on the disk of $TMPDIR).
//!
//! `cargo bench -p imapserver --bench commands [-- filter]`
//!
//! - `store`: `STORE 1 +FLAGS (\Seen)` and `-FLAGS` in turn on a one-message mailbox.
//! - `expunge`: `EXPUNGE` of one message marked `\Deleted` (appended and marked untimed).
//! - `search/load`: the load's `SEARCH UNSEEN SUBJECT load` on its one-message mailbox (the
//!   message is `\Seen`).
//! - `search/subject_1000`, `search/unseen_subject_1000`, `search/subject_unseen_1000`,
//!   `search/from_1000`: header criteria over 1,000 messages, alone and with UNSEEN (which
//!   half of them are), before and after it.
//! - `fetch/flags`: the load's `FETCH 1:* (FLAGS)`.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark program: failures are fatal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use imapserver::session::{MemoryAuthenticator, SimpleLoginLimiter};
use imapserver::{Action, Config, ConnectionInfo, Session};

struct Fixture {
    _dir: tempfile::TempDir,
    config: Arc<Config>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let auth = MemoryAuthenticator::new(dir.path().join("accounts"));
    let params = sasl::DeriveParams {
        scram_iterations: std::num::NonZeroU32::MIN,
        argon2_memory_kib: 8,
        argon2_passes: 1,
    };
    auth.add_user("u", "u", "p", &params).unwrap();
    let config = Arc::new(Config {
        hostname: "bench".into(),
        authenticator: Arc::new(auth),
        login_limiter: Arc::new(SimpleLoginLimiter::default()),
        limits: Default::default(),
        append_limit: None,
        allow_plaintext_auth: true,
    });
    Fixture { _dir: dir, config }
}

fn session(f: &Fixture) -> Session {
    let conn = ConnectionInfo {
        remote_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        tls: true,
        starttls_available: false,
        channel_bindings: vec![],
    };
    let mut s = Session::new(f.config.clone(), conn);
    s.greeting();
    s.take_output();
    run(&mut s, b"l LOGIN u p\r\n");
    s
}

/// Runs one command to its tagged OK; returns the output.
fn run(s: &mut Session, cmd: &[u8]) -> Vec<u8> {
    let mut a = s.input(cmd);
    let mut out = s.take_output();
    while a == Action::Continue {
        a = s.resume();
        out.extend(s.take_output());
    }
    let tag = cmd.split(|&b| b == b' ').next().unwrap();
    let last = out.rsplit(|&b| b == b'\n').nth(1).unwrap_or_default();
    assert!(
        last.starts_with(tag) && last[tag.len()..].starts_with(b" OK"),
        "{}: {}",
        String::from_utf8_lossy(cmd),
        String::from_utf8_lossy(&out)
    );
    out
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: sender{i}@example.org\r\nTo: u@example.org\r\nSubject: load test {i}\r\nMessage-ID: <load{i}@example.org>\r\n\r\n{}\r\n",
        "Some text of a message body, long enough to look like mail. ".repeat(20)
    )
    .into_bytes()
}

fn append(s: &mut Session, i: usize) {
    let m = message(i);
    let mut cmd = format!("a APPEND INBOX {{{}+}}\r\n", m.len()).into_bytes();
    cmd.extend_from_slice(&m);
    cmd.extend_from_slice(b"\r\n");
    run(s, &cmd);
}

fn store(c: &mut Criterion) {
    let f = fixture();
    let mut s = session(&f);
    append(&mut s, 0);
    run(&mut s, b"s SELECT INBOX\r\n");
    let mut g = c.benchmark_group("store");
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    let mut add = true;
    g.bench_function("seen", |b| {
        b.iter(|| {
            let cmd: &[u8] = if add {
                b"t STORE 1 +FLAGS (\\Seen)\r\n"
            } else {
                b"t STORE 1 -FLAGS (\\Seen)\r\n"
            };
            add = !add;
            run(&mut s, cmd)
        })
    });
    g.finish();
}

fn expunge(c: &mut Criterion) {
    let f = fixture();
    let mut s = session(&f);
    run(&mut s, b"s SELECT INBOX\r\n");
    let mut g = c.benchmark_group("expunge");
    g.sample_size(30).measurement_time(Duration::from_secs(6));
    let mut i = 0;
    g.bench_function("one", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                i += 1;
                append(&mut s, i);
                run(&mut s, b"n NOOP\r\n");
                run(&mut s, b"d STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
                let t = Instant::now();
                run(&mut s, b"x EXPUNGE\r\n");
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn search(c: &mut Criterion) {
    let mut g = c.benchmark_group("search");
    {
        let f = fixture();
        let mut s = session(&f);
        append(&mut s, 0);
        run(&mut s, b"s SELECT INBOX\r\n");
        run(&mut s, b"t STORE 1 +FLAGS (\\Seen)\r\n");
        g.bench_function("load", |b| b.iter(|| run(&mut s, b"q SEARCH UNSEEN SUBJECT load\r\n")));
    }
    let f = fixture();
    let mut s = session(&f);
    for i in 0..1000 {
        append(&mut s, i);
    }
    run(&mut s, b"s SELECT INBOX\r\n");
    run(&mut s, b"t STORE 1:500 +FLAGS.SILENT (\\Seen)\r\n");
    g.bench_function("subject_1000", |b| {
        b.iter(|| run(&mut s, b"q SEARCH SUBJECT \"test 99\"\r\n"))
    });
    g.bench_function("unseen_subject_1000", |b| {
        b.iter(|| run(&mut s, b"q SEARCH UNSEEN SUBJECT \"test 99\"\r\n"))
    });
    // The same criteria as the client wrote them, the costly one first.
    g.bench_function("subject_unseen_1000", |b| {
        b.iter(|| run(&mut s, b"q SEARCH SUBJECT \"test 99\" UNSEEN\r\n"))
    });
    g.bench_function("from_1000", |b| b.iter(|| run(&mut s, b"q SEARCH FROM sender99@\r\n")));
    g.finish();
}

fn fetch(c: &mut Criterion) {
    let f = fixture();
    let mut s = session(&f);
    append(&mut s, 0);
    run(&mut s, b"s SELECT INBOX\r\n");
    let mut g = c.benchmark_group("fetch");
    g.bench_function("flags", |b| b.iter(|| run(&mut s, b"f FETCH 1:* (FLAGS)\r\n")));
    g.bench_function("header_bodystructure", |b| {
        b.iter(|| run(&mut s, b"f FETCH 1 (BODY.PEEK[HEADER] BODYSTRUCTURE)\r\n"))
    });
    g.finish();
}

criterion_group!(benches, store, expunge, search, fetch);
criterion_main!(benches);
