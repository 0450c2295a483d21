"""DNSSEC as a client sees it: AD, DO, CD, and bogus data.

signed123.com. validates from the test root key; bogus123.com. has a DS in
com. but broken signatures on its MX and A RRsets; yada123.com. is unsigned
(an insecure delegation)."""

import dns.flags
import dns.rcode
import pytest

from helpers import has_type, rdata_set, rrset_of

DNSSEC_TYPES = ("RRSIG", "NSEC", "NSEC3", "DS")


def test_secure_answer_with_do_has_ad_and_rrsig(client):
    r = client.query("signed123.com", "MX", do=True)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AD, "secure answer without AD"
    assert r.ednsflags & dns.flags.DO, "DO not echoed"
    assert rrset_of(r, "signed123.com.", "MX") is not None
    assert has_type(r, "RRSIG"), "DO set but no RRSIG in the answer"


def test_secure_answer_without_do_has_no_ad_no_rrsig(client):
    for edns in (False, True):
        r = client.query("signed123.com", "MX", edns=edns)
        assert r.rcode() == dns.rcode.NOERROR
        assert not r.flags & dns.flags.AD, f"AD without DO/AD (edns={edns})"
        assert rrset_of(r, "signed123.com.", "MX") is not None
        for t in DNSSEC_TYPES:
            for section in ("answer", "authority", "additional"):
                assert not has_type(r, t, section), f"{t} in {section} without DO"


def test_ad_bit_in_query_gets_ad_without_do(client):
    """RFC 6840 5.7: a client may ask for AD by setting AD (no DO needed)."""
    r = client.query("signed123.com", "MX", ad=True)
    assert r.flags & dns.flags.AD
    assert not has_type(r, "RRSIG"), "RRSIG without DO"


def test_secure_tlsa(client):
    name = "_25._tcp.mx1.signed123.com."
    r = client.query(name, "TLSA", do=True)
    assert r.flags & dns.flags.AD
    auth = rrset_of(client.auth(name, "TLSA"), name, "TLSA")
    assert rdata_set(rrset_of(r, name, "TLSA")) == rdata_set(auth)


def test_secure_negative_answers(client):
    r = client.query("no-such-name.signed123.com", "A", do=True)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.flags & dns.flags.AD
    assert has_type(r, "NSEC", "authority"), "DO set but no NSEC proof"
    r = client.query("no-such-name.signed123.com", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert not has_type(r, "NSEC", "authority") and not has_type(r, "RRSIG", "authority")


def test_insecure_answer_has_no_ad(client):
    r = client.query("yada123.com", "MX", do=True)
    assert r.rcode() == dns.rcode.NOERROR
    assert rrset_of(r, "yada123.com.", "MX") is not None
    assert not r.flags & dns.flags.AD, "unsigned zone answered with AD"


@pytest.mark.parametrize("name,rdtype", [("bogus123.com.", "MX"), ("mx1.bogus123.com.", "A")])
@pytest.mark.parametrize("do", [False, True])
def test_bogus_is_servfail(client, name, rdtype, do):
    r = client.query(name, rdtype, do=do)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert rrset_of(r, name, rdtype) is None, "bogus data handed out"


@pytest.mark.parametrize("do", [False, True])
def test_bogus_with_cd_gives_data_without_ad(client, do):
    name = "bogus123.com."
    r = client.query(name, "MX", cd=True, do=do)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.CD, "CD not echoed"
    assert not r.flags & dns.flags.AD
    auth = rrset_of(client.auth(name, "MX"), name, "MX")
    assert rdata_set(rrset_of(r, name, "MX")) == rdata_set(auth)
    # ...and CD does not poison the normal answer.
    assert client.query(name, "MX").rcode() == dns.rcode.SERVFAIL


def test_intact_rrset_in_bogus_zone_is_secure(client):
    """Only the MX and A signatures are broken: the SOA still validates,
    so SERVFAIL above comes from validation, not from a broken zone."""
    r = client.query("bogus123.com", "SOA", do=True)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AD
