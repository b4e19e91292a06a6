"""The runtime store the test builds install Python from.

Packed once per checkout (``.cache/test-store``) from this machine's CPythons by the
project's own ``bin/build-runtime-store``, plus the minors built from pristine source;
kept in the machine cache by fingerprint so a fresh clone (CI) copies it in seconds.
"""
from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.machine import BIN, CACHE, ROOT, find_prefix, fingerprint, locked, machine_cache

STORE_DIR = CACHE / "test-store"


# The runtimes the tests provision: the gunicorn fixture pins 3.11.7; 3.13 is the default minor.
TEST_MINORS = ("3.11", "3.13")
# Built from pristine source into the test store next to them (the newest pinned 3.13
# whose tarball this machine can fetch; see vendor/cpython-sources.json).
FROM_SOURCE_MINORS = ("3.13",)
# Their free-threaded builds (--disable-gil), from the same cached source: each is
# compiled once per machine and recipe (source_build's cache), then only packed.
FREE_THREADED_MINORS = ("3.13t",)


def ensure_store() -> Path:
    """Build the test store once (rebuilt when the store tooling changes)."""
    with locked("test-store"):
        return _ensure_store()


# Every file that shapes an archive of the test store: a change to any rebuilds it.


# Every file that shapes an archive of the test store: a change to any rebuilds it.
STORE_SHAPING = ("buildpack/store_builder/runtime_archive.py", "buildpack/store_builder/builder.py",
                 "buildpack/store_builder/source_build.py", "buildpack/store_builder/cpython_recipe.py",
                 "buildpack/store_builder/cpython_sources.py", "buildpack/runtime/manifest.py",
                 "buildpack/runtime/relocate.py", "buildpack/installers/pinned_tools.py",
                 "buildpack/base/platform_info.py", "buildpack/runtime/safe_extract.py",
                 "buildpack/base/slug_layout.py", "vendor/cpython-sources.json",
                 "vendor/tools/patchelf.txt")


def _ensure_store() -> Path:
    """The pyenv-packed TEST_MINORS plus FROM_SOURCE_MINORS built from pristine source.

    Packed stores are kept in the machine cache by fingerprint, so a fresh clone on
    this machine (CI) copies one in seconds; from-source builds are cached there too
    (by source_build), so only packing runs again when the packer changes.
    """
    stamp = STORE_DIR / ".fingerprint"
    prefixes = [find_prefix(m) for m in TEST_MINORS]
    want = fingerprint([ROOT / name for name in STORE_SHAPING]) + ":" + ",".join(map(str, prefixes)) \
        + ":" + ",".join(FROM_SOURCE_MINORS + FREE_THREADED_MINORS)
    if stamp.is_file() and stamp.read_text() == want and (STORE_DIR / "manifest.json").is_file():
        return STORE_DIR
    kept = machine_cache() / "test-stores" / hashlib.sha256(want.encode()).hexdigest()[:16]
    kept.parent.mkdir(parents=True, exist_ok=True)
    # Several checkouts (helpers, CI) may want the same store at once: one builds it,
    # the others wait for it under a machine-wide lock.
    with open(kept.with_name(kept.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (kept / ".fingerprint").is_file():
            _build_test_store(kept, prefixes, want)
        os.utime(kept)  # marks it used: _prune_kept_stores keeps what checkouts still use
        _prune_kept_stores(kept.parent, keep=kept)
    shutil.rmtree(STORE_DIR, ignore_errors=True)
    shutil.copytree(kept, STORE_DIR)
    STORE_DIR.chmod(0o755)  # stores kept by older checkouts may still be 0700
    return STORE_DIR


KEPT_STORE_DAYS = 7


def _prune_kept_stores(root: Path, keep: Path) -> None:
    """Drop packed stores no checkout used for a week (each is ~100 MB); skip ones being used."""
    cutoff = time.time() - KEPT_STORE_DAYS * 86400
    for entry in root.iterdir():
        if entry == keep or not entry.is_dir() or entry.stat().st_mtime > cutoff:
            continue
        with open(entry.with_name(entry.name + ".lock"), "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(entry, ignore_errors=True)
        entry.with_name(entry.name + ".lock").unlink(missing_ok=True)


def _build_test_store(kept: Path, prefixes: list[Path], want: str) -> None:
    partial = Path(tempfile.mkdtemp(prefix=f"{kept.name}.partial-", dir=kept.parent))
    partial.chmod(0o755)  # mkdtemp's 0700 would hide the store from the unprivileged and herokuish builds
    try:
        log = partial / ".build-output.txt"
        with open(log, "w") as out:
            for args in ([*map(str, prefixes)],
                         ["--from-source", *FROM_SOURCE_MINORS, *FREE_THREADED_MINORS, "--quick"]):
                proc = subprocess.run([str(BIN / "build-runtime-store"), str(partial), *args],
                                      stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      timeout=3600)
                if proc.returncode != 0:
                    raise RuntimeError("building the test store failed:\n" + log.read_text()[-3000:])
        (partial / ".fingerprint").write_text(want)
        shutil.rmtree(kept, ignore_errors=True)
        os.rename(partial, kept)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def store_versions() -> dict[str, str]:
    """minor -> full version of the default builds in the test store (not the free-threaded
    ones: tests/integration/slow/test_free_threaded.py reads those)."""
    manifest = json.loads((STORE_DIR / "manifest.json").read_text())
    return {".".join(r["version"].split(".")[:2]): r["version"] for r in manifest["runtimes"]
            if not r.get("variant")}


def expected_default_minor() -> str:
    """The default for new apps that the README's rule gives with the test store, written out
    independently of the code: the newest minor in the store whose X.Y.0 is at least 90 days
    old (3.14.0 came out on 2025-10-07, 3.15.0 on 2026-10-01, which settles on 2026-12-30)."""
    newest_settled = (3, 15) if datetime.date.today() >= datetime.date(2026, 12, 30) else (3, 14)
    minors = [tuple(int(p) for p in m.split(".")) for m in store_versions()]
    major, minor = max(m for m in minors if m <= newest_settled)
    return f"{major}.{minor}"
