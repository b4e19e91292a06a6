"""Dependency-file mistakes found at plan time: bin/compile fails before writing anything."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests import support

pytestmark = pytest.mark.slow  # real builds (bin/compile against the test store)

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
def test_fails_before_anything_is_written(tmp_path, build_env, files, expected):
    app = tmp_path / "app"
    app.mkdir()
    (app / "Procfile").write_text("web: python -m http.server $PORT\n")
    for name, text in files.items():
        (app / name).write_text(text)
    before = support.tree_snapshot(app)
    # The build's index (PIP_INDEX_URL) serves the buildpack's libraries: checks at plan time.
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 1, result.log
    versions = {"v313": support.store_versions()["3.13"]}
    for text in expected:
        assert text.format(**versions) in result.stderr, result.stderr
    assert "Traceback" not in result.log
    assert "Preparing Python runtime" not in result.stdout
    assert support.tree_snapshot(app) == before



@pytest.mark.parametrize("files, error_id", [
    ({"pyproject.toml": PROJECT + 'requires-python = ">=3.14"\n', "uv.lock": "version = 1\n"},
     "python-version::conflicts-with-project"),
    # No lock file: choosing the package manager reads pyproject.toml's tables (TOML, tomli).
    ({"pyproject.toml": PROJECT + 'requires-python = ">=3.14"\n'},
     "python-version::conflicts-with-project"),
    ({"pyproject.toml": '[tool.poetry]\npackage-mode = false\n'},
     "package-manager::manifest-without-lock"),
    ({"pyproject.toml": 'project = { name = "app", version = "1", requires-python = ">=3.14" }\n'},
     "python-version::conflicts-with-project"),
])
def test_a_python_39_build_host_finds_the_conflict_at_plan_time_too(tmp_path, build_env, files,
                                                                       error_id):
    """No tomllib on 3.9: tomli and packaging come from the build's index (the buildpack's
    pinned libraries), so the checks still run before anything is downloaded or written."""
    python39 = support.find_prefix("3.9") / "bin" / "python3.9"
    app = support.write_app(tmp_path, {**files, ".python-version": "3.13\n"})
    proc = subprocess.run([str(python39), "-E", "-s", "-S", "-B", str(support.BIN / "_run.py"), "compile",
                           str(app), str(tmp_path / "cache")], env=build_env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"(error id: {error_id})" in proc.stderr, proc.stderr
    assert "Downloading tomli-2.5.0-py3-none-any.whl" in proc.stdout
    assert "Preparing Python runtime" not in proc.stdout and "Traceback" not in proc.stderr
    assert sorted(p.name for p in (tmp_path / "cache" / "tools" / "libraries").iterdir()) == [
        "packaging-26.3-py3-none-any.whl", "tomli-2.5.0-py3-none-any.whl", "tomli_w-1.2.0-py3-none-any.whl"]


@pytest.mark.parametrize("requires, error_id", [(">=3.14", "python-version::conflicts-with-project"),
                                                (">=3.12", None)])
def test_without_the_libraries_at_plan_time_the_check_runs_at_install(tmp_path, build_env, requires,
                                                                      error_id):
    """No index the buildpack's own client reads (pip's --find-links only): the libraries
    are not there at plan time, so the runtime's pip downloads them (``fetch_with_pip``)
    and the Python check runs before the dependencies are installed."""
    env = {k: v for k, v in build_env.items() if k != "PIP_INDEX_URL"}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(support.ensure_tool_packages()),
               PYTHON_INSTALLER="pip")
    app = support.write_app(tmp_path, {"pyproject.toml": PROJECT + f'requires-python = "{requires}"\n',
                                       ".python-version": "3.13\n"})
    result = support.compile_app(app, tmp_path / "cache", env)
    # Found once the runtime and its pip are there, from the wheels that pip downloaded:
    assert "-----> Installing pip" in result.stdout and "Traceback" not in result.log
    assert sorted(p.name for p in (tmp_path / "cache" / "tools" / "libraries").glob("*.whl")) == [
        "packaging-26.3-py3-none-any.whl", "tomli-2.5.0-py3-none-any.whl", "tomli_w-1.2.0-py3-none-any.whl"]
    if error_id:
        assert result.returncode == 1, result.log
        assert f"(error id: {error_id})" in result.stderr, result.log
        assert not list(app.glob(".heroku/python/lib/python3*/site-packages/six.py"))
    else:
        assert result.returncode == 0, result.log
        assert list(app.glob(".heroku/python/lib/python3*/site-packages/six.py"))
