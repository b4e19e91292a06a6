"""The installed environment cache: skip the installer when nothing changed.

Layout in CACHE_DIR (format ``FORMAT_VERSION``)::

    env/metadata.json   the key it was built for + a manifest of every file
    env/python/         a copy of BUILD_DIR/.heroku/python after the install

An entry is used only when its key matches and its files still match the manifest
(type, size, mtime, mode); otherwise the build starts afresh and says why. An entry for
another key stays until a successful build replaces it: a new entry is
written beside the old one and swapped in with renames, so a failed or killed build
never replaces a good entry.

Restoring makes real copies, never hardlinks: a hardlinked slug file *is* the cache
entry's file, so a hook's ``chmod`` or a later buildpack writing into ``.heroku/python``
would change the entry and every later build would restore the damage. Saving copies
too, except a file that an entry this build verified holds with the same bytes: that
is hardlinked from it, so entries share files with each other (the environment with
the base entry's runtime, a new environment with the one it replaces), never with the
slug. An incremental install then writes only what changed, and dropping the old
entry frees no data. (Measured on the CI machine: copying an 80 MB runtime costs about 2 s more
than linking it; checking content hashes at each restore instead would cost half of
that and still let the slug write into the cache.) Anything in CACHE_DIR that is not
what the buildpack put there (``tidy``) or an entry whose files changed is discarded
with a warning, and the build goes on.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import json
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

from buildpack.base import cache_files, output
from buildpack.base.fs import rmtree, walk

FORMAT_VERSION = 2  # 2: copies (not hardlinks), file modes in the manifest
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
    # The dependency groups and extras installed besides the main dependencies
    # (``installers.record.Selection.key``); "" when none, as in entries older than it.
    selection: str = ""


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
    "selection": "The dependency groups or extras to install changed "
                 "(PYTHON_DEPENDENCY_GROUPS, PYTHON_EXTRAS)",
}
_DEFAULTS = {f.name: f.default for f in fields(CacheKey) if f.default is not MISSING}
_SHOW_VALUES = {"format", "python_version", "stack", "arch", "manager", "manager_version"}


def differences(old: dict[str, Any], new: CacheKey) -> list[str]:
    """One human-readable reason per key field that differs."""
    reasons = []
    for name, value in asdict(new).items():
        before = old.get(name, _DEFAULTS.get(name))
        if isinstance(value, tuple):
            before = tuple(before) if isinstance(before, list) else before
        if before != value:
            reason = _REASONS[name]
            if name == "selection":
                reason += f" ({before or '(none)'} -> {value or '(none)'})"
            elif name in _SHOW_VALUES:
                reason += f" ({before} -> {value})"
            elif name == "dependencies_sha256":
                reason = f"{', '.join(new.dependency_files)} changed"
            reasons.append(reason)
    return reasons


# --- trees ------------------------------------------------------------------------------

def snapshot(root: Path) -> dict[str, list[Any]]:
    """rel path -> [kind, size, mtime_ns, mode] (kind: f file, l link (its target as
    size), d dir, o anything else). Iterative: any depth."""
    found: dict[str, list[Any]] = {}
    for dirpath, dirnames, filenames in walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ["l", os.readlink(path), 0, 0]
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ["d", 0, 0, mode]
            elif stat.S_ISREG(st.st_mode):
                found[rel] = ["f", st.st_size, st.st_mtime_ns, mode]
            else:
                found[rel] = ["o", 0, 0, mode]
    return found


class Changed(Exception):
    """A file is not what the manifest says (changed while being copied)."""


def _copy_file(source: str, dest: str) -> list[Any]:
    """Copy one regular file (never through a link) with its mode and mtime; its record."""
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode):
            raise Changed(source)
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      0o600)
        try:
            copied = 0
            while True:
                sent = os.sendfile(out, src, copied, 1 << 30)
                if not sent:
                    break
                copied += sent
            if copied != st.st_size:
                raise Changed(source)
            os.fchmod(out, stat.S_IMODE(st.st_mode))
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(out)
    finally:
        os.close(src)
    return ["f", st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode)]


def _same_content(one: str, other: str) -> bool:
    with open(one, "rb") as a, open(other, "rb") as b:
        while True:
            chunk = a.read(1 << 20)
            if chunk != b.read(1 << 20):
                return False
            if not chunk:
                return True


# Creating a file is mostly kernel time (about 0.5 ms on the CI machine's ext4): two
# threads copy at once. Measured there, restoring flask-app's environment (3,000 files,
# 10 alternating runs): 1.92 s on one thread, 1.30 s on two; three were no faster.
COPY_THREADS = 2


def _in_parallel(work: Callable[[str, list[Any]], None], items: list[tuple[str, list[Any]]]) -> None:
    """``work(*item)`` for every item, on ``COPY_THREADS`` threads; the first error is
    raised once the others have stopped (each stops at its next item)."""
    if len(items) < 64:
        for item in items:
            work(*item)
        return
    failed = threading.Event()

    def run(part: list[tuple[str, list[Any]]]) -> None:
        try:
            for item in part:
                if failed.is_set():
                    return
                work(*item)
        except BaseException:
            failed.set()
            raise

    pool = concurrent.futures.ThreadPoolExecutor(COPY_THREADS)
    try:
        futures = [pool.submit(run, items[i::COPY_THREADS]) for i in range(COPY_THREADS)]
        for future in futures:
            future.result()
    except BaseException:  # a failed copy, or the build stopped (SIGTERM): the rest stop
        failed.set()
        raise
    finally:
        pool.shutdown(wait=True)  # nothing writes into what the caller now removes


def copy_tree(src: Path, dest: Path, files: dict[str, list[Any]],
              shared: tuple[tuple[Path, dict[str, list[Any]]], ...] = ()) -> None:
    """Copy ``src`` to the new dir ``dest`` by its manifest ``files`` (``snapshot(src)``,
    taken once: no second walk): real copies (mode and mtime kept), links kept as links.

    ``shared``: other cache entries (their ``python`` folder and verified manifest). A
    file that one of them holds with the same record and the same bytes is hardlinked
    from it instead of copied: cache entries share files with each other, never with
    the slug (``dest`` is a new cache entry then, ``src`` the slug). Raises ``Changed``
    when a file is not what ``files`` says."""
    os.mkdir(dest)
    checked: dict[str, bool] = {}  # a shared entry's folder: a real folder, no link on the way

    def share(rel: str, record: list[Any]) -> bool:
        for root, manifest in shared:
            if manifest.get(rel) != record:
                continue
            candidate = os.path.join(root, rel)
            parent = os.path.dirname(candidate)
            if parent not in checked:
                checked[parent] = os.path.realpath(parent) == parent
            if checked[parent] and _same_content(os.path.join(src, rel), candidate):
                os.link(candidate, os.path.join(dest, rel), follow_symlinks=False)
                return True
        return False

    def place(rel: str, record: list[Any]) -> None:
        if not share(rel, record) and _copy_file(os.path.join(src, rel),
                                                 os.path.join(dest, rel)) != record:
            raise Changed(os.path.join(src, rel))

    folders, regular = [], []
    for rel, record in files.items():
        source, target = os.path.join(src, rel), os.path.join(dest, rel)
        kind = record[0]
        if kind == "d":
            os.mkdir(target)
            folders.append((source, target))
        elif kind == "l":
            os.symlink(record[1], target)
        elif kind == "f":
            regular.append((rel, record))
    _in_parallel(place, regular)  # once every folder exists
    for source, target in reversed(folders):  # after their contents: keep modes and times
        shutil.copystat(source, target, follow_symlinks=False)
    shutil.copystat(src, dest)


# --- the cache ----------------------------------------------------------------------------

MAX_METADATA_BYTES = 256 * 1024 * 1024


def _read_metadata(entry: Path) -> dict[str, Any] | None:
    try:
        raw = cache_files.read(entry / "metadata.json", MAX_METADATA_BYTES)
        if raw is None:
            return None
        data = json.loads(raw.decode("utf-8"))
    except (cache_files.Unusable, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("key"), dict) \
            or not isinstance(data.get("files"), dict):
        return None
    return data


# Entries (their ``python`` folder) this build checked against their manifest or wrote,
# with that manifest: ``save`` may share their files. Valid while the build holds the
# cache's lock (``locked``).
_VERIFIED: dict[Path, dict[str, list[Any]]] = {}


def _discard(entry: Path) -> None:
    _VERIFIED.pop(entry / "python", None)
    try:
        rmtree(entry)
    except OSError:
        pass


# Key fields an incremental install can bring an entry up to date with.
DEPENDENCY_FIELDS = frozenset({"dependency_files", "dependencies_sha256", "selection"})


def differs_only_in(old: dict[str, Any], key: CacheKey, fields: frozenset[str]) -> bool:
    """Whether a previous key (its fields, as stored) differs from ``key``, in ``fields`` only."""
    changed = {f for f, v in asdict(key).items()
               if (tuple(old[f]) if isinstance(old.get(f), list)
                   else old.get(f, _DEFAULTS.get(f))) != v}
    return bool(changed) and changed <= fields


DISCARDING = "Discarding cache since:"
UPDATING = "Updating the cached environment since:"


def log_reasons(heading: str, reasons: list[str]) -> None:
    """Why the previous installed environment is discarded (``DISCARDING``) or updated."""
    output.step(heading)
    for reason in reasons:
        output.detail(f"- {reason}")


# What the previous installed environment is to this build (``decide``): to use as it is,
# to bring up to date (only the dependencies changed, and the package manager's record can
# ``update`` it), or nothing (install afresh).
REUSED, UPDATE, FRESH = "reused", "updated", "installed"


def decide(previous: dict[str, Any] | None, key: CacheKey, updates: bool) -> str:
    """REUSED, UPDATE or FRESH for a previous environment built for the key fields
    ``previous`` (as stored; None: there is none), saying why it is updated or discarded.
    The one decision of both targets: the slug's cache entry and the CNB python layer."""
    if previous is None:
        return FRESH
    reasons = differences(previous, key)
    if not reasons:
        return REUSED
    if updates and differs_only_in(previous, key, DEPENDENCY_FIELDS):
        log_reasons(UPDATING, reasons)
        return UPDATE
    log_reasons(DISCARDING, reasons)
    return FRESH  # a cache entry is kept until a successful build replaces it


