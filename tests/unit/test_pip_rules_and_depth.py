"""Issue 21, classes 4 and 5: parsers with a depth bound before they run, and requirements
read as pip reads them (its own ``shlex`` + ``optparse`` split) so that the guards see
what pip and uv see."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import (
    hash_mode,
    included_files,
    includes,
    parse_line,
)
from buildpack.base import toml_io
from buildpack.installers import manager_files
from tests.support import raises_id

EXAMPLES = 2000 if os.environ.get("CI") else 200


# --- class 4: TOML nesting --------------------------------------------------------------

@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a=", "}")])
def test_deeply_nested_pyproject_is_the_files_own_error(opening: str, closing: str) -> None:
    text = "[project]\nname = 'x'\nversion = '1'\ndependencies = " + opening * 4000 \
        + closing * 4000 + "\n"
    assert len(text) > 8000
    with raises_id("toml::invalid") as info:
        manager_files.pyproject_tables(text)
    assert "pyproject.toml" in info.value.summary and "nest" in info.value.body


def test_nesting_ignores_brackets_in_strings_and_comments() -> None:
    text = 'a = "[[[[" # [[[[[\nb = \'\'\'\n[[[[[[\n\'\'\'\n[[t]]\nc = [[1], {d = [2]}]\n'
    assert toml_io.nesting(text) == 3
    assert toml_io.loads(text)["t"][0]["c"] == [[1], {"d": [2]}]


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.text(alphabet="[]{}=a\"'#\n ,1", max_size=300))
def test_toml_reader_never_raises_anything_but_value_error(text: str) -> None:
    try:
        toml_io.loads(text)
    except ValueError:
        pass


# --- class 5: requirements as pip reads them ---------------------------------------------

@pytest.mark.parametrize("line, target", [
    ('-r "../outside.txt"', "../outside.txt"),
    ("-r '../outside.txt'", "../outside.txt"),
    ("--requirem ../outside.txt", "../outside.txt"),
    ("--requirement=../outside.txt", "../outside.txt"),
    ("-r../outside.txt", "../outside.txt"),
    ('-c "../c.txt"', "../c.txt"),
    ("--constr ../c.txt", "../c.txt"),
])
def test_includes_see_quoted_and_abbreviated_options(line: str, target: str,
                                                     tmp_path: Path) -> None:
    assert includes(line + "\n") == [target]
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "outside.txt").write_text("six\n")
    (tmp_path / "c.txt").write_text("six\n")
    (app / "requirements.txt").write_text(line + "\n")
    with raises_id("requirements::include-outside"):
        included_files(AppFiles(app), app / "requirements.txt")


@pytest.mark.parametrize("text, expected", [
    ("six==1.17.0\nattrs==25.1.0 --hash=sha256:" + "0" * 64 + "\n", True),
    ("six==1.17.0 \\\n    --hash=sha256:" + "0" * 64 + "\n", True),
    ("--require-hashes\nsix==1.17.0\n", True),
    ("--require-h\nsix==1.17.0\n", True),
    ("six==1.17.0\n# --hash=sha256:00\n", False),
    ("six==1.17.0\n", False),
])
def test_hash_mode_is_pips(text: str, expected: bool) -> None:
    assert hash_mode([text]) is expected


def test_ambiguous_or_unknown_options_are_an_error_pip_reports() -> None:
    assert parse_line("--re x").error is not None
    assert parse_line("--frobnicate").error is not None
    assert parse_line('-r "unclosed').error is not None


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.text(max_size=120))
def test_requirement_lines_always_parse_to_a_line(text: str) -> None:
    for line in text.splitlines() or [""]:
        parsed = parse_line(line)
        assert isinstance(parsed.requirement, str)
        for name in parsed.get("requirements"):
            assert isinstance(name, str)
