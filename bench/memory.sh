#!/usr/bin/env bash
# memory.sh — what mxcached's memory is made of, as README's Memory section
# states it:
#
#   sudo bench/memory.sh [--sizes "4m 64m 512m"] [--held "2000 8000"]
#
# 1. The cost of one lookup in flight: N lookups held open against a server
#    that takes queries and never answers; (RSS after - RSS before) / N.
# 2. For each cache size: RSS idle, then the peak during bench/flood.py
#    (30,000 never-seen MX names in one zone of the test hierarchy, no added
#    latency) and the legitimate lookups answered meanwhile.
#
# Runs inside a network namespace of its own (tests/netns.sh); needs root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SIZES="4m 64m 512m"
HELD="2000 8000"
PORT=5301
SILENT=127.0.0.99 # the server that never answers

while (($# > 0)); do
    case $1 in
    --sizes) SIZES=${2:?}; shift 2 ;;
    --held) HELD=${2:?}; shift 2 ;;
    *) sed -n '4,5p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    esac
done

if [[ ${MXTEST_NETNS:-} != 1 ]]; then
    make -C "$ROOT" --no-print-directory -s "$BUILD/mxcached"
    exec "$ROOT/tests/netns.sh" "$0" --sizes "$SIZES" --held "$HELD"
fi

WORK=$(mktemp -d /tmp/mxcache-memory.XXXXXX)
PID=
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    [[ -n ${SINK:-} ]] && kill "$SINK" 2>/dev/null
    "$ROOT/tests/testnet/testnet.sh" stop "$WORK/net" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# start_daemon FLAGS...: mxcached on 127.0.0.1@PORT, ready.
start_daemon() {
    "$BUILD/mxcached" -f -l "127.0.0.1@$PORT" -s "$WORK/ctl.sock" "$@" 2>"$WORK/mx.log" &
    PID=$!
    for _ in $(seq 200); do
        grep -q 'mxcached ready' "$WORK/mx.log" && return 0
        sleep 0.05
    done
    cat "$WORK/mx.log" >&2
    exit 1
}

stop_daemon() {
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
}

# 1. One lookup in flight.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    s.recv(4096)
' "$SILENT" &
SINK=$!
for n in $HELD; do
    start_daemon --stub "silent.example.=$SILENT" --trust-anchor none --max-inflight 20000 \
        --zone-max-inflight 20000 --query-timeout 60000
    before=$(rss_kib "$PID")
    /usr/bin/python3 - "$PORT" "$n" <<'EOF'
import os, socket, struct, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    name = b"".join(bytes([len(l)]) + l for l in (os.urandom(6).hex().encode(), b"silent", b"example"))
    s.sendto(struct.pack("!6H", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + b"\0\0\1\0\1",
             ("127.0.0.1", port))
    if i % 500 == 499:
        time.sleep(0.05)  # the daemon's socket buffer
time.sleep(2)
EOF
    after=$(rss_kib "$PID")
    echo "lookups held open: $n, RSS $before -> $after KiB: $(((after - before) * 1024 / n)) bytes each"
    stop_daemon
done
kill "$SINK"
SINK=

# 2. Cache sizes, idle and in a flood.
"$ROOT/tests/testnet/testnet.sh" start "$WORK/net" --bench-domains 300 >/dev/null
# shellcheck source=/dev/null
source "$WORK/net/env"
echo "| --cache-size | idle RSS | peak RSS in the flood | legitimate lookups answered | their p99 |"
echo "| --- | ---: | ---: | ---: | ---: |"
for size in $SIZES; do
    start_daemon --root-hints "$ROOT_HINTS" --trust-anchor "$TRUST_ANCHOR" --cache-size "$size"
    idle=$(rss_kib "$PID")
    /usr/bin/python3 "$ROOT/bench/flood.py" --server "127.0.0.1@$PORT" --zone yada123.com \
        --legit "$BENCH_DOMAINS_FILE" --pid "$PID" >"$WORK/flood.json"
    /usr/bin/python3 - "$size" "$idle" "$WORK/flood.json" <<'EOF'
import json, sys
size, idle, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = json.load(open(path))
legit = r["legit"]
print(f"| {size} | {idle / 1024:.1f} MiB | {r['rss_peak_mib']} MiB | "
      f"{legit['rcodes'].get('NOERROR', 0)} of {legit['asked']} | {legit['latency_ms']['p99']:.0f} ms |")
EOF
    stop_daemon
done
