//! Queue throughput: messages queued and delivered per second to a local sink MX, connections
//! used, peak RSS, and whether delivery stays as fast with 100,000 entries in the queue.
//!
//! ```text
//! cargo bench -p queue --bench queue -- [--messages N] [--size BYTES] [--filler N] [--connections N]
//! ```
//!
//! 1. `--messages` (10,000) messages of `--size` (10 KB) are added by 64 concurrent submitters,
//!    each durably (flushed before `add` returns), to one recipient domain whose MX is a sink
//!    (this program again, in a child process, on 127.0.0.70:25: an SMTP server that
//!    discards).
//! 2. The queue runs until all are delivered; `--connections` (16) per domain at most.
//! 3. The queue is filled with `--filler` (90,000) held entries (FUTURERELEASE in a day, 1 KB,
//!    another domain), and step 1 and 2 run again with 100,000 entries in the queue.
//!
//! Peak RSS is the bench process's (the queue's; the sink runs apart).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench program: failing loudly is fine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use queue::{NewMessage, Queue, Recipient, Settings};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const SINK_IP: &str = "127.0.0.70";
const SINK_VAR: &str = "QUEUE_BENCH_SINK";

struct Options {
    batch: usize,
    messages: usize,
    size: usize,
    filler: usize,
    connections: usize,
}

