"""Python's email package as an independent peer for the message crate's tests.

  python3 python_email_peer.py generate DIR COUNT SEED   writes COUNT random MIME messages
  python3 python_email_peer.py describe FILE...          prints each file's MIME tree

describe prints, per file, a line "file NAME", then one line per part in depth-first order
(Message.walk()): content type, file name, and the decoded payload of leaf parts as hex
(transfer encoding removed; for text parts also the text decoded from its charset, as UTF-8
hex), tab separated. Only the standard library is used.
"""

import random
import sys
from email import message_from_bytes, policy
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


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        describe(sys.argv[2:])
