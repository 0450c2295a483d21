"""The manual pages against the programs: every option of `mxcached --help`
is documented in mxcached(8) and mxcached.conf(5) and named in the sample
scripts/mxcached.conf, every command and option of `mxcache-ctl --help` in
mxcache-ctl(8), nothing is documented that the programs lack, and mandoc
finds nothing to warn about.

Conventions the pages follow (and this test parses): in the .8 pages an
option is documented by an `.It` line holding `Fl -name` (and `Fl x` for
its short form); in mxcached.conf(5) by `.It Cm name`; in mxcache-ctl(8) a
command by `.It Cm name`. An argument follows as `Ar` or `Cm` words.

The option lists come from --help of the binaries under test ($MXCACHED,
$MXCACHE_CTL), so the test follows whatever branch it is built from."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import MXCACHE_CTL, MXCACHED, REPO

pytestmark = pytest.mark.mxcache_only

PAGES = REPO / "scripts"
DAEMON_PAGE = PAGES / "mxcached.8"
CONF_PAGE = PAGES / "mxcached.conf.5"
CTL_PAGE = PAGES / "mxcache-ctl.8"
SAMPLE_CONF = PAGES / "mxcached.conf"

# Command line only: a configuration file cannot hold them.
CLI_ONLY = {"config", "help", "version"}

HELP_LINE = re.compile(r"^\s+(?:-(\w), )?--([a-z][a-z0-9-]*)(?: (\S+))?(?:\s{2,}|$)")


def help_text(binary: str) -> str:
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout


def help_options(text: str) -> dict:
    """--name -> (short letter or None, metavar or None)."""
    opts = {}
    for line in text.splitlines():
        m = HELP_LINE.match(line)
        if m:
            opts[m.group(2)] = (m.group(1), m.group(3))
    return opts


def ctl_commands(text: str) -> set:
    """The first word of each line of the "commands:" section."""
    lines = text.splitlines()
    start = lines.index("commands:") + 1
    cmds = set()
    for line in lines[start:]:
        if not line.strip():
            break
        cmds.add(line.split()[0])
    return cmds


def it_lines(page: Path) -> list:
    return [l for l in page.read_text().splitlines() if l.startswith(".It ")]


def documented_flags(page: Path) -> dict:
    """`.It ... Fl -name ...` -> name: the whole .It line."""
    docs = {}
    for line in it_lines(page):
        for name in re.findall(r"\bFl -([a-z][a-z0-9-]*)", line):
            docs[name] = line
    return docs


def documented_words(page: Path, section: str = None) -> dict:
    """`.It Cm name ...` -> name: what follows it on the line."""
    text = page.read_text()
    if section:
        m = re.search(rf"^\.Sh {section}\n(.*?)(?=^\.Sh )", text, re.S | re.M)
        assert m, f"{page.name}: no {section} section"
        text = m.group(1)
    docs = {}
    for line in text.splitlines():
        m = re.match(r"\.It Cm ([a-z][a-z0-9-]*)(.*)$", line)
        if m:
            docs[m.group(1)] = m.group(2).strip()
    return docs


def section_text(page: Path, section: str) -> str:
    m = re.search(rf"^\.Sh {section}\n(.*?)(?=^\.Sh )", page.read_text(), re.S | re.M)
    assert m, f"{page.name}: no {section} section"
    return m.group(1)


def takes_argument(rest: str) -> bool:
    return bool(re.search(r"\b(Ar|Cm)\b", rest))



@pytest.fixture(scope="module")
def daemon_options():
    opts = help_options(help_text(MXCACHED))
    assert {"listen", "config", "help", "version", "cache-size"} <= opts.keys()
    return opts


@pytest.fixture(scope="module")
def ctl_help():
    return help_text(MXCACHE_CTL)


def test_every_daemon_option_in_mxcached_8(daemon_options):
    docs = documented_flags(DAEMON_PAGE)
    missing = sorted(set(daemon_options) - docs.keys())
    assert not missing, f"mxcached.8 lacks .It Fl -NAME for {missing}"
    for name, (short, metavar) in daemon_options.items():
        line = docs[name]
        if short:
            assert re.search(rf"\bFl {short}\b", line), f"mxcached.8: -{short} with --{name}"
        rest = line.split(f"Fl -{name}", 1)[1]
        assert takes_argument(rest) == (metavar is not None), (
            f"mxcached.8: --{name} takes {metavar or 'no argument'}: {line}")


def test_mxcached_8_documents_only_real_options(daemon_options):
    extra = set(documented_flags(DAEMON_PAGE)) - set(daemon_options)
    assert not extra, f"mxcached.8 documents options mxcached --help lacks: {sorted(extra)}"


def test_mxcached_8_synopsis_names_every_option(daemon_options):
    synopsis = section_text(DAEMON_PAGE, "SYNOPSIS")
    longs = set(re.findall(r"\bFl -([a-z][a-z0-9-]*)", synopsis))
    shorts = set("".join(re.findall(r"\bFl ([A-Za-z]+)\b", synopsis)))
    absent = sorted(name for name, (short, _) in daemon_options.items()
                    if name not in longs and short not in shorts)
    assert not absent, f"mxcached.8 SYNOPSIS lacks {absent}"


def test_every_file_option_in_mxcached_conf_5(daemon_options):
    docs = documented_words(CONF_PAGE, "OPTIONS")
    file_options = set(daemon_options) - CLI_ONLY
    missing = sorted(file_options - docs.keys())
    assert not missing, f"mxcached.conf.5 lacks .It Cm NAME for {missing}"
    for name in file_options:
        metavar = daemon_options[name][1]
        assert takes_argument(docs[name]) == (metavar is not None), (
            f"mxcached.conf.5: {name} takes {metavar or 'no value'}: {docs[name]}")


def test_mxcached_conf_5_documents_only_file_options(daemon_options):
    docs = set(documented_words(CONF_PAGE, "OPTIONS"))
    assert not docs & CLI_ONLY, f"a file cannot hold {sorted(docs & CLI_ONLY)}"
    extra = docs - set(daemon_options)
    assert not extra, f"mxcached.conf.5 documents options mxcached lacks: {sorted(extra)}"


def test_sample_conf_names_every_option(daemon_options):
    text = SAMPLE_CONF.read_text()
    missing = sorted(name for name in set(daemon_options) - CLI_ONLY
                     if not re.search(rf"^#? ?{re.escape(name)}( |$)", text, re.M))
    assert not missing, f"scripts/mxcached.conf does not mention {missing}"


def test_sample_conf_loads():
    """What the sample sets (its uncommented lines) is a valid configuration."""
    out = subprocess.run([MXCACHED, "-c", str(SAMPLE_CONF), "--help"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr


def test_every_ctl_command_and_option_in_mxcache_ctl_8(ctl_help):
    commands = ctl_commands(ctl_help)
    assert {"stats", "flush", "ping"} <= commands
    documented = set(documented_words(CTL_PAGE, "COMMANDS"))
    assert documented == commands, (
        f"mxcache-ctl.8 COMMANDS: missing {sorted(commands - documented)}, "
        f"not in --help {sorted(documented - commands)}")

    options = help_options(ctl_help)
    assert {"socket", "json", "prometheus", "help"} <= options.keys()
    docs = documented_flags(CTL_PAGE)
    assert set(docs) == set(options), (
        f"mxcache-ctl.8 options: missing {sorted(set(options) - set(docs))}, "
        f"not in --help {sorted(set(docs) - set(options))}")
    for name, (short, metavar) in options.items():
        if short:
            assert re.search(rf"\bFl {short}\b", docs[name]), f"-{short} with --{name}"
        rest = docs[name].split(f"Fl -{name}", 1)[1]
        assert takes_argument(rest) == (metavar is not None), docs[name]


def test_mandoc_lint_clean():
    if not shutil.which("mandoc"):
        pytest.skip("mandoc not installed (scripts/deps.sh installs it)")
    pages = [DAEMON_PAGE, CONF_PAGE, CTL_PAGE]
    out = subprocess.run(["mandoc", "-Tlint", "-W", "warning", *map(str, pages)],
                         capture_output=True, text=True, timeout=30)
    assert (out.returncode, out.stdout + out.stderr) == (0, "")


def test_groff_renders_without_warnings():
    """man(1) on Debian formats with groff, which reads some mdoc differently
    from mandoc (a callable macro name in a title cut the page short)."""
    if not shutil.which("groff"):
        pytest.skip("groff not installed")
    for page in (DAEMON_PAGE, CONF_PAGE, CTL_PAGE):
        out = subprocess.run(["groff", "-mandoc", "-ww", "-z", "-Tutf8", str(page)],
                             capture_output=True, text=True, timeout=30)
        assert (out.returncode, out.stderr) == (0, ""), page.name
