"""The installed environment cache: the previous build's environment, moved, never copied.

Layout in CACHE_DIR (format ``FORMAT_VERSION``, places named in ``layout``)::

    env/metadata.json   the key it was built for + a manifest of every file
    env/python/         BUILD_DIR/.heroku/python of the last successful build, hardlinked

**Restore** (``restore``): when the key (runtime, stack, package manager and its
version, installer settings; never the dependency files) matches and every file is
what the manifest says, ``env/python`` is *renamed* into the build (O(1)): the entry
leaves the cache for the build. The package manager then always runs against it and
decides what changed (``installers.install(..., incremental=True)``). Where CACHE_DIR
and the build are on different filesystems, the entry is copied instead (said once).

**Save** (``begin_save``), begun as soon as the previous environment is in place (before
the package manager runs against it; after it, on a fresh install): the slug's
environment is hardlinked into a new entry on a thread while the rest of the build runs
(the install, relocation and bytecode, NLTK data, the app's build code; each file once, shared with
the slug and, during the build, with uv's cache: ``UV_LINK_MODE=hardlink``; uv's copy of
the downloaded wheels is pruned meanwhile, ``installers.prune_uv_cache``); at the end
(``Saving.finish``) the entry is brought up to date with the environment as the build
left it, its manifest taken (the entry's files are the slug's) and it is swapped in. A
build that fails or is killed saves nothing: the next build links the runtime (below)
and installs the packages afresh (the wheels built from source are still in uv's
cache).

**Damage** (the slug and the entry share inodes, so a write into a slug file is a write
into the entry and into uv's cache):

- during the build the entry is not in the cache, and the app's build code (a
  ``post_compile`` hook, collectstatic) runs while the save links: ``Saving.finish``
  compares the environment with the snapshot taken before that code ran (``snapshot``:
  kind, size, mtime, mode, inode), whether the change came before or after the thread
  linked the file. A file it changed, replaced or removed is never saved: the entry is
  not written, uv's cache (which may share the changed file) is cleared, and the next
  build installs afresh; files it only added are kept, as in the slug.
- after the build (a later buildpack writing into ``.heroku/python``): ``restore``
  checks every file against the manifest (kind, size, mtime, mode); a mismatch discards
  the entry and uv's cache with a warning, and the build installs afresh. Neither the
  inode nor its change time is compared: a platform that stores CACHE_DIR as an archive
  restores new inodes, and deleting the old slug's links changes the change time. A
  write that keeps a file's size and sets its mtime back is not seen (the bound).

**The runtime** (``provide_runtime``): a build without a previous environment links the
runtime from ``CACHE_DIR/runtime`` (the files the last fresh install unpacked, kept as
links, with the archive's sha256 and a manifest) instead of downloading and unpacking
it; the same per-file check guards it, and damage found in the environment clears it
with uv's cache (``clear_shared``).

Anything in CACHE_DIR that is not what ``layout`` says (``tidy``) is discarded with a
warning, and the build goes on.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from buildpack.base import cache_files, children, output
from buildpack.base.fs import rmtree
from buildpack.cache import layout

FORMAT_VERSION = 3  # 3: moved in, hardlinked out; the dependency files are not in the key
ENV_DIR_NAME = layout.ENV


@dataclass(frozen=True)
class CacheKey:
    """What the installed environment depends on besides the dependencies themselves and
    the dependency groups and extras selected (those the package manager checks each
    build)."""

    format: int
    python_version: str
    runtime_sha256: str
    stack: str
    arch: str
    manager: str
    manager_version: str
    settings_sha256: str


_REASONS = {
    "format": "The buildpack's cache format changed",
    "python_version": "The Python version changed",
    "runtime_sha256": "The Python runtime archive changed",
    "stack": "The stack changed",
    "arch": "The CPU architecture changed",
    "manager": "The package manager changed",
    "manager_version": "The package manager's version changed",
    "settings_sha256": "The installer settings (config vars such as PIP_INDEX_URL) changed",
}
_SHOW_VALUES = {"format", "python_version", "stack", "arch", "manager", "manager_version"}


def differences(old: dict[str, Any], new: CacheKey) -> list[str]:
    """One human-readable reason per key field that differs."""
    reasons = []
    for name, value in asdict(new).items():
        before = old.get(name)
        if before != value:
            reason = _REASONS[name]
            if name in _SHOW_VALUES:
                reason += f" ({before} -> {value})"
            reasons.append(reason)
    return reasons


# --- trees ------------------------------------------------------------------------------

def _entries(root: Path) -> Iterator[tuple[str, os.DirEntry[str], os.stat_result]]:
    """(path relative to ``root``, entry, its lstat) for everything below ``root``, folders
    before their contents; iterative (any depth), links never followed, folders that
    cannot be listed and entries gone since they were listed left out (the save walks
    while bytecode is written). One ``lstat`` per entry and no path arithmetic: the
    environment has 10-20k files and this runs three times a build."""
    stack = [("", os.fspath(root))]
    while stack:
        prefix, folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # gone since the listing (a pyc's temp file, renamed)
                continue
            yield prefix + entry.name, entry, st
            if stat.S_ISDIR(st.st_mode):
                stack.append((f"{prefix}{entry.name}/", entry.path))


def _record(entry: os.DirEntry[str], st: os.stat_result, inodes: bool) -> list[Any]:
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return ["l", os.readlink(entry.path), 0, 0]
    if stat.S_ISDIR(st.st_mode):
        return ["d", 0, 0, mode]
    if stat.S_ISREG(st.st_mode):
        return ["f", st.st_size, st.st_mtime_ns, mode, st.st_ino] if inodes \
            else ["f", st.st_size, st.st_mtime_ns, mode]
    return ["o", 0, 0, mode]


def snapshot(root: Path, inodes: bool = False) -> dict[str, list[Any]]:
    """rel path -> [kind, size, mtime_ns, mode] (kind: f file, l link (its target as
    size), d dir, o anything else), and each file's inode when ``inodes`` (within one
    build only: a platform that stores CACHE_DIR as an archive restores new inodes)."""
    return {rel: _record(entry, st, inodes) for rel, entry, st in _entries(root)}


def changed_by(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    """The paths of ``before`` that are gone or differ in ``after`` (added ones are not)."""
    return [rel for rel, record in before.items() if after.get(rel) != record]


class CrossDevice(Exception):
    """CACHE_DIR and the build are on different filesystems."""


_SAID_COPYING: set[str] = set()


def _say_copying(why: str) -> None:
    if why not in _SAID_COPYING:
        _SAID_COPYING.add(why)
        output.detail(f"CACHE_DIR is on another filesystem than the build: {why} by copying.")


def link_tree(src: Path, dest: Path, why: str = "the environment is saved"
              ) -> tuple[bool, dict[str, list[Any]]]:
    """``dest`` (new) with the same tree as ``src``: folders made (modes kept; not their
    times, which nothing reads: one mkdir and rarely a chmod each, on a disk where making
    folders is most of the save), links kept as links, regular files hardlinked; copied,
    said once, where they cannot be (another filesystem). Whether every file was linked (none copied), and the snapshot
    of ``src`` with inodes taken on the way (``snapshot(src, inodes=True)``)."""
    os.mkdir(dest)
    found: dict[str, list[Any]] = {}
    folders: list[tuple[str, os.stat_result]] = []
    base = os.fspath(dest)
    copy = False
    for rel, entry, st in _entries(src):
        found[rel] = _record(entry, st, True)
        target = f"{base}/{rel}"
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(target)
            folders.append((target, st))
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(found[rel][1], target)
        elif not copy:
            try:
                os.link(entry.path, target, follow_symlinks=False)
                continue
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                copy = True
                _say_copying(why)
        if copy and not stat.S_ISDIR(st.st_mode) and not stat.S_ISLNK(st.st_mode):
            shutil.copy2(entry.path, target, follow_symlinks=False)
    for target, st in reversed(folders):  # after their contents: a folder may be read-only
        if stat.S_IMODE(st.st_mode) != _MKDIR_MODE:
            os.chmod(target, stat.S_IMODE(st.st_mode))
    shutil.copystat(src, dest)
    return not copy, found


def _umask() -> int:
    mask = os.umask(0o022)  # read once, at import: no other thread runs yet
    os.umask(mask)
    return mask


_MKDIR_MODE = 0o777 & ~_umask()  # what os.mkdir gives a folder


def move_tree(src: Path, dest: Path) -> None:
    """Rename ``src`` to ``dest`` (O(1)); across filesystems, copy it (said once) and
    remove ``src``."""
    try:
        os.rename(src, dest)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    _say_copying("the previous environment is restored")
    shutil.copytree(src, dest, symlinks=True)
    rmtree(src)


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


def _discard(path: Path) -> None:
    try:
        rmtree(path)
    except OSError:
        pass


def clear_shared(cache_dir: Path) -> None:
    """Clear uv's cache and the cached runtime: their files are the environment's
    (hardlinks), so a change found in one may be in the others."""
    cleared = False
    for name in (layout.UV, layout.RUNTIME):
        if os.path.lexists(cache_dir / name):
            _discard(cache_dir / name)
            cleared = True
    if cleared:
        output.detail("uv's cache, which shares those files, was cleared too (with the unpacked\n"
                      "Python runtime): what they held is downloaded again.")


DISCARDING = "Discarding cache since:"


def log_reasons(heading: str, reasons: list[str]) -> None:
    """Why the previous installed environment is discarded."""
    output.step(heading)
    for reason in reasons:
        output.detail(f"- {reason}")


# What the previous installed environment is to this build: the starting point the
# package manager brings up to date, or nothing (install afresh).
UPDATE, FRESH = "updated", "installed"


def decide(previous: dict[str, Any] | None, key: CacheKey) -> str:
    """UPDATE or FRESH for a previous environment built for the key fields ``previous``
    (as stored; None: there is none), saying why it is discarded. The one decision of
    both targets: the slug's cache entry and the CNB python layer."""
    if previous is None:
        return FRESH
    reasons = differences(previous, key)
    if not reasons:
        return UPDATE
    log_reasons(DISCARDING, reasons)
    return FRESH


