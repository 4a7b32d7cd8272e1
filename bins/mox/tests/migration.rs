//! Moving between the real mox v0.0.17 and mox-rs, in both directions, end to end.
//!
//! Mail: the real mox receives messages over SMTP and gets flags and keywords over IMAP
//! (Python's smtplib and imaplib, `migration/mailclient.py`); its `export maildir` is imported
//! into our running `mox serve` (as `nobody` when the test runs as root) with our `import
//! maildir`, and our IMAP shows every message byte for byte with every flag and keyword. Then
//! back: our `export maildir`, the real mox's `import maildir`, and its IMAP shows the same
//! again. The same with mbox. Also: the configurations the real mox wrote (testdata) pass our
//! `config test`, and `setaccountpassword` takes an account name or an address. And mail
//! between the two servers: our `mox serve` and the real mox's `mox serve` deliver to each
//! other as MX (port 25 of 127.x addresses, a loopback DNS zone), with SPF, DKIM and DMARC
//! passing at the receiver.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod peer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use dns::MockResolver;
use test_support::{DnsTestServer, MoxMode, MoxOptions, MoxServer};

fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mox"))
}

fn text(o: &Output) -> String {
    peer::text(o)
}

/// Runs `mailclient.py COMMAND PORT` with Debian's Python; returns its stdout.
fn mailclient(command: &str, port: u16) -> String {
    mailclient_with(command, port, &[])
}

