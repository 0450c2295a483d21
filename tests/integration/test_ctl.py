"""mxcache-ctl, the operator's client: text summary, JSON, Prometheus text
exposition, ping, flush and dump, and its errors."""

import json
import math
import re

import dns.rcode
import pytest

from helpers import DESIGN_STATS_KEYS, Client, run_ctl

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


def test_json_stats_has_design_keys(daemon):
    stats = json.loads(_ok(daemon.ctl("--json", "stats")))
    missing = [k for k in DESIGN_STATS_KEYS if k not in stats]
    assert missing == [], f"DESIGN.md keys missing: {missing}"
    for key in DESIGN_STATS_KEYS:
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


# A strict reader of the Prometheus text exposition format (version 0.0.4).
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_FLOAT = r"[+-]?(?:Inf|NaN|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
_SAMPLE = re.compile(rf"({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*,?)?\}})? ({_FLOAT})(?: -?\d+)?")
_META = re.compile(rf"# (HELP|TYPE) ({_NAME})(?: (.*))?")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def _labels(text):
    pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"', text or "")
    labels = dict(pairs)
    assert len(labels) == len(pairs), f"repeated label in {{{text}}}"
    return labels


def _family_of(name, families):
    if name in families:
        return name
    for family, info in families.items():
        for suffix in _SUFFIXES.get(info["type"], ()):
            if name == family + suffix:
                return family
    raise AssertionError(f"sample {name} has no # TYPE line before it")


def parse_prometheus(text: str) -> dict:
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; fails
    on anything the format does not allow, and checks histograms."""
    assert text.endswith("\n"), "exposition must end with a newline"
    families, current, seen = {}, None, set()
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {n}: {line!r}"
        assert line.strip(), f"{where}: blank line"
        if line.startswith("#"):
            m = _META.fullmatch(line)
            if not m:
                continue  # a plain comment
            kind, name, rest = m.groups()
            info = families.setdefault(name, {"type": None, "help": None, "samples": []})
            assert not info["samples"], f"{where}: {kind} after the family's samples"
            if kind == "TYPE":
                assert info["type"] is None, f"{where}: second TYPE"
                assert rest in _TYPES, f"{where}: unknown type"
                info["type"] = rest
            else:
                assert info["help"] is None, f"{where}: second HELP"
                info["help"] = rest or ""
            continue
        m = _SAMPLE.fullmatch(line)
        assert m, f"{where}: not a sample"
        name, label_text, value_text = m.groups()
        family = _family_of(name, families)
        assert families[family]["type"] is not None, f"{where}: sample before TYPE"
        assert (
            current in (None, family) or not families[family]["samples"]
        ), f"{where}: family {family} not in one group"
        current = family
        labels = _labels(label_text)
        key = (name, tuple(sorted(labels.items())))
        assert key not in seen, f"{where}: duplicate sample"
        seen.add(key)
        value = float(value_text)
        if families[family]["type"] == "counter":
            assert value >= 0 and not math.isnan(value), f"{where}: bad counter value"
        families[family]["samples"].append((name, labels, value))
    for family, info in families.items():
        assert info["type"], f"{family}: HELP without TYPE"
        if info["type"] == "histogram":
            _check_histogram(family, info["samples"])
    return families


def _check_histogram(family, samples):
    buckets, sums, counts = [], [], []
    for name, labels, value in samples:
        if name == family + "_bucket":
            assert set(labels) == {"le"}, f"{family}: bucket labels {labels}"
            buckets.append((float(labels["le"]), value))
        elif name == family + "_sum":
            sums.append(value)
        else:
            counts.append(value)
    assert len(sums) == 1 and len(counts) == 1, f"{family}: one _sum and one _count"
    bounds = [le for le, _ in buckets]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(
        bounds
    ), f"{family}: le not increasing: {bounds}"
    assert bounds and bounds[-1] == math.inf, f'{family}: no le="+Inf" bucket'
    cumulative = [v for _, v in buckets]
    assert all(
        a <= b for a, b in zip(cumulative, cumulative[1:])
    ), f"{family}: buckets not cumulative: {cumulative}"
    assert cumulative[-1] == counts[0], f"{family}: +Inf bucket != _count"


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
    assert proc.returncode != 0
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
    "args", [["frobnicate"], ["dump", "many"], ["--prometheus", "ping"], ["flush", "a", "b", "c"]]
)
def test_bad_command_line(daemon, args):
    proc = daemon.ctl(*args)
    assert proc.returncode == 2 and proc.stderr.strip(), proc
