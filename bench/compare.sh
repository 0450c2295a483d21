#!/usr/bin/env bash
# compare.sh — mxcached against Debian's unbound, same workloads, one run.
#
#   bench/compare.sh [--domains N] [--delay MIN-MAX] [--concurrency N]
#                    [--qps-seconds S] [--mxcached-flag FLAG]... [--inbound-only] [--keep] [--fleet]
#
# Starts the project's authoritative hierarchy (tests/testnet/testnet.sh, NSD) with
# N generated mail domains, puts a delaying proxy (tests/testnet/delayproxy.c) in
# front of every NSD so that each authoritative round trip costs MIN-MAX ms
# (uniform, fixed seed), then starts mxcached and unbound (one thread, the
# same root hints and trust anchor, DNSSEC validation on) on loopback ports
# and runs against both:
#
#   cold-mta        mxbench --mode mta on the N domains, both caches fresh
#   warm-mta        the same again, answers now cached
#   cold-pause-mta  "checked, then delivered": --pause 200 between the MX
#                   answer and the address lookups, caches fresh again
#   cached-qps      mxbench --mode qps on every cached MX/A/AAAA name
#   cached-dnsperf  dnsperf (Debian) on the same names
#   flood           bench/flood.py: 30,000 never-seen MX questions under one
#                   zone (bursts of 200 every 10 ms) while a never-seen MX
#                   question in another zone is asked every 200 ms; both
#                   resolvers fresh, mxcached with --cache-size 4m; peak RSS
#   cold-inbound    mxbench --mode inbound: per message PTR, A/AAAA of the
#                   PTR names, the sender's whole SPF tree, DMARC; caches fresh
#   cold-pause-inbound  the same with --pause 200 between PTR and SPF
#   and, if `mxcached --help` lists --mx-chase, the cold runs again against
#   mxcached with --mx-chase no ("chaser off" column; for the inbound runs,
#   every chaser off: --chase-ptr/--chase-spf/--chase-dmarc no as well).
#   --inbound-only runs the inbound workloads alone.
#
# --fleet measures the shared tier instead (needs redis-server): one Redis on
# a unix socket, relay A (mxcached --redis) cold on the N domains, then relay
# B (a second mxcached, fresh, same Redis and secret) on the same domains,
# beside unbound cold; MTA delivery p50/p99 on each, and on B the cost of a
# lookup answered from Redis (B's GET round trip, latency_l2_us, and its
# client-facing miss latency) and whether B recursed at all. Results in
# bench/results/fleet/ (fleet-table.md).
#
# Prints a table, writes bench/results/*.json (one per workload and
# resolver), table.txt, table.md and a latency CDF per workload (*.png,
# gnuplot). Everything runs inside a network namespace of its own (created
# and deleted here), so port 53 of the host's 127.0.0.x is never touched;
# everything it starts, it stops. Needs root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RESULTS=${RESULTS:-$ROOT/bench/results}
DOMAINS=300
DELAY=20-40
CONCURRENCY=10
QPS_SECONDS=10
QPS_OUTSTANDING=100
PAUSE_MS=200
FLOOD_ZONE=yada123.com # the flood's names: never-seen, NXDOMAIN, one zone
SEED=1
KEEP=0
INBOUND_ONLY=0
FLEET=0
MXC_FLAGS=() # extra flags for every mxcached started, e.g. an --unbound-option

NSD_PORT=5300 # NSD moves here; the proxies take port 53
MXC_PORT=5301
UB_PORT=5302
MXC_B_PORT=5303 # --fleet: relay B
READY_TIMEOUT=15

# With two cores or more, the resolver under test gets core 0 to itself;
# load generators, NSD and the proxies share core 1. Pinning makes runs
# comparable (unpinned, cached QPS figures swing by 20-30% run to run).
PIN_SERVER=()
PIN_CLIENT=()
if (($(nproc) >= 2)) && command -v taskset >/dev/null; then
    PIN_SERVER=(taskset -c 0)
    PIN_CLIENT=(taskset -c 1)