def restore(cache_dir: Path, key: CacheKey, target: Path) -> str:
    """Move the cache entry into ``target`` unless ``decide`` finds it FRESH; the decision.
    The entry leaves the cache (a build that fails saves none: the next one installs
    afresh)."""
    entry = cache_dir / ENV_DIR_NAME
    if not os.path.lexists(entry):
        return FRESH
    data = _read_metadata(entry) if entry.is_dir() and not entry.is_symlink() else None
    if data is None:
        output.warning("Discarding an unreadable build cache",
                       "The cached environment's metadata is missing or corrupt (perhaps from\n"
                       "an older buildpack or an interrupted build). It will be rebuilt.")
        _discard(entry)
        return FRESH
    if decide(data["key"], key) == FRESH:
        _discard(entry)
        return FRESH
    python = entry / "python"
    if python.is_symlink() or not python.is_dir():
        _discard_corrupt(cache_dir, entry, ["python"])
        return FRESH
    now = snapshot(python)
    changed = changed_by(data["files"], now) + [rel for rel in now if rel not in data["files"]]
    if changed:
        _discard_corrupt(cache_dir, entry, changed)
        return FRESH
    if os.path.lexists(target):
        rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    (entry / "metadata.json").unlink()  # from here on the entry claims no key
    move_tree(python, target)
    _discard(entry)
    return UPDATE


