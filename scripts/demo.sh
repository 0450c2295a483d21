#!/usr/bin/env bash
# demo.sh — the mail-server story, offline, in a minute.
#
# Starts the loopback DNS hierarchy (tests/testnet/testnet.sh), runs mxcached on
# 127.0.0.1@5353 recursing through it, and asks what a mail server asks when
# it delivers to parisi@yada123.com. With redis-server installed, two more
# relays share one Redis: the second answers what the first resolved from
# the shared tier. Everything started here is stopped on exit. Needs root
# (the test servers listen on port 53 of 127.0.0.2-5).
#
# Environment: MXCACHED (binary, default build/mxcached), DEMO_PORT (5353).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
MXCACHED=${MXCACHED:-$REPO/build/mxcached}
PORT=${DEMO_PORT:-5353}
WORK=$(mktemp -d /tmp/mxcache-demo.XXXXXX)
declare -A PIDS=() # log name -> pid, for everything started here

[[ -x $MXCACHED ]] || {
    echo "demo: $MXCACHED not found; run make first" >&2
    exit 1
}

cleanup() {
    local rc=$? name pid
    for name in "${!PIDS[@]}"; do
        pid=${PIDS[$name]}
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid"
        if ! wait "$pid"; then
            echo "demo: $name did not exit cleanly; its log:" >&2
            tail -n 20 "$WORK/$name.log" >&2
            rc=1
        fi
    done
    "$REPO/tests/testnet/testnet.sh" stop "$WORK/testnet" || rc=1
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

# Bold headings on a terminal, plain text in a log.
if [[ -t 1 ]]; then B=$'\e[1m' N=$'\e[0m'; else B='' N=''; fi
heading() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '   %s\n' "$*"; }

# Ask mxcached, showing the records and how long the answer took. kdig
# (knot-dnsutils) is used here rather than dig because dig reports whole
# milliseconds, and on loopback both a recursion and a cache hit take less.
ask() {
    ask_at "$PORT" "$@"
}

ask_at() {
    local port=$1
    shift
    echo "\$ kdig -p $port @127.0.0.1 $*"
    kdig -p "$port" @127.0.0.1 +time=3 +retry=0 +noall +answer +stats "$@" |
        grep -Ev '^;; (Received|Time)|^$'
}

# start NAME READY-LINE COMMAND...: runs it, its output in $WORK/NAME.log,
# and waits for READY-LINE there (at most 20 s), giving up at once if it dies.
start() {
    local name=$1 ready=$2 i
    shift 2
    "$@" </dev/null >"$WORK/$name.log" 2>&1 &
    PIDS[$name]=$!
    for ((i = 0; i < 200; i++)); do
        grep -qi "$ready" "$WORK/$name.log" && return 0
        if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
            cat "$WORK/$name.log" >&2
            echo "demo: $name exited during startup" >&2
            exit 1
        fi
        sleep 0.1
    done
    cat "$WORK/$name.log" >&2
    echo "demo: $name not ready after 20 s" >&2
    exit 1
}

# mxcached on PORT with its control socket $WORK/NAME.sock.
start_mxcached() {
    local name=$1 port=$2
    shift 2
    start "$name" 'mxcached ready' "$MXCACHED" -f -l "127.0.0.1@$port" \
        --root-hints "$ROOT_HINTS" --trust-anchor "$TRUST_ANCHOR" -s "$WORK/$name.sock" "$@"
}

heading "Starting an authoritative DNS hierarchy on loopback (NSD)"
"$REPO/tests/testnet/testnet.sh" start "$WORK/testnet" >/dev/null
# shellcheck source=/dev/null
source "$WORK/testnet/env"
note "root . on $ROOT_SERVER, com./net./arpa. on $TLD_SERVER,"
note "yada123.com. and signed123.com. on $MAIL_SERVER, mailhost.net. on $MAILHOST_SERVER"

heading "Starting mxcached on 127.0.0.1@$PORT"
# It prints "mxcached ready" on stderr once it listens.
start_mxcached mxcached "$PORT"
note "ready (pid ${PIDS[mxcached]})"

