"""The CPython source pins (vendor/cpython-sources.json), choosing a pin, and the
private apt configuration that reaches Debian's source packages."""
from __future__ import annotations

import copy
import datetime
import json
from pathlib import Path

import pytest

from buildpack.base.output import BuildError
from buildpack.python_version.python_lifecycle import Lifecycle
from buildpack.store_builder import cpython_sources
from buildpack.store_builder.cpython_sources import (
    PINS_FILE,
    buildable_minors,
    host_debian_archives,
    load_pins,
    parse_pins,
    select_pin,
    sources_list,
)

TODAY = datetime.date(2026, 11, 30)
# 3.9 is past its end of life and past the grace period that follows it.
LIFECYCLE = Lifecycle.from_tables(
    {"3.9": "2020-10-05", "3.11": "2022-10-24", "3.13": "2024-10-07", "3.14": "2025-10-07"},
    {"3.9": "2025-10-31", "3.11": "2027-10-31", "3.13": "2029-10-31", "3.14": "2030-10-31"})
PIN = {"version": "3.14.10", "file": "Python-3.14.10.tar.xz", "sha256": "d" * 64, "size": 24240392,
       "origin": "a published checksum",
       "debian": {"package": "python3.14", "version": "3.14.10-1", "suite": "sid",
                  "file": "python3.14_3.14.10.orig.tar.xz"}}


def pins_text(**minors: dict) -> str:
    return json.dumps({"schema": 1, "minors": minors})


def test_the_vendored_pins_are_valid_and_cover_the_supported_minors():
    pins = load_pins()
    assert {"3.13", "3.14", "3.15"} <= set(pins)
    for minor, pin in pins.items():
        assert pin.version.startswith(minor + ".") and len(pin.sha256) == 64
        assert pin.origin and pin.debian is not None
    data = json.loads(PINS_FILE.read_text())
    assert data["how"] and "refresh-cpython-pins" in data["how"]


@pytest.mark.parametrize("mutate, problem", [
    (lambda d: d.update(schema=2), 'expected {"schema": 1'),
    (lambda d: d["minors"].update({"2.7": d["minors"]["3.14"]}), "'2.7' is not a Python 3 minor"),
    (lambda d: d["minors"]["3.14"].update(version="3.13.1"), "is not a 3.14.Z release"),
    (lambda d: d["minors"]["3.14"].update(sha256="XYZ"), "sha256 is not 64 lowercase hex"),
    (lambda d: d["minors"]["3.14"].update(file="../../etc/passwd"), "file '../../etc/passwd'"),
    (lambda d: d["minors"]["3.14"].update(size=10**10), "size is not a size"),
    (lambda d: d["minors"]["3.14"].pop("origin"), "origin (where the checksum was published)"),
    (lambda d: d["minors"]["3.14"]["debian"].update(suite="sid main"), "debian.suite is missing"),
    (lambda d: d["minors"]["3.14"]["debian"].update(package="bash"), "does not name a python3.X"),
])
def test_a_malformed_pin_file_is_a_clear_error(mutate, problem):
    data = {"schema": 1, "minors": {"3.14": copy.deepcopy(PIN)}}
    mutate(data)
    with pytest.raises(BuildError) as err:
        parse_pins(json.dumps(data), Path("pins.json"))
    assert err.value.error_id == "source-pins::malformed"
    assert problem in err.value.body


def test_a_pin_file_that_is_not_json_or_too_big(tmp_path):
    bad = tmp_path / "pins.json"
    bad.write_text("{nope")
    with pytest.raises(BuildError, match="not valid") as err:
        load_pins(bad)
    assert "not JSON" in err.value.body and err.value.error_id == "source-pins::malformed"
    bad.write_text(" " * 300_000)
    with pytest.raises(BuildError) as err:
        load_pins(bad)
    assert "larger than" in err.value.body


def test_select_pin_by_minor_or_exact_release():
    pins = parse_pins(pins_text(**{"3.14": PIN}))
    assert select_pin("3.14", pins, TODAY, LIFECYCLE).version == "3.14.10"
    assert select_pin("3.14.10", pins, TODAY, LIFECYCLE).sha256 == "d" * 64
    with pytest.raises(BuildError) as err:
        select_pin("3.14.2", pins, TODAY, LIFECYCLE)
    assert err.value.error_id == "source-build::not-pinned" and "pins 3.14.10" in err.value.body


@pytest.mark.parametrize("request_, error_id, says", [
    ("2.7", "source-build::python2", "Python 2 is not supported"),
    ("2", "source-build::python2", "Python 2 is not supported"),
    ("3.9", "source-build::unknown-minor", "3.9 reached its end of life on 2025-10-31"),
    ("3.12", "source-build::unknown-minor", "no source tarball of 3.12 is pinned"),
    ("3.99", "source-build::unknown-minor", "no source tarball of 3.99 is pinned"),
    ("three", "source-build::bad-version", "not a Python version"),
])
def test_unbuildable_requests_list_what_can_be_built(request_, error_id, says):
    pin39 = {**PIN, "version": "3.9.25", "file": "Python-3.9.25.tar.xz",
             "debian": {**PIN["debian"], "package": "python3.9", "file": "python3.9_3.9.25.orig.tar.xz"}}
    pins = parse_pins(pins_text(**{"3.14": PIN, "3.9": pin39}))
    assert buildable_minors(pins, TODAY, LIFECYCLE) == ["3.14"]
    with pytest.raises(BuildError) as err:
        select_pin(request_, pins, TODAY, LIFECYCLE)
    assert err.value.error_id == error_id
    assert says in err.value.summary
    assert "Pinned minors that can be built: 3.14" in err.value.body


def test_the_private_sources_list_reuses_the_hosts_mirror_and_keyring(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n")
    archive, security, keyring = host_debian_archives(tmp_path)
    assert (archive, security) == ("http://mirror.example/debian", "http://mirror.example/debian-security")
    text = sources_list(["sid", "bookworm-security", "sid"], archive, security, keyring)
    assert text.splitlines() == [
        f"deb-src [signed-by={keyring}] http://mirror.example/debian-security bookworm-security main",
        f"deb-src [signed-by={keyring}] http://mirror.example/debian sid main",
    ]


def test_a_host_without_debian_sources_cannot_use_the_debian_fallback(tmp_path):
    (tmp_path / "sources.list").write_text("deb http://archive.example/ubuntu noble main\n")
    with pytest.raises(cpython_sources._Unavailable, match="no Debian archive"):
        host_debian_archives(tmp_path)


def test_a_cached_tarball_with_the_pinned_sha256_needs_no_network(tmp_path, monkeypatch):
    data = b"pristine source"
    pin = parse_pins(pins_text(**{"3.14": {**PIN, "sha256": __import__("hashlib").sha256(data).hexdigest()}}))["3.14"]
    kept = tmp_path / "sources" / pin.sha256 / pin.file
    kept.parent.mkdir(parents=True)
    kept.write_bytes(data)
    monkeypatch.setattr(cpython_sources, "_from_python_org", None)  # would fail if called
    assert cpython_sources.fetch(pin, tmp_path) == kept
