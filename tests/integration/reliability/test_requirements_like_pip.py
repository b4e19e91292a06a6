"""Issue 21, class 5: the build reads requirements files exactly as pip does.

The guards (includes and local code outside the app, hash mode, the engine choice) run
on ``buildpack.app.requirements_files``, which re-states pip's reading: pip's
``preprocess`` (lines joined, comments cut), ``break_args_options`` and ``shlex`` +
``optparse`` with pip's option table. Why it is not pip's own parser that runs: see
docs/reliability.md ("Requirements read as pip reads them"). This module is the proof
that the two readings are equal: pip's own functions, imported from the pinned pip wheel
(vendor/pip.txt, hash-checked) in a child Python, read the same generated files, and
every logical line must come out the same: its number, its requirement, its options,
and whether pip refuses it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildpack.app.requirements_files import _CHOICES, _PIP_OPTIONS, numbered_lines, parse_line
from buildpack.base import settings as buildpack_settings
from tests import support

pytestmark = pytest.mark.slow

EXAMPLES = 3000 if os.environ.get("CI") else 400

# What is compared of each line: pip's option dest -> ours.
_COMPARED = {
    "requirements": "requirements", "constraints": "constraints", "editables": "editables",
    "index_url": "index_url", "extra_index_urls": "extra_index_urls", "find_links": "find_links",
    "no_index": "no_index", "require_hashes": "require_hashes",
    "no_require_hashes": "no_require_hashes", "pre": "pre", "prefer_binary": "prefer_binary",
    "trusted_hosts": "trusted_hosts", "features_enabled": "features_enabled",
}
# Options whose value pip keeps in a merged form (a callback): compared as "given or not".
_GIVEN = {"hashes": "hashes", "config_settings": "config_settings"}

_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from pip._internal.req.req_file import build_parser, get_line_parser, preprocess
if sys.argv[2] == "options":
    print(json.dumps([[o._short_opts + o._long_opts, o.takes_value(), o.dest, o.choices]
                      for o in build_parser().option_list]))
    raise SystemExit
compared, given = json.loads(sys.argv[3]), json.loads(sys.argv[4])
from pip._internal.cli import cmdoptions
# pip's --use-feature has one default list shared by every parser it builds, so a value
# given on one line shows on every later one (in one pip run it is global anyway):
# cleared before each line, so that each line is compared on its own.
shared = cmdoptions.use_new_feature.keywords["default"]
parse = get_line_parser(None)
out, sys.stdout = sys.stdout, sys.stderr  # whatever pip prints stays out of the answers
for raw in sys.stdin:
    found = []
    text = json.loads(raw)
    for number, line in preprocess(text):
        shared.clear()
        try:
            args, opts = parse(line)
        except Exception as exc:
            found.append([number, None, type(exc).__name__])
            continue
        values = {k: getattr(opts, k, None) for k in compared}
        values.update({k: bool(getattr(opts, k, None)) for k in given})
        found.append([number, args, json.loads(json.dumps(values))])  # a copy: see shared
    print(json.dumps([text, found]), file=out, flush=True)
"""


def _pinned_pip_wheel() -> Path:
    pin = re.search(r"^pip==(\S+) --hash=sha256:([0-9a-f]{64})",
                    buildpack_settings.PIP_REQUIREMENTS.read_text(), re.M)
    assert pin, "vendor/pip.txt pins pip with a hash"
    wheel = support.ensure_index_packages() / f"pip-{pin.group(1)}-py3-none-any.whl"
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == pin.group(2), wheel
    return wheel


@pytest.fixture(scope="module")
def pip_wheel() -> Path:
    return _pinned_pip_wheel()


@pytest.fixture(scope="module")
def pip_reader(pip_wheel: Path) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-I", "-c", _CHILD, str(pip_wheel), "lines", json.dumps(list(_COMPARED)),
         json.dumps(list(_GIVEN))], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    yield child
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=60)


def _pips_reading(child: subprocess.Popen[str], text: str) -> list[list[object]]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(text) + "\n")
    child.stdin.flush()
    answered, found = json.loads(child.stdout.readline())
    assert answered == text
    return found


def _our_reading(text: str) -> list[list[object]]:
    found: list[list[object]] = []
    for number, line in numbered_lines(text):
        parsed = parse_line(line)
        if parsed.error is not None:
            found.append([number, None, "error"])
            continue
        values = {pips: parsed.values.get(ours) for pips, ours in _COMPARED.items()}
        values.update({pips: parsed.has(ours) for pips, ours in _GIVEN.items()})
        found.append([number, parsed.requirement, values])
    return _normal(found)


def _normal(reading: list[list[object]]) -> list[list[object]]:
    """Errors compared as "refused", whatever the exception's name; an option not given
    as None, whatever its default (False, None)."""
    return [[n, a, "error" if a is None else
             {k: value or None for k, value in v.items()}]  # type: ignore[union-attr]
            for n, a, v in reading]


