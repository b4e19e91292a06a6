"""Issue 24, item 5: the app's pyproject.toml ``[project] requires-python`` narrows the
Python version choice whatever installs the dependencies (requirements.txt, Pipenv), and an
explicit version file that contradicts it is the usual conflict error."""
from __future__ import annotations

import json

import pytest

from buildpack import installers
from buildpack.app.app_files import AppFiles
from buildpack.base.output import BuildError
from buildpack.plan import python_choice
from tests.unit.test_python_choice import ENTRIES, TODAY, _app

# A requirements.txt app's pyproject.toml often only configures tools; it has no build system.
PYPROJECT = '[project]\nname = "app"\nversion = "1"\nrequires-python = "{spec}"\n\n[tool.ruff]\nline-length = 99\n'
PIPFILE_LOCK = json.dumps({"_meta": {"requires": {}}, "default": {}})
APPS = {
    "requirements.txt": {"requirements.txt": "flask\n"},
    "pipenv": {"Pipfile": "[packages]\n", "Pipfile.lock": PIPFILE_LOCK},
    "pip with uv": {"requirements.txt": "flask\n", "requirements-test.txt": "pytest\n"},
}


def _choose(app, cache):
    choice = installers.choose(app)
    return choice, python_choice.choose_runtime(app, cache, choice, ENTRIES, TODAY).runtime.version


@pytest.mark.parametrize("kind", APPS)
def test_requires_python_narrows_the_choice_for_every_manager(tmp_path, capsys, kind):
    app, cache = _app(tmp_path, {**APPS[kind], "pyproject.toml": PYPROJECT.format(spec=">=3.11,<3.12")})
    choice, version = _choose(app, cache)
    assert not any(p.name == "pyproject.toml" for p in choice.files)  # not what installs
    assert version == "3.11.7"  # the default would be 3.14
    out = capsys.readouterr().out
    assert ("-----> No Python version specified; using Python 3.11, the newest the store has "
            "that satisfies pyproject.toml (python-3.11.7)") in out
    assert ("pyproject.toml ([project] requires-python) says '>=3.11,<3.12': Python 3.14 "
            "(default) does not satisfy it.") in out


def test_requires_python_the_default_satisfies_is_named(tmp_path, capsys):
    app, cache = _app(tmp_path, {**APPS["requirements.txt"],
                                 "pyproject.toml": PYPROJECT.format(spec=">=3.10")})
    assert _choose(app, cache)[1] == "3.14.10"
    assert "pyproject.toml ([project] requires-python) says '>=3.10': 3.14 satisfies it." \
        in capsys.readouterr().out


def test_pyproject_without_requires_python_changes_nothing(tmp_path):
    app, cache = _app(tmp_path, {**APPS["requirements.txt"],
                                 "pyproject.toml": "[tool.black]\nline-length = 99\n"})
    assert _choose(app, cache)[1] == "3.14.10"


@pytest.mark.parametrize("kind", APPS)
def test_an_explicit_version_file_that_contradicts_it_is_an_error(tmp_path, kind):
    app, cache = _app(tmp_path, {**APPS[kind], ".python-version": "3.13\n",
                                 "pyproject.toml": PYPROJECT.format(spec="<3.13")})
    choice, version = _choose(app, cache)
    assert version == "3.13.18"  # the version file decides; the check then refuses it
    with pytest.raises(BuildError) as info:
        installers.check_python(choice, AppFiles(app), version)
    assert info.value.error_id == "python-version::conflicts-with-project"
    assert "pyproject.toml ([project] requires-python) says '<3.13'" in info.value.body


def test_app_base_reads_the_app_folders_pyproject(tmp_path):
    root, cache = _app(tmp_path, {"api/requirements.txt": "flask\n",
                                  "api/pyproject.toml": PYPROJECT.format(spec="==3.12.*"),
                                  "pyproject.toml": PYPROJECT.format(spec=">=3.14")})
    files = AppFiles(root, root / "api")
    choice = installers.choose(files)
    assert python_choice.choose_runtime(files, cache, choice, ENTRIES, TODAY).runtime.version == "3.12.8"
