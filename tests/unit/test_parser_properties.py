"""Property-based tests of the parsers the build reads app files with (runtime.txt,
.python-version, Procfile): any bytes give a value or the parser's own clear error, never
a crash. Moved from the reliability suite, where they needed no build."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from buildpack.app.procfile import ProcfileError, parse_procfile
from buildpack.base.output import BuildError
from buildpack.python_version.versions import parse_python_version_file, parse_runtime_txt


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_runtime_txt_parser_never_crashes(raw):
    try:
        request = parse_runtime_txt(raw)
    except BuildError as err:
        assert err.summary and err.body
    else:
        assert request.major >= 0 and request.source == "runtime.txt"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_python_version_parser_never_crashes(raw):
    try:
        parse_python_version_file(raw)
    except BuildError as err:
        assert ".python-version" in err.summary


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 99), st.integers(0, 99), st.one_of(st.none(), st.integers(0, 99)),
       st.sampled_from(["", "\n", "\r\n", "\n\n  "]), st.booleans())
def test_valid_versions_round_trip(major, minor, patch, ending, bom):
    text = f"{major}.{minor}" + ("" if patch is None else f".{patch}")
    prefix = b"\xef\xbb\xbf" if bom else b""
    assert parse_runtime_txt(prefix + f"python-{text}{ending}".encode()).text == text
    assert parse_python_version_file(prefix + f"# c\n{text}{ending}".encode()).text == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_procfile_parser_only_raises_procfile_errors(text):
    try:
        types = parse_procfile(text)
    except ProcfileError as err:
        assert err.line_number >= 1
    else:
        assert all(name and command for name, command in types.items())
