"""Fixtures for the mxcache integration tests.

The tests talk DNS to a recursive resolver that recurses through the loopback
hierarchy of scripts/testnet.sh (NSD on 127.0.0.2-5). Which resolver:

    MXTEST_RESOLVER=mxcache (default)  build/mxcached, or $MXCACHED, optionally
                                       prefixed by $MXCACHED_WRAPPER (valgrind..)
    MXTEST_RESOLVER=unbound            Debian's unbound with testnet's config;
                                       used to validate the tests themselves

Tests marked `mxcache_only` are skipped under unbound.

Run with Debian's interpreter (it has dnspython):
    /usr/bin/python3 -m pytest -v tests/integration
"""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from helpers import TIMEOUT, make_query

REPO = Path(__file__).resolve().parents[2]
TESTNET = REPO / "scripts" / "testnet.sh"

RESOLVER_KIND = os.environ.get("MXTEST_RESOLVER", "mxcache")
# Valgrind and friends start slowly; let them ask for more time.
READY_TIMEOUT = float(os.environ.get("MXTEST_READY_TIMEOUT", "20"))
STOP_TIMEOUT = float(os.environ.get("MXTEST_STOP_TIMEOUT", "30"))


# --------------------------------------------------------------- markers

def pytest_configure(config):
    config.addinivalue_line(
        "markers", "mxcache_only: needs mxcache itself (control socket, "
        "mxcache-specific behaviour); skipped under MXTEST_RESOLVER=unbound")
    if RESOLVER_KIND not in ("mxcache", "unbound"):
        raise pytest.UsageError(
            f"MXTEST_RESOLVER must be mxcache or unbound, not {RESOLVER_KIND!r}")


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
        for zone, key in (("yada123.com.", "MAIL_SERVER"),
                          ("signed123.com.", "MAIL_SERVER"),
                          ("bogus123.com.", "MAIL_SERVER"),
                          ("mailhost.net.", "MAILHOST_SERVER"),
                          ("com.", "TLD_SERVER"), ("net.", "TLD_SERVER"),
                          ("arpa.", "TLD_SERVER")):
            if n.is_subdomain(dns.name.from_text(zone)):
                return self.env[key]
        return self.env["ROOT_SERVER"]

    def nsd_query_count(self, server: str = "MAIL") -> int:
        """Queries NSD instance `server` (ROOT, TLD, MAIL, MAILHOST) has
        received since it started, read over its control socket."""
        conf = self.env[f"NSD_CONF_{server}"]
        out = subprocess.run(["nsd-control", "-c", conf, "stats_noreset"],
                             capture_output=True, text=True, timeout=10)
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
        started = subprocess.run([str(TESTNET), "start", str(d)],
                                 capture_output=True, text=True, timeout=60)
        if started.returncode != 0:
            pytest.fail(f"testnet.sh start failed:\n{started.stdout}{started.stderr}")
        yield Testnet(dir=d, env=_read_env(d / "env"))
    finally:
        # Always stop, even if start failed halfway or a test blew up.
        stopped = subprocess.run([str(TESTNET), "stop", str(d)],
                                 capture_output=True, text=True, timeout=60)
        if stopped.returncode != 0:
            pytest.fail(f"testnet.sh stop failed:\n{stopped.stdout}{stopped.stderr}")


# --------------------------------------------------------------- resolver

def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (asked of the kernel)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


@dataclass
class Resolver:
    kind: str
    addr: str
    port: int
    proc: subprocess.Popen
    control: Optional[str] = None  # mxcache's JSON control socket
    stderr_lines: list = field(default_factory=list)
    reader: Optional[threading.Thread] = None  # drains the child's stderr

    def stderr_text(self, tail: int = 80) -> str:
        return "".join(self.stderr_lines[-tail:])

    def stats(self) -> dict:
        """mxcache's `stats`, flattened to dotted keys ("cache.hits")."""
        if not self.control:
            pytest.skip("no control socket for this resolver")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(TIMEOUT)
            try:
                s.connect(self.control)
            except OSError as e:
                pytest.fail(f"control socket {self.control}: {e}")
            s.sendall(b'{"cmd": "stats"}\n')
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        reply = json.loads(buf)
        assert "error" not in reply, reply
        return _flatten(reply)


def _flatten(obj, prefix=""):
    """Accept both {"cache.hits": 1} and {"cache": {"hits": 1}}."""
    flat = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _drain(stream, lines, ready, marker):
    """Collect a child's stderr (so it never blocks on a full pipe) and flag
    the readiness line when it appears."""
    for line in iter(stream.readline, ""):
        lines.append(line)
        if marker and marker in line:
            ready.set()
    ready.set()  # EOF: the process is gone; the waiter checks poll()


