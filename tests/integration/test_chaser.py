"""The MX-chaser: after an MX answer arrives from upstream, the exchangers'
A and AAAA (and TLSA, for a secure MX set) are fetched at once, so the mail
server's next questions are cache hits. Also the additional section of MX
replies and the `route` control command.

Each test flushes the names it uses first: the session's daemon is shared,
and only an answer from upstream (not a cache hit) sets the chaser off."""

import time

import dns.flags
import dns.rdatatype
import pytest

from helpers import Client, rdata_set, rrset_of

pytestmark = pytest.mark.mxcache_only


def flush(resolver, *names):
    for name in names:
        answer = resolver.control_request({"cmd": "flush", "name": name})
        assert answer.get("ok") is True, answer


def wait_idle(resolver, timeout=5.0) -> dict:
    """Stats once no upstream lookup is running any more (the chaser's work
    is background work: there is no reply to wait for)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = resolver.stats()
        if stats["upstream.in_flight"] == 0:
            return stats
        if time.monotonic() > deadline:
            pytest.fail(f"lookups still in flight after {timeout}s: {stats['upstream.in_flight']}")
        time.sleep(0.02)


def cached(resolver, name, rdtype) -> bool:
    entries = resolver.control_request({"cmd": "dump", "limit": 100000})["entries"]
    return any(e["name"] == name and e["type"] == rdtype for e in entries)


def delta(after: dict, before: dict, key: str) -> int:
    return after[key] - before[key]


def test_mx_answer_prefetches_exchanger_addresses(client, resolver, testnet):
    """After one MX query the exchangers' A and AAAA are in the cache; the
    mail server's follow-up queries are hits that go nowhere upstream."""
    hosts = ["mxa.chase.yada123.com.", "mxb.chase.yada123.com."]
    flush(resolver, "chase.yada123.com", *hosts)
    s0 = resolver.stats()
    r = client.query("chase.yada123.com", "MX")
    got = sorted(rd.exchange.to_text() for rd in rrset_of(r, "chase.yada123.com.", "MX"))
    assert got == hosts
    s1 = wait_idle(resolver)
    assert delta(s1, s0, "mx_chaser.mx_answers") == 1
    assert delta(s1, s0, "mx_chaser.exchangers") == 2
    assert delta(s1, s0, "mx_chaser.prefetches") == 4
    for host in hosts:
        for rdtype in ("A", "AAAA"):
            assert cached(resolver, host, rdtype), (host, rdtype)

    for host in hosts:
        for rdtype in ("A", "AAAA"):
            got = rrset_of(client.query(host, rdtype), host, rdtype)
            auth = rrset_of(client.auth(host, rdtype), host, rdtype)
            assert got is not None and rdata_set(got) == rdata_set(auth), (host, rdtype)
    s2 = resolver.stats()
    assert delta(s2, s1, "cache.hits") == 4
    assert delta(s2, s1, "upstream.queries") == 0
    assert delta(s2, s1, "mx_chaser.prefetch_hits") == 4


def test_second_mx_answer_skips_cached_exchangers(client, resolver):
    """An MX answer whose exchangers are cached and fresh starts nothing."""
    flush(resolver, "chase.yada123.com", "mxa.chase.yada123.com", "mxb.chase.yada123.com")
    client.query("chase.yada123.com", "MX")
    s1 = wait_idle(resolver)
    flush(resolver, "chase.yada123.com")
    client.query("chase.yada123.com", "MX")
    s2 = wait_idle(resolver)
    assert delta(s2, s1, "mx_chaser.prefetches") == 0
    assert delta(s2, s1, "mx_chaser.skipped_cached") == 4


def test_null_mx_chases_nothing(client, resolver):
    flush(resolver, "nomail.yada123.com")
    s0 = resolver.stats()
    r = client.query("nomail.yada123.com", "MX")
    assert [rd.exchange.to_text() for rd in rrset_of(r, "nomail.yada123.com.", "MX")] == ["."]
    s1 = wait_idle(resolver)
    assert delta(s1, s0, "mx_chaser.null_mx") == 1
    assert delta(s1, s0, "mx_chaser.prefetches") == 0
    assert delta(s1, s0, "upstream.queries") == 1


