"""Hostile inputs, round three (issue 21): real builds, each between the sentinel files of
round two (``test_hostile.World``: nothing outside BUILD_DIR, CACHE_DIR and temp may
change), each asserting the exit code, the error id and no traceback.

The classes that need no build have unit tests of their own:
``tests/unit/test_bounded_numbers.py`` (1), ``test_cache_reader.py`` (2, 3, 9, 10),
``test_pip_rules_and_depth.py`` (4, 5), ``test_program_arguments.py`` (6) and
``test_child_deadlines.py`` (7).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from tests import support
from tests.integration.reliability.test_hostile import (
    PROCFILE,
    Case,
    World,
    _cfg,
    _check,
    _error_ids_in,
    _steps,
    _w,
    snapshot,
)

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def index(package_index):
    return package_index.url


@pytest.fixture(scope="module")
def warm(tmp_path_factory, runtime_store, index):
    """A cache holding the environment of a requirements-free app (as round two's)."""
    cache = tmp_path_factory.mktemp("warm") / "cache"
    app = tmp_path_factory.mktemp("warm-app")
    (app / "Procfile").write_text(PROCFILE)
    (app / "requirements.txt").write_text("")
    result = support.compile_app(app, cache, support.build_env(str(runtime_store), index))
    assert result.returncode == 0, result.log
    return cache


LONG = "1" * 5000
DEEP = "[" * 4000 + "]" * 4000  # some 8 KB of nested arrays


def _in_cache(name: str, make: Callable[[Path], None]) -> Callable[[World], None]:
    def spoil(world: World) -> None:
        path = world.cache / name
        if os.path.lexists(path):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path)
    return spoil


def _sparse_4gb(path: Path) -> None:
    with open(path, "wb") as out:
        out.truncate(4 << 30)


def _report_is_a_file(world: World) -> None:
    report = world.cache / "build-report.json"
    assert report.is_file() and not report.is_symlink()
    assert json.loads(report.read_text())["success"] is True


def _record_is_a_file(world: World) -> None:
    record = world.cache / "python-version.json"
    assert record.is_file() and not record.is_symlink()
    assert json.loads(record.read_text())["python_minor"]


def _no_requirements(world: World) -> None:
    (world.app / "requirements.txt").unlink()


def _pipfile_lock(version: str) -> Callable[[World], None]:
    lock = {"_meta": {"hash": {"sha256": "0" * 64}, "pipfile-spec": 6,
                      "requires": {"python_version": version}, "sources": []},
            "default": {}, "develop": {}}
    return _steps(_no_requirements, _w("Pipfile", "[packages]\n"),
                  _w("Pipfile.lock", json.dumps(lock)))


def _outside(world: World) -> None:
    (world.root / "outside.txt").write_text("six==1.17.0\n")