def _start_mxcache(testnet: Testnet, port: int) -> Resolver:
    binary = os.environ.get("MXCACHED", str(REPO / "build" / "mxcached"))
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} not found or not executable (run `make` first, "
                    "or set MXTEST_RESOLVER=unbound)")
    control = str(testnet.dir / "ctl.sock")
    cmd = shlex.split(os.environ.get("MXCACHED_WRAPPER", "")) + [
        binary, "-f", "-l", f"127.0.0.1@{port}",
        "--root-hints", testnet.root_hints,
        "--trust-anchor", testnet.trust_anchor,
        "-s", control,
    ]
    return _spawn("mxcache", cmd, port, marker="mxcached ready", control=control)


def _start_unbound(testnet: Testnet, port: int) -> Resolver:
    # testnet.sh's config, with our port and pidfile laid over it.
    conf = testnet.dir / "unbound-test.conf"
    conf.write_text(
        f'include: "{testnet.env["UNBOUND_CONF"]}"\n'
        "server:\n"
        f"    port: {port}\n"
        f'    pidfile: "{testnet.dir / "unbound-test.pid"}"\n')
    res = _spawn("unbound", ["unbound", "-d", "-c", str(conf)], port, marker=None)
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
            pytest.fail(f"unbound not answering after {READY_TIMEOUT}s:\n"
                        f"{res.stderr_text()}")
        # A refused UDP query fails at once; do not spin.
        time.sleep(0.05)


def _spawn(kind, cmd, port, marker, control=None) -> Resolver:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, errors="replace")
    res = Resolver(kind=kind, addr="127.0.0.1", port=port, proc=proc,
                   control=control)
    ready = threading.Event()
    res.reader = threading.Thread(target=_drain, daemon=True,
                                  args=(proc.stderr, res.stderr_lines, ready, marker))
    res.reader.start()
    if marker:
        ready.wait(READY_TIMEOUT)  # set by the marker line, or by EOF
        seen = any(marker in line for line in res.stderr_lines)
        if not seen or proc.poll() is not None:
            alive = proc.poll() is None
            _stop(res)
            if alive:
                why = f"did not print {marker!r} within {READY_TIMEOUT}s"
            else:
                why = f"exited ({proc.returncode}) {'after' if seen else 'before'} printing {marker!r}"
            pytest.fail(f"{kind} {why}\n"
                        f"command: {shlex.join(cmd)}\n{res.stderr_text()}")
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
    port = _free_port()
    if RESOLVER_KIND == "unbound":
        res = _start_unbound(testnet, port)
    else:
        res = _start_mxcache(testnet, port)
    yield res
    complaint = _stop(res)
    res.reader.join(5)  # the last lines, up to EOF
    if complaint:
        pytest.fail(f"{complaint}; its stderr:\n{res.stderr_text()}")


# --------------------------------------------------------------- DNS helpers

class Client:
    """Queries to the resolver under test and to the authoritative servers."""

    def __init__(self, resolver: Resolver, testnet: Testnet):
        self.resolver = resolver
        self.testnet = testnet

    def udp(self, q: dns.message.Message) -> dns.message.Message:
        return dns.query.udp(q, self.resolver.addr, port=self.resolver.port,
                             timeout=TIMEOUT)

    def tcp(self, q: dns.message.Message) -> dns.message.Message:
        return dns.query.tcp(q, self.resolver.addr, port=self.resolver.port,
                             timeout=TIMEOUT)

    def query(self, name, rdtype, **kw) -> dns.message.Message:
        """UDP first, TCP if truncated: what a stub resolver does."""
        q = make_query(name, rdtype, **kw)
        r = self.udp(q)
        if r.flags & dns.flags.TC:
            r = self.tcp(q)
        return r

    def raw_udp(self, wire: bytes, timeout: float = TIMEOUT) -> Optional[bytes]:
        """Send bytes, return the reply bytes or None after `timeout`."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(wire, (self.resolver.addr, self.resolver.port))
            try:
                return s.recv(65535)
            except socket.timeout:
                return None

    def auth(self, name, rdtype) -> dns.message.Message:
        """The authoritative answer, straight from the NSD instance (TCP, so
        that big RRsets come whole)."""
        q = dns.message.make_query(name, rdtype, use_edns=False)
        q.flags &= ~dns.flags.RD
        r = dns.query.tcp(q, self.testnet.server_for(name), timeout=TIMEOUT)
        assert r.flags & dns.flags.AA, f"{self.testnet.server_for(name)} not authoritative for {name}"
        return r


@pytest.fixture(scope="session")
def client(resolver, testnet) -> Client:
    return Client(resolver, testnet)