def restore(cache_dir: Path, key: CacheKey, target: Path, name: str = ENV_DIR_NAME,
            quiet: bool = False, updates: bool = False) -> str:
    """Restore cache entry ``name`` into ``target`` unless ``decide`` finds it FRESH;
    the decision (REUSED, UPDATE or FRESH).

    ``quiet``: an entry for another key is not used, and no reasons are logged (the base
    layer, whose key changes only with the runtime or pip). ``updates``: the package
    manager's record can bring the entry up to date (see ``decide``).
    """
    entry = cache_dir / name
    if not os.path.lexists(entry):
        return FRESH
    data = _read_metadata(entry) if entry.is_dir() and not entry.is_symlink() else None
    if data is None:
        output.warning("Discarding an unreadable build cache",
                       "The cached environment's metadata is missing or corrupt (perhaps from\n"
                       "an older buildpack or an interrupted build). It will be rebuilt.")
        _discard(entry)
        return FRESH
    if quiet:
        state = FRESH if differences(data["key"], key) else REUSED
    else:
        state = decide(data["key"], key, updates)
    if state == FRESH:
        return FRESH
    python = entry / "python"
    if python.is_symlink() or not python.is_dir() or snapshot(python) != data["files"]:
        _discard_corrupt(entry)
        return FRESH
    if os.path.lexists(target):
        rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=target.parent))
    try:
        staging.rmdir()
        copy_tree(python, staging, data["files"])  # checks each file against it as it copies
        os.replace(staging, target)
    except Changed:
        shutil.rmtree(staging, ignore_errors=True)
        _discard_corrupt(entry)
        return FRESH
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _VERIFIED[python] = data["files"]
    return state


