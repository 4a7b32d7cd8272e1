//! Mail through `mox serve` and `mox localserve`, end to end: the real binary on a real
//! mox.conf/domains.conf, with independent clients and peers. Python's smtplib submits (AUTH
//! over STARTTLS and over implicit TLS) and Python's imaplib reads what arrived; swaks delivers
//! to the SMTP port as to the MX of a local domain, with SPF/DKIM/DMARC/iprev answered by a
//! loopback DNS zone (`--dns-server`); the queue delivers a submitted message to an aiosmtpd MX
//! on 127.0.0.x:25 found through that zone, and `mox queue` shows, kicks, dumps and drops
//! entries through the control socket; localserve's special local parts fail as mox's do;
//! `mox stop` during DATA loses nothing acknowledged; SIGKILLs during delivery lose nothing
//! that got a 250; and strace shows every 250 and APPEND OK sent only after the message's file,
//! directory entry and LMDB commit were flushed.
//!
//! Addresses 127.0.0.110-119 on port 25 are this file's MX peers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use test_support::{DnsTestServer, MoxMode, MoxOptions, MoxServer, MxPeer, MxPeerOptions};

const PYTHON: &str = "/usr/bin/python3";
const ADDRESS: &str = "mox@localhost";
const PASSWORD: &str = "moxmoxmox";

/// The zone the server resolves through: the client at 127.0.0.1 is mail.sender.example, which
/// may send for sender.example (SPF, DMARC reject); remote.example's MX is an aiosmtpd.
const ZONE: &str = r#"
1.0.0.127.in-addr.arpa   PTR  mail.sender.example
mail.sender.example      A    127.0.0.1
mail.sender.example      TXT  "v=spf1 ip4:127.0.0.0/8 -all"
sender.example           MX   10 mail.sender.example
sender.example           TXT  "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc.sender.example    TXT  "v=DMARC1; p=reject"
client.test              A    127.0.0.1
localhost                A    127.0.0.1
mox.example              MX   10 localhost
remote.example           MX   10 mx.remote.example
mx.remote.example        A    127.0.0.110
elsewhere.example        MX   10 mx.elsewhere.example
mx.elsewhere.example     A    127.0.0.111
"#;

fn mox_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mox"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dns() -> DnsTestServer {
    DnsTestServer::start_on_thread(dns::MockResolver::from_zone(ZONE).unwrap()).unwrap()
}

/// Adds domain mox.example to domains.conf, with mjl@mox.example an address of account mox.
fn add_mox_example(dir: &Path) {
    let path = dir.join("domains.conf");
    let conf = std::fs::read_to_string(&path).unwrap();
    let conf = conf.replacen("Domains:\n", "Domains:\n\tmox.example: nil\n", 1).replacen(
        "\t\t\tmox@localhost: nil\n",
        "\t\t\tmox@localhost: nil\n\t\t\tmjl@mox.example: nil\n",
        1,
    );
    std::fs::write(&path, conf).unwrap();
}

fn start_serve(dns: &DnsTestServer) -> MoxServer {
    MoxServer::start_with(
        mox_bin(),
        MoxMode::Serve,
        MoxOptions {
            dns_server: Some(dns.addr()),
            edit_config: Some(add_mox_example),
            ..Default::default()
        },
    )
}

