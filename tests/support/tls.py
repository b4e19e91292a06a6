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
                self._serve(send_body=True)

            def do_HEAD(self) -> None:  # noqa: N802 - uv asks whether a wheel supports ranges
                self._serve(send_body=False)

            def _serve(self, send_body: bool) -> None:
                seen.append(self.path)
                if self.path.startswith("/store/"):
                    path = store / urllib.parse.unquote(self.path[len("/store/"):].split("?")[0])
                    if not path.is_file() or ".." in self.path:
                        self._answer(404, b"", {"Content-Type": "text/plain"}, send_body)
                        return
                    self._answer(200, path.read_bytes(), {"Content-Type": "application/octet-stream"}, send_body)
                    return
                conn = http.client.HTTPConnection(up_host, up_port, timeout=60)
                try:
                    asked = {k: v for k in ("Accept", "Range") if (v := self.headers.get(k))}
                    conn.request(self.command, self.path, headers=asked)
                    resp = conn.getresponse()
                    body = resp.read()
                    relayed = {k: v for k in ("Content-Type", "Location", "Content-Range", "Accept-Ranges",
                                              "ETag", "Last-Modified") if (v := resp.getheader(k))}
                    length = resp.getheader("Content-Length") if not send_body else None
                    self._answer(resp.status, body, relayed, send_body, length)
                finally:
                    conn.close()

            def _answer(self, code: int, body: bytes, headers: dict[str, str], send_body: bool,
                        length: str | None = None) -> None:
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", length or str(len(body)))
                self.end_headers()
                if send_body:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # The handshake happens in the handler threads (on first read), not in the accept loop:
        # a client that is slow to greet must not hold up the others (Poetry downloads in parallel).
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def system_store_with(ca_pem: Path, root: Path) -> Path:
    """A copy of the host's /etc/ssl/certs with the test CA added the way
    update-ca-certificates adds one (in the bundle and as a hashed link): mounted over
    /etc/ssl/certs by ``in_system_store``, it is the system trust store of one process tree."""
    certs = root / "system-certs"
    shutil.copytree("/etc/ssl/certs", certs, symlinks=True)
    shutil.copy(ca_pem, certs / "test-proxy-ca.pem")
    bundle = certs / "ca-certificates.crt"
    bundle.write_bytes(bundle.read_bytes() + b"\n" + ca_pem.read_bytes())
    _openssl("rehash", str(certs), cwd=root)
    return certs


def in_system_store(cmd: list[str], certs: Path) -> list[str]:
    """``cmd`` in a private mount namespace where ``certs`` is /etc/ssl/certs (root only;
    nothing outside that process tree sees it)."""
    return ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/ssl/certs && exec "$@"', str(certs), *cmd]
