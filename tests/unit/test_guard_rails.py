"""Committed virtual environments and runtimes (buildpack.guard_rails)."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildpack import guard_rails
from buildpack.output import BuildError


@pytest.mark.parametrize("where", ["", "api"])
def test_committed_venv_is_an_error_with_the_fix(tmp_path: Path, where: str) -> None:
    app = tmp_path / where
    (app / ".venv" / "bin").mkdir(parents=True)
    with pytest.raises(BuildError) as err:
        guard_rails.check(tmp_path, app)
    assert err.value.error_id == "app::committed-venv"
    shown = f"{where}/.venv" if where else ".venv"
    assert f"git rm -r --cached {shown}" in err.value.body and ".gitignore" in err.value.body


def test_venv_link_counts_too(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to("/nonexistent")
    with pytest.raises(BuildError):
        guard_rails.check(tmp_path, tmp_path)


def test_committed_heroku_python_is_a_warning(tmp_path: Path, capsys) -> None:
    (tmp_path / ".heroku" / "python" / "bin").mkdir(parents=True)
    guard_rails.check(tmp_path, tmp_path)
    err = capsys.readouterr().err
    assert " !     Warning: The app contains .heroku/python, which this build replaces." in err
    assert "git rm -r --cached .heroku/python" in err


def test_clean_app_passes_quietly(tmp_path: Path, capsys) -> None:
    (tmp_path / ".heroku").mkdir()
    (tmp_path / "venv.py").write_text("")
    guard_rails.check(tmp_path, tmp_path)
    assert capsys.readouterr() == ("", "")
