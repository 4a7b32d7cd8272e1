//! The real mox v0.0.17 delivers to us: `mox serve` of the real mox takes a message on its
//! submission port, signs it with its DKIM key and delivers it from its queue to our SMTP
//! server (the `serve` example, as `mox serve` runs this crate), found as the MX of the
//! recipient's domain in the real mox's DNS; our Authentication-Results shows SPF and DKIM
//! passing. The real mox runs in a mount namespace with a resolv.conf of its own, so it never
//! resolves names outside this machine. This is the crate's own test with the real mox as the
//! client; bins/mox/tests/migration.rs has delivery both ways through our `mox serve`.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

#[path = "../../../bins/mox/tests/peer/mod.rs"]
mod peer;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `serve` example binary, built by `cargo test` beside the test binaries.
fn serve_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("examples").join("serve");
    assert!(bin.exists(), "{} missing: cargo test builds examples", bin.display());
    bin
}

/// A loopback address of this test's own: the real mox delivers to port 25 only.
fn our_ip() -> IpAddr {
    let pid = std::process::id();
    IpAddr::from([127, 25, (pid >> 8) as u8, (pid as u8).max(1)])
}

/// Our server's configuration: SMTP on port 25 of `ip` with a self-signed certificate, the
/// domain mox.example with account mjl.
fn write_our_config(dir: &Path, ip: IpAddr) {
    let certified = rcgen::generate_simple_self_signed(vec!["mx.mox.example".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let mox_conf = format!(
        "DataDir: data
LogLevel: info
Hostname: mx.mox.example
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
\t\t\tFirstTimeSenderDelay: 0s
Postmaster:
\tAccount: mjl
\tMailbox: Inbox
"
    );
    let domains_conf = "Domains:
\tmox.example: nil
Accounts:
\tmjl:
\t\tDomain: mox.example
\t\tDestinations:
\t\t\tmjl@mox.example: nil
";
    std::fs::write(dir.join("mox.conf"), mox_conf).unwrap();
    std::fs::write(dir.join("domains.conf"), domains_conf).unwrap();
}

/// How many messages the account mjl has (read-only, so while the server holds the account).
fn stored_messages(dir: &Path) -> u64 {
    let path = dir.join("data/accounts/mjl");
    let Ok(acc) = store::Account::open_read_only(&path) else { return 0 };
    acc.mailboxes().map(|mbs| mbs.iter().map(|m| m.counts.messages).sum()).unwrap_or(0)
}

/// The messages in the Inbox of mjl, as served (prefix and file), with the server stopped.
fn inbox(dir: &Path) -> Vec<Vec<u8>> {
    let path = dir.join("data/accounts/mjl");
    let acc = store::Account::open_existing(&path).unwrap();
    let snap = acc.snapshot().unwrap();
    let Some(mb) = snap.mailbox("Inbox").unwrap() else { return Vec::new() };
    snap.message_states(mb.id, &store::UidSet::all())
        .unwrap()
        .iter()
        .map(|s| snap.open_message(s.id).unwrap().read_all().unwrap())
        .collect()
}

#[test]
fn real_mox_delivers_to_us_with_spf_and_dkim_passing() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    // mox serve continues as User (nobody): it must reach its directory.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    // The real mox: localserve's configuration (account mox@localhost, password moxmoxmox, an
    // Ed25519 DKIM key), run with `mox serve` as nobody, with a domain sender.example that
    // signs with that key as selector sel2026 (SPF and DKIM want a multi-label domain).
    let real_dir = tmp.path().join("real");
    let ports = peer::init_localserve(&real_dir);
    let conf = real_dir.join("mox.conf");
    let text = std::fs::read_to_string(&conf).unwrap().replace("\nUser: 0\n", "\nUser: 65534\n");
    std::fs::write(&conf, text).unwrap();
    let domains = real_dir.join("domains.conf");
    let text = std::fs::read_to_string(&domains).unwrap();
    assert!(text.starts_with("Domains:\n") || text.contains("\nDomains:\n"), "{text}");
    let text = text
        .replacen(
            "Domains:\n",
            "Domains:\n\tsender.example:\n\t\tDKIM:\n\t\t\tSelectors:\n\t\t\t\tsel2026:\n\
             \t\t\t\t\tPrivateKeyFile: dkim.localserve.privatekey.pkcs8.pem\n\t\t\tSign:\n\
             \t\t\t\t- sel2026\n",
            1,
        )
        .replace(
            "\t\t\tmox@localhost: nil\n",
            "\t\t\tmox@localhost: nil\n\t\t\tmox@sender.example: nil\n",
        );
    std::fs::write(&domains, text).unwrap();
    let dkim_key =
        std::fs::read_to_string(real_dir.join("dkim.localserve.privatekey.pkcs8.pem")).unwrap();
    let dkim_record =
        dkim::Record::for_public_key(&dkim::PrivateKey::from_pem(&dkim_key).unwrap().public_key())
            .to_string();

    // Our server, and the DNS it resolves through: the real mox sends from 127.0.0.1 for
    // sender.example.
    let ours = tmp.path().join("ours");
    std::fs::create_dir(&ours).unwrap();
    let ip = our_ip();
    write_our_config(&ours, ip);
    let our_zone = dns::MockResolver::from_zone(&format!(
        r#"
        1.0.0.127.in-addr.arpa         PTR  localhost
        localhost                      A    127.0.0.1
        sender.example                 MX   10 mail.sender.example
        mail.sender.example            A    127.0.0.1
        sender.example                 TXT  "v=spf1 ip4:127.0.0.1 -all"
        sel2026._domainkey.sender.example TXT "{dkim_record}"
        "#
    ))
    .unwrap();
    let our_dns = test_support::DnsTestServer::start_on_thread(our_zone).unwrap();
    let our_log = tmp.path().join("ours.log");
    let mut our_server = Command::new(serve_binary())
        .arg(ours.join("mox.conf"))
        .args(["--dns-server", &our_dns.addr().to_string(), "--unlimited"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&our_log).unwrap())
        .stderr(std::fs::File::create(&our_log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect((ip, 25)).is_err() {
        assert!(
            Instant::now() < deadline,
            "our server did not listen on {ip}:25 (needs root):\n{}",
            std::fs::read_to_string(&our_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The real mox's DNS: our server is the MX of mox.example. On a 127.x address, port 53,
    // named in the real mox's own resolv.conf.
    let mox_zone = dns::MockResolver::from_zone(&format!(
        "mox.example MX 10 mx.mox.example\nmx.mox.example A {ip}"
    ))
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pid = std::process::id();
    let dns_ip = std::net::Ipv4Addr::new(127, 54, (pid >> 8) as u8, (pid as u8).max(1));
    let _mox_dns = runtime
        .block_on(test_support::DnsTestServer::start_at(mox_zone, (dns_ip, 53).into()))
        .unwrap_or_else(|e| panic!("DNS server on {dns_ip}:53 (needs root): {e}"));
    let resolv_conf = tmp.path().join("resolv.conf");
    std::fs::write(&resolv_conf, format!("nameserver {dns_ip}\n")).unwrap();
    let mut real = peer::RealLocalserve::start_serve(&real_dir, ports, &resolv_conf);

    // Submit to the real mox (plain text is allowed on its localserve submission listener).
    let script = format!(
        r#"
import smtplib
s = smtplib.SMTP("127.0.0.1", {port}, timeout=30)
s.login("mox@localhost", "moxmoxmox")
s.sendmail("mox@sender.example", ["mjl@mox.example"],
    b"From: mox@sender.example\r\nTo: mjl@mox.example\r\nSubject: from the real mox\r\n"
    b"Message-ID: <real-1@sender.example>\r\n\r\nHello from mox v0.0.17.\r\n")
s.quit()
"#,
        port = ports.submission
    );
    let o = Command::new("/usr/bin/python3").args(["-c", &script]).output().unwrap();
    assert!(
        o.status.success(),
        "submitting to the real mox:\n{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        real.log()
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    while stored_messages(&ours) == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing arrived from the real mox:\nreal mox:\n{}\nours:\n{}",
            real.log(),
            std::fs::read_to_string(&our_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    real.stop();
    // What our server acknowledged with 250 is on disk: stopping it hard loses nothing.
    let _ = our_server.kill();
    let _ = our_server.wait();
    let messages = inbox(&ours);
    assert_eq!(messages.len(), 1);
    let message = String::from_utf8(messages[0].clone()).unwrap();

    let header = message.split("\r\n\r\n").next().unwrap().replace("\r\n\t", " ");
    // Ours is the first; the real mox added its own ("localhost; auth=pass") at submission.
    let results: Vec<&str> = header
        .lines()
        .filter(|l| l.starts_with("Authentication-Results: mx.mox.example;"))
        .collect();
    assert_eq!(results.len(), 1, "{message}");
    assert!(results[0].contains("spf=pass smtp.mailfrom=sender.example"), "{}", results[0]);
    assert!(
        results[0].contains("dkim=pass") && results[0].contains("header.d=sender.example"),
        "{}",
        results[0]
    );
    assert!(message.contains("Hello from mox v0.0.17."), "{message}");
}
