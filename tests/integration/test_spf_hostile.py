"""The SPF chaser against a hostile zone (spf_server.py): however the
zone's records fan out and however busy the tree table is, one client
question costs a bounded number of upstream lookups."""

import socket

import pytest

from helpers import make_query, wait_for, wait_for_stats
from spf_server import SpfServer, fan_name

pytestmark = [pytest.mark.mxcache_only]


def _fire(res, names, rdtype="TXT"):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for name in names:
        sock.sendto(make_query(name, rdtype).to_wire(), (res.addr, res.port))
    sock.close()


def _fan_names(server) -> set:
    """The fan names the server was asked for (libunbound's retries of a
    late answer are the same name)."""
    with server._cond:
        return {r.name for r in server.received if r.name.startswith("fan-")}


def _fan_queries(server) -> int:
    return len(_fan_names(server))


def test_busy_tree_table_does_not_reset_a_trees_bound(start_mxcached, spf_server):
    """A tree's includes answer late; meanwhile other senders' SPF answers
    take every slot of the tree table (a busy server's normal traffic, or
    the attacker's). The late answers must not start trees of their own:
    each would fetch ten more, whose answers are again without a tree once
    a level holds more than the table (measured before the fix: 111 names
    after one flush; after two, a flood of 17,000 lookups in 11 s that
    held the 1000 background slots and went on by itself)."""
    spf_server.delay = 0.5
    res = start_mxcached("--stub", spf_server.stub, "--trust-anchor", "none")
    _fire(res, [fan_name()])
    # The root's includes asked (their answers are half a second away):
    # every slot of the table goes to a flat record meanwhile.
    wait_for(lambda: _fan_queries(spf_server), lambda n: n > 1, 3.0, "the includes asked")
    _fire(res, [f"flat-{i}.bomb." for i in range(100)])
    wait_for(lambda: spf_server.count_matching(lambda n: n.startswith("flat-")),
             lambda n: n >= 100, 3.0, "the flat records asked")
    idle = wait_for_stats(res, lambda s: s["upstream.in_flight"] == 0, 10.0)
    assert _fan_queries(spf_server) == 1 + SpfServer.FAN
    assert idle["chaser.spf.prefetches"] == SpfServer.FAN
    # Nor is an include target taken for a sender with a DMARC policy.
    assert spf_server.count_matching(lambda n: n.startswith("_dmarc.fan-")) == 1
