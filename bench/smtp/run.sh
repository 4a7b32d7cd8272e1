#!/usr/bin/env bash
# SMTP delivery benchmark: Postfix's smtp-source sends 10 KB DKIM-signed messages over 32
# sessions to our MX (the smtpserver `serve` example from a mox.conf, all checks on: iprev,
# SPF for HELO and MAIL FROM, DKIM, DMARC, a DNSBL, reputation from the history index),
# resolving through a dnsmasq zone on loopback; every 250 means the message is fsynced and
# committed in the account. The same load goes to Debian's Postfix delivering over LMTP to
# Dovecot, in the same run. Prints accepted/s and delivered/s for both, the rate of the first
# and the last 1,000 of the messages from one IP to us (flat cost as history grows), and the
# memory per idle SMTP connection.
#
# Usage: bench/smtp/run.sh [messages (default 20000)] [sessions (default 32)]
# PROFILE=/tmp/smtp.perf.data also records a perf profile of our server during its batches
# (PERF_CALLGRAPH="--call-graph dwarf" for full user-space stacks).
# DKIM_ALGORITHM=ed25519-sha256 signs with Ed25519 instead of RSA-2048.
# Needs root (port 25 on 127.0.0.12x), postfix (smtp-source), dovecot-core,
# dovecot-lmtpd, dnsmasq-base, python3-dkim, python3-nacl.
set -euo pipefail

