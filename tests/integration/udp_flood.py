"""A UDP query flood for the hardening tests, run as a program of its own so
that its busy loop does not share an interpreter (and its lock) with the
test that measures the daemon meanwhile:

    python3 udp_flood.py ADDR PORT ZONE COUNT SECONDS [SOCKETS] [QPS]

Sends COUNT A queries for random names under ZONE (<16 hex digits>.ZONE)
from SOCKETS non-blocking sockets in turn, at most QPS a second (0: as fast
as it can), and stops after SECONDS whatever it sent. Answers are read as
they come and counted, never waited for; the last answers are read for a
short grace period after the last query. Prints one JSON object: sent,
answered, elapsed (s) and the answers' rcodes.

Standard library only.
"""

import json
import os
import socket
import struct
import sys
import time

GRACE = 0.5  # seconds of reading after the last query
BATCH = 64  # queries sent between two reads of the answers


def encode_name(name: str) -> bytes:
    labels = [label for label in name.split(".") if label]
    return b"".join(bytes([len(label)]) + label.encode() for label in labels) + b"\0"


def main(argv):
    addr, port, zone, count, seconds = argv[1], int(argv[2]), argv[3], int(argv[4]), float(argv[5])
    nsock = int(argv[6]) if len(argv) > 6 else 8
    qps = float(argv[7]) if len(argv) > 7 else 0.0
    dest = (addr, port)
    suffix = encode_name(zone) + struct.pack("!HH", 1, 1)  # A, IN
    socks = []
    for _ in range(nsock):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        socks.append(s)
    rcodes = {}
    answered = sent = 0

    def drain():
        nonlocal answered
        for s in socks:
            while True:
                try:
                    reply = s.recv(4096)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if len(reply) >= 4:
                    answered += 1
                    rcode = reply[3] & 0xF
                    rcodes[rcode] = rcodes.get(rcode, 0) + 1

    t0 = time.monotonic()
    end = t0 + seconds
    while sent < count and time.monotonic() < end:
        if qps:
            ahead = sent / qps - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
        labels = os.urandom(8 * BATCH).hex()
        for i in range(min(BATCH, count - sent)):
            label = labels[16 * i : 16 * i + 16].encode()
            # ID, RD, one question.
            wire = struct.pack("!6H", sent & 0xFFFF, 0x0100, 1, 0, 0, 0)
            wire += b"\x10" + label + suffix
            try:
                socks[sent % nsock].sendto(wire, dest)
            except BlockingIOError:
                pass  # our own socket buffer is full: that query is lost
            sent += 1
        drain()
    last = time.monotonic()
    while time.monotonic() < last + GRACE:
        drain()
        time.sleep(0.01)
    result = {
        "sent": sent,
        "answered": answered,
        "elapsed": round(last - t0, 3),
        "rcodes": {str(k): v for k, v in sorted(rcodes.items())},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
