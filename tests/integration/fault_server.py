"""A small authoritative server that misbehaves on purpose, for the tests of
upstream faults: the daemon under test is pointed at it with
`--stub faulty.com.=127.0.0.77` (a made-up zone under com.: libunbound
answers RFC 6761 names like "test." itself).

It serves one zone over UDP and TCP on port 53 of its own loopback address,
in a thread of the test process. How it answers a question depends on the
question's name: the mode set for that name with set_mode(), else the first
label's prefix before "-" ("drop-1.faulty.com." is answered in "drop" mode),
else "answer":

    answer    A FaultServer.ADDRESS and MX 10 <the name itself> with TTL
              FaultServer.ttl (NODATA for other types; the apex has its SOA
              and NS)
    slow      the same answer, FaultServer.delay seconds late
    slowaddr  the same answer, A and AAAA FaultServer.delay seconds late
              (an MX question at once: the chaser's lookups are the late ones)
    drop      nothing, ever
    garbage   the query's ID and QR, then bytes that are not DNS
    wrongid   a correct answer under another ID
    servfail  SERVFAIL
    tcpclose  UDP: an empty answer with TC set; TCP: the connection is
              closed as soon as the query has been read
    mxflood   MX: FaultServer.MXFLOOD_EXCHANGERS exchangers named after
              the question (x<i>-<label>.faulty.com.), what a zone owner
              sends to turn one MX lookup into many against a third
              party; other types as "answer"

Every query it receives is recorded (name, type, transport, time) before it
is answered, and wait_for() lets a test wait for one: the readiness signal
that the daemon has sent a lookup upstream. stop() takes the server off the
network (its ports closed: queries get ICMP port unreachable), as a dead
server is. max_held is
the most "slow" replies it has held back at once: a floor for the daemon's
lookups in flight.
"""

import heapq
import os
import selectors
import socket
import struct
import threading
import time
from typing import NamedTuple

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

MODES = (
    "answer", "slow", "slowaddr", "drop", "garbage", "wrongid", "servfail", "tcpclose", "mxflood",
)


def _question(wire: bytes) -> bytes:
    """The question section's bytes (name, type, class) of a message."""
    off = 12
    while off < len(wire) and wire[off] != 0:
        off += 1 + wire[off]
    return bytes(wire[12 : off + 5]).lower()


class Received(NamedTuple):
    name: str  # lower case, with the trailing dot
    rdtype: str
    transport: str  # "udp" or "tcp"
    at: float = 0.0  # time.monotonic() when it arrived