def _discard_corrupt(cache_dir: Path, entry: Path, changed: list[str]) -> None:
    shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
    output.warning("Discarding a corrupt build cache",
                   f"Files in the cached environment changed after it was saved ({shown}),\n"
                   "perhaps written by a later buildpack. It will be rebuilt from scratch.")
    _discard(entry)
    clear_shared(cache_dir)


def not_cached_warning(changed: list[str]) -> None:
    shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
    output.warning(
        "The installed environment is not cached",
        "The app's build code (bin/post_compile, collectstatic) changed files the\n"
        f"installer wrote: {shown}.\n"
        "They are deployed as changed, but never reused: the next build installs the\n"
        "packages afresh. To keep the build cache, write such files elsewhere.")


class Saving:
    """The save of ``source`` as the cache entry for ``key`` (``begin_save``): a thread links
    the environment's files into a new entry while the rest of the build runs (the
    package manager's run on the previous environment, relocation and bytecode, NLTK
    data, the app's build code, the SBOM); ``finish`` brings the entry up to date with the
    environment as the build left it and swaps it in, or ``abandon`` drops it.

    The entry's files are the environment's (hardlinks), so a file written in place is
    current in both; what was replaced, added or removed after the thread passed is
    relinked, linked or removed by ``finish``, which compares the final environment with
    what the thread linked (kind, size, mtime, mode and the entry's inode, taken from the
    entry after each link). On another filesystem (a link fails with EXDEV) the thread
    stops and ``finish`` copies the environment as it then is."""

    def __init__(self, cache_dir: Path, key: CacheKey, source: Path) -> None:
        self.cache_dir, self.key, self.source = cache_dir, key, source
        self.started = time.monotonic()
        self.new = Path(tempfile.mkdtemp(prefix=f".{ENV_DIR_NAME}-new-", dir=cache_dir))
        self.dest = self.new / "python"
        self.linked: dict[str, list[Any]] = {}  # rel -> what the entry holds there
        self.copy = False
        self.stopped = False
        self.work = children.Background(self._link)

    def _add(self, rel: str, source: str, record: list[Any]) -> list[Any]:
        """Put ``source`` (``record``: its ``_record``) at ``rel`` in the entry; what the
        entry then holds there."""
        target = f"{os.fspath(self.dest)}/{rel}"
        if record[0] == "d":
            os.mkdir(target)
            return record
        if record[0] == "l":
            os.symlink(record[1], target)
            return record
        os.link(source, target, follow_symlinks=False)
        st = os.lstat(target)  # the file linked, whatever was at ``source`` by then
        return ["f" if stat.S_ISREG(st.st_mode) else "o", st.st_size, st.st_mtime_ns,
                stat.S_IMODE(st.st_mode), st.st_ino]

    def _link(self) -> None:
        os.mkdir(self.dest)
        for rel, entry, st in _entries(self.source):
            if self.stopped:
                return
            try:
                self.linked[rel] = self._add(rel, entry.path, _record(entry, st, True))
            except (FileNotFoundError, NotADirectoryError):
                continue  # replaced or removed meanwhile: ``finish`` sees what is there
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                self.copy = True  # another filesystem: ``finish`` copies
                return

    def _bring_up_to_date(self, now: dict[str, list[Any]]) -> None:
        """Make the entry hold what ``now`` (the final walk of the environment) lists."""
        base = os.fspath(self.dest)
        gone = [rel for rel, record in self.linked.items() if rel not in now
                or now[rel][0] != record[0] or (record[0] != "d" and now[rel] != record)]
        for rel in sorted(gone, key=lambda rel: rel.count("/"), reverse=True):
            path = f"{base}/{rel}"
            if self.linked[rel][0] == "d":
                rmtree(Path(path))
            else:
                with contextlib.suppress(FileNotFoundError):  # its folder went first
                    os.unlink(path)
            del self.linked[rel]
        source = os.fspath(self.source)
        for rel, record in now.items():
            if rel not in self.linked:
                self.linked[rel] = self._add(rel, f"{source}/{rel}", record)

    def finish(self, before: dict[str, list[Any]] | None, settled: bool) -> bool:
        """Store the entry; whether it was. ``settled``: the save began after everything
        the buildpack writes into the environment (the install, relocation, NLTK data), so
        the thread's walk is the final one; else the environment is walked again, even
        when the install changed nothing by ``environment_state`` (a file an installer
        rewrote in place would otherwise be recorded as the thread found it). ``before``:
        the environment's snapshot taken
        before the app's build code ran (None when the app has none). A file that code
        changed, replaced or removed means nothing is stored (the old entry is gone
        already: ``restore`` moved it out) and uv's cache, which may share the file, is
        cleared: the next build installs afresh from files nothing wrote into. Files it
        only added are kept, as the slug has them."""
        try:
            self.work.wait()
            now = self.linked
            if before is not None or not settled or self.copy:
                now = snapshot(self.source, inodes=True)
            if before is not None:
                changed = changed_by(before, now)
                if changed:
                    _discard(self.new)
                    not_cached_warning(changed)
                    _discard(self.cache_dir / ENV_DIR_NAME)
                    clear_shared(self.cache_dir)
                    return False
            if self.copy:
                _say_copying("the environment is saved")
                _discard(self.dest)
                shutil.copytree(self.source, self.dest, symlinks=True)
                files = snapshot(self.dest)
            else:
                if now is not self.linked:
                    self._bring_up_to_date(now)
                for rel, record in reversed(now.items()):  # after their contents
                    if record[0] == "d" and record[3] != _MKDIR_MODE:
                        os.chmod(f"{os.fspath(self.dest)}/{rel}", record[3])
                shutil.copystat(self.source, self.dest)
                files = {rel: record[:4] for rel, record in now.items()}
            metadata = {"key": asdict(self.key), "files": files}
            (self.new / "metadata.json").write_text(json.dumps(metadata, separators=(",", ":")),
                                                    encoding="utf-8")
            entry = self.cache_dir / ENV_DIR_NAME
            if os.path.lexists(entry):
                _discard(entry)
            os.replace(self.new, entry)
        except BaseException:
            _discard(self.new)
            raise
        return True

    def abandon(self) -> None:
        """The build failed: stop linking and drop the new entry."""
        self.stopped = True
        with contextlib.suppress(BaseException):
            self.work.wait()
        _discard(self.new)


