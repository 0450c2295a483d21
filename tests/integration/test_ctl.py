"""mxcache-ctl, the operator's client: text summary, JSON, Prometheus text
exposition, ping, flush and dump, and its errors."""

import json
import re

import dns.rcode
import pytest

from helpers import PROMISED_STATS_KEYS, Client, run_ctl
from promtext import parse_prometheus

pytestmark = pytest.mark.mxcache_only


@pytest.fixture
def daemon(start_mxcached, testnet):
    """A daemon of its own that has seen one miss and one hit (A queries:
    no MX chaser work in the background)."""
    res = start_mxcached()
    client = Client(res, testnet)
    for _ in range(2):
        assert client.query("mx1.yada123.com", "A").rcode() == dns.rcode.NOERROR
    return res


def _ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}"
    assert proc.stderr == "", proc.stderr
    return proc.stdout


# --------------------------------------------------------------- stats


def test_stats_summary_shows_hit_ratio(daemon):
    out = _ok(daemon.ctl("stats"))
    assert re.search(r"hit ratio 50\.0%", out), out
    assert re.search(r"\bqueries\b.*\btotal 2\b", out), out


def test_json_stats_has_promised_keys(daemon):
    stats = json.loads(_ok(daemon.ctl("--json", "stats")))
    missing = [k for k in PROMISED_STATS_KEYS if k not in stats]
    assert missing == [], f"promised stats keys missing: {missing}"
    for key in PROMISED_STATS_KEYS:
        assert isinstance(stats[key], (int, float)), key
    assert stats["queries.total"] == 2 and stats["cache.hits"] == 1


def test_prometheus_stats_parse(daemon):
    stats = daemon.stats()  # nothing queries this daemon in between
    families = parse_prometheus(_ok(daemon.ctl("--prometheus", "stats")))

    def value(family, **labels):
        for name, sample_labels, v in families[family]["samples"]:
            if name == family and sample_labels == labels:
                return v
        raise KeyError(f"{family}{labels}")

    assert families["mxcache_queries_total"]["type"] == "counter"
    assert value("mxcache_queries_total") == stats["queries.total"] == 2
    assert value("mxcache_queries_by_type_total", type="A") == 2
    assert value("mxcache_answers_by_rcode_total", rcode="NOERROR") == 2
    assert value("mxcache_cache_hits_total") == stats["cache.hits"]
    assert families["mxcache_cache_entries"]["type"] == "gauge"
    hist = families["mxcache_latency_seconds"]
    assert hist["type"] == "histogram"
    count = [v for name, _, v in hist["samples"] if name == "mxcache_latency_seconds_count"]
    assert count == [stats["latency_us.count"]]



def test_prometheus_covers_every_key(daemon):
    """Every number of the JSON object is exposed with a help text of its
    own: JSON, Prometheus and the summary are one table's renderings."""
    stats = daemon.stats()
    families = parse_prometheus(_ok(daemon.ctl("--prometheus", "stats")))
    helps = {name: f["help"] for name, f in families.items()}
    assert len(set(helps.values())) == len(helps), "a help text stands twice"
    hist_parts = (".p50", ".p90", ".p99", ".max", ".mean", ".count")
    for key, v in stats.items():
        if not isinstance(v, (int, float)) or key.startswith("queries.by_"):
            continue
        if key.startswith("latency") and key.endswith(hist_parts):
            base = key.rsplit(".", 1)[0].removesuffix("_us")
            assert f"mxcache_{base}_seconds" in families, key
            continue
        metric = "mxcache_" + key.replace(".", "_")
        found = [m for m in (metric, metric + "_total") if m in families]
        assert found, f"{key}: no Prometheus family"
        assert helps[found[0]] and "statistic" not in helps[found[0]], key


_GOOD = (
    "# HELP m_seconds Latency.\n# TYPE m_seconds histogram\n"
    'm_seconds_bucket{le="0.1"} 1\nm_seconds_bucket{le="+Inf"} 2\n'
    "m_seconds_sum 0.3\nm_seconds_count 2\n"
)
_BAD = {
    "no-type": "m_total 1\n",
    "bad-name": "# TYPE 1m counter\n1m 1\n",
    "bad-value": "# TYPE m counter\nm one\n",
    "bad-label": '# TYPE m counter\nm{0x="a"} 1\n',
    "duplicate": "# TYPE m counter\nm 1\nm 2\n",
    "split-family": '# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x="y"} 1\n',
    "not-cumulative": _GOOD.replace('le="+Inf"} 2', 'le="+Inf"} 0'),
    "inf-not-count": _GOOD.replace("m_seconds_count 2", "m_seconds_count 3"),
    "no-inf": _GOOD.replace('m_seconds_bucket{le="+Inf"} 2\n', ""),
    "no-final-newline": _GOOD[:-1],
}


