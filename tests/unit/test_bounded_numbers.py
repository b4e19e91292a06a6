"""Issue 21, class 1: every number read from outside goes through ``base.numbers``.

Version files, Pipfile.lock, requires-python, the runtime store's manifest and timeout,
PYTHON_TEST_TIMEOUT, BUILDPACK_STEP_TIMEOUT, HTTP Content-Length and CNB layer
metadata: a 5,000-digit part, ``²``, ``٣``, ``inf``, ``1e999`` give the input's own
error id (or its documented fallback), never a traceback. Property tests run a fixed
number of examples in the unit loop and ten times more in CI.
"""
from __future__ import annotations

import http.server
import os
import threading
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildpack.base import children, http_client, numbers
from buildpack.base.numbers import NumberError
from buildpack.cnb import build as cnb_build
from buildpack.commands import test as test_command
from buildpack.python_version import python_constraints, versions
from buildpack.runtime import manifest, store
from tests.support import raises_id

EXAMPLES = 3000 if os.environ.get("CI") else 300
HOSTILE = ["9" * 5000, "²", "٣", "1e999", "inf", "nan", "-1", "+3", " 3", "3_0", "", "0x1f",
           "١٣", "３", "1" * 19]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_numbers_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(NumberError) as info:
        numbers.parse_int(text)
    assert str(info.value)  # says why
    assert len(str(info.value)) < 200  # and does not echo 5,000 digits


def test_ranges_and_bounds() -> None:
    assert numbers.parse_int("65535", max_digits=5, low=1, high=65535) == 65535
    with pytest.raises(NumberError, match="above 65535"):
        numbers.parse_int("70000", max_digits=5, high=65535)
    with pytest.raises(NumberError, match="more than 5"):
        numbers.parse_int("000001", max_digits=5)
    assert numbers.parse_seconds("2.5", high=10) == 2.5
    for bad in ("0", "0.0", "11", "inf", "1e3", ".5", "5.", "9" * 400):
        with pytest.raises(NumberError):
            numbers.parse_seconds(bad, high=10)
    assert numbers.parse_version("3.13.2") == (3, 13, 2)
    for bad in ("3", "3..13", "3.x", "latest", "3.13.2.1", "3.٣", "3." + "1" * 5000):
        with pytest.raises(NumberError):
            numbers.parse_version(bad)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.text(max_size=40))
def test_parse_int_accepts_exactly_short_ascii_digit_strings(text: str) -> None:
    expected = 0 < len(text) <= 9 and all(c in "0123456789" for c in text)
    try:
        value = numbers.parse_int(text)
    except NumberError:
        assert not expected
    else:
        assert expected and value == int(text)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.text(max_size=30))
def test_parse_seconds_never_gives_a_non_finite_value(text: str) -> None:
    try:
        value = numbers.parse_seconds(text, high=3600)
    except NumberError:
        return
    assert 0 < value <= 3600 and set(text) <= set("0123456789.")


# --- the app's version sources ----------------------------------------------------------

@pytest.mark.parametrize("minor", ["9" * 5000, "²", "٣", "1e999", "inf"])
def test_version_files_give_their_own_ids(minor: str) -> None:
    with raises_id("runtime-txt::invalid-version"):
        versions.parse_runtime_txt(f"python-3.{minor}\n".encode())
    with raises_id("python-version-file::invalid-version"):
        versions.parse_python_version_file(f"3.{minor}\n".encode())
    with raises_id("pipfile-lock::invalid-version"):
        versions.parse_pipfile_lock_version("python_version", f"3.{minor}")


def test_arabic_indic_digits_are_not_python_3_13() -> None:
    """``re``'s ``\\d`` and ``int()`` read ``٣.١٣`` as 3.13; pip and uv do not."""
    with raises_id("python-version-file::invalid-version"):
        versions.parse_python_version_file("٣.١٣\n".encode())


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.text(max_size=60))
def test_python_version_file_is_a_version_or_a_build_error(text: str) -> None:
    from buildpack.base.output import BuildError

    try:
        request = versions.parse_python_version_file(text.encode("utf-8", "surrogatepass"))
    except BuildError as exc:
        assert exc.error_id.startswith("python-version")
    else:
        assert request.major < 10_000 and request.minor < 10_000


