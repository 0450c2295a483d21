"""Hardening against a misbehaving upstream: faults of an authoritative
server (silence, garbage, wrong IDs, SERVFAIL, TCP hang-ups) and serve-stale
(RFC 8767) when the server stops answering or answers SERVFAIL.

The server is fault_server.py's, for faulty.com. on 127.0.0.77:53, reached
through --stub; validation is off for these daemons (--trust-anchor none):
the zone is not in the signed test hierarchy.
"""

import time

import dns.message
import dns.rcode
import pytest

from fault_server import FaultServer
from helpers import TIMEOUT, Client, rrset_of, send_udp_query, wait_expired

pytestmark = pytest.mark.mxcache_only

QUERY_TIMEOUT = 1.0  # seconds, the daemons' --query-timeout
SLACK = 0.5
OTHER_NAME = "mx1.yada123.com."  # served by the testnet, not by the fault server


def _fault_daemon(start_mxcached, fault_server, *extra):
    return start_mxcached(
        "--stub",
        fault_server.stub,
        "--trust-anchor",
        "none",
        "--query-timeout",
        str(int(QUERY_TIMEOUT * 1000)),
        *extra,
    )


def _assert_answers(client, name=OTHER_NAME) -> float:
    """The daemon answers `name` (NOERROR, its A record); returns the latency."""
    t0 = time.monotonic()
    r = client.query(name, "A")
    elapsed = time.monotonic() - t0
    assert r.rcode() == dns.rcode.NOERROR and rrset_of(r, name, "A") is not None, r
    return elapsed


# mode -> the counter the lookup ends in
FAULTS = {
    "drop": "upstream.timeouts",  # silence: the client's deadline passes
    "wrongid": "upstream.timeouts",  # answers libunbound must ignore: the same
    "garbage": "upstream.failures",  # unparseable answers: libunbound gives up
    "servfail": "upstream.failures",
    "tcpclose": "upstream.failures",  # TC over UDP, then a hang-up over TCP
}


@pytest.mark.parametrize("mode", list(FAULTS))
def test_upstream_fault_is_servfail_in_time(start_mxcached, testnet, fault_server, mode):
    """Whatever the server does wrong, the client gets SERVFAIL within its
    --query-timeout, the failure is counted, and other names are answered
    meanwhile and afterwards."""
    res = _fault_daemon(start_mxcached, fault_server)
    client = Client(res, testnet)
    name = f"{mode}-1.{FaultServer.ZONE}"
    t0 = time.monotonic()
    s, q = send_udp_query(res, name, "A")
    with s:
        assert fault_server.wait_for(name, TIMEOUT), "the lookup never reached the server"
        other = _assert_answers(client)
        r = dns.message.from_wire(s.recv(65535))
        elapsed = time.monotonic() - t0
    assert r.id == q.id and r.rcode() == dns.rcode.SERVFAIL, r
    assert elapsed <= QUERY_TIMEOUT + SLACK, f"SERVFAIL after {elapsed:.3f} s"
    assert other < SLACK, f"another name took {other:.3f} s meanwhile"
    st = res.stats()
    counter = FAULTS[mode]
    (other_counter,) = {"upstream.timeouts", "upstream.failures"} - {counter}
    assert st[counter] == 1 and st[other_counter] == 0, st
    assert st["queries.by_rcode.SERVFAIL"] == 1, st
    transports = {r.transport for r in fault_server.received if r.name == name.lower()}
    assert transports == ({"udp", "tcp"} if mode == "tcpclose" else {"udp"}), transports
    _assert_answers(client, "h001.yada123.com.")  # a lookup of its own, after the fault


# How the server fails once the answers have expired -> the counter the
# lookup ends in: silence runs into the client's deadline, SERVFAIL makes the
# lookup itself fail. Serve-stale covers both (RFC 8767).
STALE_FAULTS = {"drop": "upstream.timeouts", "servfail": "upstream.failures"}


@pytest.mark.parametrize("serve_stale", ["yes", "no"])
def test_serve_stale_when_upstream_fails(start_mxcached, testnet, fault_server, serve_stale):
    """Answers cached with TTL 2 expire; then their server stops answering
    one name and answers SERVFAIL for another. With --serve-stale yes the
    next queries get the old data with the stale TTL (30), no later than the
    1 s deadline; without it, SERVFAIL."""
    res = _fault_daemon(start_mxcached, fault_server, "--serve-stale", serve_stale)
    client = Client(res, testnet)
    names = {mode: f"stale-{mode}.{FaultServer.ZONE}" for mode in STALE_FAULTS}
    for name in names.values():
        r = client.query(name, "A")
        rrset = rrset_of(r, name, "A")
        assert rrset is not None and rrset.ttl == fault_server.ttl, r
    wait_expired(res, time.time(), fault_server.ttl)
    for mode, counter in STALE_FAULTS.items():
        name = names[mode]
        fault_server.set_mode(name, mode)
        asked = fault_server.count(name)
        before = res.stats()
        t0 = time.monotonic()
        r = client.query(name, "A")
        elapsed = time.monotonic() - t0
        after = res.stats()
        assert fault_server.count(name) > asked, f"{name}: the expired entry was not looked up"
        assert after[counter] - before[counter] == 1, (mode, after)
        stale_served = after["cache.stale_served"] - before["cache.stale_served"]
        if serve_stale == "yes":
            assert r.rcode() == dns.rcode.NOERROR, (mode, r)
            stale = rrset_of(r, name, "A")
            assert stale is not None and {rd.address for rd in stale} == {FaultServer.ADDRESS}
            assert stale.ttl == 30, f"{mode}: stale TTL {stale.ttl}"
            assert elapsed <= QUERY_TIMEOUT + SLACK, f"{mode}: stale answer after {elapsed:.3f} s"
            assert stale_served == 1, mode
        else:
            assert r.rcode() == dns.rcode.SERVFAIL, (mode, r)
            assert stale_served == 0, mode
