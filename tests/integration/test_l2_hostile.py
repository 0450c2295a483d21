"""The shared tier against a Redis that lies (redis_server.ScriptedRedis):
replies nobody asked for, replies that never end, shapes no command of
ours returns. The daemon neither crashes nor grows without bound; clients
get recursion's answers."""

import dns.rcode
import pytest

import redis_server
from helpers import Client, instrumented, rrset_of, rss_kib, wait_for, wait_for_stats
from redis_server import ScriptedRedis

pytestmark = [
    pytest.mark.mxcache_only,
    pytest.mark.skipif(not redis_server.available(), reason="redis-server is not installed"),
]


def pong_then(on_get):
    """PING answered as Redis does; GET by on_get; the rest: +OK."""

    def answer(args, conn):
        verb = args[0].upper()
        if verb == b"PING":
            return b"+PONG\r\n"
        if verb == b"GET":
            return on_get(args, conn)
        return b"+OK\r\n"

    return answer


def hostile(start_mxcached, tmp_path_factory, answer, *extra):
    server = ScriptedRedis(tmp_path_factory.mktemp("hr"), answer)
    res = start_mxcached("--redis", server.addr, "--redis-timeout", "200", "--mx-chase", "no", *extra)
    wait_for_stats(res, lambda s: s["l2.up"] == 1, 15)
    return server, res


def test_reply_nobody_asked_for_does_not_crash(start_mxcached, tmp_path_factory, testnet):
    """Two replies to one GET: the second has no request (hiredis asserts
    on such a reply unless the connection is subscribed)."""
    server, res = hostile(start_mxcached, tmp_path_factory, pong_then(lambda a, c: b"$-1\r\n+OK\r\n"))
    try:
        r = Client(res, testnet).query("mx1.yada123.com", "A")
        assert [rd.to_text() for rd in rrset_of(r, "mx1.yada123.com.", "A")] == ["192.0.2.10"]
        wait_for(lambda: server.count(b"GET"), lambda n: n >= 1, 10, "a GET")
        r = Client(res, testnet).query("onlya.yada123.com", "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert res.proc.poll() is None, res.stderr_text()
        assert res.wait_for_log(r"redis --redis \S+: down \(a reply to no request\)", 10) is not None
    finally:
        server.close()


def endless_bulk(args, conn):
    """A GET answered with a 500 MB string, sent as fast as it is read."""
    conn.sendall(b"$500000000\r\n")
    chunk = b"x" * 65536
    try:
        for _ in range(500000000 // len(chunk)):
            conn.sendall(chunk)
    except OSError:
        pass
    return None


def test_endless_reply_is_cut_off(start_mxcached, tmp_path_factory, testnet):
    """hiredis keeps a bulk reply whole in memory until its last byte: a
    reply past any value of ours drops the connection instead."""
    server, res = hostile(start_mxcached, tmp_path_factory, pong_then(endless_bulk))
    try:
        rss0 = rss_kib(res.proc.pid)
        r = Client(res, testnet).query("mx1.yada123.com", "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert res.wait_for_log(r"redis --redis \S+: down \(a reply larger than any value\)", 30) is not None
        grew = rss_kib(res.proc.pid) - rss0
        print(f"endless bulk reply: RSS grew by {grew} KiB")
        if not instrumented():
            assert grew < 16 * 1024, grew
        s = res.stats()
        assert s["l2.errors"] >= 1 and s["queries.by_rcode.SERVFAIL"] == 0
    finally:
        server.close()


def endless_array(args, conn):
    """A GET answered with an array of a billion integers, sent as fast as
    it is read: hiredis builds an object per element as they come."""
    conn.sendall(b"*1000000000\r\n")
    chunk = b":1\r\n" * 16384
    try:
        for _ in range(1000000000 // 16384):
            conn.sendall(chunk)
    except OSError:
        pass
    return None


def test_array_reply_is_refused(start_mxcached, tmp_path_factory, testnet):
    """No command of ours is answered with an array: one drops the
    connection before its elements are built."""
    server, res = hostile(start_mxcached, tmp_path_factory, pong_then(endless_array))
    try:
        rss0 = rss_kib(res.proc.pid)
        r = Client(res, testnet).query("mx1.yada123.com", "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert res.wait_for_log(r"redis --redis \S+: down \(an array reply\)", 30) is not None
        grew = rss_kib(res.proc.pid) - rss0
        print(f"endless array reply: RSS grew by {grew} KiB")
        if not instrumented():
            assert grew < 16 * 1024, grew
        assert res.stats()["queries.by_rcode.SERVFAIL"] == 0
    finally:
        server.close()