/// Runs a Python script with Debian's python3; returns its stdout, failing with its stderr.
fn python(script: &str) -> String {
    let out = Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 is needed: apt-get install python3");
    assert!(out.status.success(), "python failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// A Python bytes literal.
fn py_bytes(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('\'');
    s
}

/// The messages of `mailbox`, fetched over IMAPS with imaplib as mox@localhost.
fn imap_fetch(server: &MoxServer, mailbox: &str) -> Vec<Vec<u8>> {
    let script = format!(
        r#"
import base64, imaplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
m = imaplib.IMAP4_SSL("localhost", {port}, ssl_context=ctx)
m.login("{ADDRESS}", "{PASSWORD}")
typ, data = m.select("{mailbox}", readonly=True)
assert typ == "OK", data
if int(data[0]) > 0:
    typ, data = m.fetch("1:*", "(BODY.PEEK[])")
    assert typ == "OK", data
    for d in data:
        if isinstance(d, tuple):
            print(base64.b64encode(d[1]).decode())
m.logout()
"#,
        ca = server.dir.join("localhost.crt").display(),
        port = server.ports.imaps,
    );
    python(&script).lines().map(|l| base64_decode(l.trim())).collect()
}

fn base64_decode(s: &str) -> Vec<u8> {
    let out = Command::new(PYTHON)
        .args([
            "-c",
            "import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.argv[1]))",
            s,
        ])
        .output()
        .unwrap();
    out.stdout
}

/// The header fields `message` has before `submitted` (which it must end with), by name.
fn added_fields(message: &[u8], submitted: &[u8]) -> Vec<String> {
    assert!(
        message.ends_with(submitted),
        "the stored message is the submitted one after our fields:\n{}",
        text(message)
    );
    let prefix = text(&message[..message.len() - submitted.len()]);
    assert!(prefix.ends_with("\r\n"), "{prefix}");
    prefix
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with([' ', '\t']))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect()
}

fn mox(server: &MoxServer, args: &[&str]) -> String {
    let out = server.mox(args, b"");
    assert!(out.status.success(), "mox {args:?}: {}\n{}", text(&out.stderr), server.log());
    text(&out.stdout)
}

/// (a) Submission with AUTH over STARTTLS (port 587's service) and over implicit TLS (465's),
/// to a local recipient; imaplib fetches both over IMAPS, byte for byte after our header
/// fields.
#[test]
fn submission_over_starttls_and_tls_arrives_intact_over_imaps() {
    let dns = dns();
    let server = start_serve(&dns);
    let first: &[u8] = b"From: mox@localhost\r\nTo: mjl@mox.example\r\nSubject: over starttls\r\nMessage-ID: <first@localhost>\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\r\nHello over STARTTLS.\r\n..a line starting with a dot\r\n";
    let second: &[u8] = b"From: mox@localhost\r\nTo: mjl@mox.example\r\nSubject: over tls\r\n\r\nHello over implicit TLS, \xc3\xa9t\xc3\xa9.\r\n";
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
with smtplib.SMTP("localhost", {submission}, local_hostname="client.test") as c:
    c.starttls(context=ctx)
    c.ehlo("client.test")
    assert "SCRAM-SHA-256" in c.esmtp_features["auth"], c.esmtp_features
    c.login("{ADDRESS}", "{PASSWORD}")
    print(c.sendmail("{ADDRESS}", ["mjl@mox.example"], {first}))
with smtplib.SMTP_SSL("localhost", {submissions}, local_hostname="client.test", context=ctx) as c:
    c.ehlo("client.test")
    c.user, c.password = "{ADDRESS}", "{PASSWORD}"
    code, _ = c.auth("PLAIN", c.auth_plain)
    assert code == 235, code
    print(c.sendmail("{ADDRESS}", ["mjl@mox.example"], {second}, mail_options=["BODY=8BITMIME"]))
"#,
        ca = server.dir.join("localhost.crt").display(),
        submission = server.ports.submission,
        submissions = server.ports.submissions,
        first = py_bytes(first),
        second = py_bytes(second),
    );
    assert_eq!(python(&script), "{}\n{}\n");

    let inbox = imap_fetch(&server, "Inbox");
    assert_eq!(inbox.len(), 2, "{}", server.log());
    let fields = added_fields(&inbox[0], first);
    assert_eq!(
        fields,
        ["Received", "DKIM-Signature", "Authentication-Results"],
        "Message-ID and Date were given"
    );
    let fields = added_fields(&inbox[1], second);
    assert_eq!(
        fields,
        ["Received", "Message-Id", "Date", "DKIM-Signature", "Authentication-Results"],
        "Message-ID and Date added"
    );
    let head = text(&inbox[1]).replace("\r\n\t", " ");
    assert!(head.contains("with ESMTPSA id"), "{head}");
    assert!(head.contains("auth=pass smtp.mailfrom=mox@localhost"), "{head}");
    assert!(head.contains("d=localhost;") && head.contains("s=localserve;"), "{head}");

    // The Received ID turns back into the cid of the server's log lines with `mox cid`, as
    // in mox: encrypted with the data directory's receivedid.key.
    let id = head
        .split("with ESMTPSA id ")
        .nth(1)
        .and_then(|rest| rest.split([' ', ';']).next())
        .expect("an id in Received");
    assert_eq!(id.len(), 22, "{id}");
    let out = server.mox(&["cid", id], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let cid = printed.lines().next().expect("cid line").trim().to_string();
    assert!(
        server.log().contains(&format!("cid={cid}")),
        "cid {cid} from mox cid is not in the log:\n{}",
        server.log()
    );
    let out = server.mox(&["cid", "AAAAAAAAAAAAAAAAAAAAAA"], b"");
    assert!(!out.status.success(), "an id not made with this key is refused");
}

/// (b) swaks delivers to the SMTP port as to the MX of mox.example: the checks run against the
/// loopback zone and the message arrives with their results.
#[test]
fn swaks_delivers_to_the_mx_with_authentication_results() {
    let dns = dns();
    let server = start_serve(&dns);
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.ports.smtp)])
        .args(["--ehlo", "mail.sender.example", "--from", "alice@sender.example"])
        .args(["--to", "mjl@mox.example", "--h-From", "alice@sender.example"])
        .args(["--h-Subject", "from swaks", "--body", "Hello from swaks."])
        .args(["--tls", "--pipeline"])
        .output()
        .expect("swaks is needed: apt-get install swaks");
    let transcript = text(&out.stdout);
    assert!(out.status.success(), "{transcript}\n{}", text(&out.stderr));
    assert!(transcript.contains("250 2.2.0 it is done"), "{transcript}");
    // An address the domain does not have is refused at RCPT.
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.ports.smtp)])
        .args(["--ehlo", "mail.sender.example", "--from", "alice@sender.example"])
        .args(["--to", "nobody@mox.example"])
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains("550 5.1.1 no such user"), "{}", text(&out.stdout));

    let inbox = imap_fetch(&server, "Inbox");
    assert_eq!(inbox.len(), 1, "{}", server.log());
    let message = text(&inbox[0]).replace("\r\n\t", " ");
    assert!(message.contains("\r\nReceived: from mail.sender.example"), "{message}");
    for result in [
        "iprev=pass",
        "spf=pass smtp.mailfrom=sender.example",
        "dmarc=pass (p=reject dis=none) header.from=sender.example",
    ] {
        assert!(message.contains(result), "{result}:\n{message}");
    }
    assert!(message.contains("Received-SPF: pass"), "{message}");
    assert!(message.contains("Delivered-To: mjl@mox.example"), "{message}");
    assert!(message.contains("with ESMTPS id"), "STARTTLS was used:\n{message}");
    assert!(message.contains("Hello from swaks."), "{message}");
    // The zone was asked, through --dns-server.
    assert!(!dns.received_for("sender.example").is_empty());
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Submits `message` from mox@localhost to `to`, held for `hold_secs` (FUTURERELEASE) if
/// nonzero.
fn submit(server: &MoxServer, to: &str, message: &[u8], hold_secs: u32) {
    let options = if hold_secs > 0 { format!("[\"HOLDFOR={hold_secs}\"]") } else { "[]".into() };
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
with smtplib.SMTP_SSL("localhost", {port}, local_hostname="client.test", context=ctx) as c:
    c.login("{ADDRESS}", "{PASSWORD}")
    print(c.sendmail("{ADDRESS}", ["{to}"], {message}, mail_options={options}))
"#,
        ca = server.dir.join("localhost.crt").display(),
        port = server.ports.submissions,
        message = py_bytes(message),
    );
    assert_eq!(python(&script), "{}\n");
}

