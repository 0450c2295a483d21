"""The inbound chasers: what a receiving mail server asks after a PTR
answer (the names' addresses, for forward-confirmed reverse DNS) and after
an SPF record (the whole tree, bounded as an evaluator bounds it, and the
domain's DMARC record). Data: spfsender.com, spfprov.net and the reverse
entries 11.0.2.x of tests/testnet/testnet.sh.

Each test starts its own daemon: only answers from upstream set the
chasers off, so every test needs a cold cache."""

import dns.flags
import dns.rcode
import dns.resolver
import pytest

from conftest import _start_unbound, _stop
from helpers import Client, dump_cache, dumped, free_port, make_query, wait_for_stats

spf = pytest.importorskip("spf")

pytestmark = pytest.mark.mxcache_only

CLIENT_IP = "11.0.2.10"  # out.spfsender.com, matched by a:out
SENDERS = ["spfsender.com", "split.spfsender.com", "loop.spfsender.com", "many.spfsender.com",
           "macro.spfsender.com", "voids.spfsender.com", "nxinclude.spfsender.com",
           "double.spfsender.com", "nx.spfsender.com"]
PROVIDER = ["_spf.spfprov.net", "_netblocks.spfprov.net", "_netblocks3.spfprov.net"]


def idle(res) -> dict:
    """Stats once the background lookups are done (no reply says when)."""
    return wait_for_stats(res, lambda s: s["upstream.in_flight"] == 0, 5.0)


def cached(res, name, rdtype) -> bool:
    """Whether the daemon answers name/rdtype from its cache alone (RD=0)."""
    q = make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    return Client(res, None).udp(q).rcode() != dns.rcode.REFUSED


def started_by_clients(stats) -> int:
    """Upstream lookups a client waited for from the start (misses that
    joined no lookup already running, such as a chaser's)."""
    return stats["cache.misses"] - stats["upstream.coalesced"]


def test_ptr_answer_fetches_the_names_addresses(start_mxcached, testnet):
    res = start_mxcached()
    client = Client(res, testnet)
    r = client.query("13.2.0.11.in-addr.arpa", "PTR")
    assert len(r.answer[0]) == 2
    s = idle(res)
    assert s["chaser.ptr.answers"] == 1 and s["chaser.ptr.prefetches"] == 4
    for name in ("two-a.spfsender.com", "two-b.spfsender.com"):
        for rdtype in ("A", "AAAA"):
            assert cached(res, name, rdtype), (name, rdtype)
    # The forward confirmation is a hit, counted as the rule's.
    hits = res.stats()["chaser.ptr.prefetch_hits"]
    a = client.query("two-b.spfsender.com", "A")
    assert a.answer[0][0].address == "11.0.2.13"
    assert res.stats()["chaser.ptr.prefetch_hits"] == hits + 1


def test_ptr_classless_mismatch_and_missing(start_mxcached, testnet):
    res = start_mxcached()
    client = Client(res, testnet)
    # RFC 2317: the PTR sits behind a CNAME in the delegated 128-25 zone.
    r = client.query("129.2.0.11.in-addr.arpa", "PTR")
    assert r.answer[-1][0].target.to_text() == "classless.spfsender.com."
    # A name that does not lead back to the address is fetched all the same:
    # the mail server asks it to find out.
    client.query("11.2.0.11.in-addr.arpa", "PTR")
    s = idle(res)
    assert cached(res, "classless.spfsender.com", "A")
    assert cached(res, "mismatch.spfsender.com", "A")
    assert s["chaser.ptr.answers"] == 2
    # No PTR (NXDOMAIN): nothing to chase.
    assert client.query("12.2.0.11.in-addr.arpa", "PTR").rcode() == dns.rcode.NXDOMAIN
    assert idle(res)["chaser.ptr.prefetches"] == s["chaser.ptr.prefetches"]


