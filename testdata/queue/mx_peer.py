#!/usr/bin/python3
"""An MX host for mox-rs queue tests: aiosmtpd on HOST:PORT (127.0.0.x:25).

Options: STARTTLS with a certificate (chain) file, REQUIRETLS and DSN announced (their MAIL and
RCPT parameters accepted and recorded), the first N RCPTs answered 451 (greylisting), every
RCPT answered 451 (--tempfail-always), recipients refused with 550.

Writes to OUTDIR: sessions.log, one line "ip port tls|plain ehlo-name" per EHLO (a connection
says EHLO again after STARTTLS, with the same port), and per accepted message NNNN.eml (the DATA bytes) and
NNNN.json (envelope, parameters, TLS, peer). Prints READY once listening; runs until killed.
"""
import argparse
import json
import logging
import os
import ssl
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

parser = argparse.ArgumentParser()
parser.add_argument("--host", required=True)
parser.add_argument("--port", type=int, default=25)
parser.add_argument("--outdir", required=True)
parser.add_argument("--name", default="mx.test")
parser.add_argument("--cert", help="PEM with the certificate chain")
parser.add_argument("--key", help="PEM with the private key")
parser.add_argument("--tempfail", type=int, default=0)
parser.add_argument("--tempfail-always", action="store_true")
parser.add_argument("--reject", action="append", default=[])
parser.add_argument("--requiretls", action="store_true")
parser.add_argument("--dsn", action="store_true")
args = parser.parse_args()
warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

lock = threading.Lock()
state = {"count": 0, "rcpts": 0}
EXTRA_PARAMS = ("REQUIRETLS", "RET", "ENVID", "NOTIFY", "ORCPT")


def is_tls(server):
    return server.transport.get_extra_info("ssl_object") is not None or getattr(server, "_tls_protocol", None) is not None


class PeerSMTP(SMTP):
    def _getparams(self, params):
        result = super()._getparams(params)
        if result is not None:
            for key in EXTRA_PARAMS:
                result.pop(key, None)
        return result


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        peer = session.peer
        with lock, open(os.path.join(args.outdir, "sessions.log"), "a") as f:
            f.write("%s %d %s %s\n" % (peer[0], peer[1], "tls" if is_tls(server) else "plain", hostname))
        last = responses.pop()  # "250 HELP"
        if args.requiretls:
            responses.append("250-REQUIRETLS")
        if args.dsn:
            responses.append("250-DSN")
        responses.append("250-PIPELINING")
        responses.append(last)
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with lock:
            state["rcpts"] += 1
            n = state["rcpts"]
        if args.tempfail_always or n <= args.tempfail:
            return "451 4.7.1 <%s>: greylisted, try again later" % address
        if address in args.reject:
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(" ".join(rcpt_options))
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with lock:
            state["count"] += 1
            n = state["count"]
        base = os.path.join(args.outdir, "%04d" % n)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "tls": is_tls(server),
            "peer": list(session.peer[:2]),
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 OK: queued as %04d" % n


class PeerController(Controller):
    def factory(self):
        return PeerSMTP(self.handler, **self.SMTP_kwargs)


context = None
if args.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

controller = PeerController(
    Handler(),
    hostname=args.host,
    port=args.port,
    server_hostname=args.name,
    tls_context=context,
    require_starttls=False,
    decode_data=False,
    enable_SMTPUTF8=True,
)
controller.start()
print("READY", flush=True)
threading.Event().wait()
