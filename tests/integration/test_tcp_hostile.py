"""The TCP listener against clients that mean harm: readers that never read
(the write deadline), pipelines past the per-connection pending limit,
half-closed sockets, broken length prefixes, resets in the middle of a
reply. (Connection floods and slow senders are in test_hardening_load.py;
clients outside the allow list in test_acl.py.)"""

import socket
import struct
import time

import dns.rcode
import pytest

from helpers import (
    TIMEOUT,
    instrumented,
    make_query,
    peer_closed,
    rrset_of,
    rss_kib,
    tcp_frame,
    tcp_read_message,
    wait_for_stats,
)

pytestmark = pytest.mark.mxcache_only

BIG = "big.yada123.com."  # a 2 KB TXT answer
PENDING_LIMIT = 64  # queries of one connection in flight (listen_tcp_options)


def _warm(res, name=BIG, rdtype="TXT"):
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(tcp_frame(make_query(name, rdtype, id=1)))
        r = tcp_read_message(s)
        assert r is not None and r.rcode() == dns.rcode.NOERROR
        # Gone from the daemon too (it has seen the FIN): the slot is free.
        s.shutdown(socket.SHUT_WR)
        assert peer_closed(s)


def _served(res, id=0x5E) -> bool:
    """Whether a new TCP client gets an answer now (False: turned away)."""
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        try:
            s.sendall(tcp_frame(make_query(BIG, "TXT", id=id)))
            r = tcp_read_message(s)
        except (ConnectionResetError, BrokenPipeError):
            return False
        return r is not None and r.id == id


def _stuck_reader(res, queries: int) -> socket.socket:
    """A client with a tiny receive window that pipelines big answers and
    never reads one."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # before connect: the window
    s.settimeout(TIMEOUT)
    s.connect((res.addr, res.port))
    s.sendall(b"".join(tcp_frame(make_query(BIG, "TXT", id=i)) for i in range(queries)))
    return s


# --------------------------------------------------------------- write deadline

WRITE_TIMEOUT = 0.5  # seconds


@pytest.mark.load
@pytest.mark.parametrize("queries", [50, 800], ids=["in-kernel", "buffered"])
def test_stuck_readers_lose_their_slots(start_mxcached, testnet, queries):
    """Eight readers that never read fill the eight slots; the idle timeout
    is a minute, so only the write deadline can free them: within twice the
    write timeout (answers queued just after it was set get one more
    period), counted in tcp.write_timeouts, after which new clients are
    served. 50 answers fit in the kernel's send queue, 800 overflow into
    the daemon's own buffer: the deadline sees both."""
    cap = 8
    res = start_mxcached(
        "--tcp-max-connections",
        str(cap),
        "--tcp-idle-timeout",
        "60000",
        "--tcp-write-timeout",
        str(int(WRITE_TIMEOUT * 1000)),
    )
    _warm(res)
    stuck = [_stuck_reader(res, queries) for _ in range(cap)]
    try:
        t0 = time.monotonic()
        assert not _served(res), "a ninth client was served: the stuck ones hold no slot"
        st = wait_for_stats(res, lambda s: s["tcp.write_timeouts"] == cap, 4 * WRITE_TIMEOUT)
        held = time.monotonic() - t0
        assert held <= 2 * WRITE_TIMEOUT + 0.3, f"stuck readers held their slots {held:.2f}s"
        assert st["tcp.timeouts"] == 0, st
        assert _served(res), "slots not free after the write deadline"
    finally:
        for s in stuck:
            s.close()
    print(f"\nstuck readers ({queries} answers each) lost their slots after {held:.2f}s")


def test_late_reader_with_room_is_not_cut_off(start_mxcached, testnet):
    """A client that reads late but has an ordinary receive buffer takes its
    answers into its kernel at once: not a stuck reader, not reset."""
    res = start_mxcached("--tcp-write-timeout", "200")
    _warm(res)
    # 20 answers, 43 KB: well within the window of a default receive buffer.
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(b"".join(tcp_frame(make_query(BIG, "TXT", id=i)) for i in range(1, 21)))
        time.sleep(0.6)  # the behaviour under test: three write timeouts without a read
        ids = []
        for _ in range(20):
            r = tcp_read_message(s)
            assert r is not None, f"closed after {len(ids)} answers"
            ids.append(r.id)
    assert sorted(ids) == list(range(1, 21))
    assert res.stats()["tcp.write_timeouts"] == 0


