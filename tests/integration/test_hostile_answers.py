"""Hostile answers: an authoritative server anyone can run (hostile_server.py)
serves the answers that cost a resolver the most work per byte. The daemon
must answer them as served, and keep answering everyone else meanwhile: one
event loop serves all clients, so an answer that takes long to store or to
serve stalls every cached answer behind it.

Also: queries with no question (RFC 7873 §5.4, asking for a server cookie).
"""

import multiprocessing
import socket
import struct
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from helpers import TIMEOUT, make_query
from hostile_server import HostileServer

# The worst a cached answer may take while hostile answers are handled.
# Measured: about 6 ms at worst (libunbound's own work on the answers
# included), 73 ms with two busy loops starving this 2-core machine; the
# old compressor stalled the loop 420-500 ms.
STALL_BOUND_S = 0.100
PROBE_EVERY_S = 0.005
ZONE = HostileServer.ZONE

CASES = [
    ("mx240", "MX"),
    ("big", "A"),
    ("chain", "A"),
    ("glue", "MX"),
]


def _answer_sets(msg: dns.message.Message) -> set:
    """The answer section as comparable items: name, type, rdata (not TTL,
    which the daemon ages, nor order, which it may rotate)."""
    return {(rrset.name, rrset.rdtype, rd) for rrset in msg.answer for rd in rrset}


class Probe:
    """Asks the daemon a cached name over UDP every PROBE_EVERY_S, one at a
    time, and keeps the slowest round trip. A process of its own: in this
    one, dnspython parsing 64 KiB answers would hold the interpreter lock
    and add its own delays to the figure."""

    def __init__(self, res, name: str):
        ctx = multiprocessing.get_context("fork")
        self._stop = ctx.Event()
        self._out = ctx.Queue()
        self._proc = ctx.Process(
            target=_probe, args=(res.addr, res.port, name, self._stop, self._out), daemon=True
        )
        self.worst, self.count, self.lost = 0.0, 0, 0

    def __enter__(self):
        self._proc.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.worst, self.count, self.lost = self._out.get(timeout=TIMEOUT)
        self._proc.join(TIMEOUT)


def _probe(addr, port, name, stop, out):
    q = make_query(name, "A")
    worst, count, lost = 0.0, 0, 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.connect((addr, port))
        while not stop.is_set():
            q.id = (q.id + 1) & 0xFFFF
            t0 = time.monotonic()
            s.send(q.to_wire())
            try:
                while dns.message.from_wire(s.recv(65535)).id != q.id:
                    pass
            except socket.timeout:
                lost += 1
                continue
            worst = max(worst, time.monotonic() - t0)
            count += 1
            stop.wait(PROBE_EVERY_S)
    out.put((worst, count, lost))


def _tcp(res, name, rdtype):
    q = make_query(name, rdtype)
    return dns.query.tcp(q, res.addr, port=res.port, timeout=TIMEOUT)


def _resolve_all(res, wants, round_):
    """Each hostile name, fresh (stored) and again (cached), over TCP; over
    UDP (512 bytes) all but the chain come back truncated."""
    for kind, rdtype in CASES:
        name = f"{kind}-{round_}.{ZONE}"
        want = wants[name]
        for _ in range(3):
            r = _tcp(res, name, rdtype)
            assert r.rcode() == dns.rcode.NOERROR, (name, r)
            assert _answer_sets(r) == want, f"{name}: the answer is not what was served"
        u = dns.query.udp(make_query(name, rdtype), res.addr, port=res.port, timeout=TIMEOUT)
        if kind == "chain":  # compressed, it fits in 512 bytes
            assert not u.flags & dns.flags.TC and _answer_sets(u) == want, u
        else:
            assert u.flags & dns.flags.TC, f"{name}: {len(u.to_wire())} bytes over UDP"


@pytest.mark.load
@pytest.mark.mxcache_only
def test_hostile_answers_do_not_stall_cached_answers(start_mxcached, hostile_server):
    """While the daemon stores and serves each kind of hostile answer (three
    rounds of fresh names), a probe asking a cached name every 5 ms never
    waits more than STALL_BOUND_S; each hostile answer is what the server
    served."""
    rounds = range(1, 4)
    # Built before the clock runs: Python takes seconds over some of them.
    wants = {
        f"{kind}-{n}.{ZONE}": _answer_sets(hostile_server.answer_for(f"{kind}-{n}.{ZONE}", rdtype))
        for n in rounds
        for kind, rdtype in CASES
    }
    res = start_mxcached("--stub", hostile_server.stub, "--trust-anchor", "none")
    cached = f"cached.{ZONE}"
    r = _tcp(res, cached, "A")
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r
    with Probe(res, cached) as probe:
        for round_ in rounds:
            _resolve_all(res, wants, round_)
    assert probe.lost == 0, f"{probe.lost} probes unanswered ({probe.count} answered)"
    assert probe.count >= 20, f"only {probe.count} probes answered"
    assert probe.worst < STALL_BOUND_S, (
        f"a cached answer took {probe.worst * 1000:.1f} ms while hostile answers were handled"
    )


# --------------------------------------------------------- no question


def _cookie_query(qid: int, do: bool) -> bytes:
    """QDCOUNT 0, an OPT with a client cookie only (RFC 7873 §5.4)."""
    cookie = struct.pack("!HH", 10, 8) + bytes(range(1, 9))
    ttl = 0x8000 if do else 0
    return (
        struct.pack("!HHHHHH", qid, 0x0100, 0, 0, 0, 1)
        + b"\x00"
        + struct.pack("!HHIH", 41, 1232, ttl, len(cookie))
        + cookie
    )


@pytest.mark.mxcache_only
def test_query_without_question_is_formerr_with_opt(resolver):
    """A query for a server cookie (no question, an OPT with a client
    cookie): mxcached has no cookies, so FORMERR, as Unbound answers, with
    no question and an OPT echoing DO, over UDP and TCP."""
    res = resolver
    for do in (False, True):
        wire = _cookie_query(0x4242, do)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(TIMEOUT)
            s.sendto(wire, (res.addr, res.port))
            udp = s.recv(65535)
        with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as t:
            t.sendall(struct.pack("!H", len(wire)) + wire)
            n = struct.unpack("!H", t.recv(2))[0]
            tcp = b""
            while len(tcp) < n:
                tcp += t.recv(n - len(tcp))
        for reply in (udp, tcp):
            r = dns.message.from_wire(reply)
            assert r.id == 0x4242 and r.flags & dns.flags.QR
            assert r.rcode() == dns.rcode.FORMERR, r
            assert not r.question and not r.answer
            assert r.edns == 0, "no OPT in the FORMERR reply"
            assert bool(r.ednsflags & dns.flags.DO) == do