/// (c) A submission to a remote recipient is queued; `mox queue` shows, dumps and kicks it
/// through the control socket (both filter forms); the queue delivers it to the MX from the
/// zone; a second one is dropped.
#[test]
fn remote_submission_is_queued_and_delivered_to_the_mx_and_mox_queue_works_through_ctl() {
    let dns = dns();
    let peer = MxPeer::start("127.0.0.110", MxPeerOptions::default());
    let server = start_serve(&dns);
    assert_eq!(mox(&server, &["queue", "list"]), "messages:\n(none)\n");

    let message: &[u8] =
        b"From: mox@localhost\r\nTo: bob@remote.example\r\nSubject: to the queue\r\n\r\nHello remote.\r\n";
    submit(&server, "bob@remote.example", message, 600);
    let listed = mox(&server, &["queue", "list"]);
    assert!(
        listed.contains("from:<mox@localhost> to:<bob@remote.example> attempts 0 next 9m")
            || listed.contains("from:<mox@localhost> to:<bob@remote.example> attempts 0 next 10m"),
        "{listed}"
    );
    assert!(server.log().contains("\"command\":\"queue-list\""), "went through the server");
    let id = listed.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    // The earlier form and v0.0.17's form select the same entry.
    assert_eq!(mox(&server, &["queue", "list", "-todomain", "remote.example"]), listed);
    assert_eq!(mox(&server, &["queue", "list", "-to", "@remote.example"]), listed);
    assert_eq!(mox(&server, &["queue", "list", "-ids", &id]), listed);
    assert_eq!(
        mox(&server, &["queue", "list", "-todomain", "other.example"]),
        "messages:\n(none)\n"
    );
    assert_eq!(mox(&server, &["queue", "list", "-to", "@other.example"]), "messages:\n(none)\n");
    let dumped = server.mox(&["queue", "dump", &id], b"");
    assert!(dumped.status.success(), "{}", text(&dumped.stderr));
    assert!(dumped.stdout.ends_with(message), "{}", text(&dumped.stdout));
    assert!(text(&dumped.stdout).starts_with("Received: "), "{}", text(&dumped.stdout));
    assert!(peer.messages().is_empty(), "held until kicked");

    assert_eq!(
        mox(&server, &["queue", "kick", "-todomain", "remote.example"]),
        "1 message(s) scheduled for immediate delivery\n"
    );
    wait_until("delivery to the MX", Duration::from_secs(20), || !peer.messages().is_empty());
    let received = peer.messages().remove(0);
    assert_eq!(received.mail_from, "mox@localhost");
    assert_eq!(received.rcpt_tos, ["bob@remote.example"]);
    assert_eq!(received.data, dumped.stdout, "the MX got the message as queued");
    let text_data = text(&received.data).replace("\r\n\t", " ");
    assert!(text_data.contains("DKIM-Signature: v=1; a=ed25519-sha256;"), "{text_data}");
    wait_until("the entry to leave the queue", Duration::from_secs(10), || {
        mox(&server, &["queue", "list"]) == "messages:\n(none)\n"
    });

    // Dropped through the server, by v0.0.17's filter; kick by the earlier form finds nothing.
    submit(&server, "carol@remote.example", message, 600);
    assert!(
        mox(&server, &["queue", "list", "-recipient", "carol@remote.example"]).contains("carol")
    );
    assert_eq!(
        mox(&server, &["queue", "drop", "-to", "@remote.example"]),
        "1 message(s) dropped\n"
    );
    assert_eq!(
        mox(&server, &["queue", "kick", "-todomain", "remote.example"]),
        "0 message(s) scheduled for immediate delivery\n"
    );
    assert_eq!(mox(&server, &["queue", "list"]), "messages:\n(none)\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(peer.messages().len(), 1, "the dropped message was not delivered");
}

/// Adds mox.example, and a transport `refuse` that fails every delivery, to the configuration.
fn add_refusing_transport(dir: &Path) {
    add_mox_example(dir);
    let path = dir.join("mox.conf");
    let mut conf = std::fs::read_to_string(&path).unwrap();
    conf.push_str(
        "Transports:\n\trefuse:\n\t\tFail:\n\t\t\tSMTPCode: 554\n\t\t\tSMTPMessage: not via this route\n",
    );
    std::fs::write(&path, conf).unwrap();
}

/// A route added to domains.conf while serving is used by the queue at its next attempt: the
/// held message goes through the failing transport instead of to the MX, and the DSN about it
/// is delivered into the sender's own Inbox (the queue's local delivery).
#[test]
fn queue_follows_domains_conf_routes_and_delivers_dsns_locally() {
    let dns = dns();
    let peer = MxPeer::start("127.0.0.111", MxPeerOptions::default());
    let mut server = MoxServer::start_with(
        mox_bin(),
        MoxMode::Serve,
        MoxOptions {
            dns_server: Some(dns.addr()),
            edit_config: Some(add_refusing_transport),
            ..Default::default()
        },
    );
    let message: &[u8] =
        b"From: mox@localhost\r\nTo: erin@elsewhere.example\r\nSubject: routed\r\n\r\nRouted.\r\n";
    submit(&server, "erin@elsewhere.example", message, 600);
    assert!(mox(&server, &["queue", "list"]).contains("to:<erin@elsewhere.example> attempts 0"));

    let path = server.dir.join("domains.conf");
    let conf = std::fs::read_to_string(&path).unwrap();
    let routed = format!(
        "{conf}Routes:\n\t-\n\t\tToDomain:\n\t\t\t- elsewhere.example\n\t\tTransport: refuse\n"
    );
    std::fs::write(&path, routed).unwrap();
    server.wait_for_log("queue settings updated", Duration::from_secs(10));
    assert_eq!(
        mox(&server, &["queue", "kick", "-to", "@elsewhere.example"]),
        "1 message(s) scheduled for immediate delivery\n"
    );
    wait_until("the failed message to leave the queue", Duration::from_secs(20), || {
        mox(&server, &["queue", "list"]) == "messages:\n(none)\n"
    });
    assert!(peer.messages().is_empty(), "the route kept it from the MX");
    let inbox = imap_fetch(&server, "Inbox");
    assert_eq!(inbox.len(), 1, "the DSN: {}", server.log());
    let dsn = text(&inbox[0]);
    assert!(dsn.contains("multipart/report"), "{dsn}");
    assert!(
        dsn.contains("report-type=delivery-status")
            || dsn.contains("report-type=\"delivery-status\""),
        "{dsn}"
    );
    assert!(dsn.contains("erin@elsewhere.example"), "{dsn}");
    assert!(dsn.contains("not via this route"), "{dsn}");
    let (status, _) = server.stop();
    assert!(status.success());
}

/// `mox queue` with the server stopped works on the queue directory itself, and says so when
/// there is no queue.
#[test]
fn mox_queue_without_a_running_server_works_on_the_directory() {
    let dns = dns();
    let mut server = start_serve(&dns);
    let message: &[u8] =
        b"From: mox@localhost\r\nTo: dave@remote.example\r\nSubject: held\r\n\r\nHeld.\r\n";
    submit(&server, "dave@remote.example", message, 3600);
    let (status, _) = server.stop();
    assert!(status.success());
    let listed = mox(&server, &["queue", "list", "-to", "@remote.example"]);
    assert!(listed.contains("to:<dave@remote.example> attempts 0"), "{listed}");
    assert_eq!(
        mox(&server, &["queue", "drop", "-todomain", "remote.example"]),
        "1 message(s) dropped\n"
    );
    assert_eq!(mox(&server, &["queue", "list"]), "messages:\n(none)\n");
}

/// (d) localserve: special local parts fail as mox's do, at the command they name; an ordinary
/// address anywhere arrives in mox@localhost's Inbox, read over IMAPS.
#[test]
fn localserve_special_localparts_and_delivery_to_the_local_account() {
    let server = MoxServer::start(mox_bin(), MoxMode::Localserve);
    let ordinary: &[u8] =
        b"From: mox@localhost\r\nTo: someone@example.org\r\nSubject: to anyone\r\n\r\nDelivered locally.\r\n";
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
msg = b"From: mox@localhost\r\nSubject: x\r\n\r\nx\r\n"
with smtplib.SMTP("localhost", {submission}, local_hostname="client.test") as c:
    c.starttls(context=ctx)
    c.login("{ADDRESS}", "{PASSWORD}")
    print(c.sendmail("{ADDRESS}", ["someone@example.org"], {ordinary}))
    for to in ["x-550@example.org", "user-permerror@example.org", "user-451@example.org"]:
        try:
            c.sendmail("{ADDRESS}", [to], msg)
            print(to, "accepted")
        except smtplib.SMTPDataError as e:
            print(to, "data", e.smtp_code, e.smtp_error.decode())
    try:
        c.sendmail("{ADDRESS}", ["rcptto-permerror@example.org"], msg)
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients["rcptto-permerror@example.org"]
        print("rcptto", code, text.decode())
with smtplib.SMTP("localhost", {smtp}, local_hostname="localhost") as c:
    try:
        c.sendmail("mailfrom-421@localhost", ["mox@localhost"], msg)
    except smtplib.SMTPSenderRefused as e:
        print("mailfrom", e.smtp_code, e.smtp_error.decode())
"#,
        ca = server.dir.join("localhost.crt").display(),
        submission = server.ports.submission,
        smtp = server.ports.smtp,
        ordinary = py_bytes(ordinary),
    );
    let out = python(&script);
    assert_eq!(
        out,
        "{}\n\
         x-550@example.org data 550 5.0.0 failure with code 550 due to special localpart\n\
         user-permerror@example.org data 550 5.0.0 failure with code 550 due to special localpart\n\
         user-451@example.org data 451 4.0.0 failure with code 451 due to special localpart\n\
         rcptto 550 5.0.0 failure with code 550 due to special localpart\n\
         mailfrom 421 4.0.0 failure with code 421 due to special localpart\n",
    );
    let inbox = imap_fetch(&server, "Inbox");
    assert_eq!(inbox.len(), 1, "only the ordinary message: {}", server.log());
    added_fields(&inbox[0], ordinary);
    let unfolded = text(&inbox[0]).replace("\r\n\t", " ");
    assert!(unfolded.contains("for <someone@example.org>"), "{unfolded}");
    // Nothing was queued to leave the machine.
    assert!(!server.dir.join("queue").exists(), "localserve has no queue");
    let out = server.mox(&["queue", "list"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("this server has no queue"), "{}", text(&out.stderr));
}

/// A raw SMTP client on the SMTP port.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let writer = stream.try_clone()?;
        Ok(Client { reader: BufReader::new(stream), writer })
    }

    /// The next reply (all its lines); `None` when the connection closed.
    fn reply(&mut self) -> Option<String> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return (!all.is_empty()).then_some(all);
            }
            let last = line.as_bytes().get(3) != Some(&b'-');
            all.push_str(&line);
            if last {
                return Some(all);
            }
        }
    }

    fn send(&mut self, data: &[u8]) -> Option<()> {
        self.writer.write_all(data).ok()
    }

    /// Greeting, EHLO, MAIL, RCPT, DATA: ready for the message.
    fn start_data(&mut self) -> Option<()> {
        self.reply().filter(|r| r.starts_with("220"))?;
        self.send(b"EHLO mail.sender.example\r\n")?;
        self.reply().filter(|r| r.starts_with("250"))?;
        self.send(b"MAIL FROM:<alice@sender.example>\r\n")?;
        self.reply().filter(|r| r.starts_with("250"))?;
        self.send(b"RCPT TO:<mjl@mox.example>\r\n")?;
        self.reply().filter(|r| r.starts_with("250"))?;
        self.send(b"DATA\r\n")?;
        self.reply().filter(|r| r.starts_with("354"))?;
        Some(())
    }
}

