#!/bin/bash
# Runs the real mox (first argument: its binary) with the remaining arguments, in a private
# mount and network namespace: its /etc/resolv.conf points at dns_server.py on 127.0.0.1:53
# (started here, in the namespace), and its /etc/passwd has a "mox" user (uid/gid 999), so
# quickstart's check of "User: mox" passes without changing this machine. There is no network
# but loopback in the namespace: mox cannot reach outside this machine.
# Extra A records for the DNS server: DNS_A="name=ip name=ip".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mox=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "nameserver 127.0.0.1" > "$tmp/resolv.conf"
cp /etc/passwd "$tmp/passwd"
echo "mox:x:999:999:mox:/home/mox:/usr/sbin/nologin" >> "$tmp/passwd"
exec unshare -m -n sh -c '
    ip link set lo up
    mount --bind "$1/resolv.conf" /etc/resolv.conf
    mount --bind "$1/passwd" /etc/passwd
    python3 "$2/dns_server.py" $DNS_A >"$1/dns.log" 2>&1 &
    sleep 0.5
    shift 2
    "$@"
' sh "$tmp" "$here" "$mox" "$@"
