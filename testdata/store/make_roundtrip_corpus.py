#!/usr/bin/env python3
"""Writes the import/export round-trip corpus of the store crate, independently of our Rust code.

Run from this directory: `python3 make_roundtrip_corpus.py`. It writes:

- corpus/NN.eml: the messages, byte for byte (LF and CRLF line endings, 8-bit bytes, "From "
  lines in bodies, ">From" lines, trailing empty lines);
- corpus/flags.txt: per message, "NN received-unix-time flag flag ...";
- roundtrip.mbox: the messages as an mboxrd file (every line matching ^>*From  gets one more
  '>'), a "From sender asctime" line before each, the flags in Status/X-Status/X-Keywords
  header fields at the end of the header section, and an empty line after each message;
- roundtrip-maildir/: the messages as a maildir, all in cur/, flags in the file names, keywords
  as letters listed in dovecot-keywords.
"""
import os
import shutil
import time

MESSAGES = [
    # (line ending, flags, message text with \n line endings (converted for CRLF))
    ("lf", ["\\Seen"],
     "From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: plain LF\n"
     "Date: Tue, 14 Nov 2023 22:13:20 +0000\nMessage-ID: <1@example.org>\n\nHello Bob,\n\nbye.\n"),
    ("crlf", ["\\Answered", "\\Flagged"],
     "From: Bob <bob@example.org>\nSubject: CRLF with From lines\n\n"
     "First paragraph.\n\nFrom the beginning, this line needs escaping in mbox.\n"
     "From here too, although it follows a non-empty line.\n"),
    ("lf", ["$Junk", "work"],
     "From: carol@example.org\nSubject: already escaped lines\n\n"
     ">From one quote\n>>From two quotes\n>>>From three\n> From with space is not special\nFrom\n"),
    ("crlf", ["\\Draft"],
     "From: =?utf-8?q?Jos=C3=A9?= <jose@example.org>\nSubject: 8-bit \xc3\xa9t\xc3\xa9 caf\xe9\n"
     "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
     "Caf\xe9 cr\xe8me br\xfbl\xe9e \xff\xfe\x80\n"),
    ("lf", ["\\Deleted", "$Forwarded"],
     "From: dave@example.org\nSubject: multipart\nMIME-Version: 1.0\n"
     "Content-Type: multipart/mixed; boundary=\"xyz\"\n\npreamble\n--xyz\n"
     "Content-Type: text/plain\n\nbody text\nFrom inside a part\n--xyz\n"
     "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
     "Content-Disposition: attachment; filename=\"a.bin\"\n\nAAECAwQFBgcICQ==\n--xyz--\n"),
    ("crlf", [],
     "From: erin@example.org\nSubject: trailing empty lines\n\nbody\n\n\n"),
    ("lf", ["\\Seen", "\\Flagged", "Project-X"],
     "From: frank@example.org\nSubject: body looks like flag headers\n\n"
     "Status: R\nX-Status: D\nX-Keywords: nope\n"),
    ("lf", [],
     "Subject: header only, no body\n"),
]

SENDERS = ["alice@example.org", "bob@example.org", "MAILER-DAEMON", "jose@example.org",
           "dave@example.org", "erin@example.org", "frank@example.org", "MAILER-DAEMON"]
BASE = 1_700_000_000


def raw(i):
    le, _, text = MESSAGES[i]
    data = text.encode("latin-1")
    return data.replace(b"\n", b"\r\n") if le == "crlf" else data


def asctime(t):
    return time.strftime("%a %b ", time.gmtime(t)) + "%2d" % time.gmtime(t).tm_mday + \
        time.strftime(" %H:%M:%S %Y", time.gmtime(t))


def mboxrd_escape(data):
    out = []
    for line in data.splitlines(keepends=True):
        if line.lstrip(b">").startswith(b"From "):
            line = b">" + line
        out.append(line)
    return b"".join(out)


def flag_headers(flags, eol):
    out = b""
    if "\\Seen" in flags:
        out += b"Status: R" + eol
    x = "".join(c for c, f in [("A", "\\Answered"), ("F", "\\Flagged"), ("T", "\\Draft"),
                               ("D", "\\Deleted")] if f in flags)
    if x:
        out += b"X-Status: " + x.encode() + eol
    kws = [f for f in flags if not f.startswith("\\")]
    if kws:
        out += b"X-Keywords: " + ",".join(kws).encode() + eol
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(here)
    for d in ["corpus", "roundtrip-maildir"]:
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs("corpus")
    for sub in ["cur", "new", "tmp"]:
        os.makedirs(os.path.join("roundtrip-maildir", sub))
        open(os.path.join("roundtrip-maildir", sub, ".keep"), "w").close()

    keywords = []
    mbox = b""
    flag_lines = []
    for i, (le, flags, _) in enumerate(MESSAGES):
        data = raw(i)
        t = BASE + i * 3600
        with open("corpus/%02d.eml" % i, "wb") as f:
            f.write(data)
        flag_lines.append("%02d %d %s" % (i, t, " ".join(flags)))

        # mbox: flag headers at the end of the header section.
        eol = b"\r\n" if le == "crlf" else b"\n"
        sep = data.find(eol + eol)
        header_end = sep + len(eol) if sep >= 0 else len(data)
        with_flags = data[:header_end] + flag_headers(flags, eol) + data[header_end:]
        mbox += ("From %s %s\n" % (SENDERS[i], asctime(t))).encode()
        mbox += mboxrd_escape(with_flags)
        if not mbox.endswith(b"\n"):
            mbox += eol
        mbox += b"\n"

        # maildir
        letters = ""
        for c, f in [("D", "\\Draft"), ("F", "\\Flagged"), ("R", "\\Answered"), ("S", "\\Seen"),
                     ("T", "\\Deleted")]:
            if f in flags:
                letters += c
        kl = []
        for k in flags:
            if k.startswith("\\"):
                continue
            if k not in keywords:
                keywords.append(k)
            kl.append(chr(ord("a") + keywords.index(k)))
        name = "%d.M%dP1.testhost:2,%s%s" % (t, i, letters, "".join(sorted(kl)))
        path = os.path.join("roundtrip-maildir", "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (t, t))

    with open("roundtrip.mbox", "wb") as f:
        f.write(mbox)
    with open("corpus/flags.txt", "w") as f:
        f.write("\n".join(flag_lines) + "\n")
    with open("roundtrip-maildir/dovecot-keywords", "w") as f:
        f.write("".join("%d %s\n" % (i, k) for i, k in enumerate(keywords)))


main()
