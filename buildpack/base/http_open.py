"""The network half of ``http_client``: opening URLs (credentials that never follow a
redirect to another host, the host's trust store) and reading simple index pages. Loaded
by ``http_client`` on the build's first download: urllib.request and http.client (with
the email package) take about 15 ms to import, on every build that would."""
from __future__ import annotations

import base64
import html.parser
import http.client
import ssl
import urllib.parse
import urllib.request
from typing import IO

from buildpack.base import trust


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


def open_url(url: str, timeout: float,
             context: ssl.SSLContext | None = None) -> http.client.HTTPResponse:
    """GET ``url``; userinfo in it becomes a Basic header for that origin only (the one
    way the build sends credentials over HTTP). ``context``: TLS settings (a CA file);
    by default ``trust.https_context()``: the host's trust store, or the platform's CA."""
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
    if context is None and parts.scheme == "https":
        context = trust.https_context()
    opener = urllib.request.build_opener(_CredentialsStayHome, urllib.request.HTTPSHandler(context=context))
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
