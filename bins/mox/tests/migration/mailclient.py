"""The client side of the mail migration test (bins/mox/tests/migration.rs): Python's smtplib and
imaplib, independent of both servers. Run with /usr/bin/python3.

    mailclient.py deliver SMTPPORT           deliver the test messages to mox@localhost over SMTP
    mailclient.py flag IMAPPORT              set flags and keywords, make a second mailbox
    mailclient.py keywords IMAPPORT          set only the custom keywords again
    mailclient.py dump IMAPPORT              print every mailbox's messages as JSON
    mailclient.py login IMAPPORT USER PASS   log in (exit status 0) or fail (status 1)
    mailclient.py authresults IMAPPORT SUBJ  the Authentication-Results fields (unfolded, one a
                                             line) of the Inbox message with Subject SUBJ
    mailclient.py dump-mbox-imported IMAPPORT  dump, with what mox v0.0.17's import mbox adds to
                                             each message taken out again (see below)

IMAP logs in as mox@localhost with password moxmoxmox, in plain text (the localserve
configuration allows that on 127.0.0.1).
"""

import base64
import datetime
import imaplib
import json
import re
import smtplib
import sys

USER, PASSWORD = "mox@localhost", "moxmoxmox"

# Each message tests something a migration can break: plain ASCII, 8-bit UTF-8, a line that mbox
# and maildir tools mangle ("From " at the start of a line), dot-stuffing in SMTP, trailing
# white space, a long line, a MIME attachment.
MESSAGES = [
    (
        "From: Alice <alice@example.org>\r\n"
        "To: mox@localhost\r\n"
        "Subject: one, plain\r\n"
        "Message-ID: <one@example.org>\r\n"
        "Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n"
        "\r\n"
        "Hello, first message.\r\n"
    ),
    (
        "From: =?utf-8?q?J=C3=B8ran?= <joran@example.org>\r\n"
        "To: mox@localhost\r\n"
        "Subject: =?utf-8?q?two=2C_=C3=BCnicode?=\r\n"
        "Message-ID: <two@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Grüße aus Köln, ½ € — ✓\r\n"
    ),
    (
        "From: bob@example.org\r\n"
        "To: mox@localhost\r\n"
        "Subject: three, tricky lines\r\n"
        "Message-ID: <three@example.org>\r\n"
        "\r\n"
        "From the start of a line, mbox would quote this.\r\n"
        ".\r\n"
        "..two dots\r\n"
        "trailing space   \r\n"
        "tab\tin\tline\t\r\n" + "x" * 900 + "\r\n"
    ),
    (
        "From: carol@example.org\r\n"
        "To: mox@localhost\r\n"
        "Subject: four, spam\r\n"
        "Message-ID: <four@example.org>\r\n"
        "\r\n"
        "Cheap watches.\r\n"
    ),
    (
        "From: dave@example.org\r\n"
        "To: mox@localhost\r\n"
        "Subject: five, attachment\r\n"
        "Message-ID: <five@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "See attached.\r\n"
        "--b1\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" + base64.encodebytes(bytes(range(256))).decode().replace("\n", "\r\n") + "--b1--\r\n"
    ),
]

# Flags per message, by its Message-ID's local part; message three is also copied to the mailbox
# "Archive/2026" with flags of its own there.
FLAGS = {
    "one": r"(\Seen $MDNSent)",
    "two": r"(\Seen \Answered)",
    "three": r"(\Flagged \Draft)",
    "four": r"($Junk $Phishing \Deleted)",
    "five": r"(\Seen $Forwarded project-x)",
}
ARCHIVE = "Archive/2026"
ARCHIVE_FLAGS = r"(\Seen \Flagged custom-kw)"
# The keywords of the above that are not well-known ($Junk etc.).
CUSTOM = {"five": "(project-x)"}
ARCHIVE_CUSTOM = "(custom-kw)"


def deliver(port):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        for m in MESSAGES:
            s.sendmail("sender@example.org", ["mox@localhost"], m.encode("utf-8"))


def login(port):
    c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    c.login(USER, PASSWORD)
    return c


def check(result, what):
    typ, data = result
    if typ != "OK":
        raise SystemExit(f"{what}: {typ} {data}")
    return data


