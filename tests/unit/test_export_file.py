"""The multi-buildpack export file (the real chain is in tests/e2e/test_app_runtime.py)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from buildpack.export_file import EXPORT_NAME, render_export, write_export


def test_sourcing_puts_the_build_python_first(tmp_path: Path) -> None:
    prefix = tmp_path / "build dir's" / ".heroku" / "python"
    (tmp_path / "export").write_text(render_export(prefix))
    out = subprocess.run(["sh", "-c", '. ./export; echo "$PATH|$PYTHONUNBUFFERED|$LANG"'],
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, capture_output=True,
                         text=True, check=True).stdout
    assert out == f"{prefix}/bin:/usr/bin:/bin|true|C.UTF-8\n"


def test_written_atomically_into_the_buildpack_dir(tmp_path: Path) -> None:
    (tmp_path / EXPORT_NAME).write_text("export PATH=/old:$PATH\n")
    write_export(Path("/build/.heroku/python"), tmp_path)
    assert (tmp_path / EXPORT_NAME).read_text().startswith("export PATH=/build/.heroku/python/bin:")
    assert sorted(p.name for p in tmp_path.iterdir()) == [EXPORT_NAME]
    assert (tmp_path / EXPORT_NAME).stat().st_mode & 0o777 == 0o644


def test_missing_buildpack_dir_only_warns(tmp_path: Path, capsys) -> None:
    write_export(Path("/build/.heroku/python"), tmp_path / "gone")
    assert "Could not write the export file" in capsys.readouterr().err