def test_prometheus_parser_accepts_valid_input():
    assert parse_prometheus(_GOOD)["m_seconds"]["type"] == "histogram"


@pytest.mark.parametrize("case", sorted(_BAD))
def test_prometheus_parser_rejects_invalid_input(case):
    """The parser is strict enough to catch what it is there to catch."""
    with pytest.raises(AssertionError):
        parse_prometheus(_BAD[case])


# --------------------------------------------------------------- other commands


def test_ping(daemon):
    assert _ok(daemon.ctl("ping")).strip() == "ok"


def test_reset(daemon):
    _ok(daemon.ctl("reset"))
    assert daemon.stats()["queries.total"] == 0


def test_missing_socket_is_an_error(tmp_path):
    path = str(tmp_path / "no-daemon.sock")
    proc = run_ctl("-s", path, "ping")
    assert proc.returncode == 1
    assert path in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_flush_name_type_then_dump(start_mxcached, testnet):
    res = start_mxcached()
    client = Client(res, testnet)
    client.query("yada123.com", "MX")
    client.query("yada123.com", "TXT")

    def rows():
        """(name, type) of each entry `dump` prints."""
        lines = _ok(res.ctl("dump", "1000")).splitlines()
        assert lines[0].split()[:2] == ["NAME", "TYPE"] and lines[-1].startswith("(")
        return {tuple(line.split()[:2]) for line in lines[1:-1]}

    assert {("yada123.com.", "MX"), ("yada123.com.", "TXT")} <= rows()
    assert _ok(res.ctl("flush", "yada123.com", "MX")).strip() == "flushed 1 entries"
    after = rows()
    assert ("yada123.com.", "MX") not in after
    assert ("yada123.com.", "TXT") in after


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["dump", "many"],
        ["dump", ""],
        ["--prometheus", "ping"],
        ["ping", "--prometheus"],
        ["flush", "a", "b", "c"],
        ["route"],
        ["stats", "extra"],
        ["stats", "--json", "--prometheus"],
        ["stats", "--frobnicate"],
        ["stats", "-s"],
        ["stats", "-jx"],
        [],
    ],
)
def test_bad_command_line(daemon, args):
    """Usage errors: a message on stderr, nothing on stdout, exit 2."""
    proc = daemon.ctl(*args)
    assert proc.returncode == 2, proc
    assert proc.stderr.startswith("mxcache-ctl: "), proc.stderr
    assert proc.stdout == "", proc.stdout


def test_options_before_or_after_the_command(daemon):
    """--json, --prometheus and -s go anywhere on the line (the README shows
    `mxcache-ctl stats --json`)."""
    before = json.loads(_ok(daemon.ctl("--json", "stats")))
    after = json.loads(_ok(run_ctl("stats", "--json", "-s", daemon.control)))
    middle = json.loads(_ok(run_ctl("--json", "stats", "--socket", daemon.control)))
    for stats in (before, after, middle):
        assert stats["queries.total"] == 2 and stats["cache.hits"] == 1
    prom_after = parse_prometheus(_ok(daemon.ctl("stats", "--prometheus")))
    prom_before = parse_prometheus(_ok(daemon.ctl("--prometheus", "stats")))
    assert set(prom_after) == set(prom_before)
    dump = json.loads(_ok(run_ctl("-s", daemon.control, "dump", "20", "--json")))
    assert isinstance(dump["entries"], list) and len(dump["entries"]) <= 20
    assert _ok(run_ctl("ping", "-s", daemon.control)).strip() == "ok"


def test_double_dash_ends_the_options(daemon):
    """After "--" a word that looks like an option is an argument."""
    proc = daemon.ctl("dump", "--", "--json")
    assert proc.returncode == 2 and "not a count" in proc.stderr, proc


def test_help_lists_every_command():
    proc = run_ctl("--help")
    assert proc.returncode == 0, proc
    for cmd in ("stats", "reset", "flush", "dump", "route", "ping"):
        assert re.search(rf"^  {cmd}\b", proc.stdout, re.M), proc.stdout
    assert run_ctl("ping", "-h").stdout == proc.stdout


def test_daemon_error_exits_1(daemon):
    """The daemon's {"error": ...} is printed on stderr with exit 1."""
    proc = daemon.ctl("flush", "bad..name")
    assert proc.returncode == 1, proc
    assert proc.stderr.startswith("mxcache-ctl: flush: ") and "'name'" in proc.stderr, proc
    assert proc.stdout == ""
    proc = daemon.ctl("flush", "yada123.com", "NOSUCHTYPE", "--json")
    assert proc.returncode == 1 and "type" in proc.stderr, proc
