"""DNS helpers shared by the integration tests (imported by conftest.py and
the test modules; pytest puts this directory on sys.path)."""

import struct
from typing import NamedTuple, Optional

import dns.flags
import dns.message
import dns.name
import dns.rdatatype

TIMEOUT = 3.0  # seconds, for every network call of the tests


def make_query(name, rdtype, *, edns=False, do=False, cd=False, ad=False,
               payload=1232, id=None) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, use_edns=0 if (edns or do) else False,
                               want_dnssec=do, payload=payload, id=id)
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