/// The messages of account mox's Inbox, read from the store (server stopped or running).
fn stored_inbox(dir: &Path) -> Vec<Vec<u8>> {
    let acc = store::Account::open_read_only(&dir.join("accounts/mox")).unwrap();
    let snap = acc.snapshot().unwrap();
    let Some(mb) = snap.mailbox("Inbox").unwrap() else { return Vec::new() };
    snap.message_states(mb.id, &store::UidSet::all())
        .unwrap()
        .iter()
        .map(|s| snap.open_message(s.id).unwrap().read_all().unwrap())
        .collect()
}

fn body_of(message: &[u8]) -> Vec<u8> {
    let i = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    message[i + 4..].to_vec()
}

/// (e) `mox stop` while clients are in the middle of DATA: one that finishes within the grace
/// period gets its 250 and the message is stored; one that does not finish gets no 250, and
/// its message is not stored half; the server exits 0 within the grace period and a bit.
#[test]
fn stop_during_data_completes_or_refuses_and_loses_nothing_acknowledged() {
    let dns = dns();
    let mut server = start_serve(&dns);
    let addr: SocketAddr = format!("127.0.0.1:{}", server.ports.smtp).parse().unwrap();
    let mut finisher = Client::connect(addr).unwrap();
    finisher.start_data().expect("transaction started");
    let mut staller = Client::connect(addr).unwrap();
    staller.start_data().expect("transaction started");
    finisher
        .send(b"From: alice@sender.example\r\nSubject: finishing\r\n\r\nfirst half\r\n")
        .unwrap();
    staller
        .send(b"From: alice@sender.example\r\nSubject: stalling\r\n\r\nnever finished\r\n")
        .unwrap();

    let config = server.dir.join("mox.conf");
    let stop = std::thread::spawn(move || {
        let start = Instant::now();
        let out = Command::new(mox_bin()).arg("-config").arg(&config).arg("stop").output().unwrap();
        (out, start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    // The stop is under way: new connections are no longer accepted or get a 421.
    if let Ok(mut late) = Client::connect(addr)
        && let Some(r) = late.reply()
    {
        assert!(r.starts_with("421"), "a new connection during the stop: {r}");
    }
    finisher.send(b"second half\r\n.\r\n").unwrap();
    let reply = finisher.reply().expect("a reply to the end of data");
    assert!(reply.starts_with("250"), "finished within the grace period: {reply}");
    // After the transaction, the server says goodbye.
    finisher.send(b"NOOP\r\n").unwrap();
    if let Some(r) = finisher.reply() {
        assert!(r.starts_with("421"), "{r}");
    }
    let staller_reply = staller.reply();
    assert!(
        staller_reply.as_ref().is_none_or(|r| r.starts_with('4')),
        "the stalled transaction gets no 250: {staller_reply:?}"
    );

    let (out, took) = stop.join().unwrap();
    assert!(out.status.success(), "mox stop: {}", text(&out.stderr));
    assert!(took < Duration::from_secs(6), "stopped in {took:?}");
    let (status, _) = server.wait_exit(Duration::from_secs(5));
    assert!(status.success(), "{status}");

    let inbox = stored_inbox(&server.dir);
    let bodies: Vec<Vec<u8>> = inbox.iter().map(|m| body_of(m)).collect();
    assert_eq!(bodies, [b"first half\r\nsecond half\r\n".to_vec()], "{}", server.log());
}

/// Crash test against `mox serve`: a client delivers to the SMTP port while the server is
/// killed with SIGKILL at random moments and restarted, MOX_CRASH_KILLS times (default 25);
/// every message that got a 250 is in the Inbox afterwards, byte for byte.
#[test]
fn crash_test_sigkill_during_delivery_loses_nothing_acknowledged() {
    let kills: usize =
        std::env::var("MOX_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(25);
    let dns = dns();
    let mut server = start_serve(&dns);
    let addr: SocketAddr = format!("127.0.0.1:{}", server.ports.smtp).parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let client = {
        let (stop, acked) = (stop.clone(), acked.clone());
        std::thread::spawn(move || crash_sender(addr, &stop, &acked))
    };
    let mut rng = seed();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(50 + next(&mut rng) % 300));
        server.kill();
        server.restart(MoxMode::Serve);
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let attempts = client.join().unwrap();
    server.kill();

    let acked = acked.lock().unwrap().clone();
    let stored: std::collections::HashSet<Vec<u8>> =
        stored_inbox(&server.dir).iter().map(|m| body_of(m)).collect();
    for body in &acked {
        assert!(
            stored.contains(body),
            "acknowledged message missing or damaged: {}",
            text(&body[..40.min(body.len())])
        );
    }
    eprintln!(
        "mox serve crash test: {kills} kills, {attempts} attempts, {} acknowledged, {} stored",
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

/// Delivers messages until `stop`, reconnecting after failures; records the bodies that got a
/// 250. Returns the number of attempts.
fn crash_sender(addr: SocketAddr, stop: &AtomicBool, acked: &Mutex<Vec<Vec<u8>>>) -> usize {
    let mut n = 0;
    let mut rng = seed();
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut c) = Client::connect(addr) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        if c.reply().is_none_or(|r| !r.starts_with("220")) {
            continue;
        }
        if c.send(b"EHLO mail.sender.example\r\n").is_none() || c.reply().is_none() {
            continue;
        }
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let filler: String = (0..(next(&mut rng) % 50 + 1))
                .map(|i| format!("line {i} of message {n} {}\r\n", next(&mut rng)))
                .collect();
            let body = format!("message {n} {}\r\n{filler}", next(&mut rng));
            let message = format!(
                "From: alice@sender.example\r\nTo: mjl@mox.example\r\nSubject: crash {n}\r\n\r\n{body}"
            );
            let reply = (|| {
                c.send(b"MAIL FROM:<alice@sender.example>\r\n")?;
                c.reply().filter(|r| r.starts_with("250"))?;
                c.send(b"RCPT TO:<mjl@mox.example>\r\n")?;
                c.reply().filter(|r| r.starts_with("250"))?;
                c.send(b"DATA\r\n")?;
                c.reply().filter(|r| r.starts_with("354"))?;
                c.send(message.as_bytes())?;
                c.send(b".\r\n")?;
                c.reply()
            })();
            match reply {
                Some(r) if r.starts_with("250") => acked.lock().unwrap().push(body.into_bytes()),
                Some(_) => {}
                None => break,
            }
        }
    }
    n
}

/// What the durability runs send, and where each acknowledgement must be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Incoming on the SMTP port, for mjl@mox.example (account mox).
    Incoming,
    /// Submitted for mjl@mox.example: delivered into account mox at once.
    SubmittedLocal,
    /// Submitted for someone@remote.example: into the queue.
    SubmittedRemote,
    /// IMAP APPEND to account mox's Inbox.
    Appended,
}

/// One acknowledged message: how it was sent, its Subject (unique), the server's socket as
/// strace -yy names it, and the text of the acknowledgement written to it.
struct Acked {
    sent: Sent,
    subject: String,
    socket: String,
    /// The server's reply after which the client sent the message (the 354 to DATA, the
    /// previous tagged reply before an APPEND): the message cannot be stored before it.
    sent_after: String,
    reply: String,
}

/// The server's end of the client's connection `s`, as strace -yy shows it.
fn server_socket(s: &TcpStream) -> String {
    format!("TCP:[{}->{}]", s.peer_addr().unwrap(), s.local_addr().unwrap())
}

const DURABILITY_SENDERS: usize = 3;
const DURABILITY_PER_SENDER: usize = 3;

/// One message per connection on the SMTP port; returns the acknowledged ones.
fn durability_incoming(addr: SocketAddr, sender: usize) -> Vec<Acked> {
    (0..DURABILITY_PER_SENDER)
        .map(|k| {
            let mut c = Client::connect(addr).unwrap();
            let socket = server_socket(&c.writer);
            c.start_data().expect("SMTP until DATA");
            let subject = format!("durability incoming {sender}-{k}");
            let msg = format!(
                "From: alice@sender.example\r\nSubject: {subject}\r\nTo: mjl@mox.example\r\n\r\nbody {sender} {k}\r\n.\r\n"
            );
            c.send(msg.as_bytes()).unwrap();
            let reply = c.reply().unwrap();
            assert!(reply.starts_with("250 "), "{subject}: {reply}");
            Acked { sent: Sent::Incoming, subject, socket, sent_after: "354 ".into(), reply }
        })
        .collect()
}

/// Submission without TLS (localserve's configuration has NoRequireSTARTTLS), AUTH PLAIN.
fn durability_submit(addr: SocketAddr, to: &str, sent: Sent) -> Acked {
    use base64::Engine as _;
    let mut c = Client::connect(addr).unwrap();
    let socket = server_socket(&c.writer);
    assert!(c.reply().unwrap().starts_with("220"));
    let mut step = |line: String, code: &str| -> String {
        c.send(line.as_bytes()).unwrap();
        let reply = c.reply().unwrap();
        assert!(reply.starts_with(code), "{line:?}: {reply}");
        reply
    };
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("\0{ADDRESS}\0{PASSWORD}"));
    let subject = format!("durability submission to {to}");
    step("EHLO client.test\r\n".into(), "250");
    step(format!("AUTH PLAIN {auth}\r\n"), "235");
    step(format!("MAIL FROM:<{ADDRESS}>\r\n"), "250");
    step(format!("RCPT TO:<{to}>\r\n"), "250");
    step("DATA\r\n".into(), "354");
    let reply = step(
        format!("From: {ADDRESS}\r\nSubject: {subject}\r\nTo: {to}\r\n\r\nsubmitted\r\n.\r\n"),
        "250 ",
    );
    Acked { sent, subject, socket, sent_after: "354 ".into(), reply }
}

