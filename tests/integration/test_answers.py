"""Answers through the resolver must match what the authoritative servers hold."""

import dns.flags
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from helpers import has_type, rdata_set, rrset_of


@pytest.mark.parametrize(
    "name,rdtype",
    [
        ("yada123.com.", "MX"),
        ("mx1.yada123.com.", "A"),
        ("mx1.yada123.com.", "AAAA"),
        ("mx2.mailhost.net.", "A"),  # out-of-zone exchanger
        ("mx2.mailhost.net.", "AAAA"),
        ("yada123.com.", "TXT"),  # SPF
        ("_dmarc.yada123.com.", "TXT"),
        ("_submission._tcp.yada123.com.", "SRV"),
        ("_25._tcp.mx1.signed123.com.", "TLSA"),
        ("signed123.com.", "MX"),
        ("1.2.0.11.in-addr.arpa.", "PTR"),
        ("2.2.0.11.in-addr.arpa.", "PTR"),
        ("nomail.yada123.com.", "MX"),  # RFC 7505 null MX
        ("cnamemx.yada123.com.", "MX"),  # exchanger is an alias; MX as is
        ("implicit.yada123.com.", "AAAA"),
    ],
)
def test_answer_matches_authoritative(client, name, rdtype):
    auth = rrset_of(client.auth(name, rdtype), name, rdtype)
    assert auth is not None, f"testnet has no {name} {rdtype}"
    r = client.query(name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR
    got = rrset_of(r, name, rdtype)
    assert got is not None, f"no {rdtype} for {name} in\n{r}"
    assert rdata_set(got) == rdata_set(auth)
    assert 0 < got.ttl <= auth.ttl
    assert r.flags & dns.flags.QR and r.flags & dns.flags.RA
    assert not r.flags & dns.flags.AA, "a recursive answer is not authoritative"


def test_mx_answer_contents(client):
    """Spelled out once, independent of the authoritative query helper."""
    r = client.query("yada123.com", "MX")
    mx = {(rd.preference, rd.exchange.to_text()) for rd in rrset_of(r, "yada123.com.", "MX")}
    assert mx == {(10, "mx1.yada123.com."), (20, "mx2.mailhost.net.")}


def test_cname_chain_followed_across_zones(client):
    r = client.query("www.yada123.com", "A")
    assert r.rcode() == dns.rcode.NOERROR
    www = rrset_of(r, "www.yada123.com.", "CNAME")
    web = rrset_of(r, "web.yada123.com.", "CNAME")
    assert www is not None and web is not None, str(r)
    assert [rd.target.to_text() for rd in www] == ["web.yada123.com."]
    assert [rd.target.to_text() for rd in web] == ["host.mailhost.net."]
    final = rrset_of(r, "host.mailhost.net.", "A")
    auth = rrset_of(client.auth("host.mailhost.net.", "A"), "host.mailhost.net.", "A")
    assert final is not None, str(r)
    assert rdata_set(final) == rdata_set(auth)


def test_nxdomain_has_soa(client):
    r = client.query("no-such-name.yada123.com", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert not r.answer
    soa = rrset_of(r, "yada123.com.", "SOA", "authority")
    assert soa is not None, str(r)
    # RFC 2308: the negative TTL is at most the SOA minimum (300).
    assert 0 < soa.ttl <= 300


def test_nodata_has_soa(client):
    r = client.query("onlya.yada123.com", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR
    assert not r.answer
    soa = rrset_of(r, "yada123.com.", "SOA", "authority")
    assert soa is not None, str(r)
    assert 0 < soa.ttl <= 300
    # ...while the A record is there.
    assert rrset_of(client.query("onlya.yada123.com", "A"), "onlya.yada123.com.", "A")


def test_implicit_mx_is_nodata_for_mx(client):
    """No MX at all: NODATA, and the addresses are what a mailer falls back to."""
    r = client.query("implicit.yada123.com", "MX")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert rrset_of(client.query("implicit.yada123.com", "A"), "implicit.yada123.com.", "A")


def test_nxdomain_in_tld(client):
    r = client.query("no-such-domain-123.com", "MX")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert rrset_of(r, "com.", "SOA", "authority") is not None, str(r)


def test_thousand_mx_records(client):
    """A 37 KB answer: only TCP can carry it, and every record must be there."""
    name = "many.yada123.com."
    auth = rrset_of(client.auth(name, "MX"), name, "MX")
    assert len(auth) == 1000
    r = client.query(name, "MX")
    got = rrset_of(r, name, "MX")
    assert got is not None and rdata_set(got) == rdata_set(auth)
    assert not has_type(r, "RRSIG")


def test_exchanger_addresses_after_mx(client):
    """The mail story: MX, then the exchangers' addresses, all resolvable."""
    r = client.query("yada123.com", "MX")
    for rd in rrset_of(r, "yada123.com.", "MX"):
        host = rd.exchange.to_text()
        for rdtype in ("A", "AAAA"):
            auth = rrset_of(client.auth(host, rdtype), host, rdtype)
            got = rrset_of(client.query(host, rdtype), host, rdtype)
            assert got is not None and rdata_set(got) == rdata_set(auth), (host, rdtype)
