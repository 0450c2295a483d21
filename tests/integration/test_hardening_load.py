"""Hardening under load: a flood of random names, TCP connection abuse,
pipelined TCP, and the per-client UDP rate limit (--ratelimit).

Each test starts a daemon of its own, so its counters start at zero. The
figures the floods reach (RSS, cache bytes, probe latency) are printed: run
with -s to see them.
"""

import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.rcode
import pytest

from helpers import (
    instrumented,
    rss_kib,
    TIMEOUT,
    make_query,
    read_waiting,
    rrset_of,
    tcp_frame,
    tcp_read_message,
    udp_socket,
    udp_taken,
    wait_for,
    wait_for_stats,
)

# "load": timing under heavy traffic means little under valgrind (make valgrind skips it).
pytestmark = [pytest.mark.mxcache_only, pytest.mark.load]

UDP_FLOOD = Path(__file__).with_name("udp_flood.py")
PROBE_NAME = "mx1.yada123.com."
PROBE_LIMIT = 0.100  # seconds: a cached answer during the abuse
RSS_LIMIT_KB = 150 * 1024


def _raise_nofile(needed: int):
    """Make room for `needed` descriptors in this process (and in the
    daemons it starts afterwards, which inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Prober:
    """Times one query at a time for a cached name, over UDP from a socket
    of its own: how long a mail server's lookup takes while others abuse
    the daemon."""

    def __init__(self, res, name: str = PROBE_NAME):
        self.dest = (res.addr, res.port)
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(1.0)
        self.latencies = []
        self.failures = []  # what went wrong, for the failure message

    def close(self):
        self.sock.close()

    def probe(self):
        q = make_query(self.name, "A")
        t0 = time.monotonic()
        self.sock.sendto(q.to_wire(), self.dest)
        try:
            while True:  # a late answer to an earlier probe is skipped
                r = dns.message.from_wire(self.sock.recv(65535))
                if r.id == q.id:
                    break
        except socket.timeout:
            self.failures.append(f"no answer within 1 s at {t0:.3f}")
            return
        self.latencies.append(time.monotonic() - t0)
        if r.rcode() != dns.rcode.NOERROR or rrset_of(r, self.name, "A") is None:
            self.failures.append(f"bad answer: {r}")

    def summary(self) -> str:
        lat = sorted(self.latencies) or [float("nan")]
        return (
            f"{len(self.latencies)} probes, p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
            f"max {lat[-1] * 1000:.1f} ms, {len(self.failures)} failed"
        )

    def check(self):
        assert self.latencies, "no probe was answered"
        assert not self.failures, f"{self.summary()}: {self.failures[:5]}"
        slow = [round(t * 1000, 1) for t in self.latencies if t >= PROBE_LIMIT]
        assert not slow, f"cached answers took {slow} ms ({self.summary()})"


# --------------------------------------------------------------- random-name flood

# zone: where the random names are; count, qps: how many queries, how fast.
# Both stay below what the daemon can take on a small machine, so that a slow
# probe means starvation, not plain overload of the host.
FLOODS = {
    # signed123.com. is signed: after the first NXDOMAIN libunbound
    # synthesizes the others from the cached NSEC records (RFC 8198), so
    # every query is a distinct cache insert answered at once.
    "nsec-synthesized": ("signed123.com", 200_000, 20_000),
    # yada123.com. is not: every name is a lookup at its server, and the
    # in-flight table is busy the whole time.
    "upstream": ("yada123.com", 50_000, 5_000),
}
FLOOD_SECONDS = 30  # hard bound of the flood program
INSTRUMENTED_SLOWDOWN = 4  # an instrumented daemon gets a quarter of the load


@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_random_name_flood(start_mxcached, testnet, flood):
    """A flood of random names under one zone (NXDOMAIN answers): the cache
    stays within its byte bound throughout, the daemon's memory stays
    bounded, and a cached name is answered quickly all along."""
    zone, count, qps = FLOODS[flood]
    why_slow = instrumented()
    if why_slow:
        count, qps = count // INSTRUMENTED_SLOWDOWN, qps // INSTRUMENTED_SLOWDOWN
    res = start_mxcached("--cache-size", "1m")
    prober = Prober(res)
    prober.probe()  # the probe's name is cached from here on
    samples = []  # (stats, rss in kB), about one a second
    flood_cmd = [sys.executable, str(UDP_FLOOD), res.addr, str(res.port), zone]
    proc = subprocess.Popen(
        flood_cmd + [str(count), str(FLOOD_SECONDS), "8", str(qps)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        next_sample = 0.0
        while proc.poll() is None:
            if time.monotonic() >= next_sample:
                samples.append((res.stats(), rss_kib(res.proc.pid)))
                next_sample = time.monotonic() + 1.0
            prober.probe()
            time.sleep(0.1)  # the probes' pace, not a synchronisation
        out, _ = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        prober.close()
    assert proc.returncode == 0, f"flood program failed: {out}"
    result = json.loads(out)
    samples.append((res.stats(), rss_kib(res.proc.pid)))

    max_bytes = samples[-1][0]["cache.max_bytes"]
    peak_bytes = max(s["cache.bytes"] for s, _ in samples)
    peak_rss = max(rss for _, rss in samples)
    final = samples[-1][0]
    print(
        f"\n{flood} flood ({zone}): sent {result['sent']} in {result['elapsed']} s, "
        f"answered {result['answered']} {result['rcodes']}; cache peak {peak_bytes} of "
        f"{max_bytes} bytes, {final['cache.entries']} entries, "
        f"{final['cache.evictions']} evictions; RSS peak {peak_rss / 1024:.1f} MiB "
        f"over {len(samples)} samples; probes: {prober.summary()}"
        + (f" ({why_slow}: no memory bound)" if why_slow else "")
    )
    assert result["sent"] == count, f"the flood was cut short: {result}"
    assert max_bytes == 1 << 20
    over = [(s["cache.bytes"], rss) for s, rss in samples if s["cache.bytes"] > max_bytes]
    assert not over, f"cache above its bound of {max_bytes} bytes: {over}"
    # The flood did fill the cache: the bound was what held it.
    assert peak_bytes > 0.9 * max_bytes and final["cache.evictions"] > 0, final
    # A sanitizer's shadow memory and quarantine are not the daemon's.
    assert why_slow or peak_rss < RSS_LIMIT_KB, f"RSS peaked at {peak_rss} kB"
    assert result["answered"] >= 0.9 * count, f"answers lost: {result}"
    # Past the zone's share of the in-flight table the flood gets SERVFAIL
    # by design (counted); everything else is the zone's own NXDOMAIN.
    capped = res.stats()["upstream.zone_capped"]
    nxdomain = result["rcodes"].get(str(int(dns.rcode.NXDOMAIN)), 0)
    assert nxdomain >= 0.9 * (result["answered"] - capped), (result, capped)
    prober.check()


# --------------------------------------------------------------- TCP abuse

TCP_CAP = 256
TCP_IDLE = 1.0  # seconds
TCP_CONNECTIONS = 2000


def _closed_by_peer(sock: socket.socket) -> bool:
    """For a readable socket: True if the peer closed it, False if data came."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_tcp_connection_flood(start_mxcached, testnet):
    """2000 connections that never send anything, against a cap of 256 and
    an idle timeout of 1 s: those beyond the cap are closed at once, the
    others after about a second, and UDP queries are answered normally the
    whole time."""
    _raise_nofile(TCP_CONNECTIONS + 256)
    res = start_mxcached(
        "--tcp-max-connections",
        str(TCP_CAP),
        "--tcp-idle-timeout",
        str(int(TCP_IDLE * 1000)),
    )
    prober = Prober(res)
    prober.probe()
    sel = selectors.DefaultSelector()
    opened = {}  # socket -> when its connect returned
    closed = {}  # socket -> seconds from connect to the daemon's close
    unexpected = []

    def collect(timeout: float):
        for key, _ in sel.select(timeout):
            s = key.fileobj
            if _closed_by_peer(s):
                closed[s] = time.monotonic() - opened[s]
            else:
                unexpected.append(s.getsockname())
            sel.unregister(s)

    try:
        t0 = time.monotonic()
        for i in range(TCP_CONNECTIONS):
            s = socket.create_connection((res.addr, res.port), timeout=TIMEOUT)
            opened[s] = time.monotonic()
            sel.register(s, selectors.EVENT_READ)
            collect(0)
            if i % 200 == 0:
                prober.probe()
        connect_phase = time.monotonic() - t0
        deadline = time.monotonic() + 2 * TCP_IDLE + 1.0
        next_probe = 0.0
        while len(closed) < len(opened) and time.monotonic() < deadline:
            collect(0.02)
            if time.monotonic() >= next_probe:
                prober.probe()
                next_probe = time.monotonic() + 0.05
    finally:
        sel.close()
        for s in opened:
            s.close()
        prober.close()

    at_once = sorted(t for t in closed.values() if t < 0.5)
    after_idle = sorted(t for t in closed.values() if t >= 0.5)
    st = res.stats()
    print(
        f"\nTCP flood: {TCP_CONNECTIONS} connections in {connect_phase:.2f} s; "
        f"{len(at_once)} closed at once, {len(after_idle)} after "
        f"{after_idle[0] if after_idle else 0:.2f}-{after_idle[-1] if after_idle else 0:.2f} s, "
        f"{len(opened) - len(closed)} left open; probes: {prober.summary()}"
    )
    assert not unexpected, f"data on connections that asked nothing: {unexpected[:5]}"
    assert len(closed) == TCP_CONNECTIONS, f"{TCP_CONNECTIONS - len(closed)} never closed"
    # All connections were made before the first idle close could free a
    # slot, so exactly the cap got in.
    assert connect_phase < TCP_IDLE, f"connecting took {connect_phase:.2f} s"
    assert st["tcp.accepted"] == TCP_CAP, st
    assert st["tcp.rejected"] == TCP_CONNECTIONS - TCP_CAP, st
    assert len(at_once) == TCP_CONNECTIONS - TCP_CAP
    assert len(after_idle) == TCP_CAP and st["tcp.timeouts"] == TCP_CAP
    assert 0.9 * TCP_IDLE <= after_idle[0] and after_idle[-1] <= 1.5 * TCP_IDLE, after_idle
    prober.check()
    # The slots are free again.
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(tcp_frame(make_query(PROBE_NAME, "A", id=0x7C9)))
        r = tcp_read_message(s)
        assert r is not None and r.id == 0x7C9 and r.rcode() == dns.rcode.NOERROR


