"""The Prometheus scrape endpoint (--metrics ADDR@PORT): the same exposition
as `mxcache-ctl --prometheus stats`, HTTP errors, bounds on slow clients and
on connections, scrapes while queries flow, and the Grafana dashboard's
metric names."""

import http.client
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import dns.rcode
import pytest

from helpers import REPO, TIMEOUT, Client, free_port, peer_closed
from promtext import parse_prometheus

pytestmark = pytest.mark.mxcache_only

HEAD_TIMEOUT = 5.0  # METRICS_HEAD_TIMEOUT
MAX_CONNS = 16  # METRICS_MAX_CONNS
MAX_HEAD = 8192  # METRICS_MAX_HEAD
DASHBOARD = REPO / "scripts" / "grafana-dashboard.json"


class Endpoint:
    def __init__(self, res, port):
        self.res = res
        self.port = port
        self.url = f"http://127.0.0.1:{port}/metrics"

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=TIMEOUT) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            return r.read().decode()

    def request(self, method, path, body=None):
        """(status, headers, body) of one request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request(method, path, body=body)
            r = conn.getresponse()
            return r.status, r.headers, r.read()
        finally:
            conn.close()

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)

    def raw(self, data: bytes) -> bytes:
        """What the endpoint answers to these bytes, up to its close."""
        with self.connect() as s:
            s.sendall(data)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            return out


@pytest.fixture
def endpoint(start_mxcached, testnet):
    port = free_port()
    res = start_mxcached("--metrics", f"127.0.0.1@{port}")
    client = Client(res, testnet)
    for _ in range(2):
        assert client.query("mx1.yada123.com", "A").rcode() == dns.rcode.NOERROR
    return Endpoint(res, port)


def _status(raw: bytes) -> int:
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", raw)
    assert m, raw[:200]
    return int(m.group(1))


# --------------------------------------------------------------- the exposition


MOVING = {"mxcache_uptime_s", "mxcache_upstream_in_flight", "mxcache_upstream_distinct_in_flight"}


def test_scrape_is_ctls_exposition(endpoint):
    """Same families, types and (uptime aside) values as mxcache-ctl."""
    scraped = parse_prometheus(endpoint.scrape())
    proc = endpoint.res.ctl("stats", "--prometheus")
    assert proc.returncode == 0, proc.stderr
    ctl = parse_prometheus(proc.stdout)
    assert set(scraped) == set(ctl)
    for family, info in ctl.items():
        assert scraped[family]["type"] == info["type"], family
        assert scraped[family]["help"], family
        # Time and background lookups (the spare lane's priming, say)
        # move between the two reads by themselves.
        if family not in MOVING:
            assert scraped[family]["samples"] == info["samples"], family
    (total,) = [v for n, _, v in scraped["mxcache_queries_total"]["samples"]]
    assert total == 2
    assert scraped["mxcache_latency_seconds"]["type"] == "histogram"


def test_head_has_headers_only(endpoint):
    status, headers, body = endpoint.request("HEAD", "/metrics")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 1000
    assert headers["Connection"] == "close"


def test_query_string_is_ignored(endpoint):
    status, _, body = endpoint.request("GET", "/metrics?name[]=x")
    assert status == 200 and b"mxcache_queries_total" in body


@pytest.mark.parametrize("path", ["/", "/metricsx", "/metrics/", "/stats", "*"])
def test_other_paths_404(endpoint, path):
    assert _status(endpoint.raw(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())) == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "BREW"])
def test_other_methods_405(endpoint, method):
    body = b"x" if method == "POST" else None
    status, headers, _ = endpoint.request(method, "/metrics", body=body)
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "head",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /metrics\r\n\r\n",
        b"GET /metrics HTTP/2.0\r\n\r\n",
        b"GET  /metrics HTTP/1.1\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n folded: header\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nX: a\x00b\r\n\r\n",
        b"GET /met\x7frics HTTP/1.1\r\n\r\n",
        b"\r\n\r\n",
    ],
)
def test_malformed_400(endpoint, head):
    assert _status(endpoint.raw(head)) == 400


def test_oversized_head_400(endpoint):
    """A head without its end within 8 KiB: 400, even while more comes."""
    with endpoint.connect() as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * MAX_HEAD + b"\r\n")
        answer = s.recv(65536)
    assert _status(answer) == 400


def test_bare_lf_lines_are_accepted(endpoint):
    assert _status(endpoint.raw(b"GET /metrics HTTP/1.0\nHost: x\n\n")) == 200


def test_slow_reader_gets_everything(endpoint):
    """A client with a tiny receive window, reading a little at a time, gets
    the whole answer, as long as Content-Length says, then the close."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", endpoint.port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = b""
        while chunk := s.recv(256):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert length > 4096 and len(body) == length
    assert "mxcache_queries_total" in parse_prometheus(body.decode())


