"""The third-party libraries the buildpack imports: packaging, tomli (hosts < 3.11), tomli-w.

They are pinned with their sha256 in ``vendor/libraries.txt`` and never committed. All are
pure-Python wheels, so the wheel files themselves go on ``sys.path`` (zipimport): the
build host needs no pip, and a warm build spends milliseconds here. ``ensure`` looks, in
order, in the offline bundle (``vendor/wheels``), in ``CACHE_DIR/tools/libraries``, and
else downloads them from the build's package index (``PIP_INDEX_URL``, the index the
installers use) through its simple API: bounded in size and time, hash-checked, cached.
With no index configured (pip's default index), ``fetch_with_pip`` downloads them with the
runtime's own pip once the runtime is there.

Without them the build still works: only the early Python-version check of the dependency
files is skipped (with a warning), and the installer has the last word, as it reports an
index that is down or refuses the credentials better than this module could.
"""
from __future__ import annotations

import os
import re
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from buildpack.base import cache_files, output, settings
from buildpack.base.children import run_quiet
from buildpack.base.hashing import file_sha256
from buildpack.base.http_client import FetchError, copy_stream, disk_full_error, index_files, open_url
from buildpack.base.names import normalize
from buildpack.base.output import BuildError
from buildpack.base.redact import mask_credentials

PINS = settings.VENDOR_DIR / "libraries.txt"
CACHE_SUBDIR = Path("tools") / "libraries"
MAX_BYTES = 4 * 1024 * 1024  # a wheel or an index page; these wheels are < 200 KiB
TIMEOUT = 30.0  # per read
DEADLINE = 120.0  # per file


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"


def pinned() -> list[Wheel]:
    found = re.findall(r"^([\w.-]+)==(\S+)\s+--hash=sha256:([0-9a-f]{64})\s*$",
                       PINS.read_text(encoding="utf-8"), re.M)
    return [Wheel(*row) for row in found]


def _usable(path: Path, wheel: Wheel) -> bool:
    """Whether the kept copy ``path`` (in CACHE_DIR) is the pinned wheel."""
    try:
        return cache_files.sha256(path, MAX_BYTES) == wheel.sha256
    except cache_files.Unusable:
        return False


class LibraryError(Exception):
    """A pinned library could not be fetched (the message says why)."""


def _error(summary: str, detail: str) -> LibraryError:
    return LibraryError(f"{summary}: {detail}")


def _fetch(url: str, what: str, dest: Path) -> None:
    """``url`` into ``dest`` within DEADLINE and MAX_BYTES; LibraryError says why not."""
    try:
        with open_url(url, TIMEOUT) as response:
            copy_stream(response, dest, time.monotonic() + DEADLINE, MAX_BYTES)
    except FetchError as exc:
        if exc.disk:
            raise disk_full_error(str(exc)) from None
        if exc.final:  # copy_stream's one final error: past max_bytes
            raise _error(f"{what} is too large", f"{mask_credentials(url)} is over "
                         f"{MAX_BYTES // (1024 * 1024)} MiB.") from None
        raise _error(f"Downloading {what} took too long",
                     f"{mask_credentials(url)} ran past {DEADLINE:.0f} s.") from None
    except (OSError, ValueError) as exc:  # urllib's URLError is an OSError: its reason said
        reason = getattr(exc, "reason", exc)
        raise _error(f"Could not download {what}", f"{mask_credentials(url)}: {reason}") from None


def _download(index_url: str, wheel: Wheel, dest: Path) -> None:
    base = index_url if index_url.endswith("/") else index_url + "/"
    page_url = urllib.parse.urljoin(base, normalize(wheel.name) + "/")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")  # atomic_write's leftover name
    try:
        _fetch(page_url, f"the index page of {wheel.name}", tmp)
        url = index_files(tmp.read_bytes(), page_url).get(wheel.filename)
        if url is None:
            raise _error(f"The package index has no {wheel.filename}",
                         f"{mask_credentials(page_url)} does not list it.")
        _fetch(url, wheel.filename, tmp)
        if file_sha256(tmp) != wheel.sha256:
            raise _error(f"{wheel.filename} does not match its pinned hash",
                         f"The index at {mask_credentials(index_url)} served a different file.")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


_ready = False


def ready() -> bool:
    """Whether ``ensure`` has put the libraries on ``sys.path`` in this process."""
    return _ready


def _activate(paths: list[Path]) -> None:
    global _ready
    for path in reversed(paths):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    _ready = True


def ensure(cache_dir: Path | None, index_url: str | None) -> bool:
    """Put the pinned wheels on ``sys.path``; False when they are not to be had yet (no
    bundle or cache copy, and no index to download them from)."""
    found: list[Path] = []
    for wheel in pinned():
        candidates = [settings.BUNDLED_WHEELS / wheel.filename]
        if cache_dir is not None:
            candidates.append(cache_dir / CACHE_SUBDIR / wheel.filename)
        path = next((p for p in candidates if _usable(p, wheel)), None)
        if path is None and cache_dir is not None and index_url:
            path = cache_dir / CACHE_SUBDIR / wheel.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            output.detail(f"Downloading {wheel.filename} (a library of the buildpack)")
            try:
                _download(index_url, wheel, path)
            except LibraryError as exc:
                output.detail(f"Could not: {exc}")
                return False
        if path is None:
            return False
        found.append(path)
    _activate(found)
    return True


def download_with_pip(python: Path, env: dict[str, str], cache_dir: Path) -> str | None:
    """Download the wheels with the runtime's pip (it knows pip's default index), then
    ``ensure`` them: None when they are ready, else what went wrong."""
    target = cache_dir / CACHE_SUBDIR
    target.mkdir(parents=True, exist_ok=True)
    cmd = [str(python), "-I", "-m", "pip", "download", "--no-deps", "--require-hashes",
           "--only-binary=:all:", "--implementation", "py", "--abi", "none", "--platform", "any",
           "--python-version", "3.9", "-d", str(target), "-r", str(PINS)]
    try:
        proc = run_quiet(cmd, env=env, timeout=DEADLINE * 3)
        problem = mask_credentials((proc.stdout + proc.stderr).strip()[-800:])
    except BuildError:  # process::timeout: its group was ended
        problem = f"pip download did not finish in {DEADLINE * 3:.0f} s"
    return None if ensure(cache_dir, None) else problem


def fetch_with_pip(python: Path, env: dict[str, str], cache_dir: Path) -> bool:
    """``download_with_pip``, for builds that configure no index of their own; False (with
    a warning) when that fails too."""
    problem = download_with_pip(python, env, cache_dir)
    if problem is None:
        return True
    output.warning(
        "Could not check the Python version against the dependency files",
        "The buildpack's own libraries (vendor/libraries.txt) could not be downloaded:\n"
        f"{problem}\n\nThe package manager checks the Python version during the install.")
    return False
