"""Caching: TTLs, repeat queries kept off the network, the MX chaser.

Each test uses names in yada123.com. that no other test asks for (aged, short,
cached, hit, chase), so "first query" really means a cold cache. Two ways of
seeing whether a query left the resolver:
  - the query counter of the NSD instance serving yada123.com. (works for any
    resolver; nsd-control over a Unix socket), and
  - mxcache's own stats on its control socket (mxcache only).
"""

import time
from dataclasses import dataclass

import dns.rcode
import pytest

from helpers import rdata_set, rrset_of

AUTH_TTL = 3600  # zone default in tests/testnet/testnet.sh


@dataclass
class FirstAnswer:
    ttl: int
    at: float  # time.monotonic() when the answer arrived


@pytest.fixture(scope="module")
def aged_first(client) -> FirstAnswer:
    """The first answer for aged.yada123.com, taken as early as possible so
    that later tests in this module find it a few seconds old."""
    r = client.query("aged.yada123.com", "A")
    return FirstAnswer(ttl=rrset_of(r, "aged.yada123.com.", "A").ttl, at=time.monotonic())


def _settled_count(testnet, server="MAIL", timeout=3.0) -> int:
    """NSD's query counter once it has stopped moving, so that stragglers of
    the previous resolution (e.g. address look-ups of name servers) are not
    blamed on the next query. Bounded: at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = testnet.nsd_query_count(server)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = testnet.nsd_query_count(server)
        if now == last:
            return now
        last = now
    pytest.fail(f"NSD {server} still receiving queries after {timeout}s")


def test_fresh_answer_has_authoritative_ttl(client, aged_first):
    auth = rrset_of(client.auth("aged.yada123.com.", "A"), "aged.yada123.com.", "A")
    assert auth.ttl == AUTH_TTL
    # Straight from upstream: the full TTL (a second may tick during the
    # resolution itself, hence the 1 s of slack below, never above).
    assert AUTH_TTL - 1 <= aged_first.ttl <= AUTH_TTL


def test_short_ttl_counts_down_and_refreshes(client):
    name = "short.yada123.com."
    first = rrset_of(client.query(name, "A"), name, "A")
    t0 = time.monotonic()
    assert first is not None and 0 <= first.ttl <= 2
    second = rrset_of(client.query(name, "A"), name, "A")
    assert second.ttl <= first.ttl, "TTL went up while cached"
    # Let the record expire (this wait is the behaviour under test), then it
    # must be fetched again: same data, TTL back within 0..2, never stale.
    time.sleep(max(0.0, 2.5 - (time.monotonic() - t0)))
    third = client.query(name, "A")
    assert third.rcode() == dns.rcode.NOERROR
    got = rrset_of(third, name, "A")
    assert got is not None and rdata_set(got) == rdata_set(first)
    assert 0 <= got.ttl <= 2


def test_cached_ttl_ages(client, aged_first):
    """A cached answer's TTL drops with time spent in cache."""
    elapsed = time.monotonic() - aged_first.at
    if elapsed < 1.5:  # only when this test runs on its own
        time.sleep(1.5 - elapsed)
        elapsed = time.monotonic() - aged_first.at
    r = client.query("aged.yada123.com", "A")
    ttl = rrset_of(r, "aged.yada123.com.", "A").ttl
    assert ttl < aged_first.ttl, "TTL not aged"
    # Whole-second clocks on both sides: allow a second either way.
    assert abs((aged_first.ttl - elapsed) - ttl) <= 1.5, (aged_first.ttl, elapsed, ttl)


def test_repeat_query_not_sent_upstream(client, testnet):
    name = "cached.yada123.com."
    before = testnet.nsd_query_count()
    first = client.query(name, "A")
    assert rrset_of(first, name, "A") is not None
    settled = _settled_count(testnet)
    assert settled > before, "the first query never reached NSD: counter broken?"
    for _ in range(5):
        r = client.query(name, "A")
        assert rdata_set(rrset_of(r, name, "A")) == rdata_set(rrset_of(first, name, "A"))
    assert testnet.nsd_query_count() == settled, "repeat query went upstream"


@pytest.mark.mxcache_only
def test_repeat_query_is_a_cache_hit(client, resolver):
    """mxcache's stats: the second query is a hit and causes no upstream query."""
    name = "hit.yada123.com."
    client.query(name, "A")
    s1 = resolver.stats()
    r = client.query(name, "A")
    s2 = resolver.stats()
    assert rrset_of(r, name, "A") is not None
    assert s2["queries.total"] == s1["queries.total"] + 1
    assert s2["cache.hits"] == s1["cache.hits"] + 1
    assert s2["upstream.queries"] == s1["upstream.queries"]
