"""Keeping names in use warm, watched on the wire: the authoritative server
is fault_server.py's (faulty.com. on 127.0.0.77, reached through --stub),
which logs every query it receives with its arrival time.

- A hit in the last tenth of an MX entry's TTL refreshes it from that
  server before it expires, and the name stays a cache hit across its
  expiry, refresh after refresh (the second refresh is the one libunbound's
  own cache would have answered).
- With the server dead and --serve-stale yes, an expired entry is answered
  stale (TTL 30) within about 1.8 s (the client-response timer), every
  time, and at once when libunbound has given up on the server and
  answers SERVFAIL at once; with --serve-stale no, SERVFAIL within the
  deadline.

Each test prints what the server saw (run with -s to read it).
"""

import time

import dns.rcode
import pytest

from fault_server import FaultServer
from helpers import TIMEOUT, Client, rrset_of, send_udp_query, wait_expired, wait_for_stats

pytestmark = [pytest.mark.mxcache_only, pytest.mark.load]

REFRESH_TTL = 10  # seconds, the server's TTL in the refresh test
HIT_AT = 0.93  # of the TTL after the server answered: inside the last tenth
CYCLES = 3  # refreshes in a row
STALE_TIMER = 1.8  # seconds, --stale-client-timeout's default
SLACK = 0.2


def _daemon(start_mxcached, fault_server, *extra):
    return start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none", *extra)


def _sleep_until(when: float):
    """Waits for a point in time: what is measured here is TTL expiry."""
    left = when - time.monotonic()
    if left > 0:
        time.sleep(left)


def _wire_log(fault_server, name, rdtype, t0) -> str:
    return ", ".join(f"{r.rdtype} +{r.at - t0:.3f}s" for r in fault_server.log(name, rdtype))


def test_name_in_use_is_refreshed_from_the_server(start_mxcached, testnet, fault_server):
    fault_server.ttl = REFRESH_TTL
    res = _daemon(start_mxcached, fault_server)
    client = Client(res, testnet)
    name = f"hot.{FaultServer.ZONE}"

    t0 = time.monotonic()
    r = client.query(name, "MX")
    assert r.rcode() == dns.rcode.NOERROR and rrset_of(r, name, "MX") is not None, r
    assert fault_server.count(name, "MX") == 1
    fetched = fault_server.log(name, "MX")[-1].at
    for cycle in range(1, CYCLES + 1):
        # A hit in the last tenth: answered from the cache, refresh started.
        _sleep_until(fetched + HIT_AT * REFRESH_TTL)
        before = res.stats()
        r = client.query(name, "MX")
        after = res.stats()
        assert r.rcode() == dns.rcode.NOERROR, r
        assert rrset_of(r, name, "MX").ttl <= 1, r
        assert after["cache.hits"] - before["cache.hits"] == 1, after
        assert after["cache.misses"] == before["cache.misses"], after
        assert after["cache.refreshes"] - before["cache.refreshes"] == 1, after
        # The refresh reaches the server before the entry expires.
        assert fault_server.wait_for(name, TIMEOUT, "MX", count=cycle + 1), (
            f"refresh {cycle} never reached the server: "
            f"{_wire_log(fault_server, name, 'MX', t0)}"
        )
        refetched = fault_server.log(name, "MX")[-1].at
        assert refetched < fetched + REFRESH_TTL, f"refresh {cycle} after the expiry"
        # Past the old entry's expiry the name is still a hit, with a fresh TTL.
        _sleep_until(fetched + REFRESH_TTL + SLACK)
        before = res.stats()
        r = client.query(name, "MX")
        after = res.stats()
        assert r.rcode() == dns.rcode.NOERROR, r
        assert rrset_of(r, name, "MX").ttl >= REFRESH_TTL - 2, r
        assert after["cache.hits"] - before["cache.hits"] == 1, after
        assert after["cache.misses"] == before["cache.misses"], after
        fetched = refetched
    assert fault_server.count(name, "MX") == CYCLES + 1
    print(f"\nMX queries the server saw for {name}: {_wire_log(fault_server, name, 'MX', t0)}")
    print(f"upstream.queries {res.stats()['upstream.queries']}")


