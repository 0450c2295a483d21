"""Limits and timing: TCP idle timeout and connection cap, coalescing of
identical questions, the per-query deadline, and the cache's byte bound and
expiry. (TCP answer ordering is in test_protocol.py.)

Most tests start a daemon of their own with the flag under test, so their
counters start at zero and no other test's queries get in the way.
"""

import socket
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from helpers import (
    TIMEOUT,
    Client,
    make_query,
    peer_closed,
    rrset_of,
    tcp_frame,
    tcp_read_message,
    wait_for_stats,
)

pytestmark = pytest.mark.mxcache_only


def _assert_answers(client, name="mx1.yada123.com.", rdtype="A"):
    r = client.query(name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR
    assert rrset_of(r, name, rdtype) is not None, r


# --------------------------------------------------------------- TCP


def test_tcp_idle_connection_closed(start_mxcached, testnet):
    res = start_mxcached("--tcp-idle-timeout", "300")
    addr = (res.addr, res.port)
    with socket.create_connection(addr, timeout=TIMEOUT) as idle:
        t0 = time.monotonic()
        assert peer_closed(idle), "data on a connection that never asked anything"
        never_asked = time.monotonic() - t0
    with socket.create_connection(addr, timeout=TIMEOUT) as used:
        used.sendall(tcp_frame(make_query("mx1.yada123.com", "A")))
        assert tcp_read_message(used).rcode() == dns.rcode.NOERROR
        t0 = time.monotonic()
        assert peer_closed(used)
        after_answer = time.monotonic() - t0
    for elapsed in (never_asked, after_answer):
        assert 0.2 <= elapsed <= 1.0, f"closed after {elapsed:.3f}s (timeout 300 ms)"
    assert res.stats()["tcp.timeouts"] == 2


def test_tcp_connection_cap(start_mxcached, testnet):
    res = start_mxcached("--tcp-max-connections", "5")
    addr = (res.addr, res.port)
    held = []
    try:
        for i in range(5):
            s = socket.create_connection(addr, timeout=TIMEOUT)
            held.append(s)
            s.sendall(tcp_frame(make_query("mx1.yada123.com", "A", id=0x0C00 + i)))
            r = tcp_read_message(s)
            assert r is not None and r.id == 0x0C00 + i
        # The sixth is accepted by the kernel, then closed by the daemon at once.
        with socket.create_connection(addr, timeout=TIMEOUT) as sixth:
            t0 = time.monotonic()
            assert peer_closed(sixth), "a sixth connection was served"
            assert time.monotonic() - t0 < 0.5, "the sixth connection was left hanging"
        # UDP is not affected, nor are the five connections.
        _assert_answers(Client(res, testnet))
        for i, s in enumerate(held):
            s.sendall(tcp_frame(make_query("mx1.yada123.com", "A", id=0x0D00 + i)))
            assert tcp_read_message(s).id == 0x0D00 + i
        s = res.stats()
        assert s["tcp.rejected"] == 1 and s["tcp.accepted"] == 5

        # A slot freed (the daemon closed its side: it has seen the EOF) can
        # be taken again.
        held[0].shutdown(socket.SHUT_WR)
        assert peer_closed(held[0])
        with socket.create_connection(addr, timeout=TIMEOUT) as again:
            again.sendall(tcp_frame(make_query("mx1.yada123.com", "A", id=0x0E00)))
            r = tcp_read_message(again)
            assert r is not None and r.id == 0x0E00, "freed slot not reusable"
        assert res.stats()["tcp.rejected"] == 1
    finally:
        for s in held:
            s.close()


def test_tcp_connection_awaiting_answer_is_not_idle(start_mxcached, testnet):
    """A connection whose query is still being resolved is quiet, not idle:
    it gets its (SERVFAIL) answer at the 1 s deadline, not a close at 300 ms."""
    res = start_mxcached("--tcp-idle-timeout", "300", "--query-timeout", "1000")
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(tcp_frame(make_query("idle.dead123.com", "A", id=0x1D1E)))
        r = tcp_read_message(s)
        assert r is not None, "closed while a query was pending"
        assert r.id == 0x1D1E and r.rcode() == dns.rcode.SERVFAIL
        assert peer_closed(s), "not closed once idle after the answer"
    assert res.stats()["tcp.timeouts"] == 1


def test_tcp_pipeline_beyond_pending_limit(start_mxcached, testnet):
    """200 queries in one write on one connection, more than the daemon
    holds in flight per connection at once: it reads on as answers go out,
    and every query is answered."""
    res = start_mxcached()
    queries = [make_query(f"h{i:03d}.yada123.com", "A", id=i) for i in range(1, 201)]
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(b"".join(tcp_frame(q) for q in queries))
        answered = {}
        for _ in queries:
            r = tcp_read_message(s)
            assert r is not None, f"closed after {len(answered)} answers"
            answered[r.id] = r
    assert sorted(answered) == [q.id for q in queries]
    for q in queries:
        name = q.question[0].name
        assert rrset_of(answered[q.id], name, "A") is not None, name


# --------------------------------------------------------------- coalescing


def test_identical_queries_share_one_lookup(start_mxcached, testnet):
    """20 clients ask the same uncached question at once: one upstream lookup,
    the 19 others join it, everyone gets the answer."""
    res = start_mxcached()  # cold: the lookup recurses from the root
    name = "h150.yada123.com."
    before = res.stats()
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(20)]
    try:
        queries = [make_query(name, "A", id=0x3000 + i) for i in range(20)]
        wires = [q.to_wire() for q in queries]
        for s, wire in zip(socks, wires):
            s.settimeout(TIMEOUT)
            s.sendto(wire, (res.addr, res.port))
        for s, q in zip(socks, queries):
            r = dns.message.from_wire(s.recv(65535))
            assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
            assert rrset_of(r, name, "A") is not None
    finally:
        for s in socks:
            s.close()
    after = res.stats()
    assert after["upstream.queries"] - before["upstream.queries"] == 1
    assert after["upstream.coalesced"] - before["upstream.coalesced"] == 19
    assert after["queries.total"] - before["queries.total"] == 20
    assert after["cache.misses"] - before["cache.misses"] == 20


