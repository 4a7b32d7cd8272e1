#!/usr/bin/env bash
# IMAP server load figures (see the imapserver section of README.md for the latest results).
#
#   bench/imap/run.sh idle   memory per idle connection: IDLE_CONNECTIONS (10000) clients,
#                            half over TLS, each LOGIN + SELECT + IDLE; the server's resident
#                            memory before and after, divided by the connections.
#   bench/imap/run.sh big    a mailbox of BIG_MESSAGES (1000000) messages: SELECT and
#                            UID FETCH 1:* (UID FLAGS) times, over loopback.
#   bench/imap/run.sh load   LOAD_CLIENTS (20) clients for LOAD_SECONDS (60): LOGIN, SELECT,
#                            APPEND, FETCH, STORE, SEARCH, EXPUNGE; commands per second and
#                            latencies, for our server and for Debian's Dovecot on the same
#                            machine with the same client.
#   bench/imap/run.sh all    all three.
#
# Quick versions for a smoke test: IDLE_CONNECTIONS=200 BIG_MESSAGES=2000 LOAD_SECONDS=3.
# Needs: cargo, dovecot-imapd (Debian), a file descriptor limit above 2x IDLE_CONNECTIONS.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
what=${1:-all}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
BIG_MESSAGES=${BIG_MESSAGES:-1000000}
BIG_ROUNDS=${BIG_ROUNDS:-5}
LOAD_CLIENTS=${LOAD_CLIENTS:-20}
LOAD_SECONDS=${LOAD_SECONDS:-60}

