//! Moving between the real mox v0.0.17 and mox-rs, in both directions, end to end.
//!
//! Mail: the real mox receives messages over SMTP and gets flags and keywords over IMAP
//! (Python's smtplib and imaplib, `migration/mailclient.py`); its `export maildir` is imported
//! into our running `mox serve` (as `nobody` when the test runs as root) with our `import
//! maildir`, and our IMAP shows every message byte for byte with every flag and keyword. Then
//! back: our `export maildir`, the real mox's `import maildir`, and its IMAP shows the same
//! again. The same with mbox. Also: the configurations the real mox wrote (testdata) pass our
//! `config test`, and `setaccountpassword` takes an account name or an address.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod peer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dns::MockResolver;
use test_support::{DnsTestServer, MoxMode, MoxServer};

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
    // A loopback address of this test's own (from the process id and a counter), so that tests
    // running side by side (and a resolver on 127.0.0.1:53) do not collide on port 53.
    static STARTED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    let ip = std::net::Ipv4Addr::new(127, 53 + n, (pid >> 8) as u8, (pid as u8).max(1));
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

/// Delivery from us to the real mox: our queue (the `queue` crate, as `mox serve` uses it)
/// delivers a message signed with our `dkim` crate to the real mox as the recipient domain's
/// MX, and the real mox's Authentication-Results shows SPF and DKIM passing.
#[test]
fn our_queue_delivers_to_the_real_mox_with_spf_and_dkim_passing() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = shared_dir(tmp.path(), "t");
    let key = dkim::PrivateKey::generate_ed25519().unwrap();
    let record = dkim::Record::for_public_key(&key.public_key()).to_string();
    let dns = start_dns_with(&tmp, &format!("sel2026._domainkey.example.org TXT \"{record}\""));
    let real_dir = tmp.join("real");
    let ports = peer::init_localserve(&real_dir);
    let mut real = peer::RealLocalserve::start(&real_dir, ports, &dns.resolv_conf);

    let message = b"From: Sender <sender@example.org>\r\nTo: mox@localhost\r\n\
        Subject: from our queue\r\nMessage-ID: <queue-1@example.org>\r\n\r\nHello mox.\r\n";
    let signer = dkim::Signer::new(
        dns::Domain::parse("example.org").unwrap(),
        dkim::Selector::parse("sel2026").unwrap(),
        key,
    );
    let signature = dkim::sign(&[signer], message, std::time::SystemTime::now()).unwrap();
    let signed = [signature.as_bytes(), message].concat();

    // Our queue finds the MX of "localhost" in its own zone: the real mox on 127.0.0.1.
    let zone =
        MockResolver::from_zone("localhost MX 10 mx.peer.test\nmx.peer.test A 127.0.0.1").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut settings = queue::Settings::new(dns::Domain::parse("mail.example.org").unwrap());
        settings.smtp_port = ports.smtp;
        let q = queue::Queue::builder(tmp.join("queue"), settings)
            .resolver(std::sync::Arc::new(zone))
            .open()
            .unwrap();
        let new = queue::NewMessage::new(
            Some("sender@example.org".parse().unwrap()),
            vec![queue::Recipient::parse("mox@localhost").unwrap()],
            signed,
        );
        let ids = q.add(new).await.unwrap();
        let runner = q.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        let start = std::time::Instant::now();
        while !q.is_empty().unwrap() {
            if let Ok(entry) = q.entry(ids[0])
                && entry.attempts > 0
            {
                panic!("delivery to the real mox failed: {}\n{}", entry.last_error(), real.log());
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(30), "{}", real.log());
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let _ = stop.send(());
        task.await.unwrap();
    });

    let results = mailclient_with("authresults", ports.imap, &["from our queue"]);
    real.stop();
    assert!(results.contains("spf=pass"), "{results}");
    assert!(results.contains("dkim=pass") && results.contains("header.d=example.org"), "{results}");
}
