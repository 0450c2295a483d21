"""mxcached's JSON control socket: counters, stats_reset, flush, dump, bad
requests, many and misbehaving clients, and the socket file itself.

Counter tests run on a daemon of their own (start_mxcached), so that no other
test's queries move the numbers they compare. An MX answer sets the MX chaser
off (more lookups and cache entries, in the background), so tests that count
entries or upstream lookups exactly ask for other types.
"""

import json
import os
import socket
import stat

import dns.query
import dns.rcode
import pytest

from helpers import TIMEOUT, Client, ControlConnection, dump_cache, dumped, make_query, rrset_of

pytestmark = pytest.mark.mxcache_only

AUTH_TTL = 3600  # zone default in tests/testnet/testnet.sh

# yada123.com's TXT is an SPF record: the inbound chasers would add entries
# to tests that count them.
NO_INBOUND = ("--chase-spf", "no", "--chase-dmarc", "no")


def _delta(before: dict, after: dict, key: str) -> int:
    return after[key] - before[key]


# --------------------------------------------------------------- counters


def test_counters_for_a_miss_then_a_hit(start_mxcached, testnet):
    res = start_mxcached()
    client = Client(res, testnet)
    s0 = res.stats()
    assert client.query("yada123.com", "MX").rcode() == dns.rcode.NOERROR
    s1 = res.stats()
    assert client.query("yada123.com", "MX").rcode() == dns.rcode.NOERROR
    s2 = res.stats()

    # The first query: a miss that went upstream (the chaser's lookups of
    # the exchangers may add to upstream.queries, never to the misses).
    assert _delta(s0, s1, "cache.misses") == 1
    assert _delta(s0, s1, "cache.hits") == 0
    assert _delta(s0, s1, "upstream.queries") >= 1
    # The second: a hit, nothing upstream.
    assert _delta(s1, s2, "cache.hits") == 1
    assert _delta(s1, s2, "cache.misses") == 0
    assert _delta(s1, s2, "upstream.queries") == 0
    # Both counted as queries, by type and by rcode.
    for key in (
        "queries.total",
        "queries.udp",
        "queries.by_type.MX",
        "queries.by_rcode.NOERROR",
        "latency_us.count",
    ):
        assert _delta(s0, s2, key) == 2, key
    # The chaser's own lookups are not client queries.
    for key in (
        "queries.tcp",
        "queries.by_type.A",
        "queries.by_type.AAAA",
        "queries.by_rcode.SERVFAIL",
    ):
        assert _delta(s0, s2, key) == 0, key


def test_latency_percentiles_ordered(start_mxcached, testnet):
    res = start_mxcached()
    client = Client(res, testnet)
    for name in ("yada123.com", "mx1.yada123.com", "yada123.com", "mx2.mailhost.net"):
        client.query(name, "A")
    s = res.stats()
    assert s["latency_us.count"] == 4
    for key in ("latency_us.p50", "latency_us.p90", "latency_us.p99", "latency_us.max"):
        assert isinstance(s[key], int) and s[key] >= 0, key
    assert s["latency_us.max"] > 0
    assert (
        s["latency_us.p50"] <= s["latency_us.p90"] <= s["latency_us.p99"] <= s["latency_us.max"]
    ), s


def test_stats_reset_zeroes_counters_not_cache(start_mxcached, testnet):
    res = start_mxcached(*NO_INBOUND)
    client = Client(res, testnet)
    client.query("yada123.com", "TXT")
    client.query("yada123.com", "TXT")
    before = res.stats()
    assert before["queries.total"] == 2 and before["cache.hits"] == 1

    assert res.control_request({"cmd": "stats_reset"}) == {"ok": True}
    after = res.stats()
    for key in (
        "queries.total",
        "queries.by_type.TXT",
        "queries.by_rcode.NOERROR",
        "cache.hits",
        "cache.misses",
        "upstream.queries",
        "latency_us.count",
        "latency_us.max",
    ):
        assert after[key] == 0, key
    # The cache itself is kept: the next query is a hit.
    assert after["cache.entries"] == before["cache.entries"] == 1
    client.query("yada123.com", "TXT")
    assert res.stats()["cache.hits"] == 1


# --------------------------------------------------------------- flush and dump


