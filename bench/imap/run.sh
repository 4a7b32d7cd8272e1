#!/usr/bin/env bash
# IMAP server load figures (see the imapserver section of README.md for the latest results).
#
#   bench/imap/run.sh idle   memory per idle connection: IDLE_CONNECTIONS (10000) clients,
#                            half over TLS, each LOGIN + SELECT + IDLE; the server's resident
#                            memory before, with them, and after they close.
#   bench/imap/run.sh big    a mailbox of BIG_MESSAGES (1000000) messages: SELECT and
#                            UID FETCH 1:* (UID FLAGS) times, over loopback.
#   bench/imap/run.sh load   LOAD_CLIENTS (20) clients for LOAD_SECONDS (60): LOGIN, SELECT,
#                            APPEND, FETCH, STORE, SEARCH, EXPUNGE; per command: commands per
#                            second, median and p99 latency, for our server and for Debian's
#                            Dovecot on the same machine with the same client, once for each
#                            mail_fsync setting in DOVECOT_FSYNC ("always optimized": "always"
#                            is the fair one, as our OK for APPEND/STORE/EXPUNGE comes after
#                            fsync; "optimized" is Dovecot's default). Then a table of the
#                            ratios (Dovecot's median latency / ours) with PASS/FAIL against
#                            LOAD_TARGET (1.5), the servers' CPU time per command, and the
#                            load average around each run.
#   bench/imap/run.sh all    all three.
#
# Dovecot's users get SSHA256 password hashes (one salted SHA-256 per LOGIN): the cost of our
# LOGIN once a password was verified (a keyed hash, checked against the cache of verified
# passwords); our first LOGIN per user verifies Argon2id. DOVECOT_SCHEME overrides it (ARGON2ID
# makes every Dovecot LOGIN take seconds here, which then paces its clients).
#
# Quick versions for a smoke test (CI): IDLE_CONNECTIONS=200 BIG_MESSAGES=2000 LOAD_SECONDS=3.
# BENCH_BIN=DIR uses the server and client built in DIR (to compare builds) instead of
# building. On a shared machine, run it under a lock so benchmarks do not overlap:
#   flock /work/plan/bench.lock bench/imap/run.sh load
# Needs: cargo, dovecot-imapd (Debian), a file descriptor limit above 2x IDLE_CONNECTIONS.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
what=${1:-all}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
BIG_MESSAGES=${BIG_MESSAGES:-1000000}
BIG_ROUNDS=${BIG_ROUNDS:-5}
LOAD_CLIENTS=${LOAD_CLIENTS:-20}
LOAD_SECONDS=${LOAD_SECONDS:-60}
LOAD_TARGET=${LOAD_TARGET:-1.5}
DOVECOT_FSYNC=${DOVECOT_FSYNC:-always optimized}
DOVECOT_SCHEME=${DOVECOT_SCHEME:-SSHA256}

if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
else
    cargo build --quiet --release -p imapserver --examples --manifest-path "$root/Cargo.toml"
    bin="$root/target/release/examples"
fi
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

# Starts Dovecot with mail_fsync=$1 on a fresh home; sets dovecot_pid and dovecot_port.
start_dovecot() {
    local fsync=$1
    local d=$work/dovecot
    rm -rf "$d"
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
    hash=$(doveadm pw -s "$DOVECOT_SCHEME" -p benchpassword)
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
mail_fsync = $fsync
passdb {
  driver = passwd-file
  args = scheme=$DOVECOT_SCHEME $d/passwd
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

# CPU seconds (user + system, with reaped children) of a process and its children.
cpu_seconds() {
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        [ -r "/proc/$p/stat" ] || continue
        total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13 + $14 + $15}')))
    done
    awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Runs the load client against 127.0.0.1:$2, named $1; the server's CPU time is measured on
# process $3 and its children. The client's table goes to $work/$1.txt, the run's load
# average and CPU time to $work/$1.run.
load_run() {
    local name=$1 port=$2 pid=$3 cpu0 cpu1 load0 total
    load0=$(loadavg)
    cpu0=$(cpu_seconds "$pid")
    "$bin/imap_bench_client" load 127.0.0.1 "$port" "$LOAD_CLIENTS" "$LOAD_SECONDS" | tee "$work/$name.txt"
    cpu1=$(cpu_seconds "$pid")
    total=$(awk '$1 == "total" {print $2}' "$work/$name.txt")
    awk -v a="$cpu0" -v b="$cpu1" -v n="$total" -v l0="$load0" -v l1="$(loadavg)" 'BEGIN {
        printf "load average %s -> %s; server CPU %.2f s, %.0f us per command\n", l0, l1, b - a, (b - a) / n * 1e6
    }' | tee "$work/$name.run"
}

# Compares $work/ours.txt with $work/$1.txt, per command.
compare() {
    local other=$1
    echo "-- mox-rs / $other (x rate: our commands/s over Dovecot's; x p50, x p99: Dovecot's latency over ours; PASS: x rate and x p50 >= $LOAD_TARGET)"
    printf '%-8s %8s %8s %7s %9s %9s %9s %9s %7s %7s  %s\n' command "ours/s" "dove/s" "x rate" \
        "ours p50" "dove p50" "ours p99" "dove p99" "x p50" "x p99" result
    join <(awk 'NF == 6 && $2 ~ /^[0-9]+$/' "$work/ours.txt" | sort) \
        <(awk 'NF == 6 && $2 ~ /^[0-9]+$/' "$work/$other.txt" | sort) |
        awk -v t="$LOAD_TARGET" '{
            rate = $3 / $8; p50 = $10 / $5; p99 = $11 / $6
            ok = (rate >= t && p50 >= t) ? "PASS" : "FAIL"
            printf "%-8s %8.0f %8.0f %6.2fx %9.2f %9.2f %9.2f %9.2f %6.2fx %6.2fx  %s\n",
                $1, $3, $8, rate, $5, $10, $6, $11, p50, p99, ok
        }'
    echo "mox-rs:  $(cat "$work/ours.run")"
    echo "Dovecot: $(cat "$work/$other.run")"
}

bench_load() {
    echo "== mixed load: $LOAD_CLIENTS clients for $LOAD_SECONDS s"
    start_ours "$work/load" --users "$LOAD_CLIENTS"
    echo "-- mox-rs imapserver"
    load_run ours "$plain_port" "$srv_pid"
    stop_ours
    local fsync runs=()
    for fsync in $DOVECOT_FSYNC; do
        start_dovecot "$fsync"
        echo "-- Dovecot $(dovecot --version | cut -d' ' -f1), mail_fsync=$fsync, $DOVECOT_SCHEME passwords"
        load_run "dovecot-$fsync" "$dovecot_port" "$dovecot_pid"
        kill "$dovecot_pid" 2>/dev/null || true
        wait "$dovecot_pid" 2>/dev/null || true
        runs+=("dovecot-$fsync")
    done
    for r in "${runs[@]}"; do
        compare "$r"
    done
}

case "$what" in
    idle) bench_idle ;;
    big) bench_big ;;
    load) bench_load ;;
    all) bench_idle; bench_big; bench_load ;;
    *) echo "usage: $0 idle|big|load|all" >&2; exit 2 ;;
esac
