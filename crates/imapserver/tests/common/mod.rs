//! Test helpers: accounts in a temporary directory, sessions driven without sockets, and
//! `C:`/`S:` transcripts.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use imapserver::session::{MemoryAuthenticator, SimpleLoginLimiter};
use imapserver::{Action, Config, ConnectionInfo, Session};

pub const USER: &str = "mjl@mox.example";
pub const PASSWORD: &str = "testtest";

/// Cheap credentials: tests log in often.
pub fn cheap_params() -> sasl::DeriveParams {
    sasl::DeriveParams {
        scram_iterations: std::num::NonZeroU32::new(16).unwrap(),
        argon2_memory_kib: 64,
        argon2_passes: 1,
    }
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub config: Arc<Config>,
    pub auth: Arc<MemoryAuthenticator>,
}

impl Harness {
    pub fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let auth = Arc::new(MemoryAuthenticator::new(dir.path().join("accounts")));
        auth.add_user(USER, "mjl", PASSWORD, &cheap_params()).unwrap();
        let config = Arc::new(Config {
            hostname: "mail.mox.example".into(),
            authenticator: auth.clone(),
            login_limiter: Arc::new(SimpleLoginLimiter::new(
                Duration::ZERO,
                Duration::ZERO,
                1000,
                Duration::from_secs(60),
            )),
            limits: Default::default(),
            append_limit: None,
            allow_plaintext_auth: false,
        });
        Harness { dir, config, auth }
    }

    pub fn with_config(mut self, f: impl FnOnce(&mut Config)) -> Harness {
        let mut c = (*self.config).clone();
        f(&mut c);
        self.config = Arc::new(c);
        self
    }

    pub fn account(&self) -> store::Account {
        self.config.authenticator.open_account("mjl").unwrap()
    }

    /// A session as over TLS, greeting consumed.
    pub fn session(&self) -> Client {
        self.session_with(true)
    }

    pub fn session_with(&self, tls: bool) -> Client {
        let conn = ConnectionInfo {
            remote_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tls,
            starttls_available: !tls,
            channel_bindings: vec![],
        };
        let mut s = Session::new(self.config.clone(), conn);
        s.greeting();
        let greeting = String::from_utf8(s.take_output()).unwrap();
        Client { s, watch: None, watch_limit: None, greeting }
    }
}

/// A session driven in-process, with the account's change notifications fed to it.
pub struct Client {
    pub s: Session,
    pub watch: Option<store::ChangeReceiver>,
    /// How many change notifications wait for the session before they overflow (the store's
    /// default when `None`).
    pub watch_limit: Option<usize>,
    pub greeting: String,
}

impl Client {
    /// Sends bytes and returns all output until the session waits for input.
    pub fn send(&mut self, data: &str) -> String {
        self.send_bytes(data.as_bytes())
    }

