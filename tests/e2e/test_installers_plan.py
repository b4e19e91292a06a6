"""Dependency-file mistakes found at plan time: bin/compile fails before writing anything."""
from __future__ import annotations

import json

import pytest

from tests import support

PROJECT = '[project]\nname = "app"\nversion = "0.1.0"\ndependencies = ["six"]\n'


@pytest.mark.parametrize("files, expected", [
    ({"requirements.txt": "six\n", "pyproject.toml": PROJECT, "poetry.lock": ""},
     ["(error id: package-manager::multiple-lock-files)",
      "  - requirements.txt (pip)", "  - poetry.lock (poetry)"]),
    ({"Pipfile": '[packages]\nsix = "*"\n'},
     ["(error id: package-manager::manifest-without-lock)", "Run `pipenv lock` and commit"]),
    ({"pyproject.toml": PROJECT + "[tool.poetry]\npackage-mode = false\n"},
     ["(error id: package-manager::manifest-without-lock)", "Run `poetry lock` and commit"]),
    ({"uv.lock": "version = 1\n"}, ["(error id: package-manager::lock-without-manifest)"]),
    ({".python-version": "3.13\n", "pyproject.toml": PROJECT + 'requires-python = ">=3.14"\n',
      "uv.lock": "version = 1\n"},
     ["(error id: python-version::conflicts-with-project)",
      "Python {v313} does not satisfy pyproject.toml ([project] requires-python).",
      "This build uses Python {v313}", "says '>=3.14'", "run `uv lock`"]),
    ({".python-version": "3.13\n", "Pipfile": "",
      "Pipfile.lock": json.dumps({"_meta": {"requires": {"python_version": "3.11"}}})},
     ["(error id: python-version::conflicts-with-project)",
      "Python {v313} does not satisfy Pipfile.lock (_meta.requires.python_version).",
      "says '3.11'", "run `pipenv lock`"]),
    ({"runtime.txt": "python-3.11.7\n", "pyproject.toml": PROJECT + "[tool.poetry]\n"
      "[tool.poetry.dependencies]\npython = '^3.12'\n", "poetry.lock": ""},
     ["(error id: python-version::conflicts-with-project)",
      "Python 3.11.7 does not satisfy pyproject.toml ([tool.poetry.dependencies] python).",
      "says '^3.12'"]),
])
def test_fails_before_anything_is_written(tmp_path, runtime_store, files, expected):
    app = tmp_path / "app"
    app.mkdir()
    (app / "Procfile").write_text("web: python -m http.server $PORT\n")
    for name, text in files.items():
        (app / name).write_text(text)
    before = support.tree_snapshot(app)
    result = support.compile_app(app, tmp_path / "cache", support.build_env(str(runtime_store), None))
    assert result.returncode == 1, result.log
    versions = {"v313": support.store_versions()["3.13"]}
    for text in expected:
        assert text.format(**versions) in result.stderr, result.stderr
    assert "Traceback" not in result.log
    assert "Preparing Python runtime" not in result.stdout
    assert support.tree_snapshot(app) == before
