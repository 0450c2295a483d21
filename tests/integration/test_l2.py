"""The shared cache tier (--redis): relays of a fleet share one warm cache
through a real redis-server (redis_server.py, on a unix socket, no
persistence). A name one relay resolved is answered by another without
recursion, with TTLs aged by the time since it was stored; Redis killed,
stalled or black-holed changes nothing a client sees but latency bounded
by --redis-timeout; forged or corrupted values are refused, counted and
deleted; validated status travels only under the secret."""

import hashlib
import hmac
import os
import re
import signal
import time

import dns.flags
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

import redis_server
from promtext import parse_prometheus
from helpers import Client, instrumented, rrset_of, wait_for, wait_for_stats
from redis_server import BlackHole, RedisServer

pytestmark = [
    pytest.mark.mxcache_only,
    pytest.mark.skipif(not redis_server.available(), reason="redis-server is not installed"),
]

SECRET = b"one secret for the whole test fleet"
# Generous where a test wants hits (valgrind is slow); the failure tests
# set their own.
SHARE_TIMEOUT_MS = "3000"


@pytest.fixture
def redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("rd"))
    yield server
    server.close()


@pytest.fixture
def secret_file(tmp_path):
    p = tmp_path / "fleet.secret"
    p.write_bytes(SECRET + b"\n")
    p.chmod(0o600)
    return str(p)


def relay(start_mxcached, addr, *extra, secret=None, timeout_ms=SHARE_TIMEOUT_MS, up=True):
    """A daemon of the fleet; returns once its Redis connection is up."""
    flags = ["--redis", addr, "--redis-timeout", timeout_ms]
    if secret:
        flags += ["--redis-secret", secret]
    res = start_mxcached(*flags, *extra)
    if up:
        wait_for_stats(res, lambda s: s["l2.up"] == 1, 15)
    return res


def key_name(name: str, rdtype: str, flags: int = 0, secret: bytes = SECRET) -> bytes:
    """The key a relay uses (l2value.h): a keyed hash of the question."""
    wire = dns.name.from_text(name).canonicalize().to_wire()
    q = wire + dns.rdatatype.from_text(rdtype).to_bytes(2, "big") + b"\x00\x01" + bytes([flags])
    return b"mxc1:" + hmac.new(secret, b"key" + q, hashlib.sha256).hexdigest()[:32].encode()


def idle(res, timeout=10.0) -> dict:
    """Once no lookup runs: none in recursion, none waiting on Redis."""
    return wait_for_stats(
        res,
        lambda s: s["upstream.in_flight"] == 0 and s["upstream.distinct_in_flight"] == 0,
        timeout,
    )


def settled(res, redis) -> dict:
    """Once res has nothing in flight and every write it sent is in Redis
    (each of its answers went to a key of its own)."""
    stats = idle(res)
    wait_for(redis.keys, lambda k: len(k) >= stats["l2.stores"], 10, "writes in Redis")
    return stats


def first_ttl(msg, name, rdtype) -> int:
    return rrset_of(msg, name, rdtype).ttl


def flush(res, name):
    assert res.control_request({"cmd": "flush", "name": name}).get("ok") is True