/// Runs `mailclient.py COMMAND PORT ARGS...`.
fn mailclient_with(command: &str, port: u16, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/migration/mailclient.py");
    let o = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(command)
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("running /usr/bin/python3 (Debian's python3 package)");
    assert!(o.status.success(), "mailclient.py {command} {port}:\n{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// The DNS the real mox sees: the sender's domain with an SPF record allowing 127.0.0.1, and
/// forward and reverse names for 127.0.0.1 (mox's junk filter is strict with a failing
/// reverse lookup). Served on 127.x.y.z:53, a loopback address of this test's own, named in a
/// resolv.conf for the real mox's mount namespace.
struct TestDns {
    _runtime: tokio::runtime::Runtime,
    server: DnsTestServer,
    resolv_conf: PathBuf,
}

fn start_dns(dir: &Path) -> TestDns {
    start_dns_with(dir, "")
}

/// [`start_dns`] with more records (zone file lines).
fn start_dns_with(dir: &Path, more: &str) -> TestDns {
    start_dns_at(test_dns_ip(), dir, more)
}

/// A loopback address of this test's own (from the process id and a counter), so that tests
/// running side by side (and a resolver on 127.0.0.1:53) do not collide on port 53.
fn test_dns_ip() -> std::net::Ipv4Addr {
    static STARTED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    std::net::Ipv4Addr::new(127, 53 + n, (pid >> 8) as u8, (pid as u8).max(1))
}

/// [`start_dns_with`] on `ip`, port 53.
fn start_dns_at(ip: std::net::Ipv4Addr, dir: &Path, more: &str) -> TestDns {
    let zone = MockResolver::from_zone(&format!(
        r#"
        example.org            MX   10 mail.example.org
        mail.example.org       A    127.0.0.1
        example.org            TXT  "v=spf1 ip4:127.0.0.1 -all"
        localhost              A    127.0.0.1
        1.0.0.127.in-addr.arpa PTR  localhost
        {more}
        "#
    ))
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server =
        runtime.block_on(DnsTestServer::start_at(zone, (ip, 53).into())).unwrap_or_else(|e| {
            panic!("DNS server on {ip}:53 (needs root or CAP_NET_BIND_SERVICE): {e}")
        });
    let resolv_conf = dir.join("resolv.conf");
    std::fs::write(&resolv_conf, format!("nameserver {ip}\n")).unwrap();
    TestDns { _runtime: runtime, server, resolv_conf }
}

/// A directory that the servers (which may run as another user) can read.
fn shared_dir(tmp: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for d in [tmp, &dir] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// The mailboxes of a maildir export: every directory with a cur/ under `root`, as mailbox
/// names ("Archive/2026").
fn exported_mailboxes(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        if dir.join("cur").is_dir() {
            out.push(dir.strip_prefix(root).unwrap().to_str().unwrap().to_string());
        }
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if entry.file_type().unwrap().is_dir()
                && !["cur", "new", "tmp"].contains(&name.to_str().unwrap())
            {
                walk(root, &entry.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Sets permissions so that a server running as another user can read the export.
fn make_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).unwrap();
    let mode = if meta.is_dir() { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            make_readable(&entry.unwrap().path());
        }
    }
}

fn parse_dump(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("mailclient dump: {e}:\n{json}"))
}

/// What a dump holds, for assertion messages: mailbox, flags, size of each message.
fn summary(dump: &serde_json::Value) -> String {
    let mut out = String::new();
    for (mailbox, messages) in dump.as_object().unwrap() {
        for m in messages.as_array().unwrap() {
            out += &format!(
                "{mailbox}: {} {} ({} base64 bytes)\n",
                m["flags"],
                m["internaldate"],
                m["message"].as_str().unwrap().len()
            );
        }
    }
    out
}

/// A real mox (localserve, stopped again) whose account `mox` received the test messages over
/// SMTP and got their flags and keywords over IMAP; returns its directory and what its IMAP
/// showed.
fn real_mox_with_mail(tmp: &Path, dns: &TestDns) -> (PathBuf, serde_json::Value) {
    let real_dir = tmp.join("real");
    let ports = peer::init_localserve(&real_dir);
    let mut real = peer::RealLocalserve::start(&real_dir, ports, &dns.resolv_conf);
    mailclient("deliver", ports.smtp);
    mailclient("flag", ports.imap);
    let original = parse_dump(&mailclient("dump", ports.imap));
    real.stop();
    // It looked up the sender's domain in our DNS (the only resolver it can reach).
    let asked = dns.server.received_for("example.org");
    assert!(asked.iter().any(|q| q.record_type == "MX"), "{asked:?}");
    let inbox = original["INBOX"].as_array().unwrap_or_else(|| panic!("{original}"));
    assert_eq!(inbox.len(), 5, "the real mox's Inbox:\n{}\n{}", summary(&original), real.log());
    assert_eq!(original["Archive/2026"].as_array().unwrap().len(), 1, "{}", summary(&original));
    for keyword in [
        "$junk",
        "$forwarded",
        "$phishing",
        "$mdnsent",
        "project-x",
        "\\draft",
        "\\answered",
        "\\flagged",
        "\\deleted",
    ] {
        assert!(
            summary(&original).contains(keyword),
            "the real mox does not show {keyword}:\n{}",
            summary(&original)
        );
    }
    (real_dir, original)
}

#[test]
fn mail_moves_from_real_mox_to_us_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = shared_dir(tmp.path(), "t");
    let dns = start_dns(&tmp);

    // 1. The real mox receives mail over SMTP; flags and keywords are set over IMAP.
    let (real_dir, original) = real_mox_with_mail(&tmp, &dns);

    // 2. Its export maildir.
    let from_real = tmp.join("export-real");
    let account = real_dir.join("accounts/mox");
    let o = peer::run(
        &tmp,
        &["export", "maildir", from_real.to_str().unwrap(), account.to_str().unwrap()],
    );
    assert!(o.status.success(), "real mox export maildir:\n{}", text(&o));
    let mailboxes = exported_mailboxes(&from_real);
    assert!(
        mailboxes.contains(&"Inbox".to_string()) && mailboxes.contains(&"Archive/2026".to_string()),
        "{mailboxes:?}"
    );
    make_readable(&from_real);

    // mox v0.0.17's export writes the well-known keywords ($Forwarded, $Junk, $NotJunk,
    // $Phishing, $MDNSent) into dovecot-keywords, but not the custom ones (store/export.go): they
    // do not leave the real mox this way.
    let mut keyword_files = String::new();
    for mailbox in &mailboxes {
        keyword_files += &std::fs::read_to_string(from_real.join(mailbox).join("dovecot-keywords"))
            .unwrap_or_default();
    }
    assert!(
        keyword_files.contains("$Junk") && keyword_files.contains("$Forwarded"),
        "{keyword_files}"
    );
    assert!(
        !keyword_files.contains("project-x") && !keyword_files.contains("custom-kw"),
        "{keyword_files}"
    );
    let exported = without_custom_keywords(&original);

    // 3. Into our running server with our import maildir (through its control socket), and
    // over our IMAP: the same messages, flags and keywords.
    let mut server = MoxServer::start(&ours(), MoxMode::Serve);
    for mailbox in &mailboxes {
        let maildir = from_real.join(mailbox);
        let o = server.mox(&["import", "maildir", "mox", mailbox, maildir.to_str().unwrap()], b"");
        assert!(
            o.status.success(),
            "our import maildir {mailbox}:\n{}\n{}",
            text(&o),
            server.log()
        );
    }
    let ours_dump = parse_dump(&mailclient("dump", server.ports.imap));
    compare(&exported, &ours_dump, "real mox -> mox-rs");
    // The operator sets the custom keywords again; now we hold exactly what the real mox held.
    mailclient("keywords", server.ports.imap);
    let ours_dump = parse_dump(&mailclient("dump", server.ports.imap));
    compare(&original, &ours_dump, "real mox -> mox-rs, custom keywords set again");

    // 4. Back: our export maildir, the real mox's import maildir (through its running server,
    // a new one), and over its IMAP the same again.
    let from_us = shared_dir(&tmp, "export-ours");
    std::fs::remove_dir(&from_us).unwrap();
    let account = server.dir.join("accounts/mox");
    let o = Command::new(ours())
        .args(["export", "maildir"])
        .arg(&from_us)
        .arg(&account)
        .output()
        .unwrap();
    assert!(o.status.success(), "our export maildir:\n{}", text(&o));
    server.stop();
    let back_mailboxes = exported_mailboxes(&from_us);
    make_readable(&from_us);

    let back_dir = tmp.join("real-again");
    let ports = peer::init_localserve(&back_dir);
    let mut back = peer::RealLocalserve::start(&back_dir, ports, &dns.resolv_conf);
    for mailbox in &back_mailboxes {
        let maildir = from_us.join(mailbox);
        let o = back.ctl(&["import", "maildir", "mox", mailbox, maildir.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "real mox import maildir {mailbox}:\n{}\n{}",
            text(&o),
            back.log()
        );
    }
    let again = parse_dump(&mailclient("dump", ports.imap));
    back.stop();
    // Our export carried $Junk; mox's import then sets the junk flags by mailbox name itself.
    let inbox = back_mailboxes.iter().find(|m| m.eq_ignore_ascii_case("inbox")).unwrap();
    assert_eq!(maildir_messages_with_keyword(&from_us.join(inbox), "$Junk"), 1);
    compare(&mox_import_junk_flags(&original), &again, "real mox -> mox-rs -> real mox");
}

/// `dump` without the keywords that mox's export maildir leaves out: all but \flags and the
/// well-known $keywords.
fn without_custom_keywords(dump: &serde_json::Value) -> serde_json::Value {
    let well_known = ["$forwarded", "$junk", "$notjunk", "$phishing", "$mdnsent"];
    let mut dump = dump.clone();
    for messages in dump.as_object_mut().unwrap().values_mut() {
        for m in messages.as_array_mut().unwrap() {
            let flags = m["flags"].as_array_mut().unwrap();
            flags.retain(|f| {
                let f = f.as_str().unwrap();
                f.starts_with('\\') || well_known.contains(&f)
            });
        }
    }
    dump
}

/// How many messages of `maildir` have `keyword` (a letter in the file name's flags, named in
/// dovecot-keywords).
fn maildir_messages_with_keyword(maildir: &Path, keyword: &str) -> usize {
    let keywords = std::fs::read_to_string(maildir.join("dovecot-keywords")).unwrap_or_default();
    let Some(index) = keywords.lines().find_map(|l| {
        let (n, k) = l.split_once(' ')?;
        (k == keyword).then(|| n.parse::<u8>().unwrap())
    }) else {
        panic!("{keyword} not in {}/dovecot-keywords:\n{keywords}", maildir.display());
    };
    let letter = char::from(b'a' + index);
    std::fs::read_dir(maildir.join("cur"))
        .unwrap()
        .chain(std::fs::read_dir(maildir.join("new")).unwrap())
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name().into_string().unwrap();
            name.rsplit_once(":2,").is_some_and(|(_, flags)| flags.contains(letter))
        })
        .count()
}