/// IMAP APPENDs over the IMAP port without TLS (NoRequireSTARTTLS), with LITERAL+.
fn durability_append(addr: SocketAddr, n: usize) -> Vec<Acked> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let socket = server_socket(&s);
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut greeting = String::new();
    r.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("* OK"), "{greeting}");
    let mut tagged = |tag: &str| -> String {
        loop {
            let mut line = String::new();
            assert!(r.read_line(&mut line).unwrap() > 0, "connection closed before {tag}");
            if line.starts_with(&format!("{tag} ")) {
                return line;
            }
        }
    };
    s.write_all(format!("l LOGIN {ADDRESS} {PASSWORD}\r\n").as_bytes()).unwrap();
    assert!(tagged("l").starts_with("l OK"));
    (0..n)
        .map(|k| {
            let subject = format!("durability append {k}");
            let msg = format!("From: {ADDRESS}\r\nSubject: {subject}\r\n\r\nappended {k}\r\n");
            s.write_all(format!("a{k} APPEND Inbox {{{}+}}\r\n{msg}\r\n", msg.len()).as_bytes())
                .unwrap();
            let reply = tagged(&format!("a{k}"));
            assert!(reply.contains("OK [APPENDUID "), "{reply}");
            let sent_after = if k == 0 { "l OK".to_string() } else { format!("a{} OK", k - 1) };
            Acked { sent: Sent::Appended, subject, socket: socket.clone(), sent_after, reply }
        })
        .collect()
}

