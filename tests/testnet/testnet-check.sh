#!/usr/bin/env bash
# testnet-check.sh — check the test hierarchy with a resolver we trust.
#
#   tests/testnet/testnet-check.sh [PORT]      (default port 5399)
#
# Starts tests/testnet/testnet.sh in a temporary directory, runs Debian's unbound
# in the foreground on 127.0.0.1@PORT with the config testnet.sh wrote, and
# checks with dig that the hierarchy behaves as the mxcache tests expect:
# delegations, CNAME chains, DNSSEC secure/insecure/bogus, negative answers,
# truncation. Any failed check makes the script exit non-zero. Everything it
# started is stopped on exit.
set -euo pipefail

PORT=${1:-5399}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/testnet-check.XXXXXX)
UNBOUND_PID=

cleanup() {
    if [[ -n $UNBOUND_PID ]]; then
        kill -TERM "$UNBOUND_PID" 2>/dev/null || true
        wait "$UNBOUND_PID" 2>/dev/null || true
    fi
    "$HERE/testnet.sh" stop "$WORK" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$HERE/testnet.sh" start "$WORK"

# The generated config listens on 5399; a later "port:" overrides it.
cat >"$WORK/unbound-check.conf" <<EOF
include: "$WORK/unbound.conf"
server:
    port: $PORT
EOF
unbound -d -c "$WORK/unbound-check.conf" >"$WORK/unbound.log" 2>&1 &
UNBOUND_PID=$!

q() { dig -p "$PORT" @127.0.0.1 +time=2 +tries=1 "$@" 2>&1 || true; }

# Bounded readiness probe: a real query, at most ~10 s.
for ((i = 0; ; i++)); do
    if q . SOA | grep -q 'status: NOERROR'; then break; fi
    if ((i >= 100)) || ! kill -0 "$UNBOUND_PID" 2>/dev/null; then
        cat "$WORK/unbound.log" >&2
        echo "unbound did not come up" >&2
        exit 1
    fi
    sleep 0.1
done

FAILED=0
# check DESCRIPTION REGEX DIG-ARGS... : the dig output must match REGEX. The
# output is joined into one line (newlines become " | ") so that one regex
# can tie the header to the records.
check() {
    local what=$1 re=$2 out
    shift 2
    out=$(q "$@")
    if tr '\n' '|' <<<"$out" | sed 's/|/ | /g' | grep -Eq -- "$re"; then
        echo "ok    $what"
    else
        echo "FAIL  $what (wanted /$re/)"
        sed 's/^/      /' <<<"$out"
        FAILED=1
    fi
}

check "yada123.com MX: both exchangers" \
    'MX[[:space:]]+10 mx1.yada123.com.' yada123.com MX
check "yada123.com MX: out-of-zone exchanger" \
    'MX[[:space:]]+20 mx2.mailhost.net.' yada123.com MX
check "mx2.mailhost.net A (insecure net. child)" \
    'A[[:space:]]+192.0.2.20' mx2.mailhost.net A
check "www CNAME chain ends at host.mailhost.net" \
    'CNAME[[:space:]]+web.yada123.com.*CNAME[[:space:]]+host.mailhost.net.*host.mailhost.net.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+198.51.100.10' www.yada123.com A
check "unsigned yada123.com: no AD even with DO" \
    'status: NOERROR.*flags: qr rd ra;.*MX' yada123.com MX +dnssec
check "signed123.com MX is secure (AD)" \
    'flags: qr rd ra ad;' signed123.com MX +dnssec
check "signed123.com TLSA is secure (AD)" \
    'flags: qr rd ra ad;' _25._tcp.mx1.signed123.com TLSA +dnssec
check "bogus123.com MX is SERVFAIL" \
    'status: SERVFAIL' bogus123.com MX
check "bogus123.com MX with CD gives the data, no AD" \
    'flags: qr rd ra cd;.*MX[[:space:]]+10 mx1.bogus123.com.' bogus123.com MX +cd +dnssec
check "bogus123.com SOA (intact signature) is secure" \
    'flags: qr rd ra ad;' bogus123.com SOA +dnssec
check "NXDOMAIN with SOA" \
    'status: NXDOMAIN.*yada123.com.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA' nosuchname.yada123.com A
check "NODATA (AAAA of an A-only name)" \
    'status: NOERROR.*ANSWER: 0,' onlya.yada123.com AAAA
check "NODATA carries the SOA" \
    'yada123.com.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA' onlya.yada123.com AAAA
check "secure NXDOMAIN in signed123.com (AD)" \
    'status: NXDOMAIN.*flags: qr rd ra ad;' nosuchname.signed123.com A +dnssec
check "PTR in arpa." \
    'PTR[[:space:]]+mx1.yada123.com.' -x 11.0.2.1
check "big TXT truncated over UDP, bufsize 1232" \
    'flags: qr tc.*udp: 1232' big.yada123.com TXT +bufsize=1232 +ignore
check "big TXT truncated over UDP without EDNS" \
    'flags: qr tc' big.yada123.com TXT +noedns +ignore
check "big TXT complete over TCP" \
    'ANSWER: 10,' big.yada123.com TXT +tcp
check "1000 MX over TCP" \
    'ANSWER: 1000,' many.yada123.com MX +tcp
check "null MX" 'MX[[:space:]]+0 \.' nomail.yada123.com MX
check "short TTL" 'short.yada123.com.[[:space:]]+[0-2][[:space:]]' short.yada123.com A

if ((FAILED)); then
    echo "---- unbound log" >&2
    tail -n 40 "$WORK/unbound.log" >&2
    exit 1
fi
echo "all checks passed"
