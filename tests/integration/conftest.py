"""Fixtures for the mxcache integration tests.

The tests talk DNS to a recursive resolver that recurses through the loopback
hierarchy of tests/testnet/testnet.sh (NSD on 127.0.0.2-5). Which resolver:

    MXTEST_RESOLVER=mxcache (default)  build/mxcached, or $MXCACHED, optionally
                                       prefixed by $MXCACHED_WRAPPER (valgrind..)
    MXTEST_RESOLVER=unbound            Debian's unbound with testnet's config;
                                       used to validate the tests themselves

Tests marked `mxcache_only` are skipped under unbound.

Fixtures: `testnet` and `resolver` (one each per session), `client` (DNS to
the resolver and to the authoritative servers), `start_mxcached`, a
factory for extra daemons with flags of their own (`start_mxcached("--cache-size",
"32k")`), stopped and checked for a clean exit at the end of the test (or
earlier with `start_mxcached.stop(res)`), `fault_server`, a misbehaving
authoritative server for faulty.com. on 127.0.0.77 (see fault_server.py),
and `hostile_server`, one serving the costliest answers for hostile.com. on
127.0.0.78 (see hostile_server.py).
mxcache-ctl is $MXCACHE_CTL or build/mxcache-ctl.

Run with Debian's interpreter (it has dnspython):
    /usr/bin/python3 -m pytest -v tests/integration
"""

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import pytest

from fault_server import FaultServer
from hostile_server import HostileServer
from spf_server import SpfServer
from helpers import MXCACHED, REPO, Client, ControlConnection, flatten, free_port, run_ctl

TESTNET = REPO / "tests" / "testnet" / "testnet.sh"

RESOLVER_KIND = os.environ.get("MXTEST_RESOLVER", "mxcache")
# Valgrind and friends start slowly; let them ask for more time.
READY_TIMEOUT = float(os.environ.get("MXTEST_READY_TIMEOUT", "20"))
STOP_TIMEOUT = float(os.environ.get("MXTEST_STOP_TIMEOUT", "30"))


# --------------------------------------------------------------- markers


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "mxcache_only: needs mxcache itself (control socket, "
        "mxcache-specific behaviour); skipped under MXTEST_RESOLVER=unbound",
    )
    config.addinivalue_line(
        "markers", "load: measured in wall-clock time (floods, resource exhaustion, "
        "latency); skipped by `make valgrind`")
    if RESOLVER_KIND not in ("mxcache", "unbound"):
        raise pytest.UsageError(
            f"MXTEST_RESOLVER must be mxcache or unbound, not {RESOLVER_KIND!r}"
        )


def pytest_collection_modifyitems(config, items):
    if RESOLVER_KIND == "mxcache":
        return
    skip = pytest.mark.skip(reason=f"mxcache only (resolver is {RESOLVER_KIND})")
    for item in items:
        if "mxcache_only" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    return f"resolver under test: {RESOLVER_KIND}"


# --------------------------------------------------------------- testnet


@dataclass
class Testnet:
    dir: Path
    env: dict

    @property
    def root_hints(self) -> str:
        return self.env["ROOT_HINTS"]

    @property
    def trust_anchor(self) -> str:
        return self.env["TRUST_ANCHOR"]

    def server_for(self, name: str) -> str:
        """Address of the NSD instance authoritative for `name`."""
        n = dns.name.from_text(name)
        for zone, key in (
            ("yada123.com.", "MAIL_SERVER"),
            ("signed123.com.", "MAIL_SERVER"),
            ("bogus123.com.", "MAIL_SERVER"),
            ("mailhost.net.", "MAILHOST_SERVER"),
            ("spfsender.com.", "MAIL_SERVER"),
            ("spfprov.net.", "MAILHOST_SERVER"),
            ("128-25.2.0.11.in-addr.arpa.", "MAILHOST_SERVER"),
            ("com.", "TLD_SERVER"),
            ("net.", "TLD_SERVER"),
            ("arpa.", "TLD_SERVER"),
        ):
            if n.is_subdomain(dns.name.from_text(zone)):
                return self.env[key]
        return self.env["ROOT_SERVER"]

    def nsd_query_count(self, server: str = "MAIL") -> int:
        """Queries NSD instance `server` (ROOT, TLD, MAIL, MAILHOST) has
        received since it started, read over its control socket."""
        conf = self.env[f"NSD_CONF_{server}"]
        out = subprocess.run(
            ["nsd-control", "-c", conf, "stats_noreset"], capture_output=True, text=True, timeout=10
        )
        m = re.search(r"^num\.queries=(\d+)$", out.stdout, re.M)
        if out.returncode != 0 or not m:
            pytest.fail(f"nsd-control stats failed: {out.stdout}{out.stderr}")
        return int(m.group(1))


