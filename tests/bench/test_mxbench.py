"""Tests of mxbench's own logic against small scripted DNS servers.

    /usr/bin/python3 -m pytest -q tests/bench      (after `make`)

The servers run in this process on 127.0.0.1 with a port of the kernel's
choosing, so these tests need neither root nor port 53. What is checked:
the MTA sequence (MX, then A and AAAA per exchanger in preference order,
strictly one after the other), the pause, and that timeouts are counted
and never turned into results.
"""

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

REPO = Path(__file__).resolve().parents[2]
MXBENCH = os.environ.get("MXBENCH", str(REPO / "build" / "mxbench"))


class ScriptedServer:
    """A UDP DNS server answering from a script.

    script maps (name, type) to "drop", "nxdomain", "badquestion", or a
    list of rdata texts (empty: NODATA). Anything else is NXDOMAIN. Every
    query is logged with its arrival time and the number of queries
    answered before it; answers wait `delay` seconds.
    """

    def __init__(self, script, delay=0.0):
        self.script = {(n.lower().rstrip("."), t): v for (n, t), v in script.items()}
        self.delay = delay
        self.log = []  # (time, name, type)
        self.answered = []  # times answers were sent
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.thread.join()
        self.sock.close()

    @property
    def addr(self):
        return f"127.0.0.1@{self.port}"

    def queries(self):
        return [(n, t) for _, n, t in self.log]

    def serve(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            q = dns.message.from_wire(data)
            name = q.question[0].name.to_text().lower().rstrip(".")
            rtype = dns.rdatatype.to_text(q.question[0].rdtype)
            self.log.append((time.monotonic(), name, rtype))
            reply = self.reply(q, self.script.get((name, rtype)))
            if reply is None:
                continue
            if self.delay:
                time.sleep(self.delay)
            self.sock.sendto(reply, peer)
            self.answered.append(time.monotonic())

    def reply(self, q, action):
        r = dns.message.make_response(q)
        if action == "drop":
            return None
        if action == "badquestion":
            # Right ID, wrong question: must not be taken as the answer.
            other = dns.message.make_query("elsewhere.test", "A", id=q.id)
            return dns.message.make_response(other).to_wire()
        if action is None or action == "nxdomain":
            r.set_rcode(dns.rcode.NXDOMAIN)
            return r.to_wire()
        qn = q.question[0]
        if action:
            r.answer.append(dns.rrset.from_text_list(qn.name, 300, "IN", qn.rdtype, action))
        return r.to_wire()


def run_mxbench(tmp_path, server, mode, lines, *args):
    f = tmp_path / "input.txt"
    f.write_text("\n".join(lines) + "\n")
    csv = tmp_path / "samples.csv"
    out = subprocess.run(
        [MXBENCH, "-s", server.addr, "--mode", mode, "--json", "--csv", str(csv),
         *args, str(f)],
        capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout), csv.read_text().splitlines()


def mx_domain(domain, exchangers):
    """Script entries: domain MX plus A and AAAA of each exchanger."""
    s = {(domain, "MX"): [f"{pref} {name}." for pref, name in exchangers]}
    for i, (_, name) in enumerate(exchangers):
        s[(name, "A")] = [f"192.0.2.{i + 1}"]
        s[(name, "AAAA")] = [f"2001:db8::{i + 1}"]
    return s


# ---------------------------------------------------------------- sequence

def test_mta_sequence_in_preference_order(tmp_path):
    # The answer lists the exchangers out of preference order.
    script = mx_domain("d1.test", [(20, "mxb.d1.test"), (10, "mxa.d1.test"),
                                   (30, "mxc.other.test")])
    with ScriptedServer(script, delay=0.01) as srv:
        res, _ = run_mxbench(tmp_path, srv, "mta", ["d1.test"], "-c", "1")
    assert srv.queries() == [
        ("d1.test", "MX"),
        ("mxa.d1.test", "A"), ("mxa.d1.test", "AAAA"),
        ("mxb.d1.test", "A"), ("mxb.d1.test", "AAAA"),
        ("mxc.other.test", "A"), ("mxc.other.test", "AAAA"),
    ]
    assert res["mode"] == "mta"
    assert (res["completed"], res["failed"], res["timeouts"]) == (1, 0, 0)
    assert res["rcodes"]["addr"]["NOERROR"] == 6


def test_mta_one_lookup_at_a_time_per_domain(tmp_path):
    """Each query of a domain arrives only after the previous answer left."""
    script = {}
    domains = [f"d{i}.test" for i in range(4)]
    for d in domains:
        script.update(mx_domain(d, [(10, f"mx1.{d}"), (20, f"mx2.{d}")]))
    with ScriptedServer(script, delay=0.02) as srv:
        res, _ = run_mxbench(tmp_path, srv, "mta", domains, "-c", "2")
    assert res["completed"] == 4
    for d in domains:
        seq = [(t, n, ty) for t, n, ty in srv.log if n == d or n.endswith("." + d)]
        assert [(n, ty) for _, n, ty in seq] == [
            (d, "MX"), (f"mx1.{d}", "A"), (f"mx1.{d}", "AAAA"),
            (f"mx2.{d}", "A"), (f"mx2.{d}", "AAAA")]
        # 20 ms per answer: consecutive queries of one domain are that far apart.
        gaps = [b[0] - a[0] for a, b in zip(seq, seq[1:])]
        assert min(gaps) >= 0.018
    # -c 2: never more than two domains' queries outstanding.
    assert len(srv.log) == 20


def test_mta_null_mx_nodata_nxdomain(tmp_path):
    script = {
        ("nullmx.test", "MX"): ["0 ."],
        ("implicit.test", "MX"): [],  # NODATA: the domain is its own exchanger
        ("implicit.test", "A"): ["192.0.2.9"],
        ("implicit.test", "AAAA"): [],
    }
    with ScriptedServer(script) as srv:
        res, _ = run_mxbench(tmp_path, srv, "mta",
                             ["nullmx.test", "implicit.test", "gone.test"], "-c", "1")
    assert srv.queries() == [
        ("nullmx.test", "MX"),
        ("implicit.test", "MX"), ("implicit.test", "A"), ("implicit.test", "AAAA"),
        ("gone.test", "MX"),
    ]
    assert res["rcodes"]["mx"]["NXDOMAIN"] == 1
    assert res["completed"] == 3
    assert res["addr_ms"]["count"] == 1  # only implicit.test looked up addresses


def test_mta_pause_not_counted(tmp_path):
    script = mx_domain("p.test", [(10, "mx.p.test")])
    with ScriptedServer(script) as srv:
        t0 = time.monotonic()
        res, _ = run_mxbench(tmp_path, srv, "mta", ["p.test"], "--pause", "300")
        wall = time.monotonic() - t0
    (t_mx, *_), (t_a, *_) = srv.log[0], srv.log[1]
    assert t_a - t_mx >= 0.3
    assert wall >= 0.3
    # The address step and the whole delivery leave the pause out.
    assert res["pause_ms"] == 300
    assert res["addr_ms"]["max"] < 100
    assert res["total_ms"]["max"] < 100
    assert res["addr_ms"]["count"] == 1


# ---------------------------------------------------------------- timeouts

def test_mta_timeouts_counted_not_invented(tmp_path):
    script = {}
    script.update(mx_domain("ok.test", [(10, "mx.ok.test")]))
    script[("lost.test", "MX")] = "drop"
    script.update(mx_domain("half.test", [(10, "mx.half.test")]))
    script[("mx.half.test", "AAAA")] = "drop"
    with ScriptedServer(script) as srv:
        res, csv = run_mxbench(tmp_path, srv, "mta", ["ok.test", "lost.test", "half.test"],
                               "-c", "3", "-t", "200", "--retries", "1")
    # Each dropped lookup was tried twice (one retry), then given up.
    assert srv.queries().count(("lost.test", "MX")) == 2
    assert srv.queries().count(("mx.half.test", "AAAA")) == 2
    assert res["timeouts"] == 2
    assert res["queries"]["retries"] == 2
    assert (res["completed"], res["failed"]) == (1, 2)
    assert res["rcodes"]["mx"] == {"NOERROR": 2, "NXDOMAIN": 0, "SERVFAIL": 0, "other": 0,
                                   "truncated": 0, "timeout": 1}
    assert res["rcodes"]["addr"]["timeout"] == 1
    assert res["rcodes"]["total"]["timeout"] == 2
    # Samples only for what was answered: 2 MX, 1 complete address step,
    # 1 complete delivery.
    assert res["mx_ms"]["count"] == 2
    assert res["addr_ms"]["count"] == 1
    assert res["total_ms"]["count"] == 1
    lost = [row for row in csv if ",lost.test.," in row]
    assert lost == ["mx,lost.test.,,timeout", "total,lost.test.,,timeout"]


def test_wrong_question_is_no_answer(tmp_path):
    script = {("bad.test", "A"): "badquestion", ("good.test", "A"): ["192.0.2.1"]}
    with ScriptedServer(script) as srv:
        res, _ = run_mxbench(tmp_path, srv, "qps", ["bad.test A", "good.test A"],
                             "-c", "2", "-d", "0.05", "-t", "200")
    assert res["queries"]["unmatched"] >= 1
    assert res["timeouts"] == res["rcodes"]["timeout"] >= 1
    assert res["latency_us"]["count"] == res["completed"]
    assert res["rcodes"]["NOERROR"] == res["completed"]


def test_qps_timeouts_counted(tmp_path):
    script = {("a.test", "A"): ["192.0.2.1"], ("b.test", "A"): "drop",
              ("c.test", "A"): "nxdomain"}
    with ScriptedServer(script) as srv:
        res, csv = run_mxbench(tmp_path, srv, "qps", ["a.test A", "b.test A", "c.test A"],
                               "-c", "3", "-d", "0.5", "-t", "100")
    sent = res["queries"]["sent"]
    assert res["queries"]["retries"] == 0  # qps mode does not retry by default
    assert res["timeouts"] == srv.queries().count(("b.test", "A"))
    assert res["completed"] + res["failed"] == sent
    assert res["failed"] == res["timeouts"]
    assert res["latency_us"]["count"] == sent - res["timeouts"]
    assert res["rcodes"]["NXDOMAIN"] == srv.queries().count(("c.test", "A"))
    assert all(row.endswith(",,timeout") for row in csv if row.startswith("b.test.,"))
    assert res["qps"] > 0 and set(res["latency_us"]) >= {"p50", "p90", "p99", "mean", "max"}


def test_qps_fixed_rate(tmp_path):
    with ScriptedServer({("a.test", "A"): ["192.0.2.1"]}) as srv:
        res, _ = run_mxbench(tmp_path, srv, "qps", ["a.test A"], "-r", "200", "-d", "1")
    assert 180 <= res["queries"]["sent"] <= 220
    assert res["completed"] == res["queries"]["sent"]


# ---------------------------------------------------------------- inbound

def inbound_script():
    return {
        ("5.2.0.192.in-addr.arpa", "PTR"): ["h1.s.test.", "h2.s.test."],
        ("h1.s.test", "A"): ["192.0.2.5"], ("h1.s.test", "AAAA"): [],
        ("h2.s.test", "A"): ["192.0.2.6"], ("h2.s.test", "AAAA"): [],
        ("s.test", "TXT"): ['"v=spf1 include:_spf.prov.test mx -all"'],
        ("_spf.prov.test", "TXT"): ['"v=spf1 a:relay.prov.test ~all"'],
        ("relay.prov.test", "A"): ["198.51.100.1"], ("relay.prov.test", "AAAA"): [],
        ("s.test", "MX"): ["10 mx.s.test."],
        ("mx.s.test", "A"): ["192.0.2.7"], ("mx.s.test", "AAAA"): [],
        ("_dmarc.s.test", "TXT"): ['"v=DMARC1; p=none"'],
    }


def test_inbound_sequence(tmp_path):
    """FCrDNS, then the SPF tree in evaluation order, then DMARC; strictly
    one lookup after the other."""
    with ScriptedServer(inbound_script(), delay=0.01) as srv:
        res, csv = run_mxbench(tmp_path, srv, "inbound", ["192.0.2.5 s.test"], "-c", "1")
    q = srv.queries()
    # The PTR rrset's order is the server's: either name may come first.
    h1 = [("h1.s.test", "A"), ("h1.s.test", "AAAA")]
    h2 = [("h2.s.test", "A"), ("h2.s.test", "AAAA")]
    assert q[1:5] in (h1 + h2, h2 + h1)
    assert q[:1] + q[5:] == [
        ("5.2.0.192.in-addr.arpa", "PTR"),
        ("s.test", "TXT"), ("_spf.prov.test", "TXT"),
        ("relay.prov.test", "A"), ("relay.prov.test", "AAAA"),
        ("s.test", "MX"), ("mx.s.test", "A"), ("mx.s.test", "AAAA"),
        ("_dmarc.s.test", "TXT"),
    ]
    gaps = [b - a for (a, *_), (b, *_) in zip(srv.log, srv.log[1:])]
    assert min(gaps) >= 0.009
    assert res["mode"] == "inbound" and res["completed"] == 1
    assert res["lookups"]["max"] == 13
    assert res["rcodes"]["spf"]["NOERROR"] == 1
    # Each phase's figure is its lookups' sum: 5, 7 and 1 answers of 10 ms.
    assert 50 <= res["fcrdns_ms"]["p50"] < 200
    assert 70 <= res["spf_ms"]["p50"] < 300
    assert res["total_ms"]["p50"] >= 130
    assert csv[0] == "phase,domain,latency_ms,status"


def test_inbound_pause_and_missing_ptr(tmp_path):
    script = inbound_script()
    with ScriptedServer(script) as srv:
        res, _ = run_mxbench(tmp_path, srv, "inbound", ["192.0.2.99 s.test"], "--pause", "300")
    log = srv.log
    assert (log[0][1], log[0][2]) == ("99.2.0.192.in-addr.arpa", "PTR")  # NXDOMAIN
    assert (log[1][1], log[1][2]) == ("s.test", "TXT")  # no names: straight to SPF
    assert log[1][0] - log[0][0] >= 0.3
    assert res["pause_ms"] == 300 and res["total_ms"]["max"] < 100
    assert res["rcodes"]["ptr"]["NXDOMAIN"] == 1
