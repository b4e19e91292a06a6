"""The README's first command on a machine with no packable CPython (issue 11, item 7).

    env -i HOME=$(mktemp -d) PATH=/usr/local/bin:/usr/bin:/bin bin/local-deploy fixtures/flask-app

PATH has no pyenv and HOME is empty, so the only Python is the distribution's
/usr/bin/python3 (its files are spread over /usr: it cannot be packed). local-deploy
then builds the default minor from pristine source into its local store, deploys the
app and serves it. The source is fetched for real (through the private apt config in
the new HOME); the compiled build comes from the machine's build cache
(BUILDPACK_SOURCE_BUILDS), which holds exactly what this machine would compile.
The index is the tests' loopback one (PIP_INDEX_URL), as for every build in the tests.
"""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from buildpack.store_builder import cpython_sources, source_build
from tests import support

pytestmark = pytest.mark.slow

BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


def test_local_deploy_on_a_bare_machine_builds_python_from_source(tmp_path, runtime_store, package_index):
    pins = cpython_sources.load_pins()
    minor = support.FROM_SOURCE_MINORS[0]
    cpython_sources.fetch(pins[minor])
    # The builds the test store was made from (support.ensure_store): the same machine cache.
    builds = source_build.builds_root()
    assert [p for p in builds.glob(f"{pins[minor].version}-*") if (p / "build.json").is_file()]
    for directory in BARE_PATH.split(":"):
        assert not [n for n in os.listdir(directory) if n.startswith("pyenv")]
    home = tmp_path / "home"
    home.mkdir()
    port = support.free_port()
    env = {"HOME": str(home), "PATH": BARE_PATH, "PIP_INDEX_URL": package_index.url,
           "BUILDPACK_SOURCE_BUILDS": str(builds)}
    log_path = tmp_path / "deploy.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(support.BIN / "local-deploy"), str(support.FIXTURES / "flask-app"),
                                 "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            body = support.wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout=900)
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            code = proc.wait(timeout=60)
    text = log_path.read_text()
    assert body == "Hello from Python on buildpack-python!\n", text
    assert code == 0, text
    # The system Python was looked at and refused; nothing else was found.
    assert "/usr/bin/python3.11: Python 3.11.2 in /usr is the system's own" in text, text
    assert "No packable CPython on this machine: building one from pristine source" in text
    version = pins[support.FROM_SOURCE_MINORS[0]].version
    assert f"-----> Building Python {version} from source" in text
    assert f"python-{version}-" in text and "(packed now)" in text
    store = home / ".cache/buildpack-python/local-store"
    assert (store / "manifest.json").is_file()
    assert "Traceback" not in text
