#!/usr/bin/python3
"""dkimpy (Debian python3-dkim) as the independent peer of the dkim crate's interop tests.

Reads a JSON job from the file named by argv[1]:

    {"zone": {"sel._domainkey.example.org.": "v=DKIM1; ..."},
     "verify": [{"file": "signed.eml", "idx": 0}, ...],
     "sign": [{"file": "in.eml", "out": "sig.txt", "domain": "example.org", "selector": "rsa",
               "key": "key.pem", "algorithm": "rsa-sha256" | "ed25519-sha256",
               "canonicalize": ["relaxed", "simple"], "length": false}, ...]}

For each verify entry it prints one JSON line {"file", "idx", "ok", "error"}; for each sign
entry it writes the DKIM-Signature header dkimpy made to "out" and prints {"out", "ok", "error"}.
Run with /usr/bin/python3 (Debian's Python, which has dkim and nacl).
"""

import base64
import json
import sys

import dkim
from cryptography.hazmat.primitives import serialization


def ed25519_seed_b64(pem):
    """dkimpy wants the raw 32-byte Ed25519 private key in base64, not PKCS#8."""
    key = serialization.load_pem_private_key(pem, password=None)
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw)


def main():
    job = json.load(open(sys.argv[1]))
    zone = {name.encode(): txt.encode() for name, txt in job.get("zone", {}).items()}

    def dnsfunc(name, timeout=5):
        return zone.get(name)

    for v in job.get("verify", []):
        message = open(v["file"], "rb").read()
        ok, error = False, None
        try:
            d = dkim.DKIM(message)
            ok = bool(d.verify(idx=v["idx"], dnsfunc=dnsfunc))
        except Exception as e:  # dkimpy raises for some failures; report them as failures.
            error = "%s: %s" % (type(e).__name__, e)
        print(json.dumps({"file": v["file"], "idx": v["idx"], "ok": ok, "error": error}))

    for s in job.get("sign", []):
        message = open(s["file"], "rb").read()
        pem = open(s["key"], "rb").read()
        algorithm = s["algorithm"].encode()
        key = ed25519_seed_b64(pem) if algorithm == b"ed25519-sha256" else pem
        ok, error = False, None
        try:
            header = dkim.sign(
                message,
                s["selector"].encode(),
                s["domain"].encode(),
                key,
                signature_algorithm=algorithm,
                canonicalize=tuple(c.encode() for c in s["canonicalize"]),
                length=s.get("length", False),
            )
            open(s["out"], "wb").write(header)
            ok = True
        except Exception as e:
            error = "%s: %s" % (type(e).__name__, e)
        print(json.dumps({"out": s["out"], "ok": ok, "error": error}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
