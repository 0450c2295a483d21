"""An authoritative server for hostile.com. that serves the answers costing a
resolver the most work per byte: the tests of hostile answers point the
daemon at it with `--stub hostile.com.=127.0.0.78`.

It is FaultServer (fault_server.py: UDP and TCP on port 53 of its own
loopback address, in a thread of the test process, queries recorded) with
other answers. The first label's prefix before "-" picks the answer, so
each test can ask a fresh name ("mx240-3.hostile.com.") and make the
daemon store a new answer:

    mx240    MX: 240 exchangers of 119 labels, differing next to the zone
    big      A: as many A records as fit in 64 KiB
    chain    A: a CNAME chain of long names ending in an A record (each
             link's name is answered with the rest of the chain)
    glue     MX: 64 exchangers, and the A records of all of them in the
             additional section (64 owners)
    anything else: A ADDRESS (NODATA for other types)

Over UDP, an answer bigger than the query's EDNS size (512 without EDNS)
is an empty one with TC set; TCP carries it whole. answer_for() gives the
answer sections a name gets, as dnspython parsed them, for comparison.
"""

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from fault_server import FaultServer

MAX_TCP = 65535


def _long(head: str, labels: int, zone: str) -> dns.name.Name:
    """head, one-letter labels, then the zone: `labels` labels in all."""
    tail = dns.name.from_text(zone)
    fill = labels - 1 - (len(tail.labels) - 1)
    return dns.name.from_text(".".join([head] + ["a"] * fill), origin=tail)


class HostileServer(FaultServer):
    ZONE = "hostile.com."
    ADDR = "127.0.0.78"
    ADDRESS = "192.0.2.78"

    def __init__(self, addr: str = ADDR, port: int = 53):
        self._wires = {}
        super().__init__(addr, port)

    def answer_for(self, name: str, rdtype: str) -> dns.message.Message:
        """The full answer the server gives to name/rdtype (built now, and
        kept: rendering some of them takes Python seconds, longer than a
        resolver waits)."""
        for edns in (0, -1):
            wire = self._full(dns.message.make_query(name, rdtype, use_edns=edns))
        return dns.message.from_wire(wire)

    def mode_of(self, qname: dns.name.Name) -> str:
        return qname.labels[0].decode(errors="replace").split("-")[0].lower() if qname else ""

    # ------------------------------------------------------------- answers

    def _respond(self, wire: bytes, transport: str):
        q = self._query(wire, transport)
        if q is None:
            return None
        full = self._full(q)
        limit = MAX_TCP if transport == "tcp" else max(512, q.payload if q.edns >= 0 else 512)
        if len(full) <= limit:
            return 0.0, wire[:2] + full[2:]
        r = self._response(q)
        r.flags |= dns.flags.TC
        return 0.0, r.to_wire()

    def _response(self, q: dns.message.Message) -> dns.message.Message:
        r = dns.message.make_response(q)
        r.flags &= ~dns.flags.RD
        r.flags |= dns.flags.AA
        return r

    def _full(self, q: dns.message.Message) -> bytes:
        """The whole answer to q, rendered once per question (ID to patch)."""
        qname, rdtype = q.question[0].name, q.question[0].rdtype
        key = (qname, rdtype, q.edns >= 0)
        if key not in self._wires:
            r = self._response(q)
            if qname.is_subdomain(self.zone):
                answer, additional = self._make(qname, rdtype)
                r.answer.extend(answer)
                r.additional.extend(additional)
            else:
                r.flags &= ~dns.flags.AA
                r.set_rcode(dns.rcode.REFUSED)
            self._wires[key] = r.to_wire(max_size=MAX_TCP)
        return self._wires[key]

    def _make(self, qname: dns.name.Name, rdtype: int):
        zone, kind = self.ZONE, self.mode_of(qname)
        name = qname.to_text()
        if kind == "mx240" and rdtype == dns.rdatatype.MX:
            rrs = dns.rrset.RRset(qname, dns.rdataclass.IN, dns.rdatatype.MX)
            for i in range(240):
                mx = _long("a", 117, f"x{i}.{zone}")
                rrs.add(dns.rdata.from_text("IN", "MX", f"{i % 50} {mx}"), 300)
            return [rrs], []
        if kind == "big" and rdtype == dns.rdatatype.A:
            rrs = dns.rrset.RRset(qname, dns.rdataclass.IN, dns.rdatatype.A)
            for i in range(4090):  # 16 bytes each, behind a 12-byte header and question
                rrs.add(dns.rdata.from_text("IN", "A", f"10.0.{i >> 8}.{i & 255}"), 300)
            return [rrs], []
        if kind == "chain" and rdtype == dns.rdatatype.A:
            return self._chain(qname, 0), []
        link = self._link(qname)
        if link and rdtype == dns.rdatatype.A:
            return self._chain(link[0], link[1]), []
        if kind == "glue" and rdtype == dns.rdatatype.MX:
            rrs = dns.rrset.RRset(qname, dns.rdataclass.IN, dns.rdatatype.MX)
            glue = []
            for i in range(64):
                mx = _long(f"m{i}", 100, name)
                rrs.add(dns.rdata.from_text("IN", "MX", f"{i} {mx}"), 300)
                glue.append(dns.rrset.from_text(mx, 300, "IN", "A", f"192.0.2.{i + 1}"))
            return [rrs], glue
        if rdtype == dns.rdatatype.A:
            return [dns.rrset.from_text(qname, 300, "IN", "A", self.ADDRESS)], []
        return [], []

    # libunbound takes one link of a chain per answer and asks for the
    # next, at most 11 times: 10 links is the longest chain that reaches
    # the daemon (the 64 KiB chain is tests/fuzz's hostile-cname-chain.bin).
    CHAIN = 10

    def _chain(self, head: dns.name.Name, start: int):
        """The CNAME chain of head from link `start` on, ending in an A:
        the answer for head itself, or for one of its links."""
        names = [head] + [_long(f"l{i}", 115, head.to_text()) for i in range(1, self.CHAIN)]
        chain = [dns.rrset.from_text(names[i], 300, "IN", "CNAME", names[i + 1].to_text())
                 for i in range(start, len(names) - 1)]
        chain.append(dns.rrset.from_text(names[-1], 300, "IN", "A", self.ADDRESS))
        return chain

    def _link(self, qname: dns.name.Name):
        """(chain head, link number) for a link name of a chain."""
        first = qname.labels[0].decode(errors="replace")
        for depth in range(len(qname.labels) - 1, 0, -1):
            head = dns.name.Name(qname.labels[depth:])
            if self.mode_of(head) == "chain" and first[:1] == "l" and first[1:].isdigit():
                if qname == _long(first, 115, head.to_text()):
                    return head, int(first[1:])
        return None
