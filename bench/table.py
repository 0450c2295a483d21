#!/usr/bin/python3
"""Prints the comparison table of bench/compare.sh from its JSON results.

    bench/table.py RESULTS_DIR

Reads RESULTS_DIR/<workload>.<resolver>.json, prints a text table and
writes it to RESULTS_DIR/table.txt, and a Markdown version (for README) to
RESULTS_DIR/table.md. Ratios are mxcached / unbound: below 1 means mxcached
is faster (latency) or, for QPS, slower.
"""

import json
import sys
from pathlib import Path

RESOLVERS = ["mxcached", "mxcached-nochase", "unbound"]
HEADERS = ["workload", "metric", "mxcached", "chaser off", "unbound", "mxcached/unbound"]

# (workload, label, metric label, key path in the JSON)
ROWS = [
    ("cold-mta", "cold MTA", "delivery p50 ms", ("total_ms", "p50")),
    ("cold-mta", "", "delivery p90 ms", ("total_ms", "p90")),
    ("cold-mta", "", "delivery p99 ms", ("total_ms", "p99")),
    ("cold-mta", "", "MX p50 ms", ("mx_ms", "p50")),
    ("cold-mta", "", "addresses p50 ms", ("addr_ms", "p50")),
    ("cold-pause-mta", "checked, then delivered", "addresses p50 ms", ("addr_ms", "p50")),
    ("cold-pause-mta", "(cold, 200 ms pause)", "addresses p99 ms", ("addr_ms", "p99")),
    ("cold-pause-mta", "", "delivery p50 ms", ("total_ms", "p50")),
    ("warm-mta", "warm MTA", "delivery p50 ms", ("total_ms", "p50")),
    ("warm-mta", "", "delivery p99 ms", ("total_ms", "p99")),
    ("cached-qps", "cached QPS (mxbench)", "answers/s", ("qps",)),
    ("cached-qps", "", "latency p50 us", ("latency_us", "p50")),
    ("cached-qps", "", "latency p99 us", ("latency_us", "p99")),
    ("cached-dnsperf", "cached QPS (dnsperf)", "answers/s", ("qps",)),
    ("cached-dnsperf", "", "latency mean us", ("latency_us", "mean")),
    ("flood", "random-subdomain flood", "legit NOERROR %", ("legit", "noerror_pct")),
    ("flood", "(30,000 MX, 4m cache)", "legit p50 ms", ("legit", "latency_ms", "p50")),
    ("flood", "", "legit p99 ms", ("legit", "latency_ms", "p99")),
    ("flood", "", "peak RSS MiB", ("rss_peak_mib",)),
    ("cold-inbound", "inbound message (cold)", "message p50 ms", ("total_ms", "p50")),
    ("cold-inbound", "PTR, A/AAAA, SPF tree, DMARC", "message p90 ms", ("total_ms", "p90")),
    ("cold-inbound", "", "FCrDNS p50 ms", ("fcrdns_ms", "p50")),
    ("cold-inbound", "", "SPF p50 ms", ("spf_ms", "p50")),
    ("cold-inbound", "", "SPF p90 ms", ("spf_ms", "p90")),
    ("cold-inbound", "", "lookups per message", ("lookups", "mean")),
    ("cold-pause-inbound", "inbound message", "message p50 ms", ("total_ms", "p50")),
    ("cold-pause-inbound", "(cold, 200 ms pause)", "message p90 ms", ("total_ms", "p90")),
    ("cold-pause-inbound", "", "SPF p50 ms", ("spf_ms", "p50")),
    ("cold-pause-inbound", "", "SPF p90 ms", ("spf_ms", "p90")),
]

# Workloads whose runs must all have answered every lookup.
FAILURE_KEYS = ("failed", "timeouts")


def load(results):
    data = {}
    for path in results.glob("*.json"):
        workload, _, resolver = path.stem.partition(".")
        if resolver:
            data[(workload, resolver)] = json.loads(path.read_text())
    return data


def figure(obj, keys):
    for k in keys:
        if not isinstance(obj, dict) or obj.get(k) is None:
            return None
        obj = obj[k]
    return obj


