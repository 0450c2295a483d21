"""Hostile responses: the largest work a well-formed answer can ask of wire.

Each builder returns a response message (bytes) that a zone anyone can
publish produces, or (chain_pointers) one that only a broken or hostile
encoder writes. make_seeds.py stores them as regression inputs of
fuzz_response (regressions/response/hostile-*.bin); build/wire_worst times
the wire functions on them (see tests/perf/wire_worst.c).
"""

import struct

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rrset

ZONE = "hostile.test."


def _response(qname, qtype, answer, max_size=65535):
    q = dns.message.make_query(qname, qtype, use_edns=0)
    r = dns.message.make_response(q)
    r.id = 0
    r.flags = dns.flags.QR | dns.flags.RD | dns.flags.RA
    r.answer.extend(answer)
    return r.to_wire(max_size=max_size, want_shuffle=False)


def mx_suffix_names(count=240, labels=120, owner="mx240." + ZONE):
    """count MX records whose exchangers are `labels` labels long and differ
    only next to the zone: every suffix of one matches every other for
    many labels and then fails, the old writer's worst case."""
    rrs = dns.rrset.RRset(dns.name.from_text(owner), dns.rdataclass.IN, dns.rdatatype.MX)
    for i in range(count):
        tail = "x%d.%s" % (i, ZONE)
        name = dns.name.from_text(".".join(["a"] * (labels - 3)) + "." + tail)
        rrs.add(dns.rdata.from_text("IN", "MX", "%d %s" % (i % 50, name)), 300)
    return _response(owner, "MX", [rrs])


def many_owners(owner="owners." + ZONE):
    """As many A RRsets as fit in 64 KiB, each owned by a different name of
    127 labels, the most a name has (all but the first are two labels and
    a pointer)."""
    octets = [bytes([c]) for c in range(256) if not 0x41 <= c <= 0x5a]  # no case twins
    base = dns.name.from_text(".".join(["b"] * 124) + ".t.")
    answer = [dns.rrset.from_rdata(dns.name.Name([x, y]).concatenate(base), 300,
                                   dns.rdata.from_text("IN", "A", "192.0.2.1"))
              for x in octets for y in octets[:16]][:3600]
    return _fit(owner, "A", answer)


def cname_chain(labels=119, owner="chain." + ZONE):
    """A CNAME chain as long as fits, long names, ending in an A record."""
    base = ".".join(["c"] * (labels - 4)) + "." + ZONE
    names = [owner] + ["l%d.%s" % (i, base) for i in range(2600)]
    answer = [dns.rrset.from_text(names[i], 300, "IN", "CNAME", names[i + 1])
              for i in range(len(names) - 1)]
    return _fit(owner, "A", answer)


def big_a(owner="big." + ZONE):
    """A 64 KiB answer: as many A records as fit."""
    rrs = dns.rrset.RRset(dns.name.from_text(owner), dns.rdataclass.IN, dns.rdatatype.A)
    for i in range(4090):
        rrs.add(dns.rdata.from_text("IN", "A", "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)))
    return _fit(owner, "A", [rrs])


def mx_falling(owner="falling." + ZONE):
    """As many MX as fit, each more preferred than all before it: a sorted
    insertion moves the whole kept list for every record."""
    rrs = dns.rrset.RRset(dns.name.from_text(owner), dns.rdataclass.IN, dns.rdatatype.MX)
    for i in range(4400):
        rrs.add(dns.rdata.from_text("IN", "MX", "%d m%d.%s" % (60000 - i, i % 10, owner)), 300)
    return _fit(owner, "MX", [rrs])


def _fit(owner, qtype, answer):
    """The message with as many of the answer RRsets (or records of one
    RRset) as fit in 65535 bytes."""
    lo, hi = 1, len(answer) if len(answer) > 1 else len(answer[0])
    single = len(answer) == 1

    def build(n):
        if single:
            rrs = dns.rrset.RRset(answer[0].name, answer[0].rdclass, answer[0].rdtype)
            for rd in list(answer[0])[:n]:
                rrs.add(rd, answer[0].ttl)
            return _response(owner, qtype, [rrs])
        return _response(owner, qtype, answer[:n])

    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            build(mid)
            lo = mid
        except dns.exception.TooBig:
            hi = mid - 1
    return build(lo)


def chain_pointers(records=2500):
    """A question, one TXT record of opaque rdata holding a chain of
    compression pointers each pointing at the one before it, then records
    whose owner names point at the chain's end: every name read follows the
    whole chain unless hops are bounded."""
    qname = dns.name.from_text("ptr." + ZONE).to_wire()
    head = struct.pack("!HHHHHH", 0, 0x8180, 1, 1 + records, 0, 0)
    msg = bytearray(head + qname + struct.pack("!HH", 16, 1))
    fixed = 2 + 10  # owner pointer + type, class, ttl, rdlength
    room = 65535 - len(msg) - fixed - records * (fixed + 4)
    rdata_at = len(msg) + fixed
    hops = min((room - 1) // 2, (0x3fff - rdata_at - 1) // 2 + 1)
    chain = bytearray()
    prev = 12
    for i in range(hops):
        chain += struct.pack("!H", 0xc000 | prev)
        prev = rdata_at + 1 + 2 * i
    rdata = b"\x00" + chain  # opaque to wire: TXT rdata is never read as names
    msg += struct.pack("!HHHIH", 0xc000 | 12, 16, 1, 300, len(rdata)) + rdata
    end = prev
    for _ in range(records):
        msg += struct.pack("!HHHIH", 0xc000 | end, 1, 1, 300, 4) + b"\xc0\x00\x02\x01"
    return bytes(msg)


ALL = {
    "mx240": mx_suffix_names,
    "owners": many_owners,
    "cname-chain": cname_chain,
    "big-a": big_a,
    "mx-falling": mx_falling,
    "pointer-chain": chain_pointers,
}