fi

die() {
    echo "compare: $*" >&2
    exit 1
}

usage() {
    sed -n '4,5p' "$0" | sed 's/^# *//' >&2
    exit 2
}

while (($# > 0)); do
    case $1 in
    --domains) DOMAINS=${2:?}; shift 2 ;;
    --delay) DELAY=${2:?}; shift 2 ;;
    --concurrency) CONCURRENCY=${2:?}; shift 2 ;;
    --qps-seconds) QPS_SECONDS=${2:?}; shift 2 ;;
    --mxcached-flag) MXC_FLAGS+=("${2:?}"); shift 2 ;;
    --keep) KEEP=1; shift ;;
    --inbound-only) INBOUND_ONLY=1; shift ;;
    --fleet) FLEET=1; shift ;;
    *) usage ;;
    esac
done
ARGS=(--domains "$DOMAINS" --delay "$DELAY" --concurrency "$CONCURRENCY"
    --qps-seconds "$QPS_SECONDS")
for flag in "${MXC_FLAGS[@]}"; do ARGS+=(--mxcached-flag "$flag"); done
((KEEP)) && ARGS+=(--keep)
((INBOUND_ONLY)) && ARGS+=(--inbound-only)
((FLEET)) && ARGS+=(--fleet)
((FLEET)) && RESULTS=${RESULTS_FLEET:-$ROOT/bench/results/fleet}

# ---------------------------------------------------------------- outside

# Build, then run this script again inside a fresh network namespace.
run_outside() {
    local netns=mxbench-$$ rc=0
    [[ $EUID -eq 0 ]] || die "needs root (network namespace, port 53)"
    make -C "$ROOT" --no-print-directory -s "$BUILD/mxcached" "$BUILD/mxbench" \
        "$BUILD/mxcache-ctl" "$BUILD/delayproxy"
    ip netns add "$netns"
    trap 'ip netns del "$netns"' EXIT
    trap 'exit 130' INT TERM
    ip netns exec "$netns" ip link set lo up
    MXBENCH_NETNS=$netns ip netns exec "$netns" "$0" "${ARGS[@]}" || rc=$?
    exit "$rc"
}

if [[ -z ${MXBENCH_NETNS:-} ]]; then
    run_outside
fi

# ---------------------------------------------------------------- inside

WORK=$(mktemp -d /tmp/mxbench-compare.XXXXXX)
NET=$WORK/net
declare -A PIDS=() # name -> pid of what we started and still run

cleanup() {
    local name
    for name in "${!PIDS[@]}"; do
        stop_process "$name"
    done
    "$ROOT/tests/testnet/testnet.sh" stop "$NET" || true
    if ((KEEP)); then
        echo "compare: work files kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_process() {
    local pid=${PIDS[$1]}
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PIDS[$1]"
}

# Waits until file $2 holds a line matching $3, while process $1 lives.
wait_for_line() {
    local name=$1 log=$2 pattern=$3 deadline=$((SECONDS + READY_TIMEOUT))
    until grep -q -- "$pattern" "$log" 2>/dev/null; do
        if ! kill -0 "${PIDS[$name]}" 2>/dev/null || ((SECONDS >= deadline)); then
            tail -n 20 "$log" >&2
            die "$name did not become ready"
        fi
        sleep 0.02
    done
}

# start NAME LOG-FILE READY-PATTERN COMMAND...
start() {
    local name=$1 log=$2 pattern=$3
    shift 3
    "$@" </dev/null >"$log" 2>&1 &
    PIDS[$name]=$!
    wait_for_line "$name" "$log" "$pattern"
}

# Read whole: with grep -q, mxcached could get SIGPIPE writing the rest,
# and pipefail would make the answer "no".
has_chase_flag() {
    local help
    help=$("$BUILD/mxcached" --help 2>&1)
    [[ $help == *--mx-chase* ]]
}

