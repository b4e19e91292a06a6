"""The bytecode worker (buildpack/runtime/bytecode_worker.py), run as the build runs it: a
real interpreter, isolated and without site, on real files."""
from __future__ import annotations

import importlib.util
import marshal
import os
import py_compile
import subprocess
import sys
from pathlib import Path

from buildpack.runtime import bytecode_worker, relocate


def _worker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", "-S", str(relocate.WORKER), *args],
                          capture_output=True, text=True, check=True, timeout=60)


def _pyc(source: Path) -> Path:
    return Path(importlib.util.cache_from_source(str(source)))


def test_writes_what_py_compile_writes_for_the_run_time_name(tmp_path):
    build = tmp_path / "build"
    (build / "pkg").mkdir(parents=True)
    source = build / "pkg" / "mod.py"
    source.write_text("# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\ndef f():\n    return NAME\n",
                      encoding="latin-1")
    source.chmod(0o444)
    assert _worker(str(build), "/app", str(build)).stdout.strip() == "1"
    ours = _pyc(source).read_bytes()
    reference = tmp_path / "reference.pyc"
    py_compile.compile(str(source), str(reference), "/app/pkg/mod.py", doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    assert ours == reference.read_bytes()
    assert marshal.loads(ours[16:]).co_filename == "/app/pkg/mod.py"
    assert _pyc(source).stat().st_mode & 0o777 == 0o644 & ~_umask()
    assert bytecode_worker.is_current(str(source))
    # current now: a second run compiles nothing, --force compiles it again
    assert _worker(str(build), "/app", str(build)).stdout.strip() == "0"
    assert _worker("--force", str(build), "/app", str(build)).stdout.strip() == "1"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_listing_names_the_sources_and_bad_ones_are_left_alone(tmp_path):
    good, bad, missing = tmp_path / "good.py", tmp_path / "bad.py", tmp_path / "gone.py"
    good.write_text("X = 1\n")
    bad.write_text("def broken(:\n")
    (tmp_path / "other.py").write_text("Y = 2\n")  # not listed: not compiled
    listing = tmp_path / "list.txt"
    listing.write_text(f"{good}\n{bad}\n{missing}\n")
    assert _worker("--force", str(tmp_path), "/app", f"@{listing}").stdout.strip() == "3"
    assert marshal.loads(_pyc(good).read_bytes()[16:]).co_filename == "/app/good.py"
    assert not _pyc(bad).exists() and not _pyc(missing).exists()
    assert not _pyc(tmp_path / "other.py").exists()
    assert sorted(p.name for p in _pyc(good).parent.iterdir()) == [_pyc(good).name]  # no temp file


def test_a_linked_pyc_is_replaced_never_written_through(tmp_path):
    app, victim = tmp_path / "app", tmp_path / "victim.pyc"
    app.mkdir()
    victim.write_bytes(b"untouched")
    source = app / "mod.py"
    source.write_text("X = 1\n")
    _pyc(source).parent.mkdir()
    _pyc(source).symlink_to(victim)
    _worker(str(app), "/app", str(app))
    assert victim.read_bytes() == b"untouched"
    assert not _pyc(source).is_symlink() and bytecode_worker.is_current(str(source))


def test_many_stale_sources_are_compiled_on_every_cpu(tmp_path):
    for i in range(80):  # above the worker's threshold for a process pool
        (tmp_path / f"m{i}.py").write_text(f"V = {i}\n")
    assert _worker(str(tmp_path), "/srv", str(tmp_path)).stdout.strip() == "80"
    assert all(bytecode_worker.is_current(str(tmp_path / f"m{i}.py")) for i in range(80))
    assert marshal.loads(_pyc(tmp_path / "m7.py").read_bytes()[16:]).co_filename == "/srv/m7.py"


def test_run_time_name():
    assert bytecode_worker.run_time_name("/b/x/y.py", "/b", "/app") == "/app/x/y.py"
    assert bytecode_worker.run_time_name("/b/x/y.py", "/b/", "/app/") == "/app/x/y.py"
    assert bytecode_worker.run_time_name("/bx/y.py", "/b", "/app") == "/bx/y.py"


def _timestamp_pyc(source: Path, pyc: Path) -> None:
    """What an installer (pip, compileall) writes: a timestamp pyc naming the build path."""
    py_compile.compile(str(source), str(pyc), doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)


def test_tidy_removes_orphans_installer_bytecode_and_emptied_packages(tmp_path):
    site = tmp_path / "site-packages"
    kept, gone = site / "kept", site / "gone" / "sub"
    (kept / "__pycache__").mkdir(parents=True)
    (gone / "__pycache__").mkdir(parents=True)
    (kept / "mod.py").write_text("X = 1\n")
    (kept / "bad.py").write_text("def broken(:\n")
    _timestamp_pyc(kept / "mod.py", _pyc(kept / "mod.py"))  # replaced by the build's
    _timestamp_pyc(kept / "mod.py", kept / "__pycache__" / "mod.cpython-39.opt-1.pyc")  # removed
    (kept / "__pycache__" / "bad.cpython-39.pyc").write_bytes(b"\0" * 16)  # not unchecked: removed
    (kept / "__pycache__" / _pyc(kept / "bad.py").name).write_bytes(b"\0" * 16)  # does not compile
    unchecked = kept / "__pycache__" / "mod.cpython-38.pyc"  # another interpreter's, unchecked
    unchecked.write_bytes(b"\0\0\0\0\1\0\0\0" + b"\0" * 8)
    (gone / "__pycache__" / "old.cpython-313.pyc").write_bytes(b"orphan")  # its source went
    (site / "__pycache__").mkdir()
    (site / "__pycache__" / "six.cpython-313.pyc").write_bytes(b"orphan")

    assert _worker("--tidy", str(site), "/app", str(site)).stdout.strip() == "2"

    assert sorted(p.name for p in (kept / "__pycache__").iterdir()) == \
        sorted([_pyc(kept / "mod.py").name, unchecked.name])
    assert bytecode_worker.is_current(str(kept / "mod.py"))
    assert not (site / "gone").exists() and not (site / "__pycache__").exists()
    assert site.is_dir()


def test_without_tidy_other_bytecode_is_left_alone(tmp_path):
    (tmp_path / "__pycache__").mkdir()
    orphan = tmp_path / "__pycache__" / "old.cpython-313.pyc"
    orphan.write_bytes(b"orphan")
    _worker(str(tmp_path), "/app", str(tmp_path))
    assert orphan.read_bytes() == b"orphan"


def test_tidy_opens_no_fifo_and_enters_no_linked_folder(tmp_path):
    site, victim = tmp_path / "site", tmp_path / "victim"
    (site / "pkg").mkdir(parents=True)
    victim.mkdir()
    (victim / "other.cpython-313.pyc").write_bytes(b"not the build's")
    (site / "pkg" / "__pycache__").symlink_to(victim)  # never tidied through the link
    os.mkfifo(site / "pipe.py")  # never read
    (site / "__pycache__").mkdir()
    os.mkfifo(site / "__pycache__" / _pyc(site / "mod.py").name)  # never read
    (site / "mod.py").write_text("X = 1\n")
    assert _worker("--tidy", str(site), "/app", str(site)).stdout.strip() == "1"
    assert (victim / "other.cpython-313.pyc").read_bytes() == b"not the build's"
    assert bytecode_worker.is_current(str(site / "mod.py"))