def test_second_relay_answers_from_redis_with_aged_ttls(start_mxcached, redis, secret_file, testnet):
    """Relay A resolves an MX (its chaser the exchangers' addresses); relay
    B then answers all of it from Redis: no recursion at all, TTLs aged by
    the time since A stored them, and B's chaser runs on the shared MX."""
    a = relay(start_mxcached, redis.addr, secret=secret_file)
    b = relay(start_mxcached, redis.addr, secret=secret_file)
    hosts = ["mxa.chase.yada123.com.", "mxb.chase.yada123.com."]
    ra = Client(a, testnet).query("chase.yada123.com", "MX")
    expected = [key_name("chase.yada123.com", "MX")] + [
        key_name(h, t) for h in hosts for t in ("A", "AAAA")
    ]
    wait_for(redis.keys, lambda k: set(expected) <= set(k), 10, "A's answers in Redis")
    stored = time.monotonic()
    sa = idle(a)
    assert sa["l2.stores"] >= 5
    b0 = b.stats()
    # Age shows in whole seconds: wait for one to pass (only the clock says).
    wait_for(time.monotonic, lambda t: t - stored >= 1.2, 5, "a second of age")
    cb = Client(b, testnet)
    rb = cb.query("chase.yada123.com", "MX")
    assert rb.rcode() == dns.rcode.NOERROR
    assert rrset_of(rb, "chase.yada123.com.", "MX") == rrset_of(ra, "chase.yada123.com.", "MX")
    aged = first_ttl(ra, "chase.yada123.com.", "MX") - first_ttl(rb, "chase.yada123.com.", "MX")
    assert 1 <= aged <= 4, aged
    for h in hosts:
        for t in ("A", "AAAA"):
            r = cb.query(h, t)
            assert rrset_of(r, h, t) is not None, r
            assert first_ttl(r, h, t) <= 3600 - 1
    b1 = idle(b)
    assert b1["upstream.queries"] == b0["upstream.queries"], "B recursed"
    assert b1["l2.hits"] - b0["l2.hits"] == 5  # the MX and the chaser's four
    assert b1["mx_chaser.mx_answers"] - b0["mx_chaser.mx_answers"] == 1
    assert b1["l2.rejected"] == 0
    assert b1["latency_l2_us.count"] >= 5
    # The same in mxcache-ctl's summary and in Prometheus.
    summary = b.ctl("stats")
    assert summary.returncode == 0, summary.stderr
    assert re.search(rf"shared \(l2\)\s+up 1\s+hits {b1['l2.hits']}\b", summary.stdout), summary.stdout
    families = parse_prometheus(b.ctl("--prometheus", "stats").stdout)
    assert families["mxcache_l2_up"]["type"] == "gauge"
    assert families["mxcache_l2_hits_total"]["samples"][0][2] == b1["l2.hits"]
    hist = families["mxcache_latency_l2_seconds"]
    assert hist["type"] == "histogram"
    count = [v for name, _, v in hist["samples"] if name == "mxcache_latency_l2_seconds_count"]
    assert count == [b1["latency_l2_us.count"]]


def test_keys_carry_ttls_and_no_names(start_mxcached, redis, secret_file, testnet):
    """Every key expires with its answer (plus the stale window with
    serve-stale), and key names give no name away (values hold the answer
    message in clear: the MAC protects it, nothing hides it)."""
    a = relay(start_mxcached, redis.addr, "--mx-chase", "no", secret=secret_file)
    s = relay(
        start_mxcached,
        redis.addr,
        "--mx-chase",
        "no",
        "--serve-stale",
        "yes",
        "--stale-max-age",
        "500",
        secret=secret_file,
    )
    Client(a, testnet).query("mxa.chase.yada123.com", "A")
    Client(s, testnet).query("mxb.chase.yada123.com", "A")
    ka, ks = key_name("mxa.chase.yada123.com", "A"), key_name("mxb.chase.yada123.com", "A")
    wait_for(redis.keys, lambda k: {ka, ks} <= set(k), 10, "both answers in Redis")
    assert 3590 <= redis.command("TTL", ka) <= 3600
    assert 3600 + 490 <= redis.command("TTL", ks) <= 3600 + 500
    for k in redis.keys():
        assert b"yada123" not in k and b"chase" not in k


