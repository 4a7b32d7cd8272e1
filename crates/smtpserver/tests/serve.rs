//! The server as `mox serve` runs it, from a real mox.conf/domains.conf (the `serve` example:
//! config crate, runtime accounts with stored credentials, TLS key/certificate files), in a
//! process of its own: swaks and smtplib talk to it, it is killed with SIGKILL while a client
//! sends and every message that got a 250 must be in its mailbox afterwards, and Postfix
//! relays to it as the MX of a domain found in a loopback DNS zone.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "testtest";

/// The zone the server resolves through: the client at 127.0.0.1 may send for remote.example.
const ZONE: &str = r#"
1.0.0.127.in-addr.arpa   PTR  mail.remote.example
mail.remote.example      A    127.0.0.1
mail.remote.example      TXT  "v=spf1 ip4:127.0.0.0/8 -all"
remote.example           MX   10 mail.remote.example
remote.example           TXT  "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc.remote.example    TXT  "v=DMARC1; p=reject"
"#;

/// The `serve` example binary, built by `cargo test` beside the test binaries.
fn serve_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("examples").join("serve");
    assert!(bin.exists(), "{} missing: cargo test builds examples", bin.display());
    bin
}

struct Ports {
    ip: IpAddr,
    smtp: u16,
    submission: u16,
    submissions: u16,
}

fn free_ports(ip: IpAddr) -> Ports {
    let port = || std::net::TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap().port();
    Ports { ip, smtp: port(), submission: port(), submissions: port() }
}

/// Writes mox.conf, domains.conf and a certificate into `dir`.
fn write_config(dir: &Path, ports: &Ports) {
    let names = vec!["mail.mox.example".to_string(), "localhost".to_string(), ports.ip.to_string()];
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let mox_conf = format!(
        "DataDir: data
LogLevel: info
Hostname: mail.mox.example
Listeners:
\tpublic:
\t\tIPs:
\t\t\t- {ip}
\t\tTLS:
\t\t\tKeyCerts:
\t\t\t\t-
\t\t\t\t\tCertFile: cert.pem
\t\t\t\t\tKeyFile: key.pem
\t\tSMTP:
\t\t\tEnabled: true
\t\t\tPort: {smtp}
\t\t\tFirstTimeSenderDelay: 0s
\t\tSubmission:
\t\t\tEnabled: true
\t\t\tPort: {submission}
\t\tSubmissions:
\t\t\tEnabled: true
\t\t\tPort: {submissions}
Postmaster:
\tAccount: mjl
\tMailbox: Inbox
",
        ip = ports.ip,
        smtp = ports.smtp,
        submission = ports.submission,
        submissions = ports.submissions,
    );
    let domains_conf = "Domains:
\tmox.example:
\t\tLocalpartCatchallSeparator: +
Accounts:
\tmjl:
\t\tDomain: mox.example
\t\tDestinations:
\t\t\tmjl@mox.example: nil
\t\tRejectsMailbox: Rejects
\tother:
\t\tDomain: mox.example
\t\tDestinations:
\t\t\tother@mox.example: nil
";
    std::fs::write(dir.join("mox.conf"), mox_conf).unwrap();
    std::fs::write(dir.join("domains.conf"), domains_conf).unwrap();
}

struct Server {
    child: Child,
}

