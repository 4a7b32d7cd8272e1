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
# Needs root (ports 25 and 53 on 127.0.0.12x), postfix (smtp-source), dovecot-core,
# dovecot-lmtpd, dnsmasq-base, python3-dkim, python3-nacl.
set -euo pipefail

MESSAGES=${1:-20000}
SESSIONS=${2:-32}
BATCH=1000
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/smtp-bench.XXXXXX)
chmod 755 "$WORK"
DNS_IP=127.0.0.120
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

echo "== building the server (release)"
(cd "$ROOT" && cargo build --release -q -p smtpserver --example serve)
SERVE="$ROOT/target/release/examples/serve"

echo "== message and DKIM key"
/usr/bin/python3 - "$WORK" <<'EOF'
import base64, sys, dkim, nacl.signing
work = sys.argv[1]
key = nacl.signing.SigningKey.generate()
pub = base64.b64encode(bytes(key.verify_key)).decode()
priv = base64.b64encode(bytes(key)).decode().encode()
body = "".join("This is line %d of a benchmark message, padded to about ten kilobytes.\r\n" % i for i in range(140))
msg = ("From: Alice <alice@remote.example>\r\nTo: mjl@bench.example\r\nSubject: benchmark\r\n"
       "Message-Id: <bench@remote.example>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n" + body).encode()
sig = dkim.sign(msg, b"sel", b"remote.example", priv, signature_algorithm=b"ed25519-sha256",
                include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
# LF line ends: smtp-source sends each line with CRLF (a CRLF in the file would go out as
# CR CR LF, which we reject as a bare CR), so the bytes on the wire are the signed ones.
open(work + "/message.eml", "wb").write((sig + msg).replace(b"\r\n", b"\n"))
open(work + "/dkim.txt", "w").write("v=DKIM1; k=ed25519; p=" + pub)
EOF
echo "message: $(wc -c < "$WORK/message.eml") bytes"

echo "== DNS zone (dnsmasq on $DNS_IP:53)"
cat > "$WORK/dnsmasq.conf" <<EOF
listen-address=$DNS_IP
bind-interfaces
no-resolv
no-hosts
no-negcache
log-facility=$WORK/dnsmasq.log
host-record=mail.remote.example,127.0.0.1
mx-host=remote.example,mail.remote.example,10
txt-record=remote.example,"v=spf1 ip4:127.0.0.0/8 -all"
txt-record=mail.remote.example,"v=spf1 ip4:127.0.0.0/8 -all"
txt-record=sel._domainkey.remote.example,"$(cat "$WORK/dkim.txt")"
txt-record=_dmarc.remote.example,"v=DMARC1; p=reject"
host-record=mail.bench.example,$MOX_IP
mx-host=bench.example,mail.bench.example,10
address=/2.0.0.127.bl.bench.example/127.0.0.2
EOF
/usr/sbin/dnsmasq -C "$WORK/dnsmasq.conf" --keep-in-foreground --port=53 &
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
"$SERVE" "$WORK/mox/mox.conf" --dns-server "$DNS_IP:53" --unlimited --keep-accounts-open 2>"$WORK/mox/serve.log" &
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

echo "== our server: $MESSAGES messages in batches of $BATCH, $SESSIONS sessions"
BATCHES=$((MESSAGES / BATCH))
START=$(now)
FIRST=""; LAST=""
for b in $(seq "$BATCHES"); do
    T0=$(now)
    source_to "$MOX_IP" "$BATCH"
    T1=$(now)
    R=$(rate "$BATCH" "$T0" "$T1")
    [ "$b" = 1 ] && FIRST=$R
    LAST=$R
    printf '  batch %2d: %s msg/s\n' "$b" "$R"
done
END=$(now)
MOX_RATE=$(rate "$MESSAGES" "$START" "$END")
STORED=$(find "$WORK/mox/data/accounts/mjl/msg" -type f | wc -l)
echo "  stored message files: $STORED"

echo "== Postfix -> Dovecot: $MESSAGES messages, $SESSIONS sessions"
START=$(now)
source_to "$POSTFIX_IP" "$MESSAGES"
ACCEPTED=$(now)
while :; do
    N=$(find "$WORK/dovecot/mail/mjl" -path '*/new/*' -type f 2>/dev/null | wc -l)
    [ "$N" -ge "$MESSAGES" ] && break
    sleep 0.2
done
DELIVERED=$(now)
PF_ACCEPT=$(rate "$MESSAGES" "$START" "$ACCEPTED")
PF_DELIVER=$(rate "$MESSAGES" "$START" "$DELIVERED")

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
echo "== results ($MESSAGES messages of $(wc -c < "$WORK/message.eml") bytes, $SESSIONS sessions, $(nproc) cores)"
echo "  mox-rs smtpserver:      accepted = delivered (250 after fsync+commit): $MOX_RATE msg/s"
echo "  Postfix -> Dovecot:     accepted $PF_ACCEPT msg/s, delivered $PF_DELIVER msg/s"
echo "  ratio delivered:        $(/usr/bin/python3 -c "print(f'{$MOX_RATE/$PF_DELIVER:.2f}')")x"
echo "  first $BATCH: $FIRST msg/s, last $BATCH: $LAST msg/s ($(/usr/bin/python3 -c "print(f'{100*$LAST/$FIRST:.0f}')")%)"
