"""The MX-chaser's point, measured: with latency added in front of the
authoritative server, a mail server's address lookups after an MX answer
cost (almost) nothing with the chaser, one round trip each without it.

A delaying proxy (build/delayproxy) sits in front of the NSD serving
yada123.com; the daemons reach that zone through it (--stub), so every
lookup in it costs one DELAY_MS round trip."""

import subprocess
import threading
import time

import pytest

from helpers import REPO, Client, rrset_of

# Latency is the measure here: meaningless under valgrind (make valgrind skips "load").
pytestmark = [pytest.mark.mxcache_only, pytest.mark.load]

DELAY_MS = 100
PROXY_ADDR = "127.0.0.98"
DELAYPROXY = str(REPO / "build" / "delayproxy")
DOMAIN = "chase.yada123.com."
EXCHANGERS = ["mxa.chase.yada123.com.", "mxb.chase.yada123.com."]


@pytest.fixture
def slow_zone(testnet):
    """yada123.com's server behind DELAY_MS of latency, at PROXY_ADDR@53."""
    spec = f"{PROXY_ADDR}@53={testnet.env['MAIL_SERVER']}@53/{DELAY_MS}-{DELAY_MS}"
    proxy = subprocess.Popen(
        [DELAYPROXY, "--seed", "1", spec],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = threading.Event()

    def drain():
        for line in proxy.stderr:
            if "delayproxy ready" in line:
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    ready.wait(10)
    assert proxy.poll() is None, "delayproxy did not start"
    yield f"yada123.com={PROXY_ADDR}@53"
    proxy.terminate()
    proxy.wait(10)


def _timed(client, name, rdtype) -> float:
    start = time.monotonic()
    r = client.query(name, rdtype)
    assert rrset_of(r, name, rdtype) is not None, (name, rdtype, r)
    return (time.monotonic() - start) * 1000


def _deliver(client, pause_s=0.0) -> tuple:
    """What Postfix does: MX, then A and AAAA of each exchanger in order,
    one after the other. Returns (MX ms, address lookups ms)."""
    mx_ms = _timed(client, DOMAIN, "MX")
    time.sleep(pause_s)  # the MTA's own queue delay, part of the workload
    addr_ms = sum(_timed(client, host, t) for host in EXCHANGERS for t in ("A", "AAAA"))
    return mx_ms, addr_ms


def test_postfix_style_delivery_is_faster_with_the_chaser(start_mxcached, slow_zone):
    on = start_mxcached("--stub", slow_zone)
    off = start_mxcached("--stub", slow_zone, "--mx-chase", "no")
    mx_on, addr_on = _deliver(Client(on, None))
    mx_off, addr_off = _deliver(Client(off, None))
    print(
        f"\nchaser on: MX {mx_on:.0f} ms, addresses {addr_on:.0f} ms; "
        f"off: MX {mx_off:.0f} ms, addresses {addr_off:.0f} ms"
    )
    # Off: four lookups of one round trip each. On: the first A joins the
    # chaser's lookup, already under way; the other three are cache hits.
    assert addr_off >= 4 * DELAY_MS * 0.9
    assert addr_on <= 1.5 * DELAY_MS
    assert mx_on + addr_on <= 0.6 * (mx_off + addr_off)
    # Every address question was a hit on what the chaser fetched, or joined
    # its lookup still in flight: none went upstream on its own.
    stats = on.stats()
    assert stats["mx_chaser.prefetch_hits"] + stats["upstream.coalesced"] == 4
    assert stats["upstream.queries"] == 1 + stats["mx_chaser.prefetches"]


def test_checked_then_delivered_addresses_are_cache_hits(start_mxcached, slow_zone):
    """The MX looked up at SMTP time, the addresses a while later: by then
    the chaser has them all."""
    on = start_mxcached("--stub", slow_zone)
    _, addr_ms = _deliver(Client(on, None), pause_s=2.5 * DELAY_MS / 1000)
    stats = on.stats()
    print(f"\nchaser on, after a pause: addresses {addr_ms:.1f} ms")
    assert addr_ms < 0.2 * DELAY_MS
    assert stats["mx_chaser.prefetch_hits"] == 4
    # One lookup for the MX, the chaser's four, none for the client's questions.
    assert stats["mx_chaser.prefetches"] == 4 and stats["upstream.queries"] == 5
