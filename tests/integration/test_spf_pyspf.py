"""spf_walk against a real evaluator: pyspf (Debian's python3-spf).

Each tree is one zone in spf_fakezone.h's format. build/tests/spfwalk
walks it; pyspf evaluates the same zone through a fake DNSLookup, for a
client (198.51.100.99) that no mechanism of these trees matches. Both
must reach the same result; pyspf's count of DNS-querying terms must be
spf_walk's (plus the one pyspf counts before failing on the 11th); and
every question pyspf asks must be one spf_walk asked (pyspf, for an IPv4
client, asks A where spf_walk asks A and AAAA).

60 records, malformed and well-formed, are also put to both parsers:
permerror or not must agree.

Where they differ on purpose (pyspf's choice, RFC 7208's text) the case
says so and what is compared.
"""

import os
import subprocess
from pathlib import Path

import pytest

spf = pytest.importorskip("spf")

REPO = Path(__file__).resolve().parents[2]
SPFWALK = Path(os.environ.get("MXCACHED", REPO / "build" / "mxcached")).parent / "tests" / "spfwalk"
CLIENT = "198.51.100.99"
QTYPES = {1: "A", 15: "MX", 16: "TXT", 28: "AAAA"}


def walk(zone, domain):
    assert SPFWALK.exists(), f"{SPFWALK} not built (make unit builds it)"
    out = subprocess.run([str(SPFWALK), domain], input=zone, capture_output=True, text=True,
                         check=True, timeout=10).stdout
    res = {"lookups": set(), "nodes": []}
    for line in out.splitlines():
        word, _, rest = line.partition(" ")
        if word == "lookup":
            name, qtype, _rcode, _count = rest.split()
            res["lookups"].add((name, QTYPES[int(qtype)]))
        elif word == "node":
            res["nodes"].append(rest)
        else:
            res[word] = int(rest) if rest.isdigit() else rest
    return res


def load(zone):
    names = {}
    for line in zone.splitlines():
        if not line.strip():
            continue
        name, kind, *data = line.split(" ", 2)
        names.setdefault(name.lower(), []).append((kind, data[0] if data else ""))
    return names


def pyspf(zone, domain, monkeypatch):
    names = load(zone)
    asked = set()

    def lookup(name, qtype, strict=True, timeout=None):
        name = str(name).lower().rstrip(".")
        asked.add((name, qtype))
        recs = names.get(name)
        if recs is None or any(k == "NX" for k, _ in recs):
            return []
        if any(k == "FAIL" for k, _ in recs):
            raise spf.TempError("fake SERVFAIL")
        out = []
        for kind, data in recs:
            if kind != qtype:
                continue
            if kind == "TXT":
                out.append(((name, kind), [p.encode() for p in data.split("|")]))
            elif kind == "MX":
                out.append(((name, kind), (10, data)))
            else:
                out.append(((name, kind), data))
        return out

    monkeypatch.setattr(spf, "DNSLookup", lookup)
    q = spf.query(i=CLIENT, s="postmaster@" + domain, h="client.example", strict=True)
    result = q.check()[0]
    return result, q.lookups, asked


TEN = "".join(f"a{i}.example.com A 192.0.2.1\n" for i in range(12))

