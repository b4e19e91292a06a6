"""Committed virtual environments and runtimes (buildpack.app.guard_rails)."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildpack.app import guard_rails
from buildpack.base.output import BuildError


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


# --- nltk.txt (buildpack.app_build.nltk_data) ----------------------------------------------------------

def test_nltk_ids_are_read_with_comments_and_duplicates(tmp_path: Path) -> None:
    from buildpack.app.app_files import AppFiles
    from buildpack.app_build import nltk_data

    (tmp_path / "nltk.txt").write_text("# data\npunkt stopwords\nwordnet, omw-1.4\npunkt\n\n")
    assert nltk_data.read_ids(AppFiles(tmp_path)) == ["punkt", "stopwords", "wordnet", "omw-1.4"]
    (tmp_path / "nltk.txt").write_text("punkt\n$(reboot)\n")
    with pytest.raises(BuildError) as err:
        nltk_data.read_ids(AppFiles(tmp_path))
    assert err.value.error_id == "nltk::invalid-entry" and "line 2" in err.value.summary
    (tmp_path / "nltk.txt").unlink()
    assert nltk_data.read_ids(AppFiles(tmp_path)) == []


def test_profile_exports_nltk_data_only_when_downloaded() -> None:
    from buildpack.runtime import profile_d

    assert "NLTK_DATA" not in profile_d.render_profile()
    assert 'export NLTK_DATA="${NLTK_DATA:-$HOME/.heroku/python/nltk_data}"' in \
        profile_d.render_profile(nltk_data=True)