def test_flush_all_empties_cache(start_mxcached, testnet):
    res = start_mxcached(*NO_INBOUND)
    client = Client(res, testnet)
    for name, rdtype in (
        ("yada123.com", "TXT"),
        ("mx1.yada123.com", "A"),
        ("mx2.mailhost.net", "AAAA"),
    ):
        client.query(name, rdtype)
    assert res.stats()["cache.entries"] == 3

    assert res.control_request({"cmd": "flush"}) == {"ok": True, "removed": 3}
    s1 = res.stats()
    assert s1["cache.entries"] == 0 and s1["cache.bytes"] == 0
    assert dump_cache(res) == []

    r = client.query("yada123.com", "TXT")
    assert rrset_of(r, "yada123.com.", "TXT") is not None
    s2 = res.stats()
    assert _delta(s1, s2, "upstream.queries") == 1, "flushed answer still served"
    assert _delta(s1, s2, "cache.misses") == 1


def test_flush_name_removes_only_that_name(start_mxcached, testnet):
    res = start_mxcached(*NO_INBOUND)
    client = Client(res, testnet)
    client.query("yada123.com", "TXT")
    client.query("yada123.com", "TXT", do=True)  # a second key: DO set
    client.query("yada123.com", "A")  # NODATA, cached as well
    client.query("mx1.yada123.com", "A")
    assert len(dumped(dump_cache(res), "yada123.com.")) == 3

    # Any letter case, no final dot: the same name.
    answer = res.control_request({"cmd": "flush", "name": "YaDa123.COM"})
    assert answer == {"ok": True, "removed": 3}
    entries = dump_cache(res)
    assert dumped(entries, "yada123.com.") == []
    assert len(dumped(entries, "mx1.yada123.com.", "A")) == 1, "a subdomain was flushed"


@pytest.mark.parametrize("rdtype", ["MX", 15])
def test_flush_name_and_type(start_mxcached, testnet, rdtype):
    res = start_mxcached()
    client = Client(res, testnet)
    client.query("yada123.com", "MX")
    client.query("yada123.com", "MX", do=True)
    client.query("yada123.com", "TXT")

    answer = res.control_request({"cmd": "flush", "name": "yada123.com.", "type": rdtype})
    assert answer == {"ok": True, "removed": 2}
    entries = dump_cache(res)
    assert dumped(entries, "yada123.com.", "MX") == []
    assert len(dumped(entries, "yada123.com.", "TXT")) == 1


def test_dump_lists_entry_with_aged_ttl(start_mxcached, testnet):
    res = start_mxcached(*NO_INBOUND)
    client = Client(res, testnet)
    client.query("yada123.com", "TXT")
    client.query("onlya.yada123.com", "AAAA")  # NODATA: cached too (RFC 2308)
    entries = dump_cache(res)
    assert len(entries) == 2
    (txt,) = dumped(entries, "yada123.com.", "TXT")
    assert 0 < txt["ttl"] <= AUTH_TTL
    assert txt["rcode"] == dns.rcode.NOERROR and txt["bytes"] > 0
    assert txt["do"] is False and txt["cd"] is False and txt["secure"] is False
    (nodata,) = dumped(entries, "onlya.yada123.com.", "AAAA")
    assert 0 < nodata["ttl"] <= 300, "negative TTL above the SOA minimum"
    # Most recently used first; the limit cuts the list, not the total.
    limited = res.control_request({"cmd": "dump", "limit": 1})
    assert limited["total"] == 2 and limited["truncated"] is True
    assert [e["name"] for e in limited["entries"]] == [nodata["name"]]


# --------------------------------------------------------------- bad requests