heading "1. Mail for parisi@yada123.com: where does yada123.com take mail?"
note "A cold cache: mxcached recurses from the root (., com., yada123.com.)."
ask yada123.com MX

heading "2. The exchangers' addresses (IPv4 and IPv6)"
note "mxcached fetched these already, when the MX answer came back:"
note "the mail server's follow-up queries are cache hits."
ask mx1.yada123.com A
ask mx1.yada123.com AAAA
ask mx2.mailhost.net A
ask mx2.mailhost.net AAAA

heading "3. The same MX question again"
note "Answered from the cache: compare the time with step 1; the TTL"
note "counts down from 3600 while the answer sits in the cache."
ask yada123.com MX

heading "4. A DNSSEC-signed domain: signed123.com MX with +dnssec"
note "The 'ad' flag means mxcached validated the answer up to the root key;"
note "the RRSIG records come along because the query set DO."
echo "\$ dig -p $PORT @127.0.0.1 +dnssec signed123.com MX"
dig -p "$PORT" @127.0.0.1 +time=3 +tries=1 +dnssec +noall +comments +answer signed123.com MX |
    grep -E '^;; flags|IN[[:space:]]+(MX|RRSIG)'

heading "5. A domain whose signatures are broken: bogus123.com MX"
note "Validation fails, so the answer is SERVFAIL..."
dig -p "$PORT" @127.0.0.1 +time=3 +tries=1 +noall +comments bogus123.com MX |
    grep -E 'status:'
note "...unless the client asks to skip validation (+cd): data, no 'ad'."
dig -p "$PORT" @127.0.0.1 +time=3 +tries=1 +cd +noall +comments +answer bogus123.com MX |
    grep -E '^;; flags|IN[[:space:]]+MX'

CTL=${MXCACHE_CTL:-$REPO/build/mxcache-ctl}

heading "6. The whole delivery decision in one call"
note "What an MTA would do (RFC 5321 5.1): exchangers in preference order,"
note "each with its addresses, resolved through the same cache."
echo "\$ mxcache-ctl route yada123.com"
"$CTL" -s "$WORK/mxcached.sock" route yada123.com

heading "7. What mxcached did: mxcache-ctl stats"
note "prefetch hits: client questions answered from what the MX-chaser fetched."
echo "\$ mxcache-ctl stats"
"$CTL" -s "$WORK/mxcached.sock" stats

if command -v redis-server >/dev/null; then
    heading "8. A fleet: two more relays sharing one Redis"
    start redis 'ready to accept connections' redis-server --port 0 \
        --unixsocket "$WORK/redis.sock" --unixsocketperm 700 --save '' --appendonly no --dir "$WORK"
    head -c 32 /dev/urandom | base64 >"$WORK/fleet.secret"
    chmod 600 "$WORK/fleet.secret"
    fleet=(--redis "unix:$WORK/redis.sock" --redis-secret "$WORK/fleet.secret")
    start_mxcached relay-a $((PORT + 1)) "${fleet[@]}"
    start_mxcached relay-b $((PORT + 2)) "${fleet[@]}"
    note "relay A (port $((PORT + 1))) recurses for chase.yada123.com MX, its chaser"
    note "fetches the exchangers' addresses; every answer also goes to Redis."
    ask_at $((PORT + 1)) chase.yada123.com MX
    # A's chaser works in the background: wait until it has nothing in flight.
    until "$CTL" -s "$WORK/relay-a.sock" stats | grep -q 'in flight 0$'; do sleep 0.05; done
    sleep 1 # so that the aged TTLs show: a second since A stored the answers
    note "relay B (port $((PORT + 2))), a cold cache, answers from the shared tier in"
    note "about a millisecond, TTLs aged by the second since A stored them, and"
    note "without recursing: its chaser's lookups came from Redis too."
    ask_at $((PORT + 2)) chase.yada123.com MX
    ask_at $((PORT + 2)) mxa.chase.yada123.com A
    echo "\$ mxcache-ctl stats   # relay B"
    "$CTL" -s "$WORK/relay-b.sock" stats | grep -E '^(upstream|shared)|redis'
else
    heading "8. (A fleet sharing one Redis: install redis-server, make deps, to see it)"
fi

heading "Done; stopping the daemons and the name servers"
