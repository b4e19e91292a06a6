"""The version sources: parsing runtime.txt, .python-version and Pipfile.lock, their
order, misspelled file names, and resolving a request against the store."""
from __future__ import annotations

import json

import pytest

from buildpack.base.output import BuildError
from buildpack.python_version.versions import (
    VersionRequest,
    choose,
    misspelled_files,
    outdated_patch_warning,
    parse_pipfile_lock_version,
    parse_python_version_file,
    parse_runtime_txt,
    read_requests,
    resolve,
)
from buildpack.runtime.manifest import RuntimeEntry


def _entry(version: str) -> RuntimeEntry:
    return RuntimeEntry(version, "debian-12", "x86_64", f"python-{version}.tar.gz", "0" * 64, 1)


ENTRIES = [_entry(v) for v in ("3.11.6", "3.11.7", "3.12.1", "3.13.0")]


def _error_id(info: pytest.ExceptionInfo[BuildError]) -> str:
    return info.value.error_id


# --- runtime.txt --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (b"python-3.12.1", "3.12.1"),
    (b"python-3.12.1\n", "3.12.1"),
    (b"\xef\xbb\xbfpython-3.12.1\r\n", "3.12.1"),
    (b"\n  python-3.12.1 \t\n\n", "3.12.1"),
    (b"python-3.12", "3.12"),
    (b"# the app's Python\n\npython-3.12\n# upgraded in May\n", "3.12"),
])
def test_parse_runtime_txt_accepts(raw, expected):
    assert parse_runtime_txt(raw).text == expected


@pytest.mark.parametrize("raw, words", [
    (b"", "no version"), (b"# only a comment\n", "no version"),
    (b"python3.12", "'python3.12' on line 1"), (b"3.12.1", "'3.12.1' on line 1"),
    (b"pypy-7", "not a Python version"), (b"python-3", "not a Python version"),
    (b"python-3.12.1\npython-3.11.7", "several versions (lines 1, 2)"),
    (b"\xff\xfep\x00y\x00", "not UTF-8"), (b"python-3.12.1.4", "not a Python version"),
    (b"Python-3.12.1", "not a Python version"),
])
def test_parse_runtime_txt_rejects(raw, words):
    with pytest.raises(BuildError) as info:
        parse_runtime_txt(raw)
    assert "runtime.txt" in info.value.summary
    assert words in info.value.summary + info.value.body
    expected = "python-version::not-utf8" if words == "not UTF-8" else "runtime-txt::invalid-version"
    assert _error_id(info) == expected


@pytest.mark.parametrize("raw, codepoint", [
    ("python-3.12\u200b\n", "U+200B"),        # zero-width space
    ("python-\u00a03.12\n", "U+00A0"),        # no-break space
    ("python-3.12\x00\n", "U+0000"),
    ("# note\u202e\npython-3.12\n", "U+202E"),  # right-to-left override, in a comment
    ("python-3.12\x0c\n", "U+000C"),          # form feed (a line break to splitlines)
    ("\ufeffpython-3.12\ufeff", "U+FEFF"),    # a BOM where it does not belong
])
def test_invisible_characters_are_named(raw, codepoint):
    with pytest.raises(BuildError) as info:
        parse_runtime_txt(raw.encode())
    assert info.value.summary == "runtime.txt contains an invisible character"
    assert codepoint in info.value.body and "Line " in info.value.body
    assert _error_id(info) == "python-version::invisible-character"
    with pytest.raises(BuildError) as info:
        parse_python_version_file(raw.replace("python-", "").encode())
    assert _error_id(info) == "python-version::invisible-character"


# --- .python-version --------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (b"3.12\n", "3.12"),
    (b"3.12.1", "3.12.1"),
    (b"# pinned for prod\n\n  3.11.7  \r\n", "3.11.7"),
    (b"\xef\xbb\xbf3.13\n", "3.13"),
])
def test_python_version_file_accepts(raw, expected):
    request = parse_python_version_file(raw)
    assert (request.text, request.source, request.ignored_lines) == (expected, ".python-version", ())


def test_python_version_file_keeps_ignored_lines():
    request = parse_python_version_file(b"# c\n3.12\n\n3.11.7\nsystem\n")
    assert request.text == "3.12"
    assert request.ignored_lines == ((4, "3.11.7"), (5, "system"))


@pytest.mark.parametrize("raw, words", [
    (b"system\n", "line 1"),
    (b"# c\npypy3.10\n", "line 2"),
    (b"3.13-dev", "line 1"),
    (b"python-3.12.1", "line 1"),
    (b"3", "line 1"),
    (b"# only comments\n\n", "No Python version"),
    (b"", "No Python version"),
])
def test_python_version_file_rejects(raw, words):
    with pytest.raises(BuildError) as info:
        parse_python_version_file(raw)
    assert words in info.value.summary
    assert ".python-version" in info.value.summary
    assert _error_id(info) == ("python-version-file::no-version" if words == "No Python version"
                               else "python-version-file::invalid-version")


# --- Pipfile.lock -------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("python_version", "3.12", "3.12"), ("python_full_version", "3.12.1", "3.12.1"),
    ("python_version", " 3.13 ", "3.13"),
])
def test_pipfile_lock_version_accepts(key, value, expected):
    request = parse_pipfile_lock_version(key, value)
    assert (request.text, request.source) == (expected, "Pipfile.lock")


