//! Python's imaplib, an independent IMAP client, against our server over STARTTLS and
//! implicit TLS.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod common;

use common::{PASSWORD, TestServer, USER, python};

const SCRIPT: &str = r#"
import imaplib, ssl, sys
port, ca, mode, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
if mode == "starttls":
    m = imaplib.IMAP4("localhost", port)
    assert "LOGINDISABLED" in m.capabilities, m.capabilities
    assert "STARTTLS" in m.capabilities
    try:
        m.login(user, password)
        raise SystemExit("login without TLS was allowed")
    except imaplib.IMAP4.error as e:
        print("refused before TLS:", e)
    m.starttls(ssl_context=ctx)
else:
    m = imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx)
assert "AUTH=PLAIN" in m.capabilities, m.capabilities
try:
    m.login(user, "wrong password")
    raise SystemExit("wrong password accepted")
except imaplib.IMAP4.error as e:
    assert "AUTHENTICATIONFAILED" in str(e), e
typ, data = m.login(user, password)
assert typ == "OK", data
typ, data = m.create("Archive")
assert typ == "OK", data
msg = b"From: a@example.org\r\nTo: mjl@mox.example\r\nSubject: hello imaplib\r\n\r\nbody text here\r\n"
typ, data = m.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(1700000000), msg)
assert typ == "OK" and b"APPENDUID" in data[0], data
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"1"], data
typ, data = m.fetch("1", "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[TEXT])")
assert typ == "OK", data
meta, subj = data[0]
assert b"\\Flagged" in meta and b"RFC822.SIZE %d" % len(msg) in meta, meta
assert subj.strip() == b"Subject: hello imaplib", subj
assert data[1][1] == b"body text here\r\n", data
typ, data = m.fetch("1", "(FLAGS)")
assert b"\\Seen" in data[0], data   # BODY[TEXT] set \Seen
typ, data = m.search(None, "SUBJECT", "imaplib", "FLAGGED")
assert data == [b"1"], data
typ, data = m.copy("1", "Archive")
assert typ == "OK", data
typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
assert typ == "OK", data
typ, data = m.expunge()
assert data == [b"1"], data
typ, data = m.status("Archive", "(MESSAGES UNSEEN UIDNEXT)")
assert typ == "OK" and b"MESSAGES " in data[0] and b"UNSEEN 0" in data[0], data
typ, data = m.list()
names = b" ".join(data)
assert b"INBOX" in names and b"Archive" in names, data
m.logout()
print("ok", mode)
"#;

#[test]
fn imaplib_over_starttls_and_tls() {
    let srv = TestServer::start();
    let ca = srv.ca_file.to_str().unwrap();
    let out = python(SCRIPT, &[&srv.plain_port.to_string(), ca, "starttls", USER, PASSWORD]);
    assert!(out.contains("ok starttls"), "{out}");
    assert!(out.contains("refused before TLS"), "{out}");
    // A second account state check over implicit TLS: the first run's messages are there.
    let out = python(
        &SCRIPT.replace("typ, data = m.create(\"Archive\")\nassert typ == \"OK\", data\n", ""),
        &[&srv.tls_port.to_string(), ca, "tls", USER, PASSWORD],
    );
    assert!(out.contains("ok tls"), "{out}");
    let acc = srv.harness.account();
    let archive = acc.mailbox("Archive").unwrap().unwrap();
    assert_eq!(archive.counts.messages, 2, "one copy per run");
}
