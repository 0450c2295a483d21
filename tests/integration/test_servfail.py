"""SERVFAILs that explain themselves (--log-servfail, on by default): each
one is counted by reason (servfail.<reason>) and logged with the question
and what mxcached knows, at most 10 lines a second."""

import os
import socket

import dns.rcode
import pytest

from helpers import Client, make_query

pytestmark = [pytest.mark.mxcache_only]


def _fault_daemon(start_mxcached, fault_server, *extra):
    return start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none", *extra)


def test_bogus_names_libunbounds_reason(start_mxcached):
    res = start_mxcached()
    r = Client(res, None).query("mx1.bogus123.com.", "A")
    assert r.rcode() == dns.rcode.SERVFAIL
    line = res.wait_for_log(r"SERVFAIL mx1\.bogus123\.com\. A: DNSSEC validation failed", 5)
    assert line and "[bogus]" in line and "1 client" in line, res.stderr_text()
    # libunbound's why_bogus comes along.
    assert "validation failure" in line or "signature" in line, line
    assert res.stats()["servfail.bogus"] == 1


def test_dead_servers_and_deadline(start_mxcached, fault_server):
    res = _fault_daemon(start_mxcached, fault_server, "--query-timeout", "500")
    client = Client(res, None)
    assert client.query("servfail-1.faulty.com.", "A").rcode() == dns.rcode.SERVFAIL
    assert res.wait_for_log(r"SERVFAIL servfail-1\.faulty\.com\. A: recursion found no usable "
                            r"answer \[upstream\]", 5), res.stderr_text()
    assert client.query("drop-1.faulty.com.", "A").rcode() == dns.rcode.SERVFAIL
    assert res.wait_for_log(r"SERVFAIL drop-1\.faulty\.com\. A: no answer within "
                            r"--query-timeout \[deadline\]", 5), res.stderr_text()
    st = res.stats()
    assert st["servfail.upstream"] == 1 and st["servfail.deadline"] == 1, st
    assert st["queries.by_rcode.SERVFAIL"] == 2


def test_zone_share_is_explained(start_mxcached, fault_server):
    fault_server.delay = 2.0
    res = _fault_daemon(start_mxcached, fault_server, "--zone-max-inflight", "1")
    client = Client(res, None)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(make_query("slow-1.faulty.com.", "A").to_wire(), (res.addr, res.port))
    assert fault_server.wait_for("slow-1.faulty.com.", 5)
    assert client.query("other.faulty.com.", "A").rcode() == dns.rcode.SERVFAIL
    sock.close()
    assert res.wait_for_log(r"SERVFAIL other\.faulty\.com\. A: the zone holds its share", 5)
    assert res.stats()["servfail.zone_share"] == 1


def test_off_counts_but_does_not_log(start_mxcached, fault_server):
    res = _fault_daemon(start_mxcached, fault_server, "--log-servfail", "no")
    assert Client(res, None).query("servfail-2.faulty.com.", "A").rcode() == dns.rcode.SERVFAIL
    assert res.stats()["servfail.upstream"] == 1
    assert "SERVFAIL servfail-2" not in res.stderr_text()


@pytest.mark.load  # the limit is per second: valgrind's slowness would spread the lines
def test_lines_are_rate_limited(start_mxcached, fault_server):
    res = _fault_daemon(start_mxcached, fault_server)
    client = Client(res, None)
    for i in range(30):
        name = f"servfail-{os.urandom(4).hex()}.faulty.com."
        assert client.query(name, "A").rcode() == dns.rcode.SERVFAIL
    st = res.stats()
    lines = [l for l in res.stderr_lines if "SERVFAIL servfail-" in l]
    assert st["servfail.upstream"] == 30
    # At most 10 a second: 30 SERVFAILs in under 3 s leave some out.
    assert 10 <= len(lines) < 30, len(lines)