def test_negative_answers_are_shared(start_mxcached, redis, secret_file, testnet):
    a = relay(start_mxcached, redis.addr, secret=secret_file)
    b = relay(start_mxcached, redis.addr, secret=secret_file)
    ra = Client(a, testnet).query("nothere.yada123.com", "A")
    assert ra.rcode() == dns.rcode.NXDOMAIN
    rn = Client(a, testnet).query("mxa.chase.yada123.com", "TXT")  # NODATA
    assert rn.rcode() == dns.rcode.NOERROR and not rn.answer
    keys = [key_name("nothere.yada123.com", "A"), key_name("mxa.chase.yada123.com", "TXT")]
    settled(a, redis)
    assert set(keys) <= set(redis.keys())
    ttl = redis.command("TTL", keys[0])
    assert 0 < ttl <= 300  # the SOA MINIMUM (RFC 2308), not the SOA's TTL
    b0 = b.stats()
    rb = Client(b, testnet).query("nothere.yada123.com", "A")
    assert rb.rcode() == dns.rcode.NXDOMAIN and rb.authority
    rbn = Client(b, testnet).query("mxa.chase.yada123.com", "TXT")
    assert rbn.rcode() == dns.rcode.NOERROR and not rbn.answer and rbn.authority
    b1 = idle(b)
    assert b1["upstream.queries"] == b0["upstream.queries"]
    assert b1["l2.hits"] - b0["l2.hits"] == 2


@pytest.mark.parametrize("with_secret", [False, True], ids=["no-secret", "secret"])
def test_validated_status_needs_the_secret(start_mxcached, redis, secret_file, testnet, with_secret):
    """A secure answer shared without a secret comes back without AD (anyone
    who can write to Redis could have written it); with the secret and the
    same trust anchor it keeps AD."""
    secret = secret_file if with_secret else None
    a = relay(start_mxcached, redis.addr, secret=secret)
    b = relay(start_mxcached, redis.addr, secret=secret)
    ra = Client(a, testnet).query("signed123.com", "MX", do=True)
    assert ra.flags & dns.flags.AD
    k = key_name("signed123.com", "MX", flags=1, secret=SECRET if with_secret else b"")
    settled(a, redis)  # the chaser's answers too: B's chaser asks for them
    assert k in redis.keys()
    b0 = b.stats()
    rb = Client(b, testnet).query("signed123.com", "MX", do=True)
    assert rrset_of(rb, "signed123.com.", "MX") is not None
    b1 = idle(b)
    assert b1["l2.hits"] - b0["l2.hits"] >= 1
    assert b1["upstream.queries"] == b0["upstream.queries"]
    assert bool(rb.flags & dns.flags.AD) == with_secret


def test_validating_relay_takes_nothing_from_another_anchor(start_mxcached, redis, secret_file, testnet):
    """A fleet member with the secret but no trust anchor stores what it
    did not validate, bogus data included; a validating relay does not
    take it as its own (it would hand out what its validator refuses):
    it recurses, and the bogus name is SERVFAIL there as without Redis."""
    lax = relay(start_mxcached, redis.addr, "--mx-chase", "no", "--trust-anchor", "none", secret=secret_file)
    strict = relay(start_mxcached, redis.addr, "--mx-chase", "no", secret=secret_file)
    name = "mx1.bogus123.com"
    rl = Client(lax, testnet).query(name, "A")
    assert rl.rcode() == dns.rcode.NOERROR and rrset_of(rl, name + ".", "A") is not None
    wait_for(redis.keys, lambda k: key_name(name, "A") in k, 10, "the lax relay's answer in Redis")
    s0 = strict.stats()
    rs = Client(strict, testnet).query(name, "A")
    s1 = idle(strict)
    assert rs.rcode() == dns.rcode.SERVFAIL, rs
    assert rrset_of(rs, name + ".", "A") is None, "bogus data handed out"
    assert s1["l2.hits"] == s0["l2.hits"]
    assert s1["upstream.queries"] - s0["upstream.queries"] >= 1


