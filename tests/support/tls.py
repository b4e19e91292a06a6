"""A test CA made with ``openssl`` and an HTTPS front on loopback signed by it: a host
behind a TLS-inspecting proxy whose CA only a custom trust store has (issue 22, item 6)."""
from __future__ import annotations

import functools
import http.client
import http.server
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import urllib.parse
from pathlib import Path

from tests.support.servers import NLTK_MIRROR_HOST, write_nltk_index


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=120)


# The extensions RFC 5280 asks of a CA and of a server certificate, as a real company CA
# has them: Python 3.13+ verifies strictly (ssl.VERIFY_X509_STRICT in its default context),
# so a client on the app's Python (Poetry through requests, NLTK through urllib) refuses a
# CA without key usage ("CA cert does not include key usage extension") or a certificate
# without an authority key id, where uv, pip and PDM accepted them.
CA_EXTENSIONS = ("basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign",
                 "subjectKeyIdentifier=hash")


def _server_extensions(names: str) -> str:
    return (f"subjectAltName={names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")


def make_ca(root: Path) -> dict[str, Path]:
    """A test CA, a server certificate for 127.0.0.1 signed by it, a bundle (the system's
    roots plus the CA) and a hashed CA folder (as ``openssl rehash`` makes /etc/ssl/certs)."""
    root.mkdir(parents=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=buildpack-python test proxy CA",
             *(a for ext in CA_EXTENSIONS for a in ("-addext", ext)), cwd=root)
    (root / "san.cnf").write_text(_server_extensions("IP:127.0.0.1,DNS:localhost"))
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
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

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


def server_cert(ca: dict[str, Path], name: str) -> tuple[Path, Path]:
    """(certificate, key) for the DNS name ``name``, signed by the test CA of ``make_ca``."""
    root = ca["cert"].parent
    (root / f"{name}.cnf").write_text(_server_extensions(f"DNS:{name}"))
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}", cwd=root)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.cnf", cwd=root)
    return root / f"{name}.pem", root / f"{name}.key"


class _Tunnels(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.tunnels: list[str] = []  # the host:port of each CONNECT
        super().__init__(("127.0.0.1", 0), _Tunnel)


class _Tunnel(socketserver.BaseRequestHandler):
    """A CONNECT tunnel to the server's one ``target``, whatever host it names (a company
    proxy reaching the real host); bytes relayed both ways until either side closes."""
    server: _Tunnels

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk or len(head) > 65536:
                return
            head += chunk
        method, where = head.split(b"\r\n", 1)[0].split()[:2]
        if method != b"CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.tunnels.append(where.decode())
        with socket.create_connection(self.server.target, timeout=30) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            ends = {self.request: upstream, upstream: self.request}
            try:
                while True:
                    readable, _, _ = select.select(list(ends), [], [], 30)
                    if not readable:
                        return
                    for end in readable:
                        data = end.recv(65536)
                        if not data:
                            return
                        ends[end].sendall(data)
            except OSError:  # a client that refused the certificate resets the tunnel
                return


class NltkHttpsMirror:
    """The NLTK data index over HTTPS at ``https://nltk-mirror.test``, its certificate
    signed by the test CA, reached through a tunnelling proxy (``https_proxy``, CONNECT):
    NLTK fetches from a non-public address only through a proxy it is told to trust."""

    def __init__(self, root: Path, ca: dict[str, Path]) -> None:
        write_nltk_index(root, f"https://{NLTK_MIRROR_HOST}")
        cert, key = server_cert(ca, NLTK_MIRROR_HOST)
        counts: dict[str, int] = {}
        self.counts = counts

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                counts[self.path] = counts.get(self.path, 0) + 1
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.proxy = _Tunnels(("127.0.0.1", self.server.server_address[1]))
        for server in (self.server, self.proxy):
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.config = {"NLTK_DOWNLOAD_URL": f"https://{NLTK_MIRROR_HOST}/index.xml",
                       "https_proxy": f"http://127.0.0.1:{self.proxy.server_address[1]}",
                       "no_proxy": "127.0.0.1,localhost",
                       "NLTK_ALLOW_PROXIED_URLOPEN": "1"}

    @property
    def tunnels(self) -> list[str]:
        return self.proxy.tunnels

    def stop(self) -> None:
        for server in (self.proxy, self.server):
            server.shutdown()
            server.server_close()
