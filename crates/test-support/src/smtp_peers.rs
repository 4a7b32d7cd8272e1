//! Independent SMTP peers for tests, started on 127.0.0.1 with their own configuration, port
//! and certificate, and stopped when dropped:
//!
//! - [`Aiosmtpd`]: Python's aiosmtpd (Debian `python3-aiosmtpd`, run with `/usr/bin/python3`),
//!   with STARTTLS or implicit TLS, AUTH PLAIN/LOGIN/CRAM-MD5 and refused recipients; every
//!   accepted message is saved with its envelope ([`Received`]).
//! - [`MxPeer`]: aiosmtpd as an MX on 127.0.0.x:25, with STARTTLS, temporary failures,
//!   refused recipients, REQUIRETLS and DSN as asked, for the queue's deliveries.
//! - [`Postfix`]: Debian's `postfix`, as a private instance (own config directory, queue, data
//!   directory and maildirs) run with `postfix -c DIR start-fg`, never as the system service.
//! - [`PostfixProcess`]: the process part of any private Postfix (start on a written
//!   configuration, wait for smtpd, stop when dropped), for tests that write their own main.cf.
//! - [`TestCertificate`]: a self-signed certificate from rcgen, and a root store trusting it.
//!
//! A missing peer is a test failure with instructions, not a silent skip.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test support: failing loudly is the point.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A self-signed certificate for `localhost`, `127.0.0.1` and the given names.
#[derive(Debug, Clone)]
pub struct TestCertificate {
    /// PEM of the certificate.
    pub cert_pem: String,
    /// PEM of the private key (PKCS#8).
    pub key_pem: String,
    /// DER of the certificate.
    pub cert_der: Vec<u8>,
}

impl TestCertificate {
    /// Generates an ECDSA P-256 certificate.
    pub fn generate(extra_names: &[&str]) -> TestCertificate {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        names.extend(extra_names.iter().map(|n| n.to_string()));
        let certified = rcgen::generate_simple_self_signed(names).expect("rcgen");
        TestCertificate {
            cert_pem: certified.cert.pem(),
            key_pem: certified.signing_key.serialize_pem(),
            cert_der: certified.cert.der().to_vec(),
        }
    }

    /// A root store that trusts this certificate only.
    pub fn root_store(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(self.cert_der.clone()))
            .expect("add root");
        roots
    }

    /// Writes `cert.pem` and `key.pem` into `dir`.
    pub fn write(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

/// How a peer offers TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerTls {
    /// No TLS.
    None,
    /// STARTTLS on the plaintext port.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// Settings for [`Aiosmtpd`].
#[derive(Debug, Clone)]
pub struct AiosmtpdConfig {
    /// How TLS is offered.
    pub tls: PeerTls,
    /// Refuse MAIL before STARTTLS.
    pub require_starttls: bool,
    /// Allow AUTH without TLS.
    pub auth_without_tls: bool,
    /// Accounts for AUTH: (username, password).
    pub users: Vec<(String, String)>,
    /// Recipients refused with 550.
    pub reject: Vec<String>,
}

impl Default for AiosmtpdConfig {
    fn default() -> Self {
        AiosmtpdConfig {
            tls: PeerTls::StartTls,
            require_starttls: false,
            auth_without_tls: false,
            users: Vec::new(),
            reject: Vec::new(),
        }
    }
}

/// A message aiosmtpd accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The message bytes as received (dot-unstuffed, no terminator).
    pub data: Vec<u8>,
    /// MAIL FROM.
    pub mail_from: String,
    /// RCPT TO addresses accepted.
    pub rcpt_tos: Vec<String>,
    /// MAIL FROM parameters, uppercased.
    pub mail_options: Vec<String>,
    /// The authenticated user.
    pub login: Option<String>,
    /// The SASL mechanism used.
    pub mechanism: Option<String>,
    /// Whether the session used TLS.
    pub tls: bool,
    /// RCPT TO parameters, uppercased ([`MxPeer`] only; empty from [`Aiosmtpd`]).
    pub rcpt_options: Vec<String>,
    /// The client's IP address ([`MxPeer`] only; empty from [`Aiosmtpd`]).
    pub peer_ip: String,
}

