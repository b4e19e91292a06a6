"""Processes and HTTP servers the tests start: an app's processes from a slug, stores that
count or misbehave, an NLTK data mirror."""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import signal
import subprocess
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path


class LoggedProcess:
    """A process in a session of its own, its output in ``log_path``; ``stop`` ends the
    whole session (the process and whatever it started)."""
    def __init__(self, command: list[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class RunningProcess(LoggedProcess):
    """A process type started from a slug the way the platform starts it."""
    START = ('cd "$HOME" && for f in "$HOME"/.profile.d/*.sh; do . "$f"; done; '
             'exec /bin/bash -c "$1"')

    def __init__(self, app_path: Path, command: str, port: int, extra_env: dict[str, str] | None = None):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(app_path), "PORT": str(port)}
        env.update(extra_env or {})
        super().__init__(["/bin/bash", "-c", self.START, "start", command],
                         app_path.parent / f"process-{port}.log", env, app_path)


class CountingStoreServer:
    """Serve a directory over HTTP on loopback, counting requests per path."""
    def __init__(self, directory: Path) -> None:
        counts: dict[str, int] = {}
        self.counts = counts

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                counts[self.path] = counts.get(self.path, 0) + 1
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Handler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FaultyStoreServer:
    """Serve a store directory over HTTP, misbehaving on purpose.

    ``faults`` maps a file name to the behaviours of its successive requests: "500",
    "404", "403", "hang" (accept, never answer), "cut" (send half the body, then close),
    "trickle" (one byte every 0.1 s: never a stall long enough for a read timeout, but
    far too slow to finish). Once a list is used up, the file is served normally.
    """
    def __init__(self, directory: Path, faults: dict[str, list[str]]) -> None:
        self.counts: dict[str, int] = {}
        self.faults = {name: list(plan) for name, plan in faults.items()}
        self.stopping = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                name = self.path.lstrip("/").split("?")[0]
                server.counts[name] = server.counts.get(name, 0) + 1
                plan = server.faults.get(name, [])
                fault = plan.pop(0) if plan else "ok"
                path = directory / name
                if name == "" or name.endswith("/"):
                    path = path / "index.html"
                if fault == "hang":
                    server.stopping.wait(120)
                    return
                if fault in ("500", "404", "403") or not path.is_file():
                    code = int(fault) if fault in ("500", "404", "403") else 404
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                if path.suffix == ".html":
                    self.send_header("Content-Type", "text/html")
                self.end_headers()
                if fault == "cut":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "trickle":
                    for i in range(len(data)):
                        if server.stopping.wait(0.1):
                            return
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


NLTK_MIRROR_HOST = "nltk-mirror.test"  # reached through the proxy (NLTK refuses loopback itself)


def write_nltk_index(root: Path, base: str) -> None:
    """A real NLTK data index in ``root``: index.xml naming one corpus zip at ``base``
    (``http://nltk-mirror.test``), and the zip."""
    members = {"tinycorpus/README": "A tiny corpus for the tests.\n",
               "tinycorpus/words": "hello\nfrom\nnltk\n"}
    (root / "packages" / "corpora").mkdir(parents=True)
    archive = root / "packages" / "corpora" / "tinycorpus.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, text in members.items():
            zipped.writestr(name, text)
    data = archive.read_bytes()
    (root / "index.xml").write_text(
        '<?xml version="1.0"?>\n<nltk_data><packages>\n'
        f'<package id="tinycorpus" name="Tiny corpus" subdir="corpora" unzip="1" '
        f'url="{base}/packages/corpora/tinycorpus.zip" size="{len(data)}" '
        f'unzipped_size="{sum(len(t) for t in members.values())}" '
        f'checksum="{hashlib.md5(data).hexdigest()}" '
        f'sha256_checksum="{hashlib.sha256(data).hexdigest()}" />\n'
        "</packages><collections></collections></nltk_data>\n")


class NltkMirror:
    """A real NLTK data index (index.xml + a corpus zip) over loopback HTTP, and a
    forwarding HTTP proxy for it: NLTK refuses to fetch from non-public addresses unless
    a proxy it is told to trust does the fetching (``NLTK_ALLOW_PROXIED_URLOPEN``)."""
    def __init__(self, root):
        write_nltk_index(root, f"http://{NLTK_MIRROR_HOST}")
        self.index = CountingStoreServer(root)
        upstream = self.index.url.rstrip("/")

        class Proxy(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = self.path.replace(f"http://{NLTK_MIRROR_HOST}", upstream)
                try:
                    with urllib.request.urlopen(url, timeout=10) as resp:
                        body, code = resp.read(), resp.status
                except urllib.error.HTTPError as exc:
                    body, code = b"", exc.code
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        threading.Thread(target=self.proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.config = {"NLTK_DOWNLOAD_URL": f"http://{NLTK_MIRROR_HOST}/index.xml",
                       "http_proxy": f"http://127.0.0.1:{self.proxy.server_address[1]}",
                       "no_proxy": "127.0.0.1,localhost",
                       "NLTK_ALLOW_PROXIED_URLOPEN": "1"}

    def stop(self) -> None:
        self.proxy.shutdown()
        self.proxy.server_close()
        self.index.stop()
