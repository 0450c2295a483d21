"""Hardening of the process's life: SIGTERM drains the queries in flight (a
second SIGTERM exits at once), SIGHUP reloads the config file (and keeps the
running configuration when the file is broken), --user drops root after
binding port 53, --cache-file carries the cache across a restart, and
logging in the foreground and in daemon mode.
"""

import grp
import os
import pwd
import re
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import dns.message
import dns.rcode
import pytest

from fault_server import FaultServer
from helpers import (
    MXCACHED,
    TIMEOUT,
    Client,
    ControlConnection,
    Endpoint,
    dump_cache,
    dumped,
    free_port,
    make_query,
    read_waiting,
    rrset_of,
    send_udp_query,
    udp_socket,
    udp_taken,
    wait_for_stats,
)

pytestmark = pytest.mark.mxcache_only

# What mxcached writes on stderr in the foreground: time, name, [level].
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} mxcached\[(error|warning|info|debug)\]: \S"
)
AUTH_TTL = 3600  # zone default in tests/testnet/testnet.sh


# --------------------------------------------------------------- signals


def test_sigterm_answers_the_query_in_flight_then_exits(start_mxcached, testnet, fault_server):
    """SIGTERM while a lookup is in flight (its server answers 0.3 s late):
    the client still gets its answer, then the daemon exits 0, well within
    its 5 s drain bound."""
    # Late, but within libunbound's first retransmission timeout (376 ms for
    # a server it does not know yet): one query upstream, one answer.
    fault_server.delay = 0.3
    res = start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none")
    name = f"slow-1.{FaultServer.ZONE}"
    s, q = send_udp_query(res, name, "A")
    with s:
        assert fault_server.wait_for(name, TIMEOUT), "the lookup never reached the server"
        took = start_mxcached.stop(res, timeout=2.0)
        r = dns.message.from_wire(s.recv(65535))
    assert r.id == q.id and r.rcode() == dns.rcode.NOERROR, r
    rrset = rrset_of(r, name, "A")
    assert rrset is not None and {rd.address for rd in rrset} == {FaultServer.ADDRESS}
    assert took < 2.0, f"exited {took:.2f} s after SIGTERM"
    assert "finishing 1 queries in flight" in res.stderr_text(), res.stderr_text()


def test_second_sigterm_exits_at_once(start_mxcached, testnet, fault_server):
    """A lookup whose server never answers would hold the drain for the whole
    5 s query timeout: a second SIGTERM exits at once, with status 0, and the
    waiting client is told SERVFAIL rather than left waiting."""
    res = start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none")
    name = f"drop-1.{FaultServer.ZONE}"
    s, q = send_udp_query(res, name, "A")
    with s:
        assert fault_server.wait_for(name, TIMEOUT), "the lookup never reached the server"
        res.proc.send_signal(signal.SIGTERM)
        assert res.wait_for_log(r"signal 15: finishing 1 queries in flight", TIMEOUT), (
            "no drain after the first SIGTERM:\n" + res.stderr_text()
        )
        assert res.proc.poll() is None, "exited at the first SIGTERM with a query in flight"
        took = start_mxcached.stop(res, timeout=1.0)  # the second SIGTERM
        r = dns.message.from_wire(s.recv(65535))
    assert took < 0.5, f"exited {took:.2f} s after the second SIGTERM"
    assert r.id == q.id and r.rcode() == dns.rcode.SERVFAIL, r


# --------------------------------------------------------------- SIGHUP reload


def _burst(res, count: int, name: str = "mx1.yada123.com.") -> int:
    """Sends `count` UDP queries for a cached name at once from one socket;
    returns how many were answered once the daemon has taken them all
    (answered or dropped by the rate limit)."""
    before = udp_taken(res.stats())
    with udp_socket() as s:
        for i in range(count):
            s.sendto(make_query(name, "A", id=i).to_wire(), (res.addr, res.port))
        wait_for_stats(res, lambda st: udp_taken(st) - before >= count, TIMEOUT)
        return len(read_waiting(s))


def _hup(res, expect: str) -> str:
    """SIGHUP, and the log line matching `expect` that follows it."""
    start = len(res.stderr_lines)
    res.proc.send_signal(signal.SIGHUP)
    line = res.wait_for_log(expect, TIMEOUT, start=start)
    assert line, f"no {expect!r} after SIGHUP:\n{res.stderr_text()}"
    return line


