from __future__ import annotations

import pytest

from buildpack.manifest import RuntimeEntry
from buildpack.output import BuildError
from buildpack.versions import VersionRequest, default_request, parse_runtime_txt, resolve


def _entry(version: str) -> RuntimeEntry:
    return RuntimeEntry(version, "debian-12", "x86_64", f"python-{version}.tar.gz", "0" * 64, 1)


ENTRIES = [_entry(v) for v in ("3.11.6", "3.11.7", "3.12.1", "3.13.0")]


@pytest.mark.parametrize("raw, expected", [
    (b"python-3.12.1", "3.12.1"),
    (b"python-3.12.1\n", "3.12.1"),
    (b"\xef\xbb\xbfpython-3.12.1\r\n", "3.12.1"),
    (b"\n  python-3.12.1 \t\n\n", "3.12.1"),
    (b"python-3.12", "3.12"),
])
def test_parse_runtime_txt_accepts(raw, expected):
    assert parse_runtime_txt(raw).text == expected


@pytest.mark.parametrize("raw", [b"", b"python3.12", b"3.12.1", b"pypy-7", b"python-3", b"python-3.12.1\npython-3.11.7",
                                 b"\xff\xfep\x00y\x00", b"python-3.12.1.4", b"Python-3.12.1"])
def test_parse_runtime_txt_rejects(raw):
    with pytest.raises(BuildError) as info:
        parse_runtime_txt(raw)
    assert "runtime.txt" in info.value.summary
    assert "python-3.13.0" in info.value.body  # shows the expected form


def test_resolve_exact_patch():
    assert resolve(parse_runtime_txt(b"python-3.11.6"), ENTRIES).version == "3.11.6"


def test_resolve_minor_takes_newest_patch():
    assert resolve(parse_runtime_txt(b"python-3.11"), ENTRIES).version == "3.11.7"
    assert resolve(default_request("3.13"), ENTRIES).version == "3.13.0"


def test_resolve_missing_lists_available():
    with pytest.raises(BuildError) as info:
        resolve(parse_runtime_txt(b"python-9.9.9"), ENTRIES)
    assert "not available" in info.value.summary
    assert "3.13.0, 3.12.1, 3.11.7, 3.11.6" in info.value.body


def test_resolve_python2_is_eol():
    with pytest.raises(BuildError) as info:
        resolve(VersionRequest(2, 7, 3, "runtime.txt"), ENTRIES)
    assert "end-of-life" in info.value.summary