def _read_env(path: Path) -> dict:
    """DIR/env is KEY=value lines, values shell-quoted by printf %q."""
    env = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key] = " ".join(shlex.split(value))
    return env


@pytest.fixture(scope="session")
def testnet(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the test hierarchy listens on port 53: run as root")
    d = tmp_path_factory.mktemp("testnet")
    try:
        started = subprocess.run(
            [str(TESTNET), "start", str(d)], capture_output=True, text=True, timeout=60
        )
        if started.returncode != 0:
            pytest.fail(f"testnet.sh start failed:\n{started.stdout}{started.stderr}")
        yield Testnet(dir=d, env=_read_env(d / "env"))
    finally:
        # Always stop, even if start failed halfway or a test blew up.
        stopped = subprocess.run(
            [str(TESTNET), "stop", str(d)], capture_output=True, text=True, timeout=60
        )
        if stopped.returncode != 0:
            pytest.fail(f"testnet.sh stop failed:\n{stopped.stdout}{stopped.stderr}")


# --------------------------------------------------------------- resolver

MXCACHED_READY = "mxcached ready"


@dataclass
class Resolver:
    kind: str
    addr: str
    port: int
    proc: subprocess.Popen
    control: Optional[str] = None  # mxcache's JSON control socket
    stderr_lines: list = field(default_factory=list)
    reader: Optional[threading.Thread] = None  # drains the child's stderr
    # Notified by the reader at each new line and at EOF.
    stderr_cond: threading.Condition = field(default_factory=threading.Condition)

    def stderr_text(self, tail: int = 80) -> str:
        return "".join(self.stderr_lines[-tail:])

    def wait_for_log(self, pattern: str, timeout: float, start: int = 0) -> Optional[str]:
        """The first stderr line from index `start` on that matches the
        regular expression `pattern`, waiting up to `timeout` seconds for
        it; None if none came (or the process closed its stderr first)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.stderr_cond:
            while True:
                for line in self.stderr_lines[start:]:
                    if regex.search(line):
                        return line
                start = max(start, len(self.stderr_lines))
                left = deadline - time.monotonic()
                if left <= 0 or (self.reader is not None and not self.reader.is_alive()):
                    return None
                self.stderr_cond.wait(left)

    def control_connection(self) -> ControlConnection:
        if not self.control:
            pytest.skip("no control socket for this resolver")
        try:
            return ControlConnection(self.control)
        except OSError as e:
            pytest.fail(f"control socket {self.control}: {e}")

    def control_request(self, req: dict) -> dict:
        """One request on a connection of its own; the answer as it came."""
        with self.control_connection() as conn:
            return conn.request(req)

    def stats(self) -> dict:
        """mxcache's `stats`, flattened to dotted keys ("cache.hits")."""
        reply = self.control_request({"cmd": "stats"})
        assert "error" not in reply, reply
        return flatten(reply)

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        """mxcache-ctl against this daemon's control socket."""
        return run_ctl("-s", self.control, *args)


def _drain(stream, lines, cond, ready, marker):
    """Collect a child's stderr (so it never blocks on a full pipe) and flag
    the readiness line when it appears."""
    for line in iter(stream.readline, ""):
        with cond:
            lines.append(line)
            cond.notify_all()
        if marker and marker in line:
            ready.set()
    with cond:
        cond.notify_all()
    ready.set()  # EOF: the process is gone; the waiter checks poll()


def _mxcached_cmd(testnet: Testnet, listen, control: str, extra=()) -> list:
    """mxcached in the foreground on the test hierarchy; `extra` comes last,
    so it can override anything before it."""
    if not os.access(MXCACHED, os.X_OK):
        pytest.fail(
            f"{MXCACHED} not found or not executable (run `make` first, "
            "or set MXTEST_RESOLVER=unbound)"
        )
    cmd = shlex.split(os.environ.get("MXCACHED_WRAPPER", "")) + [MXCACHED, "-f"]
    for addr, port in listen:
        cmd += ["-l", f"{addr}@{port}"]
    return cmd + [
        "--root-hints",
        testnet.root_hints,
        "--trust-anchor",
        testnet.trust_anchor,
        "-s",
        control,
        *extra,
    ]


def _start_mxcache(testnet: Testnet, port: int) -> Resolver:
    control = str(testnet.dir / "ctl.sock")
    cmd = _mxcached_cmd(testnet, [("127.0.0.1", port)], control)
    return _spawn("mxcache", cmd, "127.0.0.1", port, marker=MXCACHED_READY, control=control)


def _start_unbound(testnet: Testnet, port: int) -> Resolver:
    # testnet.sh's config, with our port and pidfile laid over it.
    conf = testnet.dir / "unbound-test.conf"
    conf.write_text(
        f'include: "{testnet.env["UNBOUND_CONF"]}"\n'
        "server:\n"
        f"    port: {port}\n"
        f'    pidfile: "{testnet.dir / "unbound-test.pid"}"\n'
    )
    res = _spawn("unbound", ["unbound", "-d", "-c", str(conf)], "127.0.0.1", port, marker=None)
    # unbound prints nothing reliable on readiness: probe with real queries.
    deadline = time.monotonic() + READY_TIMEOUT
    probe = dns.message.make_query(".", "SOA", use_edns=False)
    while True:
        if res.proc.poll() is not None:
            pytest.fail(f"unbound exited with {res.proc.returncode}:\n{res.stderr_text()}")
        try:
            reply = dns.query.udp(probe, res.addr, port=port, timeout=0.5)
            if reply.rcode() == dns.rcode.NOERROR:
                return res
        except (OSError, dns.exception.Timeout):
            pass
        if time.monotonic() > deadline:
            _stop(res)
            pytest.fail(f"unbound not answering after {READY_TIMEOUT}s:\n" f"{res.stderr_text()}")
        # A refused UDP query fails at once; do not spin.
        time.sleep(0.05)


def _launch(kind, cmd, addr, port, marker, control=None, env=None) -> Resolver:
    """Start a child (`env`: variables added to ours) and, with a marker,
    return once it printed it or exited (whichever comes first, bounded by
    READY_TIMEOUT)."""
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **env} if env else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    res = Resolver(kind=kind, addr=addr, port=port, proc=proc, control=control)
    ready = threading.Event()
    res.reader = threading.Thread(
        target=_drain,
        daemon=True,
        args=(proc.stderr, res.stderr_lines, res.stderr_cond, ready, marker),
    )
    res.reader.start()
    if marker:
        ready.wait(READY_TIMEOUT)  # set by the marker line, or by EOF
    return res


