"""Credentials go only to the origin they were given for (issue 15, class 3)."""
from __future__ import annotations

import http.server
import threading
import urllib.error

import pytest

from buildpack.base.http_client import check_url, open_url
from buildpack.base.output import BuildError


def _server(host, respond):
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Authorization")))
            status, location = respond(self.path)
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, seen


@pytest.mark.parametrize("same_origin", [True, False])
def test_redirects_carry_credentials_only_within_the_origin(same_origin):
    other, other_seen = _server("localhost", lambda path: (200, None))
    port = other.server_address[1]
    origin, origin_seen = _server("127.0.0.1", lambda path: (
        (200, None) if path == "/final" else
        (302, "/final" if same_origin else f"http://localhost:{port}/final")))
    try:
        with open_url(f"http://u:s3cret@127.0.0.1:{origin.server_address[1]}/start", 10) as resp:
            assert resp.read() == b"ok"
    finally:
        origin.shutdown()
        other.shutdown()
    assert origin_seen[0][1] is not None
    if same_origin:
        assert origin_seen[1] == ("/final", origin_seen[0][1])
    else:
        assert other_seen == [("/final", None)]


@pytest.mark.parametrize("url", ["http://u:pw@127.0.0.1:443O/x", "https://u:pa/ss@h.invalid/simple",
                                 "https:///nohost"])
def test_unreadable_urls_are_refused_without_showing_the_password(url):
    with pytest.raises(BuildError) as info:
        check_url(url, "PIP_INDEX_URL")
    assert info.value.error_id == "url::invalid"
    assert "pw" not in info.value.body.replace("password", "") and "pa/ss" not in info.value.body


def test_passwords_with_at_are_fine():
    check_url("https://u:p@ss@h.invalid/simple", "PIP_INDEX_URL")
    with pytest.raises(urllib.error.URLError):
        open_url("http://u:p@ss@127.0.0.1:9/x", 2)
