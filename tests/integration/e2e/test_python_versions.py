"""The Python version choice end to end: the default rule, the sticky version across a
default move, Pipfile.lock and requires-python as sources, and every contradiction,
misspelling and refused version failing at plan time (bin/compile stops before it writes
anything)."""
from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow  # real builds (bin/compile against the test store)

PROCFILE = "web: python -m http.server $PORT\n"
PROJECT = ('[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = "{spec}"\n'
           '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n')
RECORD = "python-version.json"
MISSPELLED = "python-version::misspelled-file"


def _app(root: Path, files: dict[str, str | bytes]) -> Path:
    return support.write_app(root, {"Procfile": PROCFILE, **files})


def _compile(app: Path, cache: Path, env: dict[str, str], buildpack: Path = support.ROOT):
    proc = subprocess.run([str(buildpack / "bin" / "compile"), str(app), str(cache)], env=env,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    result = support.BuildResult(proc.returncode, proc.stdout, proc.stderr, app)
    assert "Traceback" not in result.log
    return result


def _slug_python(app: Path) -> str:
    return subprocess.run([str(app / ".heroku/python/bin/python3"), "-I", "-c",
                           "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_no_version_file_gets_the_default_of_the_rule(tmp_path, build_env):
    minor = support.expected_default_minor()
    version = support.store_versions()[minor]
    app = _app(tmp_path, {})
    result = _compile(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert f"-----> No Python version specified; using the default, Python {minor} (python-{version})" \
        in result.stdout
    assert "The default\n       is the newest minor in the runtime store released at least 90 days ago." \
        in result.stdout
    assert _slug_python(app) == version
    assert json.loads((tmp_path / "cache" / RECORD).read_text()) == {"schema": 1, "python_minor": minor}


def _buildpack_before_the_move(root: Path) -> Path:
    """A copy of the buildpack from "before": every minor newer than 3.11 that the store has
    was released yesterday, so its default is 3.11."""
    buildpack = support.copy_buildpack(root)
    path = buildpack / "vendor" / "python-releases.json"
    data = json.loads(path.read_text())
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    for minor in support.store_versions():
        if tuple(map(int, minor.split("."))) > (3, 11):
            data["released"][minor] = yesterday
    path.write_text(json.dumps(data))
    return buildpack


def test_sticky_version_across_a_default_move(tmp_path, build_env):
    old = _buildpack_before_the_move(tmp_path / "old")
    cache = tmp_path / "cache"
    first = _compile(_app(tmp_path / "push1", {}), cache, build_env, old)
    assert first.returncode == 0, first.log
    assert "using the default, Python 3.11 (python-3.11.7)" in first.stdout

    # The platform updates the buildpack (the default moves) and the app changes its
    # dependencies (a new cache key): the app stays on its minor, and the log says so.
    new_default = support.expected_default_minor()
    app = _app(tmp_path / "push2", {"requirements.txt": "six==1.17.0\n"})
    second = _compile(app, cache, build_env)
    assert second.returncode == 0, second.log
    assert ("-----> No Python version specified; using Python 3.11 as on this app's earlier builds "
            "(python-3.11.7)") in second.stdout
    assert f"The default for new apps is now {new_default}. This app stays on 3.11" in second.stdout
    assert (f"To upgrade, write {new_default} into .python-version; to keep 3.11 for good, "
            "write 3.11.") in second.stdout
    assert "-----> Discarding cache since:" in second.stdout
    assert _slug_python(app) == "3.11.7"

    # A new app gets the new default.
    fresh = _compile(_app(tmp_path / "push3", {}), tmp_path / "fresh-cache", build_env)
    assert f"using the default, Python {new_default}" in fresh.stdout

    # A garbled record is ignored with a warning (and replaced), never a traceback.
    (cache / RECORD).write_bytes(b"\x00{not json")
    garbled = _compile(_app(tmp_path / "push4", {}), cache, build_env)
    assert garbled.returncode == 0, garbled.log
    assert " !     Warning: Ignoring an unreadable record of this app's Python version." in garbled.stderr
    assert f"using the default, Python {new_default}" in garbled.stdout
    assert json.loads((cache / RECORD).read_text())["python_minor"] == new_default


def test_runtime_txt_wins_and_extra_lines_warn(tmp_path, build_env):
    app = _app(tmp_path, {"runtime.txt": "# pinned\npython-3.11\n",
                          ".python-version": "3.13\n3.11\n"})
    result = _compile(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert "-----> Using Python version specified in runtime.txt (python-3.11)" in result.stdout
    assert " !     Warning: .python-version is ignored: runtime.txt decides." in result.stderr
    assert "runtime.txt asks for python-3.11 and .python-version for 3.13." in result.stderr
    assert " !     Warning: .python-version names more than one version." in result.stderr
    assert " !         line 2: 3.11" in result.stderr
    assert _slug_python(app) == "3.11.7"
    assert not (tmp_path / "cache" / RECORD).exists()  # a named version: no sticky record


def test_pipfile_lock_python_version_decides(tmp_path, package_index):
    """Pipfile.lock's python_version, with no other version file (the store has 3.11, not the
    3.12 of the issue: the same path)."""
    support.ensure_tool_packages()
    app = support.copy_fixture("pipenv-app", tmp_path)
    pipfile = app / "Pipfile"
    pipfile.write_text(pipfile.read_text().replace(support.INDEX_PLACEHOLDER, package_index.url)
                       .replace('python_version = "3.13"', 'python_version = "3.11"'))
    python = support.find_prefix("3.11") / "bin" / "python3.11"
    subprocess.run([str(support.lock_tool("pipenv")), "lock", "--python", str(python)], cwd=app,
                   env=support.lock_env(tmp_path / "scratch"), check=True, capture_output=True)
    assert json.loads((app / "Pipfile.lock").read_text())["_meta"]["requires"] == {"python_version": "3.11"}
    result = _compile(app, tmp_path / "cache", support.build_env(str(support.STORE_DIR), package_index.url))
    assert result.returncode == 0, result.log
    assert "-----> Using Python 3.11 specified in Pipfile.lock" in result.stdout
    assert "3.11 means the newest 3.11 release in the store: 3.11.7" in result.stdout
    assert _slug_python(app) == "3.11.7"


def test_requires_python_narrows_the_default(tmp_path, build_env):
    app = support.copy_fixture("pyproject-app", tmp_path)
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('requires-python = ">=3.11"',
                                                       'requires-python = ">=3.11,<3.13"'))
    result = _compile(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert ("-----> No Python version specified; using Python 3.11, the newest the store has that "
            "satisfies pyproject.toml (python-3.11.7)") in result.stdout
    assert "says '>=3.11,<3.13': Python" in result.stdout
    assert _slug_python(app) == "3.11.7"


def test_pinned_pips_python_bound_is_the_wheels_own():
    """vendor/pip.txt's "# Requires-Python" line (the plan-time check) is what the pinned
    wheel itself declares."""
    import re
    import zipfile

    from buildpack.base import settings

    version = settings.pinned_pip_version()
    wheel = support.ensure_index_packages() / f"pip-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"pip-{version}.dist-info/METADATA").decode()
    declared = re.search(r"^Requires-Python: >=(\d+)\.(\d+)$", metadata, re.M)
    assert declared is not None, metadata[:500]
    assert settings.pip_min_python() == (int(declared.group(1)), int(declared.group(2)))


def _lock(requires: dict[str, str]) -> str:
    return json.dumps({"_meta": {"requires": requires}, "default": {}})


@pytest.mark.parametrize("files, error_id, expected", [
    # contradictions: an explicit version against requires-python or the lock, both shown
    ({"runtime.txt": "python-3.13", "pyproject.toml": PROJECT.format(spec="<3.13")},
     "python-version::conflicts-with-project", ["Error: Python {v313} does not satisfy pyproject.toml", "says '<3.13'"]),
    ({".python-version": "3.11", "Pipfile": "", "Pipfile.lock": _lock({"python_version": "3.13"})},
     "python-version::conflicts-with-project", ["Error: Python 3.11.7 does not satisfy Pipfile.lock", "says '3.13'"]),
    ({"runtime.txt": "python-3.13", "Pipfile": "", "Pipfile.lock": _lock({"python_full_version": "3.11.7"})},
     "python-version::conflicts-with-project", ["Error: Python {v313} does not satisfy Pipfile.lock", "says '3.11.7'"]),
    # invalid Pipfile.lock versions
    ({"Pipfile": "", "Pipfile.lock": _lock({"python_version": "3.9.*"})},
     "pipfile-lock::invalid-version", ["Pipfile.lock's Python version '3.9.*' is not a valid version",
                                       'python_version = "3.14"']),
    ({"Pipfile": "", "Pipfile.lock": _lock({"python_version": "^3.12"})},
     "pipfile-lock::invalid-version", ["'^3.12' is not a valid version"]),
    # misspelled version files
    ({".python_version": "3.13\n"}, MISSPELLED, ["git mv '.python_version' .python-version"]),
    ({"python-version": "3.13\n"}, MISSPELLED, ["git mv 'python-version' .python-version"]),
    ({".python-version.txt": "3.13\n"}, MISSPELLED, [".python-version.txt"]),
    ({"runtime.txt ": "python-3.13\n"}, MISSPELLED, ["git mv 'runtime.txt ' runtime.txt"]),
    ({"runtime.text": "python-3.13\n"}, MISSPELLED, ["git mv 'runtime.text' runtime.txt"]),
    # invisible characters, end of life, unavailable
    ({"runtime.txt": "python-3.13\u200b\n"}, "python-version::invisible-character",
     ["U+200B (ZERO WIDTH SPACE)"]),
    ({"runtime.txt": "python-3.9.18\n"}, "python-version::end-of-life",
     ["Python 3.9 is end-of-life and no longer supported", "reached its end of life on 2025-10-31"]),
    ({".python-version": "3.99\n"}, "python-version::unavailable", ["Python 3.99 is not available"]),
])
def test_fails_at_plan_time(tmp_path, build_env, files, error_id, expected):
    app = _app(tmp_path, files)
    before = support.tree_snapshot(app)
    cache = tmp_path / "cache"
    # The build's index (PIP_INDEX_URL) serves the buildpack's libraries, which read the
    # dependency files at plan time (without one, a cold cache checks after the runtime).
    result = _compile(app, cache, build_env)
    assert result.returncode == 1, result.log
    assert f"(error id: {error_id})" in result.stderr, result.stderr
    for text in expected:
        assert text.format(v313=support.store_versions()["3.13"]) in result.stderr, result.stderr
    assert "Preparing Python runtime" not in result.stdout
    assert support.tree_snapshot(app) == before
    assert not (cache / RECORD).exists()
