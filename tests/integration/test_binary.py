"""mxcached as a program: what its binary exports, and the command lines it
must refuse (non-zero exit, a message that names the culprit)."""

import re
import subprocess

import pytest

from helpers import MXCACHED

pytestmark = pytest.mark.mxcache_only


def test_no_libev_symbols_exported():
    """Debian's libev defines libevent-compatible names (event_set, ...);
    exported from mxcached, they would capture libunbound's calls into
    libevent (see the Makefile's DAEMON_LIBS and README's Development
    section). libev must stay private to the binary."""
    out = subprocess.run(
        ["nm", "-D", MXCACHED], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    symbols = [line.split() for line in out.splitlines()]
    defined = {s[-1] for s in symbols if len(s) == 3 and s[1] != "U"}
    undefined = {s[-1].split("@")[0] for s in symbols if s[-2] == "U"}
    # Read the right table: the binary does call into libunbound.
    assert "ub_ctx_create" in undefined
    leaked = sorted(name for name in defined if re.match(r"(event_|ev_)", name))
    assert leaked == [], f"libev symbols in the dynamic table: {leaked[:20]}"


@pytest.mark.parametrize(
    "args,culprit,status",
    [
        (["--no-such-flag"], "--no-such-flag", 2),
        (["--listen", "nonsense"], "--listen", None),
        (["--listen", "127.0.0.1@70000"], "--listen", None),
        (["--allow", "300.1.1.1/8"], "300.1.1.1/8", None),
        (["--allow", "10.0.0.0/33"], "10.0.0.0/33", None),
        (["--cache-size", "lots"], "--cache-size", None),
        (["--query-timeout", "-5"], "--query-timeout", None),
    ],
    ids=[
        "unknown-flag",
        "listen-nonsense",
        "listen-port",
        "allow-octet",
        "allow-prefix",
        "cache-size",
        "query-timeout",
    ],
)
def test_bad_command_line_refused(start_mxcached, args, culprit, status):
    ended = start_mxcached.expect_exit(*args)
    if status is None:
        assert ended.returncode != 0
    else:
        assert ended.returncode == status
    assert culprit in ended.stderr, ended.stderr


@pytest.mark.parametrize("flag", ["--root-hints", "--trust-anchor"])
@pytest.mark.parametrize("what", ["missing", "directory"])
def test_unreadable_file_refused(start_mxcached, tmp_path, flag, what):
    """A file the daemon cannot read is refused at startup, by name. A
    directory passes access(R_OK); a daemon that took it as root hints would
    only find out at the first lookup (libunbound then spins on EISDIR in
    the event loop and the daemon never answers again, not even SIGTERM)."""
    path = str(tmp_path / "no-such-file" if what == "missing" else tmp_path)
    ended = start_mxcached.expect_exit(flag, path)
    assert ended.returncode != 0
    assert path in ended.stderr, ended.stderr