def test_sighup_reloads_the_config_file(start_mxcached, testnet, tmp_path):
    """Started from a config file without a rate limit; the file gains
    `ratelimit 10` and `cache-size 100k`, SIGHUP applies both; then the file
    is broken, and SIGHUP keeps the running configuration."""
    conf = tmp_path / "mxcached.conf"
    conf.write_text("# no rate limit yet\ncache-size 1m\n")
    res = start_mxcached("-c", str(conf))
    Client(res, testnet).query("mx1.yada123.com.", "A")  # cached from here on
    assert res.stats()["cache.max_bytes"] == 1 << 20
    assert _burst(res, 60) == 60, "limited before any rate limit was set"

    conf.write_text("cache-size 100k\nratelimit 10\n")
    line = _hup(res, r"reloaded")
    assert "cache 102400 bytes" in line and "ratelimit 10" in line, line
    assert LOG_LINE.match(line) and "[info]" in line, line
    st = res.stats()
    assert st["cache.max_bytes"] == 100 * 1024
    answered = _burst(res, 60)
    assert 10 <= answered <= 2 * 10, f"{answered} of 60 answered with ratelimit 10"
    assert res.stats()["queries.ratelimited"] == 60 - answered

    conf.write_text("cache-size 100k\nratelimit 10\nno-such-option 1\n")
    line = _hup(res, r"reload: .*keeping the running configuration")
    assert "no-such-option" in line and "[error]" in line, line
    assert res.proc.poll() is None, "the daemon died on a broken config file"
    assert res.stats()["cache.max_bytes"] == 100 * 1024
    answered = _burst(res, 60)
    assert answered <= 2 * 10, f"{answered} of 60 answered: the rate limit was lost"


# --------------------------------------------------------------- --user


@pytest.fixture
def anchor_dir():
    """A directory outside pytest's (root-only) temporary tree, for copies of
    the testnet's root hints and trust anchor; its mode is the test's."""
    d = tempfile.mkdtemp(prefix="mxcache-anchor-", dir="/tmp")
    yield d
    shutil.rmtree(d)


@pytest.mark.parametrize(
    "dir_mode", [0o755, 0o700], ids=["files-readable-by-all", "files-readable-by-root-only"]
)
def test_user_drops_root_after_binding_port_53(start_mxcached, testnet, anchor_dir, dir_mode):
    """--user nobody: the daemon binds port 53 as root, then runs as nobody
    (every uid and gid), its control socket is nobody's with mode 0660 and
    still usable, and it answers, including lookups that recurse. It is
    started as root, so files only root can read (root hints, trust anchor)
    are as good as any: the daemon has to read them before it drops root."""
    hints = shutil.copy(testnet.root_hints, anchor_dir)
    anchor = shutil.copy(testnet.trust_anchor, anchor_dir)
    os.chmod(anchor_dir, dir_mode)
    nobody = pwd.getpwnam("nobody")
    res = start_mxcached(
        "--user",
        "nobody",
        "--root-hints",
        hints,
        "--trust-anchor",
        anchor,
        listen=[("127.0.0.88", 53)],
    )
    status = dict(
        line.split(":", 1) for line in open(f"/proc/{res.proc.pid}/status").read().splitlines()
    )
    assert status["Uid"].split() == [str(nobody.pw_uid)] * 4, status["Uid"]
    assert status["Gid"].split() == [str(nobody.pw_gid)] * 4, status["Gid"]
    assert "0" not in status["Groups"].split(), status["Groups"]
    st = os.stat(res.control)
    assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    assert res.control_request({"cmd": "ping"}).get("error") is None
    assert "running as nobody" in res.stderr_text()

    name = "mx1.yada123.com."
    r = Client(res, testnet).query(name, "A")
    assert r.rcode() == dns.rcode.NOERROR and rrset_of(r, name, "A") is not None, (
        f"{dns.rcode.to_text(r.rcode())} for {name} (files in a directory of mode "
        f"{dir_mode:o}); stderr:\n{res.stderr_text()}"
    )


