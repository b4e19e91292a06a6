"""Fetch the pinned uv wheel without any Python runtime, so it overlaps the runtime's unpacking.

uv is one native binary inside a ``py3-none-<platform>`` wheel, so installing it needs
no pip: find the wheel for this machine on the build's index (or in an offline bundle's
``vendor/wheels``), check its sha256 against ``vendor/tools/uv.txt`` and take
``bin/uv`` out of it. Only the build's explicit index settings are used (``UV_DEFAULT_INDEX``,
``UV_INDEX_URL``, ``PIP_INDEX_URL``, credentials in the URL, proxies and CA certificates
from the environment); anything this simple client cannot do (no index configured, a
client certificate, a musl host, an unexpected page) returns None, and the caller
installs uv with pip once the runtime is there, with pip's full error reporting. A
download that runs past its deadline or size bound stops the build with an error instead
(pip would wait on the same index as long).
"""
from __future__ import annotations

import os
import re
import shutil
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from buildpack.base import settings
from buildpack.base.hashing import file_sha256
from buildpack.base.http_client import DEADLINE_FACTOR, FetchError, copy_stream, disk_full_error, index_files, open_url
from buildpack.base.numbers import parse_int, parse_version
from buildpack.base.output import BuildError
from buildpack.base.redact import mask_credentials

if TYPE_CHECKING:
    from http.client import HTTPResponse

TIMEOUT = 30
DEADLINE = TIMEOUT * DEADLINE_FACTOR  # seconds for a whole file, as the store's downloads
MAX_PAGE = 5 * 1024 * 1024
MAX_WHEEL = 200 * 1024 * 1024
_MANYLINUX_ALIASES = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def pinned_hashes(requirements: Path) -> set[str]:
    return set(re.findall(r"--hash=sha256:([0-9a-f]{64})", requirements.read_text(encoding="utf-8")))


def host_glibc() -> tuple[int, int] | None:
    try:
        name, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").split()
        major, minor = parse_version(".".join(version.split(".")[:2]), parts=(2,))
        return (major, minor) if name == "glibc" else None
    except (ValueError, OSError):
        return None


def fits_this_machine(filename: str, glibc: tuple[int, int] | None, arch: str) -> bool:
    """Whether a ``py3-none-<platforms>`` wheel runs here (glibc Linux only)."""
    if glibc is None or not filename.endswith(".whl"):
        return False
    parts = filename[:-4].split("-")
    if len(parts) < 5 or parts[-3] != "py3" or parts[-2] != "none":
        return False
    for tag in parts[-1].split("."):
        match = re.fullmatch(rf"manylinux_([0-9]{{1,4}})_([0-9]{{1,4}})_{re.escape(arch)}", tag)
        needs = (parse_int(match.group(1)), parse_int(match.group(2))) if match else None
        for alias, version in _MANYLINUX_ALIASES.items():
            if tag == f"{alias}_{arch}":
                needs = version
        if needs is not None and needs <= glibc:
            return True
    return False


def _index_url(env: dict[str, str]) -> str | None:
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        value = env.get(name, "").split()
        if value and value[0].startswith(("http://", "https://")):
            return value[0]
    return None


def _open(url: str, env: dict[str, str]) -> HTTPResponse:
    """GET ``url`` (credentials in it go to its origin only, never along a redirect)."""
    import ssl  # not at import: loaded when uv is downloaded

    cafile = env.get("PIP_CERT") or env.get("SSL_CERT_FILE") or None
    scheme = urllib.parse.urlsplit(url).scheme
    context = ssl.create_default_context(cafile=cafile) if scheme == "https" else None
    return open_url(url, TIMEOUT, context)


def _download(url: str, env: dict[str, str], dest: Path, max_bytes: int) -> None:
    """``url`` into ``dest`` within DEADLINE and ``max_bytes`` (a trickling or endless
    answer stops the build with an error, as a store download's would)."""
    try:
        with _open(url, env) as resp:
            copy_stream(resp, dest, time.monotonic() + DEADLINE, max_bytes)
    except FetchError as exc:
        if exc.disk:
            raise disk_full_error(str(exc)) from None
        raise limit_error(f"{mask_credentials(url)}: {exc} (limits: {DEADLINE:.0f} s, "
                          f"{max_bytes} bytes)") from None


def limit_error(detail: str) -> BuildError:
    """Fetching the pinned uv ran past a deadline or size bound: ``detail`` says which."""
    return BuildError(
        "Downloading uv from the package index ran past its limit",
        f"{detail}.\n\n"
        "Check the package index (or the proxy in front of it) that UV_DEFAULT_INDEX,\n"
        "UV_INDEX_URL or PIP_INDEX_URL names, then build again.",
        error_id="package-manager::tool-download-limit")


def from_index(project: str, version: str, hashes: set[str], env: dict[str, str], dest: Path,
               fits: Callable[[str], bool]) -> Path | None:
    """The wheel of ``project`` ``version`` whose file name ``fits`` and whose sha256 is one
    of ``hashes``, downloaded from the build's index into ``dest``; None where this simple
    client cannot (no index configured, a client certificate, no such wheel)."""
    index = _index_url(env)
    if index is None or env.get("PIP_CLIENT_CERT") or env.get("SSL_CLIENT_CERT"):
        return None
    page_url = index.rstrip("/") + f"/{project}/"
    _download(page_url, env, dest / "index.html", MAX_PAGE)
    page = (dest / "index.html").read_bytes()
    for filename, url in index_files(page, page_url).items():
        if not filename.startswith(f"{project}-{version}-") or not fits(filename):
            continue
        wheel = dest / filename
        _download(url, env, wheel, MAX_WHEEL)
        if file_sha256(wheel) in hashes:
            return wheel
        wheel.unlink()
    return None


def _from_bundle(version: str, hashes: set[str], dest: Path) -> Path | None:
    glibc, arch = host_glibc(), os.uname().machine
    for wheel in sorted(settings.BUNDLED_WHEELS.glob(f"uv-{version}-*.whl")):
        if fits_this_machine(wheel.name, glibc, arch):
            copy = dest / wheel.name
            shutil.copyfile(wheel, copy)
            if file_sha256(copy) in hashes:
                return copy
    return None


def fetch(version: str, requirements: Path, env: dict[str, str], target: Path) -> bool:
    """Put the pinned uv's binary at ``target/bin/uv``; False when this client cannot."""
    import zipfile  # not at import: loaded when uv is downloaded

    hashes = pinned_hashes(requirements)
    scratch = target / ".wheel"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        glibc, arch = host_glibc(), os.uname().machine
        wheel = _from_bundle(version, hashes, scratch) or from_index(
            "uv", version, hashes, env, scratch, lambda name: fits_this_machine(name, glibc, arch))
        if wheel is None:
            return False
        member = f"uv-{version}.data/scripts/uv"
        (target / "bin").mkdir(exist_ok=True)
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, \
                open(target / "bin" / "uv", "wb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)
        os.chmod(target / "bin" / "uv", 0o755)
        return True
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # ssl.SSLError is an OSError
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
