"""Wire-level behaviour: header echo, EDNS, truncation, TCP, bad input."""

import random
import secrets
import socket
import struct

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import pytest

from helpers import TIMEOUT, header, make_query, rdata_set, rrset_of, tcp_frame, tcp_read_message

# Waiting for an answer that must not come costs this much; keep it short.
SILENCE = 1.0


def test_question_case_and_id_echoed(client):
    q = make_query("YaDa123.CoM.", "MX", id=0x4D58)
    wire = q.to_wire()
    reply = client.raw_udp(wire)
    assert reply is not None
    h = header(reply)
    assert h.id == 0x4D58 and h.qr and h.qdcount == 1
    # The question section, byte for byte: name in the client's case.
    qlen = len(dns.name.from_text("YaDa123.CoM.").to_wire()) + 4
    assert reply[12 : 12 + qlen] == wire[12 : 12 + qlen]
    r = dns.message.from_wire(reply)
    assert r.question[0].name.to_text() == "YaDa123.CoM."
    assert rrset_of(r, "yada123.com.", "MX") is not None


def test_rd_echoed_ra_set(client):
    q = make_query("yada123.com", "MX")
    r = client.udp(q)
    assert r.flags & dns.flags.RD and r.flags & dns.flags.RA


def test_no_opt_without_edns(client):
    r = client.udp(make_query("yada123.com", "MX"))
    assert r.edns == -1, "reply has OPT although the query had none"
    assert r.rcode() == dns.rcode.NOERROR


def test_opt_with_edns(client):
    r = client.udp(make_query("yada123.com", "MX", edns=True))
    assert r.edns == 0
    assert r.rcode() == dns.rcode.NOERROR


def _big(client):
    name = "big.yada123.com."
    return name, rrset_of(client.auth(name, "TXT"), name, "TXT")


def test_big_txt_truncated_without_edns(client):
    name, auth = _big(client)
    assert len(auth) == 10
    r = client.udp(make_query(name, "TXT"))
    assert r.flags & dns.flags.TC, "2 KB answer must not fit 512 bytes"


def test_big_txt_truncated_with_edns_1232(client):
    name, _ = _big(client)
    r = client.udp(make_query(name, "TXT", edns=True, payload=1232))
    assert r.flags & dns.flags.TC


def test_big_txt_over_tcp_complete(client):
    name, auth = _big(client)
    r = client.tcp(make_query(name, "TXT"))
    assert not r.flags & dns.flags.TC
    assert rdata_set(rrset_of(r, name, "TXT")) == rdata_set(auth)


def test_tcp_pipelined_queries(client):
    """Several queries written at once on one connection; the replies may
    come in any order, matched by ID."""
    names = {
        0x1001: ("yada123.com.", "MX"),
        0x1002: ("mx1.yada123.com.", "A"),
        0x1003: ("mx2.mailhost.net.", "AAAA"),
        0x1004: ("big.yada123.com.", "TXT"),
        0x1005: ("no-such-name.yada123.com.", "A"),
    }
    out = b""
    for qid, (name, rdtype) in names.items():
        wire = make_query(name, rdtype, id=qid).to_wire()
        out += struct.pack("!H", len(wire)) + wire
    replies = {}
    with socket.create_connection(
        (client.resolver.addr, client.resolver.port), timeout=TIMEOUT
    ) as s:
        s.sendall(out)
        f = s.makefile("rb")
        for _ in names:
            (length,) = struct.unpack("!H", f.read(2))
            r = dns.message.from_wire(f.read(length))
            replies[r.id] = r
    assert set(replies) == set(names)
    for qid, (name, rdtype) in names.items():
        r = replies[qid]
        assert r.question[0].name == dns.name.from_text(name)
        if name.startswith("no-such"):
            assert r.rcode() == dns.rcode.NXDOMAIN
        else:
            assert rrset_of(r, name, rdtype) is not None, f"{name} {rdtype}: {r}"


def test_tcp_answers_out_of_order(client):
    """RFC 7766 §6.2.1.1: a cached answer behind a slow one on the same
    connection is not held up by it."""
    hit = "mx1.yada123.com."
    assert rrset_of(client.query(hit, "A"), hit, "A") is not None  # now cached
    miss = f"ooo-{secrets.token_hex(6)}.yada123.com."  # never cached
    q_miss = make_query(miss, "A", id=0x0A01)
    q_hit = make_query(hit, "A", id=0x0A02)
    with socket.create_connection(
        (client.resolver.addr, client.resolver.port), timeout=TIMEOUT
    ) as s:
        s.sendall(tcp_frame(q_miss) + tcp_frame(q_hit))  # one write, miss first
        first = tcp_read_message(s)
        second = tcp_read_message(s)
    assert first is not None and second is not None, "connection closed early"
    assert [first.id, second.id] == [0x0A02, 0x0A01], "the hit waited for the miss"
    assert rrset_of(first, hit, "A") is not None
    assert second.rcode() == dns.rcode.NXDOMAIN


