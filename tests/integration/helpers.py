"""Helpers shared by the integration tests (imported by conftest.py and the
test modules; pytest puts this directory on sys.path): DNS messages, raw
headers, and a client for mxcached's JSON control socket."""

import json
import os
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import NamedTuple, Optional

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import pytest

TIMEOUT = 3.0  # seconds, for every network call of the tests

REPO = Path(__file__).resolve().parents[2]
MXCACHED = os.environ.get("MXCACHED", str(REPO / "build" / "mxcached"))
MXCACHE_CTL = os.environ.get("MXCACHE_CTL", str(REPO / "build" / "mxcache-ctl"))

# The `stats` keys other tools rely on (README's stats section lists them).
PROMISED_STATS_KEYS = (
    ["queries.total", "queries.udp", "queries.tcp"]
    + [f"queries.by_type.{t}" for t in ("A", "AAAA", "MX", "PTR", "TXT", "TLSA")]
    + [f"queries.by_rcode.{r}" for r in ("NOERROR", "NXDOMAIN", "SERVFAIL")]
    + [
        "cache.hits",
        "cache.misses",
        "cache.entries",
        "cache.bytes",
        "cache.max_bytes",
        "cache.evictions",
        "cache.expired",
        "upstream.queries",
        "upstream.failures",
        "upstream.in_flight",
        "mx_chaser.mx_answers",
        "mx_chaser.prefetches",
        "mx_chaser.prefetch_hits",
    ]
    + [
        f"chaser.{rule}.{field}"
        for rule in ("mx", "tlsa", "ptr", "spf", "dmarc")
        for field in ("answers", "prefetches", "prefetch_hits", "prefetch_unused", "skipped")
    ]
    + [
        "latency_us.p50",
        "latency_us.p90",
        "latency_us.p99",
        "l2.hits",
        "l2.misses",
        "l2.stores",
        "l2.errors",
        "l2.timeouts",
        "l2.rejected",
        "l2.up",
        "latency_l2_us.p50",
        "latency_l2_us.p99",
    ]
)


def make_query(
    name, rdtype, *, edns=False, do=False, cd=False, ad=False, payload=1232, id=None
) -> dns.message.Message:
    q = dns.message.make_query(
        name, rdtype, use_edns=0 if (edns or do) else False, want_dnssec=do, payload=payload, id=id
    )
    if cd:
        q.flags |= dns.flags.CD
    if ad:
        q.flags |= dns.flags.AD
    return q


def rrset_of(msg: dns.message.Message, name, rdtype, section="answer"):
    """The RRset for (name, rdtype) in a section, or None."""
    name = dns.name.from_text(name) if isinstance(name, str) else name
    rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    for rrset in getattr(msg, section):
        if rrset.name == name and rrset.rdtype == rdtype:
            return rrset
    return None


def rdata_set(rrset):
    return set(rrset) if rrset is not None else set()


def has_type(msg: dns.message.Message, rdtype, section="answer") -> bool:
    rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    return any(rr.rdtype == rdtype for rr in getattr(msg, section))


class Header(NamedTuple):
    id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int

    @property
    def qr(self) -> bool:
        return bool(self.flags & 0x8000)

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def rcode(self) -> int:
        return self.flags & 0xF


def header(wire: bytes) -> Optional[Header]:
    """The 12-byte header of a raw reply, without trusting the rest."""
    if len(wire) < 12:
        return None
    return Header(*struct.unpack("!6H", wire[:12]))


# --------------------------------------------------------------- DNS client