def test_reset_mid_reply_frees_the_slot(start_mxcached, testnet):
    """A client that resets its connection while answers are still queued
    for it: the daemon drops them, frees the slot and carries on."""
    res = start_mxcached("--tcp-max-connections", "1")
    _warm(res)
    s = _stuck_reader(res, 800)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST
    wait_for_stats(res, lambda st: st["tcp.accepted"] == 2 and _served(res), 2.0)
    assert res.stats()["tcp.write_timeouts"] == 0


# --------------------------------------------------------------- pending limit


@pytest.mark.load
def test_pending_limit_holds_exactly(start_mxcached, testnet, fault_server):
    """400 uncached questions in one write, against a server that answers
    each 100 ms late: the daemon never has more than the limit (64) of them
    at the server at once, and every one is answered, as each completes."""
    fault_server.delay = 0.1
    res = start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none")
    queries = [make_query(f"slow-{i}.faulty.com", "A", id=i) for i in range(400)]
    in_flight = []
    answers = {}
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(b"".join(tcp_frame(q) for q in queries))
        for _ in queries:
            r = tcp_read_message(s)
            assert r is not None, f"closed after {len(answers)} answers"
            assert r.id not in answers, f"ID {r.id} answered twice"
            answers[r.id] = r
            if len(answers) % 25 == 1:
                in_flight.append(res.stats()["upstream.in_flight"])
    assert sorted(answers) == list(range(400))
    for q in queries:
        r = answers[q.id]
        assert r.rcode() == dns.rcode.NOERROR and rrset_of(r, q.question[0].name, "A"), r
    assert fault_server.max_held == PENDING_LIMIT, (
        f"{fault_server.max_held} lookups of one connection at the server at once "
        f"(limit {PENDING_LIMIT})"
    )
    assert max(in_flight) <= PENDING_LIMIT, in_flight
    assert res.stats()["queries.tcp"] == 400


# --------------------------------------------------------------- half-close


def test_half_closed_client_gets_its_answers(start_mxcached, testnet, fault_server):
    """RFC 7766 §6.2.4: a client may send its queries, shut down its side and
    wait; the answers (still being looked up when the FIN comes) are sent,
    then the daemon closes."""
    res = start_mxcached("--stub", fault_server.stub, "--trust-anchor", "none")
    names = [f"slow-half{i}.faulty.com." for i in range(3)]
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(b"".join(tcp_frame(make_query(n, "A", id=i)) for i, n in enumerate(names)))
        assert fault_server.wait_for(names[-1], TIMEOUT), "queries never reached the server"
        s.shutdown(socket.SHUT_WR)
        got = {}
        for _ in names:
            r = tcp_read_message(s)
            assert r is not None, f"closed after {len(got)} answers"
            got[r.id] = r
        assert peer_closed(s), "not closed after the last answer"
    assert sorted(got) == [0, 1, 2]
    for i, n in enumerate(names):
        assert rrset_of(got[i], n, "A") is not None


# --------------------------------------------------------------- framing


@pytest.mark.parametrize(
    "prefix",
    [b"\x00\x00", b"\x00\x05abcde", b"\x00\x0b" + bytes(11), b"\x10\x01", b"\xff\xff"],
    ids=["zero", "five", "eleven", "4097", "65535"],
)
def test_impossible_length_closes_at_once(start_mxcached, testnet, prefix):
    """A length that cannot be a DNS query (shorter than a header, longer
    than the daemon takes) ends the connection at once, unanswered; a query
    sent after it is not read."""
    res = start_mxcached("--tcp-idle-timeout", "5000")
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(prefix)
        t0 = time.monotonic()
        assert peer_closed(s), "data after an impossible length"
        assert time.monotonic() - t0 < 1.0, "left open until the idle timeout"
    st = res.stats()
    assert st["queries.tcp"] == 0 and st["tcp.timeouts"] == 0, st
    assert _served(res)