MESSAGES=${1:-20000}
SESSIONS=${2:-32}
# rsa-sha256 (2048 bits) is what most senders sign with (Gmail, Outlook); ed25519-sha256 costs
# the receiver more to verify.
DKIM_ALGORITHM=${DKIM_ALGORITHM:-rsa-sha256}
BATCH=1000
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/smtp-bench.XXXXXX)
chmod 755 "$WORK"
DNS_IP=127.0.0.1
DNS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOX_IP=127.0.0.121
POSTFIX_IP=127.0.0.122
DOVECOT_IP=127.0.0.123
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$WORK/postfix/main.cf" ] && /usr/sbin/postfix -c "$WORK/postfix" stop >/dev/null 2>&1 || true
    [ -f "$WORK/dovecot/dovecot.conf" ] && doveadm -c "$WORK/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
    sleep 1
    rm -rf "$WORK"
}
trap cleanup EXIT
# Open files: 65536, or the hard limit when it is lower (the idle measurement holds 2,000
# connections; containers often cap the hard limit below 65536).
HARD_NOFILE=$(ulimit -Hn)
if [ "$HARD_NOFILE" = unlimited ] || [ "$HARD_NOFILE" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$HARD_NOFILE"; fi

for tool in /usr/sbin/smtp-source /usr/sbin/postfix /usr/sbin/dovecot /usr/sbin/dnsmasq; do
    [ -x "$tool" ] || { echo "missing $tool (see .ci/deps)"; exit 1; }
done

# SERVE=path runs that build of the `serve` example (for comparing builds) instead of
# building it. The store's `verify` example counts and checks the stored messages afterwards:
# VERIFY=path, by default the one next to SERVE.
if [ -z "${SERVE:-}" ]; then
    echo "== building the server (release)"
    (cd "$ROOT" && cargo build --release -q -p smtpserver -p store --example serve --example verify)
    SERVE="$ROOT/target/release/examples/serve"
fi
VERIFY=${VERIFY:-$(dirname "$SERVE")/verify}
[ -x "$VERIFY" ] || { echo "missing $VERIFY (cargo build -p store --example verify)"; exit 1; }

echo "== message and DKIM key ($DKIM_ALGORITHM)"
if [ "$DKIM_ALGORITHM" = rsa-sha256 ]; then
    openssl genrsa -out "$WORK/dkim.pem" 2048 2>/dev/null
    openssl rsa -in "$WORK/dkim.pem" -pubout -outform DER 2>/dev/null | base64 -w0 > "$WORK/dkim.pub"
fi
/usr/bin/python3 - "$WORK" "$DKIM_ALGORITHM" <<'EOF'
import base64, sys, dkim, nacl.signing
work, algorithm = sys.argv[1], sys.argv[2]
if algorithm == "ed25519-sha256":
    key = nacl.signing.SigningKey.generate()
    pub = base64.b64encode(bytes(key.verify_key)).decode()
    priv = base64.b64encode(bytes(key)).decode().encode()
    record = "v=DKIM1; k=ed25519; p=" + pub
else:
    priv = open(work + "/dkim.pem", "rb").read()
    record = "v=DKIM1; k=rsa; p=" + open(work + "/dkim.pub").read().strip()
body = "".join("This is line %d of a benchmark message, padded to about ten kilobytes.\r\n" % i for i in range(140))
msg = ("From: Alice <alice@remote.example>\r\nTo: mjl@bench.example\r\nSubject: benchmark\r\n"
       "Message-Id: <bench@remote.example>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n" + body).encode()
sig = dkim.sign(msg, b"sel", b"remote.example", priv, signature_algorithm=algorithm.encode(),
                include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
# LF line ends: smtp-source sends each line with CRLF (a CRLF in the file would go out as
# CR CR LF, which we reject as a bare CR), so the bytes on the wire are the signed ones.
open(work + "/message.eml", "wb").write((sig + msg).replace(b"\r\n", b"\n"))
# As dnsmasq's TXT strings: at most 255 octets each (RFC 1035 §3.3.14).
open(work + "/dkim.txt", "w").write(",".join('"%s"' % record[i:i + 250] for i in range(0, len(record), 250)))
EOF
echo "message: $(wc -c < "$WORK/message.eml") bytes"

echo "== DNS zone (dnsmasq, authoritative, on $DNS_IP:$DNS_PORT)"
# Authoritative for the bench's zones, so negative answers (no AAAA for the sender's host, an
# address not on the DNSBL) carry an SOA and are cached as in real DNS, and records have a
# TTL. dnsmasq answers authoritatively only on an address of an interface (127.0.0.1, not
# the rest of 127/8), hence 127.0.0.1 and a free port.
cat > "$WORK/dnsmasq.conf" <<EOF
listen-address=$DNS_IP
bind-interfaces
no-resolv
no-hosts
no-negcache
local-ttl=300
auth-ttl=300
auth-server=ns.bench.example,$DNS_IP
auth-soa=1,hostmaster.bench.example,1200,120,1209600,300
auth-zone=remote.example
auth-zone=bench.example
auth-zone=127.in-addr.arpa
log-facility=$WORK/dnsmasq.log
host-record=mail.remote.example,127.0.0.1
mx-host=remote.example,mail.remote.example,10
txt-record=remote.example,"v=spf1 ip4:127.0.0.0/8 -all"
txt-record=mail.remote.example,"v=spf1 ip4:127.0.0.0/8 -all"
txt-record=sel._domainkey.remote.example,$(cat "$WORK/dkim.txt")
txt-record=_dmarc.remote.example,"v=DMARC1; p=reject"
host-record=mail.bench.example,$MOX_IP
mx-host=bench.example,mail.bench.example,10
host-record=2.0.0.127.bl.bench.example,127.0.0.2
EOF
/usr/sbin/dnsmasq -C "$WORK/dnsmasq.conf" --keep-in-foreground --port="$DNS_PORT" &
PIDS+=($!)
sleep 0.5

echo "== our server ($MOX_IP:25)"
mkdir -p "$WORK/mox"
cat > "$WORK/mox/mox.conf" <<EOF
DataDir: data
LogLevel: info
Hostname: mail.bench.example
Listeners:
	public:
		IPs:
			- $MOX_IP
		SMTP:
			Enabled: true
			Port: 25
			NoSTARTTLS: true
			FirstTimeSenderDelay: 0s
			DNSBLs:
				- bl.bench.example
Postmaster:
	Account: mjl
	Mailbox: Inbox
EOF
cat > "$WORK/mox/domains.conf" <<EOF
Domains:
	bench.example: nil
Accounts:
	mjl:
		Domain: bench.example
		Destinations:
			mjl@bench.example: nil
EOF
# Logging at info, as `mox serve` does by default: a line per delivery with the results of
# the checks, which the end of this script counts.
MOX_LOG=info "$SERVE" "$WORK/mox/mox.conf" --dns-server "$DNS_IP:$DNS_PORT" --unlimited --keep-accounts-open 2>"$WORK/mox/serve.log" &
MOX_PID=$!
PIDS+=($MOX_PID)
for _ in $(seq 100); do (exec 3<>/dev/tcp/$MOX_IP/25) 2>/dev/null && break; sleep 0.1; done

echo "== Postfix ($POSTFIX_IP:25) -> LMTP -> Dovecot ($DOVECOT_IP:24)"
mkdir -p "$WORK/dovecot/run" "$WORK/dovecot/state" "$WORK/dovecot/mail"
chown nobody:nogroup "$WORK/dovecot/mail"
cat > "$WORK/dovecot/dovecot.conf" <<EOF
base_dir = $WORK/dovecot/run
state_dir = $WORK/dovecot/state
log_path = $WORK/dovecot/dovecot.log
protocols = lmtp
listen = $DOVECOT_IP
ssl = no
mail_location = maildir:$WORK/dovecot/mail/%n
passdb {
  driver = static
  args = password=unused
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$WORK/dovecot/mail/%n
}
service lmtp {
  inet_listener lmtp {
    address = $DOVECOT_IP
    port = 24
  }
}
EOF
/usr/sbin/dovecot -c "$WORK/dovecot/dovecot.conf"
mkdir -p "$WORK/postfix/queue" "$WORK/postfix/data"
chown postfix:postfix "$WORK/postfix/data"
cat > "$WORK/postfix/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $WORK/postfix/queue
data_directory = $WORK/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.example
mydestination =
# Postfix refuses an inet_interfaces address that no interface has (127.0.0.1/8 is one
# interface); master.cf's smtpd line names the address to listen on.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = bench.example
virtual_transport = lmtp:inet:$DOVECOT_IP:24
alias_maps =
alias_database =
biff = no
maillog_file = $WORK/postfix/maillog
# Without this, a maillog_file outside /var makes Postfix exit at once, silently.
maillog_file_prefixes = $WORK/postfix
EOF
cat > "$WORK/postfix/master.cf" <<EOF
$POSTFIX_IP:25 inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
lmtp unix - - n - - lmtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOF
/usr/sbin/postfix -c "$WORK/postfix" start >/dev/null
for _ in $(seq 100); do (exec 3<>/dev/tcp/$POSTFIX_IP/25) 2>/dev/null && break; sleep 0.1; done

now() { date +%s.%N; }
rate() { /usr/bin/python3 -c "print(f'{$1/($3-$2):.0f}')"; }
source_to() { # host messages
    /usr/sbin/smtp-source -d -s "$SESSIONS" -m "$2" -M mail.remote.example \
        -f alice@remote.example -t mjl@bench.example -F "$WORK/message.eml" "$1:25"
}

echo "== our server: $MESSAGES messages, $SESSIONS sessions (one smtp-source run, as for Postfix)"
# PROFILE=file.data records a perf profile (call graphs) of our server during the run
# (PERF_TARGET=-a: of the whole machine, which includes threads the server starts later).
if [ -n "${PROFILE:-}" ]; then
    perf record -q ${PERF_CALLGRAPH:--g} -o "$PROFILE" ${PERF_TARGET:--p "$MOX_PID"} &
    PERF_PID=$!
fi
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CPU0=$(cpu_ticks "$MOX_PID")
SOURCE_CPU0=$(awk '{print $16 + $17}' /proc/$$/stat)
START=$(now)
source_to "$MOX_IP" "$MESSAGES"
END=$(now)
CPU1=$(cpu_ticks "$MOX_PID")
SOURCE_CPU1=$(awk '{print $16 + $17}' /proc/$$/stat)
TICK=$(getconf CLK_TCK)
MOX_CPU_US=$(/usr/bin/python3 -c "print(f'{($CPU1-$CPU0)/$TICK*1e6/$MESSAGES:.0f}')")
SOURCE_CPU_US=$(/usr/bin/python3 -c "print(f'{($SOURCE_CPU1-$SOURCE_CPU0)/$TICK*1e6/$MESSAGES:.0f}')")
if [ -n "${PROFILE:-}" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
MOX_RATE=$(rate "$MESSAGES" "$START" "$END")
# Every message is in the account, whole (its size checked against its record), whether kept
# in the database or in a file.
VERIFIED=$("$VERIFY" "$WORK/mox/data") || { echo "FAIL: verifying the stored messages: $VERIFIED"; exit 1; }
STORED=$(echo "$VERIFIED" | sed -n 's/^1 accounts, \([0-9]*\) messages, 0 problems.*/\1/p')
FILES=$(find "$WORK/mox/data/accounts/mjl/msg" -type f | wc -l)
echo "  stored messages: ${STORED:-none} (verified; $FILES of them in files, the rest in the database)"
[ "$STORED" = "$MESSAGES" ] || { echo "FAIL: ${STORED:-no} messages stored for $MESSAGES messages sent: $VERIFIED"; exit 1; }

# The rate of each $BATCH deliveries, from the times the server logged them (the first batch
# counted from the start of the run, so it includes connecting); the first and the last
# batch show whether the cost per message stays flat as the history grows.
sed 's/\x1b\[[0-9;]*m//g' "$WORK/mox/serve.log" | grep 'incoming message delivered' > "$WORK/delivered.log" || true
read -r FIRST LAST < <(/usr/bin/python3 - "$WORK/delivered.log" "$START" "$BATCH" <<'EOF'
import sys, datetime
log, start, batch = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
times = sorted(datetime.datetime.fromisoformat(l.split()[0].replace("Z", "+00:00")).timestamp() for l in open(log))
marks = [start] + times[batch - 1::batch]
rates = [batch / (b - a) for a, b in zip(marks, marks[1:])]
for i, r in enumerate(rates):
    print(f"  batch {i + 1:2d}: {r:.0f} msg/s", file=sys.stderr)
print(f"{rates[0]:.0f} {rates[-1]:.0f}")
EOF
)

echo "== Postfix -> Dovecot: $MESSAGES messages, $SESSIONS sessions"
START=$(now)
source_to "$POSTFIX_IP" "$MESSAGES"
ACCEPTED=$(now)
# Postfix delivers from its queue after accepting; give up (and fail) if Dovecot has not got
# every message after 10 minutes, rather than wait for ever.
for _ in $(seq 3000); do
    N=$(find "$WORK/dovecot/mail/mjl" -path '*/new/*' -type f 2>/dev/null | wc -l)
    [ "$N" -ge "$MESSAGES" ] && break
    sleep 0.2
done
[ "$N" -ge "$MESSAGES" ] || { echo "FAIL: Dovecot got $N of $MESSAGES messages from Postfix"; exit 1; }
DELIVERED=$(now)
PF_ACCEPT=$(rate "$MESSAGES" "$START" "$ACCEPTED")
PF_DELIVER=$(rate "$MESSAGES" "$START" "$DELIVERED")

DELIVERY_LINES=$(wc -l < "$WORK/delivered.log")
ALL_PASS=$(grep -c 'auth="iprev=pass dkim=pass spf=pass spf=pass dmarc=pass"' "$WORK/delivered.log" || true)
echo "== memory per idle connection (2000 connections after EHLO)"
RSS0=$(awk '/VmRSS/ {print $2}' /proc/$MOX_PID/status)
/usr/bin/python3 - "$MOX_IP" "$MOX_PID" "$RSS0" <<'EOF'
import socket, sys, time
ip, pid, rss0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
conns = []
for i in range(2000):
    s = socket.create_connection((ip, 25))
    s.recv(1000)
    s.sendall(b"EHLO idle.remote.example\r\n")
    conns.append(s)
for s in conns:
    data = b""
    while not data.endswith(b"250 SMTPUTF8\r\n"):
        data += s.recv(4096)
time.sleep(1)
rss = int([l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1])
print(f"  RSS {rss0} KiB -> {rss} KiB: {(rss - rss0) * 1024 / len(conns):.0f} bytes per idle connection")
EOF

echo
echo "== results ($MESSAGES messages of $(wc -c < "$WORK/message.eml") bytes, DKIM $DKIM_ALGORITHM, $SESSIONS sessions, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "  mox-rs smtpserver:      accepted = delivered (250 after fsync+commit): $MOX_RATE msg/s"
echo "  checks:                 $ALL_PASS of $DELIVERY_LINES deliveries logged iprev=pass dkim=pass spf=pass (MAIL FROM, HELO) dmarc=pass"
echo "  CPU per message:        mox-rs server $MOX_CPU_US us, smtp-source (and this script) $SOURCE_CPU_US us"
echo "  Postfix -> Dovecot:     accepted $PF_ACCEPT msg/s, delivered $PF_DELIVER msg/s"
echo "  ratio delivered:        $(/usr/bin/python3 -c "print(f'{$MOX_RATE/$PF_DELIVER:.2f}')")x"
[ "$ALL_PASS" = "$MESSAGES" ] || { echo "FAIL: not every message was delivered with every check passing"; head -2 "$WORK/delivered.log"; grep -iE 'warn|error' "$WORK/mox/serve.log" | tail -5; exit 1; }
echo "  first $BATCH: $FIRST msg/s, last $BATCH: $LAST msg/s ($(/usr/bin/python3 -c "print(f'{100*$LAST/$FIRST:.0f}')")%)"
