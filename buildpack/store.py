"""Reading a runtime store: a directory or URL with manifest.json and archives.

Locations: ``file:///path``, a plain path, ``http://`` or ``https://``. HTTP reads
have timeouts and a few retries with backoff on connection errors and 5xx; a 404 is
final. Every message names the store with credentials masked.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable

from buildpack.manifest import MANIFEST_NAME, ManifestError, RuntimeEntry, parse_manifest
from buildpack import output
from buildpack.output import BuildError
from buildpack.redact import mask_credentials

TIMEOUT_SECONDS = 30.0
ATTEMPTS = 4
BACKOFF_SECONDS = 1.0
CHUNK = 1024 * 1024
DEADLINE_FACTOR = 20  # a whole download may take this many read timeouts


class FetchError(Exception):
    """A file could not be read from the store; ``final`` means do not retry."""

    def __init__(self, message: str, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class StoreLocation:
    """Normalised store location: a local directory or an http(s) base URL."""

    url: str  # always ends with "/" for http(s)
    local_dir: Path | None
    timeout: float = TIMEOUT_SECONDS

    @property
    def display(self) -> str:
        return mask_credentials(str(self.local_dir) if self.local_dir else self.url)

    def join(self, name: str) -> str:
        if self.local_dir is not None:
            return str(self.local_dir / name)
        return urllib.parse.urljoin(self.url, urllib.parse.quote(name))


def parse_timeout(value: str | None) -> float:
    """PYTHON_RUNTIME_STORE_TIMEOUT: seconds a connection or a read may stall."""
    if value is None:
        return TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise BuildError(
            "Invalid PYTHON_RUNTIME_STORE_TIMEOUT",
            f"PYTHON_RUNTIME_STORE_TIMEOUT is {value[:40]!r}; it must be a number of seconds\n"
            f"between 0 and 3600 (default {TIMEOUT_SECONDS:g}).",
            error_id="runtime-store::invalid-timeout",
        )
    return seconds


def parse_location(value: str, timeout: float = TIMEOUT_SECONDS) -> StoreLocation:
    """Accept file://, http(s):// or a plain path; a manifest.json URL means its folder."""
    value = value.strip()
    if value.endswith("/" + MANIFEST_NAME):
        value = value[: -len(MANIFEST_NAME)]
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme in ("http", "https"):
        url = value if value.endswith("/") else value + "/"
        return StoreLocation(url=url, local_dir=None, timeout=timeout)
    if parsed.scheme == "file":
        path = Path(urllib.parse.unquote(parsed.path))
        return StoreLocation(url=path.as_uri(), local_dir=path)
    if parsed.scheme and len(parsed.scheme) > 1:
        raise BuildError(
            "Unsupported runtime store location",
            f"PYTHON_RUNTIME_STORE is {mask_credentials(value)!r}; the scheme {parsed.scheme!r}\n"
            f"is not supported. Use https://..., http://..., file:///path or a plain path.",
            error_id="runtime-store::unsupported-location",
        )
    path = Path(value).expanduser().resolve()
    return StoreLocation(url=path.as_uri(), local_dir=path)


def _open_url(url: str, timeout: float) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": "buildpack-python"})
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None:
        # urllib does not send userinfo by itself: move it into a Basic header.
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        request = urllib.request.Request(
            urllib.parse.urlunsplit(parts._replace(netloc=netloc)),
            headers={"User-Agent": "buildpack-python", "Authorization": f"Basic {token}"},
        )
    response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=timeout)
    return response


def _copy_stream(src: IO[bytes], dest_path: Path, deadline: float | None = None) -> int:
    """Copy to ``dest_path``; past ``deadline`` (a slow trickle) raise FetchError."""
    written = 0
    with open(dest_path, "wb") as out:
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise FetchError("the download is too slow and ran past its time limit")
            # read1: return what has arrived instead of waiting for a full chunk, so a
            # trickling server cannot keep one read going past the deadline.
            chunk = getattr(src, "read1", src.read)(CHUNK)
            if not chunk:
                return written
            out.write(chunk)
            written += len(chunk)


def _fetch_once(location: StoreLocation, name: str, dest: Path) -> None:
    target = location.join(name)
    if location.local_dir is not None:
        try:
            with open(target, "rb") as src:
                _copy_stream(src, dest)
        except FileNotFoundError:
            raise FetchError(f"{mask_credentials(target)} does not exist", final=True) from None
        except OSError as exc:
            raise FetchError(f"cannot read {target}: {exc.strerror}", final=True) from None
        return
    try:
        with _open_url(target, location.timeout) as response:
            written = _copy_stream(response, dest,
                                   time.monotonic() + location.timeout * DEADLINE_FACTOR)
            expected = response.headers.get("Content-Length", "")
            if expected.isdigit() and written != int(expected):
                raise FetchError(f"the connection closed after {written} of {expected} bytes")
    except urllib.error.HTTPError as exc:
        final = exc.code < 500
        raise FetchError(f"HTTP {exc.code} for {mask_credentials(target)}", final=final) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot fetch {mask_credentials(target)}: {reason}") from None
    except http.client.HTTPException as exc:  # e.g. the body ended early
        raise FetchError(f"cannot fetch {mask_credentials(target)}: "
                         f"{type(exc).__name__} {exc}") from None
    except FetchError as exc:
        raise FetchError(f"cannot fetch {mask_credentials(target)}: {exc}") from None


def fetch_file(location: StoreLocation, name: str, dest: Path,
               attempts: int = ATTEMPTS,
               on_retry: Callable[[str, float], None] | None = None) -> None:
    """Download ``name`` from the store to ``dest``, retrying transient failures.

    Connection errors, timeouts, bodies cut short and 5xx answers are retried with
    exponential backoff; any other HTTP status (404, 403, ...) is final at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            _fetch_once(location, name, dest)
            return
        except FetchError as exc:
            dest.unlink(missing_ok=True)
            if exc.final or attempt == attempts:
                tries = "" if exc.final else f" (after {attempt} attempts)"
                raise FetchError(f"{exc}{tries}", final=True) from None
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            if on_retry is not None:
                on_retry(str(exc), delay)
            time.sleep(delay)


def log_retry(problem: str, delay: float) -> None:
    output.detail(f"Retrying in {delay:g}s: {problem}")


def read_manifest(location: StoreLocation, scratch_dir: Path) -> list[RuntimeEntry]:
    """Fetch and parse the store's manifest, or raise a BuildError naming the store."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    dest = scratch_dir / f".manifest-{os.getpid()}.json"
    try:
        fetch_file(location, MANIFEST_NAME, dest, on_retry=log_retry)
        text = dest.read_text(encoding="utf-8", errors="replace")
    except FetchError as exc:
        raise BuildError(
            "Could not read the Python runtime store",
            f"The runtime store at {location.display} could not be read:\n  {exc}\n\n"
            "Check that PYTHON_RUNTIME_STORE points at a directory or URL that holds\n"
            "manifest.json (bin/build-runtime-store makes one), and that it is reachable\n"
            "from the build server.",
            error_id="runtime-store::unreadable",
        ) from None
    finally:
        dest.unlink(missing_ok=True)
    try:
        return parse_manifest(text)
    except ManifestError as exc:
        raise BuildError(
            "The Python runtime store's manifest is invalid",
            f"{location.display}{MANIFEST_NAME if location.local_dir is None else '/' + MANIFEST_NAME}"
            f" is not a valid runtime manifest: {exc}.\n\n"
            "Rebuild the store with bin/build-runtime-store, or point PYTHON_RUNTIME_STORE\n"
            "at a valid store.",
            error_id="runtime-store::invalid-manifest",
        ) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
