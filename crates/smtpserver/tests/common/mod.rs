//! A real server for integration tests: the tokio driver with [`Mailer`] over a
//! [`StaticDirectory`] in a temporary directory, an in-memory DNS zone, and SMTP,
//! submission (STARTTLS) and submissions (TLS) listeners on free ports of `ip`.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // Test code.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use smtpserver::directory::{AccountSettings, Destination, StaticDirectory};
use smtpserver::limits::{LimitSettings, Limits};
use smtpserver::server::{ConnectionIds, ListenerSetup, serve};
use smtpserver::{Mailer, Service, SessionConfig};

pub const PASSWORD: &str = "testtest";

pub type ConfigureDirectory = Box<dyn FnOnce(&mut StaticDirectory) + Send>;
pub type ConfigureSession = Box<dyn Fn(&mut SessionConfig) + Send>;

pub struct Options {
    pub ip: IpAddr,
    pub zone: String,
    pub limits: LimitSettings,
    pub first_time_sender_delay: Duration,
    pub dnsbl_zones: Vec<String>,
    pub configure: Option<ConfigureDirectory>,
    pub configure_session: Option<ConfigureSession>,
    pub localserve: bool,
    pub outgoing: Option<Arc<dyn smtpserver::Outgoing>>,
    /// Ports to listen on (smtp, submission, submissions); 0 for any.
    pub ports: (u16, u16, u16),
    /// Failed-login limiter; default: mox's limits without delays.
    pub auth_limiter: Option<Arc<runtime::AuthLimiter>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ip: "127.0.0.1".parse().unwrap(),
            zone: String::new(),
            limits: LimitSettings::unlimited(),
            first_time_sender_delay: Duration::ZERO,
            dnsbl_zones: Vec::new(),
            configure: None,
            configure_session: None,
            localserve: false,
            outgoing: None,
            ports: (0, 0, 0),
            auth_limiter: None,
        }
    }
}

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub smtp: SocketAddr,
    pub submission: SocketAddr,
    pub submissions: SocketAddr,
    pub directory: Arc<StaticDirectory>,
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    pub mailer: Arc<Mailer>,
    shutdown: runtime::Shutdown,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

pub fn tls_config(names: &[&str]) -> (Arc<rustls::ServerConfig>, Vec<u8>, String) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let cert_der = certified.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![rustls::pki_types::CertificateDer::from(cert_der.clone())], key)
    .unwrap();
    (Arc::new(config), cert_der, certified.cert.pem())
}

/// The default directory: domain mox.example (catchall separator "+"), account mjl with
/// mjl@mox.example and password [`PASSWORD`], account other with other@mox.example.
pub fn directory(dir: &std::path::Path) -> StaticDirectory {
    let hostname = dns::Domain::parse("mail.mox.example").unwrap();
    let mut d = StaticDirectory::new(dir, hostname, "mjl");
    d.add_domain(dns::Domain::parse("mox.example").unwrap(), &["+"], false);
    let cheap = sasl::DeriveParams {
        scram_iterations: std::num::NonZeroU32::new(4096).unwrap(),
        argon2_memory_kib: 1024,
        argon2_passes: 1,
    };
    d.add_account_with(
        "mjl",
        Some(PASSWORD),
        AccountSettings { rejects_mailbox: Some("Rejects".into()), ..Default::default() },
        &cheap,
    );
    d.add_address("mjl", "mjl@mox.example", Destination::default());
    d.add_account_with("other", Some(PASSWORD), AccountSettings::default(), &cheap);
    d.add_address("other", "other@mox.example", Destination::default());
    d
}

