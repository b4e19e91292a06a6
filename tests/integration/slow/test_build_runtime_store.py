"""bin/build-runtime-store on this machine's real CPythons: the archive must run from
another directory, with nothing left that names the prefix it was packed from."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
BUILD_RUNTIME_STORE = ROOT / "bin" / "build-runtime-store"
CLEAN_PATH = "PATH=/usr/bin:/bin"


def _version_key(prefix: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in prefix.name.split("."))


def packable_cpythons() -> list[Path]:
    """pyenv CPythons >= 3.9 built with --enable-shared and shipping ensurepip's pip wheel."""
    versions = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = []
    for prefix in sorted(versions.iterdir()) if versions.is_dir() else []:
        match = re.fullmatch(r"(\d+)\.(\d+)\.\d+", prefix.name)
        if not match or (int(match.group(1)), int(match.group(2))) < (3, 9):
            continue
        xy = f"{match.group(1)}.{match.group(2)}"
        if ((prefix / "lib" / f"libpython{xy}.so.1.0").is_file()
                and (prefix / "bin" / f"python{xy}").is_file()
                and list((prefix / "lib" / f"python{xy}" / "ensurepip" / "_bundled").glob("pip-*.whl"))):
            found.append(prefix.resolve())
    # 3.12 first when there is one (the brief's reference version), then newest first.
    return sorted(found, key=lambda p: (p.name.startswith("3.12."), _version_key(p)), reverse=True)


CPYTHONS = packable_cpythons()
needs_cpython = pytest.mark.skipif(not CPYTHONS, reason="no CPython >= 3.9 with --enable-shared")


def xy_of(prefix: Path) -> str:
    return ".".join(prefix.name.split(".")[:2])


def run_builder(store: Path, prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BUILD_RUNTIME_STORE), str(store), str(prefix)],
                          capture_output=True, text=True, check=False, timeout=900)


def manifest(store: Path) -> dict:
    return json.loads((store / "manifest.json").read_text())


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """(store, prefix, archive, extracted dir): one real run, unpacked somewhere else."""
    prefix = CPYTHONS[0]
    store = tmp_path_factory.mktemp("store")
    proc = run_builder(store, prefix)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"-----> Packing python-{prefix.name} from {prefix}" in proc.stdout
    [runtime] = manifest(store)["runtimes"]
    archive = store / runtime["file"]
    extracted = tmp_path_factory.mktemp("elsewhere") / "python"
    extracted.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(extracted)], check=True)
    return store, prefix, archive, extracted


