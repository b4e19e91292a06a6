"""Provision a CPython from the runtime store into the app.

The archive is downloaded into ``CACHE_DIR/runtime`` (``.download-*``), verified (size and
sha256), unpacked into the target and removed: the build cache keeps the unpacked runtime
instead, as links of the slug's own files (``cache.env_cache.provide_runtime``), so an
archive is only downloaded when the cache holds no usable copy of that runtime.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from buildpack.base import cache_files, output
from buildpack.base.http_client import FetchError, disk_full_error
from buildpack.base.output import BuildError
from buildpack.runtime.manifest import RuntimeEntry
from buildpack.runtime.store import StoreLocation, fetch_file, log_retry

CACHE_SUBDIR = "runtime"  # in CACHE_DIR (cache.layout): downloads, and the unpacked runtime


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


def _download(location: StoreLocation, entry: RuntimeEntry, dest: Path) -> None:
    """Download ``entry``'s archive to ``dest`` (a new file) and verify it."""
    try:
        fetch_file(location, entry.file, dest, on_retry=log_retry, max_bytes=entry.size)
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
    problem = _verify(dest, entry)
    if problem:
        raise BuildError(
            f"The Python {entry.label} archive failed verification",
            f"{entry.file} from the runtime store at {location.display}: {problem}.\n\n"
            "The archive is corrupt or was replaced; nothing was extracted. Rebuild or\n"
            "re-upload it (bin/build-runtime-store updates the manifest), then retry.",
            error_id="python-runtime::verification-failed",
        )


def provision(location: StoreLocation, entry: RuntimeEntry, cache_dir: Path, target: Path) -> None:
    """Make ``target`` a fresh copy of the runtime ``entry``, downloaded from the store and
    unpacked (the archive is not kept). Logs what it does."""
    from buildpack.runtime.safe_extract import UnsafeArchive, extract_archive  # tarfile: on unpack only

    download = Path(tempfile.mkdtemp(prefix=".download-", dir=_downloads(cache_dir))) / "archive"
    try:
        output.detail(f"Downloading {entry.file} from {location.display}")
        _download(location, entry, download)
        try:
            extract_archive(download, target)
        except UnsafeArchive as exc:
            raise BuildError(
                f"The Python {entry.label} archive cannot be extracted safely",
                f"{entry.file} from {location.display}: {exc}.\n\n"
                "Nothing was extracted. Rebuild the archive with bin/build-runtime-store.",
                error_id="python-runtime::unsafe-archive",
            ) from None
    finally:
        shutil.rmtree(download.parent, ignore_errors=True)


def _downloads(cache_dir: Path) -> Path:
    folder = cache_dir / CACHE_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder
