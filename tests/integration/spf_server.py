"""An authoritative server of hostile SPF records for the top-level domain
bomb. (made up; every <label>.bomb. is a registrable domain of its own,
so each name can be charged to a zone of its own): the tests of the SPF
chaser's bounds point the daemon at it with `--stub bomb.=127.0.0.79`.

It is FaultServer (fault_server.py: queries recorded, replies sent late)
with other answers. The first label's prefix before "-" picks the TXT
answer:

    fan    "v=spf1 include:<10 fresh fan names, each in a domain of its
           own> -all", SpfServer.delay seconds late: a tree whose every
           branch asks for ten more
    flat   "v=spf1 -all" at once: a record that plants a tree and asks
           nothing
    anything else: NXDOMAIN
"""

import os

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from fault_server import FaultServer


def fan_name() -> str:
    """A fresh fan name in a registrable domain of its own."""
    label = os.urandom(5).hex()
    return f"fan-{label}.d{label}.bomb."


class SpfServer(FaultServer):
    ZONE = "bomb."
    ADDR = "127.0.0.79"
    FAN = 10

    def _respond(self, wire: bytes, transport: str):
        q = self._query(wire, transport)
        if q is None:
            return None
        qname, rdtype = q.question[0].name, q.question[0].rdtype
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        mode = self.mode_of(qname)
        if not qname.is_subdomain(self.zone):
            r.set_rcode(dns.rcode.REFUSED)
        elif rdtype == dns.rdatatype.TXT and mode == "fan":
            record = " ".join(["v=spf1"] + [f"include:{fan_name()}" for _ in range(self.FAN)])
            record += " -all"
            strings = " ".join(f'"{record[i:i + 255]}"' for i in range(0, len(record), 255))
            r.answer.append(dns.rrset.from_text(qname, 300, "IN", "TXT", strings))
            return self.delay, r.to_wire()
        elif rdtype == dns.rdatatype.TXT and mode == "flat":
            r.answer.append(dns.rrset.from_text(qname, 300, "IN", "TXT", '"v=spf1 -all"'))
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(self._soa())
        return 0.0, r.to_wire()

    def mode_of(self, qname: dns.name.Name) -> str:
        return qname.labels[0].decode(errors="replace").split("-")[0].lower() if qname else ""
