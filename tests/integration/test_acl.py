"""Access control: clients outside the allow list get REFUSED over UDP; over
TCP their connection is closed as soon as it is accepted, unread.

Loopback is always allowed, so the foreign client is real: a network
namespace joined to the host by a veth pair (host 198.18.0.1/30, namespace
198.18.0.2/30, RFC 2544 benchmarking space). The daemon under test listens on
198.18.0.1 and on 127.0.0.1; queries are sent from inside the namespace by a
small stdlib-only Python program run with `ip netns exec`.
"""

import secrets
import subprocess
import sys
import urllib.request
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rcode
import pytest

from helpers import TIMEOUT, Client, Endpoint, free_port, header, make_query, rrset_of

pytestmark = pytest.mark.mxcache_only

HOST_ADDR = "198.18.0.1"
CLIENT_ADDR = "198.18.0.2"
PREFIX = 30
NETWORK = f"198.18.0.0/{PREFIX}"

# Run inside the namespace: send one query (hex, argv) over UDP or TCP, print
# the reply as hex, exit 3 on timeout, 4 if the server closed the connection
# without a reply.
EXCHANGE = r"""
import socket, struct, sys
addr, port, proto, wire, timeout = sys.argv[1:6]
port, wire, timeout = int(port), bytes.fromhex(wire), float(timeout)
try:
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(wire, (addr, port))
        reply = s.recv(65535)
    else:
        s = socket.create_connection((addr, port), timeout=timeout)
        s.sendall(struct.pack("!H", len(wire)) + wire)
        f = s.makefile("rb")
        prefix = f.read(2)
        if len(prefix) < 2:
            sys.exit(4)
        (n,) = struct.unpack("!H", prefix)
        reply = f.read(n)
except socket.timeout:
    sys.exit(3)
except (ConnectionResetError, BrokenPipeError):
    sys.exit(4)
print(reply.hex())
"""

# Run inside the namespace: GET /metrics, print what came back before the
# close (nothing, if the endpoint closed on us).
SCRAPE = r"""
import socket, sys
addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((addr, port), timeout=timeout)
out = b""
try:
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    while chunk := s.recv(65536):
        out += chunk
except (ConnectionResetError, BrokenPipeError):
    pass
sys.stdout.write(out.decode("latin-1"))
"""


