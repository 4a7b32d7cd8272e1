//! Two clients on one mailbox see each other's changes: one IDLEs (RFC 2177), the other
//! appends, flags, expunges; the idling one gets EXISTS, FETCH and EXPUNGE as they happen.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod common;

use common::{PASSWORD, TestServer, USER, python};

const SCRIPT: &str = r#"
import imaplib, ssl, sys, time
port, ca, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
a = imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx)
b = imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx)
a.login(user, password); b.login(user, password)
a.select("INBOX"); b.select("INBOX")
msg = b"Subject: idle test\r\n\r\nhello\r\n"
b.append("INBOX", None, None, msg)
b.noop()

def idle_until(conn, want, action):
    tag = conn._new_tag()
    conn.send(tag + b" IDLE\r\n")
    line = conn.readline()
    assert line.startswith(b"+"), line
    action()
    got = []
    deadline = time.time() + 10
    conn.sock.settimeout(10)
    while not all(any(w in l for l in got) for w in want):
        assert time.time() < deadline, got
        got.append(conn.readline().strip())
    conn.send(b"DONE\r\n")
    while True:
        l = conn.readline()
        if l.startswith(tag):
            assert b"OK" in l, l
            break
        got.append(l.strip())
    return got

# New message while idling: EXISTS (the first message was appended before SELECT finished? no: after).
got = idle_until(a, [b"* 2 EXISTS"], lambda: b.append("INBOX", "(\\Seen)", None, msg))
print("exists", got)
# A flag change by the other client.
got = idle_until(a, [b"FETCH (FLAGS (\\Flagged"], lambda: b.store("1", "+FLAGS", "(\\Flagged)"))
print("fetch", got)
# An expunge by the other client.
def expunge():
    b.store("2", "+FLAGS", "(\\Deleted)")
    b.expunge()
got = idle_until(a, [b"* 2 EXPUNGE"], expunge)
print("expunge", got)
typ, data = a.fetch("1:*", "(UID FLAGS)")
assert len([d for d in data if d]) == 1 and b"\\Flagged" in data[0], data
a.logout(); b.logout()
print("ok")
"#;

#[test]
fn two_clients_see_each_others_changes_through_idle() {
    let srv = TestServer::start();
    let out =
        python(SCRIPT, &[&srv.tls_port.to_string(), srv.ca_file.to_str().unwrap(), USER, PASSWORD]);
    assert!(out.contains("ok"), "{out}");
    assert!(out.contains("exists") && out.contains("expunge"), "{out}");
}