def test_poisoned_values_are_refused_counted_and_deleted(start_mxcached, redis, secret_file, testnet, tmp_path):
    """Garbage, one flipped byte, a sound value copied under another key and
    a value written without the secret: each is refused (l2.rejected), the
    client gets recursion's answer, and the key no longer holds the poison."""
    a = relay(start_mxcached, redis.addr, "--mx-chase", "no", secret=secret_file)
    b = relay(start_mxcached, redis.addr, "--mx-chase", "no", secret=secret_file)
    plain = relay(start_mxcached, redis.addr, "--mx-chase", "no")  # no secret
    name, other = "mxa.chase.yada123.com", "mxb.chase.yada123.com"
    k1, k2 = key_name(name, "A"), key_name(other, "A")
    ca = Client(a, testnet)
    ca.query(name, "A")
    ca.query(other, "A")
    Client(plain, testnet).query(name, "A")
    k_plain = key_name(name, "A", secret=b"")
    wait_for(redis.keys, lambda k: {k1, k2, k_plain} <= set(k), 10, "the answers in Redis")
    good, good2 = redis.command("GET", k1), redis.command("GET", k2)
    flipped = bytearray(good)
    flipped[len(flipped) // 2] ^= 0x01
    poisons = {
        "garbage": b"\x00garbage\xff" * 10,
        "flipped byte": bytes(flipped),
        "copied from another key": good2,
        "written without the secret": redis.command("GET", k_plain),
    }
    cb = Client(b, testnet)
    for what, poison in poisons.items():
        flush(b, name)
        redis.command("SET", k1, poison, "EX", 600)
        b0 = b.stats()
        r = cb.query(name, "A")
        assert r.rcode() == dns.rcode.NOERROR, what
        assert [rd.to_text() for rd in rrset_of(r, name + ".", "A")] == ["192.0.2.34"], what
        b1 = idle(b)
        assert b1["l2.rejected"] - b0["l2.rejected"] == 1, what
        assert b1["upstream.queries"] - b0["upstream.queries"] == 1, what
        wait_for(
            lambda: redis.command("GET", k1), lambda v: v != poison, 5, f"{what} deleted"
        )


def test_redis_killed_and_restarted(start_mxcached, redis, secret_file, testnet):
    """Redis lost mid-run: queries go on to recursion, no SERVFAIL, l2.up
    1 -> 0 -> 1, one log line per change of state (not per query)."""
    a = relay(start_mxcached, redis.addr, "--mx-chase", "no", secret=secret_file)
    ca = Client(a, testnet)
    redis.kill()
    wait_for_stats(a, lambda s: s["l2.up"] == 0, 10)
    names = ["mx1.yada123.com", "onlya.yada123.com"] + ["mxa.chase.yada123.com", "www.yada123.com"]
    s0 = a.stats()
    for n in names:
        r = ca.query(n, "A")
        assert r.rcode() == dns.rcode.NOERROR, (n, r)
    s1 = idle(a)
    assert s1["queries.by_rcode.SERVFAIL"] == s0["queries.by_rcode.SERVFAIL"]
    assert s1["upstream.queries"] - s0["upstream.queries"] >= len(names)
    redis.start()
    wait_for_stats(a, lambda s: s["l2.up"] == 1, 20)
    r = ca.query("mxb.chase.yada123.com", "A")
    assert r.rcode() == dns.rcode.NOERROR
    wait_for(redis.keys, lambda k: key_name("mxb.chase.yada123.com", "A") in k, 10, "stored again")
    log = a.stderr_text(400)
    assert len(re.findall(r"redis --redis \S+: down", log)) == 1, log
    assert len(re.findall(r"redis --redis \S+: connected", log)) == 2, log
    assert len(re.findall(r"cannot connect", log)) <= 1, log


def timed(client, name, rdtype) -> float:
    t0 = time.monotonic()
    r = client.query(name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR, (name, r)
    return time.monotonic() - t0


def test_stalled_redis_costs_at_most_the_timeout(start_mxcached, redis, secret_file, testnet):
    """Redis stops answering on an open connection (SIGSTOP): each lookup
    waits --redis-timeout, then recurses; no client sees more, none fails."""
    timeout_ms = 50
    a = relay(start_mxcached, redis.addr, "--mx-chase", "no", secret=secret_file, timeout_ms=str(timeout_ms))
    ca = Client(a, testnet)
    redis.pause()
    try:
        s0 = a.stats()
        took = [timed(ca, n, "A") for n in ("mx1.yada123.com", "onlya.yada123.com")]
        took += [timed(ca, n, "AAAA") for n in ("mxa.chase.yada123.com", "mxb.chase.yada123.com")]
        s1 = idle(a)
    finally:
        redis.resume()
    assert s1["l2.timeouts"] - s0["l2.timeouts"] == len(took)
    assert s1["queries.by_rcode.SERVFAIL"] == s0["queries.by_rcode.SERVFAIL"]
    print(f"stalled Redis ({timeout_ms} ms timeout): client latencies {[round(t * 1000, 1) for t in took]} ms")
    if not instrumented():
        # Recursion in the test hierarchy takes a few ms; the tier adds the timeout.
        assert max(took) < timeout_ms / 1000 + 0.5, took
        assert min(took) >= timeout_ms / 1000, took


def test_black_hole_never_delays_clients(start_mxcached, tmp_path_factory, testnet):
    """A server that accepts and never answers never gets to be "up" (its
    PING goes unanswered): lookups do not wait on it at all."""
    hole = BlackHole(tmp_path_factory.mktemp("bh"))
    try:
        a = relay(start_mxcached, hole.addr, "--mx-chase", "no", timeout_ms="20", up=False)
        assert hole.accepted.wait(10)
        ca = Client(a, testnet)
        took = [timed(ca, n, "A") for n in ("mx1.yada123.com", "onlya.yada123.com")]
        assert a.wait_for_log(r"no answer to PING", 10) is not None
        took += [timed(ca, "www.yada123.com", "A")]
        s = idle(a)
        assert s["l2.up"] == 0 and s["l2.hits"] == 0
        print(f"black-holed Redis: client latencies {[round(t * 1000, 1) for t in took]} ms")
        if not instrumented():
            assert max(took) < 0.02 + 0.5, took
    finally:
        hole.close()


def test_garbage_answers_never_reach_clients(start_mxcached, tmp_path_factory, testnet):
    """A server that answers PING, then garbage to GETs: the connection is
    dropped (l2.errors), the lookup recurses, the client gets its answer."""
    babbler = BlackHole(tmp_path_factory.mktemp("gb"), garbage=True)
    try:
        # A deadline long enough for the garbage to come first (valgrind).
        a = relay(start_mxcached, babbler.addr, "--mx-chase", "no")
        r = Client(a, testnet).query("mx1.yada123.com", "A")
        assert [rd.to_text() for rd in rrset_of(r, "mx1.yada123.com.", "A")] == ["192.0.2.10"]
        s = idle(a)
        assert babbler.gets >= 1
        assert s["l2.errors"] >= 1 and s["l2.hits"] == 0
        assert s["queries.by_rcode.SERVFAIL"] == 0
        assert a.wait_for_log(r"redis --redis \S+: down", 10) is not None
    finally:
        babbler.close()


def test_refusing_redis_is_never_used(start_mxcached, tmp_path_factory, testnet):
    """A Redis that refuses us (it wants AUTH): never up, the refusal is in
    the log once, lookups recurse."""
    locked = RedisServer(tmp_path_factory.mktemp("ra"), extra=["--requirepass", "not-ours"])
    try:
        a = relay(start_mxcached, locked.addr, "--mx-chase", "no", up=False)
        # Its NOAUTH is the reason given, unless the handshake's deadline
        # passed first (valgrind's slowdown): either way, one line.
        assert a.wait_for_log(r": cannot connect \(", 30) is not None
        r = Client(a, testnet).query("mx1.yada123.com", "A")
        assert r.rcode() == dns.rcode.NOERROR
        s = idle(a)
        assert s["l2.up"] == 0 and s["l2.hits"] == 0 and s["queries.by_rcode.SERVFAIL"] == 0
    finally:
        locked.close()


def test_secret_file_open_to_others_is_refused(start_mxcached, redis, tmp_path):
    p = tmp_path / "loose.secret"
    p.write_bytes(SECRET)
    p.chmod(0o644)
    ex = start_mxcached.expect_exit("--redis", redis.addr, "--redis-secret", str(p))
    assert ex.returncode != 0
    assert "chmod 600" in ex.stderr, ex.stderr
    fifo = tmp_path / "fifo.secret"
    os.mkfifo(fifo, 0o600)  # nobody writes to it: opening it must not hang the start
    ex = start_mxcached.expect_exit("--redis", redis.addr, "--redis-secret", str(fifo))
    assert ex.returncode != 0 and "not a regular file" in ex.stderr, ex.stderr
    ex = start_mxcached.expect_exit("--redis", "not an address")
    assert ex.returncode != 0 and "--redis" in ex.stderr, ex.stderr


def test_without_redis_the_keys_exist_as_zeros(resolver):
    s = resolver.stats()
    for k in ("hits", "misses", "stores", "errors", "timeouts", "rejected", "up"):
        assert s[f"l2.{k}"] == 0, k
    assert s["latency_l2_us.count"] == 0


def test_reads_from_a_replica_writes_to_the_primary(start_mxcached, tmp_path_factory, secret_file, testnet):
    """--redis-read: GETs go to a replica (here: a real one, replicating
    over loopback TCP), writes to the primary."""
    from helpers import free_port

    port = free_port()
    primary = RedisServer(tmp_path_factory.mktemp("rp"), port=port)
    replica = RedisServer(tmp_path_factory.mktemp("rr"), extra=["--replicaof", "127.0.0.1", str(port)])
    try:
        wait_for(
            lambda: replica.command("INFO", "replication"),
            lambda info: b"master_link_status:up" in info,
            15,
            "replication",
        )
        a = relay(start_mxcached, primary.addr, secret=secret_file)
        b = relay(start_mxcached, primary.addr, "--redis-read", replica.addr, secret=secret_file)
        wait_for_stats(b, lambda s: s["l2.read_up"] == 1, 15)
        Client(a, testnet).query("chase.yada123.com", "MX")
        settled(a, primary)
        wait_for(replica.keys, lambda k: len(k) >= len(primary.keys()), 10, "replicated")
        replica_gets = lambda: int(
            re.search(rb"cmdstat_get:calls=(\d+)", replica.command("INFO", "commandstats") + b"cmdstat_get:calls=0").group(1)
        )
        gets0 = replica_gets()
        b0 = b.stats()
        r = Client(b, testnet).query("chase.yada123.com", "MX")
        assert rrset_of(r, "chase.yada123.com.", "MX") is not None
        b1 = idle(b)
        assert b1["upstream.queries"] == b0["upstream.queries"]
        assert b1["l2.hits"] - b0["l2.hits"] == 5
        assert replica_gets() - gets0 == 5
    finally:
        replica.close()
        primary.close()


def test_sighup_moves_to_another_redis(start_mxcached, tmp_path_factory, secret_file, testnet, tmp_path):
    """A changed `redis` line takes effect on SIGHUP: the relay reconnects
    to the new server and writes there."""
    first = RedisServer(tmp_path_factory.mktemp("r1"))
    second = RedisServer(tmp_path_factory.mktemp("r2"))
    try:
        conf = tmp_path / "mxcached.conf"
        conf.write_text(f"redis {first.addr}\nredis-secret {secret_file}\nredis-timeout {SHARE_TIMEOUT_MS}\n")
        a = start_mxcached("-c", str(conf), "--mx-chase", "no")
        wait_for_stats(a, lambda s: s["l2.up"] == 1, 15)
        conf.write_text(f"redis {second.addr}\nredis-secret {secret_file}\nredis-timeout {SHARE_TIMEOUT_MS}\n")
        mark = len(a.stderr_lines)
        a.proc.send_signal(signal.SIGHUP)
        assert a.wait_for_log(rf"redis --redis {re.escape(second.addr)}: connected", 15, mark)
        Client(a, testnet).query("mxa.chase.yada123.com", "A")
        wait_for(second.keys, lambda k: key_name("mxa.chase.yada123.com", "A") in k, 10, "written to the new Redis")
        assert first.keys() == []
    finally:
        first.close()
        second.close()