def begin_save(cache_dir: Path, key: CacheKey, source: Path) -> Saving:
    """Begin saving ``source`` as the cache entry for ``key`` (``Saving``)."""
    return Saving(cache_dir, key, source)


# --- the unpacked runtime ----------------------------------------------------------------

RUNTIME_METADATA = "metadata.json"


def provide_runtime(cache_dir: Path, sha256: str, target: Path, unpack: Callable[[], None]) -> None:
    """Make ``target`` (absent) the runtime whose archive has ``sha256``: linked from the
    cache's unpacked copy (``CACHE_DIR/runtime``) when it holds that runtime and every
    file is what its manifest says; else ``unpack`` (download and extract into
    ``target``), and the result is kept as links of ``target``'s files.

    The copy shares its files with the slug (and, once saved, with the environment's
    entry): a write through the slug changes it, which its manifest check catches
    (kind, size, mtime, mode, as for the environment) before it is ever used; then it is
    discarded with a warning and the archive is downloaded again."""
    folder = cache_dir / layout.RUNTIME
    python = folder / "python"
    raw = None
    with contextlib.suppress(cache_files.Unusable, ValueError, RecursionError):
        found = cache_files.read(folder / RUNTIME_METADATA, MAX_METADATA_BYTES)
        raw = json.loads(found.decode("utf-8")) if found is not None else None
    usable = isinstance(raw, dict) and raw.get("sha256") == sha256 \
        and isinstance(raw.get("files"), dict) and python.is_dir() and not python.is_symlink()
    if usable and isinstance(raw, dict):
        if snapshot(python) == raw["files"]:
            link_tree(python, target, "the cached runtime is restored")
            output.detail("Using the Python runtime unpacked in the build cache (linked)")
            return
        output.warning("Discarding a damaged cached Python runtime",
                       "Files of the unpacked runtime in the build cache changed after it was\n"
                       "kept, perhaps written by a later buildpack. It is downloaded again.")
    for stale in (folder / RUNTIME_METADATA, python):
        if os.path.lexists(stale):
            _discard(stale)
    unpack()
    _keep_runtime(folder, sha256, target)