# start_mxcached NAME [extra flags]: a fresh cache.
start_mxcached() {
    local name=$1
    shift
    [[ -z ${PIDS[$name]:-} ]] || stop_process "$name"
    start "$name" "$WORK/$name.log" 'mxcached ready' \
        "${PIN_SERVER[@]}" "$BUILD/mxcached" -f -l "127.0.0.1@$MXC_PORT" --root-hints "$ROOT_HINTS" \
        --trust-anchor "$TRUST_ANCHOR" -s "$WORK/ctl.sock" "${MXC_FLAGS[@]}" "$@"
}

start_unbound() {
    [[ -z ${PIDS[unbound]:-} ]] || stop_process unbound
    cat >"$WORK/unbound.conf" <<EOF
include: "$UNBOUND_CONF"
server:
    port: $UB_PORT
EOF
    start unbound "$WORK/unbound.log" 'start of service' \
        "${PIN_SERVER[@]}" unbound -d -p -c "$WORK/unbound.conf"
}

port_of() {
    case $1 in
    unbound) echo "$UB_PORT" ;;
    relay-b) echo "$MXC_B_PORT" ;;
    *) echo "$MXC_PORT" ;;
    esac
}

# mta WORKLOAD RESOLVER [mxbench flags]
mta() {
    local workload=$1 resolver=$2
    shift 2
    echo "compare: $workload against $resolver" >&2
    "${PIN_CLIENT[@]}" "$BUILD/mxbench" -s "127.0.0.1@$(port_of "$resolver")" --mode mta -c "$CONCURRENCY" \
        --json --csv "$WORK/$workload.$resolver.csv" "$@" "$BENCH_DOMAINS_FILE" \
        >"$RESULTS/$workload.$resolver.json"
}

# inbound WORKLOAD RESOLVER [mxbench flags]: a receiving server's lookups.
inbound() {
    local workload=$1 resolver=$2
    shift 2
    echo "compare: $workload against $resolver" >&2
    "${PIN_CLIENT[@]}" "$BUILD/mxbench" -s "127.0.0.1@$(port_of "$resolver")" --mode inbound \
        -c "$CONCURRENCY" --json --csv "$WORK/$workload.$resolver.csv" "$@" "$BENCH_INBOUND_FILE" \
        >"$RESULTS/$workload.$resolver.json"
}

# The inbound workloads, each on fresh caches: mxcached, unbound, and
# mxcached with every chaser off.
inbound_all() {
    local chase=$1 workload pause
    [[ -z ${PIDS[mxcached-nochase]:-} ]] || stop_process mxcached-nochase
    for workload in cold-inbound cold-pause-inbound; do
        pause=0
        [[ $workload == cold-pause-inbound ]] && pause=$PAUSE_MS
        start_mxcached mxcached
        inbound "$workload" mxcached --pause "$pause"
        save_stats "$workload" mxcached
        start_unbound
        inbound "$workload" unbound --pause "$pause"
        if ((chase)); then
            stop_process mxcached
            start_mxcached mxcached-nochase --mx-chase no --chase-ptr no --chase-spf no \
                --chase-dmarc no
            inbound "$workload" mxcached-nochase --pause "$pause"
            save_stats "$workload" mxcached-nochase
            stop_process mxcached-nochase
        fi
    done
}

# save_stats WORKLOAD NAME: mxcached's counters right after a run, to see
# what the chaser did (prefetch_hits: lookups it answered ahead of the MTA).
save_stats() {
    "$BUILD/mxcache-ctl" -s "${3:-$WORK/ctl.sock}" --json stats >"$RESULTS/$1.$2-stats.json"
}

qps() {
    local resolver=$1
    echo "compare: cached-qps against $resolver" >&2
    "${PIN_CLIENT[@]}" "$BUILD/mxbench" -s "127.0.0.1@$(port_of "$resolver")" --mode qps -c "$QPS_OUTSTANDING" \
        -d "$QPS_SECONDS" --json --csv "$WORK/cached-qps.$resolver.csv" \
        "$BENCH_QUERIES_FILE" >"$RESULTS/cached-qps.$resolver.json"
}