/// The messages a peer script saved in `dir` (`<n>.json` envelope beside `<n>.eml`), in order.
fn received_in(dir: &Path) -> Vec<Received> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|json| {
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
            let strings = |key: &str| -> Vec<String> {
                meta[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            };
            Received {
                data: std::fs::read(json.with_extension("eml")).unwrap(),
                mail_from: meta["mail_from"].as_str().unwrap_or_default().to_string(),
                rcpt_tos: strings("rcpt_tos"),
                mail_options: strings("mail_options"),
                login: meta["login"].as_str().map(String::from),
                mechanism: meta["mechanism"].as_str().map(String::from),
                tls: meta["tls"].as_bool().unwrap_or(false),
                rcpt_options: strings("rcpt_options"),
                peer_ip: meta["peer"][0].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

/// Fails the test with instructions unless Debian's python3 can import aiosmtpd.
fn require_aiosmtpd() {
    let check = Command::new(PYTHON).args(["-c", "import aiosmtpd"]).output();
    if !check.is_ok_and(|o| o.status.success()) {
        panic!("aiosmtpd is needed: apt-get install python3-aiosmtpd (used via {PYTHON})");
    }
}

/// Spawns a peer script that prints `READY` once it listens, and waits (30 s at most) for that.
fn spawn_until_ready(command: &mut Command, what: &str) -> Child {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, ready) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    match ready.recv_timeout(Duration::from_secs(30)) {
        Ok(line) if line.trim() == "READY" => child,
        other => {
            let _ = child.kill();
            panic!("{what} did not start: {other:?}");
        }
    }
}

/// A running aiosmtpd.
#[derive(Debug)]
pub struct Aiosmtpd {
    child: Child,
    dir: tempfile::TempDir,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The server's certificate.
    pub certificate: TestCertificate,
}

const PYTHON: &str = "/usr/bin/python3";

impl Aiosmtpd {
    /// Starts aiosmtpd and waits until it listens.
    pub fn start(config: AiosmtpdConfig) -> Aiosmtpd {
        require_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let certificate = TestCertificate::generate(&["aiosmtpd.test"]);
        let (cert, key) = certificate.write(dir.path());
        let outdir = dir.path().join("messages");
        std::fs::create_dir(&outdir).unwrap();
        let port = crate::free_port().expect("a free port on 127.0.0.1");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/aiosmtpd_server.py");
        let mut command = Command::new(PYTHON);
        command.arg(script).arg("--port").arg(port.to_string()).arg("--outdir").arg(&outdir);
        command.arg("--cert").arg(&cert).arg("--key").arg(&key);
        command.arg("--tls").arg(match config.tls {
            PeerTls::None => "none",
            PeerTls::StartTls => "starttls",
            PeerTls::Implicit => "implicit",
        });
        if config.require_starttls {
            command.arg("--require-starttls");
        }
        if config.auth_without_tls {
            command.arg("--auth-without-tls");
        }
        for (user, password) in &config.users {
            command.arg("--user").arg(format!("{user}:{password}"));
        }
        for address in &config.reject {
            command.arg("--reject").arg(address);
        }
        let child = spawn_until_ready(command.stdin(Stdio::piped()), "aiosmtpd");
        Aiosmtpd { child, dir, port, certificate }
    }

    /// The PEM file of the server's certificate (to trust it, e.g. via `SSL_CERT_FILE`).
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The messages received so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        received_in(&self.dir.path().join("messages"))
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Options for [`MxPeer`].
#[derive(Debug, Clone, Default)]
pub struct MxPeerOptions {
    /// Certificate chain and key (PEM) for STARTTLS; none: no STARTTLS.
    pub tls: Option<(String, String)>,
    /// The first N RCPTs get 451.
    pub tempfail: usize,
    /// Every RCPT gets 451.
    pub tempfail_always: bool,
    /// Recipients refused with 550.
    pub reject: Vec<String>,
    /// Announce REQUIRETLS.
    pub requiretls: bool,
    /// Announce DSN.
    pub dsn: bool,
}

/// aiosmtpd as an MX on `ip`:25 (`testdata/queue/mx_peer.py`), for the queue to deliver to.
#[derive(Debug)]
pub struct MxPeer {
    child: Child,
    dir: tempfile::TempDir,
    /// The address it listens on (port 25).
    pub ip: String,
}

impl MxPeer {
    /// Starts the MX and waits until it listens.
    pub fn start(ip: &str, options: MxPeerOptions) -> MxPeer {
        require_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/queue/mx_peer.py");
        let mut command = Command::new(PYTHON);
        command.arg(script).args(["--host", ip, "--outdir"]).arg(dir.path());
        if let Some((cert, key)) = &options.tls {
            let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert_path, cert).unwrap();
            std::fs::write(&key_path, key).unwrap();
            command.arg("--cert").arg(cert_path).arg("--key").arg(key_path);
        }
        if options.tempfail > 0 {
            command.args(["--tempfail", &options.tempfail.to_string()]);
        }
        if options.tempfail_always {
            command.arg("--tempfail-always");
        }
        for r in &options.reject {
            command.args(["--reject", r]);
        }
        if options.requiretls {
            command.arg("--requiretls");
        }
        if options.dsn {
            command.arg("--dsn");
        }
        let child = spawn_until_ready(&mut command, &format!("MX peer on {ip}:25"));
        MxPeer { child, dir, ip: ip.to_string() }
    }

    /// Messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        received_in(self.dir.path())
    }

    /// The connections that said EHLO: (client ip, client port), in order, each once.
    pub fn connections(&self) -> Vec<(String, u16)> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for line in self.sessions() {
            let mut parts = line.split(' ');
            let ip = parts.next().unwrap_or_default().to_string();
            let port: u16 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            if seen.insert((ip.clone(), port)) {
                out.push((ip, port));
            }
        }
        out
    }

    /// The session log: a line `ip port tls|plain ehlo-name` per EHLO (again after STARTTLS).
    pub fn sessions(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("sessions.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Drop for MxPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Settings for [`Postfix`].
#[derive(Debug, Clone)]
pub struct PostfixConfig {
    /// The addresses Postfix accepts and delivers to maildirs; others get 550 5.1.1.
    pub mailboxes: Vec<String>,
    /// Offer STARTTLS.
    pub starttls: bool,
}

/// A private Postfix instance.
#[derive(Debug)]
pub struct Postfix {
    process: PostfixProcess,
    /// The smtpd port on 127.0.0.1.
    pub port: u16,
    /// The server's certificate.
    pub certificate: TestCertificate,
}

impl Postfix {
    /// Writes a configuration, starts `postfix -c DIR start-fg` and waits until smtpd answers.
    pub fn start(config: PostfixConfig) -> Postfix {
        if !Path::new("/usr/sbin/postfix").exists() {
            panic!("Postfix is needed: DEBIAN_FRONTEND=noninteractive apt-get install postfix");
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Postfix daemons run as the postfix user and must reach the config and queue.
        set_mode(root, 0o755);
        for sub in ["queue", "data", "mail"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        chown(&root.join("data"), "postfix:postfix");
        chown(&root.join("mail"), "nobody:nogroup");
        let certificate = TestCertificate::generate(&["mx.test.example"]);
        certificate.write(root);
        let port = crate::free_port().expect("a free port on 127.0.0.1");
        let d = root.display();
        let mut mailboxes = String::new();
        for address in &config.mailboxes {
            let (local, domain) = address.split_once('@').expect("mailbox address with @");
            mailboxes.push_str(&format!("{address} {domain}/{local}/\n"));
        }
        std::fs::write(root.join("vmailbox"), mailboxes).unwrap();
        let domains: Vec<&str> =
            config.mailboxes.iter().filter_map(|a| a.split_once('@').map(|(_, d)| d)).collect();
        let tls = if config.starttls {
            format!(
                "smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {d}/cert.pem\nsmtpd_tls_key_file = {d}/key.pem\n"
            )
        } else {
            "smtpd_tls_security_level = none\n".to_string()
        };
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = texthash:{d}/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
alias_maps =
alias_database =
biff = no
smtputf8_enable = yes
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
{tls}",
            domains = domains.join(" ")
        );
        std::fs::write(root.join("main.cf"), main_cf).unwrap();
        // Only the services needed for receiving and virtual delivery; no chroot.
        let master_cf = format!(
            "127.0.0.1:{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"
        );
        let process = PostfixProcess::start(dir, &master_cf, ("127.0.0.1", port));
        Postfix { process, port, certificate }
    }

    /// The PEM file of the server's certificate.
    pub fn cert_path(&self) -> PathBuf {
        self.process.dir().join("cert.pem")
    }

    /// Postfix's log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Waits until a message for `address` is in its maildir, and returns it (LF line
    /// endings, as Postfix's virtual agent writes them).
    pub fn wait_for_delivery(&self, address: &str, timeout: Duration) -> Vec<u8> {
        let (local, domain) = address.split_once('@').expect("address with @");
        let new = self.process.dir().join("mail").join(domain).join(local).join("new");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(file) =
                std::fs::read_dir(&new).ok().and_then(|mut d| d.next()).and_then(|e| e.ok())
            {
                return std::fs::read(file.path()).unwrap();
            }
            if Instant::now() > deadline {
                panic!("no delivery to {address} within {timeout:?}; maillog:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A private Postfix process: `postfix -c DIR start-fg` on a configuration directory whose
/// main.cf the caller wrote, running until dropped (`postfix stop`, then a kill after 10 s).
#[derive(Debug)]
pub struct PostfixProcess {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PostfixProcess {
    /// Writes `master_cf` into `dir`, starts Postfix on it and waits up to 30 s until smtpd
    /// answers on `listen`; panics with Postfix's log (main.cf's `maillog_file = DIR/maillog`)
    /// if it exits or does not answer.
    pub fn start(
        dir: tempfile::TempDir,
        master_cf: &str,
        listen: impl std::net::ToSocketAddrs + Copy + std::fmt::Debug,
    ) -> PostfixProcess {
        if !Path::new("/usr/sbin/postfix").exists() {
            panic!("Postfix is needed: DEBIAN_FRONTEND=noninteractive apt-get install postfix");
        }
        std::fs::write(dir.path().join("master.cf"), master_cf).unwrap();
        let child = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(dir.path())
            .arg("start-fg")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut postfix = PostfixProcess { dir, child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(listen).is_err() {
            if Instant::now() > deadline
                || postfix.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_some())
            {
                panic!("Postfix did not start on {listen:?}; maillog:\n{}", postfix.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        postfix
    }

    /// The configuration directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Postfix's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }
}

impl Drop for PostfixProcess {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.dir.path())
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Removes the headers Postfix adds on receipt and delivery (Return-Path, X-Original-To,
/// Delivered-To and the first Received field) and restores CRLF line endings.
pub fn strip_postfix_delivery_headers(delivered: &[u8]) -> Vec<u8> {
    let text = delivered;
    let mut pos = 0;
    let mut received_seen = false;
    loop {
        let rest = &text[pos..];
        let end = field_end(rest);
        let field = &rest[..end];
        let lower = String::from_utf8_lossy(field).to_ascii_lowercase();
        let added = lower.starts_with("return-path:")
            || lower.starts_with("x-original-to:")
            || lower.starts_with("delivered-to:")
            || (!received_seen && lower.starts_with("received:"));
        if !added {
            break;
        }
        received_seen |= lower.starts_with("received:");
        pos += end;
    }
    let mut out = Vec::with_capacity(text.len() - pos + 100);
    for line in text[pos..].split_inclusive(|&b| b == b'\n') {
        match line.strip_suffix(b"\n") {
            Some(body) => {
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// The length of the header field at the start of `text`, continuation lines included.
fn field_end(text: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(nl) = text[pos..].iter().position(|&b| b == b'\n') {
        pos += nl + 1;
        if !matches!(text.get(pos), Some(b' ' | b'\t')) {
            return pos;
        }
    }
    text.len()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, owner: &str) {
    let status = Command::new("chown").arg(owner).arg(path).status().unwrap();
    assert!(status.success(), "chown {owner} {}", path.display());
}
