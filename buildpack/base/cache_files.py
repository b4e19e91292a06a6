"""The one way the build reads a file it keeps in CACHE_DIR or in a CNB layer.

The sticky version record, the build report, the cache entries' metadata, layer TOML
files and the tools' stamps were written by an earlier build, but anything can be there
now: a FIFO (reading it would block for ever), a link to ``/dev/zero`` or to a file
outside, a folder, a sparse file of gigabytes. So ``read``:

- opens with ``O_NOFOLLOW | O_NONBLOCK`` (a link is refused, a FIFO cannot block), and
  reads only a regular file (``fstat`` of what was opened, not of the path);
- reads at most ``limit`` bytes: a larger file is refused before it is read.

``read_or_replace`` is what callers use: anything but a readable regular file is
ignored with a warning and removed, so that the build writes a good one in its place;
``clear`` removes whatever is in the way of a file about to be written.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from buildpack.base import output
from buildpack.base.fs import rmtree

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | os.O_NOFOLLOW
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a link"))


class Unusable(Exception):
    """The file is there but cannot be used; ``str()`` says why."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _open(path: Path, limit: int, follow_links: bool) -> int | None:
    """A descriptor of the regular file ``path`` of at most ``limit`` bytes; None when
    nothing is there; ``Unusable`` otherwise (see ``read``)."""
    try:
        fd = os.open(path, _OPEN_FLAGS & ~os.O_NOFOLLOW if follow_links else _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Unusable("it is a link") from None
        if exc.errno == errno.ENOTDIR:
            return None  # a file where a folder on the way belongs: nothing here
        raise Unusable(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unusable(f"it is {_kind(st.st_mode)}")
        if st.st_size > limit:
            raise Unusable(f"it holds {st.st_size:,} bytes, more than {limit:,}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _chunks(fd: int, limit: int) -> Iterator[bytes]:
    remaining = limit + 1
    while remaining > 0:
        try:
            chunk = os.read(fd, min(remaining, 1024 * 1024))
        except OSError as exc:
            raise Unusable(exc.strerror or str(exc)) from None
        if not chunk:
            return
        remaining -= len(chunk)
        if remaining <= 0:  # it grew while being read
            raise Unusable(f"it holds more than {limit:,} bytes")
        yield chunk


def read(path: Path, limit: int, follow_links: bool = False) -> bytes | None:
    """The bytes of the regular file ``path``; None when nothing is there. ``Unusable``
    for a link (unless ``follow_links``), a folder, a FIFO, a device, a file over
    ``limit`` bytes or one that cannot be read."""
    fd = _open(path, limit, follow_links)
    if fd is None:
        return None
    try:
        return b"".join(_chunks(fd, limit))
    finally:
        os.close(fd)


def sha256(path: Path, limit: int) -> str | None:
    """The SHA-256 (hex) of the regular file ``path``, read as ``read`` reads (a cached
    runtime archive, a tool's binary: too large to hold in memory); None when nothing is
    there, ``Unusable`` as ``read``."""
    fd = _open(path, limit, False)
    if fd is None:
        return None
    try:
        digest = hashlib.sha256()
        for chunk in _chunks(fd, limit):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def clear(path: Path) -> None:
    """Remove whatever is at ``path`` (a file, a link itself, a FIFO, a whole folder);
    nothing there is fine."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        rmtree(path)
    else:
        os.unlink(path)


def make_way(path: Path) -> None:
    """Before ``path`` is written (atomically, renamed over): remove what is there unless
    it is a regular file (a folder would refuse the rename for good, and a link is not
    ours to keep); nothing there is fine."""
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            return
    except FileNotFoundError:
        return
    clear(path)


def read_or_replace(path: Path, limit: int, what: str) -> bytes | None:
    """``read``, but an unusable file is removed, with a warning naming ``what`` it was
    and why; the caller then goes on as if there were none (and writes a new one)."""
    try:
        return read(path, limit)
    except Unusable as exc:
        reason = str(exc)
    output.warning(
        f"Ignoring the build cache's {path.name}",
        f"{path} ({what}) cannot be used: {reason}.\n"
        "The build did not write it so; it goes on without it and replaces it.")
    try:
        clear(path)
    except OSError as exc:
        output.detail(f"(It could not be removed either: {exc.strerror or exc}.)")
    return None


def text_or_replace(path: Path, limit: int, what: str) -> str | None:
    """``read_or_replace`` decoded as UTF-8; bytes that are not UTF-8 make it unusable
    (the same warning, and it is removed)."""
    data = read_or_replace(path, limit, what)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    output.warning(f"Ignoring the build cache's {path.name}",
                   f"{path} ({what}) is not UTF-8 text; the build goes on without it\n"
                   "and replaces it.")
    try:
        clear(path)
    except OSError:
        pass
    return None