@pytest.mark.parametrize("value", ["3.9.*", "^3.12", ">=3.11", "3", "3.12.1rc1", "python-3.12", "*"])
def test_pipfile_lock_invalid_version(value):
    with pytest.raises(BuildError) as info:
        parse_pipfile_lock_version("python_version", value)
    assert "is not a valid version" in info.value.summary and repr(value) in info.value.summary
    assert 'python_version = "3.14"' in info.value.body  # the expected forms
    assert 'python_full_version = "3.14.2"' in info.value.body
    assert _error_id(info) == "pipfile-lock::invalid-version"


def _lock(requires: dict) -> str:
    return json.dumps({"_meta": {"requires": requires}, "default": {}})


# --- sources together ----------------------------------------------------------------------

def _app(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_read_requests_in_order(tmp_path):
    app = _app(tmp_path, {"runtime.txt": "python-3.12\n", ".python-version": "3.12.1\n",
                          "Pipfile.lock": _lock({"python_full_version": "3.11.7",
                                                 "python_version": "3.11"})})
    requests = read_requests(app)
    assert [(r.source, r.text) for r in requests] == [
        ("runtime.txt", "3.12"), (".python-version", "3.12.1"), ("Pipfile.lock", "3.11.7")]
    first, overridden = choose(requests)
    assert first.source == "runtime.txt"  # the first source decides, however specific the others
    assert [r.source for r in overridden] == [".python-version"]  # the lock is checked, not ignored


def test_pipfile_lock_python_version_alone(tmp_path):
    requests = read_requests(_app(tmp_path, {"Pipfile.lock": _lock({"python_version": "3.12"})}))
    assert choose(requests) == (VersionRequest(3, 12, None, "Pipfile.lock"), [])


def test_pipfile_lock_without_version(tmp_path):
    assert read_requests(_app(tmp_path, {"Pipfile.lock": _lock({})})) == []


def test_agreeing_files_override_nothing():
    requests = [parse_runtime_txt(b"python-3.12"), parse_python_version_file(b"3.12")]
    assert choose(requests)[1] == []
    assert choose([]) == (None, [])


# --- misspelled file names -----------------------------------------------------------------

@pytest.mark.parametrize("name, right", [
    (".python_version", ".python-version"), ("python-version", ".python-version"),
    (".python-version.txt", ".python-version"), (".Python-Version", ".python-version"),
    (".python-versions", ".python-version"), ("python_version.txt", ".python-version"),
    (".python-version ", ".python-version"),
    ("runtime.txt ", "runtime.txt"), ("runtime.text", "runtime.txt"), ("Runtime.txt", "runtime.txt"),
    ("runtime.txt.txt", "runtime.txt"), ("runtime", "runtime.txt"), ("runtime_txt", "runtime.txt"),
])
def test_misspelled_version_file_is_an_error(tmp_path, name, right):
    app = _app(tmp_path, {name: "3.12\n", "requirements.txt": "flask\n"})
    assert misspelled_files(app) == [(name, right)]
    with pytest.raises(BuildError) as info:
        read_requests(app)
    assert _error_id(info) == "python-version::misspelled-file"
    assert repr(name) in info.value.summary and f"git mv {name!r} {right}" in info.value.body


def test_right_names_and_unrelated_files_pass(tmp_path):
    app = _app(tmp_path, {"runtime.txt": "python-3.12\n", ".python-version": "3.12\n",
                          "runtime.py": "print(3.12)\n", "README.md": "Python 3.12\n",
                          "runtime": "no version in here\n"})
    (app / "python-version").mkdir()
    assert misspelled_files(app) == []


# --- resolving against the store -----------------------------------------------------------

def test_resolve_exact_patch_and_newest_of_minor():
    assert resolve(parse_runtime_txt(b"python-3.11.6"), ENTRIES).version == "3.11.6"
    assert resolve(parse_runtime_txt(b"python-3.11"), ENTRIES).version == "3.11.7"


def test_resolve_missing_lists_what_may_be_used():
    usable = [e for e in ENTRIES if e.version != "3.11.6"]
    with pytest.raises(BuildError) as info:
        resolve(parse_python_version_file(b"3.12.7"), ENTRIES, usable)
    assert _error_id(info) == "python-version::unavailable"
    assert "Available versions: 3.13.0, 3.12.1, 3.11.7\n" in info.value.body
    assert "For Python 3.12: 3.12.1" in info.value.body
    assert "Newest release of each minor: 3.13.0, 3.12.1, 3.11.7" in info.value.body
    assert "Change .python-version" in info.value.body


def test_warns_on_outdated_patch():
    request = parse_runtime_txt(b"python-3.11.6")
    summary, body = outdated_patch_warning(request, resolve(request, ENTRIES), ENTRIES)
    assert summary == "Python 3.11.6 is not the newest 3.11 release"
    assert "3.11.6 is available as 3.11.7: update runtime.txt" in body
    minor = parse_python_version_file(b"3.11")
    assert outdated_patch_warning(minor, resolve(minor, ENTRIES), ENTRIES) is None
