"""bin/release: the YAML document, and the real shim on temporary apps."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from buildpack.commands.release import render_release_yaml, yaml_quote

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "bin" / "release"


def run_release(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RELEASE), *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=30, env=os.environ.copy())


# --- rendering ------------------------------------------------------------------------

def test_empty_map() -> None:
    text = render_release_yaml({})
    assert "default_process_types: {}" in text
    assert yaml.safe_load(text) == {"addons": [], "config_vars": {}, "default_process_types": {}}


def test_layout() -> None:
    text = render_release_yaml({"web": "gunicorn app:app", "worker": "celery -A x worker"})
    assert text == (
        "---\n"
        "addons: []\n"
        "config_vars: {}\n"
        "default_process_types:\n"
        '  "web": "gunicorn app:app"\n'
        '  "worker": "celery -A x worker"\n'
    )


@pytest.mark.parametrize("command", [
    "gunicorn app:app",
    "gunicorn -b 0.0.0.0:$PORT 'app:create_app()'",
    'python -c "print(\'a: b\')"',
    "echo {a, b} [c] &x *y !z %q @w `v` | > ~",
    "worker  # trailing comment is part of the command",
    "- not a list",
    "? not a key",
    "yes", "null", "~", "1.5", "0x1f", "1_000", "",
    "back\\slash \\n and \"quotes\"",
    "tab\there", "bell\x07", "del\x7f", "nel\x85 ls\u2028 ps\u2029 bom\ufeff",
    "héllo wörld ✓ 日本語", "emoji 😀 𝄞",
])
def test_values_round_trip(command: str) -> None:
    types = {"web": command}
    assert yaml.safe_load(render_release_yaml(types))["default_process_types"] == types


@pytest.mark.parametrize("name", ["yes", "no", "on", "off", "true", "null", "1", "0x10", "1_0", "-", "--", "---"])
def test_keys_stay_strings(name: str) -> None:
    """YAML 1.1 readers (herokuish uses one) would turn these unquoted keys into bools/ints."""
    loaded = yaml.safe_load(render_release_yaml({name: "run"}))
    assert loaded["default_process_types"] == {name: "run"}


def test_output_is_ascii() -> None:
    text = render_release_yaml({"web": "echo héllo 😀\u2028"})
    assert text.isascii()
    assert "\\u00e9" in text and "\\U0001f600" in text and "\\u2028" in text


def test_yaml_quote_is_json_compatible_in_the_bmp() -> None:
    import json
    for text in ["plain", 'q"uote', "back\\slash", "é", "\x00\x1f", "\u2028"]:
        assert json.loads(yaml_quote(text)) == text


@settings(max_examples=200, deadline=None, database=None)
@given(st.dictionaries(
    st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    max_size=6,
))
def test_round_trip_property(types: dict[str, str]) -> None:
    loaded = yaml.safe_load(render_release_yaml(types))
    assert loaded["default_process_types"] == types
    assert list(loaded["default_process_types"]) == list(types)
    assert loaded["addons"] == [] and loaded["config_vars"] == {}


# --- the real bin/release -------------------------------------------------------------

def test_release_with_procfile(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_bytes(
        b"\xef\xbb\xbf# processes\r\n"
        b"web: gunicorn -b 0.0.0.0:$PORT app:app  # main\r\n"
        b"\r\n"
        b"worker: celery -A proj worker -Q a,b\r\n"
        b"release: python manage.py migrate\r\n"
    )
    result = run_release(str(tmp_path), "/tmp/cache-ignored")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    doc = yaml.safe_load(result.stdout)
    assert doc == {
        "addons": [],
        "config_vars": {},
        "default_process_types": {
            "web": "gunicorn -b 0.0.0.0:$PORT app:app  # main",
            "worker": "celery -A proj worker -Q a,b",
            "release": "python manage.py migrate",
        },
    }


def test_release_without_procfile(tmp_path: Path) -> None:
    result = run_release(str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["default_process_types"] == {}


def test_release_invalid_procfile(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("web: gunicorn a:app\n<<<<<<< HEAD\nweb: b\n")
    result = run_release(str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert " !     Error: Invalid Procfile (line 2)." in result.stderr
    assert "(error id: procfile::conflict-marker)" in result.stderr
    assert "Resolve the merge conflict" in result.stderr


def test_release_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_bytes(b"web: echo caf\xe9\n")
    result = run_release(str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "(error id: procfile::not-utf8)" in result.stderr
    assert "UTF-8" in result.stderr


def test_release_procfile_directory(tmp_path: Path) -> None:
    (tmp_path / "Procfile").mkdir()
    result = run_release(str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "(error id: app-file::not-regular)" in result.stderr


@pytest.mark.parametrize("args", [[], ["/nonexistent/build/dir"]])
def test_release_usage_errors(args: list[str]) -> None:
    result = run_release(*args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "Usage: bin/release BUILD_DIR" in result.stderr


@given(st.dictionaries(
    st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1).map(str.strip).filter(bool),
    max_size=8))
def test_parse_release_yaml_round_trips(types):
    from buildpack.commands.release import parse_release_yaml

    assert parse_release_yaml(render_release_yaml(types)) == types
