"""compile runs as an unprivileged user and writes only to BUILD_DIR, CACHE_DIR and temp."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow


def _snapshot_outside(paths):
    return {p: support.tree_snapshot(p) for p in paths}


@pytest.fixture
def public_tmp():
    """A temp dir the unprivileged user can reach (pytest's own is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="unprivileged-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_compile_as_nobody_writes_only_where_allowed(public_tmp, build_env):
    tmp_path = public_tmp
    work = tmp_path / "work"
    work.mkdir()
    app = support.copy_fixture("flask-app", work)
    cache = work / "cache"
    cache.mkdir()
    subprocess.run(["chown", "-R", "nobody:nogroup", str(work)], check=True)
    watched = [support.ROOT / "bin", support.ROOT / "buildpack", support.ROOT / "vendor",
               support.ROOT / ".cache" / "test-store"]
    before = _snapshot_outside(watched)
    env = dict(build_env, HOME="/nonexistent", TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    os.chmod(tmp_path / "tmp", 0o1777)
    result = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         str(support.BIN / "compile"), str(app), str(cache)],
        env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    after = _snapshot_outside(watched)
    for path in watched:
        changed = {k for k in set(before[path]) | set(after[path])
                   if before[path].get(k) != after[path].get(k) and "__pycache__" not in k}
        assert not changed, f"compile wrote into {path}: {sorted(changed)[:5]}"
    owners = {p.stat().st_uid for p in (app / ".heroku").rglob("*") if not p.is_symlink()}
    assert owners == {65534}