# name: (zone, domain, how the lookup counts compare)
#   "same":  pyspf.lookups == spf_walk's dns_terms
#   "limit": pyspf counts the 11th term before failing: dns_terms + 1
#   None:    not compared (pyspf stops at a temperror, goes round a loop)
TREES = {
    "appendix-a": (
        "example.com TXT v=spf1 +mx a:colo.example.com/28 -all\n"
        "example.com A 192.0.2.10\nexample.com MX mail-a.example.com\n"
        "example.com MX mail-b.example.com\nmail-a.example.com A 192.0.2.129\n"
        "mail-b.example.com A 192.0.2.130\n",
        "example.com", "same"),
    "appendix-a-redirect": (
        "example.com TXT v=spf1 +mx a:colo.example.com/28 -all\n"
        "example.com MX mail-a.example.com\nmail-a.example.com A 192.0.2.129\n"
        "example.org TXT v=spf1 include:example.com include:example.net -all\n"
        "la.example.org TXT v=spf1 redirect=example.org\n"
        "example.net TXT v=spf1 ?all\n",
        "la.example.org", "same"),
    "ten-lookups": (
        TEN + "example.com TXT v=spf1 a:a0.example.com a:a1.example.com include:i.example.com "
        "mx:a2.example.com exists:a3.example.com -all\n"
        "i.example.com TXT v=spf1 a:a4.example.com a:a5.example.com a:a6.example.com "
        "a:a7.example.com a:a8.example.com ~all\n"
        "a2.example.com MX a9.example.com\n",
        "example.com", "same"),
    "eleven-lookups": (
        TEN + "example.com TXT v=spf1 a:a0.example.com a:a1.example.com include:i.example.com "
        "mx:a2.example.com a:a10.example.com a:a11.example.com -all\n"
        "i.example.com TXT v=spf1 a:a4.example.com a:a5.example.com a:a6.example.com "
        "a:a7.example.com a:a8.example.com ~all\n"
        "a2.example.com MX a9.example.com\n",
        "example.com", "limit"),
    "two-voids": (
        "example.com TXT v=spf1 a:n1.example.com mx:n2.example.com ~all\n",
        "example.com", "same"),
    "three-voids": (
        "example.com TXT v=spf1 a:n1.example.com a:n2.example.com "
        "exists:n3.example.com a:n4.example.com -all\n",
        "example.com", "same"),
    "mx-exchanger-voids": (
        "example.com TXT v=spf1 mx ~all\nexample.com MX x1.example.com\n"
        "example.com MX x2.example.com\nexample.com MX x3.example.com\n"
        "x3.example.com A 192.0.2.1\nx1.example.com TXT nothing\nx2.example.com TXT x\n",
        "example.com", "same"),
    "include-nxdomain": (
        "example.com TXT v=spf1 include:gone.example.com -all\n", "example.com", "same"),
    "include-no-record": (
        "example.com TXT v=spf1 include:t.example.com -all\nt.example.com TXT hello\n",
        "example.com", "same"),
    "include-two-records": (
        "example.com TXT v=spf1 include:t.example.com -all\n"
        "t.example.com TXT v=spf1 -all\nt.example.com TXT v=spf1 ~all\n",
        "example.com", "same"),
    "include-bad-record": (
        "example.com TXT v=spf1 include:t.example.com -all\n"
        "t.example.com TXT v=spf1 ip4:192.0.2.1/33 -all\n",
        "example.com", "same"),
    "include-passes": (
        "example.com TXT v=spf1 -include:p.example.com +all\n"
        "p.example.com TXT v=spf1 exists:e.example.com -all\ne.example.com A 127.0.0.2\n",
        "example.com", "same"),
    "redirect-no-record": (
        "example.com TXT v=spf1 redirect=r.example.com\nr.example.com A 192.0.2.1\n",
        "example.com", "same"),
    "redirect-chain": (
        "example.com TXT v=spf1 a:a0.example.com redirect=r.example.com\n" + TEN +
        "r.example.com TXT v=spf1 mx:a1.example.com redirect=s.example.com\n"
        "a1.example.com MX a2.example.com\ns.example.com TXT v=spf1| ~all\n",
        "example.com", "same"),
    "mx-eleven": (
        "example.com TXT v=spf1 mx -all\n" +
        "".join(f"example.com MX m{i}.example.com\nm{i}.example.com A 192.0.2.{i}\n"
                for i in range(11)),
        "example.com", "same"),
    "multi-string": (
        "example.com TXT v=spf1 ip4:192.0.2.0/24 in|clude:_spf.example.com ~all\n"
        "_spf.example.com TXT v=spf1 ip6:2001:db8::/32 -all\n",
        "example.com", "same"),
    "loop": (
        "a.example.com TXT v=spf1 include:b.example.com -all\n"
        "b.example.com TXT v=spf1 include:a.example.com -all\n",
        "a.example.com", None),
    "temperror": (
        "example.com TXT v=spf1 include:down.example.com a:a0.example.com -all\n"
        "down.example.com FAIL\n" + TEN,
        "example.com", None),
    "neutral": ("example.com TXT v=spf1 a:a0.example.com ?mx:a0.example.com\n" + TEN,
                "example.com", "same"),
    "none": ("example.com TXT google-site-verification=x\n", "example.com", "same"),
}


@pytest.mark.parametrize("name", sorted(TREES))
def test_same_as_pyspf(name, monkeypatch):
    zone, domain, counts = TREES[name]
    mine = walk(zone, domain)
    result, lookups, asked = pyspf(zone, domain, monkeypatch)
    assert mine["result"] == result, (mine, result)
    if counts == "same":
        assert mine["dns_terms"] == lookups
    elif counts == "limit":
        assert mine["dns_terms"] == 10 and lookups == 11
    assert asked <= mine["lookups"], asked - mine["lookups"]