/// Runs `mox serve` under strace (with `inject` system calls made no-ops), sends mail every
/// way it is acknowledged, stops the server, and returns the trace and what each
/// acknowledgement requires.
fn durability_run(inject: &[&str]) -> (test_support::Trace, Vec<test_support::Acknowledged>) {
    use test_support::{Acknowledged, Call, Durable, Strace, Target};
    let tmp = tempfile::tempdir().unwrap();
    let mut strace = Strace::new(tmp.path().join("trace")).socket_addresses().string_limit(4096);
    for s in inject {
        strace = strace.inject_noop(s);
    }
    let dns = dns();
    let mut server = MoxServer::start_with(
        mox_bin(),
        MoxMode::Serve,
        MoxOptions {
            dns_server: Some(dns.addr()),
            edit_config: Some(add_mox_example),
            strace: Some(strace),
        },
    );
    let smtp = SocketAddr::from(([127, 0, 0, 1], server.ports.smtp));
    let submission = SocketAddr::from(([127, 0, 0, 1], server.ports.submission));
    let imap = SocketAddr::from(([127, 0, 0, 1], server.ports.imap));
    // Concurrent senders, so that deliveries share group commits.
    let senders: Vec<_> = (0..DURABILITY_SENDERS)
        .map(|t| std::thread::spawn(move || durability_incoming(smtp, t)))
        .collect();
    let mut acked: Vec<Acked> = senders.into_iter().flat_map(|t| t.join().unwrap()).collect();
    acked.push(durability_submit(submission, "mjl@mox.example", Sent::SubmittedLocal));
    acked.push(durability_submit(submission, "someone@remote.example", Sent::SubmittedRemote));
    acked.extend(durability_append(imap, 2));
    server.stop();
    let trace = server.trace();

    let account = server.dir.join("accounts/mox");
    let queue = server.dir.join("queue");
    let acks = acked
        .iter()
        .map(|a| {
            let (files, database) = match a.sent {
                Sent::SubmittedRemote => (queue.join("msg"), queue.join("index/data.mdb")),
                _ => (account.join("msg"), account.join("data.mdb")),
            };
            let socket = Target::Other(a.socket.clone());
            let contains =
                |data: &[u8], text: &str| data.windows(text.len()).any(|x| x == text.as_bytes());
            let subject = format!("Subject: {}\r\n", a.subject);
            let mut file = None;
            let mut at = None;
            let mut sent_after = None;
            for (i, e) in trace.events().iter().enumerate() {
                let Call::Write(w) = &e.call else { continue };
                if w.target == socket {
                    if contains(&w.data, &a.reply) {
                        at = Some(i);
                    } else if at.is_none() && contains(&w.data, &a.sent_after) {
                        sent_after = Some(i);
                    }
                } else if file.is_none()
                    && let Target::File(p) = &w.target
                    && p.starts_with(&files)
                    && contains(&w.data, &subject)
                {
                    file = Some(p.clone());
                }
            }
            let label = format!("{:?} {:?}", a.sent, a.subject);
            let at = at.unwrap_or_else(|| panic!("{}: no acknowledgement in the trace", a.subject));
            if matches!(a.sent, Sent::SubmittedRemote) {
                // The queue keeps every message in a file.
                let file =
                    file.unwrap_or_else(|| panic!("{}: no write of the message file", a.subject));
                return Acknowledged {
                    label,
                    at,
                    after: None,
                    durable: vec![
                        Durable::FileData(file.clone()),
                        Durable::Entry(file),
                        Durable::LmdbCommit(database),
                    ],
                };
            }
            // Small messages are kept in the account's database: committed (synced) after the
            // server had the message, and no file written.
            assert!(file.is_none(), "{}: a message file was written: {file:?}", a.subject);
            let sent_after = sent_after
                .unwrap_or_else(|| panic!("{}: no {:?} before it", a.subject, a.sent_after));
            Acknowledged {
                label,
                at,
                after: Some(sent_after),
                durable: vec![Durable::LmdbCommit(database)],
            }
        })
        .collect();
    (trace, acks)
}

