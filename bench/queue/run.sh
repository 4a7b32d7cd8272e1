#!/bin/sh
# Queue throughput to a local sink MX (127.0.0.70:25, so run as root): 10,000 queued 10 KB
# messages delivered, then again with 100,000 entries in the queue. Prints messages/s,
# connections used and peak RSS. Arguments go to the bench (see crates/queue/benches/queue.rs):
#   bench/queue/run.sh --messages 10000 --size 10240 --filler 90000 --connections 16
# QUEUE_BENCH_DIR sets where the queue lives (default /tmp).
set -e
cd "$(dirname "$0")/../.."
exec cargo bench -p queue --bench queue -- "$@"