def test_trees_cover_every_outcome():
    """The trees exercise every result spf_walk reports for such a client."""
    seen = {walk(z, d)["result"] for z, d, _ in TREES.values()}
    assert seen >= {"none", "neutral", "pass", "fail", "softfail", "permerror",
                    "temperror"}, seen


def test_redirect_beside_all_differs(monkeypatch):
    """RFC 7208 §6.1: a redirect beside "all" is ignored, so it is no
    DNS-querying term. pyspf counts it anyway (it counts modifiers while
    parsing): one more than spf_walk, same result."""
    zone = "example.com TXT v=spf1 a:a0.example.com -all redirect=r.example.com\n" + TEN
    mine = walk(zone, "example.com")
    result, lookups, _ = pyspf(zone, "example.com", monkeypatch)
    assert (mine["result"], result) == ("fail", "fail")
    assert (mine["dns_terms"], lookups) == (1, 2)


# Records parsed by both: permerror or not must agree. The zone gives each
# one its domain and x.example.com, so lookups do not decide the result.
MALFORMED = [
    "v=spf1 -all\t", "v=spf1 a/33", "v=spf1 a//129", "v=spf1 a/024", "v=spf1 a/24/24",
    "v=spf1 a//64//64", "v=spf1 a//64/24", "v=spf1 mx/", "v=spf1 a:x.example.com/",
    "v=spf1 ip4:192.0.2.1/33", "v=spf1 ip4:192.0.2.1//64", "v=spf1 ip6:::1/129",
    "v=spf1 ip6:::1//64", "v=spf1 ip4:192.0.2", "v=spf1 ip4:01.2.3.4", "v=spf1 ip4:256.1.1.1",
    "v=spf1 ip4:1.2.3.4.5", "v=spf1 ip4:1.2.3.4x", "v=spf1 ip4", "v=spf1 ip6:192.0.2.1",
    "v=spf1 ip6:gggg::", "v=spf1 foo", "v=spf1 ipv4:192.0.2.1", "v=spf1 -all:x",
    "v=spf1 all/24", "v=spf1 include", "v=spf1 include:", "v=spf1 exists",
    "v=spf1 a:localhost", "v=spf1 a:192.0.2.1", "v=spf1 a:example.-com", "v=spf1 +-all",
    "v=spf1 redirect=", "v=spf1 redirect=a.example.com redirect=b.example.com",
    "v=spf1 exp=a.example.com exp=b.example.com", "v=spf1 =foo", "v=spf1 ptr/24",
    "v=spf1 include:x.example.com/24", "v=spf1 mx:example.com:25",
    "v=spf1 a:%{x}.example.com", "v=spf1 a:%{d", "v=spf1 a:%a.example.com", "v=spf1 a:%",
    "v=spf1 exists:%{c}.example.com", "v=spf1 exists:x.%{d}y", "v=spf1 a:%{d}.",
    "v=spf1 foo=%x",
]
WELL_FORMED = [
    "v=spf1 -all", "v=spf1 include=x foo= x-y_z.w=%{d} -all",
    "v=spf1 a:123-456.example.123-456 -all", "v=spf1 a:x.example.com. -all",
    "v=spf1 a:_spf.x.example.com/0//0 -all", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all",
    "V=SpF1   INCLUDE:X.Example.COM.   -ALL   ", "v=spf1 ip6:::ffff:192.0.2.1 -all",
    "v=spf1 a/0 mx//0 ~all", "v=spf1 exists:%{i}.%{l1r-}.x.example.com -all",
    "v=spf1 a:%%.example.com -all", "v=spf1 ?all", "v=spf1",
]


def parsed_by_both(record, monkeypatch):
    zone = (f"example.com TXT {record}\nexample.com A 192.0.2.1\n"
            "x.example.com A 192.0.2.1\nx.example.com TXT v=spf1 -all\n")
    return walk(zone, "example.com")["result"], pyspf(zone, "example.com", monkeypatch)[0]


@pytest.mark.parametrize("record", MALFORMED + WELL_FORMED)
def test_parser_agrees_with_pyspf(record, monkeypatch):
    mine, theirs = parsed_by_both(record, monkeypatch)
    assert (mine == "permerror") == (theirs == "permerror"), (mine, theirs)
    assert (mine == "permerror") == (record in MALFORMED)


def test_zero_digit_transformer_differs(monkeypatch):
    """RFC 7208 §7.3: a DIGIT transformer "MUST be nonzero": %{d0} is a
    permerror here; pyspf accepts it (it expands to the whole name)."""
    mine, theirs = parsed_by_both("v=spf1 a:%{d0}.example.com -all", monkeypatch)
    assert (mine, theirs) == ("permerror", "fail")
