"""The installed environment cache: skip the installer when nothing changed.

Layout in CACHE_DIR (format ``FORMAT_VERSION``)::

    env/metadata.json   the key it was built for + a manifest of every file
    env/python/         a copy of BUILD_DIR/.heroku/python after the install

An entry is used only when its key matches and its files still match the manifest
(size, mtime, type); otherwise the build starts afresh and says why. An entry for
another key stays until a successful build replaces it: a new entry is
written beside the old one and swapped in with renames, so a failed or killed build
never replaces a good entry. Copies are hardlinks where the filesystem allows (the
manifest catches any in-place change), else real copies.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from buildpack import output

FORMAT_VERSION = 1
ENV_DIR_NAME = "env"    # the app's installed environment
BASE_DIR_NAME = "base"  # the runtime with pip installed: reused when only dependencies change


@dataclass(frozen=True)
class CacheKey:
    """Everything the installed environment depends on."""

    format: int
    python_version: str
    runtime_sha256: str
    stack: str
    arch: str
    manager: str
    manager_version: str
    dependency_files: tuple[str, ...]
    dependencies_sha256: str
    settings_sha256: str


_REASONS = {
    "format": "The buildpack's cache format changed",
    "python_version": "The Python version changed",
    "runtime_sha256": "The Python runtime archive changed",
    "stack": "The stack changed",
    "arch": "The CPU architecture changed",
    "manager": "The package manager changed",
    "manager_version": "The package manager's version changed",
    "dependency_files": "The dependency files changed",
    "dependencies_sha256": "The dependency files' contents changed",
    "settings_sha256": "The installer settings (config vars such as PIP_INDEX_URL) changed",
}
_SHOW_VALUES = {"format", "python_version", "stack", "arch", "manager", "manager_version"}


def differences(old: dict[str, Any], new: CacheKey) -> list[str]:
    """One human-readable reason per key field that differs."""
    reasons = []
    for name, value in asdict(new).items():
        before = old.get(name)
        if isinstance(value, tuple):
            before = tuple(before) if isinstance(before, list) else before
        if before != value:
            reason = _REASONS[name]
            if name in _SHOW_VALUES:
                reason += f" ({before} -> {value})"
            elif name == "dependencies_sha256":
                reason = f"{', '.join(new.dependency_files)} changed"
            reasons.append(reason)
    return reasons


def hash_files(paths: list[Path], base: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(base)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def hash_settings(values: dict[str, str]) -> str:
    text = "\n".join(f"{k}={v}" for k, v in sorted(values.items()))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


# --- trees ------------------------------------------------------------------------------

def snapshot(root: Path) -> dict[str, list[Any]]:
    """rel path -> [kind, size, mtime_ns] (kind: f file, l link, d dir)."""
    found: dict[str, list[Any]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if os.path.islink(path):
                found[rel] = ["l", 0, 0]
            elif name in dirnames:
                found[rel] = ["d", 0, 0]
            else:
                found[rel] = ["f", st.st_size, st.st_mtime_ns]
    return found


def copy_tree(src: Path, dest: Path) -> None:
    """Copy ``src`` to new dir ``dest``: hardlinks where possible, symlinks kept."""
    link = True

    def copy(s: str, d: str) -> None:
        nonlocal link
        if link:
            try:
                os.link(s, d)
                return
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                link = False
        shutil.copy2(s, d)

    shutil.copytree(src, dest, symlinks=True, copy_function=copy)


# --- the cache ----------------------------------------------------------------------------

def _read_metadata(entry: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((entry / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("key"), dict) \
            or not isinstance(data.get("files"), dict):
        return None
    return data


def _discard(entry: Path) -> None:
    shutil.rmtree(entry, ignore_errors=True)


def restore(cache_dir: Path, key: CacheKey, target: Path, name: str = ENV_DIR_NAME,
            quiet: bool = False) -> bool:
    """Restore cache entry ``name`` into ``target`` if it is valid for ``key``.

    ``quiet`` skips the "Discarding cache since" reasons (for the base layer, whose
    key changes only with the runtime or pip).
    """
    entry = cache_dir / name
    if not entry.exists():
        return False
    data = _read_metadata(entry)
    if data is None:
        output.warning("Discarding an unreadable build cache",
                       "The cached environment's metadata is missing or corrupt (perhaps from\n"
                       "an older buildpack or an interrupted build). It will be rebuilt.")
        _discard(entry)
        return False
    reasons = differences(data["key"], key)
    if reasons and quiet:
        return False
    if reasons:
        output.step("Discarding cache since:")
        for reason in reasons:
            output.detail(f"- {reason}")
        return False  # kept until a successful build replaces it
    if snapshot(entry / "python") != data["files"]:
        output.warning("Discarding a corrupt build cache",
                       "Files in the cached environment changed after it was saved.\n"
                       "It will be rebuilt from scratch.")
        _discard(entry)
        return False
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=target.parent))
    try:
        staging.rmdir()
        copy_tree(entry / "python", staging)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True


def save(cache_dir: Path, key: CacheKey, source: Path, name: str = ENV_DIR_NAME) -> None:
    """Store ``source`` as cache entry ``name`` for ``key`` (write new, then swap)."""
    new = Path(tempfile.mkdtemp(prefix=f".{name}-new-", dir=cache_dir))
    try:
        copy_tree(source, new / "python")
        metadata = {"key": asdict(key), "files": snapshot(new / "python")}
        (new / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
        entry = cache_dir / name
        old = None
        if entry.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}-old-", dir=cache_dir))
            os.replace(entry, old / "entry")
        os.replace(new, entry)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def remove_stale_temp(cache_dir: Path) -> None:
    """Delete leftovers of builds that were killed mid-download or mid-save."""
    leftovers = [*cache_dir.glob(f".{ENV_DIR_NAME}-*"), *cache_dir.glob(f".{BASE_DIR_NAME}-*"),
                 *cache_dir.glob("runtimes/.download-*")]
    for path in leftovers:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(cache_dir: Path) -> Iterator[None]:
    """Hold the cache dir's lock: a second build on the same cache waits its turn."""
    with open(cache_dir / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            output.detail("Another build is using this cache dir; waiting for it to finish...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