# libunbound gives up on a dead server after about 8.5 s of retries (then
# answers SERVFAIL at once for it); the probe waits that long at most.
GIVE_UP = 15.0


def _given_up(fault_server, res):
    """Kills the server and waits until libunbound has marked it down: a
    lookup for a name never cached ends in libunbound's SERVFAIL."""
    fault_server.stop()
    failures = res.stats()["upstream.failures"]
    s, _ = send_udp_query(res, f"probe.{FaultServer.ZONE}", "A")
    with s:
        wait_for_stats(res, lambda st: st["upstream.failures"] > failures, GIVE_UP)


@pytest.mark.parametrize("death", ["silent", "closed", "down"])
@pytest.mark.parametrize("serve_stale", ["yes", "no"])
def test_expired_entry_when_the_server_is_dead(
    start_mxcached, testnet, fault_server, serve_stale, death
):
    """silent: the server receives and never answers; closed: its ports
    are closed (libunbound keeps trying past the client's deadline either
    way); down: closed, and libunbound has given up on it (its SERVFAIL
    comes back in a millisecond)."""
    # Short for SERVFAIL at the deadline; the probe of "down" needs the
    # lookup kept (twice the timeout) until libunbound gives up.
    timeout = 2.5 if serve_stale == "no" and death != "down" else 5.0
    res = _daemon(
        start_mxcached, fault_server, "--serve-stale", serve_stale,
        "--query-timeout", str(int(timeout * 1000)),
    )
    client = Client(res, testnet)
    name = f"warm-{death}.{FaultServer.ZONE}"
    r = client.query(name, "A")
    assert rrset_of(r, name, "A") is not None, r
    wait_expired(res, time.time(), fault_server.ttl)
    if death == "silent":
        fault_server.set_mode(name, "drop")
    elif death == "closed":
        fault_server.stop()
    else:
        _given_up(fault_server, res)
    asked = fault_server.count(name)
    t0 = time.monotonic()
    timings = []
    for _ in range(3):
        before = res.stats()
        t = time.monotonic()
        r = client.query(name, "A")
        elapsed = time.monotonic() - t
        after = res.stats()
        moved = [k for k in ("upstream.failures", "upstream.timeouts") if after[k] != before[k]]
        timings.append(f"{'stale' if r.rcode() == 0 else dns.rcode.to_text(r.rcode())} "
                       f"{elapsed:.3f}s {'+'.join(moved)}")
        if serve_stale == "yes":
            assert r.rcode() == dns.rcode.NOERROR, r
            stale = rrset_of(r, name, "A")
            assert stale is not None and {rd.address for rd in stale} == {FaultServer.ADDRESS}
            assert stale.ttl == 30, stale
            assert elapsed <= STALE_TIMER + SLACK, f"stale answer after {elapsed:.3f} s"
            assert after["cache.stale_served"] - before["cache.stale_served"] == 1, after
        else:
            assert r.rcode() == dns.rcode.SERVFAIL, r
            assert elapsed <= timeout + SLACK, f"SERVFAIL after {elapsed:.3f} s"
            assert after["cache.stale_served"] == before["cache.stale_served"], after
            # libunbound's SERVFAIL or the deadline, counted either way.
            assert len(moved) == 1 and after[moved[0]] - before[moved[0]] == 1, after
        if death == "down":
            # libunbound's SERVFAIL, at once, counted as a failure each time.
            assert elapsed <= SLACK, f"{elapsed:.3f} s"
            assert after["upstream.failures"] - before["upstream.failures"] == 1, after
    if death == "silent":
        assert fault_server.count(name) > asked, "the expired entry was not looked up"
    print(
        f"\n{name} serve-stale {serve_stale}, server {death}: answers {', '.join(timings)}; "
        f"queries the server saw after its death: {len(fault_server.log(name)) - asked} "
        f"(all it saw, from the first stale query: {_wire_log(fault_server, name, None, t0)})"
    )