def _ip(*args, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        pytest.fail(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


@dataclass
class ForeignClient:
    netns: str

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        """A Python program run inside the namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, sys.executable, "-c", program, *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT + 10,
        )

    def exchange(self, wire: bytes, addr: str, port: int, proto: str) -> bytes:
        """Send `wire` from inside the namespace; the reply bytes."""
        r = self.run(EXCHANGE, addr, str(port), proto, wire.hex(), str(TIMEOUT))
        if r.returncode == 3:
            pytest.fail(f"no {proto} reply from {addr}@{port} within {TIMEOUT}s")
        if r.returncode == 4:
            return None
        assert r.returncode == 0, r.stderr
        return bytes.fromhex(r.stdout.strip())


@pytest.fixture(scope="module")
def foreign_client():
    tag = secrets.token_hex(3)
    netns, host_if, ns_if = f"mxt-client-{tag}", f"mxth{tag}", f"mxtn{tag}"
    added = _ip("netns", "add", netns, check=False)
    if added.returncode != 0:
        if any(w in added.stderr for w in ("not permitted", "Permission denied")):
            pytest.skip(f"ip netns not permitted here: {added.stderr.strip()}")
        pytest.fail(f"ip netns add {netns}: {added.stderr.strip()}")
    try:
        in_use = _ip("-o", "addr", "show", "to", NETWORK).stdout
        if in_use.strip():
            pytest.fail(f"{NETWORK} already in use on this host (left over?):\n{in_use}")
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", netns)
        _ip("addr", "add", f"{HOST_ADDR}/{PREFIX}", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("-n", netns, "addr", "add", f"{CLIENT_ADDR}/{PREFIX}", "dev", ns_if)
        _ip("-n", netns, "link", "set", ns_if, "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        yield ForeignClient(netns)
    finally:
        # Deleting the namespace destroys its end of the pair, and with it
        # the host end; delete that explicitly in case the move never happened.
        _ip("netns", "del", netns, check=False)
        if _ip("link", "show", host_if, check=False).returncode == 0:
            _ip("link", "del", host_if, check=False)


def _daemon(start_mxcached, *allow):
    """A daemon on HOST_ADDR and on loopback, with these --allow flags."""
    ports = (free_port(HOST_ADDR), free_port())
    flags = [arg for cidr in allow for arg in ("--allow", cidr)]
    res = start_mxcached(*flags, listen=[(HOST_ADDR, ports[0]), ("127.0.0.1", ports[1])])
    return res, ports[1]


REFUSED_BY = [(), (f"{HOST_ADDR}/32",), ("192.0.2.0/24", "::1/128")]
REFUSED_IDS = ["default", "host-only", "others"]


def _loopback_served(testnet, loopback_port):
    """Loopback, on the daemon's other address, is still served."""
    loopback = Client(Endpoint("127.0.0.1", loopback_port), testnet)
    r = loopback.query("yada123.com", "MX")
    assert r.rcode() == dns.rcode.NOERROR and rrset_of(r, "yada123.com.", "MX") is not None


@pytest.mark.parametrize("allow", REFUSED_BY, ids=REFUSED_IDS)
def test_foreign_client_refused(foreign_client, start_mxcached, testnet, allow):
    res, loopback_port = _daemon(start_mxcached, *allow)
    q = make_query("YaDa123.CoM.", "MX", id=0x4AC1)
    wire = q.to_wire()
    before = res.stats()

    reply = foreign_client.exchange(wire, res.addr, res.port, "udp")
    h = header(reply)
    assert h.id == 0x4AC1 and h.qr
    assert h.rcode == dns.rcode.REFUSED, dns.rcode.to_text(h.rcode)
    assert h.flags & dns.flags.RD, "RD not echoed"
    assert (h.qdcount, h.ancount, h.nscount) == (1, 0, 0)
    # The question comes back byte for byte, letter case included.
    qlen = len(dns.name.from_text("YaDa123.CoM.").to_wire()) + 4
    assert reply[12 : 12 + qlen] == wire[12 : 12 + qlen]

    after = res.stats()
    assert after["queries.refused"] - before["queries.refused"] == 1
    assert after["queries.by_rcode.REFUSED"] - before["queries.by_rcode.REFUSED"] == 1
    assert after["upstream.queries"] == before["upstream.queries"], "refused query resolved"
    _loopback_served(testnet, loopback_port)


@pytest.mark.parametrize("allow", REFUSED_BY, ids=REFUSED_IDS)
def test_foreign_tcp_client_closed_unread(foreign_client, start_mxcached, testnet, allow):
    """Over TCP nothing is read from a foreign client: its connection is
    closed on accept (tcp.refused), before it takes a slot or a buffer."""
    res, loopback_port = _daemon(start_mxcached, *allow)
    wire = make_query("yada123.com.", "MX", id=0x4AC3).to_wire()
    before = res.stats()

    assert foreign_client.exchange(wire, res.addr, res.port, "tcp") is None, "a reply over TCP"

    st = res.stats()
    assert st["tcp.refused"] == 1 and st["tcp.accepted"] == 0, st
    assert st["queries.tcp"] == 0 and st["queries.refused"] == 0, "the query was read"
    assert st["upstream.queries"] == before["upstream.queries"], "refused query resolved"
    _loopback_served(testnet, loopback_port)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
@pytest.mark.parametrize("allow", [NETWORK, CLIENT_ADDR], ids=["prefix", "address"])
def test_allowed_foreign_client_answered(foreign_client, start_mxcached, allow, proto):
    res, _ = _daemon(start_mxcached, allow)
    q = make_query("yada123.com", "MX", id=0x4AC2)
    reply = dns.message.from_wire(foreign_client.exchange(q.to_wire(), res.addr, res.port, proto))
    assert reply.id == 0x4AC2 and reply.rcode() == dns.rcode.NOERROR
    assert rrset_of(reply, "yada123.com.", "MX") is not None
    st = res.stats()
    assert st["queries.refused"] == 0 and st["tcp.refused"] == 0


@pytest.mark.parametrize(
    "allow, served", [((), False), ((CLIENT_ADDR,), True)], ids=["default", "allowed"]
)
def test_metrics_endpoint_follows_the_allow_list(foreign_client, start_mxcached, allow, served):
    """The scrape endpoint is closed on a stranger; --allow lets it in."""
    port = free_port("0.0.0.0")
    flags = [arg for cidr in allow for arg in ("--allow", cidr)]
    res = start_mxcached("--metrics", f"0.0.0.0@{port}", *flags)
    r = foreign_client.run(SCRAPE, HOST_ADDR, str(port), str(TIMEOUT))
    assert r.returncode == 0, r.stderr
    if served:
        assert r.stdout.startswith("HTTP/1.1 200 OK") and "mxcache_queries_total" in r.stdout
    else:
        assert r.stdout == "", r.stdout[:200]
    # Loopback always is (the host's own address is not loopback).
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as u:
        assert u.status == 200
    assert res.proc.poll() is None