def _discard_corrupt(entry: Path) -> None:
    output.warning("Discarding a corrupt build cache",
                   "Files in the cached environment changed after it was saved.\n"
                   "It will be rebuilt from scratch.")
    _discard(entry)


def save(cache_dir: Path, key: CacheKey, source: Path, name: str = ENV_DIR_NAME,
         files: dict[str, list[Any]] | None = None) -> None:
    """Store ``source`` as cache entry ``name`` for ``key`` (write new, then swap).

    ``files``: what to store, a manifest of ``source`` taken earlier (``snapshot``; by
    default it is taken now). Each file is checked against it as it is copied, so the
    entry is ``source`` as it was then, or ``Changed`` is raised and nothing is stored.

    Files that an entry this build restored or saved (and so verified) holds unchanged
    are hardlinked from it: an incremental install copies only what it changed, and the
    environment shares the runtime's files with the base entry. Links stay inside the
    cache; the slug only ever gets copies."""
    new = Path(tempfile.mkdtemp(prefix=f".{name}-new-", dir=cache_dir))
    try:
        files = snapshot(source) if files is None else files
        shared = tuple((root, manifest) for root, manifest in _VERIFIED.items()
                       if root.parent.parent == cache_dir and root.is_dir())
        copy_tree(source, new / "python", files, shared)
        metadata = {"key": asdict(key), "files": files}
        (new / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
        entry = cache_dir / name
        old = None
        if os.path.lexists(entry):
            old = Path(tempfile.mkdtemp(prefix=f".{name}-old-", dir=cache_dir))
            os.replace(entry, old / "entry")
        _VERIFIED.pop(entry / "python", None)
        os.replace(new, entry)
        _VERIFIED[entry / "python"] = files
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def remove_stale_temp(cache_dir: Path, tool_folders: tuple[str, ...]) -> None:
    """Delete leftovers of builds that were killed mid-download or mid-save, and
    whatever does not belong in CACHE_DIR (``tidy``; ``tool_folders``: the package-manager
    records' folders, ``installers.managers.CACHE_FOLDERS``)."""
    tidy(cache_dir, tool_folders)
    leftovers = [*cache_dir.glob(f".{ENV_DIR_NAME}-*"), *cache_dir.glob(f".{BASE_DIR_NAME}-*"),
                 *cache_dir.glob("runtimes/.download-*")]
    for path in leftovers:
        _discard(path)


# What the buildpack keeps in CACHE_DIR besides the package managers' folders (their
# records say those; other buildpacks of the app may share CACHE_DIR: any other name is
# left alone), and the folders whose entries must be regular files.
CACHE_FOLDERS = (ENV_DIR_NAME, BASE_DIR_NAME, "runtimes", "tmp", "pip", "tool-config", "xdg-cache",
                 "xdg-data", "tools", "home")
FILES_ONLY = ("runtimes",)


def tidy(cache_dir: Path, tool_folders: tuple[str, ...]) -> None:
    """Discard what is not what the buildpack put in CACHE_DIR (a file or a link where a
    folder belongs, a folder where a file belongs), with a warning; the build goes on."""
    found = []
    for name in (*CACHE_FOLDERS, *tool_folders):
        path = cache_dir / name
        if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
            found.append(path)
    for name in FILES_ONLY:
        folder = cache_dir / name
        if folder.is_dir() and not folder.is_symlink() and folder not in found:
            found += [p for p in folder.iterdir()
                      if (p.is_symlink() or not p.is_file()) and not p.name.startswith(".")]
    for path in found:
        _discard(path)
    if found:
        shown = ", ".join(str(p.relative_to(cache_dir)) for p in found[:5])
        output.warning("Discarded unexpected files in the build cache",
                       f"{shown}{' ...' if len(found) > 5 else ''}: not what this buildpack\n"
                       "stores there (a file where a folder belongs, a link, or the reverse).\n"
                       "They were removed; what they held is rebuilt or downloaded again.")


@contextlib.contextmanager
def locked(cache_dir: Path) -> Iterator[None]:
    """Hold the cache dir's lock: a second build on the same cache waits its turn."""
    lock = cache_dir / ".lock"
    if os.path.lexists(lock) and (lock.is_symlink() or not lock.is_file()):
        _discard(lock)  # garbage where the lock file belongs
        output.warning("Discarded an unexpected .lock in the build cache",
                       "CACHE_DIR/.lock was not a plain file; it was replaced.")
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            output.detail("Another build is using this cache dir; waiting for it to finish...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