# flood_run RESOLVER: legitimate lookups during a random-subdomain flood.
flood_run() {
    local resolver=$1
    echo "compare: flood against $resolver" >&2
    "${PIN_CLIENT[@]}" /usr/bin/python3 "$ROOT/bench/flood.py" --server "127.0.0.1@$(port_of "$resolver")" \
        --zone "$FLOOD_ZONE" --legit "$BENCH_DOMAINS_FILE" --pid "${PIDS[$resolver]}" \
        >"$RESULTS/flood.$resolver.json"
}

# dnsperf has no percentiles: its QPS and mean/max latency, as JSON.
dnsperf_run() {
    local resolver=$1 out
    out=$WORK/dnsperf.$resolver.txt
    echo "compare: cached-dnsperf against $resolver" >&2
    "${PIN_CLIENT[@]}" dnsperf -s 127.0.0.1 -p "$(port_of "$resolver")" -d "$BENCH_QUERIES_FILE" \
        -l "$QPS_SECONDS" -q "$QPS_OUTSTANDING" -T 1 -c 1 >"$out" 2>&1
    awk -v resolver="$resolver" '
        /Queries completed:/ { completed = $3 }
        /Queries lost:/ { lost = $3 }
        /Queries per second:/ { qps = $4 }
        /Average Latency \(s\):/ { mean = $4 * 1e6; max = $8 * 1e6 } # "max 0.0012)"
        END {
            printf "{\"mode\": \"dnsperf\", \"server\": \"%s\", \"completed\": %d, ", resolver, completed
            printf "\"failed\": %d, \"timeouts\": %d, \"qps\": %.1f, ", lost, lost, qps
            printf "\"latency_us\": {\"mean\": %.1f, \"max\": %.1f}}\n", mean, max
        }' "$out" >"$RESULTS/cached-dnsperf.$resolver.json"
}

