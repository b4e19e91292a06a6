"""Reading a runtime store: a directory or URL with manifest.json and archives.

Locations: ``file:///path``, a plain path, ``http://`` or ``https://``. HTTP reads
have timeouts and a few retries with backoff on connection errors and 5xx; a 404 is
final. Every message names the store with credentials masked.
"""
from __future__ import annotations

import base64
import hashlib
import html.parser
import http.client
import os
import ssl
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
MAX_MANIFEST_BYTES = 8 * 1024 * 1024  # thousands of entries; a bigger one is not a manifest


def disk_full_error(detail: str) -> BuildError:
    """Writing on the build server failed: say so (not "the store is unreachable")."""
    return BuildError(
        "The build server's disk is full (or not writable)",
        f"{detail}.\n\nThis is not a problem with the runtime store or the network: the\n"
        "disk that holds the cache dir or the temp dir could not be written. Free space\n"
        "there (or clear the app's build cache), then build again.",
        error_id="system::disk-full")


class FetchError(Exception):
    """A file could not be read from the store; ``final`` means do not retry; ``disk``:
    writing it on the build server failed (a full disk is no network problem)."""

    def __init__(self, message: str, final: bool = False, disk: bool = False) -> None:
        super().__init__(message)
        self.final = final or disk
        self.disk = disk


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


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


class _CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but send credentials only to the origin they were given for
    (urllib copies the Authorization header to whatever host a redirect names)."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: http.client.HTTPMessage,
                         newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            new.headers.pop("Authorization", None)
            new.unredirected_hdrs.pop("Authorization", None)
        return new


_OPENER = urllib.request.build_opener(_CredentialsStayHome)


def open_url(url: str, timeout: float,
             context: ssl.SSLContext | None = None) -> http.client.HTTPResponse:
    """GET ``url``; userinfo in it becomes a Basic header for that origin only (the one
    way the build sends credentials over HTTP). ``context``: TLS settings (a CA file)."""
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
    opener = _OPENER if context is None else urllib.request.build_opener(
        _CredentialsStayHome, urllib.request.HTTPSHandler(context=context))
    response: http.client.HTTPResponse = opener.open(request, timeout=timeout)
    return response


class _Links(html.parser.HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.files: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            url = urllib.parse.urljoin(self.page_url, href.split("#", 1)[0])
            name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
            if "/" not in name and name.strip(".") and "\0" not in name:
                self.files[name] = url


def index_files(page: bytes, page_url: str) -> dict[str, str]:
    """The files a simple-API project page (PEP 503) links to: file name -> URL. A name
    that is not one plain file name (``%2F``, ``..``) is left out: callers write to it."""
    links = _Links(page_url)
    links.feed(page.decode("utf-8", "replace"))
    return links.files


def _without_userinfo(url: str) -> str:
    """``url`` with everything between ``scheme://`` and its last ``@`` hidden."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}****@{rest.rsplit('@', 1)[1]}" if "@" in rest else url


def check_url(url: str, setting: str) -> None:
    """BuildError (never a traceback that shows part of a password) if ``url`` cannot be
    parsed: a port that is not a number, or userinfo with an unencoded ``/`` or ``@``."""
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for ":443O"
        # "user:pa/ss@host": the "/" ends the host part early, the rest looks like a path.
        ok = bool(parts.hostname) and not ("@" in parts.path and "@" not in parts.netloc)
    except ValueError:
        ok = False
    if not ok:
        raise BuildError(
            f"{setting} is not a valid URL",
            f"{setting} is {_without_userinfo(url)!r} (credentials hidden); its host or port\n"
            "cannot be read. Check the port (digits only), and percent-encode a user name or\n"
            "password that contains `/`, `@`, `:` or `#` (for example `/` as %2F, `@` as %40).",
            error_id="url::invalid")


def copy_stream(src: IO[bytes], dest_path: Path, deadline: float | None = None,
                 max_bytes: int | None = None) -> int:
    """Copy to ``dest_path``; past ``deadline`` (a slow trickle) or ``max_bytes`` (an
    endless body) raise FetchError; a failed write raises FetchError with ``disk``."""
    written = 0
    try:
        out = open(dest_path, "wb")
    except OSError as exc:
        raise FetchError(f"cannot write {dest_path}: {exc.strerror}", disk=True) from None
    with out:
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise FetchError("the download is too slow and ran past its time limit")
            # read1: return what has arrived instead of waiting for a full chunk, so a
            # trickling server cannot keep one read going past the deadline.
            chunk = getattr(src, "read1", src.read)(CHUNK)
            if not chunk:
                return written
            written += len(chunk)
            if max_bytes is not None and written > max_bytes:
                raise FetchError(f"it is larger than {max_bytes} bytes", final=True)
            try:
                out.write(chunk)
            except OSError as exc:
                raise FetchError(f"cannot write {dest_path}: {exc.strerror}",
                                 disk=True) from None


def _fetch_once(location: StoreLocation, name: str, dest: Path, max_bytes: int | None) -> None:
    target = location.join(name)
    if location.local_dir is not None:
        try:
            with open(target, "rb") as src:
                copy_stream(src, dest, max_bytes=max_bytes)
        except FetchError:
            raise
        except FileNotFoundError:
            raise FetchError(f"{mask_credentials(target)} does not exist", final=True) from None
        except OSError as exc:
            raise FetchError(f"cannot read {target}: {exc.strerror}", final=True) from None
        return
    try:
        with open_url(target, location.timeout) as response:
            written = copy_stream(response, dest,
                                   time.monotonic() + location.timeout * DEADLINE_FACTOR,
                                   max_bytes)
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
                raise FetchError(f"{exc}{tries}", final=True, disk=exc.disk) from None
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
        fetch_file(location, MANIFEST_NAME, dest, on_retry=log_retry,
                   max_bytes=MAX_MANIFEST_BYTES)
        text = dest.read_text(encoding="utf-8", errors="replace")
    except FetchError as exc:
        if exc.disk:
            raise disk_full_error(str(exc)) from None
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