def test_the_option_table_is_pips(pip_wheel: Path) -> None:
    out = subprocess.run([sys.executable, "-I", "-c", _CHILD, str(pip_wheel), "options"],
                         capture_output=True, text=True, timeout=120, check=True)
    pips = sorted((sorted(names), takes) for names, takes, _, _ in json.loads(out.stdout))
    ours = sorted((sorted(names), action != "flag") for names, _, action in _PIP_OPTIONS)
    assert ours == pips
    choices = {dest: tuple(c) for _, _, dest, c in json.loads(out.stdout) if c}
    assert choices == _CHOICES


# --- generated requirements files ------------------------------------------------------

_VALUES = {
    "-r": ["base.txt", "../outside.txt", "'sub dir/x.txt'", '"q.txt"', "https://h.invalid/r.txt"],
    "-c": ["c.txt", "'../c d.txt'"],
    "-e": [".", "./libx", "../outside", "'lib y'", "git+https://h.invalid/x#egg=x"],
    "-i": ["http://127.0.0.1/simple/", "'http://u:p@h.invalid/s'"],
    "-f": ["wheels", "'./w x'", "file:///tmp/w"],
    "--extra-index-url": ["http://127.0.0.1/simple/"],
    "--no-binary": [":all:", ":none:", "six"], "--only-binary": [":all:", "six,idna"],
    "--all-releases": [":all:", "six"], "--only-final": [":none:", "six"],
    "--trusted-host": ["h.invalid"], "--use-feature": ["truststore", "fast-deps"],
    "--hash": ["sha256:" + "0" * 64, "sha512:" + "a" * 128],
    "-C": ["a=b", "'x=y z'"],
}
_LONG = {"-r": "--requirement", "-c": "--constraint", "-e": "--editable", "-i": "--index-url",
         "-f": "--find-links", "-C": "--config-settings"}
_FLAGS = ["--no-index", "--prefer-binary", "--require-hashes", "--no-require-hashes", "--pre"]
_REQUIREMENTS = ["six", "six==1.17.0", "Django>=4,<6", "name @ ./libx", "./libx", "libs/common",
                 "a[b,c]>=1", "x;python_version>'3'", "x ; sys_platform == 'linux'",
                 "name @ https://h.invalid/x-1-py3-none-any.whl", "predictable-name", "x\t-r y"]
_UNKNOWN = ["--global-option=x", "--bogus", "--no", "--only", "-Z", "--re", '-r "open']


@st.composite
def _option(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["value", "flag", "unknown"]))
    if kind == "flag":
        flag = draw(st.sampled_from(_FLAGS))
        return flag[:draw(st.integers(min_value=4, max_value=len(flag)))]
    if kind == "unknown":
        return draw(st.sampled_from(_UNKNOWN))
    short = draw(st.sampled_from(sorted(_VALUES)))
    value = draw(st.sampled_from(_VALUES[short]))
    name = _LONG.get(short, short)
    if name.startswith("--"):
        name = name[:draw(st.integers(min_value=5, max_value=len(name)))]  # abbreviated
    elif draw(st.booleans()):
        name = _LONG.get(short, name)
    joiner = draw(st.sampled_from([" ", "=", "  "] if name.startswith("--") else [" ", ""]))
    return f"{name}{joiner}{value}"


_SEPARATORS = [" ", "  ", "\t", " \\\n", "\\\n", " \\\n  "]


@st.composite
def _line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["requirement", "options", "comment", "blank"]))
    if kind == "blank":
        return draw(st.sampled_from(["", "  ", "\t"]))
    if kind == "comment":
        return draw(st.sampled_from(["# a comment", "  # -r ../x.txt", "#", "# ends \\"]))
    parts = [draw(st.sampled_from(_REQUIREMENTS))] if kind == "requirement" else []
    parts += draw(st.lists(_option(), min_size=0 if parts else 1, max_size=3))
    line = ""
    for i, part in enumerate(parts):
        line += (draw(st.sampled_from(_SEPARATORS)) if i else "") + part
    if draw(st.booleans()):
        line += draw(st.sampled_from(["  # c", " #c", "\t# c", "# not a comment", " \\"]))
    return line


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.lists(_line(), max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_generated_files_are_read_as_pip_reads_them(pip_reader, lines: list[str],
                                                    newline: str, final: bool) -> None:
    text = newline.join(lines) + (newline if final else "")
    assert _our_reading(text) == _normal(_pips_reading(pip_reader, text)), repr(text)


@pytest.mark.parametrize("text", [
    "six \\\n  ==1.17.0\nattrs # c \\\n-e .\n",
    "six\t-r x.txt\n",
    "--requirem base.txt\n--pypi-url http://127.0.0.1/simple/\n",
    "-r 'a b.txt' -c \"c d.txt\"\n",
    "x --hash=sha256:" + "0" * 64 + " \\\n    --hash sha256:" + "1" * 64 + "\n",
    "# c \\\n-r x.txt\n",
    "--global-option=x\n--no\n",
])
def test_known_quirks_are_read_as_pip_reads_them(pip_reader, text: str) -> None:
    assert _our_reading(text) == _normal(_pips_reading(pip_reader, text))
