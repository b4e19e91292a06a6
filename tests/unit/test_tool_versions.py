"""[tool.uv] required-version and [tool.poetry] requires-poetry against the pinned uv and
Poetry (issue 24 item 4), at plan time. The real refusal is in
tests/e2e/test_tool_versions.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildpack import installers
from buildpack.app.app_files import AppFiles
from buildpack.installers import tool_versions
from buildpack.installers.pinned_tools import TOOLS
from tests.support import raises_id, write_app

UV = TOOLS["uv"].version()
POETRY = TOOLS["poetry"].version()
MINOR = ".".join(UV.split(".")[:2])


def _uv_app(tmp_path: Path, required: str | None, uv_toml: str | None = None,
            lock: str = "uv.lock") -> Path:
    text = '[project]\nname = "a"\nversion = "1"\n'
    if required is not None:
        text += f'\n[tool.uv]\nrequired-version = "{required}"\n'
    files = {"pyproject.toml": text, lock: "six\n" if lock.endswith(".txt") else ""}
    if uv_toml is not None:
        files["uv.toml"] = uv_toml
    return write_app(tmp_path, files)


def _check(root: Path) -> None:
    tool_versions.check(installers.choose(root), AppFiles(root))


@pytest.mark.parametrize("required", [
    None, f">={MINOR}", f"=={UV}", UV, f"v{UV}", f"~={MINOR}", f">=0.5, <{int(UV.split('.')[0]) + 1}",
    f"=={MINOR}.*",
])
def test_a_satisfied_uv_version_changes_nothing(tmp_path, required, capsys):
    _check(_uv_app(tmp_path, required))
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.parametrize("required", [">=99", "<0.1", "==0.5.0", "0.5.0", f"!={UV}"])
def test_an_unsatisfied_uv_version_names_both_and_the_fix(tmp_path, required):
    with raises_id("package-manager::tool-version-unsatisfied") as info:
        _check(_uv_app(tmp_path, required))
    assert info.value.summary == (f"The app asks for uv {required}; this buildpack installs "
                                  f"uv {UV}")
    assert "pyproject.toml [tool.uv] required-version" in info.value.body
    assert f'Change required-version in pyproject.toml to admit {UV} (e.g. ">={MINOR}")' \
        in info.value.body
    assert "vendor/tools/uv.txt" in info.value.body


def test_uv_checks_it_for_requirements_txt_and_pylock_too(tmp_path):
    for lock in ("requirements.txt", "pylock.toml"):
        root = _uv_app(tmp_path / lock, ">=99", lock=lock)
        assert installers.needs_libraries(AppFiles(root))
        if lock == "pylock.toml":
            (root / lock).write_text('lock-version = "1.0"\n')
        with raises_id("package-manager::tool-version-unsatisfied"):
            _check(root)
    # pip installs: uv's setting is not ours to check
    root = _uv_app(tmp_path / "pip", ">=99", lock="requirements.txt")
    tool_versions.check(installers.choose(root, installer="pip"), AppFiles(root))


def test_uv_toml_wins_over_pyproject(tmp_path):
    root = _uv_app(tmp_path, ">=99", uv_toml=f'required-version = ">={MINOR}"\n')
    _check(root)
    root = _uv_app(tmp_path / "b", None, uv_toml='required-version = "<0.2"\n')
    with raises_id("package-manager::tool-version-unsatisfied") as info:
        _check(root)
    assert "uv.toml required-version" in info.value.body


def test_an_unreadable_specifier_is_a_warning(tmp_path, capsys):
    _check(_uv_app(tmp_path, ">=not-a-version"))
    out = " ".join(capsys.readouterr().err.split())
    assert "is not a version specifier the buildpack reads" in out
    assert f"The build goes on with uv {UV}" in out


POETRY_APP = """\
[project]
name = "a"
version = "1"

[tool.poetry]
requires-poetry = "{required}"
"""


@pytest.mark.parametrize("required, ok", [
    (f">={POETRY}", True), (">=2.0", True), ("^2.0", True), (">=99", False), ("<2", False),
    (f"~{'.'.join(POETRY.split('.')[:1])}.0", False),
])
def test_requires_poetry(tmp_path, required, ok):
    root = write_app(tmp_path, {"pyproject.toml": POETRY_APP.format(required=required),
                                "poetry.lock": ""})
    if ok:
        _check(root)
        return
    with raises_id("package-manager::tool-version-unsatisfied") as info:
        _check(root)
    assert f"this buildpack installs Poetry {POETRY}" in info.value.summary
    assert "pyproject.toml [tool.poetry] requires-poetry" in info.value.body


def test_other_managers_are_not_asked(tmp_path):
    root = write_app(tmp_path, {"Pipfile": "[packages]\n", "Pipfile.lock": "{}",
                                "pyproject.toml": '[tool.uv]\nrequired-version = ">=99"\n'})
    assert tool_versions.asked(installers.choose(root), AppFiles(root)) == []
