"""What a mail server's resolver library makes of mxcached: glibc's stub
resolver (res_query, as Postfix and Exim use it), reading a resolv.conf
that points at mxcached, passes the AD bit of a validated answer on only
with `options edns0 trust-ad`, the README's recipe. The resolv.conf is the
test's own, bind-mounted over /etc/resolv.conf in a mount namespace of the
test's child process; mxcached listens on 127.0.0.1:53 of the test's
network namespace."""

import subprocess
import sys
import textwrap

import pytest

from helpers import free_port

pytestmark = [pytest.mark.mxcache_only]

# Runs in the child: res_query through ctypes, prints rcode, AD and the
# number of answers.
PROBE = textwrap.dedent("""
    import ctypes, sys
    lib = ctypes.CDLL("libresolv.so.2")
    query = getattr(lib, "res_query", None) or getattr(lib, "__res_query")
    buf = ctypes.create_string_buffer(4096)
    n = query(sys.argv[1].encode(), 1, int(sys.argv[2]), buf, len(buf))
    raw = buf.raw
    if n < 12:
        print("failed", n)
    else:
        print("rcode", raw[3] & 15, "ad", 1 if raw[3] & 0x20 else 0, "answers", raw[6] << 8 | raw[7])
""")


def _probe(tmp_path, options: str, name: str, qtype: int) -> str:
    conf = tmp_path / f"resolv-{len(options)}.conf"
    conf.write_text(f"nameserver 127.0.0.1\n{options}\n")
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    run = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"mount --bind {conf} /etc/resolv.conf && exec {sys.executable} {script} {name} {qtype}"],
        capture_output=True, text=True, timeout=30,
    )
    if run.returncode != 0 and "unshare" in run.stderr:
        pytest.skip(f"no mount namespace here: {run.stderr.strip()}")
    return run.stdout.strip()


@pytest.fixture
def on_port_53(start_mxcached):
    # Port 53 of 127.0.0.1 is ours inside the test network namespace
    # (tests/netns.sh); glibc's resolv.conf has no port.
    return start_mxcached(listen=[("127.0.0.1", 53), ("127.0.0.1", free_port())])


def test_trust_ad_passes_the_ad_bit(on_port_53, tmp_path):
    out = _probe(tmp_path, "options edns0 trust-ad", "signed123.com", 15)
    assert out.startswith("rcode 0 ad 1"), out
    assert int(out.split()[-1]) >= 1


def test_without_trust_ad_glibc_drops_it(on_port_53, tmp_path):
    out = _probe(tmp_path, "options edns0", "signed123.com", 15)
    assert out.startswith("rcode 0 ad 0"), out


def test_unsigned_zone_is_never_ad(on_port_53, tmp_path):
    out = _probe(tmp_path, "options edns0 trust-ad", "yada123.com", 15)
    assert out.startswith("rcode 0 ad 0"), out
