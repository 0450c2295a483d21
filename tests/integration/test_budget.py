"""What one zone may cost: the per-zone budget of lookups in flight and of
background work, and the jostle that makes room when the in-flight table
is full. The hostile zone is the fault server's faulty.com. (see
fault_server.py; reached through --stub with validation off, since the test
com. zone does not delegate it); legitimate lookups go to the NSD
hierarchy."""

import os
import socket
import time

import dns.message
import dns.rcode
import pytest

from helpers import Client, instrumented, make_query, rrset_of, rss_kib, wait_for_stats

pytestmark = [pytest.mark.mxcache_only]


def _random_label() -> str:
    return os.urandom(6).hex()


def _fire(res, names, rdtype="A") -> socket.socket:
    """Sends one query per name over UDP without waiting; the socket is
    returned so the answers can be read (or ignored)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for name in names:
        sock.sendto(make_query(name, rdtype).to_wire(), (res.addr, res.port))
    return sock


def _read_rcodes(sock, want: int, timeout: float) -> dict:
    rcodes = {}
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while sum(rcodes.values()) < want and time.monotonic() < deadline:
        try:
            r = dns.message.from_wire(sock.recv(65535))
        except socket.timeout:
            continue
        rcodes[r.rcode()] = rcodes.get(r.rcode(), 0) + 1
    return rcodes


def test_mx_flood_cannot_turn_into_a_flood_against_the_exchangers_zone(
    start_mxcached, fault_server
):
    """Each MX answer names ten never-seen exchangers in the victim's zone:
    without a budget, 200 MX lookups would be 4000 background lookups
    there. The zone's background budget (in flight and per second) holds
    them, and says so in the counters."""
    rate, in_flight = 40, 16
    res = start_mxcached(
        "--stub", fault_server.stub, "--trust-anchor", "none",
        "--chase-zone-rate", str(rate), "--chase-zone-max", str(in_flight),
    )
    names = [f"mxflood-{_random_label()}.faulty.com." for _ in range(200)]
    t0 = time.monotonic()
    sock = _fire(res, names, "MX")
    rcodes = _read_rcodes(sock, len(names), 10)
    elapsed = time.monotonic() - t0
    sock.close()
    assert rcodes.get(dns.rcode.NOERROR, 0) == len(names), rcodes
    st = wait_for_stats(res, lambda s: s["upstream.distinct_in_flight"] == 0, 10)
    exchanger_lookups = fault_server.count_matching(lambda n: n.startswith("x"))
    seconds = time.monotonic() - t0
    print(
        f"\n200 MX answers in {elapsed:.2f} s named {200 * 10} exchangers: "
        f"{st['mx_chaser.prefetches']} chased, {st['mx_chaser.zone_budget']} over the zone's "
        f"budget, {exchanger_lookups} lookups reached the zone in {seconds:.2f} s"
    )
    # Every exchanger was considered; all but the budget's worth were skipped.
    assert st["mx_chaser.exchangers"] == 200 * 10
    assert st["mx_chaser.zone_budget"] > 0
    assert st["mx_chaser.prefetches"] + st["mx_chaser.zone_budget"] + st[
        "mx_chaser.background_full"
    ] + st["mx_chaser.skipped_running"] + st["mx_chaser.skipped_cached"] == 200 * 10 * 2
    # The zone saw at most the per-second budget (one more second's worth
    # for the window the flood started in) plus what was in flight.
    assert st["mx_chaser.prefetches"] <= rate * (int(seconds) + 2) + in_flight
    # libunbound may retry a name, but never asks for one we did not chase.
    assert exchanger_lookups <= 3 * st["mx_chaser.prefetches"]


def test_mx_chase_max_zero_chases_nothing(start_mxcached, fault_server):
    res = start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none", "--trust-anchor", "none", "--mx-chase-max", "0")
    r = Client(res, None).query(f"mxflood-{_random_label()}.faulty.com.", "MX")
    assert rrset_of(r, r.question[0].name, "MX") is not None
    st = res.stats()
    assert st["mx_chaser.prefetches"] == 0 and st["mx_chaser.exchangers"] == 0, st


def test_over_the_exchanger_limit_is_counted_apart(start_mxcached, fault_server):
    res = start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none", "--trust-anchor", "none", "--mx-chase-max", "3")
    Client(res, None).query(f"mxflood-{_random_label()}.faulty.com.", "MX")
    st = wait_for_stats(res, lambda s: s["upstream.distinct_in_flight"] == 0, 10)
    assert st["mx_chaser.over_limit"] == 10 - 3
    assert st["mx_chaser.exchangers"] == 3 and st["mx_chaser.prefetches"] == 6
    assert st["mx_chaser.background_full"] == 0 and st["mx_chaser.zone_budget"] == 0


@pytest.mark.load
def test_slow_flood_in_one_zone_leaves_room_for_other_zones(start_mxcached, fault_server):
    """A flood of never-seen names in one slow zone (answers 2 s late)
    against a small in-flight table: the zone gets its share, the others
    keep theirs. Legitimate never-seen names in other zones are answered
    as fast as they resolve, cached names at once."""
    fault_server.delay = 2.0
    res = start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none", "--trust-anchor", "none", "--max-inflight", "200")
    legit = Client(res, None)
    legit.query("mx1.yada123.com.", "A")  # cached from here on
    flood = _fire(res, [f"slow-{_random_label()}.faulty.com." for _ in range(1000)])
    try:
        slowest = 0.0
        for i in range(20):
            t0 = time.monotonic()
            r = legit.query(f"never-{i}-{_random_label()}.yada123.com.", "A")
            slowest = max(slowest, time.monotonic() - t0)
            assert r.rcode() == dns.rcode.NXDOMAIN, r
            t0 = time.monotonic()
            r = legit.query("mx1.yada123.com.", "A")
            assert rrset_of(r, "mx1.yada123.com.", "A") is not None
            assert time.monotonic() - t0 < 0.1
        st = res.stats()
        rss_mib = rss_kib(res.proc.pid) / 1024
    finally:
        flood.close()
    print(f"\nlegitimate never-seen lookups during the flood: slowest {slowest * 1000:.0f} ms; "
          f"zone_capped {st['upstream.zone_capped']}, overflow {st['upstream.overflow']}")
    assert slowest < 1.0
    # The zone's share is an eighth of the table.
    assert st["upstream.zone_capped"] >= 1000 - 200 // 8 - 10
    assert st["upstream.overflow"] == 0
    # README's bound: 15 MiB + 1.6 x cache-size + 17 KiB x max-inflight.
    bound = 15 + 1.6 * 4 + 17 * 200 / 1024
    assert instrumented() or rss_mib < bound, f"RSS {rss_mib:.1f} MiB over {bound:.1f}"


@pytest.mark.load
def test_full_table_jostles_old_lookups(start_mxcached, fault_server):
    """With the table full of old slow lookups, a new question makes the
    oldest give way (Unbound's jostle-timeout) instead of being refused."""
    fault_server.delay = 3.0
    res = start_mxcached(
        "--stub", fault_server.stub, "--trust-anchor", "none", "--max-inflight", "20", "--zone-max-inflight", "20",
        "--jostle-timeout", "200",
    )
    names = [f"slow-{_random_label()}.faulty.com." for _ in range(20)]
    flood = _fire(res, names)
    try:
        wait_for_stats(res, lambda s: s["upstream.distinct_in_flight"] == 20, 5)
        time.sleep(0.3)  # past the jostle timeout: the age is what is tested
        t0 = time.monotonic()
        r = Client(res, None).query("mx1.yada123.com.", "A")
        took = time.monotonic() - t0
        rcodes = _read_rcodes(flood, 1, 2)
    finally:
        flood.close()
    assert rrset_of(r, "mx1.yada123.com.", "A") is not None, r
    assert took < 1.0
    st = res.stats()
    assert st["upstream.jostled"] == 1 and st["upstream.overflow"] == 0, st
    # The lookup that gave way answered its client at once.
    assert rcodes.get(dns.rcode.SERVFAIL) == 1, rcodes


def test_young_lookups_are_not_jostled(start_mxcached, fault_server):
    fault_server.delay = 3.0
    res = start_mxcached(
        "--stub", fault_server.stub, "--trust-anchor", "none", "--max-inflight", "5", "--zone-max-inflight", "5",
        "--jostle-timeout", "60000",
    )
    flood = _fire(res, [f"slow-{_random_label()}.faulty.com." for _ in range(5)])
    try:
        wait_for_stats(res, lambda s: s["upstream.distinct_in_flight"] == 5, 5)
        r = Client(res, None).query("mx1.yada123.com.", "A")
    finally:
        flood.close()
    assert r.rcode() == dns.rcode.SERVFAIL
    st = res.stats()
    assert st["upstream.overflow"] == 1 and st["upstream.jostled"] == 0, st
