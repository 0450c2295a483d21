"""Corners a DNS engineer checks: RD=0 (answered from the cache only, as
Unbound's default access control does), TTL clamps that reach what clients
see, and RFC 2308 lifetimes for CNAME chains that end in NODATA."""

import time

import dns.flags
import dns.rcode
import pytest

from helpers import Client, make_query, rrset_of, wait_for_stats

pytestmark = [pytest.mark.mxcache_only]


def _query(res, name, rdtype, rd=True):
    q = make_query(name, rdtype)
    if not rd:
        q.flags &= ~dns.flags.RD
    return Client(res, None).udp(q)


def test_rd0_is_answered_from_the_cache_only(start_mxcached):
    res = start_mxcached()
    before = res.stats()["upstream.queries"]
    r = _query(res, "mx1.yada123.com.", "A", rd=False)
    assert r.rcode() == dns.rcode.REFUSED
    assert res.stats()["upstream.queries"] == before, "an RD=0 question was recursed"
    assert rrset_of(_query(res, "mx1.yada123.com.", "A"), "mx1.yada123.com.", "A")
    r = _query(res, "mx1.yada123.com.", "A", rd=False)
    assert r.rcode() == dns.rcode.NOERROR
    assert rrset_of(r, "mx1.yada123.com.", "A") is not None
    assert not (r.flags & dns.flags.RD) and r.flags & dns.flags.RA


def test_min_ttl_reaches_the_records(start_mxcached, fault_server):
    """Unbound's cache-min-ttl: a 2 s record kept 600 s shows TTL 600, not
    a TTL that runs out long before the entry does."""
    res = start_mxcached(
        "--stub", fault_server.stub, "--trust-anchor", "none", "--cache-min-ttl", "600"
    )
    name = "minttl.faulty.com."
    first = rrset_of(_query(res, name, "A"), name, "A")
    assert first is not None and first.ttl == 600
    time.sleep(1.1)
    again = rrset_of(_query(res, name, "A"), name, "A")
    assert 598 <= again.ttl <= 599
    assert fault_server.count(name) == 1


def test_max_ttl_reaches_the_records(start_mxcached):
    res = start_mxcached("--cache-max-ttl", "300")
    r = _query(res, "mx3.mailhost.net.", "A")
    assert rrset_of(r, "mx3.mailhost.net.", "A").ttl == 300
    entry = [e for e in res.control_request({"cmd": "dump"})["entries"]
             if e["name"].lower().rstrip(".") == "mx3.mailhost.net" and e["type"] == "A"]
    assert entry and entry[0]["ttl"] <= 300, entry


def test_cname_to_nodata_lives_as_a_negative_answer(start_mxcached):
    """relay.mailhost.net. is a CNAME (TTL 3600) to a name without MX:
    NODATA after a CNAME is cached by RFC 2308 rules (SOA MINIMUM, here
    capped at 1 s), not for the CNAME's hour."""
    res = start_mxcached("--cache-max-negative-ttl", "1")
    r = _query(res, "relay.mailhost.net.", "MX")
    assert r.rcode() == dns.rcode.NOERROR
    assert rrset_of(r, "relay.mailhost.net.", "CNAME") is not None
    assert rrset_of(r, "mx2.mailhost.net.", "MX") is None
    # What the client sees follows the negative clamp too.
    assert all(rr.ttl <= 1 for rr in r.authority), r
    before = res.stats()["upstream.queries"]
    time.sleep(1.2)
    _query(res, "relay.mailhost.net.", "MX")
    st = wait_for_stats(res, lambda s: s["upstream.queries"] > before, 3)
    assert st["upstream.queries"] == before + 1