# A latency CDF per workload: every answered sample of PHASE (mta CSVs) or
# every answered query (qps CSVs, PHASE "").
plot_cdf() {
    local workload=$1 phase=$2 title=$3 unit=$4 what=$5 plots=() f label
    for f in "$WORK/$workload".*.csv; do
        label=${f#"$WORK/$workload".}
        label=${label%.csv}
        awk -F, -v phase="$phase" 'NR > 1 && $3 != "" && (phase == "" || $1 == phase) {
                print $3 }' "$f" | sort -g |
            awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], i / NR }' \
                >"$WORK/$workload.$label.cdf"
        [[ -s $WORK/$workload.$label.cdf ]] &&
            plots+=("'$WORK/$workload.$label.cdf' using 1:2 with steps lw 2 title '$label'")
    done
    ((${#plots[@]})) || return 0
    gnuplot <<EOF
set terminal pngcairo size 900,540 font ",11"
set output '$RESULTS/$workload.png'
set title "$title"
set xlabel "latency ($unit, log scale)"
set ylabel "fraction of $what"
set logscale x
set grid
set key bottom right
set yrange [0:1.02]
plot $(IFS=,; echo "${plots[*]}")
EOF
}

# Stops what runs and writes machine.txt.
finish() {
    local name
    for name in "${!PIDS[@]}"; do
        [[ $name == delayproxy ]] || stop_process "$name"
    done
    stop_process delayproxy
    grep '^delayproxy:' "$WORK/delayproxy.log" >&2 || true
    machine
}

machine() {
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
        echo "kernel: $(uname -r)"
        echo "unbound: $(unbound -V | sed -n 's/^Version //p')"
        echo "mxcached: $("$BUILD/mxcached" -V 2>&1 | head -1)"
        echo "domains: $DOMAINS, authoritative round trip: $DELAY ms, concurrency: $CONCURRENCY"
    } >"$RESULTS/machine.txt"
}

# The authoritative hierarchy with N bench domains behind the delaying proxies.
start_hierarchy() {
    "${PIN_CLIENT[@]}" "$ROOT/tests/testnet/testnet.sh" start "$NET" --nsd-port "$NSD_PORT" \
        --bench-domains "$DOMAINS" >&2
    # shellcheck source=/dev/null
    source "$NET/env"
    local specs=() addrs=() addr
    mapfile -t addrs < <(awk '$1 == "ip-address:" { print $2 }' "$NET"/nsd-*/nsd.conf | sort -u)
    for addr in "${addrs[@]}"; do
        specs+=("$addr@53=$addr@$NSD_PORT/$DELAY")
    done
    start delayproxy "$WORK/delayproxy.log" 'delayproxy ready' \
        "${PIN_CLIENT[@]}" "$BUILD/delayproxy" --seed "$SEED" "${specs[@]}"
}

# --fleet: relay A cold, relay B on the same domains through Redis, unbound cold.
main_fleet() {
    command -v redis-server >/dev/null || die "--fleet needs redis-server (make deps)"
    mkdir -p "$RESULTS"
    rm -f "$RESULTS"/*.json "$RESULTS"/fleet-table.md
    start_hierarchy
    start redis "$WORK/redis.log" 'ready to accept connections' \
        "${PIN_CLIENT[@]}" redis-server --port 0 --unixsocket "$WORK/redis.sock" \
        --unixsocketperm 700 --save '' --appendonly no --dir "$WORK"
    head -c 32 /dev/urandom | base64 >"$WORK/fleet.secret"
    chmod 600 "$WORK/fleet.secret"
    local fleet=(--redis "unix:$WORK/redis.sock" --redis-secret "$WORK/fleet.secret")
    start_mxcached relay-a "${fleet[@]}"
    start relay-b "$WORK/relay-b.log" 'mxcached ready' \
        "${PIN_SERVER[@]}" "$BUILD/mxcached" -f -l "127.0.0.1@$MXC_B_PORT" --root-hints "$ROOT_HINTS" \
        --trust-anchor "$TRUST_ANCHOR" -s "$WORK/ctl-b.sock" "${MXC_FLAGS[@]}" "${fleet[@]}"
    start_unbound
    mta fleet-cold relay-a
    save_stats fleet-cold relay-a
    # A's chaser may still be writing its last answers: let it finish.
    until "$BUILD/mxcache-ctl" -s "$WORK/ctl.sock" --json stats |
        /usr/bin/python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["upstream.distinct_in_flight"] != 0)'; do
        sleep 0.05
    done
    save_stats fleet-before relay-b "$WORK/ctl-b.sock"
    mta fleet-shared relay-b
    save_stats fleet-shared relay-b "$WORK/ctl-b.sock"
    mta fleet-cold unbound
    for name in "${!PIDS[@]}"; do stop_process "$name"; done
    machine
    /usr/bin/python3 - "$RESULTS" <<'PY'
import json, sys
from pathlib import Path
r = Path(sys.argv[1])
j = lambda n: json.loads((r / n).read_text())
a, b, u = j("fleet-cold.relay-a.json"), j("fleet-shared.relay-b.json"), j("fleet-cold.unbound.json")
sb0, sb = j("fleet-before.relay-b-stats.json"), j("fleet-shared.relay-b-stats.json")
rows = [
    ("delivery p50 ms", a["total_ms"]["p50"], b["total_ms"]["p50"], u["total_ms"]["p50"]),
    ("delivery p99 ms", a["total_ms"]["p99"], b["total_ms"]["p99"], u["total_ms"]["p99"]),
    ("addresses p50 ms", a["addr_ms"]["p50"], b["addr_ms"]["p50"], u["addr_ms"]["p50"]),
    ("lookups failed", a["failed"] + a["timeouts"], b["failed"] + b["timeouts"], u["failed"] + u["timeouts"]),
]
out = ["| MTA, %d domains | relay A cold | relay B via Redis | unbound cold |" % a["domains"],
       "|---|---:|---:|---:|"]
out += ["| %s | %s | %s | %s |" % row for row in rows]
d = lambda k: sb[k] - sb0[k]
out += ["", "| relay B | |", "|---|---:|",
        "| recursions (upstream.queries) | %d |" % d("upstream.queries"),
        "| Redis hits (l2.hits) | %d |" % d("l2.hits"),
        "| Redis misses, timeouts, rejected | %d, %d, %d |" % (d("l2.misses"), d("l2.timeouts"), d("l2.rejected")),
        "| GET round trip p50 / p99 / mean us | %d / %d / %d |" % (sb["latency_l2_us.p50"], sb["latency_l2_us.p99"], sb["latency_l2_us.mean"]),
        "| lookup answered from Redis, client-facing p50 / p99 / mean us | %d / %d / %d |"
        % (sb["latency_miss_us.p50"], sb["latency_miss_us.p99"], sb["latency_miss_us.mean"])]
text = "\n".join(out) + "\n"
(r / "fleet-table.md").write_text(text)
print(text)
PY
}

main() {
    local chase=0 r
    mkdir -p "$RESULTS"
    rm -f "$RESULTS"/*.json "$RESULTS"/*.png "$RESULTS"/table.* "$RESULTS"/machine.txt
    has_chase_flag && chase=1

    start_hierarchy

    # How long one authoritative round trip takes through the proxies.
    "${PIN_CLIENT[@]}" "$BUILD/mxbench" -s "$MAIL_SERVER" --mode qps -c 10 -d 2 --json "$BENCH_QUERIES_FILE" \
        >"$RESULTS/authoritative-rtt.json"

    if ((INBOUND_ONLY)); then
        inbound_all "$chase"
        finish
        /usr/bin/python3 "$ROOT/bench/table.py" "$RESULTS"
        return
    fi
    start_mxcached mxcached
    start_unbound
    mta cold-mta mxcached
    save_stats cold-mta mxcached
    mta cold-mta unbound
    for r in mxcached unbound; do mta warm-mta "$r"; done
    for r in mxcached unbound; do qps "$r"; done
    for r in mxcached unbound; do dnsperf_run "$r"; done
    start_mxcached mxcached
    start_unbound
    mta cold-pause-mta mxcached --pause "$PAUSE_MS"
    save_stats cold-pause-mta mxcached
    mta cold-pause-mta unbound --pause "$PAUSE_MS"

    start_mxcached mxcached --cache-size 4m
    flood_run mxcached
    save_stats flood mxcached
    start_unbound
    flood_run unbound

    if ((chase)); then
        stop_process mxcached
        start_mxcached mxcached-nochase --mx-chase no
        mta cold-mta mxcached-nochase
        save_stats cold-mta mxcached-nochase
        start_mxcached mxcached-nochase --mx-chase no
        mta cold-pause-mta mxcached-nochase --pause "$PAUSE_MS"
        save_stats cold-pause-mta mxcached-nochase
        echo "compare: chaser off: measured (mxcached --mx-chase no)" >&2
    else
        echo "compare: chaser off: NOT measured, this mxcached has no --mx-chase flag" >&2
    fi
    inbound_all "$chase"
    finish
    plot_cdf cold-mta total "Cold MTA lookups (MX, then A/AAAA per exchanger): whole delivery" \
        ms domains
    plot_cdf warm-mta total "Warm MTA lookups: whole delivery" ms domains
    plot_cdf cold-pause-mta addr \
        "Checked, then delivered ($PAUSE_MS ms pause, cold): the address lookups" ms domains
    plot_cdf cached-qps "" "Cached queries (mxbench qps, $QPS_OUTSTANDING outstanding)" us queries
    /usr/bin/python3 "$ROOT/bench/table.py" "$RESULTS"
}

if ((FLEET)); then
    main_fleet
else
    main
fi