def test_spf_answer_prefetches_every_level_and_dmarc(start_mxcached, testnet):
    res = start_mxcached()
    Client(res, testnet).query("spfsender.com", "TXT")
    s = idle(res)
    for name in PROVIDER:
        assert cached(res, name, "TXT"), name
    assert cached(res, "relay.spfprov.net", "A")  # a: three levels down
    assert cached(res, "spfsender.com", "MX")  # mx
    assert cached(res, "mx1.spfsender.com", "A")  # the MX rule's exchangers
    assert cached(res, "out.spfsender.com", "AAAA")  # a:out
    assert cached(res, "_dmarc.spfsender.com", "TXT")
    assert s["chaser.spf.answers"] == 4  # the sender and its three provider levels
    assert s["chaser.dmarc.prefetches"] == 1
    # No DMARC for the provider's records.
    assert not dumped(dump_cache(res), "_dmarc._spf.spfprov.net")


def test_spf_bounds(start_mxcached, testnet):
    res = start_mxcached()
    client = Client(res, testnet)
    for name in ("many.spfsender.com", "loop.spfsender.com", "macro.spfsender.com",
                 "voids.spfsender.com", "nxinclude.spfsender.com"):
        client.query(name, "TXT")
    idle(res)
    entries = dump_cache(res)
    # Ten DNS-querying terms: the eleventh is never asked.
    assert cached(res, "h10.many.spfsender.com", "A")
    assert not dumped(entries, "h11.many.spfsender.com")
    # The loop stops: each name once.
    assert len(dumped(entries, "loop.spfsender.com", "TXT")) == 1
    assert len(dumped(entries, "loop2.spfsender.com", "TXT")) == 1
    # Macro terms are not expanded or asked.
    assert not [e for e in entries if "%" in e["name"] or "_ip." in e["name"]]
    # A second round asks nothing new: the bound holds per tree.
    before = res.stats()["upstream.queries"]
    for name in ("many.spfsender.com", "loop.spfsender.com", "voids.spfsender.com"):
        client.query(name, "TXT")
    assert idle(res)["upstream.queries"] == before


def test_chasers_off_prefetch_nothing(start_mxcached, testnet):
    res = start_mxcached("--chase-ptr", "no", "--chase-spf", "no", "--chase-dmarc", "no",
                         "--mx-chase", "no")
    client = Client(res, testnet)
    client.query("spfsender.com", "TXT")
    client.query("13.2.0.11.in-addr.arpa", "PTR")
    s = idle(res)
    assert s["upstream.queries"] == 2
    for rule in ("mx", "tlsa", "ptr", "spf", "dmarc"):
        assert s[f"chaser.{rule}.prefetches"] == 0, rule
    assert not cached(res, "_spf.spfprov.net", "TXT")


def evaluate(res, domain, monkeypatch):
    """pyspf's check_host for CLIENT_IP and domain, through res."""
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [res.addr]
    r.port = res.port
    r.cache = None
    monkeypatch.setattr(dns.resolver, "default_resolver", r)
    q = spf.query(i=CLIENT_IP, s="postmaster@" + domain, h="client.example", strict=True)
    return q.check()[:2]


@pytest.fixture
def unbound(testnet):
    res = _start_unbound(testnet, free_port())
    yield res
    _stop(res)


