//! Independent IMAP clients against our server: curl (imap:// and imaps://), mbsync (Debian's
//! isync) syncing a mailbox both ways, and mutt driven in tmux.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{PASSWORD, TestServer, USER};
use store::{FlagOp, Flags, NewMessage, SystemFlags, UidSet};

fn msg(n: u32) -> Vec<u8> {
    format!(
        "From: Sender {n} <sender{n}@example.org>\r\nTo: mjl@mox.example\r\nSubject: message {n}\r\nMessage-ID: <m{n}@example.org>\r\nDate: Mon, 1 Jan 2024 10:00:0{} +0000\r\n\r\nThis is message {n}.\r\n",
        n % 10
    )
    .into_bytes()
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e} (is it installed? see .ci/deps)"));
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn curl_imap_and_imaps() {
    let srv = TestServer::start();
    let acc = srv.harness.account();
    acc.deliver_bytes("Inbox", &msg(1), NewMessage::default()).unwrap();
    acc.deliver_bytes("Inbox", &msg(2), NewMessage::default()).unwrap();
    let userpass = format!("{USER}:{PASSWORD}");
    let ca = srv.ca_file.to_str().unwrap();
    for (scheme, port) in [("imap", srv.plain_port), ("imaps", srv.tls_port)] {
        // Fetch a message by UID (curl uses STARTTLS with --ssl-reqd on imap://).
        let url = format!("{scheme}://localhost:{port}/INBOX;UID=2");
        let (ok, out) = run(Command::new("curl").args([
            "-sS",
            "--ssl-reqd",
            "--cacert",
            ca,
            "-u",
            &userpass,
            &url,
        ]));
        assert!(ok, "{scheme}: {out}");
        assert_eq!(out.as_bytes(), msg(2).as_slice(), "{scheme}");
        // List mailboxes.
        let url = format!("{scheme}://localhost:{port}/");
        let (ok, out) = run(Command::new("curl").args([
            "-sS",
            "--ssl-reqd",
            "--cacert",
            ca,
            "-u",
            &userpass,
            &url,
        ]));
        assert!(ok && out.contains("INBOX"), "{scheme}: {out}");
        // A custom command: SEARCH.
        let url = format!("{scheme}://localhost:{port}/INBOX?SUBJECT%20%22message%201%22");
        let (ok, out) = run(Command::new("curl").args([
            "-sS",
            "--ssl-reqd",
            "--cacert",
            ca,
            "-u",
            &userpass,
            &url,
        ]));
        assert!(ok, "{scheme}: {out}");
        assert!(out.contains("SEARCH 1"), "{scheme}: {out}");
        // Wrong password: refused.
        let url = format!("{scheme}://localhost:{port}/INBOX;UID=1");
        let bad = format!("{USER}:wrong");
        let (ok, out) =
            run(Command::new("curl").args(["-sS", "--ssl-reqd", "--cacert", ca, "-u", &bad, &url]));
        assert!(!ok, "{scheme}: wrong password accepted: {out}");
    }
    // Without TLS the login is refused (LOGINDISABLED, no AUTH=PLAIN).
    let url = format!("imap://localhost:{}/INBOX;UID=1", srv.plain_port);
    let (ok, out) = run(Command::new("curl").args([
        "-sS",
        "-u",
        &userpass,
        "--login-options",
        "AUTH=PLAIN",
        &url,
    ]));
    assert!(!ok, "plaintext login accepted: {out}");
}

