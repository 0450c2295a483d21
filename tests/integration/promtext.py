"""A strict reader of the Prometheus text exposition format (version
0.0.4), shared by the mxcache-ctl and scrape endpoint tests."""

import math
import re

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