def test_tcp_slow_senders_cannot_hold_the_slots(start_mxcached, testnet):
    """Clients that fill every TCP slot and dribble a query one byte every
    half second (faster than the 1 s idle timeout, so never idle, but never
    done either) must not keep other TCP clients out: a connection that has
    not delivered a whole query within the idle timeout is closed."""
    cap = 8
    res = start_mxcached("--tcp-max-connections", str(cap), "--tcp-idle-timeout", "1000")
    frame = tcp_frame(make_query(PROBE_NAME, "A"))  # about 35 bytes: 17 s at this pace
    slow = [socket.create_connection((res.addr, res.port), timeout=TIMEOUT) for _ in range(cap)]
    open_ = set(slow)
    sel = selectors.DefaultSelector()
    for s in slow:
        sel.register(s, selectors.EVENT_READ)
    try:
        end = time.monotonic() + 3 * 1.0  # three idle timeouts
        sent = 0
        while open_ and time.monotonic() < end:
            for s in list(open_):
                try:
                    s.send(frame[sent : sent + 1])
                except (BrokenPipeError, ConnectionResetError):
                    open_.discard(s)
            sent += 1
            pause_end = min(end, time.monotonic() + 0.5)  # the dribble's pace
            while open_ and time.monotonic() < pause_end:
                for key, _ in sel.select(max(0.0, pause_end - time.monotonic())):
                    assert _closed_by_peer(key.fileobj), "an answer to half a query"
                    sel.unregister(key.fileobj)
                    open_.discard(key.fileobj)
        # What another mail server sees now.
        with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
            s.sendall(tcp_frame(make_query(PROBE_NAME, "A", id=0x51)))
            try:
                r = tcp_read_message(s)
            except ConnectionResetError:
                r = None
        st = res.stats()
    finally:
        sel.close()
        for s in slow:
            s.close()
    assert r is not None and r.id == 0x51, (
        f"a new TCP client was turned away: after 3 s, {len(open_)} of {cap} connections "
        f"that sent {sent} bytes of a {len(frame)}-byte query one byte every 0.5 s still "
        f"hold their slots (tcp.timeouts {st['tcp.timeouts']}, "
        f"tcp.rejected {st['tcp.rejected']})"
    )
    assert not open_, f"{len(open_)} slow connections still open"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_tcp_descriptor_exhaustion_does_not_spin(start_mxcached, testnet):
    """The daemon runs out of file descriptors while connections wait to be
    accepted (accept fails with EMFILE; the listening socket stays
    readable): it must back off rather than busy-loop on that socket. Its
    CPU use stays low, and cached answers keep coming meanwhile."""
    res = start_mxcached("--tcp-idle-timeout", "5000")
    prober = Prober(res)
    prober.probe()  # cached; libunbound has read its files
    pid = res.proc.pid
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
    limit = in_use + 8
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))
    conns = []
    try:
        # 8 get a descriptor, the others wait in the listen queue. (The
        # control socket cannot accept either: no stats until the end.)
        conns = [socket.create_connection((res.addr, res.port), timeout=TIMEOUT) for _ in range(32)]
        wait_for(
            lambda: len(os.listdir(f"/proc/{pid}/fd")),
            lambda n: n >= limit,
            TIMEOUT,
            "descriptors exhausted",
        )
        cpu0, t0 = _cpu_seconds(pid), time.monotonic()
        while time.monotonic() < t0 + 1.0:
            prober.probe()
            time.sleep(0.1)  # the probes' pace; the window is what is measured
        share = (_cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    finally:
        for s in conns:
            s.close()
        prober.close()
    st = res.stats()
    print(
        f"\nout of descriptors: daemon CPU {share:.0%} "
        f"over 1 s ({st['tcp.accepted']} connections accepted in all); probes: {prober.summary()}"
    )
    assert share < 0.3, f"the daemon used {share:.0%} of a CPU while out of descriptors"
    prober.check()


def test_tcp_pipeline_of_500_queries(start_mxcached, testnet):
    """500 queries in one write on one connection: misses, repeats of them
    (hits or joined lookups) and NXDOMAIN names mixed; each is answered
    once, under its own ID, for its own question."""
    res = start_mxcached()
    expected = {}  # id -> (name, rcode)
    for i in range(1, 501):
        if i % 10 == 0:
            name, rcode = f"nope{i}.yada123.com.", dns.rcode.NXDOMAIN
        else:
            name, rcode = f"h{i % 150 + 1:03d}.yada123.com.", dns.rcode.NOERROR
        expected[i] = (name, rcode)
    wire = b"".join(tcp_frame(make_query(n, "A", id=i)) for i, (n, _) in expected.items())
    answers = {}
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(wire)
        for _ in expected:
            r = tcp_read_message(s)
            assert r is not None, f"closed after {len(answers)} answers"
            assert r.id not in answers, f"ID {r.id} answered twice"
            answers[r.id] = r
    assert sorted(answers) == sorted(expected)
    for i, (name, rcode) in expected.items():
        r = answers[i]
        assert r.question[0].name.to_text() == name, (i, r.question)
        assert r.rcode() == rcode, (name, dns.rcode.to_text(r.rcode()))
        if rcode == dns.rcode.NOERROR:
            assert rrset_of(r, name, "A") is not None, r
    st = res.stats()
    assert st["queries.tcp"] == 500 and st["queries.by_rcode.NXDOMAIN"] == 50, st


# --------------------------------------------------------------- --ratelimit

RATELIMIT = 50


def test_ratelimit_drops_a_udp_burst(start_mxcached, testnet):
    """--ratelimit 50: 500 UDP queries sent at once from one address get at
    most one or two seconds' worth of answers, the rest are dropped and
    counted; another client address is not affected meanwhile, and queries
    over TCP are never limited."""
    res = start_mxcached("--ratelimit", str(RATELIMIT))
    name = PROBE_NAME
    # Warm the cache over TCP, which is not limited.
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(tcp_frame(make_query(name, "A", id=1)))
        assert rrset_of(tcp_read_message(s), name, "A") is not None
    dest = (res.addr, res.port)
    burst, other = 500, 20
    # Any 127/8 address is ours to send from; 127.0.0.2-5 are the testnet's
    # servers, so take one nobody uses.
    with udp_socket("127.0.0.1") as a, udp_socket("127.0.0.99") as b:
        t0 = time.monotonic()
        for i in range(burst):
            a.sendto(make_query(name, "A", id=i).to_wire(), dest)
            if i % (burst // other) == 0:
                b.sendto(make_query(name, "A", id=i).to_wire(), dest)
        sent_in = time.monotonic() - t0
        # Every query has been answered or dropped once the counters add up.
        wait_for_stats(res, lambda s: udp_taken(s) == burst + other, TIMEOUT)
        answered_a, answered_b = read_waiting(a), read_waiting(b)
    st = res.stats()
    print(
        f"\nratelimit {RATELIMIT}: {burst} queries in {sent_in * 1000:.0f} ms from one "
        f"address, {len(answered_a)} answered, {st['queries.ratelimited']} dropped; "
        f"{len(answered_b)} of {other} answered for another address"
    )
    assert sent_in < 1.0, f"the burst took {sent_in:.2f} s"
    assert RATELIMIT <= len(answered_a) <= 2 * RATELIMIT, len(answered_a)
    assert st["queries.ratelimited"] == burst - len(answered_a)
    assert len(answered_b) == other, "a second client address was limited too"
    for r in list(answered_a.values()) + list(answered_b.values()):
        assert r.rcode() == dns.rcode.NOERROR and rrset_of(r, name, "A") is not None

    # TCP right after: 200 queries, all answered, none counted as limited.
    queries = [make_query(name, "A", id=0x1000 + i) for i in range(200)]
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(b"".join(tcp_frame(q) for q in queries))
        ids = {tcp_read_message(s).id for _ in queries}
    assert ids == {q.id for q in queries}
    assert res.stats()["queries.ratelimited"] == st["queries.ratelimited"]