class FaultServer:
    ZONE = "faulty.com."
    ADDR = "127.0.0.77"
    ADDRESS = "192.0.2.77"  # the A record of every name in "answer" mode
    MXFLOOD_EXCHANGERS = 10

    def __init__(self, addr: str = ADDR, port: int = 53):
        self.addr, self.port = addr, port
        self.zone = dns.name.from_text(self.ZONE)
        self.ttl = 2
        self.delay = 0.5
        self.received = []
        self._modes = {}
        self._cond = threading.Condition()
        self._sel = selectors.DefaultSelector()
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._udp.bind((addr, port))
            self._tcp.bind((addr, port))
            self._tcp.listen(64)
        except OSError:
            self._udp.close()
            self._tcp.close()
            raise
        self._udp.setblocking(False)
        self._tcp.setblocking(False)
        self._sel.register(self._udp, selectors.EVENT_READ, self._on_udp)
        self._sel.register(self._tcp, selectors.EVENT_READ, self._on_accept)
        self._later = []  # heap of (due, seq, send function, question)
        self._seq = 0
        # Most distinct questions with a "slow" reply waiting at once (a
        # resolver's retransmission of a held question is not another one).
        self.max_held = 0
        self._stop_r, self._stop_w = os.pipe()
        self._sel.register(self._stop_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="fault-server", daemon=True)
        self._thread.start()

    @property
    def stub(self) -> str:
        """The daemon's --stub argument for this server."""
        return f"{self.ZONE}={self.addr}@{self.port}"

    def set_mode(self, name: str, mode: str):
        assert mode in MODES, mode
        with self._cond:
            self._modes[dns.name.from_text(name)] = mode

    def mode_of(self, qname: dns.name.Name) -> str:
        with self._cond:
            if qname in self._modes:
                return self._modes[qname]
        prefix = qname.labels[0].decode(errors="replace").split("-")[0].lower() if qname else ""
        return prefix if prefix in MODES else "answer"

    def count_matching(self, predicate) -> int:
        """Queries received whose name satisfies predicate(name)."""
        with self._cond:
            return sum(1 for r in self.received if predicate(r.name))

    def count(self, name: str, rdtype: str = None) -> int:
        """Queries received for `name` so far (of type `rdtype`, or any;
        any transport)."""
        with self._cond:
            return self._count(name, rdtype)

    def log(self, name: str, rdtype: str = None) -> list:
        """The Received records for `name` (and `rdtype`), oldest first."""
        want = name.lower().rstrip(".") + "."
        with self._cond:
            return [r for r in self.received if r.name == want and rdtype in (None, r.rdtype)]

    def _count(self, name: str, rdtype: str = None) -> int:
        want = name.lower().rstrip(".") + "."
        return sum(1 for r in self.received if r.name == want and rdtype in (None, r.rdtype))

    def wait_for(self, name: str, timeout: float, rdtype: str = None, count: int = 1) -> bool:
        """True once `count` queries for `name` (of type `rdtype`) have
        arrived (waits up to `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._count(name, rdtype) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def stop(self):
        """Closes every socket: from now on the server is dead."""
        if self._thread is None:
            return
        os.write(self._stop_w, b"x")
        self._thread.join(5)
        self._thread = None
        for key in list(self._sel.get_map().values()):
            if key.fileobj is not self._stop_r:
                key.fileobj.close()
        self._sel.close()
        os.close(self._stop_r)
        os.close(self._stop_w)

    def close(self):
        self.stop()

    # ------------------------------------------------------------- the loop

    def _run(self):
        while True:
            timeout = max(0.0, self._later[0][0] - time.monotonic()) if self._later else None
            for key, _ in self._sel.select(timeout):
                if key.data is None:
                    return
                key.data(key.fileobj)
            while self._later and self._later[0][0] <= time.monotonic():
                _, _, send, _ = heapq.heappop(self._later)
                try:
                    send()
                except OSError:
                    pass  # the peer is gone

    def _record(self, q: dns.message.Message, transport: str, at: float):
        with self._cond:
            for rr in q.question:
                name = rr.name.to_text().lower()
                rdtype = dns.rdatatype.to_text(rr.rdtype)
                self.received.append(Received(name, rdtype, transport, at))
            self._cond.notify_all()

    def _on_udp(self, sock):
        try:
            wire, peer = sock.recvfrom(65535)
        except OSError:
            return
        reply = self._respond(wire, "udp")
        if reply is not None:
            self._send_later(reply, lambda data: sock.sendto(data, peer))

    def _on_accept(self, sock):
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        conn.setblocking(False)
        self._sel.register(conn, selectors.EVENT_READ, self._tcp_reader(conn))

    def _tcp_reader(self, conn):
        pending = b""

        def framed(data):
            conn.sendall(struct.pack("!H", len(data)) + data)

        def on_read(_):
            nonlocal pending
            try:
                data = conn.recv(65535)
            except OSError:
                data = b""
            if not data:
                self._tcp_close(conn)
                return
            pending += data
            while len(pending) >= 2 and len(pending) >= 2 + struct.unpack("!H", pending[:2])[0]:
                n = struct.unpack("!H", pending[:2])[0]
                wire, pending = pending[2 : 2 + n], pending[2 + n :]
                reply = self._respond(wire, "tcp")
                if reply == b"close":
                    self._tcp_close(conn)
                    return
                if reply is not None:
                    self._send_later(reply, framed)

        return on_read

    def _tcp_close(self, conn):
        try:
            self._sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def _send_later(self, reply, send):
        """send(data) for reply = (delay, data), now or after the delay."""
        delay, data = reply
        if delay <= 0:
            try:
                send(data)
            except OSError:
                pass
            return
        self._seq += 1
        heapq.heappush(
            self._later, (time.monotonic() + delay, self._seq, lambda: send(data), _question(data))
        )
        self.max_held = max(self.max_held, len({held[3] for held in self._later}))

    # ------------------------------------------------------------- answers

    def _query(self, wire: bytes, transport: str):
        """The query in wire, recorded on arrival; None (no reply) if it is
        not one or has other than one question."""
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            return None
        self._record(q, transport, time.monotonic())
        return q if len(q.question) == 1 else None

    def _respond(self, wire: bytes, transport: str):
        """(delay, reply bytes), None for no reply, b"close" to hang up."""
        q = self._query(wire, transport)
        if q is None:
            return None
        qname, rdtype = q.question[0].name, q.question[0].rdtype
        r = dns.message.make_response(q)
        r.flags &= ~dns.flags.RD
        if not qname.is_subdomain(self.zone):
            r.set_rcode(dns.rcode.REFUSED)
            return 0.0, r.to_wire()
        mode = self.mode_of(qname)
        if mode == "drop":
            return None
        if mode == "garbage":
            junk = os.urandom(48)
            return 0.0, wire[:2] + b"\x84\x00\x00\x01\x00\x05\x00\x00\x00\x00" + junk
        if mode == "servfail":
            r.set_rcode(dns.rcode.SERVFAIL)
            return 0.0, r.to_wire()
        if mode == "tcpclose":
            if transport == "tcp":
                return b"close"
            r.flags |= dns.flags.TC | dns.flags.AA
            return 0.0, r.to_wire()
        r.flags |= dns.flags.AA
        if mode == "mxflood" and rdtype == dns.rdatatype.MX:
            label = qname.labels[0].decode()
            targets = [f"{i * 10} x{i}-{label}.{self.ZONE}" for i in range(self.MXFLOOD_EXCHANGERS)]
            r.answer.append(dns.rrset.from_text(qname, self.ttl, "IN", "MX", *targets))
        else:
            self._fill(r, qname, rdtype)
        reply = r.to_wire()
        if mode == "wrongid":
            reply = struct.pack("!H", (q.id + 1) & 0xFFFF) + reply[2:]
        late = mode == "slow" or (
            mode == "slowaddr" and rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
        )
        return (self.delay if late else 0.0), reply

    def _fill(self, r: dns.message.Message, qname: dns.name.Name, rdtype: int):
        zone = self.ZONE
        if qname == self.zone and rdtype == dns.rdatatype.NS:
            r.answer.append(dns.rrset.from_text(zone, 3600, "IN", "NS", f"ns1.{zone}"))
        elif qname == self.zone and rdtype == dns.rdatatype.SOA:
            r.answer.append(self._soa())
        elif rdtype == dns.rdatatype.A:
            addr = self.addr if qname == dns.name.from_text(f"ns1.{zone}") else self.ADDRESS
            r.answer.append(dns.rrset.from_text(qname, self.ttl, "IN", "A", addr))
        elif rdtype == dns.rdatatype.MX and qname != self.zone:
            r.answer.append(dns.rrset.from_text(qname, self.ttl, "IN", "MX", f"10 {qname}"))
        else:
            r.authority.append(self._soa())

    def _soa(self):
        zone = self.ZONE
        return dns.rrset.from_text(zone, 60, "IN", "SOA", f"ns1.{zone} h.{zone} 1 60 60 60 60")
