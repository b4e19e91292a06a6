"""A test CA made with ``openssl`` and an HTTPS front on loopback signed by it: a host
behind a TLS-inspecting proxy whose CA only a custom trust store has (issue 22, item 6)."""
from __future__ import annotations

import http.client
import http.server
import shutil
import ssl
import subprocess
import threading
import urllib.parse
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=120)


def make_ca(root: Path) -> dict[str, Path]:
    """A test CA, a server certificate for 127.0.0.1 signed by it, a bundle (the system's
    roots plus the CA) and a hashed CA folder (as ``openssl rehash`` makes /etc/ssl/certs)."""
    root.mkdir(parents=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=buildpack-python test proxy CA", cwd=root)
    (root / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1", cwd=root)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.cnf", cwd=root)
    system = Path(ssl.get_default_verify_paths().openssl_cafile)
    bundle = root / "bundle.pem"
    bundle.write_bytes(system.read_bytes() + b"\n" + (root / "ca.pem").read_bytes())
    cadir = root / "certs"
    cadir.mkdir()
    shutil.copy(root / "ca.pem", cadir / "test-proxy-ca.pem")
    _openssl("rehash", str(cadir), cwd=root)
    return {"bundle": bundle, "cadir": cadir, "cert": root / "server.pem", "key": root / "server.key"}


class TlsFront:
    """HTTPS on loopback: ``/store/...`` from a directory, everything else forwarded to
    the plain-HTTP index (as a TLS-inspecting proxy would re-sign it)."""

    def __init__(self, cert: Path, key: Path, store: Path, upstream: str) -> None:
        up = urllib.parse.urlsplit(upstream)
        up_host, up_port = up.hostname or "127.0.0.1", up.port or 80
        self.requests: list[str] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                seen.append(self.path)
                if self.path.startswith("/store/"):
                    path = store / urllib.parse.unquote(self.path[len("/store/"):].split("?")[0])
                    if not path.is_file() or ".." in self.path:
                        self._answer(404, b"", "text/plain")
                        return
                    self._answer(200, path.read_bytes(), "application/octet-stream")
                    return
                conn = http.client.HTTPConnection(up_host, up_port, timeout=60)
                try:
                    conn.request("GET", self.path, headers={"Accept": self.headers.get("Accept", "*/*")})
                    resp = conn.getresponse()
                    body = resp.read()
                    self._answer(resp.status, body, resp.getheader("Content-Type", "text/html"),
                                 resp.getheader("Location"))
                finally:
                    conn.close()

            def _answer(self, code: int, body: bytes, content_type: str, location: str | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