def _hashed_and_unhashed(world: World) -> None:
    """One requirement pinned by hash, one not: pip refuses the second; so must uv."""
    wheel = next(support.ensure_index_packages().glob("six-1.17.0-*.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    world.write("requirements.txt", f"six==1.17.0 --hash=sha256:{digest}\nidna==3.10\n")


CASES: dict[str, Case] = {
    # class 1: numbers from outside
    "python-version-5000-digit-minor": Case("r3-numbers", _w(".python-version", f"3.{LONG}\n"),
                                            "python-version-file::invalid-version"),
    "python-version-arabic-indic": Case("r3-numbers", _w(".python-version", "٣.١٣\n"),
                                        "python-version-file::invalid-version"),
    "runtime-txt-superscript": Case("r3-numbers", _w("runtime.txt", "python-3.1²\n"),
                                    "runtime-txt::invalid-version"),
    "runtime-txt-5000-digit-minor": Case("r3-numbers", _w("runtime.txt", f"python-3.{LONG}\n"),
                                         "runtime-txt::invalid-version"),
    "pipfile-lock-5000-digit-minor": Case("r3-numbers", _pipfile_lock(f"3.{LONG}"),
                                          "pipfile-lock::invalid-version"),
    "store-timeout-inf": Case("r3-numbers", lambda w: None, "runtime-store::invalid-timeout",
                              extra={"PYTHON_RUNTIME_STORE_TIMEOUT": "inf"}),
    "store-timeout-1e999": Case("r3-numbers", lambda w: None, "runtime-store::invalid-timeout",
                                extra={"PYTHON_RUNTIME_STORE_TIMEOUT": "1e999"}),
    "store-timeout-superscript": Case("r3-numbers", _cfg("PYTHON_RUNTIME_STORE_TIMEOUT", "²"),
                                      "runtime-store::invalid-timeout"),
    "step-timeout-5000-digits": Case("r3-numbers", lambda w: None,
                                     extra={"BUILDPACK_STEP_TIMEOUT": LONG}),
    # class 2: files the build reads from CACHE_DIR
    "record-fifo": Case("r3-cache-files", _in_cache("python-version.json", os.mkfifo),
                        expect=("Discarded unexpected files in the build cache", "python-version.json"), check=_record_is_a_file,
                        timeout=300),
    "record-sparse-4gb": Case("r3-cache-files", _in_cache("python-version.json", _sparse_4gb),
                              expect=("Ignoring an unreadable record",), check=_record_is_a_file),
    "record-dev-zero": Case("r3-cache-files",
                            _in_cache("python-version.json", lambda p: p.symlink_to("/dev/zero")),
                            expect=("Discarded unexpected files in the build cache", "python-version.json"), check=_record_is_a_file),
    "record-folder": Case("r3-cache-files",
                          _in_cache("python-version.json", lambda p: (p / "x").mkdir(parents=True)),
                          expect=("Discarded unexpected files in the build cache", "python-version.json"), check=_record_is_a_file),
    "report-folder": Case("r3-cache-files",
                          _in_cache("build-report.json", lambda p: (p / "x").mkdir(parents=True)),
                          check=_report_is_a_file),
    "report-fifo": Case("r3-cache-files", _in_cache("build-report.json", os.mkfifo),
                        check=_report_is_a_file, timeout=300),
    "report-link-out": Case("r3-cache-files", _in_cache(
        "build-report.json", lambda p: p.symlink_to(p.parent.parent / "victim" / "secret.txt")),
        check=_report_is_a_file),
    # class 4: parsers that recurse
    "pyproject-nested-arrays": Case("r3-nesting", _steps(_no_requirements, _w(
        "pyproject.toml", f'[project]\nname = "x"\nversion = "1"\ndependencies = {DEEP}\n')),
        "toml::invalid"),
    "pyproject-nested-tables": Case("r3-nesting", _steps(_no_requirements, _w(
        "pyproject.toml", '[project]\nname = "x"\nversion = "1"\nx = ' + "{a=" * 3000
        + "1" + "}" * 3000 + "\n")), "toml::invalid"),
    "poetry-nested-arrays": Case("r3-nesting", _steps(
        _no_requirements, _w("poetry.lock", "# empty\n"),
        _w("pyproject.toml", f'[tool.poetry]\nname = "x"\nversion = "1"\nx = {DEEP}\n')),
        "toml::invalid"),
    "requirements-with-deep-pyproject": Case("r3-nesting", _w(
        "pyproject.toml", f'[project]\nname = "x"\nversion = "1"\nx = {DEEP}\n'),
        "toml::invalid"),
    # class 5: what pip and uv read differently
    "include-quoted-outside": Case("r3-requirements", _steps(
        _outside, _w("requirements.txt", '-r "../outside.txt"\n')),
        "requirements::include-outside"),
    "include-abbreviated-outside": Case("r3-requirements", _steps(
        _outside, _w("requirements.txt", "--requirem ../outside.txt\n")),
        "requirements::include-outside"),
    "constraint-single-quoted-outside": Case("r3-requirements", _steps(
        _outside, _w("requirements.txt", "-c '../outside.txt'\nsix\n")),
        "requirements::include-outside"),
    "hash-mode-uv": Case("r3-requirements", _hashed_and_unhashed,
                         ("python-installer::uv-install-failed", "dependencies::install-failed"),
                         expect=("pins hashes: every requirement must have one",)),
    "hash-mode-pip": Case("r3-requirements", _steps(_hashed_and_unhashed,
                                                    _cfg("PYTHON_INSTALLER", "pip")),
                          ("dependencies::install-failed", "pip::install-failed")),
    # class 9: config var names
    "env-name-forged-line": Case("r3-config-names", _cfg("A\n-----> Forged build success", "x"),
                                 expect=("A\\n-----> Forged build success",),
                                 never=("\n-----> Forged",)),
    "env-name-carriage-return": Case("r3-config-names", _cfg("B\r-----> Forged", "x"),
                                     expect=("B\\r-----> Forged",), never=("\r-----> Forged",)),
    "env-name-escape-sequence": Case("r3-config-names", _cfg("C\x1b]0;title\x07", "x"),
                                     expect=("C\\x1b]0;title\\x07",), never=("\x1b]0;",)),
    "env-value-sparse": Case("r3-config-names", lambda w: _sparse_4gb(w.env_dir / "HUGE"),
                             expect=("HUGE",)),
    "env-value-fifo": Case("r3-config-names", lambda w: os.mkfifo(w.env_dir / "PIPE"),
                           expect=("PIPE",), timeout=300),
    # class 10: a missing ENV_DIR
    "env-dir-missing": Case("r3-config-names", lambda w: shutil.rmtree(w.env_dir),
                            expect=("The config vars folder (ENV_DIR) does not exist",)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_round3(name, tmp_path, warm, runtime_store, index, figures):
    case = CASES[name]
    world = World(tmp_path)
    shutil.copytree(warm, world.cache, symlinks=True)
    case.spoil(world)
    world.process_env.update(case.extra)
    before = world.outside()
    app_before = snapshot(world.app)
    _check(case, world, str(runtime_store), index, figures, before, app_before)


def test_enough_cases_per_class():
    """The issue's examples per class are the floor."""
    examples = {"r3-numbers": 6, "r3-cache-files": 3, "r3-nesting": 2, "r3-requirements": 3,
                "r3-config-names": 2}
    counts: dict[str, int] = {}
    for case in CASES.values():
        counts[case.category] = counts.get(case.category, 0) + 1
    for category, floor in examples.items():
        assert counts.get(category, 0) > floor, (category, counts)


# --- class 8: a full disk ------------------------------------------------------------------

def _mount_tmpfs(path: Path, size_mb: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                   check=True, timeout=60)


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], check=True, timeout=60)


def _complete_entries_only(cache: Path) -> None:
    """Nothing half-written: no temporary folder or file of an install left behind."""
    leftovers = [p for p in cache.rglob(".*") if p.name.endswith(".tmp") or
                 p.name.startswith((".uv-", ".wheel", ".pip-", ".poetry-"))]
    assert not leftovers, leftovers


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_cache_dir_while_uv_is_installed(tmp_path, runtime_store, index, figures):
    """CACHE_DIR with room for the runtime but not for uv (some 40 MB unpacked)."""
    cache = tmp_path / "cache"
    _mount_tmpfs(cache, 12)
    try:
        world = World(tmp_path / "world")
        world.write("requirements.txt", "six==1.17.0\n")
        world.write(".python-version", "3.13\n")
        before = world.outside()
        env = support.build_env(str(runtime_store), index, {"HOME": str(world.home)})
        result = support.compile_app(world.app, cache, env, world.env_dir, timeout=600)
        figures.add("r3-disk")
        assert result.returncode == result.failure_exit, result.log[-3000:]
        assert "Traceback" not in result.log, result.log[-3000:]
        assert "(error id: system::disk-full)" in result.log, result.log[-3000:]
        assert str(cache) in result.log, result.log[-3000:]  # names the folder
        _complete_entries_only(cache)
        assert world.outside() == before
    finally:
        _umount(cache)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
@pytest.mark.parametrize("engine", ["pip", "uv"])
def test_full_tmpdir_while_packages_download(engine, tmp_path, warm, runtime_store,
                                             index, figures):
    """TMPDIR too small for Django's wheel (some 8 MB). pip downloads there: a clean
    ``system::disk-full``. uv downloads into its cache (CACHE_DIR/uv), not TMPDIR: the
    build succeeds (measured; this case keeps it so)."""
    tmpdir = tmp_path / "tmp"
    _mount_tmpfs(tmpdir, 2)
    try:
        world = World(tmp_path / "world")
        shutil.copytree(warm, world.cache, symlinks=True)
        world.write("requirements.txt", "Django==5.2.19\n")
        world.config("PYTHON_INSTALLER", engine)
        before = world.outside()
        env = support.build_env(str(runtime_store), index,
                                {"HOME": str(world.home), "TMPDIR": str(tmpdir)})
        result = support.compile_app(world.app, world.cache, env, world.env_dir, timeout=600)
        figures.add("r3-disk")
        assert "Traceback" not in result.log, result.log[-3000:]
        _complete_entries_only(world.cache)
        assert world.outside() == before
        if engine == "uv":
            assert result.returncode == 0, result.log[-3000:]
            return
        assert result.returncode == result.failure_exit, result.log[-3000:]
        assert set(_error_ids_in(result.log)) == {"system::disk-full"}, result.log[-3000:]
        assert f"nearly full: TMPDIR {tmpdir}" in result.log, result.log[-3000:]  # names it
    finally:
        _umount(tmpdir)
