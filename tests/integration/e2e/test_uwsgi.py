"""Issue 24, item 9: a program the app compiles against the runtime's libpython runs after
the slug moves. uWSGI (an sdist: setup.py links the `uwsgi` binary against libpython, with
the build path as its only library path) is compiled during the build from the test index,
the slug is moved, the build path removed, and the app started as the platform starts it
answers over HTTP. The same binary without the run-time environment cannot start: the
library paths are what makes it run."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests import support

pytestmark = pytest.mark.slow

UWSGI = "uwsgi==2.0.31"
UWSGI_SHA256 = "e8f8b350ccc106ff93a65247b9136f529c14bf96b936ac5b264c6ff9d0c76257"

APP = '''\
import sys


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    body = f"uwsgi {sys.version_info[0]}.{sys.version_info[1]} {sys.prefix}\\n"
    return [body.encode()]
'''
UWSGI_INI = """\
[uwsgi]
http-socket = :$(PORT)
wsgi-file = app.py
master = true
processes = 1
die-on-term = true
"""


@pytest.fixture(scope="module")
def uwsgi_index(tmp_path_factory):
    """The test index plus uWSGI's sdist (hash-checked; downloaded once per checkout)."""
    sdists = support.CACHE / "test-sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    pins = tmp_path_factory.mktemp("pins") / "uwsgi.txt"
    pins.write_text(f"{UWSGI} --hash=sha256:{UWSGI_SHA256}\n")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:",
                    "--no-deps", "--require-hashes", "-d", str(sdists), "-r", str(pins)],
                   check=True, env=support.clean_pip_env(), timeout=300)
    index = support.start_index(support.ensure_tool_packages(), sdists)
    yield index
    index.stop()


def test_uwsgi_app_runs_after_the_move(tmp_path, runtime_store, uwsgi_index):
    app = support.write_app(tmp_path / "build", {
        "requirements.txt": f"{UWSGI}\n", "app.py": APP, "uwsgi.ini": UWSGI_INI,
        "Procfile": "web: uwsgi uwsgi.ini\n"})
    env = support.build_env(str(runtime_store), uwsgi_index.url)
    result = support.compile_app(app, tmp_path / "cache", env, timeout=900)
    assert result.returncode == 0, result.log
    assert (app / ".heroku/python/bin/uwsgi").is_file(), result.log
    slug = support.move_slug(app, tmp_path)
    shutil.rmtree(tmp_path / "build")

    # Without the run-time environment, the binary looks for libpython where it was built.
    bare = subprocess.run([str(slug / ".heroku/python/bin/uwsgi"), "--version"],
                          env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=30)
    assert bare.returncode != 0 and "libpython3." in bare.stderr, bare

    types = support.release_types(slug)
    assert types == {"web": "uwsgi uwsgi.ini"}
    port = support.free_port()
    proc = support.RunningProcess(slug, types["web"], port)
    try:
        body = support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc)
    finally:
        proc.stop()
    assert body.startswith("uwsgi 3.") and body.endswith(f" {slug}/.heroku/python\n"), body
