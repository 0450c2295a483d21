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

    def mode_of(self, qname: dns.name.Name) -> str:
        """FaultServer's "slow" (late by self.delay) for the fan names."""
        return "slow" if qname.labels[0].startswith(b"fan-") else "answer"

    def _fill(self, r: dns.message.Message, qname: dns.name.Name, rdtype: int):
        first = qname.labels[0].decode(errors="replace")
        if rdtype == dns.rdatatype.TXT and first.startswith(("fan-", "flat-")):
            record = "v=spf1"
            if first.startswith("fan-"):
                record += "".join(f" include:{fan_name()}" for _ in range(self.FAN))
            record += " -all"
            strings = " ".join(f'"{record[i:i + 255]}"' for i in range(0, len(record), 255))
            r.answer.append(dns.rrset.from_text(qname, 300, "IN", "TXT", strings))
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(self._soa())
