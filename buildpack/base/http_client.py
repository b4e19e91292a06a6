"""The one HTTP(S) client of the build: bounded downloads with deadlines, credentials that
never follow a redirect to another host, URL checks with clear errors, simple index
pages. Used by the runtime store, the buildpack's own libraries and the uv download."""
from __future__ import annotations

import time
import urllib.parse
from pathlib import Path
from typing import IO, TYPE_CHECKING

from buildpack.base.numbers import NumberError, parse_int
from buildpack.base.output import BuildError

if TYPE_CHECKING:
    import http.client
    import ssl

TIMEOUT_SECONDS = 30.0


CHUNK = 1024 * 1024


DEADLINE_FACTOR = 20  # a whole download may take this many read timeouts


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
    writing it on the build server failed (a full disk is no network problem);
    ``missing``: the file is not there (no such file, HTTP 404 or 410); ``retried``: the
    failure may clear (a 5xx, a timeout, a connection cut), and the retries ran out."""

    def __init__(self, message: str, final: bool = False, disk: bool = False,
                 missing: bool = False, retried: bool = False) -> None:
        super().__init__(message)
        self.final = final or disk or missing or retried
        self.disk = disk
        self.missing = missing
        self.retried = retried


def open_url(url: str, timeout: float,
             context: ssl.SSLContext | None = None) -> http.client.HTTPResponse:
    """GET ``url`` (``http_open.open_url``: credentials for its origin only, the host's
    trust store). The network stack (urllib.request, http.client) loads here, on the
    build's first download, not on every build: most warm builds download nothing."""
    from buildpack.base import http_open  # not at import: the network stack, first use

    return http_open.open_url(url, timeout, context)


def index_files(page: bytes, page_url: str) -> dict[str, str]:
    """The files a simple-API project page (PEP 503) links to (``http_open.index_files``),
    loaded with the network stack, as ``open_url``."""
    from buildpack.base import http_open  # not at import: the network stack, first use

    return http_open.index_files(page, page_url)


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


def content_length(response: http.client.HTTPResponse) -> int | None:
    """The response's ``Content-Length`` (``numbers.parse_int``: ASCII digits, at most 15);
    None when it is absent or not such a number (the body's own end then counts)."""
    try:
        return parse_int(response.headers.get("Content-Length", "").strip(), max_digits=15)
    except NumberError:
        return None


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
