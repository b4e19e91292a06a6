"""Issue 24, item 5, end to end: a requirements.txt app whose pyproject.toml only configures
tools gets the Python its requires-python allows (heroku-buildpack-python#1802: such an app
got the default), and a .python-version that contradicts it fails before anything is written."""
from __future__ import annotations

import subprocess

import pytest

from tests import support

pytestmark = pytest.mark.slow

PYPROJECT = '[project]\nname = "site"\nversion = "1"\nrequires-python = "{spec}"\n\n[tool.ruff]\nline-length = 99\n'


def test_requirements_app_gets_the_python_its_pyproject_allows(tmp_path, build_env):
    app = support.write_app(tmp_path, {"requirements.txt": "six==1.17.0\n",
                                       "pyproject.toml": PYPROJECT.format(spec=">=3.11,<3.12")})
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert ("-----> No Python version specified; using Python 3.11, the newest the store has that "
            "satisfies pyproject.toml (python-3.11.7)") in result.stdout
    assert "pyproject.toml ([project] requires-python) says '>=3.11,<3.12'" in result.stdout
    assert "Installing dependencies using uv" in result.stdout  # requirements.txt installs
    version = subprocess.run([str(app / ".heroku/python/bin/python3"), "-c",
                              "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == "3.11.7"


def test_a_contradicting_version_file_fails_before_anything_is_written(tmp_path, build_env):
    app = support.write_app(tmp_path, {"requirements.txt": "six==1.17.0\n", ".python-version": "3.13\n",
                                       "pyproject.toml": PYPROJECT.format(spec="<3.12")})
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 1
    assert "(error id: python-version::conflicts-with-project)" in result.stderr
    assert "pyproject.toml ([project] requires-python) says '<3.12'" in result.stderr
    assert not (app / ".heroku").exists()
