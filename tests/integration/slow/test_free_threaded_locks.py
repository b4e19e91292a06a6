"""A uv.lock app on the free-threaded 3.13t, built for real: the lock is made at test time
by the pinned uv against a local index holding a pure-Python package and one with only
a cp313 (GIL) wheel; the build names the second, and only it, from the lock before
installing (no resolution), and the install's error names it again. The parsers of
every lock format: tests/unit/test_free_threaded_locks.py."""
from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow

MINOR = support.FREE_THREADED_MINORS[0].rstrip("t")  # "3.13"
PROJECT = """\
[project]
name = "ft-app"
version = "0.1.0"
requires-python = ">={minor},<3.14"
dependencies = ["purething", "gilonly"]

[tool.uv]
package = false

[[tool.uv.index]]
name = "local"
url = "{index}"
default = true
"""


def _extra_wheels(folder: Path) -> None:
    support.version_wheel(folder, "purething", "1.0")
    # Only the file name counts here: the lock and the check read its tags, and no
    # runtime of this test installs it (uv refuses it on 3.13t).
    pure = support.version_wheel(folder / "gil", "gilonly", "2.0")
    pure.rename(folder / f"gilonly-2.0-cp313-cp313-manylinux_2_17_{platform.machine()}.whl")
    (folder / "gil").rmdir()


def test_a_uv_lock_app_is_warned_of_its_package_without_a_free_threaded_wheel(tmp_path, runtime_store):
    extra = tmp_path / "extra-wheels"
    _extra_wheels(extra)
    index = support.start_index(support.ensure_tool_packages(), extra)
    try:
        app = support.write_app(tmp_path / "src", {
            ".python-version": f"{MINOR}t\n", "pyproject.toml": PROJECT.format(minor=MINOR, index=index.url)})
        python = support.find_prefix(MINOR) / "bin" / f"python{MINOR}"
        lock = subprocess.run([str(support.lock_tool("uv")), "lock", "--python", str(python)], cwd=app,
                              env=support.lock_env(tmp_path / "scratch"), capture_output=True, text=True,
                              timeout=300)
        assert lock.returncode == 0, lock.stdout + lock.stderr
        assert "gilonly-2.0-cp313-cp313-manylinux_2_17_" in (app / "uv.lock").read_text()
        # One stream, as a platform shows the build: the order of the lines is the build's.
        proc = subprocess.run([str(support.BIN / "compile"), str(app), str(tmp_path / "cache")],
                              env=support.build_env(str(runtime_store), index.url), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600, stdin=subprocess.DEVNULL)
    finally:
        index.stop()
    log = proc.stdout
    assert proc.returncode == 1, log
    assert "Traceback" not in log
    warning = log.split(" !     Warning: 1 requirement(s) have no free-threaded wheel.", 1)
    assert len(warning) == 2, log
    block = warning[1].split("-----> ", 1)[0]
    assert "gilonly==2.0 (no source distribution either: cannot be installed)" in block
    assert "This covers every package of uv.lock" in block
    assert "purething" not in block
    # Read from the lock: no resolution ran for the check.
    assert "could not check" not in log
    error = log.rsplit(" !     Error:", 1)[1]
    assert f"no wheel for the free-threaded Python {MINOR}t" in error
    assert "gilonly==2.0" in error and "purething" not in error.split("These requirements", 1)[1]
    assert "(error id: " in error