def test_max_inflight_overflow_is_servfail(start_mxcached, testnet):
    """With room for one upstream lookup, a second distinct question asked
    meanwhile gets SERVFAIL at once instead of queueing without bound."""
    res = start_mxcached("--max-inflight", "1", "--query-timeout", "1000")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, socket.socket(
        socket.AF_INET, socket.SOCK_DGRAM
    ) as b:
        a.settimeout(TIMEOUT)
        b.settimeout(TIMEOUT)
        a.sendto(make_query("full.dead123.com", "A", id=1).to_wire(), (res.addr, res.port))
        t0 = time.monotonic()
        b.sendto(make_query("h001.yada123.com", "A", id=2).to_wire(), (res.addr, res.port))
        rb = dns.message.from_wire(b.recv(65535))
        assert rb.id == 2 and rb.rcode() == dns.rcode.SERVFAIL
        assert time.monotonic() - t0 < 0.5, "the overflow waited"
        ra = dns.message.from_wire(a.recv(65535))
        assert ra.id == 1 and ra.rcode() == dns.rcode.SERVFAIL  # dead123: the deadline
    assert res.stats()["upstream.overflow"] == 1


# --------------------------------------------------------------- deadline


def test_dead_servers_servfail_at_deadline(start_mxcached, testnet):
    """dead123.com.'s only name server never answers: with --query-timeout
    1000 the client gets SERVFAIL after about a second, and others are served
    meanwhile."""
    res = start_mxcached("--query-timeout", "1000")
    client = Client(res, testnet)
    q = make_query("www.dead123.com", "A", id=0xDEAD)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT)
        t0 = time.monotonic()
        s.sendto(q.to_wire(), (res.addr, res.port))
        # While that lookup hangs, other names are answered at once.
        _assert_answers(client)
        assert time.monotonic() - t0 < 0.5, "blocked behind the dead lookup"
        r = dns.message.from_wire(s.recv(65535))
        elapsed = time.monotonic() - t0
    assert r.id == 0xDEAD and r.rcode() == dns.rcode.SERVFAIL
    assert r.question[0].name == q.question[0].name
    assert 0.95 <= elapsed <= 1.5, f"SERVFAIL after {elapsed:.3f}s (deadline 1 s)"
    st = res.stats()
    assert st["upstream.timeouts"] == 1 and st["queries.by_rcode.SERVFAIL"] == 1
    _assert_answers(client, "yada123.com.", "TXT")


