"""--cache-file as hostile input, with the real daemon: a forged file cannot
make it answer with AD or with a TTL above --cache-max-ttl, a secure entry
stays secure across a restart only under the same trust anchor, a symbolic
link at the cache path is neither read nor replaced, and the chaser's
lookups still running at SIGTERM are waited for and saved.

Forged files are written with cachefile.py, a writer of the format of its
own; what the daemon saves is read back with it.
"""

import time

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset
import pytest

import cachefile
from fault_server import FaultServer
from helpers import Client, dump_cache, dumped, rrset_of

pytestmark = pytest.mark.mxcache_only

FORGED_NAME = "www.paypal.com."
FORGED_ADDR = "6.6.6.6"
FORGED_TTL = 2147483646
MAX_TTL = 300


def _wall_ms() -> int:
    return int(time.time() * 1000)


def _forged_file(path, anchor: int = 0):
    """www.paypal.com A 6.6.6.6, TTL 2147483646, 49 days left, marked
    secure, for clients with and without DO."""
    q = dns.message.make_query(FORGED_NAME, "A", use_edns=False)
    r = dns.message.make_response(q)
    r.id = 0
    r.answer.append(dns.rrset.from_text(FORGED_NAME, FORGED_TTL, "IN", "A", FORGED_ADDR))
    name = dns.name.from_text(FORGED_NAME).to_wire()
    recs = [
        cachefile.Record(
            name, 1, r.to_wire(), 0xFFFFFFF0, key_flags=flags, answer_flags=cachefile.SECURE
        )
        for flags in (0, cachefile.KEY_DO)
    ]
    path.write_bytes(cachefile.write(recs, _wall_ms(), anchor))


@pytest.mark.parametrize("anchor", ["none", "testnet"])
def test_forged_file_gives_no_ad_and_no_ttl_above_max(start_mxcached, testnet, tmp_path, anchor):
    """The forgery of the issue, under --trust-anchor none and under the
    test hierarchy's anchor (the file names another one): the entries load
    (they are well-formed), but come back without AD and with TTLs within
    --cache-max-ttl, to a client that sends DO and to one that sends AD."""
    cache_file = tmp_path / "cache.bin"
    _forged_file(cache_file)
    ta = "none" if anchor == "none" else testnet.trust_anchor
    res = start_mxcached(
        "--trust-anchor", ta, "--cache-max-ttl", str(MAX_TTL), "--cache-file", str(cache_file)
    )
    line = res.wait_for_log(r"cache file", 0)
    assert line and "2 entries loaded" in line and "2 no longer secure" in line, line
    client = Client(res, testnet)
    for kw in ({"do": True, "ad": True}, {"ad": True}):
        r = client.query(FORGED_NAME, "A", **kw)
        rrset = rrset_of(r, FORGED_NAME, "A")
        assert rrset is not None and {rd.address for rd in rrset} == {FORGED_ADDR}, r
        assert not r.flags & dns.flags.AD, f"AD from a forged file ({kw})"
        assert rrset.ttl <= MAX_TTL, f"TTL {rrset.ttl} above --cache-max-ttl ({kw})"
    assert all(e["ttl"] <= MAX_TTL and not e["secure"] for e in dump_cache(res))
    assert res.stats()["upstream.queries"] == 0


def test_forged_question_is_refused(start_mxcached, testnet, tmp_path):
    """An answer filed under another question's key: the whole file is
    refused, with one warning saying why, and the name is asked upstream."""
    cache_file = tmp_path / "cache.bin"
    q = dns.message.make_query(FORGED_NAME, "A", use_edns=False)
    r = dns.message.make_response(q)
    r.id = 0
    r.answer.append(dns.rrset.from_text(FORGED_NAME, 60, "IN", "A", FORGED_ADDR))
    name = dns.name.from_text("mx1.yada123.com.").to_wire()
    rec = cachefile.Record(name, 1, r.to_wire(), 60000)
    cache_file.write_bytes(cachefile.write([rec], _wall_ms(), 0))
    res = start_mxcached("--cache-file", str(cache_file))
    line = res.wait_for_log(r"cache file", 0)
    assert line and "[warning]" in line and "question is not its key" in line, line
    assert "empty cache" in line
    assert res.stats()["cache.entries"] == 0
    r = Client(res, testnet).query("mx1.yada123.com.", "A")
    rrset = rrset_of(r, "mx1.yada123.com.", "A")
    assert rrset is not None and FORGED_ADDR not in {rd.address for rd in rrset}, r
    assert res.stats()["upstream.queries"] == 1


def test_future_save_time_is_refused(start_mxcached, testnet, tmp_path):
    """A save time an hour ahead would stop the aging: refused."""
    cache_file = tmp_path / "cache.bin"
    q = dns.message.make_query("mx1.yada123.com.", "A", use_edns=False)
    r = dns.message.make_response(q)
    r.id = 0
    r.answer.append(dns.rrset.from_text("mx1.yada123.com.", 60, "IN", "A", FORGED_ADDR))
    rec = cachefile.Record(dns.name.from_text("mx1.yada123.com.").to_wire(), 1, r.to_wire(), 60000)
    cache_file.write_bytes(cachefile.write([rec], _wall_ms() + 3600 * 1000, 0))
    res = start_mxcached("--cache-file", str(cache_file))
    line = res.wait_for_log(r"cache file", 0)
    assert line and "in the future" in line and "empty cache" in line, line
    assert res.stats()["cache.entries"] == 0


