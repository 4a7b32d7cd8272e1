"""Python's email package as an independent peer for the message crate's tests.

  python3 python_email_peer.py generate DIR COUNT SEED   writes COUNT random MIME messages
  python3 python_email_peer.py describe FILE...          prints each file's MIME tree
  python3 python_email_peer.py addresses COUNT SEED      writes COUNT random To fields
  python3 python_email_peer.py parse-addresses FILE      parses To values listed in FILE

describe prints, per file, a line "file NAME", then one line per part in depth-first order
(Message.walk()): content type, file name, and the decoded payload of leaf parts as hex
(transfer encoding removed; for text parts also the text decoded from its charset, as UTF-8
hex), tab separated. Only the standard library is used.
"""

import random
import sys
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

WORDS = ["mail", "caf\u00e9", "gr\u00fc\u00dfe", "\u65e5\u672c", "\u043f\u0440\u0438\u0432\u0435\u0442", "plain", "x" * 90, "=?not?q?encoded?=", "--", "line.", "\u00e9t\u00e9"]
CHARSETS = [("utf-8", None), ("iso-8859-1", "latin"), ("us-ascii", "ascii"), ("koi8-r", "cyrillic"), ("windows-1252", "latin")]


def text(rng, alphabet):
    words = []
    for _ in range(rng.randint(0, 60)):
        w = rng.choice(WORDS)
        if alphabet == "ascii":
            w = w.encode("ascii", "replace").decode()
        elif alphabet == "latin":
            w = w.encode("latin-1", "replace").decode("latin-1")
        elif alphabet == "cyrillic":
            w = w.encode("koi8-r", "replace").decode("koi8-r")
        words.append(w)
        if rng.random() < 0.2:
            words.append("\n")
    return " ".join(words) + "\n"


def leaf(rng):
    kind = rng.random()
    if kind < 0.5:
        charset, alphabet = rng.choice(CHARSETS)
        part = MIMEText(text(rng, alphabet), rng.choice(["plain", "html"]), charset)
        return part
    if kind < 0.85:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 3000)))
        part = MIMEApplication(data, "octet-stream")
        name = rng.choice(["report.pdf", "r\u00e9sum\u00e9.txt", "\u65e5\u672c\u8a9e\u306e\u540d\u524d.bin", "a " * 40 + ".dat"])
        part.add_header("Content-Disposition", "attachment", filename=name)
        return part
    inner = EmailMessage()
    inner["Subject"] = "inner"
    inner["From"] = "a@example.org"
    inner.set_content(text(rng, None))
    return MIMEMessage(inner)


def tree(rng, depth):
    if depth > 3 or rng.random() < 0.3:
        return leaf(rng)
    m = MIMEMultipart(rng.choice(["mixed", "alternative", "related"]))
    if rng.random() < 0.3:
        m.preamble = "This is a multipart message."
    if rng.random() < 0.3:
        m.epilogue = "epilogue"
    for _ in range(rng.randint(1, 4)):
        m.attach(tree(rng, depth + 1))
    return m


def generate(directory, count, seed):
    rng = random.Random(seed)
    for i in range(count):
        m = tree(rng, 0)
        m["From"] = "Sender <sender@example.org>"
        m["Subject"] = "message %d" % i
        data = m.as_bytes(policy=policy.SMTP)
        with open("%s/gen-%03d.eml" % (directory, i), "wb") as f:
            f.write(data)


def describe(paths):
    for path in paths:
        with open(path, "rb") as f:
            msg = message_from_bytes(f.read(), policy=policy.default)
        print("file", path.rsplit("/", 1)[-1])
        for part in msg.walk():
            ctype = part.get_content_type()
            filename = part.get_filename() or ""
            fields = [ctype, filename]
            if not part.is_multipart():
                payload = part.get_payload(decode=True) or b""
                fields.append(payload.hex())
                if part.get_content_maintype() == "text":
                    fields.append(part.get_content().encode("utf-8", "surrogateescape").hex())
            print("\t".join(fields))


# Pieces that Python's writer handles correctly. Left out: a long name (written unquoted across a
# fold), "(paren)" (written unquoted, so a comment that RFC 5322 readers drop) and a literal
# "=?utf-8?q?x?=" (written as is, so an encoded word that RFC 2047 readers decode), and a tab
# (written unquoted, which RFC 5322 §3.2.2 reads as a single space; Python keeps the tab).
NAME_PIECES = ["Jane", "Doe", "J.", "O'Brien", "Doe, Jane", '"quoted"', "back\\slash", "M\u00fcller", "\u5c71\u7530", "a@b", "<>", "Dr. med.", ";:", "Fran\u00e7ois-Xavier"]
LOCALPARTS = ["jane", "jane.doe", "j+tag", "o'brien", "first last", "a..b", "\u00e9l\u00e8ve", "\"q\"", "x" * 70]
DOMAINS = ["example.org", "mail.example.net", "b\u00fccher.example", "xn--bcher-kva.example", "sub.domain.test"]


def random_addresses(rng):
    from email.headerregistry import Address
    out = []
    for _ in range(rng.randint(1, 4)):
        name = " ".join(rng.choice(NAME_PIECES) for _ in range(rng.randint(0, 3)))
        out.append(Address(display_name=name, username=rng.choice(LOCALPARTS), domain=rng.choice(DOMAINS)))
    return out


def addresses(count, seed):
    """Prints, per To field: its raw value as hex, then one line per address: display name
    (hex of UTF-8), username (hex) and domain (as Python keeps it)."""
    rng = random.Random(seed)
    for _ in range(count):
        addrs = random_addresses(rng)
        msg = EmailMessage(policy=policy.SMTPUTF8)
        msg["To"] = addrs
        data = msg.as_bytes()
        value = data.split(b":", 1)[1].split(b"\r\n\r\n", 1)[0]
        print("field", value.hex())
        for a in msg["To"].addresses:
            print("\t".join([a.display_name.encode().hex(), a.username.encode().hex(), a.domain]))


def parse_addresses(path):
    """Reads To values (hex, one a line) and prints what Python parses, as addresses prints."""
    for line in open(path):
        # As text, so that raw UTF-8 (RFC 6532) is read as characters.
        value = bytes.fromhex(line.strip()).decode("utf-8")
        msg = message_from_string("To: " + value + "\r\n\r\n", policy=policy.default)
        print("field", line.strip())
        for a in msg["To"].addresses:
            print("\t".join([a.display_name.encode().hex(), a.username.encode().hex(), a.domain]))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "addresses":
        addresses(int(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1] == "parse-addresses":
        parse_addresses(sys.argv[2])
    else:
        describe(sys.argv[2:])