cargo build --quiet --release -p imapserver --examples --manifest-path "$root/Cargo.toml"
bin="$root/target/release/examples"
work=$(mktemp -d /tmp/imap-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Starts our server on a data directory; sets srv_pid, plain_port, tls_port. The server runs
# until the fifo it reads is closed.
start_ours() {
    local data=$1
    shift
    mkfifo "$data.in"
    "$bin/imap_bench_server" "$data" "$@" <"$data.in" >"$data.out" 2>"$data.err" &
    srv_pid=$!
    pids+=("$srv_pid")
    exec {srv_in}>"$data.in"
    for _ in $(seq 1 3000); do
        if grep -q '^ports' "$data.out" 2>/dev/null; then break; fi
        sleep 0.1
    done
    read -r _ plain_port tls_port <"$data.out"
}

stop_ours() {
    exec {srv_in}>&-
    wait "$srv_pid" 2>/dev/null || true
}

bench_idle() {
    echo "== memory per idle connection: $IDLE_CONNECTIONS connections, half over TLS"
    start_ours "$work/idle" --users 100 --cheap-credentials
    # Warm up: one session, so process-wide state (allocator arenas, thread pools, the
    # accounts) is in the baseline.
    mkfifo "$work/warm.in"
    "$bin/imap_bench_client" idle 127.0.0.1 "$plain_port" "$tls_port" "$work/idle/cert.pem" 100 100 <"$work/warm.in" >/dev/null &
    warm=$!
    exec {warm_in}>"$work/warm.in"
    sleep 3
    exec {warm_in}>&-
    wait "$warm" || true
    sleep 1
    local before after closed
    before=$(rss_kib "$srv_pid")
    # Not idle.in: that is the server's stdin fifo (start_ours names it after the data directory).
    mkfifo "$work/idle-client.in"
    "$bin/imap_bench_client" idle 127.0.0.1 "$plain_port" "$tls_port" "$work/idle/cert.pem" "$IDLE_CONNECTIONS" 100 <"$work/idle-client.in" >"$work/idle.client" &
    local client=$!
    exec {client_in}>"$work/idle-client.in"
    for _ in $(seq 1 6000); do
        if grep -q '^idle' "$work/idle.client" 2>/dev/null; then break; fi
        if ! kill -0 "$client" 2>/dev/null; then echo "client failed"; cat "$work/idle.client"; exit 1; fi
        sleep 0.1
    done
    cat "$work/idle.client"
    sleep 2
    after=$(rss_kib "$srv_pid")
    exec {client_in}>&-
    wait "$client" || true
    sleep 2
    closed=$(rss_kib "$srv_pid")
    echo "server RSS: before ${before} KiB, with connections ${after} KiB, after closing ${closed} KiB"
    awk -v b="$before" -v a="$after" -v n="$IDLE_CONNECTIONS" \
        'BEGIN { printf "memory per idle connection: %.1f KiB\n", (a - b) / n }'
    stop_ours
}

bench_big() {
    echo "== a mailbox of $BIG_MESSAGES messages"
    start_ours "$work/big" --users 1 --cheap-credentials --populate "$BIG_MESSAGES"
    grep -h imported "$work/big.err" || true
    "$bin/imap_bench_client" big 127.0.0.1 "$plain_port" "$BIG_ROUNDS"
    stop_ours
}

start_dovecot() {
    local d=$work/dovecot
    mkdir -p "$d/run" "$d/home"
    chmod 755 "$work" "$d" "$d/home"
    # Dovecot never runs a mail process as root ("userdb returned 0 as uid"): as root, the
    # users' mail belongs to nobody.
    local uid gid
    uid=$(id -u)
    gid=$(id -g)
    if [ "$uid" = 0 ]; then
        uid=$(id -u nobody)
        gid=$(id -g nobody)
        chown "$uid:$gid" "$d/home"
    fi
    local hash
    hash=$(doveadm pw -s ARGON2ID -p benchpassword)
    : >"$d/passwd"
    for i in $(seq 0 $((LOAD_CLIENTS - 1))); do
        echo "user$i@bench:$hash" >>"$d/passwd"
    done
    dovecot_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$d/dovecot.conf" <<EOF
base_dir = $d/run
log_path = $d/log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 10M
passdb {
  driver = passwd-file
  args = scheme=ARGON2ID $d/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$d/home/%u
}
mail_location = maildir:~/Maildir
first_valid_uid = 0
service imap-login {
  inet_listener imap {
    port = $dovecot_port
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
EOF
    dovecot -F -c "$d/dovecot.conf" &
    dovecot_pid=$!
    pids+=("$dovecot_pid")
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$dovecot_port") 2>/dev/null; then break; fi
        sleep 0.1
    done
}

bench_load() {
    echo "== mixed load: $LOAD_CLIENTS clients for $LOAD_SECONDS s"
    start_ours "$work/load" --users "$LOAD_CLIENTS"
    echo "-- mox-rs imapserver"
    "$bin/imap_bench_client" load 127.0.0.1 "$plain_port" "$LOAD_CLIENTS" "$LOAD_SECONDS" | tee "$work/ours.txt"
    stop_ours
    start_dovecot
    echo "-- Dovecot $(dovecot --version | cut -d' ' -f1)"
    "$bin/imap_bench_client" load 127.0.0.1 "$dovecot_port" "$LOAD_CLIENTS" "$LOAD_SECONDS" | tee "$work/dovecot.txt"
    kill "$dovecot_pid" 2>/dev/null || true
    wait "$dovecot_pid" 2>/dev/null || true
    echo "-- ratio (mox-rs / Dovecot, commands per second)"
    join <(sort "$work/ours.txt" | awk 'NF>=2 && $2+0>0 {print $1, $2}') \
        <(sort "$work/dovecot.txt" | awk 'NF>=2 && $2+0>0 {print $1, $2}') |
        awk '{ printf "%-8s %6.2fx\n", $1, $2 / $3 }'
}

case "$what" in
    idle) bench_idle ;;
    big) bench_big ;;
    load) bench_load ;;
    all) bench_idle; bench_big; bench_load ;;
    *) echo "usage: $0 idle|big|load|all" >&2; exit 2 ;;
esac