def test_secure_survives_a_restart_only_under_the_same_anchor(start_mxcached, testnet, tmp_path):
    """A validated MX answer saved under the test anchor: a daemon with the
    same anchor answers it from the file with AD; one with --trust-anchor
    none loads it without."""
    cache_file = tmp_path / "cache.bin"
    a = start_mxcached("--cache-file", str(cache_file))
    r = Client(a, testnet).query("signed123.com.", "MX", do=True)
    assert r.flags & dns.flags.AD, r
    start_mxcached.stop(a)
    _, anchor, recs = cachefile.read(cache_file.read_bytes())
    with open(testnet.trust_anchor, "rb") as f:
        assert anchor == cachefile.siphash24(testnet.trust_anchor.encode() + b"\0" + f.read())
    assert any(rec.answer_flags & cachefile.SECURE for rec in recs)

    b = start_mxcached("--cache-file", str(cache_file))
    r = Client(b, testnet).query("signed123.com.", "MX", do=True)
    assert r.flags & dns.flags.AD, "secure status lost under the same anchor"
    assert b.stats()["upstream.queries"] == 0
    start_mxcached.stop(b)

    c = start_mxcached("--trust-anchor", "none", "--cache-file", str(cache_file))
    assert "no longer secure" in c.wait_for_log(r"cache file", 0)
    r = Client(c, testnet).query("signed123.com.", "MX", do=True)
    assert rrset_of(r, "signed123.com.", "MX") is not None
    assert not r.flags & dns.flags.AD, "AD restored without validation"
    assert c.stats()["upstream.queries"] == 0


def test_symlinked_cache_path_is_refused_and_target_kept(start_mxcached, testnet, tmp_path):
    """A symbolic link at the cache path: not read at start (a warning), not
    replaced at shutdown (an error), its target untouched, no temporary
    file left."""
    target = tmp_path / "precious"
    target.write_bytes(b"precious\n")
    link = tmp_path / "cache.bin"
    link.symlink_to(target)
    res = start_mxcached("--cache-file", str(link))
    line = res.wait_for_log(r"cache file", 0)
    assert line and "[warning]" in line and "symbolic link" in line, line
    r = Client(res, testnet).query("mx1.yada123.com.", "A")
    assert rrset_of(r, "mx1.yada123.com.", "A") is not None
    start_mxcached.stop(res)
    saved = [ln for ln in res.stderr_lines if "cache file" in ln][-1]
    assert "[error]" in saved and "symbolic link" in saved, saved
    assert link.is_symlink() and target.read_bytes() == b"precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.bin", "precious"]


def test_group_writable_cache_file_is_refused(start_mxcached, testnet, tmp_path):
    """Whoever may write the file decides what the next start believes: a
    file writable by group or others is not loaded."""
    cache_file = tmp_path / "cache.bin"
    _forged_file(cache_file)
    cache_file.chmod(0o664)
    res = start_mxcached("--cache-file", str(cache_file))
    line = res.wait_for_log(r"cache file", 0)
    assert line and "writable by group or others" in line and "empty cache" in line, line
    assert res.stats()["cache.entries"] == 0


def test_chaser_lookups_running_at_sigterm_are_saved(
    start_mxcached, testnet, tmp_path, fault_server
):
    """An MX question answered at once (the name is its own exchanger),
    whose chased A and AAAA come 0.3 s late: SIGTERM right
    after the answer waits for them, and the next daemon has them from
    the file."""
    fault_server.delay = 0.3
    fault_server.ttl = 300
    name = f"slowaddr-1.{FaultServer.ZONE}"
    cache_file = tmp_path / "cache.bin"
    flags = ("--stub", fault_server.stub, "--trust-anchor", "none", "--cache-file", str(cache_file))
    a = start_mxcached(*flags)
    client = Client(a, testnet)
    r = client.query(name, "MX")
    assert r.rcode() == dns.rcode.NOERROR, r
    # MX, then the chaser's A and AAAA have reached the server.
    assert fault_server.wait_for(name, 5.0, count=3), fault_server.received
    took = start_mxcached.stop(a, timeout=3.0)
    assert took >= 0.1, f"exited {took:.2f} s after SIGTERM: the lookups were not waited for"
    assert "(2 lookups)" in a.stderr_text(), a.stderr_text()
    _, _, recs = cachefile.read(cache_file.read_bytes())
    want = dns.name.from_text(name).to_wire()
    assert {rec.qtype for rec in recs if rec.name == want} == {1, 15, 28}, recs

    b = start_mxcached(*flags)
    assert dumped(dump_cache(b), name, "A") and dumped(dump_cache(b), name, "AAAA")
    client = Client(b, testnet)
    r = client.query(name, "A")
    assert {rd.address for rd in rrset_of(r, name, "A")} == {FaultServer.ADDRESS}
    assert b.stats()["upstream.queries"] == 0
