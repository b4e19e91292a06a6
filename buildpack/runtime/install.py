"""Provision a CPython from the runtime store into the app, via a verified cache.

The cache holds archives keyed by sha256 (``CACHE_DIR/runtimes/<sha256>.tar.xz``, or
``.tar.gz`` for a store's older gzip archives).
An archive is verified (size and sha256) after download and again before each use;
a corrupt cached copy is discarded with a warning and downloaded again.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from buildpack.base import cache_files, output
from buildpack.base.http_client import FetchError, disk_full_error
from buildpack.base.output import BuildError
from buildpack.runtime.manifest import RuntimeEntry
from buildpack.runtime.safe_extract import UnsafeArchive, extract_archive
from buildpack.runtime.store import StoreLocation, fetch_file, log_retry

CACHE_SUBDIR = "runtimes"  # in CACHE_DIR (cache.layout)


def cached_archive_path(cache_dir: Path, entry: RuntimeEntry) -> Path:
    suffix = "tar.gz" if entry.file.endswith((".tar.gz", ".tgz")) else "tar.xz"
    return cache_dir / CACHE_SUBDIR / f"{entry.sha256}.{suffix}"


def _verify(path: Path, entry: RuntimeEntry) -> str | None:
    """None when ``path`` matches the entry, else what is wrong."""
    size = path.lstat().st_size
    if size != entry.size:
        return f"size is {size} bytes, the manifest says {entry.size}"
    try:
        digest = cache_files.sha256(path, entry.size)
    except cache_files.Unusable as exc:
        return str(exc)
    if digest != entry.sha256:
        return f"sha256 is {digest}, the manifest says {entry.sha256}"
    return None


def _download(location: StoreLocation, entry: RuntimeEntry, cached: Path) -> None:
    cached.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", dir=cached.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            fetch_file(location, entry.file, tmp, on_retry=log_retry, max_bytes=entry.size)
        except FetchError as exc:
            if exc.disk:
                raise disk_full_error(str(exc)) from None
            raise BuildError(
                f"Could not download Python {entry.label}",
                f"Downloading {entry.file} from the runtime store at {location.display}\n"
                f"failed: {exc}\n\n"
                + ("The store did not answer, or failed, each time: retry the build later."
                   if exc.retried else
                   "The store's manifest lists the archive, but the store does not serve it:\n"
                   "upload it (bin/build-runtime-store writes both), or let the build server\n"
                   "read it."),
                # Retries ran out (5xx, timeouts, cut connections): it may clear. A 404, 403
                # or missing file is the store's misconfiguration (docs/errors.md).
                error_id="python-runtime::download-failed" if exc.retried
                else "python-runtime::archive-not-served",
            ) from None
        problem = _verify(tmp, entry)
        if problem:
            raise BuildError(
                f"The Python {entry.label} archive failed verification",
                f"{entry.file} from the runtime store at {location.display}: {problem}.\n\n"
                "The archive is corrupt or was replaced; nothing was extracted. Rebuild or\n"
                "re-upload it (bin/build-runtime-store updates the manifest), then retry.",
                error_id="python-runtime::verification-failed",
            )
        os.replace(tmp, cached)
    finally:
        tmp.unlink(missing_ok=True)


def provision(location: StoreLocation, entry: RuntimeEntry, cache_dir: Path, target: Path) -> None:
    """Make ``target`` a fresh copy of the runtime ``entry``. Logs what it does."""
    cached = cached_archive_path(cache_dir, entry)
    if cached.is_file():
        problem = _verify(cached, entry)
        if problem is None:
            output.detail(f"Using cached {entry.file}")
        else:
            output.warning(
                "Discarding a corrupt cached Python archive",
                f"The cached copy of {entry.file} is damaged ({problem}).\n"
                "It will be downloaded again.",
            )
            cached.unlink()
    if not cached.is_file():
        output.detail(f"Downloading {entry.file} from {location.display}")
        _download(location, entry, cached)
    try:
        extract_archive(cached, target)
    except UnsafeArchive as exc:
        cached.unlink(missing_ok=True)  # never keep an archive that cannot be used
        raise BuildError(
            f"The Python {entry.label} archive cannot be extracted safely",
            f"{entry.file} from {location.display}: {exc}.\n\n"
            "Nothing was extracted. Rebuild the archive with bin/build-runtime-store.",
            error_id="python-runtime::unsafe-archive",
        ) from None