def flag(port, flags_by_message=FLAGS, archive_flags=ARCHIVE_FLAGS, copy=True):
    c = login(port)
    check(c.select("INBOX"), "select")
    for name, flags in flags_by_message.items():
        uids = check(c.uid("SEARCH", None, "HEADER", "Message-ID", f'"<{name}@example.org>"'), "search")[0].split()
        if len(uids) != 1:
            raise SystemExit(f"message {name}: found uids {uids}")
        check(c.uid("STORE", uids[0], "+FLAGS", flags), f"store {name}")
        if name == "three" and copy:
            check(c.create(ARCHIVE), "create")
            check(c.uid("COPY", uids[0], ARCHIVE), "copy")
    check(c.select(ARCHIVE), "select archive")
    check(c.uid("STORE", "1:*", "+FLAGS", archive_flags), "store archive")
    c.logout()


def keywords(port):
    flag(port, CUSTOM, ARCHIVE_CUSTOM, copy=False)


def mailboxes(c):
    names = []
    for line in check(c.list(), "list"):
        m = re.match(rb'\((.*?)\) (?:"."|NIL) (.*)$', line)
        attrs, name = m.group(1), m.group(2).decode()
        if name.startswith('"'):
            name = name[1:-1]
        if name.upper() == "INBOX":
            name = "INBOX"  # Case-insensitive (RFC 3501): mox says "Inbox".
        if b"\\Noselect" not in attrs and b"\\NonExistent" not in attrs:
            names.append(name)
    return sorted(names)


def without_mbox_import_additions(message):
    """mox v0.0.17's import mbox (store/import.go) keeps the mbox flag lines (Status, X-Status,
    X-Keywords) in the stored header, and the empty line that separates messages in the mbox at
    the end of each message. This takes exactly those out again, and fails if they are not
    there, so that the rest is compared byte for byte."""
    header, sep, body = message.partition(b"\r\n\r\n")
    lines = header.split(b"\r\n")
    kept = [l for l in lines if not l.lower().startswith((b"status:", b"x-status:", b"x-keywords:"))]
    if not body.endswith(b"\r\n\r\n"):
        raise SystemExit(f"no empty line at the end of {message[-40:]!r}")
    return b"\r\n".join(kept) + sep + body[:-2]


def dump(port, transform=lambda m: m):
    c = login(port)
    out = {}
    for name in mailboxes(c):
        check(c.select(f'"{name}"', readonly=True), f"examine {name}")
        uids = check(c.uid("SEARCH", None, "ALL"), "search")[0].split()
        messages = []
        for uid in uids:
            data = check(c.uid("FETCH", uid, "(FLAGS INTERNALDATE BODY.PEEK[])"), "fetch")
            # The attributes may come before or after the literal of the message.
            head, body = data[0]
            attrs = head + b" " + b" ".join(d for d in data[1:] if isinstance(d, bytes))
            flags = re.search(rb"FLAGS \(([^)]*)\)", attrs).group(1).decode().split()
            date = re.search(rb'INTERNALDATE "([^"]*)"', attrs).group(1).decode().strip()
            # The day may be space-padded (mox) or zero-padded (RFC 3501 allows both).
            received = int(datetime.datetime.strptime(date, "%d-%b-%Y %H:%M:%S %z").timestamp())
            messages.append(
                {
                    "flags": sorted(f.lower() for f in flags if f != "\\Recent"),
                    "internaldate": received,
                    "message": base64.b64encode(transform(body)).decode(),
                }
            )
        messages.sort(key=lambda m: m["message"])
        out[name] = messages
    c.logout()
    print(json.dumps(out, indent=1, sort_keys=True))


def try_login(port, user, password):
    c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        c.login(user, password)
    except imaplib.IMAP4.error as e:
        raise SystemExit(f"login failed: {e}")
    c.logout()


def authresults(port, subject):
    import email
    import email.policy

    c = login(port)
    check(c.select("INBOX", readonly=True), "examine")
    uids = check(c.uid("SEARCH", None, "HEADER", "Subject", f'"{subject}"'), "search")[0].split()
    if len(uids) != 1:
        raise SystemExit(f"subject {subject!r}: found uids {uids}")
    data = check(c.uid("FETCH", uids[0], "(BODY.PEEK[HEADER])"), "fetch")
    header = email.message_from_bytes(data[0][1], policy=email.policy.compat32)
    for value in header.get_all("Authentication-Results") or []:
        print(" ".join(value.split()))
    c.logout()


if __name__ == "__main__":
    command, port = sys.argv[1], int(sys.argv[2])
    if command == "dump-mbox-imported":
        dump(port, without_mbox_import_additions)
        sys.exit(0)
    if command == "authresults":
        authresults(port, sys.argv[3])
        sys.exit(0)
    if command == "login":
        try_login(port, sys.argv[3], sys.argv[4])
        sys.exit(0)
    {"deliver": deliver, "flag": flag, "keywords": keywords, "dump": dump}[command](port)
