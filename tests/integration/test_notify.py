"""systemd's notification protocol (sd_notify(3)): the daemon says READY=1
once it answers, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1 when it
drains, a STATUS= line, and WATCHDOG=1 at half of $WATCHDOG_USEC. The
service manager here is a datagram socket of the test's own."""

import signal
import socket
import time

import pytest

from helpers import Client, rrset_of

pytestmark = [pytest.mark.mxcache_only]


@pytest.fixture
def manager(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    yield path, sock
    sock.close()


def _messages(sock, until, timeout: float) -> list:
    """Datagrams received until until(list) holds or timeout passes."""
    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline and not until(got):
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            pass
    return got


def test_ready_reload_status_watchdog_stopping(start_mxcached, manager):
    path, sock = manager
    res = start_mxcached(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
    got = _messages(sock, lambda m: "READY=1" in m, 5)
    assert "READY=1" in got, got
    # Ready means answering.
    assert rrset_of(Client(res, None).query("mx1.yada123.com.", "A"), "mx1.yada123.com.", "A")
    got = _messages(sock, lambda m: any(x.startswith("STATUS=") for x in m)
                    and "WATCHDOG=1" in m, 5)
    status = [m for m in got if m.startswith("STATUS=")]
    assert status and "queries" in status[-1] and "cache hits" in status[-1], got
    assert "WATCHDOG=1" in got
    res.proc.send_signal(signal.SIGHUP)
    got = _messages(sock, lambda m: "READY=1" in m, 5)
    assert "RELOADING=1" in got and got.index("RELOADING=1") < got.index("READY=1"), got
    res.proc.send_signal(signal.SIGTERM)
    got = _messages(sock, lambda m: "STOPPING=1" in m, 5)
    assert "STOPPING=1" in got, got
    res.proc.wait(10)


def test_no_watchdog_for_another_pid(start_mxcached, manager):
    path, sock = manager
    start_mxcached(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})
    got = _messages(sock, lambda m: False, 1.5)
    assert "READY=1" in got and "WATCHDOG=1" not in got, got


def test_broken_notify_socket_is_a_warning(start_mxcached):
    res = start_mxcached(env={"NOTIFY_SOCKET": "relative/path"})
    assert rrset_of(Client(res, None).query("mx1.yada123.com.", "A"), "mx1.yada123.com.", "A")
    assert "not telling the service manager" in res.stderr_text()
