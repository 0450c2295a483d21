"""The suite leaves the host alone: with something listening on the host's
127.0.0.2:53 and 0.0.0.0:53 (where a mail host's NSD or Unbound would be),
a run of integration tests, which start NSD on 127.0.0.2-5:53 and daemons
on loopback, passes inside its own network namespace (tests/netns.sh), and
the host's listeners are still there afterwards, never having seen a packet.

Runs in the host's namespace, so it needs root like the suite itself.
"""

import errno
import os
import selectors
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = ["tests/integration/test_answers.py", "tests/integration/test_cache.py"]


class Sentinel:
    """UDP and TCP listeners on ADDR:53 that count what reaches them. If the
    host already has a server there, that server is the sentinel: only its
    presence is checked."""

    def __init__(self, addr: str):
        self.addr, self.packets, self.socks = addr, 0, []
        self.preexisting = False
        self._sel = selectors.DefaultSelector()
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                self.socks.append(s)
                s.bind((addr, 53))
                if kind == socket.SOCK_STREAM:
                    s.listen(8)
                s.setblocking(False)
                self._sel.register(s, selectors.EVENT_READ)
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            self.close()
            self.preexisting = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set() and self.socks:
            for key, _ in self._sel.select(0.1):
                s = key.fileobj
                try:
                    if s.type == socket.SOCK_STREAM:
                        s.accept()[0].close()
                    else:
                        s.recv(65535)
                    self.packets += 1
                except OSError:
                    pass

    def listening(self) -> bool:
        probe = "127.0.0.2" if self.addr == "0.0.0.0" else self.addr
        try:
            socket.create_connection((probe, 53), timeout=1).close()
            return True
        except OSError:
            return False

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []


@pytest.fixture
def sentinels():
    if os.environ.get("MXTEST_NETNS") == "1":
        pytest.skip("inside a test network namespace already: the host is not visible")
    if os.geteuid() != 0:
        pytest.skip("needs root, like the suite it runs")
    made = [Sentinel("127.0.0.2"), Sentinel("0.0.0.0")]
    yield made
    for s in made:
        s._stop.set()
        s.close()


def test_suite_runs_beside_host_servers_and_leaves_them_alone(sentinels):
    run = subprocess.run(
        [str(REPO / "tests" / "netns.sh"), sys.executable, "-m", "pytest", "-q", *SAMPLE],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
    for s in sentinels:
        seen = s.packets
        assert s.listening(), f"the host's listener on {s.addr}:53 is gone"
        assert seen == 0, f"{seen} packets reached the host's {s.addr}:53"
