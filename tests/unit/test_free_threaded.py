"""Free-threaded runtimes (3.13t), without building one: the version requests, the
store's manifest, the choice, the store builder's requests and cache key, the archive's
file names and the wheel check's tag rules. The built runtime and the app on it:
tests/integration/slow/test_free_threaded.py."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator

from buildpack import installers
from buildpack.app.app_files import AppFiles
from buildpack.app_build import sbom
from buildpack.base.output import BuildError
from buildpack.installers import free_threaded
from buildpack.plan import python_choice
from buildpack.python_version import versions
from buildpack.runtime import variants
from buildpack.runtime.manifest import ManifestError, RuntimeEntry, archive_name, merge, parse_manifest, render_manifest
from buildpack.store_builder import builder, cpython_sources, runtime_archive, source_build
from tests.support import write_app

TODAY = datetime.date(2026, 11, 30)
FT = variants.FREETHREADED


def _entry(version: str, variant: str = "") -> RuntimeEntry:
    name = archive_name(version, "debian-12", "x86_64", variant=variant)
    return RuntimeEntry(version, "debian-12", "x86_64", name, "0" * 64, 1, variant)


STORE = [_entry("3.12.8"), _entry("3.13.0"), _entry("3.13.15"), _entry("3.14.10"),
         _entry("3.13.0", FT), _entry("3.13.15", FT)]


# --- the names ----------------------------------------------------------------------------

def test_the_names_of_a_free_threaded_runtime():
    assert variants.python_name("3.13.15", FT) == "python3.13t"
    assert variants.python_name("3.13.15") == "python3.13"
    assert variants.libpython_soname("3.13.15", FT) == "libpython3.13t.so.1.0"
    assert variants.abi_tag("3.13.15", FT) == "cp313t"
    assert variants.versioned("3.13.15", FT) == "3.13.15t"
    assert archive_name("3.13.15", "debian-12", "x86_64", variant=FT) == "python-3.13.15t-debian-12-x86_64.tar.xz"
    interp = runtime_archive.Interpreter(prefix=Path("/p"), version="3.13.15", variant=FT)
    assert (interp.executable, interp.stdlib, interp.soname) == (
        Path("/p/bin/python3.13t"), Path("/p/lib/python3.13t"), "libpython3.13t.so.1.0")


@pytest.mark.parametrize(("rel", "wanted"), [
    ("bin/python3.13t", True), ("bin/python3.13", False), ("bin/python3t", False),
    ("lib/libpython3.13t.so.1.0", True), ("lib/libpython3.13.so.1.0", False),
    ("lib/python3.13t/os.py", True), ("lib/python3.13/os.py", False),
    ("include/python3.13t/Python.h", True),
])
def test_the_archive_takes_the_free_threaded_files(rel, wanted):
    assert runtime_archive.is_wanted(rel, "3.13t") is wanted


# --- version requests ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "patch", "shown"), [
    ("3.13t\n", None, "3.13t"), ("3.13.15t\n", 15, "3.13.15t"), ("# c\n3.14t\n", None, "3.14t")])
def test_python_version_file_asks_for_the_free_threaded_build(text, patch, shown):
    request = versions.parse_python_version_file(text.encode())
    assert (request.variant, request.patch, request.text, request.minor_text) == (FT, patch, shown, shown[:4])


@pytest.mark.parametrize(("text", "shown"), [("python-3.13t", "3.13t"), ("python-3.13.15t", "3.13.15t")])
def test_runtime_txt_asks_for_the_free_threaded_build(text, shown):
    request = versions.parse_runtime_txt(f"{text}\n".encode())
    assert (request.variant, request.text, request.written) == (FT, shown, text)


@pytest.mark.parametrize("line", ["3.13T", "3.13 t", "3.13tt", "t3.13", "3.13-t"])
def test_other_spellings_are_invalid(line):
    with pytest.raises(BuildError) as info:
        versions.parse_python_version_file(f"{line}\n".encode())
    assert info.value.error_id == "python-version-file::invalid-version"


@pytest.mark.parametrize(("line", "right"), [("py3.13t", "3.13t"), ("python3.13.15t", "3.13.15t"),
                                             ("3.13.xt", "3.13t")])
def test_near_misses_keep_the_free_threaded_t(line, right):
    with pytest.raises(BuildError) as info:
        versions.parse_python_version_file(f"{line}\n".encode())
    assert f"write:\n\n    {right}" in info.value.body
    with pytest.raises(BuildError) as txt:
        versions.parse_runtime_txt(f"{right}\n".encode())  # the bare version in runtime.txt
    assert f"Write:\n\n    python-{right}\n" in txt.value.body


def test_pipfile_lock_has_no_free_threaded_form():
    with pytest.raises(BuildError) as info:
        versions.parse_pipfile_lock_version("python_version", "3.13t")
    assert info.value.error_id == "pipfile-lock::invalid-version"


# --- the choice ---------------------------------------------------------------------------

def test_resolve_keeps_the_variants_apart():
    ft = versions.parse_python_version_file(b"3.13t\n")
    assert versions.resolve(ft, STORE).label == "3.13.15t"
    exact = versions.parse_python_version_file(b"3.13.0t\n")
    assert versions.resolve(exact, STORE).label == "3.13.0t"
    plain = versions.parse_python_version_file(b"3.13\n")
    assert versions.resolve(plain, STORE).label == "3.13.15"


def test_a_store_without_the_free_threaded_build_says_what_it_has():
    request = versions.parse_python_version_file(b"3.14t\n")
    with pytest.raises(BuildError) as info:
        versions.resolve(request, STORE)
    err = info.value
    assert err.error_id == "python-version::no-free-threaded-build"
    assert err.summary == "The runtime store has no free-threaded Python 3.14"
    assert "Free-threaded builds in the store: 3.13.15t, 3.13.0t" in err.body
    assert "For Python 3.14: 3.14.10" in err.body
    assert "--from-source 3.14t" in err.body
    with pytest.raises(BuildError) as none:
        versions.resolve(request, [e for e in STORE if not e.variant])
    assert "Free-threaded builds in the store: none" in none.value.body


def _app(tmp_path, files):
    app = write_app(tmp_path, files)
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    return app, cache


def test_choose_runtime_takes_the_free_threaded_build_only_when_asked(tmp_path, capsys):
    app, cache = _app(tmp_path / "a", {"requirements.txt": "", ".python-version": "3.13t\n"})
    chosen = python_choice.choose_runtime(app, cache, installers.choose(app), STORE, TODAY)
    assert (chosen.runtime.label, chosen.record) == ("3.13.15t", None)  # named: no sticky record
    out = capsys.readouterr().out
    assert "-----> Using Python 3.13t specified in .python-version" in out
    assert "3.13t means the newest 3.13t release in the store: 3.13.15t" in out
    assert "python-3.13.15t is the free-threaded build (PEP 703)" in out
    app, cache = _app(tmp_path / "b", {"requirements.txt": ""})
    chosen = python_choice.choose_runtime(app, cache, installers.choose(app), STORE, TODAY)
    assert (chosen.runtime.label, chosen.record) == ("3.14.10", (3, 14))  # the default build


def test_an_older_free_threaded_patch_is_nudged_to_the_newer_one(tmp_path, capsys):
    app, cache = _app(tmp_path, {"requirements.txt": "", "runtime.txt": "python-3.13.0t\n"})
    chosen = python_choice.choose_runtime(app, cache, installers.choose(app), STORE, TODAY)
    assert chosen.runtime.label == "3.13.0t"
    err = capsys.readouterr().err
    assert "Python 3.13.0t is not the newest 3.13 release" in err
    assert "python-3.13.15t" in err


def test_requires_python_and_end_of_life_see_the_minor(tmp_path):
    app, cache = _app(tmp_path / "a", {
        ".python-version": "3.13t\n",
        "pyproject.toml": '[project]\nname = "a"\nversion = "1"\nrequires-python = ">=3.14"\n'})
    with pytest.raises(BuildError) as info:
        plan_choice = installers.choose(app)
        chosen = python_choice.choose_runtime(app, cache, plan_choice, STORE, TODAY)
        installers.check_python(plan_choice, AppFiles.of(app), chosen.runtime.version)
    assert "3.13.15" in info.value.body and ">=3.14" in info.value.body
    old = [_entry("3.9.18"), _entry("3.9.18", FT)]
    app, cache = _app(tmp_path / "b", {"requirements.txt": "", ".python-version": "3.9t\n"})
    with pytest.raises(BuildError) as eol:
        python_choice.choose_runtime(app, cache, installers.choose(app), old + STORE, TODAY)
    assert eol.value.error_id == "python-version::end-of-life"


# --- the manifest -------------------------------------------------------------------------

def test_the_manifest_records_the_variant_and_default_entries_stay_as_they_were():
    text = render_manifest(STORE)
    raw = json.loads(text)["runtimes"]
    assert [r.get("variant") for r in raw] == [None, None, FT, None, FT, None]
    assert list(raw[2]) == ["version", "variant", "stack", "arch", "file", "sha256", "size"]
    assert raw[2]["file"] == "python-3.13.0t-debian-12-x86_64.tar.xz"
    assert parse_manifest(text) == sorted(STORE, key=lambda e: (e.version_tuple, e.variant))
    assert render_manifest(parse_manifest(text)) == text  # byte for byte
    assert render_manifest([_entry("3.13.15")]) == render_manifest(
        parse_manifest(render_manifest([_entry("3.13.15")])))
    assert "variant" not in render_manifest([_entry("3.13.15")])
    merged = merge(STORE, [_entry("3.13.15", FT)])
    assert len(merged) == len(STORE) and sum(1 for e in merged if e.version == "3.13.15") == 2


@pytest.mark.parametrize("variant", ["", "debug", "t", 3])
def test_an_unknown_variant_is_an_invalid_manifest(variant):
    raw = json.loads(render_manifest([_entry("3.13.15")]))
    raw["runtimes"][0]["variant"] = variant
    with pytest.raises(ManifestError, match="variant"):
        parse_manifest(json.dumps(raw))


# --- the store builder --------------------------------------------------------------------

def test_from_source_takes_the_free_threaded_forms():
    assert builder._parser().parse_args(["out", "--from-source", "3.13t", "3.13.15t", "3.14t", "3.13"]).from_source \
        == ["3.13t", "3.13.15t", "3.14t", "3.13"]
    pins = cpython_sources.load_pins()
    wanted = builder.source_requests(["3.13", "3.13t", "3.14t", "3.13t"], pins)
    assert [(pin.minor, variant) for pin, variant in wanted] == [
        ("3.13", ""), ("3.13", FT), ("3.14", FT)]
    pinned = pins["3.13"].version
    assert builder.source_requests([f"{pinned}t"], pins) == [(pins["3.13"], FT)]


def test_from_source_refuses_free_threaded_before_3_13():
    with pytest.raises(BuildError) as info:
        builder.source_requests(["3.12t"], cpython_sources.load_pins())
    assert info.value.error_id == "source-build::no-free-threaded-build"


def test_the_build_cache_key_names_the_variant_and_keeps_default_keys():
    args = ("a" * 64, False, b"recipe", "gcc 12", "debian-12", "x86_64", "", {"CFLAGS": "-x"})
    default = source_build.build_key(*args)
    assert source_build.build_key(*args, variant="") == default  # the machine's builds stay valid
    assert source_build.build_key(*args, variant=FT) != default
    assert source_build.work_dir(False, FT).name.endswith("-freethreaded")
    assert source_build.work_dir(False) != source_build.work_dir(False, FT)


# --- the wheel check ----------------------------------------------------------------------

@pytest.mark.parametrize(("wheel", "fits"), [
    ("six-1.17.0-py2.py3-none-any.whl", True),
    ("flask-3.1.3-py3-none-any.whl", True),
    ("markupsafe-3.0.4-cp313-cp313t-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", True),
    ("markupsafe-3.0.4-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", False),
    ("cryptography-50.0.2-cp311-abi3-manylinux_2_28_x86_64.whl", False),
    ("markupsafe-3.0.4-cp313-cp313t-manylinux_2_17_aarch64.whl", False),
    ("markupsafe-3.0.4-cp313-cp313t-musllinux_1_2_x86_64.whl", False),
    ("markupsafe-3.0.4-cp313-cp313t-win_amd64.whl", False),
    ("markupsafe-3.0.4-cp314-cp314t-manylinux_2_17_x86_64.whl", False),
    ("http://127.0.0.1:1/packages/x-1-py3-none-any.whl#sha256=00", True),
    ("x-1.tar.gz", False),
])
def test_which_wheels_a_free_threaded_313_loads(wheel, fits):
    assert free_threaded.wheel_fits(wheel, "cp313t", "x86_64") is fits


def test_missing_wheels_are_named_with_what_happens_to_them():
    found = free_threaded.missing_wheels([
        ("six", "1.17.0", ["six-1.17.0-py2.py3-none-any.whl"], True),
        ("Zlib-Thing", "2", ["zlib_thing-2-cp313-cp313-manylinux_2_17_x86_64.whl"], False),
        ("cffi", "2.1.1", ["cffi-2.1.1-cp313-cp313-manylinux_2_17_x86_64.whl"], True),
    ], "cp313t", "x86_64")
    assert [m.line() for m in found] == [
        "cffi==2.1.1 (compiled from its source distribution)",
        "Zlib-Thing==2 (no source distribution either: cannot be installed)"]
    text = free_threaded.describe(found, "3.13t")
    assert "no wheel for the free-threaded Python 3.13t\n(a cp313t or pure-Python" in text


# --- the SBOM -----------------------------------------------------------------------------

def test_the_sbom_names_the_free_threaded_runtime():
    text = sbom.render(_entry("3.13.15", FT), [])
    validator = make_schemabased_validator(OutputFormat.JSON, SchemaVersion.from_version(sbom.SPEC_VERSION))
    assert validator.validate_str(text) is None
    [cpython] = json.loads(text)["components"]
    assert cpython["version"] == "3.13.15" and cpython["cpe"].startswith("cpe:2.3:a:python:python:3.13.15:")
    assert cpython["purl"] == "pkg:generic/cpython@3.13.15?variant=freethreaded"
    assert cpython["properties"] == [{"name": "buildpack-python:variant", "value": "freethreaded"}]
    assert "python-3.13.15t-" in cpython["description"]
    assert "properties" not in json.loads(sbom.render(_entry("3.13.15"), []))["components"][0]
