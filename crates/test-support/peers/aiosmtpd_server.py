#!/usr/bin/python3
"""aiosmtpd on 127.0.0.1 for mox-rs tests (started by crates/test-peers).

STARTTLS or implicit TLS with the given certificate, AUTH PLAIN and LOGIN (aiosmtpd's own) and
CRAM-MD5 (below, with Python's hmac), recipients to refuse, and every accepted message saved as
NNNN.eml (the DATA bytes, unstuffed) plus NNNN.json (envelope and session facts). Prints READY
once listening; runs until killed.
"""
import argparse
import hmac
import json
import logging
import os
import signal
import ssl
import sys
import threading
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword, auth_mechanism

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--outdir", required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
parser.add_argument("--require-starttls", action="store_true")
parser.add_argument("--auth-without-tls", action="store_true")
parser.add_argument("--user", action="append", default=[], help="user:password")
parser.add_argument("--reject", action="append", default=[], help="recipient to refuse")
args = parser.parse_args()
# aiosmtpd logs a warning about its own deprecated Session.login_data on every AUTH, and
# tracebacks for handshakes that tests make fail on purpose.
warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
users = dict(u.split(":", 1) for u in args.user)


class Handler:
    def __init__(self):
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in args.reject:
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(args.outdir, "%04d" % self.count)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "login": login(session),
            "mechanism": getattr(session, "auth_mechanism", None),
            "tls": server.transport.get_extra_info("ssl_object") is not None
            or getattr(server, "_tls_protocol", None) is not None,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 OK: queued as %04d" % self.count

    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, server, auth_args):
        challenge = ("<%d.%d@aiosmtpd.test>" % (os.getpid(), time.time())).encode()
        response = await server.challenge_auth(challenge)
        if response is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = response.decode(errors="replace").rpartition(" ")
        password = users.get(user)
        ok = password is not None and hmac.compare_digest(
            hmac.new(password.encode(), challenge, "md5").hexdigest(), digest
        )
        if ok:
            server.session.auth_mechanism = "CRAM-MD5"
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(user.encode(), b""))


def login(session):
    data = session.auth_data
    return data.login.decode(errors="replace") if isinstance(data, LoginPassword) else None


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword):
        user = auth_data.login.decode(errors="replace")
        if user in users and hmac.compare_digest(users[user].encode(), auth_data.password):
            session.auth_mechanism = mechanism
            return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


def tls_context():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    return context


kwargs = dict(
    hostname="127.0.0.1",
    port=args.port,
    server_hostname="aiosmtpd.test",
    authenticator=authenticator,
    # aiosmtpd only counts STARTTLS as TLS for AUTH; implicit TLS is TLS too.
    auth_require_tls=not args.auth_without_tls and args.tls != "implicit",
    enable_SMTPUTF8=True,
    decode_data=False,
)
if args.tls == "starttls":
    kwargs.update(tls_context=tls_context(), require_starttls=args.require_starttls)
elif args.tls == "implicit":
    kwargs.update(ssl_context=tls_context())

controller = Controller(Handler(), **kwargs)
controller.start()
print("READY", flush=True)

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
# Also stop when the test process that started us goes away (stdin closes).
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
stop.wait()
controller.stop()
