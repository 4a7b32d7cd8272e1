//! Shared pieces of the queue's integration tests: MX peers on 127.0.0.x:25
//! (`test_support::MxPeer`, aiosmtpd; and Postfix), certificates from a test CA, a loopback DNS
//! server, and a queue wired to them.
//!
//! Each test uses its own addresses in 127.0.0.10-99 (the queue's range), so tests run in
//! parallel, also with other crates' tests.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use queue::{LocalDelivery, LocalDeliveryError, ManualClock, Queue, Settings};
use test_support::DnsTestServer;

const PYTHON: &str = "/usr/bin/python3";

pub use test_support::{MxPeer, MxPeerOptions as PeerOptions};

/// A private Postfix listening on `ip`:25, delivering `mailboxes` to maildirs and refusing
/// other recipients of their domains with 550 5.1.1.
#[derive(Debug)]
pub struct PostfixMx {
    process: test_support::PostfixProcess,
}

impl PostfixMx {
    pub fn start(ip: &str, mailboxes: &[&str]) -> PostfixMx {
        if !Path::new("/usr/sbin/postfix").exists() {
            panic!("Postfix is needed: DEBIAN_FRONTEND=noninteractive apt-get install postfix");
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        set_mode(root, 0o755);
        for sub in ["queue", "data", "mail"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        chown(&root.join("data"), "postfix:postfix");
        chown(&root.join("mail"), "nobody:nogroup");
        let d = root.display();
        let mut map = String::new();
        let mut domains = BTreeSet::new();
        for address in mailboxes {
            let (local, domain) = address.split_once('@').unwrap();
            map.push_str(&format!("{address} {domain}/{local}/\n"));
            domains.insert(domain.to_string());
        }
        std::fs::write(root.join("vmailbox"), map).unwrap();
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-{ip}.test
mydomain = test
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
smtpd_tls_security_level = none
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
",
            domains = domains.into_iter().collect::<Vec<_>>().join(" ")
        );
        std::fs::write(root.join("main.cf"), main_cf).unwrap();
        let master_cf = format!(
            "{ip}:25 inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
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
        PostfixMx { process: test_support::PostfixProcess::start(dir, &master_cf, (ip, 25)) }
    }

    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The messages delivered to `address`'s maildir.
    pub fn delivered(&self, address: &str) -> Vec<Vec<u8>> {
        let (local, domain) = address.split_once('@').unwrap();
        let new = self.process.dir().join("mail").join(domain).join(local).join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files.into_iter().map(|f| std::fs::read(f).unwrap()).collect()
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, owner: &str) {
    let status = Command::new("chown").arg(owner).arg(path).status().unwrap();
    assert!(status.success(), "chown {owner} {}", path.display());
}

/// PEM of DER data.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A certificate for `names` from `ca`: (chain PEM with the CA certificate, key PEM, leaf DER).
pub fn ca_certificate(ca: &test_support::TestCa, names: &[&str]) -> (String, String, Vec<u8>) {
    let (chain, key) = ca.certificate(names, test_support::Validity::Current).unwrap();
    let leaf = chain[0].to_vec();
    let mut chain_pem = pem("CERTIFICATE", &leaf);
    chain_pem.push_str(&ca.pem());
    (chain_pem, pem("PRIVATE KEY", key.secret_der()), leaf)
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo, in hex (for TLSA 3 1 1).
pub fn spki_sha256_hex(cert_der: &[u8]) -> String {
    let der = rustls::pki_types::CertificateDer::from(cert_der.to_vec());
    let cert = webpki::EndEntityCert::try_from(&der).unwrap();
    hex(ring::digest::digest(&ring::digest::SHA256, cert.subject_public_key_info().as_ref())
        .as_ref())
}

/// SHA-256 of DER data, in hex (for TLSA x 0 1).
pub fn sha256_hex(der: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fixed start time for manual clocks.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Waits until `f` gives `Some`, or panics with `what` after `timeout`.
pub async fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timeout waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A [`LocalDelivery`] that keeps what it gets, for local domains given.
#[derive(Debug, Default)]
pub struct RecordingLocal {
    pub domains: Vec<dns::Domain>,
    pub to_accounts: Mutex<Vec<(String, Vec<u8>)>>,
    pub to_addresses: Mutex<Vec<(String, Vec<u8>)>>,
}

impl RecordingLocal {
    pub fn account_messages(&self, account: &str) -> Vec<Vec<u8>> {
        self.to_accounts
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| a == account)
            .map(|(_, m)| m.clone())
            .collect()
    }
}

#[async_trait::async_trait]
impl LocalDelivery for RecordingLocal {
    fn is_local_domain(&self, domain: &dns::Domain) -> bool {
        self.domains.contains(domain)
    }

    async fn deliver(
        &self,
        recipient: &message::Address,
        message: &[u8],
    ) -> Result<(), LocalDeliveryError> {
        self.to_addresses.lock().unwrap().push((recipient.to_string(), message.to_vec()));
        Ok(())
    }

    async fn deliver_to_account(
        &self,
        account: &str,
        message: &[u8],
    ) -> Result<(), LocalDeliveryError> {
        self.to_accounts.lock().unwrap().push((account.to_string(), message.to_vec()));
        Ok(())
    }
}

/// A queue with a loopback DNS server, running in the background.
pub struct TestQueue {
    pub dir: tempfile::TempDir,
    pub dns: DnsTestServer,
    pub queue: Queue,
    pub clock: Option<Arc<ManualClock>>,
    pub local: Arc<RecordingLocal>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// How to build a [`TestQueue`].
pub struct TestQueueOptions {
    pub zone: String,
    pub manual_clock: bool,
    pub settings: Box<dyn FnOnce(&mut Settings)>,
    pub fetcher: Option<mtasts::Fetcher>,
    pub pkix_roots: Option<rustls::RootCertStore>,
    pub local_domains: Vec<&'static str>,
}

impl Default for TestQueueOptions {
    fn default() -> Self {
        TestQueueOptions {
            zone: String::new(),
            manual_clock: false,
            settings: Box::new(|_| {}),
            fetcher: None,
            pkix_roots: None,
            local_domains: vec!["mox.test"],
        }
    }
}

/// Logs to the test output when `QUEUE_TEST_LOG` is set (e.g. `queue=debug`).
pub fn init_logging() {
    if let Ok(filter) = std::env::var("QUEUE_TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

impl TestQueue {
    pub async fn start(options: TestQueueOptions) -> TestQueue {
        init_logging();
        let zone = dns::MockResolver::from_zone(&options.zone).unwrap();
        let dns = DnsTestServer::start(zone).await.unwrap();
        let mut resolver = dns::HickoryResolver::with_server(dns.addr()).unwrap();
        resolver.set_timeout(Duration::from_secs(5)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::new(dns::Domain::parse("mail.mox.test").unwrap());
        settings.timeouts = smtpclient::Timeouts::all(Duration::from_secs(20));
        settings.connect_timeout = Duration::from_secs(5);
        (options.settings)(&mut settings);
        let local = Arc::new(RecordingLocal {
            domains: options.local_domains.iter().map(|d| dns::Domain::parse(d).unwrap()).collect(),
            ..Default::default()
        });
        let mut builder = Queue::builder(dir.path().join("queue"), settings)
            .resolver(Arc::new(resolver))
            .local_delivery(local.clone());
        // An MTA-STS policy server that is not there, unless a test serves one.
        let fetcher = options.fetcher.unwrap_or_else(|| {
            mtasts::Fetcher::new()
                .with_connector(mtasts::FixedConnector::new("127.0.0.1:9".parse().unwrap()))
                .with_timeout(Duration::from_secs(2))
        });
        builder = builder.mtasts_fetcher(fetcher);
        if let Some(roots) = options.pkix_roots {
            builder = builder.pkix_roots(Arc::new(roots));
        }
        let clock = options.manual_clock.then(|| Arc::new(ManualClock::new(t0())));
        if let Some(clock) = &clock {
            builder = builder.clock(clock.clone());
        }
        let queue = builder.open().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runner = queue.clone();
        let task = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        TestQueue { dir, dns, queue, clock, local, stop: Some(stop), task: Some(task) }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Waits until entry `id` has made `attempts` attempts (or is gone, when `attempts` is 0).
    pub async fn wait_attempts(&self, id: queue::QueueId, attempts: u32) -> Option<queue::Entry> {
        let queue = self.queue.clone();
        wait_for(&format!("entry {id} at {attempts} attempts"), Duration::from_secs(60), || {
            match queue.entry(id) {
                Ok(e) if e.attempts >= attempts => Some(Some(e)),
                Ok(_) => None,
                Err(_) => Some(None),
            }
        })
        .await
    }

    /// Waits until entry `id` is gone from the queue (delivered or failed for good).
    pub async fn wait_gone(&self, id: queue::QueueId) {
        let queue = self.queue.clone();
        wait_for(&format!("entry {id} to leave the queue"), Duration::from_secs(60), || {
            queue.entry(id).is_err().then_some(())
        })
        .await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.as_ref().expect("manual clock").advance(by);
    }
}

/// A small message with a Message-ID.
pub fn message(id: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: <me@mox.test>\r\nTo: <you@example.test>\r\nSubject: {subject}\r\nMessage-ID: <{id}@mox.test>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nHello, {subject}.\r\n"
    )
    .into_bytes()
}

/// The fields of the delivery-status part of a DSN.
pub fn dsn_status(dsn: &[u8]) -> queue::dsn::DeliveryStatus {
    let part = queue::dsn::find_delivery_status(dsn).expect("a delivery-status part");
    queue::dsn::parse_delivery_status(&part).unwrap()
}