def test_joined_client_gets_its_own_deadline(start_mxcached, testnet):
    """Clients that join a hanging lookup later each wait their own full
    timeout, not the first client's."""
    res = start_mxcached("--query-timeout", "1000")
    dest = (res.addr, res.port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first, socket.socket(
        socket.AF_INET, socket.SOCK_DGRAM
    ) as second:
        first.settimeout(TIMEOUT)
        second.settimeout(TIMEOUT)
        t_first = time.monotonic()
        first.sendto(make_query("join.dead123.com", "A", id=1).to_wire(), dest)
        time.sleep(0.5)  # the behaviour under test is timing: join half-way
        t_second = time.monotonic()
        second.sendto(make_query("join.dead123.com", "A", id=2).to_wire(), dest)
        r1 = dns.message.from_wire(first.recv(65535))
        d1 = time.monotonic() - t_first
        r2 = dns.message.from_wire(second.recv(65535))
        d2 = time.monotonic() - t_second
    assert r1.rcode() == r2.rcode() == dns.rcode.SERVFAIL
    assert 0.95 <= d1 <= 1.5 and 0.95 <= d2 <= 1.5, (d1, d2)
    s = res.stats()
    assert s["upstream.queries"] == 1 and s["upstream.coalesced"] == 1
    assert s["upstream.timeouts"] == 2


# --------------------------------------------------------------- cache bound and expiry


def test_cache_stays_within_its_byte_bound(start_mxcached, testnet):
    # One of these answers costs about 220 bytes with the entry's overhead:
    # 32 KiB holds about half of the 300 names.
    res = start_mxcached("--cache-size", "32k")
    client = Client(res, testnet)
    names = [f"h{i:03d}.yada123.com." for i in range(1, 301)]
    for name in names:
        r = client.query(name, "A")
        assert rrset_of(r, name, "A") is not None, name
    s = res.stats()
    assert s["cache.max_bytes"] == 32 * 1024
    assert 0 < s["cache.bytes"] <= s["cache.max_bytes"]
    assert s["cache.evictions"] > 0, s
    # Every answer was stored once; what is not there was evicted.
    assert s["cache.entries"] + s["cache.evictions"] == len(names)

    # Least recently used out first: the last name is a hit, the first one
    # has to be fetched again.
    client.query(names[-1], "A")
    s1 = res.stats()
    assert s1["cache.hits"] - s["cache.hits"] == 1
    assert s1["upstream.queries"] == s["upstream.queries"]
    r = client.query(names[0], "A")
    assert rrset_of(r, names[0], "A") is not None
    s2 = res.stats()
    assert s2["upstream.queries"] - s1["upstream.queries"] == 1
    assert s2["cache.bytes"] <= s2["cache.max_bytes"]


def test_expired_entry_swept(start_mxcached, testnet):
    """short.yada123.com. has a 2 s TTL: the daemon drops it once it expires,
    without being asked for it again."""
    res = start_mxcached()
    client = Client(res, testnet)
    r = client.query("short.yada123.com.", "A")
    stored = time.monotonic()
    assert rrset_of(r, "short.yada123.com.", "A").ttl <= 2
    s0 = res.stats()
    assert s0["cache.entries"] == 1 and s0["cache.expired"] == 0
    s1 = wait_for_stats(res, lambda s: s["cache.expired"] > 0, timeout=5.0)
    assert time.monotonic() - stored >= 1.5, "expired before its TTL was up"
    assert s1["cache.expired"] == 1 and s1["cache.entries"] == 0
    assert res.control_request({"cmd": "dump"})["entries"] == []