def test_pyspf_same_results_as_unbound_and_hits(start_mxcached, unbound, testnet, monkeypatch):
    """A real evaluator gets Unbound's results through mxcached; with the
    chasers on, each of its lookups after the first is answered from the
    cache or from a lookup the chaser already started; with them off, each
    is a lookup of its own."""
    on = start_mxcached()
    off = start_mxcached("--chase-spf", "no", "--chase-dmarc", "no", "--mx-chase", "no")
    for domain in SENDERS:
        want = evaluate(unbound, domain, monkeypatch)
        assert evaluate(on, domain, monkeypatch) == want, domain
        assert evaluate(off, domain, monkeypatch) == want, domain
    assert evaluate(on, "spfsender.com", monkeypatch)[0] == "pass"
    assert evaluate(on, "many.spfsender.com", monkeypatch)[0] == "permerror"
    # The first evaluation of the main sender, on fresh daemons.
    on2 = start_mxcached()
    off2 = start_mxcached("--chase-spf", "no", "--chase-dmarc", "no", "--mx-chase", "no")
    assert evaluate(on2, "spfsender.com", monkeypatch) == evaluate(off2, "spfsender.com",
                                                                   monkeypatch)
    s_on, s_off = idle(on2), idle(off2)
    assert started_by_clients(s_on) == 1  # the sender's own TXT
    assert started_by_clients(s_off) >= 6  # TXT x4, MX, A of mx1 (and a:out's A)
    # Every later question was a hit on a chaser's entry or joined a
    # chaser's lookup still running (which, depends on the daemon's speed).
    hits = sum(s_on[f"chaser.{r}.prefetch_hits"] for r in ("mx", "ptr", "spf", "dmarc"))
    assert hits + s_on["upstream.coalesced"] == s_on["queries.total"] - 1
    assert s_on["queries.total"] >= 7


def test_ctl_spf_shows_the_tree_and_where_it_breaks(start_mxcached, testnet):
    res = start_mxcached()
    ok = res.control_request({"cmd": "spf", "domain": "spfsender.com"})
    assert ok["result"] == "fail" and ok["breaks"] is None, ok  # only -all matches
    assert ok["dns_terms"] == 6 and ok["dns_terms_limit"] == 10 and ok["voids"] == 0
    terms = [(t["depth"], t["term"]) for t in ok["terms"]]
    assert (2, "include:_netblocks3.spfprov.net") in terms
    assert (3, "a:relay.spfprov.net") in terms
    mx = next(t for t in ok["terms"] if t["term"] == "mx")
    assert {(lk["type"], lk["name"]) for lk in mx["lookups"]} >= {("MX", "spfsender.com"),
                                                                  ("A", "mx1.spfsender.com")}
    # Through the cache: a second walk asks upstream nothing.
    before = res.stats()["upstream.queries"]
    assert res.control_request({"cmd": "spf", "domain": "spfsender.com"}) == ok
    assert res.stats()["upstream.queries"] == before

    voids = res.control_request({"cmd": "spf", "domain": "voids.spfsender.com"})
    assert voids["result"] == "permerror" and voids["voids"] == 3
    assert voids["breaks"]["term"] == "exists:nx3.spfsender.com"
    nxinc = res.control_request({"cmd": "spf", "domain": "nxinclude.spfsender.com"})
    assert nxinc["result"] == "permerror"
    assert nxinc["breaks"] == {"term": "include:nx1.spfsender.com", "status": "nxdomain",
                               "depth": 0}
    double = res.control_request({"cmd": "spf", "domain": "double.spfsender.com"})
    assert double["result"] == "permerror" and double["breaks"]["status"] == "multiple"
    many = res.control_request({"cmd": "spf", "domain": "many.spfsender.com"})
    assert many["breaks"]["term"] == "a:h11.many.spfsender.com" and many["dns_terms"] == 10
    assert "error" in res.control_request({"cmd": "spf", "domain": "bad..name"})
    assert "error" in res.control_request({"cmd": "spf"})

    text = res.ctl("spf", "voids.spfsender.com")
    assert text.returncode == 0, text.stderr
    assert "SPF permerror" in text.stdout and "! breaks at exists:nx3.spfsender.com" in text.stdout
    assert "void lookups 3/2" in text.stdout
    js = res.ctl("--json", "spf", "spfsender.com")
    assert js.returncode == 0 and '"result": "fail"' in js.stdout
    bad = res.ctl("spf", "bad..name")
    assert bad.returncode != 0 and "not a domain name" in bad.stderr