@pytest.mark.parametrize("spec", [">=3." + "9" * 5000, ">=3.²", "^3." + "1" * 5000, ">=٣.١٣"])
def test_requires_python_with_hostile_numbers_is_not_understood(spec: str) -> None:
    assert python_constraints.satisfies(spec, (3, 13, 1)) is None
    assert python_constraints.satisfies(spec, (3, 13, 1), poetry=True) is None


def test_manifest_versions_are_bounded() -> None:
    entry = {"version": "3.13.1", "stack": "s", "arch": "a", "file": "f.tar.xz",
             "sha256": "0" * 64, "size": 1}
    for bad in ("3." + "1" * 5000 + ".1", "3.².1", "3.13.1\n", "3.13"):
        with pytest.raises(manifest.ManifestError):
            manifest.parse_manifest(f'{{"schema": 1, "runtimes": [{{"version": "{bad}",'
                                    f'"stack": "s", "arch": "a", "file": "f.tar.xz",'
                                    f'"sha256": "{"0" * 64}", "size": 1}}]}}'
                                    .replace("\n", "\\n"))
    assert manifest.parse_manifest(
        '{"schema": 1, "runtimes": [' + str(entry).replace("'", '"') + "]}")[0].version_tuple \
        == (3, 13, 1)


# --- settings: timeouts ----------------------------------------------------------------

@pytest.mark.parametrize("value", ["inf", "1e999", "nan", "²", "9" * 5000, "0", "-1", "3601"])
def test_store_timeout_gives_its_id(value: str) -> None:
    with raises_id("runtime-store::invalid-timeout"):
        store.parse_timeout(value)


@pytest.mark.parametrize("value", ["²", "inf", "9" * 5000, "0", "1.5", "-3"])
def test_test_timeout_gives_its_id(value: str) -> None:
    with raises_id("test::bad-timeout"):
        test_command._timeout({test_command.TIMEOUT_VAR: value})


@pytest.mark.parametrize("value", ["inf", "1e999", "nan", "²", "9" * 5000, "0"])
def test_step_timeout_falls_back_to_the_default(value: str) -> None:
    assert children.parse_step_timeout({"BUILDPACK_STEP_TIMEOUT": value}) == children.DEFAULT_TIMEOUT


# --- CNB layer metadata -------------------------------------------------------------------

@pytest.mark.parametrize("value", [float("inf"), "1e999", "9" * 5000, "²", float("nan")])
def test_layer_metadata_numbers_never_raise(value: object) -> None:
    name = next(iter(cnb_build._INT_FIELDS))
    fields = cnb_build._previous_key({name: value})
    assert fields[name] == value or (value != value and fields[name] != fields[name])


def test_layer_toml_with_inf_reads(tmp_path: Path) -> None:
    from buildpack.cnb.layers import Layers

    name = next(iter(cnb_build._INT_FIELDS))
    (tmp_path / "python.toml").write_text(f"[metadata]\n{name} = inf\nother = 1e999\n")
    metadata = Layers(tmp_path).metadata("python")
    assert metadata is not None
    assert cnb_build._previous_key(metadata)[name] == float("inf")  # differs: rebuilt


# --- HTTP Content-Length --------------------------------------------------------------------

class _Lying(http.server.BaseHTTPRequestHandler):
    length = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", type(self).length)
        self.end_headers()
        self.wfile.write(b"body")

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("length, expected", [("4", 4), ("²", None), ("9" * 5000, None),
                                              ("-4", None), ("1e3", None)])
def test_content_length_is_read_bounded(length: str, expected: int | None) -> None:
    handler = type("Handler", (_Lying,), {"length": length})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert http_client.content_length(response) == expected
    finally:
        server.shutdown()
        server.server_close()
