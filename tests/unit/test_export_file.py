"""The multi-buildpack export file (the real chain is in tests/integration/e2e/test_app_runtime.py)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from buildpack.slug.export_file import EXPORT_NAME, render_export, write_export


def _build(root: Path) -> Path:
    python = root / ".heroku" / "python" / "bin" / "python3"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return python.parent


@pytest.mark.parametrize("how", ["BUILD_DIR", "argument", "cwd"])
def test_sourcing_puts_the_python_of_the_sourcing_build_first(tmp_path: Path, how: str) -> None:
    build = tmp_path / "build dir's $x"
    bin_dir = _build(build)
    (tmp_path / "export").write_text(render_export())
    env = {"PATH": "/usr/bin:/bin", **({"BUILD_DIR": str(build)} if how == "BUILD_DIR" else {})}
    env["LD_LIBRARY_PATH"] = "/opt/lib"
    script = (f'. "{tmp_path}/export"; '
              'echo "$PATH|$PYTHONUNBUFFERED|$LANG|$LD_LIBRARY_PATH|${LIBRARY_PATH-unset}"')
    args = ["sh", "-c", script, "compile"] + ([str(build), "/cache"] if how == "argument" else [])
    out = subprocess.run(args, cwd=build if how == "cwd" else tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout
    lib = bin_dir.parent / "lib"
    assert out == f"{bin_dir}:/usr/bin:/bin|true|C.UTF-8|{lib}:/opt/lib|{lib}\n"


def test_names_no_build_path_so_concurrent_builds_cannot_cross(tmp_path: Path) -> None:
    """Issue 15, class 8: app A's build writes export after app B's; B's next buildpack
    still gets B's Python."""
    a, b = _build(tmp_path / "a"), _build(tmp_path / "b")
    write_export(tmp_path)
    text = (tmp_path / EXPORT_NAME).read_text()
    assert str(tmp_path) not in text
    out = subprocess.run(["sh", "-c", f'. "{tmp_path}/export"; echo "$PATH"', "x", str(b.parents[2])],
                         env={"PATH": "/bin"}, capture_output=True, text=True, check=True).stdout
    assert out == f"{b}:/bin\n" and str(a) not in out


def test_no_python_leaves_path_alone(tmp_path: Path) -> None:
    (tmp_path / "export").write_text(render_export())
    out = subprocess.run(["sh", "-c", '. ./export; echo "$PATH"'], cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                         check=True).stdout
    assert out == "/usr/bin:/bin\n"


def test_written_atomically_into_the_buildpack_dir(tmp_path: Path) -> None:
    (tmp_path / EXPORT_NAME).write_text("export PATH=/old:$PATH\n")
    write_export(tmp_path)
    assert (tmp_path / EXPORT_NAME).read_text() == render_export()
    assert sorted(p.name for p in tmp_path.iterdir()) == [EXPORT_NAME]
    assert (tmp_path / EXPORT_NAME).stat().st_mode & 0o777 == 0o644


def test_missing_buildpack_dir_only_warns(tmp_path: Path, capsys) -> None:
    write_export(tmp_path / "gone")
    assert "Could not write the export file" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "gone")