@needs_cpython
def test_manifest_describes_the_archive(packed):
    store, prefix, archive, _ = packed
    [runtime] = manifest(store)["runtimes"]
    assert runtime["version"] == prefix.name
    assert runtime["file"] == archive.name
    assert re.fullmatch(rf"python-{re.escape(prefix.name)}-[a-z0-9.-]+-[a-z0-9_]+\.tar\.xz", archive.name)
    assert runtime["size"] == archive.stat().st_size
    assert runtime["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert sorted(os.listdir(store)) == sorted(["manifest.json", archive.name])  # no leftovers


@needs_cpython
def test_extracted_runtime_runs_from_elsewhere(packed):
    _, prefix, _, extracted = packed
    code = ("import sys, ssl, sqlite3, json, sysconfig; print(sys.version); "
            "print(json.dumps([sys.prefix, sysconfig.get_config_var('prefix')]))")
    proc = subprocess.run(["env", "-i", CLEAN_PATH, str(extracted / "bin" / "python3"), "-c", code],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    version_line, paths = proc.stdout.strip().splitlines()
    assert version_line.startswith(prefix.name + " ")
    # sysconfig follows the interpreter (relocatable _sysconfigdata): BUILD_DIR during
    # the build, /app at run time.
    assert json.loads(paths) == [str(extracted), str(extracted)]


@needs_cpython
def test_bytecode_is_unchecked_hash_with_runtime_paths(packed):
    _, prefix, _, extracted = packed
    code = ("import glob, marshal\n"
            "[pyc] = glob.glob('lib/python*/__pycache__/os.*.pyc')\n"
            "data = open(pyc, 'rb').read()\n"
            "print(int.from_bytes(data[4:8], 'little'), marshal.loads(data[16:]).co_filename)\n")
    proc = subprocess.run(["env", "-i", CLEAN_PATH, str(extracted / "bin" / "python3"), "-c", code],
                          cwd=extracted, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", f"/app/.heroku/python/lib/python{xy_of(prefix)}/os.py"]


@needs_cpython
@pytest.mark.skipif(not shutil.which("ldd"), reason="no ldd")
def test_ldd_finds_libpython_inside_the_extracted_dir(packed):
    _, prefix, _, extracted = packed
    proc = subprocess.run(["env", "-i", CLEAN_PATH, "ldd", str(extracted / "bin" / f"python{xy_of(prefix)}")],
                          capture_output=True, text=True, check=True)
    [line] = [x for x in proc.stdout.splitlines() if "libpython" in x]
    resolved = line.split("=>")[1].split("(")[0].strip()
    assert Path(resolved).resolve().is_relative_to(extracted), line


@needs_cpython
def test_nothing_names_the_old_prefix(packed):
    _, prefix, _, extracted = packed
    needles = {str(prefix).encode()}
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if str(prefix).startswith(pyenv_root):
        needles.add(pyenv_root.encode())
    stdlib = extracted / "lib" / f"python{xy_of(prefix)}"
    checked = [p for p in (extracted / "bin").iterdir() if not p.is_symlink()]
    checked += [p for p in (extracted / "lib").glob("libpython*") if not p.is_symlink()]
    checked += list(stdlib.glob("_sysconfigdata_*.py")) + list(stdlib.glob("config-*/Makefile"))
    checked += list((stdlib / "lib-dynload").glob("*.so"))
    checked += list(stdlib.rglob("*.pyc"))
    assert len([p for p in checked if p.suffix == ".pyc"]) > 500
    offenders = [str(p.relative_to(extracted)) for p in checked
                 if any(needle in p.read_bytes() for needle in needles)]
    assert offenders == []


@needs_cpython
def test_only_the_runtime_is_packed(packed):
    _, prefix, archive, _ = packed
    xy = xy_of(prefix)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    names = {m.name for m in members}
    assert {f"bin/python{xy}", "bin/python3", "bin/python", f"lib/libpython{xy}.so.1.0",
            f"lib/python{xy}/os.py", f"include/python{xy}/Python.h"} <= names
    assert any(re.fullmatch(rf"lib/python{xy}/ensurepip/_bundled/pip-.*\.whl", n) for n in names)
    assert any(n.startswith(f"lib/python{xy}/lib-dynload/_ssl.") for n in names)
    assert {n for n in names if n.startswith("bin/")} == {f"bin/python{xy}", "bin/python3", "bin/python"}
    site = f"lib/python{xy}/site-packages"
    assert {n for n in names if n.startswith(site)} <= {site, f"{site}/README.txt"}
    assert not [n for n in names if re.search(r"(^|/)(test|tests|idle_test|idlelib|turtledemo)/", n)]
    assert not [n for n in names if n.endswith(".a")]
    assert all(not n.startswith(("/", "./")) and ".." not in n.split("/") for n in names)
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "" and m.gname == "" for m in members)
    by_name = {m.name: m for m in members}
    assert by_name["bin/python3"].issym() and by_name["bin/python3"].linkname == f"python{xy}"


@needs_cpython
@pytest.mark.skipif(len(CPYTHONS) < 2, reason="only one packable CPython on this machine")
def test_second_run_adds_to_the_manifest(packed):
    store, first, _, _ = packed
    second = next((p for p in CPYTHONS[1:] if xy_of(p) != xy_of(first)), None)
    if second is None:
        pytest.skip("no packable CPython of another minor version")
    proc = run_builder(store, second)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runtimes = manifest(store)["runtimes"]
    assert sorted(r["version"] for r in runtimes) == sorted([first.name, second.name])
    for runtime in runtimes:
        assert (store / runtime["file"]).stat().st_size == runtime["size"]
