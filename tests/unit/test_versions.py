from __future__ import annotations

import pytest

from buildpack.manifest import RuntimeEntry
from buildpack.versions import (
    VersionRequest,
    default_request,
    parse_runtime_txt,
    resolve,
)
from tests.support import raises_id


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
    expected = "python-version::not-utf8" if raw.startswith(b"\xff") else "runtime-txt::invalid-version"
    with raises_id(expected) as info:
        parse_runtime_txt(raw)
    assert "runtime.txt" in info.value.summary
    assert "python-3.13.0" in info.value.body  # shows the expected form


def test_resolve_exact_patch():
    assert resolve(parse_runtime_txt(b"python-3.11.6"), ENTRIES).version == "3.11.6"


def test_resolve_minor_takes_newest_patch():
    assert resolve(parse_runtime_txt(b"python-3.11"), ENTRIES).version == "3.11.7"
    assert resolve(default_request("3.13"), ENTRIES).version == "3.13.0"


def test_resolve_missing_lists_available():
    with raises_id("python-version::unavailable") as info:
        resolve(parse_runtime_txt(b"python-9.9.9"), ENTRIES)
    assert "3.13.0, 3.12.1, 3.11.7, 3.11.6" in info.value.body


def test_resolve_python2_is_eol():
    with raises_id("python-version::end-of-life"):
        resolve(VersionRequest(2, 7, 3, "runtime.txt"), ENTRIES)


# --- .python-version, conflicts, warnings --------------------------------------------

import datetime  # noqa: E402

from buildpack.versions import (  # noqa: E402
    choose,
    parse_python_version_file,
    read_requests,
    version_warnings,
)

EOL = {"3.10": "2026-10-31", "3.11": "2027-10-31", "3.12": "2028-10-31", "3.13": "2029-10-31"}
TODAY = datetime.date(2026, 11, 24)


@pytest.mark.parametrize("raw, expected", [
    (b"3.12\n", "3.12"),
    (b"3.12.1", "3.12.1"),
    (b"# pinned for prod\n\n  3.11.7  \r\n3.13\n", "3.11.7"),
    (b"\xef\xbb\xbf3.13\n", "3.13"),
])
def test_python_version_file_accepts(raw, expected):
    request = parse_python_version_file(raw)
    assert (request.text, request.source) == (expected, ".python-version")


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
    expected = ("python-version-file::no-version" if words == "No Python version"
                else "python-version-file::invalid-version")
    with raises_id(expected) as info:
        parse_python_version_file(raw)
    assert words in info.value.summary
    assert ".python-version" in info.value.summary


def test_read_requests_order_and_choose(tmp_path):
    (tmp_path / "runtime.txt").write_text("python-3.12\n")
    (tmp_path / ".python-version").write_text("3.12.1\n")
    requests = read_requests(tmp_path)
    assert [r.source for r in requests] == ["runtime.txt", ".python-version"]
    assert choose(requests).source == ".python-version"  # the more specific one decides


def test_choose_none_and_single():
    assert choose([]) is None
    only = parse_python_version_file(b"3.13")
    assert choose([only]) is only


@pytest.mark.parametrize("runtime, pyversion", [("python-3.12.1", "3.11"), ("python-3.12.1", "3.12.2"),
                                               ("python-3.13", "3.12")])
def test_conflicting_files_fail_naming_both(runtime, pyversion):
    requests = [parse_runtime_txt(runtime.encode()), parse_python_version_file(pyversion.encode())]
    with raises_id("python-version::files-disagree") as info:
        choose(requests)
    assert "runtime.txt" in info.value.body and ".python-version" in info.value.body
    assert runtime.removeprefix("python-") in info.value.body and pyversion in info.value.body


def test_unavailable_lists_minor_and_supported():
    with raises_id("python-version::unavailable") as info:
        resolve(parse_python_version_file(b"3.12.7"), ENTRIES)
    assert "For Python 3.12: 3.12.1" in info.value.body
    assert "Newest release of each minor: 3.13.0, 3.12.1, 3.11.7" in info.value.body
    assert "Change .python-version" in info.value.body


def test_warns_on_outdated_patch():
    request = parse_runtime_txt(b"python-3.11.6")
    warnings = version_warnings(request, resolve(request, ENTRIES), ENTRIES, {}, TODAY)
    assert warnings[0][0] == "Python 3.11.6 is not the newest 3.11 release"
    assert "3.11.6 is available as 3.11.7: update runtime.txt" in warnings[0][1]


def test_no_patch_warning_for_minor_request():
    request = parse_python_version_file(b"3.11")
    assert version_warnings(request, resolve(request, ENTRIES), ENTRIES, {}, TODAY) == []


@pytest.mark.parametrize("minor, today, expected", [
    ("3.10", TODAY, "reached its end of life on 2026-10-31"),
    ("3.11", TODAY, "reaches its end of life on 2027-10-31"),
    ("3.12", TODAY, None),
    ("3.12", datetime.date(2027, 11, 1), "reaches its end of life on 2028-10-31"),
])
def test_eol_warnings(minor, today, expected):
    entries = ENTRIES + [_entry("3.10.13")]
    request = parse_python_version_file(minor.encode())
    summaries = [s for s, _ in version_warnings(request, resolve(request, entries), entries, EOL, today)]
    if expected is None:
        assert summaries == []
    else:
        assert summaries == [f"Python {minor} {expected}"]


def test_vendor_eol_table_is_complete_and_sourced():
    import json

    from buildpack import settings

    data = json.loads((settings.VENDOR_DIR / "python-eol.json").read_text())
    assert "PEP" in data["source"]
    for date in settings.eol_dates().values():
        datetime.date.fromisoformat(date)
    assert settings.default_python_minor() in settings.eol_dates()


def test_unavailable_lists_supported_minors():
    from buildpack.versions import supported_minors

    supported = supported_minors(EOL, TODAY)
    assert supported == ["3.11", "3.12", "3.13"]
    with raises_id("python-version::unavailable") as info:
        resolve(parse_python_version_file(b"3.10"), ENTRIES, supported)
    assert "Supported minors (not end-of-life): 3.11, 3.12, 3.13" in info.value.body