def fmt(v):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def rows(data):
    out = []
    for workload, label, metric, keys in ROWS:
        vals = [figure(data.get((workload, r)), keys) for r in RESOLVERS]
        if all(v is None for v in vals):
            continue  # a workload this run did not measure
        mx, ub = vals[0], vals[2]
        ratio = f"{mx / ub:.2f}" if mx is not None and ub else "-"
        out.append([label, metric] + [fmt(v) for v in vals] + [ratio])
    return out


def text_table(table):
    widths = [max(len(r[i]) for r in [HEADERS] + table) for i in range(len(HEADERS))]
    lines = []
    for r in [HEADERS] + table:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:])]
        lines.append("  ".join(cells))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines) + "\n"


def markdown_table(table):
    lines = ["| " + " | ".join(HEADERS) + " |",
             "| --- | --- | " + " | ".join(["---:"] * (len(HEADERS) - 2)) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in table]
    return "\n".join(lines) + "\n"


def problems(data):
    out = []
    for (workload, resolver), obj in sorted(data.items()):
        bad = {k: obj.get(k) for k in FAILURE_KEYS if obj.get(k)}
        if bad:
            out.append(f"{workload} against {resolver}: " +
                       ", ".join(f"{k} {v}" for k, v in bad.items()))
    return out


def chaser_lines(data):
    """What mxcached's counters say about the cold runs: lookups the chaser
    started and how many of the MTA's questions they answered."""
    out = []
    for workload in ("cold-mta", "cold-pause-mta"):
        for resolver in ("mxcached", "mxcached-nochase"):
            st = data.get((workload, resolver + "-stats"))
            if not st:
                continue
            out.append(f"{workload} {resolver}: upstream lookups {st['upstream.queries']}, "
                       f"chaser prefetches {st['mx_chaser.prefetches']}, "
                       f"prefetch hits {st['mx_chaser.prefetch_hits']}, "
                       f"cache hits {st['cache.hits']}, misses {st['cache.misses']}")
    return out + inbound_lines(data)


INBOUND_RULES = ("mx", "tlsa", "ptr", "spf", "dmarc")


def inbound_lines(data):
    """Lookups the chasers added per inbound message: mxcached's upstream
    lookups per message with the chasers on and off, and the chasers'
    prefetches (and hits) per rule."""
    out = []
    for workload in ("cold-inbound", "cold-pause-inbound"):
        run = data.get((workload, "mxcached"))
        on = data.get((workload, "mxcached-stats"))
        off = data.get((workload, "mxcached-nochase-stats"))
        if not run or not on or not run.get("messages"):
            continue
        n = run["messages"]
        line = f"{workload}: upstream lookups per message {on['upstream.queries'] / n:.2f}"
        if off:
            added = (on["upstream.queries"] - off["upstream.queries"]) / n
            line += (f" (chasers off {off['upstream.queries'] / n:.2f}: "
                     f"{added:+.2f} per message)")
        per_rule = ", ".join(
            f"{r} {on.get(f'chaser.{r}.prefetches', 0) / n:.2f}/{on.get(f'chaser.{r}.prefetch_hits', 0) / n:.2f}"
            for r in INBOUND_RULES)
        out.append(line + f"; prefetches/hits per message by rule: {per_rule}")
    return out


def main():
    results = Path(sys.argv[1])
    data = load(results)
    table = rows(data)
    text = text_table(table)
    rtt = results / "authoritative-rtt.json"
    if rtt.exists():
        lat = json.loads(rtt.read_text())["latency_us"]
        text += (f"\nauthoritative round trip through the delay proxies: "
                 f"p50 {lat['p50'] / 1000:.1f} ms, p99 {lat['p99'] / 1000:.1f} ms\n")
    if not any(r == "mxcached-nochase" for _, r in data):
        text += "chaser off: not measured (mxcached has no --mx-chase flag)\n"
    for line in chaser_lines(data):
        text += line + "\n"
    for p in problems(data):
        text += f"NOTE: {p}\n"
    machine = results / "machine.txt"
    if machine.exists():
        text += "\n" + machine.read_text()
    sys.stdout.write(text)
    (results / "table.txt").write_text(text)
    (results / "table.md").write_text(markdown_table(table))


if __name__ == "__main__":
    main()
