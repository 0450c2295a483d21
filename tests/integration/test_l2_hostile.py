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


def endless(header: bytes, item: bytes, count: int):
    """A GET answered with header then count items, sent as fast as they
    are read."""

    def answer(args, conn):
        chunk = item * (65536 // len(item))
        try:
            conn.sendall(header)
            for _ in range(count * len(item) // len(chunk)):
                conn.sendall(chunk)
        except OSError:
            pass

    return answer


@pytest.mark.parametrize(
    "answer,why",
    [
        # hiredis holds a bulk string whole until its last byte
        (endless(b"$500000000\r\n", b"x", 500000000), "a reply larger than any value"),
        # and builds an array's elements as they come
        (endless(b"*1000000000\r\n", b":1\r\n", 1000000000), "an array reply"),
    ],
    ids=["500 MB string", "array of a billion integers"],
)
def test_endless_reply_is_cut_off(start_mxcached, tmp_path_factory, testnet, answer, why):
    """hiredis keeps a bulk reply whole in memory until its last byte, and
    builds an array element by element: a reply past any value of ours,
    or an array (no command of ours is answered with one), drops the
    connection instead."""
    server, res = hostile(start_mxcached, tmp_path_factory, pong_then(answer))
    try:
        rss0 = rss_kib(res.proc.pid)
        r = Client(res, testnet).query("mx1.yada123.com", "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert res.wait_for_log(rf"redis --redis \S+: down \({why}\)", 30) is not None
        grew = rss_kib(res.proc.pid) - rss0
        print(f"endless reply ({why}): RSS grew by {grew} KiB")
        if not instrumented():
            assert grew < 16 * 1024, grew
        s = res.stats()
        assert s["l2.errors"] >= 1 and s["queries.by_rcode.SERVFAIL"] == 0
    finally:
        server.close()


def test_reply_for_another_question_is_refused(start_mxcached, tmp_path_factory, testnet, tmp_path):
    """A server out of step (or lying) answers every GET with the sound
    value of one question: for any other question it is refused (the
    stored question is not the one asked) and the client gets recursion's
    answer; for its own question it is a hit."""
    secret = tmp_path / "fleet.secret"
    secret.write_bytes(b"hostile test secret")
    secret.chmod(0o600)
    real = redis_server.RedisServer(tmp_path_factory.mktemp("rr"))
    try:
        a = start_mxcached("--redis", real.addr, "--redis-secret", str(secret), "--mx-chase", "no")
        wait_for_stats(a, lambda s: s["l2.up"] == 1, 15)
        Client(a, testnet).query("mx1.yada123.com", "A")
        values = wait_for(lambda: [real.command("GET", k) for k in real.keys()], lambda v: len(v) == 1, 10, "a value")
        value = values[0]
    finally:
        real.close()
    always = pong_then(lambda args, conn: b"$%d\r\n%s\r\n" % (len(value), value))
    server, b = hostile(start_mxcached, tmp_path_factory, always, "--redis-secret", str(secret))
    try:
        cb = Client(b, testnet)
        other = rrset_of(cb.query("onlya.yada123.com", "A"), "onlya.yada123.com.", "A")
        assert other is not None and "192.0.2.10" not in [rd.to_text() for rd in other]
        own = rrset_of(cb.query("mx1.yada123.com", "A"), "mx1.yada123.com.", "A")
        assert [rd.to_text() for rd in own] == ["192.0.2.10"]
        s = wait_for_stats(b, lambda s: s["upstream.in_flight"] == 0, 10)
        assert s["l2.rejected"] == 1 and s["l2.hits"] == 1, s
    finally:
        server.close()
