#!/usr/bin/python3
"""flood.py — legitimate lookups during a random-subdomain flood.

    bench/flood.py --server ADDR@PORT --zone ZONE --legit FILE [--pid PID]
                   [--count 30000] [--burst 200] [--interval-ms 10]
                   [--legit-interval-ms 200] [--timeout 2]

What a mail server sends when an attacker mails from or to
<random>.ZONE: COUNT never-seen MX questions under ZONE, BURST at a time
every INTERVAL ms, from a process of its own. Meanwhile, every LEGIT
interval, one never-seen MX question for the next domain of FILE (one per
line, in other zones), waited for up to TIMEOUT seconds; and, with --pid,
the resolver's resident memory sampled every 50 ms. Prints one JSON
object: the flood's answers by rcode, the legitimate lookups (answered,
timeouts, rcodes, latency percentiles in ms) and the peak RSS in KiB.

Standard library only: the sender must not wait on anything.
"""

import argparse
import json
import multiprocessing
import os
import socket
import struct
import threading
import time

RCODES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}


def encode_name(name: str) -> bytes:
    labels = [label for label in name.split(".") if label]
    return b"".join(bytes([len(label)]) + label.encode() for label in labels) + b"\0"


def mx_query(qid: int, name_wire: bytes) -> bytes:
    # ID, RD, one question: NAME MX IN.
    return struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0) + name_wire + struct.pack("!HH", 15, 1)


def flood(dest, zone: str, count: int, burst: int, interval: float, out):
    """The attacker's side: bursts of random names, answers counted as
    they come, never waited for."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    suffix = encode_name(zone)
    rcodes = {}

    def drain():
        while True:
            try:
                reply = sock.recv(4096)
            except (BlockingIOError, ConnectionRefusedError):
                return
            if len(reply) >= 4:
                name = RCODES.get(reply[3] & 0xF, str(reply[3] & 0xF))
                rcodes[name] = rcodes.get(name, 0) + 1

    sent, t0 = 0, time.monotonic()
    while sent < count:
        labels = os.urandom(8 * burst).hex()
        for i in range(min(burst, count - sent)):
            wire = mx_query(sent & 0xFFFF, b"\x10" + labels[16 * i : 16 * i + 16].encode() + suffix)
            try:
                sock.sendto(wire, dest)
            except BlockingIOError:
                pass
            sent += 1
        drain()
        ahead = t0 + (sent // burst) * interval - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    end = time.monotonic() + 3
    while time.monotonic() < end:
        drain()
        time.sleep(0.01)
    out.put({"sent": sent, "seconds": round(time.monotonic() - t0 - 3, 2), "rcodes": rcodes})


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def legit(dest, domains, interval: float, timeout: float, stop: threading.Event) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    latencies, rcodes, timeouts, asked = [], {}, 0, 0
    for domain in domains:
        if stop.is_set():
            break
        qid = asked & 0xFFFF
        t0 = time.monotonic()
        sock.sendto(mx_query(qid, encode_name(domain)), dest)
        asked += 1
        while True:
            left = t0 + timeout - time.monotonic()
            if left <= 0:
                timeouts += 1
                break
            sock.settimeout(left)
            try:
                reply = sock.recv(65535)
            except socket.timeout:
                continue
            if len(reply) >= 4 and struct.unpack("!H", reply[:2])[0] == qid:
                latencies.append((time.monotonic() - t0) * 1000)
                name = RCODES.get(reply[3] & 0xF, str(reply[3] & 0xF))
                rcodes[name] = rcodes.get(name, 0) + 1
                break
        time.sleep(max(0.0, t0 + interval - time.monotonic()))
    latencies.sort()

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2) if latencies else None

    ok = rcodes.get("NOERROR", 0)
    return {
        "asked": asked,
        "answered": len(latencies),
        "noerror_pct": round(100 * ok / asked, 1) if asked else None,
        "timeouts": timeouts,
        "rcodes": rcodes,
        "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True, help="ADDR@PORT")
    ap.add_argument("--zone", required=True)
    ap.add_argument("--legit", required=True, help="file of domains, one per line")
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--count", type=int, default=30000)
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--interval-ms", type=float, default=10)
    ap.add_argument("--legit-interval-ms", type=float, default=200)
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args()
    addr, _, port = args.server.partition("@")
    dest = (addr, int(port or 53))
    with open(args.legit) as f:
        domains = [line.split()[0] for line in f if line.strip()]

    out = multiprocessing.Queue()
    sender = multiprocessing.Process(
        target=flood,
        args=(dest, args.zone, args.count, args.burst, args.interval_ms / 1000, out),
    )
    stop, peak = threading.Event(), [rss_kib(args.pid) if args.pid else 0]

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(args.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    if args.pid:
        sampler.start()
    sender.start()
    # Legitimate lookups for as long as the flood (and its answers) last.
    result = {}
    watcher = threading.Thread(target=lambda: (sender.join(), stop.set()), daemon=True)
    watcher.start()
    result["legit"] = legit(dest, domains, args.legit_interval_ms / 1000, args.timeout, stop)
    result["flood"] = out.get()
    sender.join()
    stop.set()
    result["rss_peak_kib"] = peak[0]
    result["rss_peak_mib"] = round(peak[0] / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
