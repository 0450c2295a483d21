"""A writer (and reader) of mxcached's --cache-file format, written apart
from src/persist.c so tests can forge files and check what was saved.

Header: b"MXCACHE2", u64 wall-clock ms of the save, u32 record count, u64
trust anchor identity, u64 SipHash-2-4 (all-zero key) of those 28 bytes.
Then per record: u16 length, the record, u64 SipHash of the record. A
record: u8 name length, wire name, u16 type, u16 class, u8 key flags
(1 DO, 2 CD), u8 answer flags (1 secure, 2 prefetched), u32 age ms,
u32 ms left, u8 0, the stored answer. Big-endian.
"""

import struct
from typing import Iterable, List, NamedTuple

MAGIC = b"MXCACHE2"
KEY_DO, KEY_CD = 1, 2
SECURE, PREFETCHED = 1, 2
_MASK = (1 << 64) - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK


def siphash24(data: bytes, key: bytes = bytes(16)) -> int:
    k0, k1 = struct.unpack("<QQ", key)
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573

    def rounds(n):
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & _MASK
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _MASK
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _MASK
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _MASK
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)

    tail = len(data) % 8
    for (m,) in struct.iter_unpack("<Q", data[: len(data) - tail]):
        v3 ^= m
        rounds(2)
        v0 ^= m
    m = ((len(data) & 0xFF) << 56) | int.from_bytes(data[len(data) - tail :], "little")
    v3 ^= m
    rounds(2)
    v0 ^= m
    v2 ^= 0xFF
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


class Record(NamedTuple):
    name: bytes  # wire form
    qtype: int
    answer: bytes  # stored answer (wire, no OPT)
    left_ms: int
    age_ms: int = 0
    qclass: int = 1
    key_flags: int = 0
    answer_flags: int = 0


def header(saved_ms: int, count: int, anchor: int) -> bytes:
    h = MAGIC + struct.pack("!QIQ", saved_ms, count, anchor)
    return h + struct.pack("!Q", siphash24(h))


def record(r: Record) -> bytes:
    body = (
        bytes([len(r.name)])
        + r.name
        + struct.pack(
            "!HHBBIIB", r.qtype, r.qclass, r.key_flags, r.answer_flags, r.age_ms, r.left_ms, 0
        )
        + r.answer
    )
    return struct.pack("!H", len(body)) + body + struct.pack("!Q", siphash24(body))


def write(records: Iterable[Record], saved_ms: int, anchor: int) -> bytes:
    records = list(records)
    return header(saved_ms, len(records), anchor) + b"".join(record(r) for r in records)


def read(data: bytes) -> tuple:
    """(saved_ms, anchor, [Record]) of a file mxcached wrote; asserts its sums."""
    assert data[:8] == MAGIC, data[:8]
    saved_ms, count, anchor, hsum = struct.unpack("!QIQQ", data[8:36])
    assert hsum == siphash24(data[:28])
    off, out = 36, []  # type: int, List[Record]
    for _ in range(count):
        (n,) = struct.unpack("!H", data[off : off + 2])
        body = data[off + 2 : off + 2 + n]
        assert struct.unpack("!Q", data[off + 2 + n : off + 10 + n])[0] == siphash24(body)
        nl = body[0]
        qtype, qclass, kf, af, age, left, _ = struct.unpack("!HHBBIIB", body[1 + nl : 16 + nl])
        out.append(Record(body[1 : 1 + nl], qtype, body[16 + nl :], left, age, qclass, kf, af))
        off += 10 + n
    assert off == len(data)
    return saved_ms, anchor, out