def test_cname_exchanger_is_followed(client, resolver, testnet):
    """cnamemx's exchanger alias.yada123.com is a CNAME to mx1: the chased A
    answer holds the whole chain, and the client's query is a hit."""
    flush(resolver, "cnamemx.yada123.com", "alias.yada123.com")
    client.query("cnamemx.yada123.com", "MX")
    s1 = wait_idle(resolver)
    assert cached(resolver, "alias.yada123.com.", "A")
    r = client.query("alias.yada123.com", "A")
    s2 = resolver.stats()
    assert rrset_of(r, "alias.yada123.com.", "CNAME") is not None
    a = rrset_of(r, "mx1.yada123.com.", "A")
    assert rdata_set(a) == rdata_set(
        rrset_of(client.auth("mx1.yada123.com", "A"), "mx1.yada123.com.", "A")
    )
    assert delta(s2, s1, "upstream.queries") == 0


def test_thousand_mx_stays_within_caps(client, resolver):
    """1000 exchangers: only the cap (10 by default) is chased."""
    flush(resolver, "many.yada123.com")
    s0 = resolver.stats()
    r = client.query("many.yada123.com", "MX")
    assert len(rrset_of(r, "many.yada123.com.", "MX")) == 1000
    s1 = wait_idle(resolver)
    assert delta(s1, s0, "mx_chaser.exchangers") == 10
    assert delta(s1, s0, "mx_chaser.capped") == 990
    assert delta(s1, s0, "mx_chaser.prefetches") <= 20
    assert delta(s1, s0, "upstream.queries") <= 21


def test_mx_chase_max_flag(start_mxcached):
    daemon = start_mxcached("--mx-chase-max", "3")
    probe = Client(daemon, None)
    probe.query("many.yada123.com", "MX")
    stats = wait_idle(daemon)
    assert stats["mx_chaser.exchangers"] == 3
    assert stats["mx_chaser.capped"] == 997
    assert stats["mx_chaser.prefetches"] == 6


def test_implicit_mx(client, resolver):
    """No MX at a name that exists (NODATA): the name is its own exchanger
    (RFC 5321 5.1), so its own A and AAAA are fetched."""
    flush(resolver, "implicit.yada123.com")
    s0 = resolver.stats()
    r = client.query("implicit.yada123.com", "MX")
    assert r.rcode() == 0 and not r.answer
    s1 = wait_idle(resolver)
    assert delta(s1, s0, "mx_chaser.implicit_mx") == 1
    assert cached(resolver, "implicit.yada123.com.", "A")
    assert cached(resolver, "implicit.yada123.com.", "AAAA")


def test_nxdomain_chases_nothing(client, resolver):
    s0 = resolver.stats()
    r = client.query("no-such-domain.yada123.com", "MX")
    assert r.rcode() == 3
    s1 = wait_idle(resolver)
    assert delta(s1, s0, "mx_chaser.prefetches") == 0
    assert delta(s1, s0, "mx_chaser.implicit_mx") == 0


def test_tlsa_prefetched_for_secure_mx(client, resolver):
    """DANE: a secure MX set gets its _25._tcp TLSA records fetched too."""
    flush(resolver, "signed123.com", "mx1.signed123.com", "_25._tcp.mx1.signed123.com")
    client.query("signed123.com", "MX")
    s1 = wait_idle(resolver)
    assert cached(resolver, "_25._tcp.mx1.signed123.com.", "TLSA")
    r = client.query("_25._tcp.mx1.signed123.com", "TLSA", ad=True)
    s2 = resolver.stats()
    assert r.flags & dns.flags.AD
    got = rrset_of(r, "_25._tcp.mx1.signed123.com.", "TLSA")
    auth = rrset_of(
        client.auth("_25._tcp.mx1.signed123.com", "TLSA"), "_25._tcp.mx1.signed123.com.", "TLSA"
    )
    assert got is not None and rdata_set(got) == rdata_set(auth)
    assert delta(s2, s1, "upstream.queries") == 0


def test_no_tlsa_for_insecure_mx(client, resolver):
    flush(resolver, "yada123.com", "mx1.yada123.com", "mx2.mailhost.net")
    client.query("yada123.com", "MX")
    wait_idle(resolver)
    assert cached(resolver, "mx1.yada123.com.", "A")
    assert not cached(resolver, "_25._tcp.mx1.yada123.com.", "TLSA")


def test_additional_section_has_exchanger_addresses(client, resolver):
    """An MX reply carries the cached addresses of its exchangers, the
    out-of-zone one included, equal to the authoritative data."""
    flush(resolver, "yada123.com", "mx1.yada123.com", "mx2.mailhost.net")
    client.query("yada123.com", "MX")
    wait_idle(resolver)
    r = client.query("yada123.com", "MX", edns=True)
    assert not r.flags & dns.flags.TC
    for host in ("mx1.yada123.com.", "mx2.mailhost.net."):
        for rdtype in ("A", "AAAA"):
            extra = rrset_of(r, host, rdtype, section="additional")
            auth = rrset_of(client.auth(host, rdtype), host, rdtype)
            assert extra is not None and rdata_set(extra) == rdata_set(auth), (host, rdtype)


