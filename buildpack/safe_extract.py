"""Extract a runtime archive without trusting it.

Every member is checked before anything is written: no absolute paths, no ``..``,
no links that leave the target, no device files or FIFOs, and a bound on the total
unpacked size. The archive is unpacked into a fresh temp dir beside the target and
renamed into place, so a failure never leaves a half-extracted runtime behind.
"""
from __future__ import annotations

import lzma
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

MAX_UNPACKED_BYTES = 2 * 1024 ** 3
MAX_MEMBERS = 50_000


class UnsafeArchive(Exception):
    """The archive is corrupt or contains something that must not be extracted."""


def _check_name(name: str) -> str:
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"member {name!r} has an absolute path")
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith("../") or "/../" in f"/{name}/":
        raise UnsafeArchive(f"member {name!r} points outside the archive ('..')")
    return normal


def check_members(members: list[tarfile.TarInfo]) -> None:
    """Raise UnsafeArchive unless every member is safe to extract."""
    if len(members) > MAX_MEMBERS:
        raise UnsafeArchive(f"archive has {len(members)} members (limit {MAX_MEMBERS})")
    total = 0
    for member in members:
        normal = _check_name(member.name)
        if member.isdev() or member.isfifo():
            raise UnsafeArchive(f"member {member.name!r} is a device file or FIFO")
        if member.issym() or member.islnk():
            link = member.linkname
            if link.startswith("/"):
                raise UnsafeArchive(f"link {member.name!r} points to absolute path {link!r}")
            base = posixpath.dirname(normal) if member.issym() else ""
            resolved = posixpath.normpath(posixpath.join(base, link))
            if resolved == ".." or resolved.startswith("../"):
                raise UnsafeArchive(f"link {member.name!r} points outside the archive ({link!r})")
        elif not (member.isfile() or member.isdir()):
            raise UnsafeArchive(f"member {member.name!r} has an unsupported type")
        total += max(member.size, 0)
        if total > MAX_UNPACKED_BYTES:
            raise UnsafeArchive(f"archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")


def extract_archive(archive: Path, target: Path) -> None:
    """Safely extract ``archive`` so that it becomes ``target`` (which must not exist)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                check_members(members)
                for member in members:
                    # Never restore ownership or odd permission bits from the archive.
                    member.uid = member.gid = 0
                    member.uname = member.gname = ""
                    member.mode &= 0o755
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(staging, members=members, filter="tar")
                else:
                    tar.extractall(staging, members=members)
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as exc:
            raise UnsafeArchive(f"archive is corrupt or truncated ({exc})") from None
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
