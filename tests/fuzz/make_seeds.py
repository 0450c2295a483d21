#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer harnesses (tests/fuzz/corpus/).

    /usr/bin/python3 tests/fuzz/make_seeds.py            queries, built responses,
                                                          control requests, cache files,
                                                          HTTP request heads, SPF records and trees
    /usr/bin/python3 tests/fuzz/make_seeds.py --live     also real responses from
                                                          the test hierarchy

--live asks the NSD servers of tests/testnet/testnet.sh (127.0.0.2-5 port 53) and
stores their answers as response/live-*.bin. Run it where those servers are
(for example in a private network namespace:
    ip netns add fuzz-dev; ip netns exec fuzz-dev ip link set lo up
    ip netns exec fuzz-dev tests/testnet/testnet.sh start /tmp/fz
    ip netns exec fuzz-dev /usr/bin/python3 tests/fuzz/make_seeds.py --live).
Without --live the live-* files already in the tree are left alone. Every
other seed is rebuilt byte for byte (fixed IDs, fixed data). Seeds stay
under 4 KiB, libFuzzer's default -max_len. The hostile answers of
hostile.py (up to 64 KiB) are written as regression inputs,
regressions/response/hostile-*.bin.
"""

import argparse
import json
import os
import socket
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset

import hostile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import cachefile  # noqa: E402 (the format's writer, shared with the tests)
CORPUS = os.path.join(HERE, "corpus")
REGRESSIONS = os.path.join(HERE, "regressions")
MAX_SEED = 4096


def write(kind, name, data):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < MAX_SEED, (kind, name, len(data))
    d = os.path.join(CORPUS, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def hdr(id_, flags, qd, an, ns, ar):
    return struct.pack("!HHHHHH", id_, flags, qd, an, ns, ar)


def wname(text):
    return dns.name.from_text(text).to_wire()


def opt(udp=1232, version=0, do=False, rdata=b"", owner=b"\x00"):
    ttl = (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack("!HHIH", 41, udp, ttl, len(rdata)) + rdata


# ---------------------------------------------------------------- queries


def query(name, rdtype, edns=-1, payload=1232, do=False, flags=dns.flags.RD, options=None):
    q = dns.message.make_query(name, rdtype, use_edns=edns, payload=payload,
                               want_dnssec=do, options=options)
    q.id = 0x1234
    q.flags = flags
    return q.to_wire()


def queries():
    w = lambda n, d: write("query", n, d)
    w("a.bin", query("mx1.yada123.com.", "A"))
    w("aaaa-edns.bin", query("mx1.yada123.com.", "AAAA", edns=0))
    w("mx-edns-do.bin", query("yada123.com.", "MX", edns=0, do=True))
    w("mx-do-cd.bin", query("signed123.com.", "MX", edns=0, do=True,
                             flags=dns.flags.RD | dns.flags.CD))
    w("mx-ad.bin", query("signed123.com.", "MX", flags=dns.flags.RD | dns.flags.AD))
    w("txt-512.bin", query("_dmarc.yada123.com.", "TXT", edns=0, payload=512))
    w("txt-4096.bin", query("big.yada123.com.", "TXT", edns=0, payload=4096))
    w("tlsa.bin", query("_25._tcp.mx1.signed123.com.", "TLSA", edns=0, do=True))
    w("ptr.bin", query("10.2.0.11.in-addr.arpa.", "PTR"))
    w("any.bin", query("yada123.com.", "ANY"))
    w("ns-root.bin", query(".", "NS", edns=0))
    w("srv-norecurse.bin", query("_submission._tcp.yada123.com.", "SRV", flags=0))
    w("unknown-type.bin", query("yada123.com.", 65280))
    w("upper-case.bin", query("MX1.YaDa123.CoM.", "A"))
    w("payload-0.bin", query("yada123.com.", "MX", edns=0, payload=0))
    w("payload-65535.bin", query("yada123.com.", "MX", edns=0, payload=65535))
    w("edns-cookie-ecs.bin", query(
        "yada123.com.", "MX", edns=0, options=[
            dns.edns.GenericOption(10, bytes(range(8))),            # client cookie
            dns.edns.ECSOption("192.0.2.0", 24)]))
    # The longest name (255 bytes) and a label of 63.
    long_name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61]) + "."
    w("name-255.bin", query(long_name, "A"))
    w("label-63.bin", query("x" * 63 + ".example.", "A"))

    q = wname("yada123.com.") + struct.pack("!HH", 15, 1)
    # EDNS version 1: BADVERS.
    w("edns-version1.bin", hdr(7, 0x0100, 1, 0, 0, 1) + q + opt(version=1))
    # Two OPT records; an OPT not owned by the root; options that overrun.
    w("edns-two-opt.bin", hdr(7, 0x0100, 1, 0, 0, 2) + q + opt() + opt())
    w("edns-opt-owner.bin", hdr(7, 0x0100, 1, 0, 0, 1) + q + opt(owner=wname("x.")))
    w("edns-bad-option.bin", hdr(7, 0x0100, 1, 0, 0, 1) + q +
      opt(rdata=struct.pack("!HH", 10, 20) + b"\x01" * 8))
    # A TSIG-like record in the additional section, not an OPT.
    w("additional-other.bin", hdr(7, 0x0100, 1, 0, 0, 1) + q +
      wname("key.") + struct.pack("!HHIH", 250, 255, 0, 4) + b"\0\0\0\0")
    # Question of type OPT.
    w("qtype-opt.bin", hdr(7, 0x0100, 1, 0, 0, 0) + wname("yada123.com.") +
      struct.pack("!HH", 41, 1))
    # Opcodes other than QUERY: NOTIFY, UPDATE, and 15.
    w("opcode-notify.bin", hdr(7, 0x2000 | 0x0400, 1, 0, 0, 0) + q)
    w("opcode-update.bin", hdr(7, 0x2800, 1, 0, 1, 0) + q)
    w("opcode-15.bin", hdr(7, 0x7800, 0, 0, 0, 0))
    # A response (QR): dropped.
    w("response.bin", hdr(7, 0x8180, 1, 0, 0, 0) + q)
    # Counts that do not match a query.
    w("qd0.bin", hdr(7, 0x0100, 0, 0, 0, 0))
    w("qd2.bin", hdr(7, 0x0100, 2, 0, 0, 0) + q + q)
    w("an1.bin", hdr(7, 0x0100, 1, 1, 0, 0) + q +
      b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + b"\xc0\x00\x02\x01")
    # Malformed: short header, cut question, trailing bytes, pointers.
    w("short-header.bin", hdr(7, 0x0100, 1, 0, 0, 0)[:7])
    w("cut-question.bin", hdr(7, 0x0100, 1, 0, 0, 0) + q[:-3])
    w("trailing.bin", hdr(7, 0x0100, 1, 0, 0, 0) + q + b"\xff\xff")
    w("qname-pointer-header.bin", hdr(7, 0x0100, 1, 0, 0, 0) + b"\xc0\x00" +
      struct.pack("!HH", 1, 1))
    w("qname-pointer-self.bin", hdr(7, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" +
      struct.pack("!HH", 1, 1))
    w("qname-label-0x40.bin", hdr(7, 0x0100, 1, 0, 0, 0) + b"\x41abc\x00" +
      struct.pack("!HH", 1, 1))
    w("qname-256.bin", hdr(7, 0x0100, 1, 0, 0, 0) +
      b"".join(bytes([63]) + b"a" * 63 for _ in range(4)) + b"\x03abc\x00" +
      struct.pack("!HH", 1, 1))
    w("empty.bin", b"")


# ---------------------------------------------------------------- responses


def rr(name, ttl, rdtype, *texts, rdclass="IN"):
    return dns.rrset.from_text(name, ttl, rdclass, rdtype, *texts)


def response(qname, qtype, answer=(), authority=(), additional=(), rcode=0, do=False,
             edns=True, flags=dns.flags.QR | dns.flags.RD | dns.flags.RA, id_=0):
    q = dns.message.make_query(qname, qtype, use_edns=0 if edns else -1, want_dnssec=do)
    r = dns.message.make_response(q)
    r.id = id_
    r.flags = flags
    r.set_rcode(rcode)
    r.answer.extend(answer)
    r.authority.extend(authority)
    r.additional.extend(additional)
    return r.to_wire(max_size=65535, want_shuffle=False)  # stable seeds


def generic(*names):
    data = b"".join(wname(n) for n in names)
    return r"\# %d %s" % (len(data), data.hex())


SIG = ("{t} 13 3 3600 20300101000000 20200101000000 12345 {z} "
       "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAQ==")
NSEC = "{next} A MX RRSIG NSEC"


def responses():
    w = lambda n, d: write("response", n, d)
    soa = rr("yada123.com.", 3600, "SOA",
             "ns1.yada123.com. hostmaster.yada123.com. 1 3600 900 604800 300")
    # MX with compression, additional addresses.
    w("mx.bin", response(
        "yada123.com.", "MX",
        answer=[rr("yada123.com.", 3600, "MX", "10 mx1.yada123.com.", "20 mx2.mailhost.net.")],
        authority=[rr("yada123.com.", 3600, "NS", "ns1.yada123.com.")],
        additional=[rr("mx1.yada123.com.", 3600, "A", "192.0.2.10"),
                    rr("mx1.yada123.com.", 3600, "AAAA", "2001:db8::10"),
                    rr("ns1.yada123.com.", 3600, "A", "127.0.0.4")]))
    w("mx-no-edns.bin", response(
        "yada123.com.", "MX", edns=False,
        answer=[rr("yada123.com.", 300, "MX", "10 mx1.yada123.com.")]))
    # Mixed case: compression matches names case-insensitively.
    w("mx-mixed-case.bin", response(
        "YaDa123.CoM.", "MX",
        answer=[rr("yada123.com.", 3600, "MX", "10 MX1.yada123.COM.", "10 mx1.YADA123.com."),
                rr("Yada123.Com.", 3600, "MX", "5 a.b.c.d.e.f.g.yada123.com.")]))
    w("mx-null.bin", response(
        "nomail.yada123.com.", "MX", answer=[rr("nomail.yada123.com.", 3600, "MX", "0 .")]))
    w("mx-many.bin", response(
        "many.yada123.com.", "MX",
        answer=[rr("many.yada123.com.", 3600, "MX",
                   *["%d mx%04d.many.yada123.com." % (i % 7 * 10, i) for i in range(80)])]))
    w("mx-cname.bin", response(
        "alias.yada123.com.", "MX",
        answer=[rr("alias.yada123.com.", 3600, "CNAME", "mx1.yada123.com."),
                rr("mx1.yada123.com.", 3600, "MX", "10 mx1.yada123.com.")]))
    w("cname-chain.bin", response(
        "www.yada123.com.", "A",
        answer=[rr("www.yada123.com.", 3600, "CNAME", "web.yada123.com."),
                rr("web.yada123.com.", 3600, "CNAME", "host.mailhost.net."),
                rr("host.mailhost.net.", 60, "A", "198.51.100.10")]))
    w("cname-loop.bin", response(
        "a.yada123.com.", "A",
        answer=[rr("a.yada123.com.", 3600, "CNAME", "b.yada123.com."),
                rr("b.yada123.com.", 3600, "CNAME", "a.yada123.com.")]))
    w("nxdomain-soa.bin", response(
        "nope.yada123.com.", "A", rcode=dns.rcode.NXDOMAIN, authority=[soa]))
    w("nodata-soa.bin", response("onlya.yada123.com.", "AAAA", authority=[soa]))
    w("soa-ttl-min.bin", response(
        "x.yada123.com.", "A", rcode=dns.rcode.NXDOMAIN,
        authority=[rr("yada123.com.", 86400, "SOA", "ns1.yada123.com. hostmaster.yada123.com. 1 2 3 4 30")]))
    w("servfail.bin", response("bogus123.com.", "MX", rcode=dns.rcode.SERVFAIL))
    w("refused-noq.bin", hdr(0, 0x8105, 0, 0, 0, 0))
    # Signed: RRSIG in the answer, NSEC and its RRSIG in the authority.
    z = "signed123.com."
    w("signed-mx.bin", response(
        z, "MX", do=True, flags=dns.flags.QR | dns.flags.RD | dns.flags.RA | dns.flags.AD,
        answer=[rr(z, 3600, "MX", "10 mx1.signed123.com."),
                rr(z, 3600, "RRSIG", SIG.format(t="MX", z=z))],
        authority=[rr(z, 3600, "NS", "ns1.signed123.com."),
                   rr(z, 3600, "RRSIG", SIG.format(t="NS", z=z))],
        additional=[rr("mx1." + z, 3600, "A", "192.0.2.60"),
                    rr("mx1." + z, 3600, "RRSIG", SIG.format(t="A", z=z))]))
    w("signed-nxdomain.bin", response(
        "nope." + z, "A", do=True, rcode=dns.rcode.NXDOMAIN,
        authority=[rr(z, 300, "SOA", "ns1.signed123.com. hostmaster.signed123.com. 1 3600 900 604800 300"),
                   rr(z, 300, "RRSIG", SIG.format(t="SOA", z=z)),
                   rr("mx1." + z, 300, "NSEC", NSEC.format(next="ns1." + z)),
                   rr("mx1." + z, 300, "RRSIG", SIG.format(t="NSEC", z=z))]))
    w("signed-nsec3.bin", response(
        "nope." + z, "A", do=True, rcode=dns.rcode.NXDOMAIN,
        authority=[rr("2vptu5timamqttgl4luu9kg21e0aor3s." + z, 300, "NSEC3",
                      "1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3t A RRSIG"),
                   rr("2vptu5timamqttgl4luu9kg21e0aor3s." + z, 300, "RRSIG",
                      SIG.format(t="NSEC3", z=z))]))
    w("delegation-ds.bin", response(
        "mx1.signed123.com.", "A", do=True, flags=dns.flags.QR,
        authority=[rr(z, 86400, "NS", "ns1.signed123.com."),
                   rr(z, 86400, "DS", "12345 13 2 " + "ab" * 32),
                   rr(z, 86400, "RRSIG", SIG.format(t="DS", z="com."))],
        additional=[rr("ns1." + z, 86400, "A", "127.0.0.4")]))
    w("qtype-rrsig.bin", response(
        z, "RRSIG", do=True, answer=[rr(z, 3600, "RRSIG", SIG.format(t="MX", z=z))]))
    w("tlsa.bin", response(
        "_25._tcp.mx1." + z, "TLSA", do=True,
        answer=[rr("_25._tcp.mx1." + z, 3600, "TLSA", "3 1 1 " + "0f" * 32),
                rr("_25._tcp.mx1." + z, 3600, "RRSIG", SIG.format(t="TLSA", z=z))]))
    w("txt-srv-ptr.bin", response(
        "yada123.com.", "ANY",
        answer=[rr("yada123.com.", 3600, "TXT", '"v=spf1 mx -all"', '"two" "strings"'),
                rr("_submission._tcp.yada123.com.", 3600, "SRV", "0 1 587 mx1.yada123.com."),
                rr("10.2.0.11.in-addr.arpa.", 3600, "PTR", "mx1.yada123.com."),
                rr("yada123.com.", 3600, "HINFO", '"cpu" "os"'),
                # Types whose rdata names wire_copy decompresses; dnspython
                # has no text form for them, so generic rdata.
                rr("yada123.com.", 3600, "MINFO", generic("rm.yada123.com.", "em.yada123.com.")),
                rr("yada123.com.", 3600, "MB", generic("mb.yada123.com.")),
                rr("yada123.com.", 3600, "MG", generic("mg.yada123.com.")),
                rr("yada123.com.", 3600, "MR", generic("mr.yada123.com.")),
                rr("yada123.com.", 3600, "MD", generic("md.yada123.com.")),
                rr("yada123.com.", 3600, "MF", generic("mf.yada123.com.")),
                rr("yada123.com.", 3600, "TYPE65280", r"\# 4 deadbeef")]))
    w("ttl-top-bit.bin", response(
        "yada123.com.", "A", answer=[rr("yada123.com.", 0x80000000, "A", "192.0.2.1"),
                                     rr("yada123.com.", 0xffffffff, "A", "192.0.2.2")]))
    w("ttl-zero.bin", response("short.yada123.com.", "A",
                               answer=[rr("short.yada123.com.", 0, "A", "192.0.2.30")]))
    w("big-txt.bin", response(
        "big.yada123.com.", "TXT",
        answer=[rr("big.yada123.com.", 3600, "TXT",
                   *['"%02d%s"' % (i, "x" * 198) for i in range(1, 11)])]))
    # Truncated: TC with the question only, and a message cut mid-record.
    w("tc-empty.bin", response("many.yada123.com.", "MX",
                               flags=dns.flags.QR | dns.flags.RD | dns.flags.RA | dns.flags.TC))
    full = response("yada123.com.", "MX",
                    answer=[rr("yada123.com.", 3600, "MX", "10 mx1.yada123.com.",
                               "20 mx2.mailhost.net.")])
    w("cut-mid-record.bin", full[:-7])
    # Hand-made oddities: pointer loops and forward pointers, more
    # records counted than present, two questions, an empty record list.
    q = wname("yada123.com.") + struct.pack("!HH", 15, 1)
    a = struct.pack("!HHIH", 1, 1, 60, 4) + b"\xc0\x00\x02\x01"
    w("ptr-forward.bin", hdr(0, 0x8180, 1, 1, 0, 0) + q + b"\xc0\x30" + a + b"\x00" * 8)
    w("ptr-to-itself.bin", hdr(0, 0x8180, 1, 1, 0, 0) + q + b"\xc0\x1d" + a)
    w("count-overrun.bin", hdr(0, 0x8180, 1, 5, 0, 0) + q + b"\xc0\x0c" + a)
    w("two-questions.bin", hdr(0, 0x8180, 2, 1, 0, 0) + q + b"\x03www\xc0\x0c" +
      struct.pack("!HH", 1, 1) + b"\xc0\x1d" + a)
    w("mx-rdata-short.bin", hdr(0, 0x8180, 1, 1, 0, 0) + q + b"\xc0\x0c" +
      struct.pack("!HHIH", 15, 1, 60, 2) + b"\x00\x0a")
    w("mx-rdata-trailing.bin", hdr(0, 0x8180, 1, 1, 0, 0) + q + b"\xc0\x0c" +
      struct.pack("!HHIH", 15, 1, 60, 6) + b"\x00\x0a\xc0\x0c\xff\xff")
    w("soa-short.bin", hdr(0, 0x8183, 1, 0, 1, 0) + q + b"\xc0\x0c" +
      struct.pack("!HHIH", 6, 1, 60, 6) + b"\xc0\x0c\xc0\x0c\x00\x00")
    w("opt-in-answer.bin", hdr(0, 0x8180, 1, 1, 0, 1) + q + opt() + opt(do=True))


def live_responses():
    """Real answers from the test hierarchy (tests/testnet/testnet.sh)."""
    asks = [
        ("127.0.0.2", ".", "NS"), ("127.0.0.2", "com.", "NS"), ("127.0.0.2", ".", "DNSKEY"),
        ("127.0.0.2", "nope.", "A"),
        ("127.0.0.3", "yada123.com.", "MX"), ("127.0.0.3", "signed123.com.", "MX"),
        ("127.0.0.3", "nope.com.", "A"), ("127.0.0.3", "10.2.0.11.in-addr.arpa.", "PTR"),
        ("127.0.0.4", "yada123.com.", "MX"), ("127.0.0.4", "mx1.yada123.com.", "AAAA"),
        ("127.0.0.4", "www.yada123.com.", "A"), ("127.0.0.4", "nope.yada123.com.", "A"),
        ("127.0.0.4", "onlya.yada123.com.", "AAAA"), ("127.0.0.4", "nomail.yada123.com.", "MX"),
        ("127.0.0.4", "cnamemx.yada123.com.", "MX"), ("127.0.0.4", "chase.yada123.com.", "MX"),
        ("127.0.0.4", "_submission._tcp.yada123.com.", "SRV"),
        ("127.0.0.4", "yada123.com.", "TXT"), ("127.0.0.4", "yada123.com.", "ANY"),
        ("127.0.0.4", "signed123.com.", "MX"), ("127.0.0.4", "mx1.signed123.com.", "A"),
        ("127.0.0.4", "nope.signed123.com.", "A"), ("127.0.0.4", "signed123.com.", "AAAA"),
        ("127.0.0.4", "_25._tcp.mx1.signed123.com.", "TLSA"),
        ("127.0.0.4", "signed123.com.", "DNSKEY"), ("127.0.0.4", "bogus123.com.", "MX"),
        ("127.0.0.4", "big.yada123.com.", "TXT"), ("127.0.0.4", "many.yada123.com.", "MX"),
        ("127.0.0.5", "host.mailhost.net.", "A"), ("127.0.0.5", "relay.mailhost.net.", "A"),
    ]
    n = 0
    for server, name, rdtype in asks:
        signed = server in ("127.0.0.2", "127.0.0.3") or "signed" in name or "bogus" in name
        for do in (False, True) if signed else (False,):
            q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=do, payload=1232)
            q.id = 0
            # The server's own bytes, not dnspython's re-encoding of them.
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(3)
                    s.sendto(q.to_wire(), (server, 53))
                    wire = s.recv(65535)
            except OSError as e:
                print("live: %s %s @%s: %s" % (name, rdtype, server, e), file=sys.stderr)
                continue
            if len(wire) >= MAX_SEED:
                continue
            fname = "live-%s-%s-%s%s.bin" % (server.split(".")[-1], name.strip(".") or "root",
                                             rdtype, "-do" if do else "")
            write("response", fname.replace("/", "_"), wire)
            n += 1
    print("live: %d responses" % n, file=sys.stderr)


# ---------------------------------------------------------------- control


def controls():
    reqs = {
        "ping": {"cmd": "ping"},
        "ping-extra-arg": {"cmd": "ping", "x": 1},
        "help": {"cmd": "help"},
        "stats": {"cmd": "stats"},
        "stats-histograms": {"cmd": "stats", "histograms": True},
        "stats-histograms-false": {"cmd": "stats", "histograms": False},
        "stats-histograms-bad": {"cmd": "stats", "histograms": "yes"},
        "stats-reset": {"cmd": "stats_reset"},
        "flush-all": {"cmd": "flush"},
        "flush-name": {"cmd": "flush", "name": "mx1.yada123.com."},
        "flush-name-type": {"cmd": "flush", "name": "mx1.yada123.com", "type": "AAAA"},
        "flush-name-type-num": {"cmd": "flush", "name": "yada123.com.", "type": 15},
        "flush-type-typeN": {"cmd": "flush", "name": "odd\\.name\\032with\\\\escapes\\255.example.",
                             "type": "TYPE65280"},
        "flush-root": {"cmd": "flush", "name": "."},
        "flush-type-only": {"cmd": "flush", "type": "MX"},
        "flush-bad-name": {"cmd": "flush", "name": "a..b"},
        "flush-name-not-string": {"cmd": "flush", "name": 42},
        "flush-bad-type": {"cmd": "flush", "name": "x.", "type": "BOGUS"},
        "flush-type-negative": {"cmd": "flush", "name": "x.", "type": -1},
        "flush-type-big": {"cmd": "flush", "name": "x.", "type": 65536},
        "flush-type-float": {"cmd": "flush", "name": "x.", "type": 1.5},
        "flush-long-label": {"cmd": "flush", "name": "x" * 64 + ".com"},
        "flush-long-name": {"cmd": "flush", "name": ".".join(["a" * 63] * 4) + "."},
        "flush-escapes": {"cmd": "flush", "name": "\\256.\\0.\\\\"},
        "dump": {"cmd": "dump"},
        "dump-limit": {"cmd": "dump", "limit": 2},
        "dump-limit-0": {"cmd": "dump", "limit": 0},
        "dump-limit-max": {"cmd": "dump", "limit": 100000},
        "dump-limit-over": {"cmd": "dump", "limit": 100001},
        "dump-limit-negative": {"cmd": "dump", "limit": -1},
        "dump-limit-string": {"cmd": "dump", "limit": "10"},
        "cache-list": {"cmd": "cache_list", "limit": 3},
        "route": {"cmd": "route", "domain": "yada123.com"},
        "route-no-domain": {"cmd": "route"},
        "spf": {"cmd": "spf", "domain": "spfsender.com"},
        "spf-no-domain": {"cmd": "spf"},
        "spf-bad-domain": {"cmd": "spf", "domain": "bad..name"},
        "unknown-cmd": {"cmd": "reboot"},
        "cmd-not-string": {"cmd": 7},
        "no-cmd": {"name": "x"},
        "unicode-cmd": {"cmd": "st\u00e4ts\u2603" * 20},
        "unicode-arg": {"cmd": "ping", "\u00e9" * 200: 1},
    }
    for name, req in reqs.items():
        write("control", name + ".json", json.dumps(req, ensure_ascii=False))
    raw = {
        "not-object": "[1, 2, 3]",
        "string": '"stats"',
        "bad-json": '{"cmd": "stats"',
        "duplicate-key": '{"cmd": "ping", "cmd": "stats"}',
        "nul-in-string": '{"cmd": "fl\\u0000ush"}',
        "trailing-newline": '{"cmd": "ping"}\n',
        "trailing-garbage": '{"cmd": "ping"} x',
        "deep": "[" * 500 + "]" * 500,
        "empty": "",
        "big-number": '{"cmd": "dump", "limit": 1e400}',
        "huge-int": '{"cmd": "dump", "limit": 99999999999999999999999}',
    }
    for name, text in raw.items():
        write("control", name + ".json", text)


# ---------------------------------------------------------------- cache files

FUZZ_WALL_MS = 1800000000000  # fuzz_persist.c's wall clock
ANCHOR = 0x0123456789ABCDEF


def persists():
    w = lambda n, d: write("persist", n, d)
    R = cachefile.Record
    saved = FUZZ_WALL_MS - 10000
    a = response("mx1.yada123.com.", "A", edns=False,
                 answer=[rr("mx1.yada123.com.", 3600, "A", "192.0.2.1", "192.0.2.2")])
    mx = response("yada123.com.", "MX", edns=False,
                  answer=[rr("yada123.com.", 3600, "MX",
                             "10 mx1.yada123.com.", "20 mx2.yada123.com.")])
    soa = rr("yada123.com.", 3600, "SOA",
             "ns1.yada123.com. hostmaster.yada123.com. 1 3600 900 604800 300")
    nx = response("nope.yada123.com.", "A", edns=False, rcode=dns.rcode.NXDOMAIN, authority=[soa])
    nodata = response("yada123.com.", "AAAA", edns=False, authority=[soa])
    ra = R(wname("mx1.yada123.com."), 1, a, 60000, 5000, answer_flags=cachefile.SECURE)
    rmx = R(wname("yada123.com."), 15, mx, 3000000, 600000, key_flags=cachefile.KEY_DO)
    rnx = R(wname("nope.yada123.com."), 1, nx, 30000)
    rnd = R(wname("yada123.com."), 28, nodata, 30000, answer_flags=cachefile.PREFETCHED)
    w("empty.bin", cachefile.write([], saved, ANCHOR))
    w("one-a.bin", cachefile.write([ra], saved, ANCHOR))
    w("four.bin", cachefile.write([ra, rmx, rnx, rnd], saved, ANCHOR))
    w("forged-ttl.bin", cachefile.write([ra._replace(left_ms=0xFFFFFFF0)], saved, ANCHOR))
    forged_key = ra._replace(name=wname("www.paypal.com."))
    w("forged-key.bin", cachefile.write([forged_key], saved, ANCHOR))
    w("future.bin", cachefile.write([ra], FUZZ_WALL_MS + 3600000, ANCHOR))
    w("count-over.bin", cachefile.header(saved, 5, ANCHOR) + cachefile.record(ra))
    w("truncated.bin", cachefile.write([ra, rmx], saved, ANCHOR)[:-20])


def https():
    """Request heads for fuzz_http: what scrapers send, and what they must not."""
    w = lambda name, data: write("http", name, data)  # noqa: E731
    w("prometheus.txt", "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9153\r\n"
      "User-Agent: Prometheus/2.45.0\r\nAccept: application/openmetrics-text;"
      "version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
      "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n")
    w("curl-head.txt", "HEAD /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/7.88\r\n\r\n")
    w("http10-lf.txt", "GET /metrics?x=1 HTTP/1.0\n\n")
    w("post-body.txt", "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
    w("not-found.txt", "GET / HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n")
    w("options-star.txt", "OPTIONS * HTTP/1.1\r\n\r\n")
    w("folded.txt", "GET /metrics HTTP/1.1\r\nX: a\r\n b\r\n\r\n")
    w("half.txt", "GET /metrics HTTP/1.1\r\nHost: x\r\n")
    w("version2.txt", "GET /metrics HTTP/2.0\r\n\r\n")
    w("obs-text.txt", b"GET /metrics HTTP/1.1\r\nX: \xc3\xa9\tz\r\n\r\n")


def hostile_responses():
    """The worst answers hostile.py builds, up to 64 KiB: regression inputs
    of fuzz_response (its work bound) rather than seeds."""
    d = os.path.join(REGRESSIONS, "response")
    os.makedirs(d, exist_ok=True)
    for name, build in hostile.ALL.items():
        with open(os.path.join(d, "hostile-%s.bin" % name), "wb") as f:
            f.write(build())


# ---------------------------------------------------------------- spf

SPF_RECORDS = {
    "all": "v=spf1 -all",
    "every-kind": "v=spf1 +all -include:a.example.com ~a ?a:b.example.com/24//64 mx/16 "
                  "mx:c.example.com//100 ptr ptr:d.example.com ip4:192.0.2.0/24 "
                  "ip6:2001:db8::/32 exists:e.example.com redirect=f.example.com "
                  "exp=g.example.com foo=bar",
    "macros": "v=spf1 exists:%{i}.%{l1r-}.x.example.com include:_spf.%{d} a:%%.example.com "
              "a:%_x.example.com mx:%-x.example.com/24 redirect=%{D2R+,/_=}.example.com",
    "bad-cidr": "v=spf1 a/33 ip4:192.0.2.1//64",
    "bad-macro": "v=spf1 a:%{x}.example.com",
    "dup-redirect": "v=spf1 redirect=a.example.com redirect=b.example.com",
    "unknown": "v=spf1 foo -all",
    "spf10": "v=spf10 -all",
    "spaces": "V=SpF1   INCLUDE:X.Example.COM.   -ALL   ",
    "ip6": "v=spf1 ip6:::ffff:192.0.2.1 ip6:2001:db8::/48 -all",
}

# A script answers each question with one line: a control byte ('0':
# NOERROR, two addresses), then TXT RDATAs or MX exchangers split at '|'.
SPF_SCRIPTS = {
    "include-a-mx": "0v=spf1 include:i.example.com a mx:m.example.com ~all\n"
                    "0v=spf1 a:x.example.com -all\n0\n0\n0\n0\n"
                    "0mx1.example.com|mx2.example.com|.\n0\n0\n0\n0\n",
    "two-records": "0v=spf1 -all|v=spf1 +all\n",
    "servfail": "0v=spf1 include:down.example.com a -all\n7\n0\n0\n",
    "voids": "0v=spf1 a:a.example.com a:b.example.com a:c.example.com -all\n6\n6\n\n\n\n\n",
    "redirect": "0v=spf1 redirect=r.example.com\n0v=spf1 redirect=s.example.com\n0v=spf1 ?all\n",
}

SPF_ZONES = {
    "appendix-a": "example.com TXT v=spf1 +mx a:colo.example.com/28 -all\n"
                  "example.com A 192.0.2.10\nexample.com MX mail-a.example.com\n"
                  "example.com MX mail-b.example.com\nmail-a.example.com A 192.0.2.129\n"
                  "example.org TXT v=spf1 include:example.com include:example.net -all\n"
                  "la.example.org TXT v=spf1 redirect=example.org\n"
                  "example.net TXT v=spf1 ?all\n",
    "loop": "a.example.com TXT v=spf1 include:b.example.com -all\n"
            "b.example.com TXT v=spf1 include:a.example.com -all\n",
    "limit": "example.com TXT v=spf1 a a a a a include:i.example.com a -all\n"
             "i.example.com TXT v=spf1 a a a a ~all\nexample.com A 192.0.2.1\n"
             "i.example.com NX\n",
    "multi-string": "example.com TXT v=spf1 ip4:192.0.2.0/24 in|clude:s.example.com ~all\n"
                    "s.example.com TXT v=spf1 exists:e.example.com -all\ne.example.com FAIL\n",
}


def txt_rdata(text):
    data = text.encode()
    return b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255]
                    for i in range(0, max(len(data), 1), 255))


def spfs():
    w = lambda n, d: write("spf", n, d)
    for name, text in SPF_RECORDS.items():
        w("text-" + name, text)
        w("rdata-" + name, txt_rdata(text))
    w("rdata-split", b"\x09v=spf1 in\x19clude:_spf.example.com -a\x02ll")
    for name, text in SPF_SCRIPTS.items():
        w("script-" + name, text)
    for name, text in SPF_ZONES.items():
        w("zone-" + name, text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--live", action="store_true", help="also ask the testnet.sh servers")
    args = ap.parse_args()
    queries()
    responses()
    controls()
    persists()
    https()
    hostile_responses()
    spfs()
    if args.live:
        live_responses()


if __name__ == "__main__":
    main()