fn main() {
    if let Ok(stats) = std::env::var(SINK_VAR) {
        return sink(&stats);
    }
    let mut options =
        Options { batch: 1024, messages: 10_000, size: 10 * 1024, filler: 90_000, connections: 16 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next().and_then(|v| v.parse::<usize>().ok()).expect("a number after the option")
        };
        match arg.as_str() {
            "--messages" => options.messages = value(),
            "--size" => options.size = value(),
            "--filler" => options.filler = value(),
            "--connections" => options.connections = value(),
            "--batch" => options.batch = value(),
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    if let Ok(filter) = std::env::var("QUEUE_BENCH_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(bench(options));
}

async fn bench(options: Options) {
    let dir =
        tempfile::tempdir_in(std::env::var("QUEUE_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
            .unwrap();
    let stats_file = dir.path().join("sink-stats");
    let mut sink = std::process::Command::new(std::env::current_exe().unwrap())
        .env(SINK_VAR, &stats_file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(sink.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY", "sink did not start");
    }
    let zone = format!(
        "sink.bench MX 10 mx.sink.bench\nmx.sink.bench A {SINK_IP}\nheld.bench MX 10 mx.sink.bench"
    );
    let resolver = Arc::new(dns::MockResolver::from_zone(&zone).unwrap());
    let mut settings = Settings::new(dns::Domain::parse("mail.queue.bench").unwrap());
    settings.max_connections_per_domain = options.connections;
    settings.batch_size = options.batch;
    let queue = Queue::builder(dir.path().join("queue"), settings)
        .resolver(resolver)
        .mtasts_fetcher(
            mtasts::Fetcher::new()
                .with_connector(mtasts::FixedConnector::new("127.0.0.1:9".parse().unwrap())),
        )
        .open()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = queue.clone();
    let task = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await
    });

    println!(
        "queue bench: {} messages of {} bytes, up to {} connections, filler {} entries",
        options.messages, options.size, options.connections, options.filler
    );
    let first = round(&queue, &options, "sink.bench", 0, &stats_file).await;
    print_round("empty queue", &first);

    // Fill to 100,000 entries with held messages for another domain.
    let started = Instant::now();
    add_many(
        &queue,
        options.filler,
        1024,
        "held.bench",
        Some(SystemTime::now() + Duration::from_secs(86400)),
        1_000_000,
    )
    .await;
    let fill = started.elapsed();
    println!(
        "filler: {} held entries added in {:.1}s ({:.0}/s); queue holds {}",
        options.filler,
        fill.as_secs_f64(),
        options.filler as f64 / fill.as_secs_f64(),
        queue.len().unwrap()
    );
    let second = round(&queue, &options, "sink.bench", 2_000_000, &stats_file).await;
    print_round(&format!("{} entries in the queue", options.filler + options.messages), &second);
    println!(
        "delivery rate with the full queue: {:.0}% of the empty queue's; peak RSS {:.1} MB",
        100.0 * second.delivered_per_sec / first.delivered_per_sec,
        peak_rss_mb()
    );
    let _ = stop.send(());
    task.await.unwrap();
    let _ = sink.kill();
    let _ = sink.wait();
}

struct Round {
    added_per_sec: f64,
    delivered_per_sec: f64,
    connections: u64,
    sink_connections: u64,
    rss_mb: f64,
}

fn print_round(what: &str, r: &Round) {
    println!(
        "{what}: added {:.0} msg/s (each flushed before add returns); delivered {:.0} msg/s over {} connections (sink saw {}); peak RSS {:.1} MB",
        r.added_per_sec, r.delivered_per_sec, r.connections, r.sink_connections, r.rss_mb
    );
}

async fn round(
    queue: &Queue,
    options: &Options,
    domain: &str,
    id_base: usize,
    stats: &std::path::Path,
) -> Round {
    let before = queue.stats();
    let sink_before = read_sink(stats);
    // Held while adding, so adding and delivering are measured apart: the messages are due in
    // the future, then kicked all at once.
    let hold = Some(SystemTime::now() + Duration::from_secs(3600));
    let started = Instant::now();
    add_many(queue, options.messages, options.size, domain, hold, id_base).await;
    let added = started.elapsed();
    let started = Instant::now();
    let filter = queue::Filter { to_domain: Some(domain.into()), ..Default::default() };
    let kicked = queue.kick(&filter).await.unwrap();
    assert_eq!(kicked, options.messages);
    loop {
        let delivered = queue.stats().delivered - before.delivered;
        if delivered as usize >= options.messages {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = started.elapsed();
    let after = queue.stats();
    let sink_after = read_sink(stats);
    assert_eq!(
        sink_after.1 - sink_before.1,
        options.messages as u64,
        "the sink got every message once"
    );
    Round {
        added_per_sec: options.messages as f64 / added.as_secs_f64(),
        delivered_per_sec: options.messages as f64 / delivered.as_secs_f64(),
        connections: after.connections - before.connections,
        sink_connections: sink_after.0 - sink_before.0,
        rss_mb: peak_rss_mb(),
    }
}

async fn add_many(
    queue: &Queue,
    n: usize,
    size: usize,
    domain: &str,
    hold: Option<SystemTime>,
    id_base: usize,
) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (queue, next, domain) = (queue.clone(), next.clone(), domain.to_string());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= n {
                    return;
                }
                let mut data = format!(
                    "From: <bench@queue.bench>\r\nTo: <u{i}@{domain}>\r\nSubject: bench {i}\r\nMessage-ID: <{}@queue.bench>\r\n\r\n",
                    id_base + i
                )
                .into_bytes();
                while data.len() < size {
                    data.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n");
                }
                let to = Recipient::parse(&format!("u{i}@{domain}")).unwrap();
                let mut message = NewMessage::new(Some("bench@queue.bench".parse().unwrap()), vec![to], data);
                message.hold_until = hold;
                queue.add(message).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

fn read_sink(path: &std::path::Path) -> (u64, u64) {
    // The sink rewrites the file after every message and connection; wait for it to settle.
    std::thread::sleep(Duration::from_millis(200));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut parts = text.split_whitespace().map(|n| n.parse::<u64>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// VmHWM of this process, in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The sink MX: accepts everything, discards data, counts connections and messages.
fn sink(stats: &str) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((SINK_IP, 25))
            .await
            .expect("bind 127.0.0.70:25 (needs root)");
        println!("READY");
        let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        let path = stats.to_string();
        let writer_counts = counts.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let text = format!(
                    "{} {}\n",
                    writer_counts.0.load(Ordering::Relaxed),
                    writer_counts.1.load(Ordering::Relaxed)
                );
                let tmp = format!("{path}.tmp");
                let _ = std::fs::write(&tmp, text);
                let _ = std::fs::rename(&tmp, &path);
            }
        });
        loop {
            let (conn, _) = listener.accept().await.unwrap();
            counts.0.fetch_add(1, Ordering::Relaxed);
            let counts = counts.clone();
            tokio::spawn(async move {
                let _ = session(conn, &counts.1).await;
            });
        }
    });
}

async fn session(conn: tokio::net::TcpStream, messages: &AtomicU64) -> std::io::Result<()> {
    // Replies go out as soon as they are known (Nagle would hold a reply back until the
    // previous one is acknowledged: 40 ms per transaction with delayed ACKs).
    conn.set_nodelay(true)?;
    let (read, mut write) = conn.into_split();
    let mut read = BufReader::with_capacity(64 * 1024, read);
    write.write_all(b"220 sink.bench ESMTP\r\n").await?;
    let mut line = Vec::new();
    let mut replies = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).map(|v| v.to_ascii_uppercase()).unwrap_or_default();
        match verb.as_slice() {
            b"EHLO" => replies.extend_from_slice(
                b"250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 0\r\n",
            ),
            b"HELO" | b"MAIL" | b"RCPT" | b"RSET" | b"NOOP" => {
                replies.extend_from_slice(b"250 ok\r\n")
            }
            b"DATA" => {
                replies.extend_from_slice(b"354 go\r\n");
                write.write_all(&replies).await?;
                replies.clear();
                loop {
                    line.clear();
                    if read.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" {
                        break;
                    }
                }
                messages.fetch_add(1, Ordering::Relaxed);
                replies.extend_from_slice(b"250 2.0.0 accepted\r\n");
            }
            b"QUIT" => {
                replies.extend_from_slice(b"221 bye\r\n");
                write.write_all(&replies).await?;
                return Ok(());
            }
            _ => replies.extend_from_slice(b"500 what\r\n"),
        }
        // Pipelined commands are answered together, once the client waits.
        if read.buffer().is_empty() {
            write.write_all(&replies).await?;
            replies.clear();
        }
    }
}