/// `dump` as the real mox's import maildir makes it: with AutomaticJunkFlags (as in its
/// localserve account), it sets the junk flags from the mailbox name, not from the maildir
/// (store.Message.JunkFlagsForMailbox): no junk flags in a mailbox matching
/// NeutralMailboxRegexp (^(inbox|...)), $NotJunk in the others (no NotJunkMailboxRegexp).
fn mox_import_junk_flags(dump: &serde_json::Value) -> serde_json::Value {
    let mut dump = dump.clone();
    for (mailbox, messages) in dump.as_object_mut().unwrap() {
        let neutral = mailbox.eq_ignore_ascii_case("inbox");
        for m in messages.as_array_mut().unwrap() {
            let flags = m["flags"].as_array_mut().unwrap();
            flags.retain(|f| f != "$junk" && f != "$notjunk");
            if !neutral {
                flags.push("$notjunk".into());
                flags.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    dump
}

/// Every mailbox of `expected` is in `got` with the same messages (bytes), flags and keywords
/// (compared without case, as IMAP defines them), and received times; other mailboxes in `got`
/// are empty.
fn compare(expected: &serde_json::Value, got: &serde_json::Value, what: &str) {
    let context = || format!("{what}\nexpected:\n{}\ngot:\n{}", summary(expected), summary(got));
    for (mailbox, messages) in got.as_object().unwrap() {
        if expected.get(mailbox).is_none() {
            assert_eq!(
                messages.as_array().unwrap().len(),
                0,
                "extra mailbox {mailbox}; {}",
                context()
            );
        }
    }
    for (mailbox, messages) in expected.as_object().unwrap() {
        let Some(have) = got.get(mailbox) else {
            panic!("mailbox {mailbox} missing; {}", context());
        };
        assert_eq!(
            have.as_array().unwrap().len(),
            messages.as_array().unwrap().len(),
            "messages in {mailbox}; {}",
            context()
        );
        for (e, g) in messages.as_array().unwrap().iter().zip(have.as_array().unwrap()) {
            assert_eq!(e["message"], g["message"], "message bytes in {mailbox}; {}", context());
            assert_eq!(e["flags"], g["flags"], "flags in {mailbox}; {}", context());
            assert_eq!(
                e["internaldate"],
                g["internaldate"],
                "received time in {mailbox}; {}",
                context()
            );
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config/mox-v0.0.17")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every configuration file the real mox wrote (testdata/config/mox-v0.0.17, any added later
/// included): parsed, written with our writer and parsed again, the same values.
#[test]
fn every_mox_config_file_round_trips() {
    let mut files = Vec::new();
    files_under(&fixtures(), &mut files);
    let mut checked = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let label = path.strip_prefix(fixtures()).unwrap().display().to_string();
        let text = || std::fs::read_to_string(&path).unwrap();
        if name == "mox.conf" || name == "describe-static.conf" {
            let parsed = config::parse_static(&label, &text()).unwrap_or_else(|e| panic!("{e}"));
            let written = config::static_to_string(&parsed).unwrap();
            let again = config::parse_static(&label, &written).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(again, parsed, "{label}");
        } else if name.starts_with("domains") && name.ends_with(".conf")
            || name == "describe-domains.conf"
        {
            let parsed = config::parse_dynamic(&label, &text()).unwrap_or_else(|e| panic!("{e}"));
            let written = config::dynamic_to_string(&parsed).unwrap();
            let again = config::parse_dynamic(&label, &written).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(again, parsed, "{label}");
        } else {
            continue;
        }
        checked.push(label);
    }
    checked.sort();
    assert_eq!(checked.len(), 15, "{checked:#?}");
}

/// Our `mox config test` accepts every configuration the real mox wrote, keys included: the
/// quickstarts, localserve, and the configuration after each of mox's edits.
#[test]
fn our_config_test_accepts_every_mox_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sets: Vec<(String, PathBuf)> = Vec::new();
    for name in ["quickstart", "quickstart-idna", "quickstart-existing-webserver"] {
        let dir = tmp.path().join(name);
        copy_dir(&fixtures().join(name).join("config"), &dir);
        sets.push((name.into(), dir));
    }
    // -existing-webserver names certificate files for the operator to provide.
    let existing = tmp.path().join("quickstart-existing-webserver");
    let tls = fixtures().join("../full/tls");
    std::fs::create_dir_all(existing.join("path/to")).unwrap();
    for host in ["mail", "mta-sts", "autoconfig"] {
        let base = existing.join(format!("path/to/{host}.example.org"));
        std::fs::copy(tls.join("localhost.pem"), base.with_extension("org-chain.crt.pem")).unwrap();
        std::fs::copy(tls.join("localhost-key.pem"), base.with_extension("org.key.pem")).unwrap();
    }
    let dir = tmp.path().join("localserve");
    copy_dir(&fixtures().join("localserve"), &dir);
    sets.push(("localserve".into(), dir));
    for after in ["domain-add", "account-add", "catchall-add", "address-add"] {
        let dir = tmp.path().join(format!("edits-{after}"));
        copy_dir(&fixtures().join("edits/config"), &dir);
        std::fs::copy(
            fixtures().join(format!("edits/domains-after-{after}.conf")),
            dir.join("domains.conf"),
        )
        .unwrap();
        sets.push((format!("edits, after {after}"), dir));
    }
    let real = peer::real_mox();
    let config_test = |program: &Path, dir: &Path| {
        Command::new(program)
            .arg("-config")
            .arg(dir.join("mox.conf"))
            .args(["config", "test"])
            .env_remove("MOXCONF")
            .output()
            .unwrap()
    };
    for (what, dir) in sets {
        let conf = dir.join("mox.conf");
        let static_text = std::fs::read_to_string(&conf).unwrap();
        if static_text.contains("\nUser: mox\n") {
            // quickstart's "User: mox" is not a user on this machine: both refuse it alike.
            let o = config_test(&ours(), &dir);
            assert_eq!(
                text(&o),
                format!(
                    "{}: User: user \"mox\" is not in /etc/passwd and is not a number (hint: add \
                     the user with \"useradd -d $PWD mox\" or set User in mox.conf)\nmox: 1 \
                     error in the configuration\n",
                    conf.display()
                ),
                "our config test of mox's {what}"
            );
            let o = config_test(&real, &dir);
            assert!(!o.status.success() && text(&o).contains("unknown user mox"), "{}", text(&o));
            std::fs::write(&conf, static_text.replace("\nUser: mox\n", "\nUser: 65534\n")).unwrap();
        }
        let o = config_test(&ours(), &dir);
        assert!(o.status.success(), "our config test of mox's {what}:\n{}", text(&o));
        let o = config_test(&real, &dir);
        assert!(o.status.success(), "the real mox's config test of its {what}:\n{}", text(&o));
    }
}

/// mox v0.0.17's `setaccountpassword` takes an account name, the help we implement an
/// address: ours takes both, with the server running (through it) and without, and says so.
#[test]
fn setaccountpassword_takes_an_account_name_or_an_address() {
    let help = Command::new(ours()).args(["setaccountpassword", "-h"]).output().unwrap();
    let help = text(&help);
    assert!(help.contains("mox setaccountpassword address|account"), "{help}");
    assert!(help.contains("account name") && help.contains("v0.0.17"), "{help}");

    let login = |port: u16, password: &str| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/migration/mailclient.py");
        Command::new("/usr/bin/python3")
            .arg(script)
            .args(["login", &port.to_string(), "mox@localhost", password])
            .status()
            .unwrap()
            .success()
    };
    let mut server = MoxServer::start(&ours(), MoxMode::Localserve);
    let port = server.ports.imap;
    for (who, password) in [("mox", "by-name-running"), ("mox@localhost", "by-address-running")] {
        let o = server.mox(&["setaccountpassword", who], format!("{password}\n").as_bytes());
        assert!(o.status.success(), "setaccountpassword {who}:\n{}", text(&o));
        assert!(login(port, password), "{who}: {}", server.log());
    }
    assert!(!login(port, "by-name-running"));
    server.stop();
    for (who, password) in [("mox", "by-name-offline"), ("mox@localhost", "by-address-offline")] {
        let o = server.mox(&["setaccountpassword", who], format!("{password}\n").as_bytes());
        assert!(o.status.success(), "setaccountpassword {who} (no server):\n{}", text(&o));
        server.restart(MoxMode::Localserve);
        assert!(login(port, password), "{who}: {}", server.log());
        server.stop();
    }
    let o = server.mox(&["setaccountpassword", "nobody@localhost"], b"x\n");
    assert!(!o.status.success(), "{}", text(&o));
}

/// The mbox files under `root` as (mailbox name, file): "Archive/2026.mbox" is "Archive/2026".
fn exported_mbox_files(root: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    files_under(root, &mut files);
    let mut out: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            Some((rel.strip_suffix(".mbox")?.to_string(), f))
        })
        .collect();
    out.sort();
    out
}

/// The same move with mbox files: the real mox's `export mbox` (flags in Status, X-Status and
/// X-Keywords lines, "From " lines quoted) into our `import mbox`, byte for byte; and back
/// with our `export mbox` and the real mox's `import mbox`.
#[test]
fn mail_moves_as_mbox_from_real_mox_to_us_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = shared_dir(tmp.path(), "t");
    let dns = start_dns(&tmp);
    let (real_dir, original) = real_mox_with_mail(&tmp, &dns);

    let from_real = tmp.join("export-real");
    let account = real_dir.join("accounts/mox");
    let o = peer::run(
        &tmp,
        &["export", "mbox", from_real.to_str().unwrap(), account.to_str().unwrap()],
    );
    assert!(o.status.success(), "real mox export mbox:\n{}", text(&o));
    let files = exported_mbox_files(&from_real);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"Inbox") && names.contains(&"Archive/2026"), "{names:?}");
    make_readable(&from_real);

    let mut server = MoxServer::start(&ours(), MoxMode::Serve);
    for (mailbox, file) in &files {
        let o = server.mox(&["import", "mbox", "mox", mailbox, file.to_str().unwrap()], b"");
        assert!(o.status.success(), "our import mbox {mailbox}:\n{}\n{}", text(&o), server.log());
    }
    let ours_dump = parse_dump(&mailclient("dump", server.ports.imap));
    // mox's mbox export, like its maildir export, writes only the well-known keywords.
    compare(&without_custom_keywords(&original), &ours_dump, "real mox -> mox-rs (mbox)");

    // Back with mbox: our export mbox, the real mox's import mbox.
    mailclient("keywords", server.ports.imap);
    let from_us = shared_dir(&tmp, "export-ours");
    std::fs::remove_dir(&from_us).unwrap();
    let account = server.dir.join("accounts/mox");
    let o =
        Command::new(ours()).args(["export", "mbox"]).arg(&from_us).arg(&account).output().unwrap();
    assert!(o.status.success(), "our export mbox:\n{}", text(&o));
    server.stop();
    make_readable(&from_us);
    let back_dir = tmp.join("real-again");
    let ports = peer::init_localserve(&back_dir);
    let mut back = peer::RealLocalserve::start(&back_dir, ports, &dns.resolv_conf);
    for (mailbox, file) in exported_mbox_files(&from_us) {
        let o = back.ctl(&["import", "mbox", "mox", &mailbox, file.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "real mox import mbox {mailbox}:\n{}\n{}",
            text(&o),
            back.log()
        );
    }
    // mox v0.0.17's import mbox leaves the flag lines (Status, X-Status, X-Keywords) in the
    // header and the separating empty line at the end of each message, also with mbox files
    // of its own export: the dump takes exactly those out again (and fails if they are not
    // there), so the rest is checked byte for byte. Maildir moves messages unchanged.
    let again = parse_dump(&mailclient("dump-mbox-imported", ports.imap));
    back.stop();
    compare(&mox_import_junk_flags(&original), &again, "real mox -> mox-rs -> real mox (mbox)");
}