const DURABILITY_ACKS: usize = DURABILITY_SENDERS * DURABILITY_PER_SENDER + 2 + 2;

/// (g) Durability as strace sees it: `mox serve` sends each 250 (incoming on the SMTP port from
/// concurrent clients, submission to a local account, submission into the queue) and each
/// APPEND OK only after an LMDB commit of the account holding the message (small messages are
/// kept in its database) was synced after the server had the message; for the queue, after
/// the message file's data and its directory entry were flushed and the queue index committed. The SIGKILL crash tests cannot see
/// a missing flush, since the page cache survives a killed process; this can.
#[test]
fn acknowledged_mail_is_flushed_and_committed_before_the_reply_under_strace() {
    let (trace, acks) = durability_run(&[]);
    assert_eq!(acks.len(), DURABILITY_ACKS);
    match trace.check(&acks) {
        Ok(checked) => {
            assert_eq!(checked.acknowledgements, DURABILITY_ACKS);
            // Three for the message queued (file, its entry, the commit), one for the others.
            assert_eq!(checked.requirements, 3 + (DURABILITY_ACKS - 1));
            eprintln!(
                "{} acknowledgements, {} requirements met, in a trace of {} lines",
                checked.acknowledgements,
                checked.requirements,
                trace.lines()
            );
        }
        Err(violations) => {
            let list: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
            panic!("acknowledged before on disk:\n{}", list.join("\n"));
        }
    }
}

/// The check is not vacuous: with fsync, fdatasync and syncfs made no-ops by strace, every
/// acknowledgement fails it.
#[test]
fn durability_check_of_mox_serve_fails_when_flushes_are_suppressed() {
    let (trace, acks) = durability_run(&["fsync", "fdatasync", "syncfs"]);
    assert_eq!(acks.len(), DURABILITY_ACKS);
    let violations = trace.check(&acks).unwrap_err();
    for a in &acks {
        assert!(
            violations.iter().any(|v| v.label == a.label),
            "{} passed although nothing was flushed",
            a.label
        );
    }
}
