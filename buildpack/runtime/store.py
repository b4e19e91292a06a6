"""Reading a runtime store: a directory or URL with manifest.json and archives.

Locations: ``file:///path``, a plain path, ``http://`` or ``https://``. HTTP reads
have timeouts and a few retries with backoff on connection errors and 5xx; a 404 is
final. Every message names the store with credentials masked.
"""
from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from buildpack.base import output
from buildpack.base.http_client import (
    DEADLINE_FACTOR,
    TIMEOUT_SECONDS,
    FetchError,
    check_url,
    content_length,
    copy_stream,
    disk_full_error,
    open_url,
)
from buildpack.base.numbers import NumberError, parse_seconds, shown
from buildpack.base.output import BuildError
from buildpack.base.redact import mask_credentials
from buildpack.runtime import signature
from buildpack.runtime.manifest import MANIFEST_NAME, ManifestError, RuntimeEntry, parse_manifest

ATTEMPTS = 4
BACKOFF_SECONDS = 1.0
MAX_MANIFEST_BYTES = 8 * 1024 * 1024  # thousands of entries; a bigger one is not a manifest


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
        return parse_seconds(value.strip(), high=3600)
    except NumberError as exc:
        raise BuildError(
            "Invalid PYTHON_RUNTIME_STORE_TIMEOUT",
            f"PYTHON_RUNTIME_STORE_TIMEOUT is {shown(value)} ({exc}); it must be a number of\n"
            f"seconds above 0 and at most 3600 (default {TIMEOUT_SECONDS:g}).",
            error_id="runtime-store::invalid-timeout",
        ) from None


def parse_location(value: str, timeout: float = TIMEOUT_SECONDS) -> StoreLocation:
    """Accept file://, http(s):// or a plain path; a manifest.json URL means its folder."""
    value = value.strip()
    if value.endswith("/" + MANIFEST_NAME):
        value = value[: -len(MANIFEST_NAME)]
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme in ("http", "https"):
        check_url(value, "PYTHON_RUNTIME_STORE")
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


def _fetch_once(location: StoreLocation, name: str, dest: Path, max_bytes: int | None) -> None:
    target = location.join(name)
    if location.local_dir is not None:
        try:
            with open(target, "rb") as src:
                copy_stream(src, dest, max_bytes=max_bytes)
        except FetchError:
            raise
        except FileNotFoundError:
            raise FetchError(f"{mask_credentials(target)} does not exist", missing=True) from None
        except OSError as exc:
            raise FetchError(f"cannot read {target}: {exc.strerror}", final=True) from None
        return
    import http.client  # not at import, nor for a local store: loaded by the download (open_url)
    try:
        with open_url(target, location.timeout) as response:
            written = copy_stream(response, dest,
                                   time.monotonic() + location.timeout * DEADLINE_FACTOR,
                                   max_bytes)
            expected = content_length(response)
            if expected is not None and written != expected:
                raise FetchError(f"the connection closed after {written} of {expected} bytes")
    except urllib.error.HTTPError as exc:
        final = exc.code < 500
        raise FetchError(f"HTTP {exc.code} for {mask_credentials(target)}", final=final,
                         missing=exc.code in (404, 410)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot fetch {mask_credentials(target)}: {reason}") from None
    except http.client.HTTPException as exc:  # e.g. the body ended early
        raise FetchError(f"cannot fetch {mask_credentials(target)}: "
                         f"{type(exc).__name__} {exc}") from None
    except FetchError as exc:
        raise FetchError(f"cannot fetch {mask_credentials(target)}: {exc}", exc.final,
                         exc.disk) from None


def fetch_file(location: StoreLocation, name: str, dest: Path,
               on_retry: Callable[[str, float], None] | None = None,
               max_bytes: int | None = None) -> None:
    """Download ``name`` from the store to ``dest``, retrying transient failures.

    Connection errors, timeouts, bodies cut short and 5xx answers are retried with
    exponential backoff; any other HTTP status (404, 403, ...) is final at once.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _fetch_once(location, name, dest, max_bytes)
            return
        except FetchError as exc:
            dest.unlink(missing_ok=True)
            if exc.final or attempt == ATTEMPTS:
                tries = "" if exc.final else f" (after {attempt} attempts)"
                raise FetchError(f"{exc}{tries}", final=True, disk=exc.disk, missing=exc.missing,
                                 retried=not exc.final) from None
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            if on_retry is not None:
                on_retry(str(exc), delay)
            time.sleep(delay)


def _fetch_signature(location: StoreLocation, dest: Path) -> None:
    try:
        fetch_file(location, signature.SIGNATURE_NAME, dest, on_retry=log_retry,
                   max_bytes=signature.MAX_SIGNATURE_BYTES)
    except FetchError as exc:
        if exc.missing:
            raise signature.missing_signature(location.display, str(exc)) from None
        raise


def log_retry(problem: str, delay: float) -> None:
    output.detail(f"Retrying in {delay:g}s: {problem}")


def read_manifest(location: StoreLocation, scratch_dir: Path,
                  public_key: str | None = None) -> list[RuntimeEntry]:
    """Fetch and parse the store's manifest, or raise a BuildError naming the store.

    With ``public_key`` (PYTHON_RUNTIME_STORE_PUBLIC_KEY, as given) the manifest's
    signature is fetched and verified before the manifest is read; without one, a store
    over plain HTTP gets a one-line notice.
    """
    scratch_dir.mkdir(parents=True, exist_ok=True)
    key = signature.public_key(public_key) if public_key else None
    if key is None and location.local_dir is None and location.url.startswith("http://"):
        output.detail(f"Notice: the runtime store is read over plain HTTP with an unsigned manifest "
                      f"(see {signature.PUBLIC_KEY_VAR} in docs/runtime-store.md)")
    dest = scratch_dir / f".manifest-{os.getpid()}.json"
    sig = scratch_dir / f".manifest-{os.getpid()}.json.sig"
    try:
        fetch_file(location, MANIFEST_NAME, dest, on_retry=log_retry,
                   max_bytes=MAX_MANIFEST_BYTES)
        if key is not None:
            _fetch_signature(location, sig)
            signature.verify(dest, sig, key, location.display)
        text = dest.read_text(encoding="utf-8", errors="replace")
    except FetchError as exc:
        if exc.disk:
            raise disk_full_error(str(exc)) from None
        raise BuildError(
            "Could not read the Python runtime store",
            f"The runtime store at {location.display} could not be read:\n  {exc}\n\n"
            + ("The store did not answer, or failed, each time: retry the build later, and\n"
               "check that the store is reachable from the build server."
               if exc.retried else
               "Check that PYTHON_RUNTIME_STORE points at a directory or URL that holds\n"
               "manifest.json (bin/build-runtime-store makes one), and that the build server\n"
               "may read it."),
            # A store that failed each retry may answer later; one that answers 404 or 403,
            # or a folder without the file, is misconfigured (docs/errors.md).
            error_id="runtime-store::unreadable" if exc.retried else "runtime-store::not-served",
        ) from None
    finally:
        dest.unlink(missing_ok=True)
        sig.unlink(missing_ok=True)
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