/// Our MX in [`delivery_both_ways_between_our_serve_and_the_real_mox`]: port 25 of a loopback
/// address of this test's own (the real mox delivers to port 25 only).
fn our_mx_ip() -> std::net::Ipv4Addr {
    let pid = std::process::id();
    std::net::Ipv4Addr::new(127, 26, (pid >> 8) as u8, (pid as u8).max(1))
}

/// The real mox's MX in that test: port 25 (our queue delivers to port 25 only).
fn real_mx_ip() -> std::net::Ipv4Addr {
    let pid = std::process::id();
    std::net::Ipv4Addr::new(127, 27, (pid >> 8) as u8, (pid as u8).max(1))
}

/// A listener `mx` with SMTP on port 25 of `ip` (STARTTLS with localserve's certificate), the
/// first of mox.conf's listeners: for our configuration and the real mox's alike.
fn add_mx_listener(dir: &Path, ip: std::net::Ipv4Addr) {
    let path = dir.join("mox.conf");
    let conf = std::fs::read_to_string(&path).unwrap();
    assert!(conf.contains("\nListeners:\n"), "{conf}");
    let listener = format!(
        "\nListeners:\n\tmx:\n\t\tIPs:\n\t\t\t- {ip}\n\t\tTLS:\n\t\t\tKeyCerts:\n\t\t\t\t-\n\
         \t\t\t\t\tCertFile: localhost.crt\n\t\t\t\t\tKeyFile: localhost.key\n\t\tSMTP:\n\
         \t\t\tEnabled: true\n\t\t\tFirstTimeSenderDelay: 0s\n"
    );
    std::fs::write(&path, conf.replacen("\nListeners:\n", &listener, 1)).unwrap();
}

