//! The load client of `bench/imap/`: a minimal IMAP client on tokio, in three modes.
//!
//! ```text
//! imap_bench_client idle HOST PLAIN_PORT TLS_PORT CERT.pem CONNECTIONS USERS
//!     CONNECTIONS connections, every other one over TLS, each LOGIN + SELECT INBOX + IDLE;
//!     prints "idle N" when all are idling, closes them when stdin closes.
//! imap_bench_client big HOST PORT ROUNDS
//!     user0: SELECT Big and UID FETCH 1:* (UID FLAGS), ROUNDS times each, with timings.
//! imap_bench_client load HOST PORT CLIENTS SECONDS
//!     CLIENTS clients (user<i>) for SECONDS: LOGIN, SELECT, APPEND, FETCH, STORE, SEARCH,
//!     EXPUNGE in a loop; prints per command: how many, per second, and mean, median and
//!     99th-percentile latency.
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const PASSWORD: &str = "benchpassword";

struct Conn<S> {
    io: BufReader<S>,
    tag: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn new(s: S) -> Self {
        Conn { io: BufReader::with_capacity(64 * 1024, s), tag: 0 }
    }

    async fn greeting(&mut self) -> BoxResult<()> {
        let mut line = Vec::new();
        self.io.read_until(b'\n', &mut line).await?;
        if !line.starts_with(b"* OK") {
            return Err(format!("greeting: {}", String::from_utf8_lossy(&line)).into());
        }
        Ok(())
    }

    /// Sends a command; returns the number of untagged responses and the tagged line.
    async fn cmd(&mut self, cmd: &[u8]) -> BoxResult<(usize, String)> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let mut data = Vec::with_capacity(cmd.len() + 16);
        data.extend_from_slice(tag.as_bytes());
        data.push(b' ');
        data.extend_from_slice(cmd);
        data.extend_from_slice(b"\r\n");
        self.io.get_mut().write_all(&data).await?;
        self.io.get_mut().flush().await?;
        self.responses(&tag).await
    }

    async fn responses(&mut self, tag: &str) -> BoxResult<(usize, String)> {
        let mut n = 0;
        let mut line = Vec::new();
        loop {
            line.clear();
            self.read_response(&mut line).await?;
            if line.starts_with(tag.as_bytes()) && line.get(tag.len()) == Some(&b' ') {
                let s = String::from_utf8_lossy(&line).trim_end().to_string();
                if !s[tag.len() + 1..].starts_with("OK") {
                    return Err(format!("command failed: {s}").into());
                }
                return Ok((n, s));
            }
            n += 1;
        }
    }

    /// One response line, with literals read in.
    async fn read_response(&mut self, out: &mut Vec<u8>) -> BoxResult<()> {
        loop {
            let start = out.len();
            if self.io.read_until(b'\n', out).await? == 0 {
                return Err("connection closed".into());
            }
            let line = &out[start..];
            let Some(size) = literal_size(line) else { return Ok(()) };
            let old = out.len();
            out.resize(old + size, 0);
            self.io.read_exact(&mut out[old..]).await?;
        }
    }

    async fn login(&mut self, user: &str) -> BoxResult<()> {
        self.cmd(format!("LOGIN {user} {PASSWORD}").as_bytes()).await.map(|_| ())
    }
}

fn literal_size(line: &[u8]) -> Option<usize> {
    let l = line.strip_suffix(b"\r\n")?;
    let l = l.strip_suffix(b"}")?;
    let open = l.iter().rposition(|&c| c == b'{')?;
    std::str::from_utf8(&l[open + 1..]).ok()?.parse().ok()
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("idle") => idle(&args[2..]).await,
        Some("big") => big(&args[2..]).await,
        Some("load") => load(&args[2..]).await,
        _ => Err("usage: imap_bench_client idle|big|load ...".into()),
    }
}

async fn tls_connector(cert: &str) -> BoxResult<tokio_rustls::TlsConnector> {
    let pem = std::fs::read(cert)?;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(c?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// A connection kept open (idling) until the end.
#[allow(dead_code)]
enum Idler {
    Plain(Conn<TcpStream>),
    Tls(Box<Conn<tokio_rustls::client::TlsStream<TcpStream>>>),
}

async fn start_idle<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Conn<S>,
    user: &str,
) -> BoxResult<()> {
    c.greeting().await?;
    c.login(user).await?;
    c.cmd(b"SELECT INBOX").await?;
    c.io.get_mut().write_all(b"i IDLE\r\n").await?;
    let mut line = Vec::new();
    c.io.read_until(b'\n', &mut line).await?;
    if !line.starts_with(b"+") {
        return Err(format!("IDLE: {}", String::from_utf8_lossy(&line)).into());
    }
    Ok(())
}

async fn idle(a: &[String]) -> BoxResult<()> {
    let [host, plain, tls, cert, n, users] = a else {
        return Err("idle HOST PLAIN TLS CERT N USERS".into());
    };
    let (plain, tls): (u16, u16) = (plain.parse()?, tls.parse()?);
    let n: usize = n.parse()?;
    let users: usize = users.parse()?;
    let connector = tls_connector(cert).await?;
    let t = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(200));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (host, connector, sem) = (host.clone(), connector.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await?;
            let user = format!("user{}@bench", i % users);
            if i % 2 == 0 {
                let tcp = TcpStream::connect((host.as_str(), tls)).await?;
                let name = rustls::pki_types::ServerName::try_from("localhost")?;
                let s = connector.connect(name, tcp).await?;
                let mut c = Conn::new(s);
                start_idle(&mut c, &user).await?;
                Ok::<Idler, Box<dyn std::error::Error + Send + Sync>>(Idler::Tls(Box::new(c)))
            } else {
                let tcp = TcpStream::connect((host.as_str(), plain)).await?;
                let mut c = Conn::new(tcp);
                start_idle(&mut c, &user).await?;
                Ok(Idler::Plain(c))
            }
        }));
    }
    let mut conns = Vec::with_capacity(n);
    for t in tasks {
        conns.push(t.await??);
    }
    println!("idle {} in {:.1}s", conns.len(), t.elapsed().as_secs_f64());
    tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
    })
    .await?;
    let tls_count = conns.iter().filter(|c| matches!(c, Idler::Tls(_))).count();
    drop(conns);
    eprintln!("closed ({tls_count} were TLS)");
    Ok(())
}