BAD_REQUESTS = {
    "invalid-json": b'{"cmd": "stats"',
    "json-array": b'["stats"]',
    "json-string": b'"stats"',
    "missing-cmd": b'{"limit": 5}',
    "cmd-not-string": b'{"cmd": 5}',
    "unknown-cmd": b'{"cmd": "reboot"}',
    "wrong-arg-type": b'{"cmd": "dump", "limit": "x"}',
    "negative-limit": b'{"cmd": "dump", "limit": -1}',
    "histograms-not-bool": b'{"cmd": "stats", "histograms": "yes"}',
    "unknown-arg": b'{"cmd": "ping", "verbose": true}',
    "type-without-name": b'{"cmd": "flush", "type": "MX"}',
    "bad-flush-type": b'{"cmd": "flush", "name": "yada123.com", "type": "NOPE"}',
    "duplicate-key": b'{"cmd": "ping", "cmd": "stats"}',
    "line-100k": b'{"cmd": "ping", "pad": "' + b"x" * (100 * 1024) + b'"}',
    "binary-nul": bytes(range(0, 10)) + b"\x00\xff\xfe{\x00}" + bytes(range(11, 256)),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_request_gets_error_and_connection_stays(resolver, case):
    line = BAD_REQUESTS[case]
    assert b"\n" not in line
    with resolver.control_connection() as conn:
        conn.send(line + b"\n")
        answer = conn.read_answer()
        assert set(answer) == {"error"}, answer
        assert isinstance(answer["error"], str) and answer["error"]
        # One answer per request line, and the same connection still works.
        assert conn.request({"cmd": "ping"}) == {"pong": True}


def test_requests_pipelined_on_one_connection(resolver):
    """Several request lines in one write: one answer each, in order."""
    with resolver.control_connection() as conn:
        conn.send(b'{"cmd": "ping"}\n{"cmd": "nope"}\n{"cmd": "stats"}\n{"cmd": "help"}\n')
        assert conn.read_answer() == {"pong": True}
        assert "error" in conn.read_answer()
        assert "queries.total" in conn.read_answer()
        assert {"ping", "stats", "stats_reset", "flush", "dump"} <= set(
            conn.read_answer()["commands"]
        )


# --------------------------------------------------------------- many clients


def test_fifty_clients_at_once(resolver):
    conns = []
    try:
        for _ in range(50):
            conns.append(ControlConnection(resolver.control))
        for conn in conns:
            conn.send(b'{"cmd": "stats"}\n')
        for conn in conns:
            answer = conn.read_answer()
            assert "error" not in answer
            assert isinstance(answer["queries.total"], int)
            assert isinstance(answer["cache.entries"], int)
    finally:
        for conn in conns:
            conn.close()


def test_client_that_never_reads_does_not_block_others(resolver):
    hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        hog.settimeout(TIMEOUT)
        hog.connect(resolver.control)
        hog.setblocking(False)
        # Requests until the daemon stops taking them, its answers piling up
        # unread on our side (or until it cuts us off, which is fair too).
        request = b'{"cmd": "stats", "histograms": true}\n' * 256
        sent = 0
        while sent < 64 * 1024 * 1024:
            try:
                sent += hog.send(request)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        assert sent > 0
        with resolver.control_connection() as other:
            assert other.request({"cmd": "ping"}) == {"pong": True}
            assert "queries.total" in other.request({"cmd": "stats"})
    finally:
        hog.close()
    # And DNS was never held up either.
    reply = dns.query.udp(
        make_query("mx1.yada123.com", "A"), resolver.addr, port=resolver.port, timeout=TIMEOUT
    )
    assert reply.rcode() == dns.rcode.NOERROR


# --------------------------------------------------------------- the socket file


def test_socket_file_mode_0660(resolver):
    st = os.lstat(resolver.control)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(stat.S_IMODE(st.st_mode))


def test_stale_socket_replaced(start_mxcached):
    path = start_mxcached.control_path()
    crashed = start_mxcached(control=path)
    start_mxcached.kill(crashed)
    # The crash left the file behind, and nobody answers on it.
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    with pytest.raises(ConnectionRefusedError):
        ControlConnection(path)

    res = start_mxcached(control=path)
    assert res.control_request({"cmd": "ping"}) == {"pong": True}
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o660


def test_second_daemon_refuses_live_socket(start_mxcached):
    live = start_mxcached()
    ended = start_mxcached.expect_exit(control=live.control)
    assert ended.returncode != 0
    assert live.control in ended.stderr, ended.stderr
    # The live daemon keeps its socket.
    assert live.control_request({"cmd": "ping"}) == {"pong": True}


def test_control_answers_are_single_json_lines(resolver):
    """Each answer is one line of JSON (no pretty-printing that a line-based
    client would split)."""
    with resolver.control_connection() as conn:
        conn.send(b'{"cmd": "stats", "histograms": true}\n')
        line = conn.read_line()
    answer = json.loads(line)
    hist = answer["histograms"]["latency_us"]
    assert len(hist["le"]) == len(hist["count"])
    assert sum(hist["count"]) == hist["total"] == answer["latency_us.count"]