/// A domain `domain` whose messages are signed with localserve's DKIM key as `selector`, with
/// address mox@`domain` for account mox: for our configuration and the real mox's alike.
fn add_signing_domain(dir: &Path, domain: &str, selector: &str) {
    let path = dir.join("domains.conf");
    let conf = std::fs::read_to_string(&path).unwrap();
    assert!(conf.starts_with("Domains:\n") || conf.contains("\nDomains:\n"), "{conf}");
    assert!(conf.contains("\t\t\tmox@localhost: nil\n"), "{conf}");
    let conf = conf
        .replacen(
            "Domains:\n",
            &format!(
                "Domains:\n\t{domain}:\n\t\tDKIM:\n\t\t\tSelectors:\n\t\t\t\t{selector}:\n\
                 \t\t\t\t\tPrivateKeyFile: dkim.localserve.privatekey.pkcs8.pem\n\t\t\tSign:\n\
                 \t\t\t\t- {selector}\n"
            ),
            1,
        )
        .replacen(
            "\t\t\tmox@localhost: nil\n",
            &format!("\t\t\tmox@localhost: nil\n\t\t\tmox@{domain}: nil\n"),
            1,
        );
    std::fs::write(&path, conf).unwrap();
}

/// Our side of the delivery test: rs.example, signed as rs2026, with its MX on port 25.
fn configure_our_side(dir: &Path) {
    add_mx_listener(dir, our_mx_ip());
    add_signing_domain(dir, "rs.example", "rs2026");
}