def test_started_as_user_like_the_systemd_unit(start_mxcached, testnet, anchor_dir, monkeypatch):
    """scripts/mxcached.service's way: started as nobody with nothing but
    CAP_NET_BIND_SERVICE (User=, AmbientCapabilities=), so --user nobody is
    already in force: port 53 is bound, the control socket made, the cache
    file saved into a state directory nobody owns (StateDirectory=) and
    loaded back by the next start."""
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    hints = shutil.copy(testnet.root_hints, anchor_dir)
    anchor = shutil.copy(testnet.trust_anchor, anchor_dir)
    os.chmod(anchor_dir, 0o755)
    state, run = os.path.join(anchor_dir, "state"), os.path.join(anchor_dir, "run")
    for d, mode in ((state, 0o700), (run, 0o755)):
        os.mkdir(d, mode)
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    cache_file = os.path.join(state, "cache.bin")
    wrapper = (
        f"setpriv --reuid nobody --regid {group} --init-groups "
        "--inh-caps +net_bind_service --ambient-caps +net_bind_service"
    )
    monkeypatch.setenv("MXCACHED_WRAPPER", f"{wrapper} {os.environ.get('MXCACHED_WRAPPER', '')}")
    flags = ("--user", "nobody", "--root-hints", hints, "--trust-anchor", anchor)
    flags += ("--cache-file", cache_file)
    control = os.path.join(run, "mxcached.sock")
    name = "mx1.yada123.com."

    a = start_mxcached(*flags, listen=[("127.0.0.88", 53)], control=control)
    assert a.control_request({"cmd": "ping"}).get("error") is None
    assert rrset_of(Client(a, testnet).query(name, "A"), name, "A") is not None
    start_mxcached.stop(a)
    assert f"cache file {cache_file}: 1 entries saved" in a.stderr_text(), a.stderr_text()
    st = os.stat(cache_file)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, 0o600)

    b = start_mxcached(*flags, listen=[("127.0.0.88", 53)], control=control)
    assert f"cache file {cache_file}: 1 entries loaded" in b.stderr_text(), b.stderr_text()
    assert rrset_of(Client(b, testnet).query(name, "A"), name, "A") is not None
    assert b.stats()["upstream.queries"] == 0


def test_cache_directory_not_writable_by_user_is_reported(start_mxcached, testnet, tmp_path):
    """--user with a cache file in a directory only root may write (a
    StateDirectory= without User=): said at startup, not at shutdown."""
    res = start_mxcached("--user", "nobody", "--cache-file", str(tmp_path / "cache.bin"))
    line = res.wait_for_log(r"not writable by nobody", TIMEOUT)
    assert line and "[warning]" in line and "will not be saved" in line, res.stderr_text()


def test_user_control_socket_cleanup(start_mxcached, testnet):
    """A daemon that drops root removes its control socket at exit when it
    created the socket's directory itself (as it does /run/mxcache): it
    hands that directory to the user. In a directory of root's that already
    existed it cannot, so the socket stays behind, and the next start
    replaces it (a stale socket nobody answers on)."""
    top = tempfile.mkdtemp(prefix="mxc-")
    try:
        os.chmod(top, 0o755)  # searchable by nobody, writable by root only
        made = os.path.join(top, "run", "ctl.sock")  # "run" does not exist yet
        res = start_mxcached("--user", "nobody", control=made)
        assert os.stat(os.path.dirname(made)).st_uid == pwd.getpwnam("nobody").pw_uid
        start_mxcached.stop(res)
        assert not os.path.exists(made), f"{made} left behind in the daemon's own directory"

        rooted = os.path.join(top, "ctl.sock")  # top is root's
        res = start_mxcached("--user", "nobody", control=rooted)
        start_mxcached.stop(res)
        assert stat.S_ISSOCK(os.lstat(rooted).st_mode)
        again = start_mxcached(control=rooted)
        assert again.control_request({"cmd": "ping"}) == {"pong": True}
    finally:
        shutil.rmtree(top, ignore_errors=True)


# --------------------------------------------------------------- --cache-file

CACHED = [("mx1.yada123.com.", "A"), ("yada123.com.", "TXT"), ("_dmarc.yada123.com.", "TXT")]
SHORT = "short.yada123.com."  # TTL 2


def _fill_and_stop(start_mxcached, testnet, cache_file, names) -> tuple:
    """A daemon with --cache-file that answers `names`, then stops (SIGTERM,
    exit 0). Returns (its Resolver, monotonic time of the first answer)."""
    # Not the inbound chasers: the SPF TXT would add entries to the count.
    res = start_mxcached("--cache-file", str(cache_file), "--chase-spf", "no", "--chase-dmarc", "no")
    client = Client(res, testnet)
    first = time.monotonic()
    for name, rdtype in names:
        r = client.query(name, rdtype)
        assert rrset_of(r, name, rdtype) is not None, r
    assert res.stats()["cache.entries"] == len(names)
    start_mxcached.stop(res)
    return res, first