impl Server {
    /// Starts the server; the first start sets mjl's password (stored in the account).
    fn start(dir: &Path, dns: SocketAddr, ports: &Ports) -> Server {
        let mut cmd = Command::new(serve_binary());
        cmd.arg(dir.join("mox.conf")).args(["--dns-server", &dns.to_string(), "--unlimited"]);
        if !dir.join("data/accounts/mjl").exists() {
            cmd.args(["--set-password", &format!("mjl:{PASSWORD}")]);
        }
        let child =
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let server = Server { child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect((ports.ip, ports.submissions)).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages in a mailbox of an account of the data directory: the served bytes (prefix
/// and file).
fn mailbox(dir: &Path, account: &str, mailbox: &str) -> Vec<Vec<u8>> {
    let acc = store::Account::open_existing(&dir.join("data/accounts").join(account)).unwrap();
    let snap = acc.snapshot().unwrap();
    let Some(mb) = snap.mailbox(mailbox).unwrap() else { return Vec::new() };
    snap.message_states(mb.id, &store::UidSet::all())
        .unwrap()
        .iter()
        .map(|s| snap.open_message(s.id).unwrap().read_all().unwrap())
        .collect()
}

fn swaks(args: &[&str]) -> String {
    let out =
        Command::new("swaks").args(args).output().expect("swaks is needed: apt-get install swaks");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "swaks failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn mox_conf_end_to_end_with_swaks_and_smtplib() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports("127.0.0.1".parse().unwrap());
    write_config(dir.path(), &ports);
    let dns =
        test_support::DnsTestServer::start_on_thread(dns::MockResolver::from_zone(ZONE).unwrap())
            .unwrap();
    let server = Server::start(dir.path(), dns.addr(), &ports);

    // Incoming, with PIPELINING and STARTTLS.
    let out = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", ports.smtp),
        "--ehlo",
        "mail.remote.example",
        "--from",
        "alice@remote.example",
        "--to",
        "mjl@mox.example",
        "--h-From",
        "alice@remote.example",
        "--pipeline",
        "--tls",
    ]);
    assert!(out.contains("250 2.2.0 it is done"), "{out}");
    // Unknown recipients are refused at RCPT.
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", ports.smtp), "--ehlo", "mail.remote.example"])
        .args(["--from", "alice@remote.example", "--to", "nobody@mox.example"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("550 5.1.1 no such user"));

    // Submission with the password stored by the runtime's accounts.
    let ca = dir.path().join("cert.pem");
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
ctx.check_hostname = False
with smtplib.SMTP("127.0.0.1", {port}) as c:
    c.starttls(context=ctx)
    c.login("mjl@mox.example", "{PASSWORD}")
    c.sendmail("mjl@mox.example", ["other@mox.example"], "From: mjl@mox.example\r\nSubject: hi\r\n\r\nhello other\r\n")
print("sent")
"#,
        ca = ca.display(),
        port = ports.submission,
    );
    let out = Command::new("/usr/bin/python3").arg("-c").arg(&script).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "sent\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.kill();

    let inbox = mailbox(dir.path(), "mjl", "Inbox");
    assert_eq!(inbox.len(), 1);
    let text = String::from_utf8_lossy(&inbox[0]).replace("\r\n\t", " ");
    assert!(text.contains("spf=pass smtp.mailfrom=remote.example"), "{text}");
    assert!(text.contains("dmarc=pass"), "{text}");
    assert!(text.contains("with ESMTPS id"), "{text}");
    let other = mailbox(dir.path(), "other", "Inbox");
    assert_eq!(other.len(), 1);
    assert!(String::from_utf8_lossy(&other[0]).ends_with("hello other\r\n"));
}

/// A client sends while the server is killed with SIGKILL at random moments and restarted,
/// 25 times: every message that got a 250 is in the mailbox afterwards, byte for byte.
#[test]
fn crash_test_every_250_is_stored() {
    let kills: usize =
        std::env::var("SMTP_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(25);
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports("127.0.0.1".parse().unwrap());
    write_config(dir.path(), &ports);
    let dns =
        test_support::DnsTestServer::start_on_thread(dns::MockResolver::from_zone(ZONE).unwrap())
            .unwrap();
    let mut server = Some(Server::start(dir.path(), dns.addr(), &ports));

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let addr = SocketAddr::new(ports.ip, ports.smtp);
    let client = {
        let (stop, acked) = (stop.clone(), acked.clone());
        std::thread::spawn(move || sender(addr, &stop, &acked))
    };
    let mut rng = seed();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(30 + next(&mut rng) % 400));
        server.take().unwrap().kill();
        server = Some(Server::start(dir.path(), dns.addr(), &ports));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let attempts = client.join().unwrap();
    server.take().unwrap().kill();

    let acked = acked.lock().unwrap().clone();
    let stored = mailbox(dir.path(), "mjl", "Inbox");
    let bodies: std::collections::HashSet<Vec<u8>> = stored
        .iter()
        .map(|m| {
            let i = m.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            m[i + 4..].to_vec()
        })
        .collect();
    for body in &acked {
        assert!(
            bodies.contains(body.as_bytes()),
            "acknowledged message missing or damaged: {}",
            &body[..40]
        );
    }
    eprintln!(
        "crash test: {kills} kills, {attempts} attempts, {} acknowledged, {} stored",
        acked.len(),
        stored.len()
    );
    assert!(acked.len() >= kills, "too few messages acknowledged: {}", acked.len());
}

fn seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        | 1
}

fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Sends messages until `stop`, reconnecting after failures; records the bodies that got a 250.
fn sender(
    addr: SocketAddr,
    stop: &std::sync::atomic::AtomicBool,
    acked: &std::sync::Mutex<Vec<String>>,
) -> usize {
    use std::io::{BufRead, BufReader, Write};
    let mut n = 0;
    let mut rng = seed();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let Ok(stream) = std::net::TcpStream::connect(addr) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut w = stream.try_clone().unwrap();
        let mut r = BufReader::new(stream);
        let mut reply = || -> Option<String> {
            let mut all = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).ok()? == 0 {
                    return None;
                }
                let last = line.as_bytes().get(3) != Some(&b'-');
                all.push_str(&line);
                if last {
                    return Some(all);
                }
            }
        };
        if reply().is_none() {
            continue;
        }
        if w.write_all(b"EHLO mail.remote.example\r\n").is_err() || reply().is_none() {
            continue;
        }
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            n += 1;
            let filler: String = (0..(next(&mut rng) % 50 + 1))
                .map(|i| format!("line {i} of message {n} {}\r\n", next(&mut rng)))
                .collect();
            let body = format!("message {n} {}\r\n{filler}", next(&mut rng));
            let msg = format!(
                "From: alice@remote.example\r\nTo: mjl@mox.example\r\nSubject: crash {n}\r\n\r\n{body}"
            );
            let ok = (|| {
                w.write_all(b"MAIL FROM:<alice@remote.example>\r\n").ok()?;
                reply().filter(|r| r.starts_with("250"))?;
                w.write_all(b"RCPT TO:<mjl@mox.example>\r\n").ok()?;
                reply().filter(|r| r.starts_with("250"))?;
                w.write_all(b"DATA\r\n").ok()?;
                reply().filter(|r| r.starts_with("354"))?;
                w.write_all(msg.as_bytes()).ok()?;
                w.write_all(b".\r\n").ok()?;
                reply()
            })();
            match ok {
                Some(r) if r.starts_with("250") => acked.lock().unwrap().push(body),
                Some(_) => {}
                None => break,
            }
        }
    }
    n
}