def _assert_still_answers(client):
    r = client.udp(make_query("mx1.yada123.com", "A"))
    assert r.rcode() == dns.rcode.NOERROR
    assert rrset_of(r, "mx1.yada123.com.", "A") is not None


def _question(name=b"\x07yada123\x03com\x00", qtype=15):
    return name + struct.pack("!HH", qtype, 1)


# Each case: a packet and whether a reply, if any, must echo a readable ID.
MALFORMED = {
    # A header that reads as a query, followed by random bytes.
    "random-body": struct.pack("!6H", 0xBAD1, 0x0100, 1, 0, 0, 0) + random.Random(7).randbytes(40),
    "5-bytes": b"\xba\xd2\x01\x00\x00",
    "qdcount-2": struct.pack("!6H", 0xBAD3, 0x0100, 2, 0, 0, 0) + _question() + _question(qtype=1),
    # qname is a compression pointer to itself (offset 12).
    "compression-loop": struct.pack("!6H", 0xBAD4, 0x0100, 1, 0, 0, 0)
    + b"\xc0\x0c"
    + struct.pack("!HH", 1, 1),
    # 0x40 is not a label length (max 63); it is the reserved 01 label type.
    "label-64": struct.pack("!6H", 0xBAD5, 0x0100, 1, 0, 0, 0)
    + b"\x40"
    + b"a" * 64
    + b"\x00"
    + struct.pack("!HH", 1, 1),
    # QDCOUNT says 1, the packet ends inside the question.
    "truncated-question": struct.pack("!6H", 0xBAD6, 0x0100, 1, 0, 0, 0) + b"\x07yada1",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_query_formerr_or_dropped(client, case):
    wire = MALFORMED[case]
    reply = client.raw_udp(wire, timeout=SILENCE)
    if reply is not None:
        h = header(reply)
        assert h is not None, f"reply shorter than a header: {reply!r}"
        assert h.qr, "reply without QR"
        assert h.rcode == dns.rcode.FORMERR, f"rcode {dns.rcode.to_text(h.rcode)}"
        if len(wire) >= 2:
            assert h.id == struct.unpack("!H", wire[:2])[0]
        assert h.ancount == 0
    _assert_still_answers(client)


def test_fully_random_packets_do_not_hurt(client):
    """Random bytes, header included: any reply must at least be a reply to
    that ID and not claim success."""
    rng = random.Random(1234)
    for _ in range(20):
        wire = rng.randbytes(rng.randrange(1, 80))
        if len(wire) >= 3:
            wire = wire[:2] + bytes([wire[2] & 0x7F]) + wire[3:]  # never QR=1
        reply = client.raw_udp(wire, timeout=0.2)
        if reply is not None:
            h = header(reply)
            assert h is not None and h.qr
            if len(wire) >= 2:
                assert h.id == struct.unpack("!H", wire[:2])[0]
            assert h.rcode != dns.rcode.NOERROR or h.ancount == 0
    _assert_still_answers(client)


def test_opcode_status_notimp(client):
    q = make_query("yada123.com", "MX", id=0x5157)
    q.set_opcode(dns.opcode.STATUS)
    reply = client.raw_udp(q.to_wire())
    assert reply is not None, "no reply to opcode STATUS"
    h = header(reply)
    assert h.id == 0x5157 and h.qr
    assert h.rcode == dns.rcode.NOTIMP
    assert h.ancount == 0
    _assert_still_answers(client)


def test_query_with_qr_set_is_ignored(client):
    """A packet with QR=1 is a response; answering it invites reflection loops."""
    q = make_query("yada123.com", "MX")
    q.flags |= dns.flags.QR
    assert client.raw_udp(q.to_wire(), timeout=SILENCE) is None
    _assert_still_answers(client)


def test_tcp_garbage_does_not_block_others(client):
    """A TCP client that sends half a message and stalls must not stop UDP or
    other TCP clients from being served."""
    with socket.create_connection(
        (client.resolver.addr, client.resolver.port), timeout=TIMEOUT
    ) as stalled:
        stalled.sendall(b"\x00\x40\x12\x34")  # says 64 bytes follow; sends 2
        _assert_still_answers(client)
        r = client.tcp(make_query("mx1.yada123.com", "A"))
        assert rrset_of(r, "mx1.yada123.com.", "A") is not None
