"""The buildpack's own bytecode kept in CACHE_DIR (``base/bytecode_cache``): written after
a build, loaded by the next one, never loaded when damaged or stale, and healed.

Each case runs a real host Python (``python3 -E -s -S -B``, as ``bin/_run.py`` does) on a
private copy of the buildpack, which imports what a build imports."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import support

# Import the build's modules as bin/_run.py does, then write what was compiled from
# source; print what that was and where each module was loaded from.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from buildpack.base import bytecode_cache
bytecode_cache.use(sys.argv[2])
import buildpack.commands.compile, buildpack.commands.cli
from buildpack.base import settings
library = None
if len(sys.argv) > 3:  # a library's wheel on sys.path, as base/libraries puts it (zipimport)
    sys.path.insert(0, sys.argv[3])
    import tomli_w.inner
    library = tomli_w.inner.VALUE
compiled = sorted(map(str, bytecode_cache._COMPILED))
bytecode_cache.refresh()
print(json.dumps({"compiled": compiled, "marker": getattr(settings, "PROBE_MARKER", None),
                  "library": library}))
"""


@pytest.fixture(scope="module")
def buildpack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return support.copy_buildpack(tmp_path_factory.mktemp("bytecode"))


def _run(buildpack: Path, cache: Path | str, *wheel: Path) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-E", "-s", "-S", "-B", "-c", PROBE, str(buildpack), str(cache),
                           *map(str, wheel)],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
                          cwd=buildpack)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def _kept(cache: Path) -> list[Path]:
    return sorted((cache / "buildpack-bytecode").rglob("*.pyc"))


def test_written_after_a_build_and_loaded_by_the_next(buildpack: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    first = _run(buildpack, cache)
    assert len(first["compiled"]) > 50  # type: ignore[arg-type]
    kept = _kept(cache)
    assert len(kept) == len(first["compiled"])  # type: ignore[arg-type]
    assert all(p.read_bytes()[4:8] == b"\x03\x00\x00\x00" for p in kept)  # checked-hash pycs
    assert _run(buildpack, cache)["compiled"] == []  # every module from the kept bytecode
    assert not list(buildpack.rglob("__pycache__"))  # nothing written beside the sources


def test_damage_is_never_loaded_and_heals(buildpack: Path, tmp_path: Path) -> None:
    """A truncated file, garbage, a FIFO and a link in place of four of them: each module is
    compiled from source (no traceback, no hang on the FIFO), and written anew."""
    cache = tmp_path / "cache"
    cache.mkdir()
    _run(buildpack, cache)
    by_name = {p.name.split(".")[0] + "/" + p.parent.name: p for p in _kept(cache)}
    truncated, garbage, fifo, link = (by_name[k] for k in ("steps/buildpack", "output/base",
                                                           "plan/plan", "env_cache/cache"))
    truncated.write_bytes(truncated.read_bytes()[:40])
    garbage.write_bytes(garbage.read_bytes()[:16] + os.urandom(2000))
    fifo.unlink()
    os.mkfifo(fifo)
    outside = tmp_path / "outside.pyc"
    outside.write_bytes(link.read_bytes())
    link.unlink()
    link.symlink_to(outside)
    damaged = _run(buildpack, cache)["compiled"]
    assert {Path(p).stem for p in damaged} == {"steps", "output", "plan", "env_cache"}  # type: ignore[union-attr]
    assert not fifo.is_symlink() and fifo.is_file() and not link.is_symlink() and link.is_file()
    assert _run(buildpack, cache)["compiled"] == []  # healed


def test_a_changed_source_is_never_run_from_old_bytecode(buildpack: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    changed = tmp_path / "changed"
    shutil.copytree(buildpack, changed)
    assert _run(changed, cache)["marker"] is None
    settings = changed / "buildpack" / "base" / "settings.py"
    settings.write_text(settings.read_text() + "\nPROBE_MARKER = 'new'\n")
    result = _run(changed, cache)
    assert result["marker"] == "new"
    assert [Path(p).name for p in result["compiled"]] == ["settings.pyc"]  # type: ignore[union-attr]


def test_nothing_is_written_through_a_link(buildpack: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    elsewhere = tmp_path / "elsewhere"
    cache.mkdir()
    elsewhere.mkdir()
    (cache / "buildpack-bytecode").symlink_to(elsewhere)
    assert len(_run(buildpack, cache)["compiled"]) > 50  # type: ignore[arg-type]
    assert list(elsewhere.iterdir()) == []


def test_an_unusable_cache_dir_changes_nothing(buildpack: Path, tmp_path: Path) -> None:
    """A CACHE_DIR argument that is a file, below a file, missing or empty: compiled from
    source, nothing written."""
    (tmp_path / "file").write_text("x")
    for cache in (tmp_path / "file", tmp_path / "file" / "below", tmp_path / "missing"):
        assert len(_run(buildpack, cache)["compiled"]) > 50  # type: ignore[arg-type]
    assert _run(buildpack, "")["compiled"] == []  # not even looked for
    assert not (tmp_path / "missing").exists()
    assert not (buildpack / "buildpack-bytecode").exists()  # "" is no folder (the cwd)


def test_the_libraries_wheels_too(buildpack: Path, tmp_path: Path) -> None:
    """The libraries are wheels on sys.path (zipimport): their modules' bytecode is kept
    the same way, and a changed wheel is compiled again."""
    cache = tmp_path / "cache"
    cache.mkdir()
    wheel = tmp_path / "tomli_w-1.0-py3-none-any.whl"

    def make(value: str) -> None:
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("tomli_w/__init__.py", "")
            archive.writestr("tomli_w/inner.py", f"VALUE = {value!r}\n")

    make("one")
    first = _run(buildpack, cache, wheel)
    assert first["library"] == "one"
    assert {Path(p).name for p in first["compiled"]} >= {"__init__.pyc", "inner.pyc"}  # type: ignore[union-attr]
    second = _run(buildpack, cache, wheel)
    assert second == {**second, "compiled": [], "library": "one"}
    make("two")
    third = _run(buildpack, cache, wheel)
    assert third["library"] == "two"
    assert [Path(p).name for p in third["compiled"]] == ["inner.pyc"]  # type: ignore[union-attr]


def test_the_libraries_are_vendor_libraries_txt() -> None:
    from buildpack.base import bytecode_cache, libraries

    assert set(bytecode_cache.LIBRARIES) == {w.name.replace("-", "_") for w in libraries.pinned()}