impl TestServer {
    pub async fn start(mut opts: Options) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut directory = directory(dir.path());
        if let Some(f) = opts.configure.take() {
            f(&mut directory);
        }
        let directory = Arc::new(directory);
        let zone = dns::MockResolver::from_zone(&opts.zone).unwrap();
        let limits = Limits::new(opts.limits.clone());
        let mut mailer = Mailer::new(directory.clone(), Arc::new(zone), limits.clone());
        if opts.localserve {
            use smtpserver::directory::Directory;
            let fallback =
                match directory.lookup(&message::Address::parse("mjl@mox.example").unwrap()) {
                    smtpserver::directory::Lookup::Account(r) => r,
                    _ => unreachable!(),
                };
            mailer = mailer.with_localserve(fallback);
        }
        let auth = opts
            .auth_limiter
            .take()
            .unwrap_or_else(|| Arc::new(runtime::AuthLimiter::new(Duration::ZERO, Duration::ZERO)));
        mailer = mailer.with_auth_limiter(auth);
        if let Some(o) = opts.outgoing.take() {
            mailer = mailer.with_outgoing(o);
        }
        let mailer = Arc::new(mailer);
        let (tls, cert_der, cert_pem) = tls_config(&["mail.mox.example", "localhost"]);
        let ids = Arc::new(ConnectionIds::new());
        let shutdown = runtime::Shutdown::new();
        let mut tasks = Vec::new();
        let mut addrs = Vec::new();
        for (service, port) in [
            (Service::Smtp, opts.ports.0),
            (Service::Submission, opts.ports.1),
            (Service::Submissions, opts.ports.2),
        ] {
            let listener = tokio::net::TcpListener::bind((opts.ip, port)).await.unwrap();
            addrs.push(listener.local_addr().unwrap());
            let mut config =
                SessionConfig::new(service, dns::Domain::parse("mail.mox.example").unwrap(), true);
            config.first_time_sender_delay = opts.first_time_sender_delay;
            config.dnsbl_zones =
                opts.dnsbl_zones.iter().map(|z| dns::Domain::parse(z).unwrap()).collect();
            if let Some(f) = &opts.configure_session {
                f(&mut config);
            }
            let setup = ListenerSetup {
                config: Arc::new(config),
                tls: Some(tls.clone()),
                limits: limits.clone(),
                connections: None,
                ids: ids.clone(),
            };
            tasks.push(tokio::spawn(serve(listener, setup, mailer.clone(), shutdown.clone())));
        }
        TestServer {
            dir,
            smtp: addrs[0],
            submission: addrs[1],
            submissions: addrs[2],
            directory,
            cert_der,
            cert_pem,
            mailer,
            shutdown,
            tasks,
        }
    }

    /// Messages in a mailbox: (prefix, message, flags).
    pub fn messages(&self, account: &str, mailbox: &str) -> Vec<Stored> {
        use smtpserver::directory::Directory;
        let acc = self.directory.open_account(account).unwrap();
        let snap = acc.snapshot().unwrap();
        let Some(mb) = snap.mailbox(mailbox).unwrap() else { return Vec::new() };
        let states = snap.message_states(mb.id, &store::UidSet::all()).unwrap();
        states
            .iter()
            .map(|s| {
                let m = snap.message(s.id).unwrap().unwrap();
                let served = snap.open_message(s.id).unwrap().read_all().unwrap();
                // Served messages start with the prefix.
                assert!(served.starts_with(&m.prefix));
                let data = served[m.prefix.len()..].to_vec();
                Stored {
                    prefix: String::from_utf8_lossy(&m.prefix).into_owned(),
                    data,
                    flags: s.flags.clone(),
                    mail_from: m.mail_from,
                }
            })
            .collect()
    }

    /// Waits until the mailbox has `n` messages.
    pub async fn wait_messages(&self, account: &str, mailbox: &str, n: usize) -> Vec<Stored> {
        for _ in 0..200 {
            let m = self.messages(account, mailbox);
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {n} messages in {account}/{mailbox}");
    }

    pub async fn stop(self) {
        self.stop_keep_dir().await;
    }

    /// Stops the server and drops everything but its data directory, which is returned (for
    /// looking at the accounts with the server gone).
    pub async fn stop_keep_dir(self) -> tempfile::TempDir {
        self.shutdown.trigger();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        assert_eq!(
            self.shutdown.drain(Duration::from_secs(5)).await,
            0,
            "connections left after drain"
        );
        self.dir
    }
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub prefix: String,
    pub data: Vec<u8>,
    pub flags: store::Flags,
    pub mail_from: String,
}

/// What a test client talks over: TCP or TLS.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// A line-oriented raw SMTP client for tests.
pub struct Raw {
    stream: tokio::io::BufReader<Box<dyn Io>>,
}

/// A client over implicit TLS to `addr`, after the greeting and EHLO.
pub async fn tls_client(server: &TestServer, addr: SocketAddr) -> Raw {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(server.cert_der.clone())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("mail.mox.example").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    let mut c = Raw { stream: tokio::io::BufReader::new(Box::new(tls)) };
    assert!(c.reply().await.starts_with("220 "));
    assert!(c.cmd("EHLO client.example").await.starts_with("250-"));
    c
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw::connect_from(addr, None).await
    }

    /// Connects from a given local address (127.x.y.z).
    pub async fn connect_from(addr: SocketAddr, from: Option<IpAddr>) -> Raw {
        let stream = match from {
            None => tokio::net::TcpStream::connect(addr).await.unwrap(),
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(SocketAddr::new(ip, 0)).unwrap();
                socket.connect(addr).await.unwrap()
            }
        };
        Raw { stream: tokio::io::BufReader::new(Box::new(stream)) }
    }

    pub async fn send(&mut self, s: &str) {
        use tokio::io::AsyncWriteExt;
        self.stream.get_mut().write_all(s.as_bytes()).await.unwrap();
    }

    pub async fn send_bytes(&mut self, b: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.stream.get_mut().write_all(b).await.unwrap();
    }

    /// Reads one reply (all its lines), joined with "\n".
    pub async fn reply(&mut self) -> String {
        use tokio::io::AsyncBufReadExt;
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(20), self.stream.read_line(&mut line))
                .await
                .expect("reply timeout")
                .unwrap();
            if n == 0 {
                if lines.is_empty() {
                    return String::new();
                }
                break;
            }
            let line = line.trim_end().to_string();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                break;
            }
        }
        lines.join("\n")
    }

    /// Sends a command and returns the reply.
    pub async fn cmd(&mut self, s: &str) -> String {
        self.send(&format!("{s}\r\n")).await;
        self.reply().await
    }

    /// EHLO and the transaction up to the 354, then the message (dot-stuffed by the caller)
    /// and the final reply.
    pub async fn deliver(&mut self, from: &str, to: &[&str], message: &str) -> String {
        let r = self.cmd(&format!("MAIL FROM:<{from}>")).await;
        if !r.starts_with("250") {
            return r;
        }
        for t in to {
            let r = self.cmd(&format!("RCPT TO:<{t}>")).await;
            if !r.starts_with("250") && to.len() == 1 {
                self.cmd("RSET").await;
                return r;
            }
        }
        let r = self.cmd("DATA").await;
        if !r.starts_with("354") {
            return r;
        }
        self.send(message).await;
        self.send(".\r\n").await;
        self.reply().await
    }
}