    pub fn send_bytes(&mut self, data: &[u8]) -> String {
        self.pump_changes();
        let mut a = self.s.input(data);
        let mut out = self.s.take_output();
        while a == Action::Continue {
            a = self.s.resume();
            out.extend(self.s.take_output());
        }
        if self.watch.is_none()
            && let Some(acc) = self.s.account()
        {
            self.watch = Some(match self.watch_limit {
                Some(n) => acc.watch_with_limit(n),
                None => acc.watch(),
            });
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Feeds pending change notifications; flushes like the driver does.
    pub fn pump_changes(&mut self) -> String {
        let mut out = Vec::new();
        let Some(w) = &mut self.watch else { return String::new() };
        let mut changes = Vec::new();
        while let Some(c) = w.try_recv() {
            changes.push(c);
        }
        for c in changes {
            if self.s.changes(&c) {
                self.s.flush_changes();
                out.extend(self.s.take_output());
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    pub fn cmd(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n"))
    }

    pub fn login(&mut self) {
        let r = self.cmd(&format!("l LOGIN {USER} {PASSWORD}"));
        assert!(r.contains("l OK"), "{r}");
    }
}

/// Whether `actual` matches `pattern`, where `{*}` in the pattern matches any text.
pub fn glob(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split("{*}").collect();
    if parts.len() == 1 {
        return pattern == actual;
    }
    let mut rest = actual;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            let Some(pos) = rest.find(p) else { return false };
            rest = &rest[pos + p.len()..];
        }
    }
    true
}

/// Replays a transcript: `C:` lines are sent (each with CRLF); the `S:` lines after them must
/// match the output line by line (`{*}` matches anything). `#` lines are comments; `P:` lines
/// pump change notifications (the `S:` lines after them are what that produced). Lines with
/// a session number (`C2:`, `S2:`, `P2:`, `L2:`, `X2:`) are for `clients[1]`: another
/// connection of the same account. With `IMAP_TRANSCRIPT_SHOW` set in the environment, the
/// server's output is printed as `S:` lines (to write a transcript).
pub fn replay(clients: &mut [Client], transcript: &str) {
    let mut lines = transcript.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((kind, session, _)) = split_prefix(line) else {
            panic!("transcript line {n}: expected C:, P: or S:, got {line:?}");
        };
        let c = clients
            .get_mut(session)
            .unwrap_or_else(|| panic!("transcript line {n}: no session {}", session + 1));
        // "C: text" is a line the client sends; "X: n" is n bytes of "x" without a line end
        // (for large literals).
        let client_line = |l: &str| -> Option<String> {
            let (kind, s, rest) = split_prefix(l)?;
            if s != session {
                return None;
            }
            match kind {
                'X' => Some("x".repeat(rest.trim().parse().unwrap())),
                'C' => Some(format!("{}\r\n", rest.trim_end())),
                _ => None,
            }
        };
        let output = if kind == 'C' || kind == 'X' {
            let mut data = String::new();
            let mut pending = client_line(line);
            while let Some(cmd) = pending.take() {
                // A line announcing "{*+}" takes the "L:" lines after it as the literal, each
                // ending in CRLF, and gets their size filled in.
                if cmd.ends_with("{*+}\r\n") {
                    let mut lit = String::new();
                    while let Some((_, l)) = lines.peek() {
                        match split_prefix(l) {
                            Some(('L', s, rest)) if s == session => {
                                lit.push_str(rest.trim_end());
                                lit.push_str("\r\n");
                                lines.next();
                            }
                            _ => break,
                        }
                    }
                    data.push_str(&cmd.replace("{*+}", &format!("{{{}+}}", lit.len())));
                    data.push_str(&lit);
                } else {
                    data.push_str(&cmd);
                }
                pending = lines.peek().and_then(|(_, l)| client_line(l));
                if pending.is_some() {
                    lines.next();
                }
            }
            c.send(&data)
        } else if kind == 'P' {
            c.pump_changes()
        } else {
            panic!("transcript line {n}: expected C: or P:, got {line:?}");
        };
        let mut expected = Vec::new();
        while let Some((_, next)) = lines.peek() {
            match split_prefix(next) {
                Some(('S', s, rest)) if s == session => {
                    expected.push(
                        rest.trim_end()
                            .replace("\\x00", "\0")
                            .replace("\\x01", "\u{1}")
                            .replace("\\x02", "\u{2}")
                            .replace("\\x03", "\u{3}"),
                    );
                    lines.next();
                }
                _ => break,
            }
        }
        let actual: Vec<&str> = output.split("\r\n").collect();
        let actual = &actual[..actual.len().saturating_sub(1)];
        if std::env::var_os("IMAP_TRANSCRIPT_SHOW").is_some() {
            // For writing transcripts: what the server sent, in transcript form.
            let s = if session == 0 { String::new() } else { (session + 1).to_string() };
            println!("{n}: {line}");
            for a in actual {
                println!("S{s}: {a}");
            }
        }
        let ok = actual.len() == expected.len()
            && expected.iter().zip(actual).all(|(e, a)| glob(e, a.trim_end()));
        assert!(
            ok,
            "transcript line {n} {line:?}:\nexpected:\n{}\nactual:\n{}",
            expected.join("\n"),
            actual.join("\n")
        );
    }
}

/// Splits a transcript line into its kind (`C`, `S`, `L`, `X`, `P`), the session index (0 for
/// `C:`, 1 for `C2:`) and the text after the colon and one space.
pub fn split_prefix(line: &str) -> Option<(char, usize, &str)> {
    let kind = line.chars().next().filter(|k| "CSLXP".contains(*k))?;
    let rest = &line[1..];
    let (session, rest) = match rest.strip_prefix('2') {
        Some(r) => (1, r),
        None => (0, rest),
    };
    let rest = rest.strip_prefix(':')?;
    Some((kind, session, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// Our server on loopback: a STARTTLS port and an implicit TLS port, on its own runtime
/// thread, stopped when dropped.
pub struct TestServer {
    pub harness: Harness,
    pub plain_port: u16,
    pub tls_port: u16,
    pub ca_file: std::path::PathBuf,
    shutdown: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(Harness::new())
    }

    pub fn start_with(harness: Harness) -> TestServer {
        let ca = test_support::TestCa::new().unwrap();
        let tls = Arc::new(
            ca.server_config(&["localhost", "mail.mox.example"], test_support::Validity::Current)
                .unwrap(),
        );
        let ca_file = harness.dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let implicit = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        plain.set_nonblocking(true).unwrap();
        implicit.set_nonblocking(true).unwrap();
        let plain_port = plain.local_addr().unwrap().port();
        let tls_port = implicit.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let session = harness.config.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let plain = tokio::net::TcpListener::from_std(plain).unwrap();
                let implicit = tokio::net::TcpListener::from_std(implicit).unwrap();
                let a = imapserver::server::ListenerConfig::new(
                    session.clone(),
                    Some(tls.clone()),
                    false,
                );
                let b = imapserver::server::ListenerConfig::new(session, Some(tls), true);
                tokio::join!(
                    imapserver::server::serve(plain, Arc::new(a), rx.clone()),
                    imapserver::server::serve(implicit, Arc::new(b), rx),
                );
            });
        });
        TestServer { harness, plain_port, tls_port, ca_file, shutdown: tx, thread: Some(thread) }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs a Python script with Debian's python3 (which has imaplib); returns stdout, failing
/// loudly with stderr when the script fails.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("running /usr/bin/python3 (apt install python3)");
    assert!(
        out.status.success(),
        "python failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