def test_cache_file_survives_a_restart(start_mxcached, testnet, tmp_path):
    """Daemon A saves its cache on SIGTERM (atomically: no .tmp left);
    daemon B loads it and answers the same names from cache with TTLs aged
    by the time in between; an entry that expired meanwhile is not loaded."""
    cache_file = tmp_path / "cache.bin"
    a, first = _fill_and_stop(start_mxcached, testnet, cache_file, CACHED + [(SHORT, "A")])
    assert cache_file.is_file() and cache_file.stat().st_size > 0
    assert not list(tmp_path.glob("cache.bin.tmp*")), "temporary file left behind"
    assert f"cache file {cache_file}: {len(CACHED) + 1} entries saved" in a.stderr_text()
    # SHORT's 2 s run out while no daemon runs: nothing to ask, so the clock.
    time.sleep(max(0.0, first + 2.5 - time.monotonic()))

    b = start_mxcached("--cache-file", str(cache_file))
    loaded = f"cache file {cache_file}: {len(CACHED)} entries loaded"
    assert loaded in b.stderr_text(), b.stderr_text()
    assert dumped(dump_cache(b), SHORT) == [], "an expired entry was loaded"
    client = Client(b, testnet)
    for name, rdtype in CACHED:
        r = client.query(name, rdtype)
        ttl = rrset_of(r, name, rdtype).ttl
        down = time.monotonic() - first
        assert AUTH_TTL - down - 1 <= ttl <= AUTH_TTL - 2, f"{name}: TTL {ttl} after {down:.1f} s"
    st = b.stats()
    assert st["cache.hits"] == len(CACHED) and st["upstream.queries"] == 0, st
    assert rrset_of(client.query(SHORT, "A"), SHORT, "A") is not None
    assert b.stats()["upstream.queries"] == 1


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip_last_record_byte(data: bytes) -> bytes:
    """One byte of the last record's answer changed: its checksum fails."""
    i = len(data) - 8 - 5
    return data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1 :]


def _garbage(data: bytes) -> bytes:
    return os.urandom(len(data))


@pytest.mark.parametrize(
    "damage",
    [_truncate, _flip_last_record_byte, _garbage],
    ids=["truncated", "bad-checksum", "random-bytes"],
)
def test_damaged_cache_file_is_ignored(start_mxcached, testnet, tmp_path, damage):
    """A cache file cut short, with a bad checksum or of random bytes: the
    daemon starts anyway with an empty cache, says so with a warning, and
    answers normally."""
    cache_file = tmp_path / "cache.bin"
    _fill_and_stop(start_mxcached, testnet, cache_file, CACHED)
    cache_file.write_bytes(damage(cache_file.read_bytes()))
    res = start_mxcached("--cache-file", str(cache_file))
    line = res.wait_for_log(r"cache file", 0)
    assert line and "[warning]" in line and "empty cache" in line, res.stderr_text()
    assert res.stats()["cache.entries"] == 0
    name, rdtype = CACHED[0]
    r = Client(res, testnet).query(name, rdtype)
    assert rrset_of(r, name, rdtype).ttl == AUTH_TTL
    assert res.stats()["upstream.queries"] == 1


# --------------------------------------------------------------- logging


def test_foreground_logs_to_stderr_with_a_level(start_mxcached, testnet):
    res = start_mxcached()
    lines = [line.rstrip("\n") for line in res.stderr_lines]
    assert lines, "nothing on stderr with -f"
    bad = [line for line in lines if not LOG_LINE.match(line)]
    assert not bad, f"lines without time, name and level: {bad}"
    assert any("[info]: mxcached ready" in line for line in lines), lines


def _pids_with(text: str) -> list:
    """Processes whose command line contains `text`."""
    found = subprocess.run(["pgrep", "-f", text], capture_output=True, text=True, timeout=10)
    return [int(p) for p in found.stdout.split()]


def _wait_gone(pid: int, timeout: float) -> bool:
    """True once process `pid` (not our child) has exited."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def test_daemon_mode_detaches_and_keeps_stderr_quiet(testnet, tmp_path):
    """Without -f the command returns 0 at once, a detached child serves
    (control socket and DNS), stops on SIGTERM, and nothing was written to
    stderr: the daemon logs to syslog."""
    ctl = str(tmp_path / "daemon.sock")  # unique: it names the process
    port = free_port()
    cmd = [MXCACHED, "-l", f"127.0.0.1@{port}", "-s", ctl]
    cmd += ["--root-hints", testnet.root_hints, "--trust-anchor", testnet.trust_anchor]
    try:
        # The child keeps no copy of our pipes: run() returns when the parent
        # has exited.
        parent = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        assert parent.returncode == 0, parent
        pids = _pids_with(ctl)
        assert len(pids) == 1, f"daemons with {ctl} after the command returned: {pids}"
        with ControlConnection(ctl) as conn:  # ready once it answers
            assert conn.request({"cmd": "ping"}).get("error") is None
        r = Client(Endpoint("127.0.0.1", port), testnet).query("mx1.yada123.com.", "A")
        assert rrset_of(r, "mx1.yada123.com.", "A") is not None, r
    finally:
        for pid in _pids_with(ctl):
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, TIMEOUT):
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"daemon {pid} ignored SIGTERM")
    assert not os.path.exists(ctl), "control socket left behind"
    assert parent.stderr == "", f"written to stderr in daemon mode:\n{parent.stderr}"