fn maildir_files(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for sub in ["cur", "new"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            for e in rd.flatten() {
                v.push(format!("{sub}/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn mbsync_both_ways() {
    let srv = TestServer::start();
    let acc = srv.harness.account();
    for n in 1..=3 {
        acc.deliver_bytes("Inbox", &msg(n), NewMessage::default()).unwrap();
    }
    let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
    acc.store_flags(
        inbox,
        &UidSet::single(1),
        FlagOp::Add,
        &Flags::system(SystemFlags::SEEN),
        None,
    )
    .unwrap();
    let dir = srv.harness.dir.path();
    let local = dir.join("maildir");
    std::fs::create_dir_all(&local).unwrap();
    let conf = dir.join("mbsyncrc");
    for (tls, port) in [("STARTTLS", srv.plain_port), ("IMAPS", srv.tls_port)] {
        std::fs::write(
            &conf,
            format!(
                "IMAPAccount test\nHost localhost\nPort {port}\nUser {USER}\nPass {PASSWORD}\nSSLType {tls}\nCertificateFile {}\n\n\
IMAPStore remote\nAccount test\n\n\
MaildirStore local\nPath {}/\nInbox {}/INBOX\nSubFolders Verbatim\n\n\
Channel test\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\nSync All\nSyncState *\n",
                srv.ca_file.display(),
                local.display(),
                local.display()
            ),
        )
        .unwrap();
        let (ok, out) = run(Command::new("mbsync").arg("-c").arg(&conf).arg("-a"));
        assert!(ok, "mbsync ({tls}) failed: {out}");
    }
    let files = maildir_files(&local.join("INBOX"));
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(
        files.iter().filter(|f| f.ends_with(",S")).count(),
        1,
        "the seen message: {files:?}"
    );

    // Local changes: flag message 2 (F), delete message 3 (T, expunged by mbsync), and add one.
    let inbox_dir = local.join("INBOX");
    let find = |needle: &str| -> std::path::PathBuf {
        for f in maildir_files(&inbox_dir) {
            let p = inbox_dir.join(&f);
            if std::fs::read_to_string(&p).unwrap().contains(needle) {
                return p;
            }
        }
        panic!("no local file with {needle}");
    };
    let m2 = find("message 2.");
    let m2_name = m2.file_name().unwrap().to_string_lossy().to_string();
    let base = m2_name.split(":2,").next().unwrap().to_string();
    std::fs::rename(&m2, inbox_dir.join("cur").join(format!("{base}:2,F"))).unwrap();
    let m3 = find("message 3.");
    let base3 = m3.file_name().unwrap().to_string_lossy().split(":2,").next().unwrap().to_string();
    std::fs::rename(&m3, inbox_dir.join("cur").join(format!("{base3}:2,ST"))).unwrap();
    std::fs::write(inbox_dir.join("new/1700000000.local.test"), msg(9)).unwrap();
    let (ok, out) = run(Command::new("mbsync").arg("-c").arg(&conf).arg("-a"));
    assert!(ok, "mbsync failed: {out}");

    let snap = acc.snapshot().unwrap();
    let states = snap.message_states(inbox, &UidSet::all()).unwrap();
    let subjects: Vec<(u32, bool, bool)> = states
        .iter()
        .map(|s| {
            (
                s.uid,
                s.flags.system.contains(SystemFlags::FLAGGED),
                s.flags.system.contains(SystemFlags::SEEN),
            )
        })
        .collect();
    assert_eq!(subjects.len(), 3, "message 3 expunged, message 9 added: {subjects:?}");
    assert!(subjects.iter().any(|&(uid, flagged, _)| uid == 2 && flagged), "{subjects:?}");
    assert!(!states.iter().any(|s| s.uid == 3), "expunged on the server");
    let new = states.iter().find(|s| s.uid > 3).expect("the local message was uploaded");
    drop(snap);
    // mbsync adds an X-TUID header to find the uploaded message again.
    let uploaded = String::from_utf8(acc.read_message(new.id).unwrap()).unwrap();
    let without: String =
        uploaded.split_inclusive("\r\n").filter(|l| !l.starts_with("X-TUID:")).collect();
    assert_eq!(without.as_bytes(), msg(9).as_slice());

    // Server-side changes: unflag 2, expunge 1; mbsync brings them to the maildir.
    acc.store_flags(
        inbox,
        &UidSet::single(2),
        FlagOp::Remove,
        &Flags::system(SystemFlags::FLAGGED),
        None,
    )
    .unwrap();
    acc.store_flags(
        inbox,
        &UidSet::single(1),
        FlagOp::Add,
        &Flags::system(SystemFlags::DELETED),
        None,
    )
    .unwrap();
    acc.expunge(inbox, None).unwrap();
    let (ok, out) = run(Command::new("mbsync").arg("-c").arg(&conf).arg("-a"));
    assert!(ok, "mbsync failed: {out}");
    let files = maildir_files(&inbox_dir);
    assert_eq!(files.len(), 2, "{files:?}");
    let contents: Vec<String> =
        files.iter().map(|f| std::fs::read_to_string(inbox_dir.join(f)).unwrap()).collect();
    assert!(!contents.iter().any(|c| c.contains("message 1.")), "expunge synced");
    let m2 = files
        .iter()
        .find(|f| std::fs::read_to_string(inbox_dir.join(f)).unwrap().contains("message 2."))
        .unwrap();
    assert!(!m2.contains('F'), "unflag synced: {m2}");
}

/// Polls a tmux pane until it shows `needle`.
fn wait_pane(session: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, pane) = run(Command::new("tmux").args(["capture-pane", "-p", "-t", session]));
        if pane.contains(needle) {
            return pane;
        }
        assert!(Instant::now() < deadline, "tmux pane never showed {needle:?}:\n{pane}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn keys(session: &str, keys: &[&str]) {
    let mut c = Command::new("tmux");
    c.args(["send-keys", "-t", session]).args(keys);
    assert!(run(&mut c).0);
}

#[test]
fn mutt_in_tmux_reads_flags_and_deletes() {
    let srv = TestServer::start();
    let acc = srv.harness.account();
    for n in 1..=3 {
        acc.deliver_bytes("Inbox", &msg(n), NewMessage::default()).unwrap();
    }
    let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
    let dir = srv.harness.dir.path();
    let muttrc = dir.join("muttrc");
    std::fs::write(
        &muttrc,
        format!(
            "set folder=imaps://localhost:{}/\nset spoolfile=+INBOX\nset imap_user={USER}\nset imap_pass={PASSWORD}\n\
set certificate_file={}\nset ssl_verify_host=yes\nset mail_check=1\nset timeout=1\nset sort=date\n\
set header_cache=\nset message_cachedir=\nset confirmappend=no\nset delete=yes\nset quit=yes\nset move=no\n\
set mark_old=no\nset pager_stop=yes\nset pager_index_lines=0\nset record=\n",
            srv.tls_port,
            srv.ca_file.display()
        ),
    )
    .unwrap();
    // Trust the CA explicitly: mutt checks against its certificate_file.
    let session = format!("moxmutt{}", std::process::id());
    let status = Command::new("tmux")
        .args(["new-session", "-d", "-x", "160", "-y", "40", "-s", &session])
        .arg(format!("TERM=xterm mutt -n -F {} ; sleep 30", muttrc.display()))
        .status()
        .expect("tmux (apt install tmux)");
    assert!(status.success());
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).status();
        }
    }
    let _kill = Kill(session.clone());

    let pane = wait_pane(&session, "message 3");
    assert!(pane.contains("message 1") && pane.contains("message 2"), "{pane}");
    // Read message 1 (the first, sorted by date): \Seen is set on the server.
    keys(&session, &["1", "Enter"]);
    keys(&session, &["Enter"]);
    wait_pane(&session, "This is message 1.");
    keys(&session, &["q"]);
    wait_pane(&session, "message 3");
    // Flag message 2 (F toggles \Flagged), delete message 3 (d), sync ($).
    keys(&session, &["2", "Enter"]);
    keys(&session, &["F"]);
    keys(&session, &["3", "Enter"]);
    keys(&session, &["d"]);
    keys(&session, &["$"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let snap = acc.snapshot().unwrap();
        let states = snap.message_states(inbox, &UidSet::all()).unwrap();
        let seen1 = states.iter().any(|s| s.uid == 1 && s.flags.system.contains(SystemFlags::SEEN));
        let flagged2 =
            states.iter().any(|s| s.uid == 2 && s.flags.system.contains(SystemFlags::FLAGGED));
        let gone3 = !states.iter().any(|s| s.uid == 3);
        if seen1 && flagged2 && gone3 {
            break;
        }
        drop(snap);
        if Instant::now() > deadline {
            let (_, pane) = run(Command::new("tmux").args(["capture-pane", "-p", "-t", &session]));
            panic!(
                "mutt's changes did not reach the server: seen1={seen1} flagged2={flagged2} gone3={gone3}\n{pane}"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // A message delivered now shows up in mutt (new mail check).
    acc.deliver_bytes("Inbox", &msg(7), NewMessage::default()).unwrap();
    wait_pane(&session, "message 7");
    keys(&session, &["q"]);
}