# --------------------------------------------------------------- bounds


def _closed_within(s: socket.socket, limit: float) -> float:
    """Seconds until the endpoint closed s; fails past limit."""
    start = time.monotonic()
    s.settimeout(limit)
    try:
        data = s.recv(65536)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        pytest.fail(f"still open after {limit}s")
    assert data == b"", data[:200]
    return time.monotonic() - start


@pytest.mark.load
def test_slow_clients_are_closed_while_others_scrape(endpoint):
    silent = endpoint.connect()
    half = endpoint.connect()
    half.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    try:
        # The loop is not held by them: a scrape goes through at once.
        start = time.monotonic()
        assert "mxcache_queries_total" in endpoint.scrape()
        assert time.monotonic() - start < 1.0
        limit = HEAD_TIMEOUT + 2.0
        assert _closed_within(silent, limit) >= HEAD_TIMEOUT - 1.0
        assert _closed_within(half, limit) < limit
    finally:
        silent.close()
        half.close()
    assert "mxcache_queries_total" in endpoint.scrape()


def test_connection_cap(endpoint):
    """16 connections that never ask hold every slot: a scrape still gets
    in, the oldest idle one giving way, and the bound holds."""
    idle = [endpoint.connect() for _ in range(MAX_CONNS)]
    try:
        for _ in range(3):
            assert "mxcache_queries_total" in endpoint.scrape()
        # Each scrape took the place of the oldest idle connection, when
        # the one before it had not yet left: the oldest one at least, and
        # never a newer one before an older one.
        assert peer_closed(idle[0])
        closed = []
        for i, s in enumerate(idle[1:], 1):
            s.setblocking(False)
            try:
                s.recv(1)
                closed.append(i)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed.append(i)
        assert closed == list(range(1, len(closed) + 1)) and len(closed) <= 2, closed
    finally:
        for s in idle:
            s.close()
    assert "mxcache_queries_total" in endpoint.scrape()


@pytest.mark.load
def test_scrapes_while_queries_flow(endpoint, testnet):
    client = Client(endpoint.res, testnet)
    stop = threading.Event()
    answered = []

    def load():
        deadline = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < deadline:
            answered.append(client.query("mx1.yada123.com", "A").rcode())

    worker = threading.Thread(target=load)
    worker.start()
    totals = []
    try:
        for _ in range(20):
            fams = parse_prometheus(endpoint.scrape())
            totals.append(fams["mxcache_queries_total"]["samples"][0][2])
    finally:
        stop.set()
        worker.join()
    assert totals == sorted(totals) and totals[-1] > totals[0], totals
    assert answered and all(r == dns.rcode.NOERROR for r in answered)


def test_metrics_flag_needs_addr_and_port(start_mxcached):
    for bad in ("127.0.0.1", "nope@9100", "127.0.0.1@0"):
        ex = start_mxcached.expect_exit("--metrics", bad)
        assert ex.returncode == 2 and "--metrics" in ex.stderr, ex


def test_address_in_use_is_fatal(start_mxcached):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ex = start_mxcached.expect_exit("--metrics", f"127.0.0.1@{port}")
    assert ex.returncode != 0 and "--metrics" in ex.stderr, ex


# --------------------------------------------------------------- the dashboard


def _dashboard_exprs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "query") and isinstance(value, str):
                yield value
            else:
                yield from _dashboard_exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dashboard_exprs(value)


def test_dashboard_names_exist(endpoint):
    """Every mxcache_* name in the dashboard's PromQL is in a live scrape."""
    dash = json.loads(DASHBOARD.read_text())
    exprs = list(_dashboard_exprs(dash))
    assert len(exprs) >= 6, exprs
    families = parse_prometheus(endpoint.scrape())
    samples = {name for info in families.values() for name, _, _ in info["samples"]}
    used = {n for e in exprs for n in re.findall(r"\bmxcache_[a-zA-Z0-9_]+", e)}
    assert used, exprs
    missing = sorted(n for n in used if n not in families and n not in samples)
    assert missing == [], f"not in the exposition: {missing}"
    variables = dash["templating"]["list"]
    assert any(v.get("type") == "datasource" for v in variables), "no datasource variable"
    uids = {p["datasource"]["uid"] for p in dash["panels"]}
    assert uids == {"${datasource}"}, uids
