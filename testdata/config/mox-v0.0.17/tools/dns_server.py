#!/usr/bin/env python3
"""A tiny DNS server for generating the fixtures with the real mox: UDP on 127.0.0.1:53.

It answers NS for "com." (mox quickstart stops without it) and A records given on the
command line (NAME=IP ...); other names are NXDOMAIN. Nothing is forwarded: mox never reaches
outside this machine. Run it in a private network namespace or where port 53 is free:

    python3 dns_server.py mail.example.com=192.0.2.10
"""

import socket
import struct
import sys


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode("ascii")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def parse_question(packet):
    pos = 12
    labels = []
    while True:
        n = packet[pos]
        pos += 1
        if n == 0:
            break
        labels.append(packet[pos:pos + n].decode("ascii", "replace"))
        pos += n
    qtype, qclass = struct.unpack("!HH", packet[pos:pos + 4])
    return ".".join(labels).lower() + ".", qtype, pos + 4


def main():
    a_records = {}
    for arg in sys.argv[1:]:
        name, ip = arg.split("=", 1)
        a_records.setdefault(name.lower().rstrip(".") + ".", []).append(ip)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    print("dns_server: listening on 127.0.0.1:53", flush=True)
    while True:
        packet, peer = sock.recvfrom(4096)
        if len(packet) < 12:
            continue
        (qid, flags) = struct.unpack("!HH", packet[:4])
        try:
            name, qtype, end = parse_question(packet)
        except (IndexError, struct.error):
            continue
        question = packet[12:end]
        answers = []
        rcode = 3  # NXDOMAIN
        if name == "com." and qtype == 2:  # NS
            rcode = 0
            answers.append((2, encode_name("a.gtld-servers.net.")))
        elif name in a_records:
            rcode = 0
            if qtype == 1:  # A
                for ip in a_records[name]:
                    answers.append((1, socket.inet_aton(ip)))
        elif name == "com.":
            rcode = 0
        print(f"dns_server: {name} type {qtype}: rcode {rcode}, {len(answers)} answers", flush=True)
        rd = flags & 0x0100
        header = struct.pack("!HHHHHH", qid, 0x8000 | 0x0080 | rd | rcode, 1, len(answers), 0, 0)
        body = question
        for rtype, rdata in answers:
            body += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 300, len(rdata)) + rdata
        sock.sendto(header + body, peer)


if __name__ == "__main__":
    main()