/// Debian's Postfix relays a message to us: it finds our server as the MX of mox.example in a
/// loopback DNS zone (its chrooted SMTP client reads the queue directory's resolv.conf), and
/// delivers over STARTTLS to port 25 of 127.0.0.101.
#[test]
fn postfix_relays_to_us_as_mx() {
    assert!(
        Path::new("/usr/sbin/postfix").exists(),
        "Postfix is needed: DEBIAN_FRONTEND=noninteractive apt-get install postfix"
    );
    let mx_ip: IpAddr = "127.0.0.101".parse().unwrap();
    let dns_addr: SocketAddr = "127.0.0.102:53".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ports = free_ports(mx_ip);
    ports.smtp = 25;
    write_config(dir.path(), &ports);
    let zone = format!("{ZONE}\nmox.example MX 10 mail.mox.example\nmail.mox.example A {mx_ip}\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dns = rt
        .block_on(test_support::DnsTestServer::start_at(
            dns::MockResolver::from_zone(&zone).unwrap(),
            dns_addr,
        ))
        .expect("DNS on 127.0.0.102:53");
    let server = Server::start(dir.path(), dns_addr, &ports);

    let postfix = PostfixRelay::start(dns_addr.ip());
    let out = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", postfix.port),
        "--ehlo",
        "client.remote.example",
        "--from",
        "alice@remote.example",
        "--to",
        "mjl@mox.example",
        "--h-From",
        "Alice <alice@remote.example>",
        "--h-Subject",
        "relayed by postfix",
    ]);
    assert!(out.contains("250 2.0.0 Ok: queued"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !postfix.log().contains("status=sent") {
        assert!(Instant::now() < deadline, "postfix did not relay; maillog:\n{}", postfix.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    server.kill();
    assert!(!dns.received_for("mox.example").is_empty(), "postfix asked our zone for the MX");
    let inbox = mailbox(dir.path(), "mjl", "Inbox");
    assert_eq!(inbox.len(), 1);
    let text = String::from_utf8_lossy(&inbox[0]).replace("\r\n\t", " ");
    assert!(text.contains("Received: from relay.test.example"), "{text}");
    assert!(text.contains("with ESMTPS id"), "Postfix used STARTTLS: {text}");
    assert!(text.contains("spf=pass smtp.mailfrom=remote.example"), "{text}");
    assert!(text.contains("dmarc=pass"), "{text}");
    assert!(text.contains("Subject: relayed by postfix"), "{text}");
    // Postfix's own Received header is in the stored message, ours in the prefix.
    assert!(text.contains("by relay.test.example (Postfix)"), "{text}");
}

/// A private Postfix that relays by DNS MX lookup with a chrooted SMTP client.
struct PostfixRelay {
    process: test_support::PostfixProcess,
    port: u16,
}

impl PostfixRelay {
    fn start(nameserver: IpAddr) -> PostfixRelay {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["queue", "data", "queue/etc"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let status =
            Command::new("chown").arg("postfix:postfix").arg(root.join("data")).status().unwrap();
        assert!(status.success());
        // What the chrooted smtp(8) resolves with.
        std::fs::write(root.join("queue/etc/resolv.conf"), format!("nameserver {nameserver}\n"))
            .unwrap();
        std::fs::write(root.join("queue/etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        std::fs::write(root.join("queue/etc/nsswitch.conf"), "hosts: files dns\n").unwrap();
        let _ = std::fs::copy("/etc/services", root.join("queue/etc/services"));
        let port =
            std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        let d = root.display();
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.test.example
mydomain = test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
alias_maps =
alias_database =
biff = no
smtputf8_enable = yes
smtp_tls_security_level = may
smtp_dns_support_level = enabled
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
"
        );
        std::fs::write(root.join("main.cf"), main_cf).unwrap();
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
smtp unix - - y - - smtp
relay unix - - y - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"
        );
        let process = test_support::PostfixProcess::start(dir, &master_cf, ("127.0.0.1", port));
        PostfixRelay { process, port }
    }

    fn log(&self) -> String {
        self.process.log()
    }
}