def _is_ready(res: Resolver, marker: str) -> bool:
    return any(marker in line for line in res.stderr_lines)


def _spawn(kind, cmd, addr, port, marker, control=None, env=None) -> Resolver:
    res = _launch(kind, cmd, addr, port, marker, control, env)
    if marker:
        seen = _is_ready(res, marker)
        if not seen or res.proc.poll() is not None:
            alive = res.proc.poll() is None
            _stop(res)
            if alive:
                why = f"did not print {marker!r} within {READY_TIMEOUT}s"
            else:
                why = (
                    f"exited ({res.proc.returncode}) "
                    f"{'after' if seen else 'before'} printing {marker!r}"
                )
            pytest.fail(f"{kind} {why}\n" f"command: {shlex.join(cmd)}\n{res.stderr_text()}")
    return res


def _stop(res: Resolver) -> Optional[str]:
    """SIGTERM and wait. Returns a complaint if the exit was not clean."""
    if res.proc.poll() is None:
        res.proc.send_signal(signal.SIGTERM)
        try:
            res.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            res.proc.kill()
            res.proc.wait()
            return f"{res.kind} ignored SIGTERM for {STOP_TIMEOUT}s (killed)"
    rc = res.proc.returncode
    if rc < 0:
        return f"{res.kind} was killed by signal {signal.Signals(-rc).name}"
    if rc != 0:
        return f"{res.kind} exited with status {rc}"
    return None


@pytest.fixture(scope="session")
def resolver(testnet):
    port = free_port()
    if RESOLVER_KIND == "unbound":
        res = _start_unbound(testnet, port)
    else:
        res = _start_mxcache(testnet, port)
    yield res
    complaint = _stop(res)
    res.reader.join(5)  # the last lines, up to EOF
    if complaint:
        pytest.fail(f"{complaint}; its stderr:\n{res.stderr_text()}")


@dataclass
class Exit:
    """How a daemon that was expected to refuse to start ended."""

    returncode: int
    stderr: str


