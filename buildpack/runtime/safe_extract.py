"""Extract a runtime archive without trusting it.

Every member is checked before anything is written: no absolute paths, no ``..``,
no links that leave the target, no device files or FIFOs, and a bound on the total
unpacked size. The archive is unpacked into a fresh temp dir beside the target and
renamed into place, so a failure never leaves a half-extracted runtime behind.
"""
from __future__ import annotations

import gzip
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
# A plain tar adds a 512-byte header (and padding) per member to the members' bytes.
_MAX_PLAIN_TAR_BYTES = MAX_UNPACKED_BYTES + 1536 * (MAX_MEMBERS + 2)
_MAX_LINK_HOPS = 40  # the kernel's limit (ELOOP)


class UnsafeArchive(Exception):
    """The archive is corrupt or contains something that must not be extracted."""


def _check_name(name: str) -> str:
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"member {name!r} has an absolute path")
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith("../") or "/../" in f"/{name}/":
        raise UnsafeArchive(f"member {name!r} points outside the archive ('..')")
    return normal


def _resolve(links: dict[str, str], parts: list[str], what: str) -> list[str]:
    """``parts`` with every link the archive made followed, as the kernel would: a link's
    target replaces it and is read from the link's folder, so ``..`` after a link climbs
    from where the link points (``normpath`` would collapse ``q/..`` first). Raises
    UnsafeArchive if the path climbs above the archive's root or loops."""
    resolved: list[str] = []
    pending = list(reversed(parts))
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                raise UnsafeArchive(f"{what} points outside the archive")
            resolved.pop()
            continue
        resolved.append(part)
        target = links.get("/".join(resolved))
        if target is not None:
            hops += 1
            if hops > _MAX_LINK_HOPS:
                raise UnsafeArchive(f"{what} goes through a loop of links")
            if target.startswith("/"):
                raise UnsafeArchive(f"{what} goes through a link to an absolute path")
            resolved.pop()
            pending.extend(reversed(target.split("/")))
    return resolved


def check_members(members: list[tarfile.TarInfo]) -> None:
    """Raise UnsafeArchive unless every member is safe to extract.

    Each member is checked against what the members before it have made (links are
    resolved member by member), and every link again against the whole archive, since a
    later link can change where an earlier one leads.
    """
    if len(members) > MAX_MEMBERS:
        raise UnsafeArchive(f"archive has {len(members)} members (limit {MAX_MEMBERS})")
    total = 0
    links: dict[str, str] = {}
    seen: set[str] = set()
    for member in members:
        normal = _check_name(member.name)
        if normal in seen or normal in links:
            raise UnsafeArchive(f"member {member.name!r} appears twice")
        if member.isdev() or member.isfifo():
            raise UnsafeArchive(f"member {member.name!r} is a device file or FIFO")
        parent = normal.split("/")[:-1]
        _resolve(links, parent, f"member {member.name!r}")
        if member.issym() or member.islnk():
            link = member.linkname
            if link.startswith("/") or not link:
                raise UnsafeArchive(f"link {member.name!r} points to absolute path {link!r}")
            if member.issym():
                _resolve(links, parent + link.split("/"), f"link {member.name!r} ({link!r})")
                links[normal] = link
            else:
                _check_name(link)
                target = "/".join(_resolve(links, link.split("/"), f"link {member.name!r}"))
                if target not in seen or target in links:
                    raise UnsafeArchive(f"hard link {member.name!r} does not point to a file "
                                        f"of the archive ({link!r})")
        elif not (member.isfile() or member.isdir()):
            raise UnsafeArchive(f"member {member.name!r} has an unsupported type")
        for index in range(1, len(normal.split("/"))):
            prefix = "/".join(normal.split("/")[:index])
            if prefix in links:
                continue
            seen.add(prefix)
        if not member.issym():
            seen.add(normal)
        total += max(member.size, 0)
        if total > MAX_UNPACKED_BYTES:
            raise UnsafeArchive(f"archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    for name, link in links.items():
        _resolve(links, name.split("/")[:-1] + link.split("/"), f"link {name!r} ({link!r})")


def extract_archive(archive: Path, target: Path) -> None:
    """Safely extract ``archive`` so that it becomes ``target`` (which must not exist)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    plain = staging.with_name(staging.name + ".tar")
    try:
        try:
            with tarfile.open(_decompressed(archive, plain), "r:*") as tar:
                members = tar.getmembers()
                check_members(members)
                for member in members:
                    # Never restore ownership or odd permission bits from the archive.
                    member.uid = member.gid = 0
                    member.uname = member.gname = ""
                    member.mode &= 0o755
                if hasattr(tarfile, "data_filter"):  # a second check where the host has it
                    tar.extractall(staging, members=members, filter="data")
                else:
                    tar.extractall(staging, members=members)
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile) as exc:
            raise UnsafeArchive(f"archive is corrupt or truncated ({exc})") from None
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        plain.unlink(missing_ok=True)


def _decompressed(archive: Path, plain: Path) -> Path:
    """``archive`` as a plain tar: decompressed once into ``plain`` (bounded), or itself.

    The members are all checked before any is extracted, so extraction seeks back to
    the first one; on a compressed stream that seek starts the decompression over.
    """
    with open(archive, "rb") as fh:
        head = fh.read(6)
    src: lzma.LZMAFile | gzip.GzipFile
    if head.startswith(b"\xfd7zXZ\x00"):
        src = lzma.open(archive, "rb")
    elif head.startswith(b"\x1f\x8b"):
        src = gzip.open(archive, "rb")
    else:
        return archive
    with src, open(plain, "wb") as out:
        copied = 0
        while block := src.read(1 << 20):
            copied += len(block)
            if copied > _MAX_PLAIN_TAR_BYTES:
                raise UnsafeArchive(f"archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            out.write(block)
    return plain