async fn big(a: &[String]) -> BoxResult<()> {
    let [host, port, rounds] = a else { return Err("big HOST PORT ROUNDS".into()) };
    let rounds: usize = rounds.parse()?;
    let mut c = Conn::new(TcpStream::connect((host.as_str(), port.parse::<u16>()?)).await?);
    c.greeting().await?;
    c.login("user0@bench").await?;
    let mut selects = Vec::new();
    let mut fetches = Vec::new();
    let mut count = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let (_, r) = c.cmd(b"SELECT Big").await?;
        selects.push(t.elapsed());
        if !r.contains("OK") {
            return Err(r.into());
        }
        let t = Instant::now();
        let (n, _) = c.cmd(b"UID FETCH 1:* (UID FLAGS)").await?;
        fetches.push(t.elapsed());
        count = n;
    }
    let ms = |v: &Vec<Duration>| -> String {
        let mut v: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        format!("min {:.0} ms, median {:.0} ms, max {:.0} ms", v[0], v[v.len() / 2], v[v.len() - 1])
    };
    println!("SELECT of {count} messages: {}", ms(&selects));
    println!("UID FETCH 1:* (UID FLAGS), {count} responses: {}", ms(&fetches));
    Ok(())
}

#[derive(Default)]
struct Stats {
    lat: BTreeMap<&'static str, Vec<Duration>>,
}

async fn load(a: &[String]) -> BoxResult<()> {
    let [host, port, clients, seconds] = a else {
        return Err("load HOST PORT CLIENTS SECONDS".into());
    };
    let port: u16 = port.parse()?;
    let clients: usize = clients.parse()?;
    let duration = Duration::from_secs(seconds.parse()?);
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for i in 0..clients {
        let host = host.clone();
        tasks.push(tokio::spawn(async move { load_client(&host, port, i, deadline).await }));
    }
    let mut all = Stats::default();
    for t in tasks {
        let s = t.await??;
        for (k, v) in s.lat {
            all.lat.entry(k).or_default().extend(v);
        }
    }
    let secs = duration.as_secs_f64();
    let total: usize = all.lat.values().map(Vec::len).sum();
    println!(
        "{:<8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "command", "count", "per sec", "mean ms", "p50 ms", "p99 ms"
    );
    for (k, mut v) in all.lat {
        v.sort();
        let mean = v.iter().map(Duration::as_secs_f64).sum::<f64>() / v.len() as f64 * 1000.0;
        let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1000.0;
        println!(
            "{:<8} {:>9} {:>9.0} {:>9.2} {:>9.2} {:>9.2}",
            k,
            v.len(),
            v.len() as f64 / secs,
            mean,
            p(0.5),
            p(0.99)
        );
    }
    println!("{:<8} {:>9} {:>9.0}", "total", total, total as f64 / secs);
    Ok(())
}

async fn timed<T>(
    stats: &mut Stats,
    name: &'static str,
    f: impl std::future::Future<Output = BoxResult<T>>,
) -> BoxResult<T> {
    let t = Instant::now();
    let r = f.await?;
    stats.lat.entry(name).or_default().push(t.elapsed());
    Ok(r)
}

/// One client's loop: a session of 10 rounds, then a new connection, until the deadline.
async fn load_client(host: &str, port: u16, i: usize, deadline: Instant) -> BoxResult<Stats> {
    let mut s = Stats::default();
    let user = format!("user{i}@bench");
    let msg = format!(
        "From: load@example.org\r\nTo: {user}\r\nSubject: load test {i}\r\nMessage-ID: <load{i}@example.org>\r\n\r\n{}\r\n",
        "Some text of a message body, long enough to look like mail. ".repeat(20)
    );
    let append = format!("APPEND INBOX {{{}+}}\r\n{msg}", msg.len());
    while Instant::now() < deadline {
        let mut c = Conn::new(TcpStream::connect((host, port)).await?);
        c.greeting().await?;
        timed(&mut s, "LOGIN", c.login(&user)).await?;
        timed(&mut s, "SELECT", c.cmd(b"SELECT INBOX")).await?;
        for _ in 0..10 {
            if Instant::now() >= deadline {
                break;
            }
            timed(&mut s, "APPEND", c.cmd(append.as_bytes())).await?;
            timed(&mut s, "FETCH", c.cmd(b"FETCH 1:* (FLAGS)")).await?;
            timed(&mut s, "FETCH", c.cmd(b"FETCH 1 (BODY.PEEK[HEADER] BODYSTRUCTURE)")).await?;
            timed(&mut s, "STORE", c.cmd(b"STORE 1 +FLAGS (\\Seen)")).await?;
            timed(&mut s, "SEARCH", c.cmd(b"SEARCH UNSEEN SUBJECT load")).await?;
            timed(&mut s, "STORE", c.cmd(b"STORE 1 +FLAGS (\\Deleted)")).await?;
            timed(&mut s, "EXPUNGE", c.cmd(b"EXPUNGE")).await?;
        }
        let _ = c.cmd(b"LOGOUT").await;
    }
    Ok(s)
}