def test_additional_section_never_truncates(client, resolver):
    """Without EDNS (512 bytes) the answer stays whole and TC stays clear;
    additional records are added only as far as they fit."""
    client.query("many.yada123.com", "MX")  # fills the exchangers' cache entries
    wait_idle(resolver)
    r = client.udp(dns.message.make_query("chase.yada123.com", "MX", use_edns=False))
    assert not r.flags & dns.flags.TC
    assert len(r.to_wire()) <= 512
    assert len(rrset_of(r, "chase.yada123.com.", "MX")) == 2


def test_chaser_off(start_mxcached):
    daemon = start_mxcached("--mx-chase", "no", "--mx-additional", "no")
    probe = Client(daemon, None)
    probe.query("yada123.com", "MX")
    s1 = wait_idle(daemon)
    assert s1["mx_chaser.prefetches"] == 0
    assert s1["upstream.queries"] == 1
    probe.query("mx2.mailhost.net", "A")
    assert daemon.stats()["upstream.queries"] == 2
    # mx2 is cached now, but out of zone: only mxcached would add it (libunbound
    # adds in-zone addresses it happens to hold), and it is told not to.
    r = probe.query("yada123.com", "MX", edns=True)
    assert rrset_of(r, "mx2.mailhost.net.", "A", section="additional") is None


# --------------------------------------------------------------- route


def route(resolver, domain) -> dict:
    answer = resolver.control_request({"cmd": "route", "domain": domain})
    assert "error" not in answer, answer
    return answer


def test_route_two_exchangers(client, resolver):
    r = route(resolver, "yada123.com")
    assert r["rcode"] == "NOERROR" and r["secure"] is False
    assert not r["null_mx"] and not r["implicit_mx"]
    assert [(x["preference"], x["name"]) for x in r["exchangers"]] == [
        (10, "mx1.yada123.com."),
        (20, "mx2.mailhost.net."),
    ]
    for x in r["exchangers"]:
        assert "problem" not in x
        for rdtype in ("A", "AAAA"):
            auth = rrset_of(client.auth(x["name"], rdtype), x["name"], rdtype)
            got = {a["address"] for a in x["addresses"] if a["type"] == rdtype}
            assert got == {rd.to_text() for rd in auth}
            assert all(0 < a["ttl"] <= auth.ttl for a in x["addresses"])


def test_route_secure(resolver):
    r = route(resolver, "signed123.com")
    assert r["secure"] is True
    assert r["exchangers"][0]["a"]["secure"] is True


def test_route_null_mx(resolver):
    r = route(resolver, "nomail.yada123.com")
    assert r["null_mx"] is True and r["exchangers"] == []
    assert "no mail" in r["problem"]


def test_route_implicit_mx(resolver):
    r = route(resolver, "implicit.yada123.com")
    assert r["implicit_mx"] is True
    assert [x["name"] for x in r["exchangers"]] == ["implicit.yada123.com."]
    assert {a["type"] for a in r["exchangers"][0]["addresses"]} == {"A", "AAAA"}


def test_route_cname_exchanger_is_flagged(resolver):
    r = route(resolver, "cnamemx.yada123.com")
    (x,) = r["exchangers"]
    assert x["name"] == "alias.yada123.com."
    assert "CNAME" in x["problem"]


def test_route_nxdomain(resolver):
    r = route(resolver, "no-such-domain.yada123.com")
    assert r["rcode"] == "NXDOMAIN" and "not exist" in r["problem"]


def test_route_bogus_is_servfail(resolver):
    r = route(resolver, "bogus123.com")
    assert r["rcode"] == "SERVFAIL" and "problem" in r


def test_route_answers_in_order_on_one_connection(resolver):
    """A route still resolving holds back the requests behind it, so
    answers come in request order."""
    flush(resolver, "chase.yada123.com")
    with resolver.control_connection() as conn:
        conn.send(b'{"cmd": "route", "domain": "chase.yada123.com"}\n{"cmd": "ping"}\n')
        first, second = conn.read_answer(), conn.read_answer()
    assert first["domain"] == "chase.yada123.com."
    assert second == {"pong": True}


def test_route_bad_domain(resolver):
    answer = resolver.control_request({"cmd": "route", "domain": "a..b"})
    assert "error" in answer


def test_ctl_route(resolver):
    out = resolver.ctl("route", "yada123.com")
    assert out.returncode == 0, out.stderr
    assert "mx1.yada123.com." in out.stdout and "mx2.mailhost.net." in out.stdout