/// The DKIM TXT record for localserve's key in `dir`.
fn localserve_dkim_record(dir: &Path) -> String {
    let pem = std::fs::read_to_string(dir.join("dkim.localserve.privatekey.pkcs8.pem")).unwrap();
    dkim::Record::for_public_key(&dkim::PrivateKey::from_pem(&pem).unwrap().public_key())
        .to_string()
}

/// The Authentication-Results fields of the Inbox message with `subject` on the IMAP server at
/// `port` (mox@localhost), top first, once it is there; `None` after `timeout`.
fn wait_for_authresults(port: u16, subject: &str, timeout: Duration) -> Option<Vec<String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/migration/mailclient.py");
    let start = Instant::now();
    while start.elapsed() < timeout {
        let o = Command::new("/usr/bin/python3")
            .arg(&script)
            .args(["authresults", &port.to_string(), subject])
            .output()
            .expect("running /usr/bin/python3 (Debian's python3 package)");
        if o.status.success() {
            return Some(String::from_utf8(o.stdout).unwrap().lines().map(String::from).collect());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// The results of `method` in an Authentication-Results field (unfolded), each as its words:
/// ["spf=pass", "(without", "dnssec)", "smtp.mailfrom=example.org"].
fn auth_results(field: &str, method: &str) -> Vec<Vec<String>> {
    field
        .split(';')
        .map(str::trim)
        .filter(|r| r.starts_with(&format!("{method}=")))
        .map(|r| r.split_whitespace().map(String::from).collect())
        .collect()
}

/// SPF for the MAIL FROM domain, DKIM (with `selector`) and DMARC pass for `domain`, each
/// exactly once, in an Authentication-Results field.
fn assert_passes(field: &str, domain: &str, selector: &str, at: &str) {
    let mailfrom = format!("smtp.mailfrom={domain}");
    let spf: Vec<_> =
        auth_results(field, "spf").into_iter().filter(|r| r.contains(&mailfrom)).collect();
    assert!(spf.len() == 1 && spf[0][0] == "spf=pass", "SPF {at}: {field}");
    let dkim = auth_results(field, "dkim");
    assert!(
        dkim.len() == 1
            && dkim[0][0] == "dkim=pass"
            && dkim[0].contains(&format!("header.d={domain}"))
            && dkim[0].contains(&format!("header.s={selector}")),
        "DKIM {at}: {field}"
    );
    let dmarc = auth_results(field, "dmarc");
    assert!(
        dmarc.len() == 1
            && dmarc[0][0] == "dmarc=pass"
            && dmarc[0].contains(&format!("header.from={domain}")),
        "DMARC {at}: {field}"
    );
}

/// Delivery both ways between our `mox serve` and the real mox v0.0.17's `mox serve`, each the
/// other's MX on port 25 of a 127.x address, found in one loopback DNS zone (ours through
/// `--dns-server`, the real mox's through its private resolv.conf):
/// (a) a message submitted to our serve (smtplib, AUTH) from mox@rs.example is signed with
///     rs.example's configured DKIM key and delivered by our queue to mox@go.example at the
///     real mox, whose Authentication-Results (read over its IMAP) shows SPF, DKIM and DMARC
///     passing, and its Received field shows it came in on its port-25 listener over
///     STARTTLS;
/// (b) a message submitted to the real mox from mox@go.example (signed with its key, sent by
///     its queue) arrives at our SMTP listener, and our Authentication-Results (read over our
///     IMAP) shows SPF, DKIM and DMARC passing, and our Received field our port-25 listener
///     and STARTTLS.
#[test]
fn delivery_both_ways_between_our_serve_and_the_real_mox() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let tmp = shared_dir(tmp.path(), "t");

    // The real mox: localserve's configuration run with `mox serve` (its queue delivers to
    // other servers) as nobody, with go.example signed by its key as go2026.
    let real_dir = tmp.join("real");
    let real_ports = peer::init_localserve(&real_dir);
    let conf = real_dir.join("mox.conf");
    let static_conf = std::fs::read_to_string(&conf).unwrap();
    assert!(static_conf.contains("\nUser: 0\n"), "{static_conf}");
    std::fs::write(&conf, static_conf.replace("\nUser: 0\n", "\nUser: 65534\n")).unwrap();
    add_mx_listener(&real_dir, real_mx_ip());
    add_signing_domain(&real_dir, "go.example", "go2026");

    // Our mox serve, resolving through the zone below: its DNS server starts on this address
    // once both DKIM keys are known (ours is written by our localserve -initonly); our serve
    // asks it only when mail comes or goes.
    let dns_ip = test_dns_ip();
    let mut ours = MoxServer::start_with(
        &ours(),
        MoxMode::Serve,
        MoxOptions {
            dns_server: Some((dns_ip, 53).into()),
            edit_config: Some(configure_our_side),
            ..Default::default()
        },
    );
    let zone = format!(
        r#"
        rs.example                  MX   10 mx.rs.example
        mx.rs.example               A    {our_mx}
        rs.example                  TXT  "v=spf1 ip4:127.0.0.0/8 -all"
        _dmarc.rs.example           TXT  "v=DMARC1; p=reject"
        rs2026._domainkey.rs.example TXT "{our_key}"
        go.example                  MX   10 mx.go.example
        mx.go.example               A    {real_mx}
        go.example                  TXT  "v=spf1 ip4:127.0.0.0/8 -all"
        _dmarc.go.example           TXT  "v=DMARC1; p=reject"
        go2026._domainkey.go.example TXT "{real_key}"
        "#,
        our_mx = our_mx_ip(),
        real_mx = real_mx_ip(),
        our_key = localserve_dkim_record(&ours.dir),
        real_key = localserve_dkim_record(&real_dir),
    );
    let dns = start_dns_at(dns_ip, &tmp, &zone);
    let mut real = peer::RealLocalserve::start_serve(&real_dir, real_ports, &dns.resolv_conf);
    let ready = started.elapsed();

    // (a) Submitted to our serve, delivered by our queue to the real mox.
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
with smtplib.SMTP("localhost", {port}, local_hostname="client.test", timeout=30) as c:
    c.starttls(context=ctx)
    c.login("mox@localhost", "moxmoxmox")
    print(c.sendmail("mox@rs.example", ["mox@go.example"],
        b"From: mox@rs.example\r\nTo: mox@go.example\r\nSubject: from mox-rs serve\r\n"
        b"Message-ID: <serve-1@rs.example>\r\n\r\nHello from mox-rs.\r\n"))
"#,
        ca = ours.dir.join("localhost.crt").display(),
        port = ours.ports.submission,
    );
    let o = Command::new("/usr/bin/python3").args(["-c", &script]).output().unwrap();
    assert!(o.status.success(), "submitting to our serve:\n{}\n{}", text(&o), ours.log());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "{}\n");
    let submitted = Instant::now();
    let Some(results) =
        wait_for_authresults(real_ports.imap, "from mox-rs serve", Duration::from_secs(60))
    else {
        let queue = ours.mox(&["queue", "list"], b"");
        panic!(
            "our serve did not deliver to the real mox:\nour queue:\n{}\nours:\n{}\nreal mox:\n{}",
            text(&queue),
            ours.log(),
            real.log()
        );
    };
    let to_real = submitted.elapsed();
    // The top field is the receiver's; the other is ours, from the submission.
    assert_eq!(results.len(), 2, "{results:#?}");
    let received = &results[0];
    assert_passes(received, "rs.example", "rs2026", "at the real mox");
    assert!(results[1].contains("auth=pass"), "{results:#?}");
    // It came in on the real mox's MX listener (port 25 of its 127.x address), over STARTTLS.
    let received = mailclient_with("fields", real_ports.imap, &["from mox-rs serve", "Received"]);
    let top = received.lines().next().unwrap_or_default();
    assert!(
        top.contains(&format!("by localhost ([{}])", real_mx_ip())) && top.contains("with ESMTPS"),
        "{received}"
    );
    assert_eq!(text(&ours.mox(&["queue", "list"], b"")), "messages:\n(none)\n");
    // Our serve asked the zone for the MX (the real mox for the sender's records).
    let asked = dns.server.received_for("go.example");
    assert!(asked.iter().any(|q| q.record_type == "MX"), "{asked:?}");

    // (b) Submitted to the real mox, delivered by its queue to our SMTP listener.
    let script = format!(
        r#"
import smtplib
with smtplib.SMTP("127.0.0.1", {port}, timeout=30) as c:
    c.login("mox@localhost", "moxmoxmox")
    print(c.sendmail("mox@go.example", ["mox@rs.example"],
        b"From: mox@go.example\r\nTo: mox@rs.example\r\nSubject: from the real mox serve\r\n"
        b"Message-ID: <real-serve-1@go.example>\r\n\r\nHello from mox v0.0.17.\r\n"))
"#,
        port = real_ports.submission
    );
    let o = Command::new("/usr/bin/python3").args(["-c", &script]).output().unwrap();
    assert!(o.status.success(), "submitting to the real mox:\n{}\n{}", text(&o), real.log());
    let submitted = Instant::now();
    let Some(results) =
        wait_for_authresults(ours.ports.imap, "from the real mox serve", Duration::from_secs(60))
    else {
        panic!(
            "the real mox did not deliver to our serve:\nreal mox:\n{}\nours:\n{}",
            real.log(),
            ours.log()
        );
    };
    let to_ours = submitted.elapsed();
    assert_eq!(results.len(), 2, "{results:#?}");
    let received = &results[0];
    assert_passes(received, "go.example", "go2026", "at our serve");
    assert!(results[1].contains("auth=pass"), "{results:#?}");
    let received =
        mailclient_with("fields", ours.ports.imap, &["from the real mox serve", "Received"]);
    let top = received.lines().next().unwrap_or_default();
    assert!(
        top.contains(&format!("by localhost ([{}])", our_mx_ip())) && top.contains("with ESMTPS"),
        "{received}"
    );
    let asked = dns.server.received_for("rs.example");
    assert!(asked.iter().any(|q| q.record_type == "MX"), "{asked:?}");
    real.stop();
    let (status, _) = ours.stop();
    assert!(status.success(), "{}", ours.log());
    eprintln!(
        "both servers ready in {ready:?}; mox-rs -> real mox delivered in {to_real:?}, real mox \
         -> mox-rs in {to_ours:?}; total {:?}",
        started.elapsed()
    );
}