def _keep_runtime(folder: Path, sha256: str, source: Path) -> None:
    """Keep ``source``, just unpacked, as the cache's runtime: linked into a new folder,
    renamed into place, its metadata written last (a build killed before that leaves a
    copy that claims nothing, discarded by the next one)."""
    folder.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=".keep-", dir=folder))
    try:
        linked, found = link_tree(source, new / "python", "the runtime is kept")
        files = {rel: record[:4] for rel, record in found.items()} if linked \
            else snapshot(new / "python")
        metadata = {"sha256": sha256, "files": files}
        os.rename(new / "python", folder / "python")
        (folder / RUNTIME_METADATA).write_text(json.dumps(metadata), encoding="utf-8")
    finally:
        _discard(new)


def remove_stale_temp(cache_dir: Path) -> None:
    """Delete leftovers of builds that were killed mid-download or mid-save, and
    whatever does not belong in CACHE_DIR (``tidy``)."""
    tidy(cache_dir)
    leftovers = [*cache_dir.glob(f".{ENV_DIR_NAME}-*"),
                 *cache_dir.glob(f"{layout.RUNTIME}/.*")]  # downloads, a copy being kept
    for path in leftovers:
        _discard(path)


def _wrong_form(path: Path, kind: str) -> bool:
    if not os.path.lexists(path):
        return False
    if path.is_symlink():
        return True
    return not path.is_dir() if kind == layout.FOLDER else not path.is_file()


def tidy(cache_dir: Path) -> None:
    """Discard what is not what ``layout`` says belongs in CACHE_DIR (a file or a link
    where a folder belongs, a folder where a file belongs, a folder whose ``inner``
    entries are of the wrong form), with one warning; the build goes on. Places that
    older buildpack versions used (``layout.RETIRED``) are removed quietly."""
    for name in layout.RETIRED:
        if os.path.lexists(cache_dir / name):
            _discard(cache_dir / name)
    found = []
    for entry in layout.ENTRIES:
        path = cache_dir / entry.name
        if entry.name == layout.LOCK:
            continue  # ``locked`` replaces it before anything else runs
        if _wrong_form(path, entry.kind):
            found.append(path)
            continue
        if not entry.inner or not path.is_dir():
            continue
        if any(_wrong_form(path / name, layout.FILE) for name in entry.inner):
            found.append(path)
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
    lock = cache_dir / layout.LOCK
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