@pytest.mark.parametrize("sent", [b"\x00", b"\x00\x21", b"\x00\x21" + bytes(12)],
                         ids=["one-byte", "prefix-only", "half-query"])
def test_incomplete_query_then_silence_times_out(start_mxcached, testnet, sent):
    """Part of a query, then nothing: the connection is idle (only whole
    queries count as activity) and closed at the idle timeout."""
    res = start_mxcached("--tcp-idle-timeout", "300")
    with socket.create_connection((res.addr, res.port), timeout=TIMEOUT) as s:
        s.sendall(sent)
        t0 = time.monotonic()
        assert peer_closed(s), "an answer to part of a query"
        elapsed = time.monotonic() - t0
    assert 0.2 <= elapsed <= 1.0, f"closed after {elapsed:.3f}s (idle timeout 300 ms)"
    assert res.stats()["tcp.timeouts"] == 1


# --------------------------------------------------------------- one client, many connections


def _connect_from(res, source: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.bind((source, 0))
    s.connect((res.addr, res.port))
    return s


def _answered(s: socket.socket, id: int) -> bool:
    try:
        s.sendall(tcp_frame(make_query("mx1.yada123.com", "A", id=id)))
        r = tcp_read_message(s)
    except (ConnectionResetError, BrokenPipeError):
        return False
    return r is not None and r.id == id


def test_connections_per_client_capped(start_mxcached, testnet):
    """--tcp-max-per-client 2: a third connection from one address is closed
    at once (tcp.rejected) while another address is served, and a slot
    freed by the first client is its own again. (Two addresses share a cap
    only if they hash to one of 4096 slots: 1 in 4096.)"""
    res = start_mxcached("--tcp-max-per-client", "2")
    greedy = [_connect_from(res, "127.0.0.10") for _ in range(2)]
    try:
        for i, s in enumerate(greedy):
            assert _answered(s, 0x100 + i)
        with _connect_from(res, "127.0.0.10") as third:
            assert peer_closed(third), "a third connection from one client was served"
        with _connect_from(res, "127.0.0.11") as other:
            assert _answered(other, 0x200), "another client was turned away"
        greedy[0].shutdown(socket.SHUT_WR)
        assert peer_closed(greedy[0])
        with _connect_from(res, "127.0.0.10") as again:
            assert _answered(again, 0x300), "the freed slot was not given back"
    finally:
        for s in greedy:
            s.close()
    st = res.stats()
    assert st["tcp.rejected"] == 1 and st["tcp.accepted"] == 4, st


# --------------------------------------------------------------- output bound


@pytest.mark.load
def test_cached_answers_stop_being_read_while_output_waits(start_mxcached, testnet):
    """Cache hits are answered at once and never count as pending: a client
    that pipelines thousands of them and reads nothing must not make the
    daemon buffer up to its 1 MiB output cap per connection. Taking
    queries stops while 64 KiB of its output wait."""
    conns, queries = 20, 3000
    res = start_mxcached("--tcp-write-timeout", "60000")
    _warm(res)
    before = rss_kib(res.proc.pid)
    stuck = []
    try:
        for _ in range(conns):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(TIMEOUT)
            s.connect((res.addr, res.port))
            s.setblocking(False)
            frames = b"".join(tcp_frame(make_query(BIG, "TXT", id=i)) for i in range(queries))
            try:
                s.sendall(frames)  # as much as the daemon takes; it stops reading
            except BlockingIOError:
                pass
            stuck.append(s)
        time.sleep(1.0)  # what the daemon buffers, it has buffered by now
        grown = rss_kib(res.proc.pid) - before
        assert _served(res), "a new client is not served beside the stuck ones"
    finally:
        for s in stuck:
            s.close()
    print(f"\n{conns} connections x {queries} cached 2 KB answers, none read: "
          f"RSS grew {grown} KiB")
    # 64 KiB plus one answer each, and allocator slack; 1 MiB each before.
    assert instrumented() or grown < conns * 200, f"RSS grew {grown} KiB for {conns} stuck connections"
