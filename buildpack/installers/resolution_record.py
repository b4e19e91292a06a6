"""What uv last resolved the app's requirements from, recorded in the environment itself.

A warm build brings the previous environment up to date (``uv_pip.install_requirements``).
Resolving again is what costs there (seconds on a large app: uv asks the index about every
package), and it can only come out differently when something it reads changed. So each
install records the SHA-256 of those inputs (``digest``) in the environment it installed
(``RECORD``, a small file in ``.heroku/python``: it travels with the environment into the
cache entry and the CNB layer, under the same damage checks as every other file there),
and the next build resolves again only when they differ.

The inputs are the ones that can differ between two builds with the same cache key
(``env_cache.CacheKey`` already holds the runtime, uv's version and the installer
settings): the requirements files and every file they include, byte for byte (found with
``included_files``, which reads includes as pip does, proved against pip's own parser);
pyproject.toml and uv.toml (uv reads its ``[tool.uv.pip]`` settings there; pyproject.toml
also holds the dependency groups); the files in the app's own package folders
(``--find-links wheels``, a ``file:`` index: a new wheel there is new code); the command's
options; the pinned pip. An include the buildpack missed cannot deploy old code: uv reads
every file on every build and installs what does not match; what the fast run does not
do is uninstall or upgrade, which waits for the next change.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from buildpack.app.app_files import is_inside
from buildpack.app.requirements_files import (
    LOCATION_OPTIONS,
    included_files,
    lines,
    package_location,
    parse_line,
)
from buildpack.base import atomic_write, cache_files, settings
from buildpack.installers.context import InstallContext

RECORD = ".buildpack-requirements.sha256"  # in the environment (the runtime's prefix)
_RECORD_LIMIT = 1024
_UV_CONFIG_FILES = ("pyproject.toml", "uv.toml")
_LISTING_LIMIT = 20_000  # files in the app's package folders; past it, always resolve


def digest(ctx: InstallContext, requirements: Path, command: list[str]) -> str:
    """The SHA-256 of the inputs of resolving ``requirements`` with ``command`` (uv's
    arguments: the build's own folders are named as such, BUILD_DIR changes from build
    to build; uv's path is left out, its version is in the cache key)."""
    hashed = hashlib.sha256()
    names = {str(ctx.prefix): "<prefix>", str(ctx.python): "<python>",
             str(ctx.app_dir): "<app>"}
    for word in command[1:]:
        hashed.update(names.get(word, word).encode("utf-8", "surrogateescape") + b"\0")
    included = included_files(ctx.files, requirements)
    read = [(path, "requirements") for path in included]
    read += [(ctx.app_dir / name, "manifest") for name in _UV_CONFIG_FILES]
    for path, kind in read:
        hashed.update(os.path.relpath(path, ctx.app_dir).encode("utf-8", "surrogateescape"))
        data = ctx.files.bytes(path, kind)
        hashed.update(b"\0" if data is None else b"\1" + data + b"\0")
    for folder in _package_folders(ctx, included):
        hashed.update(_listing(ctx.app_dir, folder))
    hashed.update(f"pip=={settings.pinned_pip_version()}".encode())
    return hashed.hexdigest()


def recorded(prefix: Path) -> str | None:
    """The digest recorded in the environment at ``prefix``; None when there is none or
    it is not a small regular file."""
    try:
        data = cache_files.read(prefix / RECORD, _RECORD_LIMIT)
    except cache_files.Unusable:
        return None
    return data.decode("ascii", "replace").strip() if data else None


def remember(prefix: Path, value: str) -> None:
    """Record ``value`` after a successful install (a new file, renamed into place: the
    old one's inode is shared with the cache)."""
    cache_files.make_way(prefix / RECORD)
    atomic_write.write_text(prefix / RECORD, value + "\n")


def forget(prefix: Path) -> None:
    """Before an install: whatever stops it half-way leaves no record behind."""
    cache_files.clear(prefix / RECORD)


def _package_folders(ctx: InstallContext, included: list[Path]) -> list[Path]:
    """The app's folders that ``--find-links`` or a ``file:`` index name, from the file's
    folder and from the app's, as pip and uv look (``check_local_paths`` has refused any
    outside the app), and those of PIP_FIND_LINKS."""
    found: list[Path] = []
    for path in included:
        for line in lines(ctx.files.text(path, "requirements") or ""):
            parsed = parse_line(line)
            for option, dest in LOCATION_OPTIONS:
                for value in parsed.get(dest):
                    local = package_location(option, value)
                    if local is not None:
                        found += [base / local for base in (path.parent, ctx.app_dir)]
    for value in ctx.env.get("PIP_FIND_LINKS", "").split():
        local = package_location("--find-links", value)
        if local is not None:
            found.append(ctx.app_dir / local)
    return [folder for folder in dict.fromkeys(found)
            if is_inside(ctx.files.root, folder) and folder.is_dir()]


def _listing(app_dir: Path, folder: Path) -> bytes:
    """Every file under ``folder`` by path and size (a wheel's name carries its version);
    random past ``_LISTING_LIMIT`` files, so that such a folder always resolves."""
    entries = [os.path.relpath(folder, app_dir).encode("utf-8", "surrogateescape")]
    for top, dirs, names in os.walk(folder):  # links to folders are not followed
        dirs.sort()
        for name in sorted(names):
            entry = os.path.join(top, name)
            with contextlib.suppress(OSError):
                entries.append(f"{os.path.relpath(entry, folder)}\0{os.lstat(entry).st_size}"
                               .encode("utf-8", "surrogateescape"))
            if len(entries) > _LISTING_LIMIT:
                return os.urandom(32)
    return b"\n".join(entries) + b"\0"
