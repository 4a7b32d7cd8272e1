//! `mox serve` trains the account's junk filter from IMAP: Python's imaplib moves spam into
//! Junk and appends ham to Archive on a real server with the configuration `mox localserve
//! -initonly` writes (AutomaticJunkFlags and a JunkFilter, as mox's quickstart sets them); the
//! filter on disk has them afterwards, and `mox retrain` rebuilds the same database. With SMTP
//! served as well, the next similar spam over SMTP is refused (451, a copy in Rejects with
//! `X-Mox-Reason: junk-content`).

use std::path::Path;

use test_support::{MoxMode, MoxServer};

fn mox_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mox"))
}

const SCRIPT: &str = r#"
import imaplib, sys
port = int(sys.argv[1])
m = imaplib.IMAP4("127.0.0.1", port)
typ, data = m.login("mox@localhost", "junk-test-pw")
assert typ == "OK", data
# The account has Junk and Archive from the start (as mox creates them).
typ, data = m.list()
assert any(b'"Junk"' in l or b" Junk" in l for l in data) and any(b"Archive" in l for l in data), data
spam = b"From: win@prize.example\r\nSubject: lottery winner\r\n\r\nclaim your lottery prize casino bonus\r\n"
ham = b"From: boss@work.example\r\nSubject: agenda\r\n\r\nproject meeting agenda tomorrow\r\n"
typ, data = m.append("INBOX", None, None, spam)
assert typ == "OK", data
typ, data = m.append("Archive", None, None, ham)
assert typ == "OK", data
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"1"], data
typ, data = m.uid("MOVE", "1", "Junk")
assert typ == "OK", data
typ, data = m.select("Junk")
typ, data = m.fetch("1", "(FLAGS)")
assert b"$Junk" in data[0], data
typ, data = m.select("Archive")
typ, data = m.fetch("1", "(FLAGS)")
assert b"$NotJunk" in data[0], data
m.logout()
print("ok")
"#;

#[test]
fn imap_moves_and_appends_train_the_filter() {
    let mut server = MoxServer::start(mox_bin(), MoxMode::Serve);
    let dir = server.dir.clone();
    let out = server.mox(&["setaccountpassword", "mox@localhost"], b"junk-test-pw\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(server.ports.imap.to_string())
        .output()
        .expect("running /usr/bin/python3 (apt install python3)");
    assert!(
        out.status.success(),
        "imaplib: {}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let (status, _) = server.stop();
    assert!(status.success());

    let fdir = dir.join("accounts/mox/junkfilter");
    let params = junk::Params::default();
    let dump = {
        let f = junk::Filter::open(&fdir, &params).expect("filter");
        assert_eq!(f.word_counts("lottery"), junk::Counts { ham: 0, spam: 1 });
        assert_eq!(f.word_counts("agenda"), junk::Counts { ham: 1, spam: 0 });
        let s = f.stats().expect("stats");
        assert_eq!((s.hams, s.spams), (1, 1));
        f.dump().expect("dump")
    };
    // `mox retrain` (the server is stopped) rebuilds the same database.
    let out = std::process::Command::new(mox_bin())
        .args(["retrain", "--datadir"])
        .arg(&dir)
        .arg("mox")
        .output()
        .expect("mox retrain");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("trained 1 ham and 1 spam"), "{stdout}");
    let f = junk::Filter::open(&fdir, &params).expect("filter");
    assert_eq!(f.dump().expect("dump"), dump);
}

const TRAIN_AND_SEND: &str = r#"
import imaplib, smtplib, random, sys
imap_port, smtp_port = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(7)
ham_words = "project meeting agenda tomorrow budget review quarterly report team lunch schedule draft minutes colleague invoice attached thanks regards".split()
spam_words = "lottery winner prize claim casino bonus viagra pills cheap offer unsubscribe urgent cash free guaranteed million".split()
def msg(words, i, frm):
    body = " ".join(r.choice(words) for _ in range(40))
    return ("From: %s\r\nTo: mox@localhost\r\nSubject: %s\r\nMessage-Id: <t%d@x>\r\n\r\n%s\r\n" % (frm, " ".join(r.choice(words) for _ in range(3)), i, body)).encode()
m = imaplib.IMAP4("127.0.0.1", imap_port)
typ, data = m.login("mox@localhost", "junk-test-pw")
assert typ == "OK", data
for i in range(60):
    typ, data = m.append("Archive", None, None, msg(ham_words, i, "colleague%d@work.example" % i))
    assert typ == "OK", data
for i in range(30):
    typ, data = m.append("INBOX", None, None, msg(spam_words, 100 + i, "win%d@spammy.example" % i))
    assert typ == "OK", data
typ, data = m.select("INBOX")
typ, data = m.uid("MOVE", "1:*", "Junk")
assert typ == "OK", data
m.logout()
s = smtplib.SMTP("127.0.0.1", smtp_port, timeout=60)
s.ehlo("localhost")
spam = b"From: prizes@prizes.example\r\nTo: mox@localhost\r\nSubject: claim your prize\r\nMessage-Id: <s1@prizes.example>\r\n\r\nUrgent: you are the lottery winner of a million cash prize, claim your free casino bonus now, guaranteed.\r\n"
try:
    # A null reverse path: a .example sender domain has no MX, so as MAIL FROM it is refused.
    s.sendmail("", ["mox@localhost"], spam)
    raise SystemExit("spam accepted")
except smtplib.SMTPRecipientsRefused as e:
    code, text = e.recipients["mox@localhost"]
except smtplib.SMTPDataError as e:
    code, text = e.smtp_code, e.smtp_error
print("refused", code, text.decode())
s.quit()
"#;

/// With SMTP served too: what imaplib taught the filter decides the next delivery over SMTP.
#[test]
fn imap_training_decides_smtp_delivery() {
    let mut server = MoxServer::start(mox_bin(), MoxMode::Serve);
    let dir = server.dir.clone();
    let out = server.mox(&["setaccountpassword", "mox@localhost"], b"junk-test-pw\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(TRAIN_AND_SEND)
        .arg(server.ports.imap.to_string())
        .arg(server.ports.smtp.to_string())
        .output()
        .expect("running /usr/bin/python3 (apt install python3)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python: {stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert!(stdout.contains("refused 451 4.3.0 error processing"), "{stdout}\n{}", server.log());
    let (status, _) = server.stop();
    assert!(status.success());
    let acc = store::Account::open_read_only(&dir.join("accounts/mox")).expect("account");
    let rejects = acc.mailbox("Rejects").expect("read").expect("Rejects mailbox");
    assert_eq!(rejects.counts.messages, 1);
    let snap = acc.snapshot().expect("snapshot");
    let uid = snap.uids(rejects.id).expect("uids")[0];
    let m = snap.message_by_uid(rejects.id, uid).expect("read").expect("message");
    let prefix = String::from_utf8_lossy(&m.prefix);
    assert!(prefix.starts_with("X-Mox-Reason: junk-content"), "{prefix}");
}
