"""PYTHON_DEPENDENCY_GROUPS and PYTHON_EXTRAS for a pylock.toml (issue 24 items 1 and 3), in
real builds: a multi-use lock (its ``extras``, ``dependency-groups`` and ``default-groups``,
with ``'web' in dependency_groups`` markers) made at test time with the pinned PDM
(`pdm lock -G :all`, `pdm export -f pylock`) against the test index, installed by uv and by
pip with the selected group and extra besides the default group; the selection changed on a
rebuild from the cache; an unknown group named with the lock's own list."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib

from tests import support

pytestmark = pytest.mark.slow

PROJECT = """\
[project]
name = "lock-source"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.17.0"]

[project.optional-dependencies]
s3 = ["idna"]

[dependency-groups]
web = ["iniconfig"]
dev = ["packaging"]

[tool.pdm]
distribution = false
"""


@pytest.fixture(scope="module")
def index(package_index, runtime_store):
    support.ensure_tool_packages()
    return package_index


@pytest.fixture(scope="module")
def lock(index, tmp_path_factory) -> str:
    """The text of a multi-use pylock.toml, written by the pinned PDM."""
    source = tmp_path_factory.mktemp("lock-source")
    (source / "pyproject.toml").write_text(PROJECT)
    pdm = str(support.lock_tool("pdm"))
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    env = support.lock_env(source / ".scratch", {"PDM_PYTHON": str(python),
                                                 "PDM_PYPI_URL": index.url})
    for cmd in ([pdm, "lock", "-G", ":all"], [pdm, "export", "-f", "pylock", "-o", "pylock.toml"]):
        proc = subprocess.run(cmd, cwd=source, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (source / "pylock.toml").read_text()
    shutil.rmtree(source)
    data = tomllib.loads(text)
    assert (data["extras"], data["dependency-groups"], data["default-groups"]) == (
        ["s3"], ["default", "dev", "web"], ["default"]), text
    markers = {p["name"]: p["marker"] for p in data["packages"]}
    assert markers["iniconfig"] == '"web" in dependency_groups' and "sha256 = " in text
    return text


def _build(app: Path, cache: Path, index_url: str, **config: str) -> support.BuildResult:
    result = support.compile_app(app, cache, support.build_env(str(support.STORE_DIR), index_url,
                                                               config))
    assert "Traceback" not in result.log
    return result


def _installed(app: Path) -> set[str]:
    return set(support.installed_distributions(app)) - {"pip"}


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_a_group_and_an_extra_of_the_lock_are_installed(engine, lock, index, tmp_path):
    app = support.write_app(tmp_path, {"pylock.toml": lock})
    cache = tmp_path / "cache"
    result = _build(app, cache, index.url, PYTHON_INSTALLER=engine,
                    PYTHON_DEPENDENCY_GROUPS="web", PYTHON_EXTRAS="s3")
    assert result.returncode == 0, result.log
    assert ("With the group web and the extra s3 of pylock.toml, besides its default groups "
            "(default).") in result.stdout
    assert _installed(app) == {"six", "iniconfig", "idna"}  # not the dev group's packaging

    # The next build without them: the main packages only (uv from the cached environment).
    again = support.write_app(tmp_path, {"pylock.toml": lock}, "again")
    result = _build(again, cache, index.url, PYTHON_INSTALLER=engine)
    assert result.returncode == 0, result.log
    assert _installed(again) == {"six"}


def test_an_unknown_group_lists_the_locks_groups(lock, index, tmp_path):
    app = support.write_app(tmp_path, {"pylock.toml": lock})
    result = _build(app, tmp_path / "cache", index.url, PYTHON_DEPENDENCY_GROUPS="docs")
    assert result.returncode == 1, result.log
    assert "PYTHON_DEPENDENCY_GROUPS names an unknown dependency group: docs" in result.stderr
    assert "(pylock.toml dependency-groups): default, dev, web" in result.stderr
    assert "(error id: dependencies::unknown-group)" in result.stderr
    assert not (app / ".heroku").exists()