class MxcachedFactory:
    """Extra mxcached daemons for one test, each with its own flags, ports and
    control socket, on the same test hierarchy as the session's resolver.
    They are started like it (ready once "mxcached ready" is on stderr) and
    must exit cleanly on SIGTERM at the end of the test."""

    def __init__(self, testnet: Testnet, workdir: Path):
        self.testnet = testnet
        self.workdir = workdir  # short: Unix socket paths are at most 107 bytes
        self.running = []
        self.count = 0

    def control_path(self) -> str:
        """A fresh control socket path for a daemon of this test."""
        self.count += 1
        return str(self.workdir / f"ctl{self.count}.sock")

    def __call__(
        self, *extra: str, listen=None, control: Optional[str] = None, env=None
    ) -> Resolver:
        """A running daemon with `extra` flags. `listen` is a list of
        (addr, port); the first is the Resolver's addr/port. Default: a free
        port on 127.0.0.1. `env`: environment variables to add."""
        listen = listen or [("127.0.0.1", free_port())]
        control = control or self.control_path()
        cmd = _mxcached_cmd(self.testnet, listen, control, extra)
        res = _spawn("mxcached", cmd, *listen[0], marker=MXCACHED_READY, control=control, env=env)
        self.running.append(res)
        return res

    def expect_exit(self, *extra: str, control: Optional[str] = None) -> Exit:
        """Run a daemon that must refuse to start; fails the test at once if
        it gets ready instead."""
        listen = [("127.0.0.1", free_port())]
        control = control or self.control_path()
        cmd = _mxcached_cmd(self.testnet, listen, control, extra)
        res = _launch("mxcached", cmd, *listen[0], marker=MXCACHED_READY, control=control)
        if not _is_ready(res, MXCACHED_READY):
            try:  # stderr is closed: the process is on its way out
                res.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if _is_ready(res, MXCACHED_READY) or res.proc.poll() is None:
            complaint = _stop(res)
            pytest.fail(
                f"mxcached started although it should not have ({complaint}); "
                f"command: {shlex.join(cmd)}\n{res.stderr_text()}"
            )
        res.reader.join(5)
        return Exit(res.proc.returncode, res.stderr_text())

    def stop(self, res: Resolver, timeout: float = STOP_TIMEOUT) -> float:
        """SIGTERM one daemon of this test and wait for it: it must exit with
        status 0 within `timeout`. Returns how long it took."""
        t0 = time.monotonic()
        res.proc.send_signal(signal.SIGTERM)
        try:
            res.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            res.proc.kill()
            res.proc.wait()
            self.running.remove(res)
            pytest.fail(f"mxcached still running {timeout}s after SIGTERM:\n{res.stderr_text()}")
        elapsed = time.monotonic() - t0
        self.running.remove(res)
        res.reader.join(5)
        assert res.proc.returncode == 0, f"exit status {res.proc.returncode}:\n{res.stderr_text()}"
        return elapsed

    def kill(self, res: Resolver):
        """SIGKILL, as a crash would: no cleanup by the daemon itself."""
        res.proc.kill()
        res.proc.wait(STOP_TIMEOUT)
        assert res.proc.returncode == -signal.SIGKILL
        self.running.remove(res)

    def stop_all(self) -> list:
        complaints = []
        for res in self.running:
            complaint = _stop(res)
            res.reader.join(5)
            if complaint:
                complaints.append(
                    f"{complaint}; command: {shlex.join(res.proc.args)}\n" f"{res.stderr_text()}"
                )
        self.running.clear()
        return complaints


@pytest.fixture
def start_mxcached(testnet, tmp_path_factory):
    """Factory: start_mxcached(*flags, listen=None, control=None) -> Resolver."""
    if RESOLVER_KIND != "mxcache":
        pytest.skip(f"needs mxcached (resolver is {RESOLVER_KIND})")
    factory = MxcachedFactory(testnet, tmp_path_factory.mktemp("mx"))
    yield factory
    complaints = factory.stop_all()
    if complaints:
        pytest.fail("\n".join(complaints))


def _serve(cls, what: str):
    """A scripted server of cls on its own address, closed after the test."""
    try:
        server = cls()
    except OSError as e:
        pytest.fail(f"{what} server on {cls.ADDR}:53: {e}")
    yield server
    server.close()


@pytest.fixture
def fault_server():
    """A misbehaving authoritative server for faulty.com. on 127.0.0.77:53
    (see fault_server.py); start daemons with --stub fault_server.stub."""
    yield from _serve(FaultServer, "fault")


@pytest.fixture
def hostile_server():
    """An authoritative server of pathological answers for hostile.com. on
    127.0.0.78:53 (see hostile_server.py); --stub hostile_server.stub."""
    yield from _serve(HostileServer, "hostile")


@pytest.fixture
def spf_server():
    """An authoritative server of hostile SPF records for bomb. on
    127.0.0.79:53 (see spf_server.py); --stub spf_server.stub."""
    yield from _serve(SpfServer, "spf")


# --------------------------------------------------------------- DNS client


@pytest.fixture(scope="session")
def client(resolver, testnet) -> Client:
    return Client(resolver, testnet)