def free_port(addr: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on `addr` (asked of the kernel)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((addr, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((addr, port))
                except OSError:
                    continue
                return port


class Endpoint(NamedTuple):
    """Where a resolver listens; what Client needs of a Resolver."""

    addr: str
    port: int


class Client:
    """Queries to the resolver under test and to the authoritative servers."""

    def __init__(self, resolver, testnet):
        """`resolver`: a Resolver or an Endpoint; `testnet`: the Testnet."""
        self.resolver = resolver
        self.testnet = testnet

    def udp(self, q: dns.message.Message) -> dns.message.Message:
        return dns.query.udp(q, self.resolver.addr, port=self.resolver.port, timeout=TIMEOUT)

    def tcp(self, q: dns.message.Message) -> dns.message.Message:
        return dns.query.tcp(q, self.resolver.addr, port=self.resolver.port, timeout=TIMEOUT)

    def query(self, name, rdtype, **kw) -> dns.message.Message:
        """UDP first, TCP if truncated: what a stub resolver does."""
        q = make_query(name, rdtype, **kw)
        r = self.udp(q)
        if r.flags & dns.flags.TC:
            r = self.tcp(q)
        return r

    def raw_udp(self, wire: bytes, timeout: float = TIMEOUT) -> Optional[bytes]:
        """Send bytes, return the reply bytes or None after `timeout`."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(wire, (self.resolver.addr, self.resolver.port))
            try:
                return s.recv(65535)
            except socket.timeout:
                return None

    def auth(self, name, rdtype) -> dns.message.Message:
        """The authoritative answer, straight from the NSD instance (TCP, so
        that big RRsets come whole)."""
        q = dns.message.make_query(name, rdtype, use_edns=False)
        q.flags &= ~dns.flags.RD
        r = dns.query.tcp(q, self.testnet.server_for(name), timeout=TIMEOUT)
        assert (
            r.flags & dns.flags.AA
        ), f"{self.testnet.server_for(name)} not authoritative for {name}"
        return r


def tcp_frame(q) -> bytes:
    """A query (Message or wire bytes) with its TCP length prefix."""
    wire = q if isinstance(q, bytes) else q.to_wire()
    return struct.pack("!H", len(wire)) + wire


def recv_exactly(sock: socket.socket, n: int) -> Optional[bytes]:
    """n bytes, or None if the peer closed first."""
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read_message(sock: socket.socket) -> Optional[dns.message.Message]:
    """The next length-prefixed DNS message, or None if the peer closed."""
    prefix = recv_exactly(sock, 2)
    body = prefix and recv_exactly(sock, struct.unpack("!H", prefix)[0])
    return dns.message.from_wire(body) if body else None


def send_udp_query(resolver, name, rdtype, **kw) -> tuple:
    """(socket, query): a query sent over UDP from a socket of its own, for
    tests that do something else before they read the answer. Close the
    socket (it is a context manager)."""
    q = make_query(name, rdtype, **kw)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(q.to_wire(), (resolver.addr, resolver.port))
    return s, q


def udp_socket(source: str = "127.0.0.1") -> socket.socket:
    """A UDP socket bound to `source` (any 127/8 address is a client of its
    own), with room for many answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return s


def udp_taken(stats: dict) -> int:
    """UDP queries the daemon has taken: answered, or dropped by --ratelimit."""
    return stats["queries.udp"] + stats["queries.ratelimited"]


def read_waiting(sock: socket.socket) -> dict:
    """Every DNS message waiting on a socket, by ID, without waiting."""
    messages = {}
    sock.setblocking(False)
    while True:
        try:
            m = dns.message.from_wire(sock.recv(65535))
        except BlockingIOError:
            return messages
        messages[m.id] = m


def peer_closed(sock: socket.socket) -> bool:
    """Waits (up to the socket's timeout) for the next bytes: True if the
    peer closed the connection (EOF or reset), False if data came instead.
    socket.timeout propagates."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


# --------------------------------------------------------------- control socket


class ControlConnection:
    """One connection to mxcached's control socket: newline-delimited JSON,
    one answer line per request line, errors as {"error": "..."}."""

    def __init__(self, path: str, timeout: float = TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # A blocking connect (as mxcache-ctl does) waits while the listen
        # backlog is full instead of failing with EAGAIN; SO_SNDTIMEO bounds
        # that wait. Every later call has the plain socket timeout.
        whole = int(timeout)
        self.sock.setsockopt(
            socket.SOL_SOCKET,
            socket.SO_SNDTIMEO,
            struct.pack("ll", whole, int((timeout - whole) * 1e6)),
        )
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.sock.settimeout(timeout)
        self.pending = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def read_line(self) -> bytes:
        """The next answer line, without its newline. ConnectionError if the
        daemon closes the connection first."""
        while b"\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"control socket closed after {self.pending[:200]!r}")
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line

    def read_answer(self) -> dict:
        answer = json.loads(self.read_line())
        assert isinstance(answer, dict), f"answer is not a JSON object: {answer!r}"
        return answer

    def request(self, req: dict) -> dict:
        self.send(json.dumps(req).encode() + b"\n")
        return self.read_answer()


def wait_for(probe, done, timeout: float, what: str = "condition"):
    """Call probe() until done(value) holds and return that value; for waits
    on the clock itself (TTL expiry, the daemon's periodic sweep), where no
    event says when. Bounded by `timeout`: fails the test after it."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not met within {timeout}s: {value}")
        time.sleep(0.05)


def wait_for_stats(res, done, timeout: float) -> dict:
    """Poll res.stats() until done(stats) holds (see wait_for)."""
    return wait_for(res.stats, done, timeout, "stats condition")


def dump_cache(res, limit=1000) -> list:
    """The daemon's live cache entries (control command `dump`)."""
    answer = res.control_request({"cmd": "dump", "limit": limit})
    assert "error" not in answer, answer
    assert answer["truncated"] is False, "raise the limit: the dump was cut"
    return answer["entries"]


def dumped(entries, name, rdtype=None) -> list:
    """Entries for `name` (any letter case, with or without the final dot)."""
    want = dns.name.from_text(name)
    return [
        e for e in entries if dns.name.from_text(e["name"]) == want and rdtype in (None, e["type"])
    ]


def flatten(obj: dict, prefix: str = "") -> dict:
    """Accept both {"cache.hits": 1} and {"cache": {"hits": 1}}."""
    flat = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def run_ctl(*args: str) -> subprocess.CompletedProcess:
    """mxcache-ctl with these arguments (give it -s PATH)."""
    if not os.access(MXCACHE_CTL, os.X_OK):
        pytest.fail(f"{MXCACHE_CTL} not found or not executable (run `make` first)")
    return subprocess.run([MXCACHE_CTL, *args], capture_output=True, text=True, timeout=3 * TIMEOUT)


def instrumented() -> str:
    """Why the daemon's speed and memory are not its own, or "": a wrapper
    (MXCACHED_WRAPPER, e.g. valgrind) or a sanitizer build (make asan)."""
    if os.environ.get("MXCACHED_WRAPPER"):
        return "run under MXCACHED_WRAPPER"
    with open(MXCACHED, "rb") as f:
        return "an ASan build" if b"__asan_init" in f.read() else ""


def rss_kib(pid: int) -> int:
    """The resident memory of a process, KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def wait_expired(res, stored: float, ttl: int):
    """Waits until answers stored at wall-clock time `stored` with `ttl`
    have expired everywhere: gone from the daemon's cache (`dump` lists
    live entries only) and from libunbound's, which keeps its own copies in
    whole seconds of wall-clock time, valid through the second they were
    stored in plus the TTL. Nothing tells when those are gone: the clock
    does, or the next lookups never leave libunbound."""
    libunbound_expiry = int(stored) + ttl + 1
    wait_for(
        lambda: (time.time(), dump_cache(res)),
        lambda now_entries: now_entries[0] >= libunbound_expiry and now_entries[1] == [],
        timeout=ttl + 2.0,
        what="expiry of the answers",
    )
