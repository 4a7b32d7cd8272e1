#!/usr/bin/env bash
# What the machine itself allows for `run.sh`'s load, without our SMTP server: the CPU that
# the parts every implementation needs take per message, and the ceiling they set.
#
# 1. Protocol floor: Postfix's smtp-source sends the same 10 KB messages over 32 sessions
#    to Postfix's smtp-sink (C, event-driven, accepts and discards: no storage, no checks).
#    Gives smtp-source's own CPU per message, which run.sh's load always costs, and the
#    sink's, which is what receiving SMTP costs a lean server at the least.
# 2. Storage floor: the store's benchmark, 32 threads delivering 10 KB messages durably
#    (kept in the account's database, group commit), no SMTP: its CPU per message.
# 3. DKIM: the least a verification costs, SHA-256 of the 10 KB body and ring's RSA-2048
#    check of one signature (criterion, the `dkim` bench's "ring limit").
#
# Then: the CPU per message left for everything else at a given rate on this machine's
# cores. Usage: bench/smtp/floor.sh [messages (default 20000)] [target msg/s (default 5000)]
# Needs root (port 25 on 127.0.0.125) and postfix (smtp-source, smtp-sink).
set -euo pipefail

MESSAGES=${1:-20000}
TARGET=${2:-5000}
SESSIONS=32
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/smtp-floor.XXXXXX)
SINK_IP=127.0.0.125
SINK_PID=""
cleanup() {
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for tool in /usr/sbin/smtp-source /usr/sbin/smtp-sink; do
    [ -x "$tool" ] || { echo "missing $tool (see .ci/deps)"; exit 1; }
done
CORES=$(nproc)
TICK=$(getconf CLK_TCK)
echo "== $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# The message of run.sh: 5 header lines and 140 body lines, about 10.7 KB (LF line ends,
# smtp-source sends CRLF).
/usr/bin/python3 - "$WORK/message.eml" <<'EOF'
import sys
body = "".join("This is line %d of a benchmark message, padded to about ten kilobytes.\n" % i for i in range(140))
hdr = ("DKIM-Signature: v=1; a=rsa-sha256; d=remote.example; s=sel; h=from:to:subject:message-id:date;\n"
       " bh=AAAA; b=" + "A" * 344 + "\n"
       "From: Alice <alice@remote.example>\nTo: mjl@bench.example\nSubject: benchmark\n"
       "Message-Id: <bench@remote.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n")
open(sys.argv[1], "w").write(hdr + body)
EOF
echo "message: $(wc -c < "$WORK/message.eml") bytes"

echo "== 1. smtp-source -> smtp-sink: $MESSAGES messages, $SESSIONS sessions"
/usr/sbin/smtp-sink -u root "$SINK_IP:25" 1024 &
SINK_PID=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/$SINK_IP/25) 2>/dev/null && break; sleep 0.1; done
sink_ticks() { awk '{print $14 + $15}' "/proc/$SINK_PID/stat"; }
children_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }
S0=$(sink_ticks); C0=$(children_ticks); T0=$(date +%s.%N)
/usr/sbin/smtp-source -d -s "$SESSIONS" -m "$MESSAGES" -M mail.remote.example \
    -f alice@remote.example -t mjl@bench.example -F "$WORK/message.eml" "$SINK_IP:25"
T1=$(date +%s.%N); S1=$(sink_ticks); C1=$(children_ticks)
read -r SINK_RATE SOURCE_US SINK_US < <(/usr/bin/python3 -c "
n=$MESSAGES; t=$T1-$T0; tick=1e6/$TICK
print(f'{n/t:.0f} {($C1-$C0)*tick/n:.0f} {($S1-$S0)*tick/n:.0f}')")
echo "  $SINK_RATE msg/s; CPU per message: smtp-source $SOURCE_US us, smtp-sink $SINK_US us"

echo "== 2. store: 32 threads delivering 10 KB messages durably"
STORE_OUT=$(cd "$ROOT" && cargo bench -q -p store --bench store -- deliver 2>&1 | grep '32 threads')
echo "  $STORE_OUT"
read -r STORE_RATE STORE_US < <(/usr/bin/python3 - "$STORE_OUT" <<'EOF'
import re, sys
line = sys.argv[1]
n = int(re.search(r"(\d+) messages in", line).group(1))
rate = re.search(r"= (\d+) messages/s", line).group(1)
def dur(s):
    v, u = re.fullmatch(r"([\d.]+)(ns|µs|us|ms|s)", s).groups()
    return float(v) * {"ns": 1e-3, "µs": 1, "us": 1, "ms": 1e3, "s": 1e6}[u]
user = dur(re.search(r"CPU user (\S+)", line).group(1))
system = dur(re.search(r"system (\S+)", line).group(1))
print(rate, f"{(user + system) / n:.0f}")
EOF
)
echo "  $STORE_RATE msg/s; CPU per message: $STORE_US us"

echo "== 3. DKIM: body hash and RSA-2048 verification of 10 KB (criterion)"
DKIM_OUT=$(cd "$ROOT" && cargo bench -q -p dkim --bench dkim -- 'verify/10KB/ring limit$' \
    --warm-up-time 1 --measurement-time 3 2>&1 | grep -A1 'ring limit' | grep 'time:' | head -1)
RSA_US=$(/usr/bin/python3 -c "
import re; m = re.search(r'\[\S+ \S+ (\S+) (\S+)', '''$DKIM_OUT''')
v, u = float(m.group(1)), m.group(2)
print(f'{v * {\"ns\": 1e-3, \"µs\": 1, \"us\": 1, \"ms\": 1e3}[u]:.0f}')")
echo "  $RSA_US us per verification"

echo
echo "== at $TARGET delivered/s on $CORES cores"
/usr/bin/python3 - <<EOF
budget = $CORES * 1e6 / $TARGET
source, sink, store, rsa = $SOURCE_US, $SINK_US, $STORE_US, $RSA_US
left = budget - source - sink - store - rsa
print(f"  CPU per message available:        {budget:.0f} us")
print(f"  load generator (smtp-source):     {source:.0f} us")
print(f"  receiving SMTP (smtp-sink, lean): {sink:.0f} us")
print(f"  durable storage (store bench):    {store:.0f} us")
print(f"  DKIM RSA-2048 verification:       {rsa:.0f} us")
print(f"  left for SPF, DMARC, iprev, DNSBL, DNS, reputation, headers, logging, scheduling: {left:.0f} us")
EOF
