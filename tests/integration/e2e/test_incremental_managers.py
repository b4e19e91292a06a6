"""Incremental rebuilds where the previous environment used to be discarded: PDM, a
pylock.toml installed by pip, and pip with dependency groups and extras (issue 20 item 3).

Each chain builds on one cache: a warm build installs nothing new (an unchanged
package's files are the very files of the first build: the environment came back from
the cache and nothing reinstalled them), a changed lock or selection installs the
difference and removes what is no longer needed, and the app's own local package is
installed again from its current files (no stale code). Locks are made at test time
with the pinned tools against the test index."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow

MOVED = "The previous build's environment, moved from the build cache"

PDM_APP = """\
[project]
name = "inc-app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{dependencies}]

[tool.pdm]
distribution = false

[[tool.pdm.source]]
name = "pypi"
url = "{index}"
verify_ssl = false
"""
UV_PROJECT = """\
[project]
name = "lock-source"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{dependencies}]

[tool.uv]
package = false

[[tool.uv.index]]
name = "local"
url = "{index}"
default = true
"""
PIP_APP = """\
[project]
name = "sel-app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.17.0"]

[project.optional-dependencies]
cli = ["iniconfig"]

[dependency-groups]
web = ["{web}"]

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[tool.setuptools]
py-modules = ["sel_app"]
"""
LIBX = """\
[project]
name = "libx"
version = "0.1.0"

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[tool.setuptools]
py-modules = ["libx"]
"""


@pytest.fixture(scope="module")
def index(package_index, runtime_store):
    support.ensure_tool_packages()
    return package_index


def _lock(app: Path, cmd: list[str], python: Path) -> None:
    scratch = app.parent / f".lock-scratch-{app.name}"
    proc = subprocess.run(cmd, cwd=app, env=support.lock_env(scratch, {"PDM_PYTHON": str(python)}),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shutil.rmtree(scratch, ignore_errors=True)


def _pdm_app(root: Path, name: str, dependencies: str, index_url: str) -> Path:
    app = support.write_app(root, {"pyproject.toml": PDM_APP.format(dependencies=dependencies,
                                                                    index=index_url),
                                   "Procfile": "web: python -m http.server $PORT\n"}, name)
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    _lock(app, [str(support.lock_tool("pdm")), "lock"], python)
    return app


def _pylock_app(root: Path, name: str, dependencies: str, index_url: str) -> Path:
    source = support.write_app(root, {"pyproject.toml": UV_PROJECT.format(
        dependencies=dependencies, index=index_url)}, f"{name}-source")
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    uv = str(support.lock_tool("uv"))
    _lock(source, [uv, "lock", "--python", str(python)], python)
    _lock(source, [uv, "export", "--format", "pylock.toml", "--no-dev", "-o", "pylock.toml"], python)
    return support.write_app(root, {"pylock.toml": (source / "pylock.toml").read_text(),
                                    "Procfile": "web: python -m http.server $PORT\n"}, name)


def _build(app: Path, cache: Path, index_url: str, **config: str) -> support.BuildResult:
    result = support.compile_app(app, cache, support.build_env(str(support.STORE_DIR), index_url,
                                                               config))
    assert "Traceback" not in result.log
    assert result.returncode == 0, result.log
    return result


def _installed(app: Path) -> set[str]:
    return set(support.installed_distributions(app)) - {"pip"}


def _file_of(app: Path, relative: str) -> Path:
    return next((app / ".heroku/python/lib").glob(f"python3*/site-packages/{relative}"))


def _inode(app: Path, relative: str) -> int:
    return _file_of(app, relative).stat().st_ino


def test_pdm_updates_the_cached_environment(index, tmp_path):
    cache = tmp_path / "cache"
    one = _pdm_app(tmp_path, "one", '"six==1.17.0", "idna"', index.url)
    _build(one, cache, index.url)
    assert _installed(one) == {"six", "idna"}
    six = _inode(one, "six.py")

    two = _pdm_app(tmp_path, "two", '"six==1.17.0", "idna"', index.url)
    result = _build(two, cache, index.url)
    assert MOVED in result.stdout
    assert "--only-keep" in result.stdout
    assert _installed(two) == {"six", "idna"}
    assert _inode(two, "six.py") == six  # nothing installed again

    three = _pdm_app(tmp_path, "three", '"six==1.17.0", "iniconfig"', index.url)
    result = _build(three, cache, index.url)
    assert MOVED in result.stdout
    assert _installed(three) == {"six", "iniconfig"}  # idna removed, iniconfig added
    assert _inode(three, "six.py") == six
    site = _file_of(three, "six.py").parent
    assert not list(site.glob("idna*")) and not list(site.glob("__pycache__/idna*"))


def test_pylock_with_pip_updates_the_cached_environment(index, tmp_path):
    cache = tmp_path / "cache"
    one = _pylock_app(tmp_path, "one", '"six==1.17.0", "idna"', index.url)
    result = _build(one, cache, index.url, PYTHON_INSTALLER="pip")
    assert "Installing dependencies using pip" in result.stdout
    assert _installed(one) == {"six", "idna"}
    six = _inode(one, "six.py")

    two = support.write_app(tmp_path, {p.name: p.read_text() for p in one.iterdir()
                                       if p.is_file()}, "two")
    result = _build(two, cache, index.url, PYTHON_INSTALLER="pip")
    assert MOVED in result.stdout
    assert _installed(two) == {"six", "idna"}
    assert _inode(two, "six.py") == six

    three = _pylock_app(tmp_path, "three", '"six==1.17.0", "iniconfig"', index.url)
    result = _build(three, cache, index.url, PYTHON_INSTALLER="pip")
    assert MOVED in result.stdout
    assert "No longer needed, uninstalled: idna" in result.stdout
    assert _installed(three) == {"six", "iniconfig"}
    assert _inode(three, "six.py") == six


def test_pip_with_a_group_and_a_local_package_updates_the_cached_environment(index, tmp_path):
    cache = tmp_path / "cache"

    def app(name: str, web: str, libx: str) -> Path:
        return support.write_app(tmp_path, {
            "requirements.txt": "six==1.17.0\n./libx\n",
            "pyproject.toml": f'[dependency-groups]\nweb = ["{web}"]\n',
            "libx/pyproject.toml": LIBX, "libx/libx.py": f"VALUE = {libx!r}\n"}, name)

    one = app("one", "idna", "first")
    _build(one, cache, index.url, PYTHON_INSTALLER="pip", PYTHON_DEPENDENCY_GROUPS="web")
    assert _installed(one) == {"six", "idna", "libx"}
    six = _inode(one, "six.py")

    two = app("two", "idna", "second")
    result = _build(two, cache, index.url, PYTHON_INSTALLER="pip", PYTHON_DEPENDENCY_GROUPS="web")
    assert MOVED in result.stdout
    assert _installed(two) == {"six", "idna", "libx"}  # the group's package is still needed
    assert _inode(two, "six.py") == six
    assert "VALUE = 'second'" in _file_of(two, "libx.py").read_text()  # no stale code

    three = app("three", "iniconfig", "second")
    result = _build(three, cache, index.url, PYTHON_INSTALLER="pip", PYTHON_DEPENDENCY_GROUPS="web")
    assert MOVED in result.stdout
    assert _installed(three) == {"six", "iniconfig", "libx"}
    assert _inode(three, "six.py") == six


def test_pip_installing_the_app_with_an_extra_and_a_group_updates_the_cached_environment(
        index, tmp_path):
    cache = tmp_path / "cache"
    selected = {"PYTHON_INSTALLER": "pip", "PYTHON_DEPENDENCY_GROUPS": "web", "PYTHON_EXTRAS": "cli"}

    def app(name: str, value: str) -> Path:
        return support.write_app(tmp_path, {"pyproject.toml": PIP_APP.format(web="idna"),
                                            "sel_app.py": f"VALUE = {value!r}\n"}, name)

    one = app("one", "first")
    _build(one, cache, index.url, **selected)
    assert _installed(one) == {"sel-app", "six", "idna", "iniconfig"}
    six = _inode(one, "six.py")

    two = app("two", "second")
    result = _build(two, cache, index.url, **selected)
    assert MOVED in result.stdout
    assert _installed(two) == {"sel-app", "six", "idna", "iniconfig"}  # extra and group kept
    assert _inode(two, "six.py") == six
    assert "VALUE = 'second'" in _file_of(two, "sel_app.py").read_text()

    three = app("three", "second")
    result = _build(three, cache, index.url, PYTHON_INSTALLER="pip")  # neither selected now
    assert MOVED in result.stdout
    assert _installed(three) == {"sel-app", "six"}
    assert _inode(three, "six.py") == six


def test_poetry_leaves_its_own_project_to_poetry_sync(index, tmp_path):
    """A warm Poetry build does not uninstall the app's own project first (every ``poetry
    sync`` installs it again from the app's files): its new version is what is installed,
    and the dependencies are the first build's files."""
    cache = tmp_path / "cache"
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    one = support.lock_fixture("poetry-app", tmp_path / "one", index.url, python)
    _build(one, cache, index.url)
    six = _inode(one, "six.py")

    two = tmp_path / "two" / "poetry-app"
    shutil.copytree(one, two, ignore=shutil.ignore_patterns(".heroku", ".profile.d"))
    pyproject = two / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.2.0"', 1))
    result = _build(two, cache, index.url)
    assert MOVED in result.stdout
    assert "Installed again from the app's current files" not in result.stdout
    assert "Installing the current project: poetry-app (0.2.0)" in result.stdout
    assert support.installed_distributions(two)["poetry-app"] == "0.2.0"
    assert _inode(two, "six.py") == six
