"""pylock.toml (PEP 751) in real builds (issue 24 item 3): made at test time with the
pinned uv (`uv export --format pylock.toml`) against the test index, installed by uv and
by pip, hash-checked, its requires-python choosing the Python, the installed environment
brought up to date from the cache, and ``pylock.<name>.toml`` chosen by PYTHON_PYLOCK."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow

PROJECT = """\
[project]
name = "lock-source"
version = "0.1.0"
requires-python = "{requires}"
dependencies = [{dependencies}]

[tool.uv]
package = false

[[tool.uv.index]]
name = "local"
url = "{index}"
default = true
"""
REQUESTS_CLOSURE = {"requests", "certifi", "charset-normalizer", "idna", "urllib3", "six"}


@pytest.fixture(scope="module")
def index(package_index, runtime_store):
    support.ensure_tool_packages()
    return package_index


def make_pylock(tmp_path: Path, index_url: str, dependencies: str,
                requires: str = ">=3.11", minor: str = "3.13") -> str:
    """The text of a pylock.toml for ``dependencies``, locked and exported by the pinned uv."""
    source = tmp_path / f"lock-source-{abs(hash((dependencies, requires)))}"
    source.mkdir(parents=True)
    (source / "pyproject.toml").write_text(PROJECT.format(
        requires=requires, dependencies=dependencies, index=index_url))
    uv = str(support.lock_tool("uv"))
    python = support.find_prefix(minor) / "bin" / f"python{minor}"
    env = support.lock_env(source / ".scratch")
    for cmd in ([uv, "lock", "--python", str(python)],
                [uv, "export", "--format", "pylock.toml", "--no-dev", "-o", "pylock.toml"]):
        proc = subprocess.run(cmd, cwd=source, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (source / "pylock.toml").read_text()
    shutil.rmtree(source)
    assert 'lock-version = "1.0"' in text and "sha256 = " in text
    return text


@pytest.fixture(scope="module")
def locks(index, tmp_path_factory):
    where = tmp_path_factory.mktemp("locks")
    return {
        "requests": make_pylock(where, index.url, '"requests", "six==1.17.0"'),
        "six": make_pylock(where, index.url, '"six==1.17.0", "iniconfig"'),
        "py311": make_pylock(where, index.url, '"six==1.17.0"', ">=3.11,<3.12", "3.11"),
    }


def _build(app: Path, cache: Path, index_url: str, **config: str) -> support.BuildResult:
    result = support.compile_app(app, cache, support.build_env(str(support.STORE_DIR), index_url,
                                                               config))
    assert "Traceback" not in result.log
    return result


def _installed(app: Path) -> set[str]:
    return set(support.installed_distributions(app)) - {"pip"}


@pytest.mark.parametrize("engine, step", [
    ("uv", "-----> Installing dependencies using uv (0.13.9)"),
    ("pip", "-----> Installing dependencies using pip (26.3)"),
])
def test_each_engine_installs_the_lock_and_checks_its_hashes(engine, step, locks, index,
                                                             tmp_path):
    app = support.write_app(tmp_path, {"pylock.toml": locks["requests"]})
    result = _build(app, tmp_path / "cache", index.url, PYTHON_INSTALLER=engine)
    assert result.returncode == 0, result.log
    assert step in result.stdout
    installed = support.installed_distributions(app)
    assert set(installed) - {"pip"} == REQUESTS_CLOSURE
    assert installed["pip"] == "26.3"  # the slug keeps the pinned pip

    # One hash changed: the file the index serves no longer matches the lock.
    text = locks["requests"]
    start = text.index('sha256 = "', text.index('name = "six"')) + len('sha256 = "')
    tampered = text[:start] + ("0" if text[start] != "0" else "1") + text[start + 1:]
    bad = support.write_app(tmp_path, {"pylock.toml": tampered}, "tampered")
    result = _build(bad, tmp_path / "cache-bad", index.url, PYTHON_INSTALLER=engine)
    assert result.returncode == 1, result.log
    assert "(error id: package-index::hash-mismatch)" in result.stderr


def test_requires_python_of_the_lock_chooses_the_python(locks, index, tmp_path):
    app = support.write_app(tmp_path, {"pylock.toml": locks["py311"]})
    result = _build(app, tmp_path / "cache", index.url)
    assert result.returncode == 0, result.log
    assert ("using Python 3.11, the newest the store has that satisfies pylock.toml"
            in result.stdout)
    assert "pylock.toml (requires-python) says '==3.11.*'" in result.stdout  # as uv wrote it
    assert "experimental and may change" not in result.log
    assert (app / ".heroku/python/bin/python3.11").exists()
    assert _installed(app) == {"six"}


def test_a_changed_lock_updates_the_cached_environment(locks, index, tmp_path):
    cache = tmp_path / "cache"
    logs = []
    for attempt, lock in (("one", "requests"), ("two", "six"), ("three", "six")):
        app = support.write_app(tmp_path, {"pylock.toml": locks[lock]}, attempt)
        result = _build(app, cache, index.url)
        assert result.returncode == 0, result.log
        logs.append(result.stdout)
        installed = support.installed_distributions(app)
        assert installed.pop("pip") == "26.3"
        assert set(installed) == (REQUESTS_CLOSURE if lock == "requests" else {"six", "iniconfig"})
    # The engine runs against the previous environment: it installs the difference.
    assert "The previous build's environment, moved from the build cache" in logs[1]
    assert "+ iniconfig==" in logs[1] and "- requests==" in logs[1]
    assert "The previous build's environment, moved from the build cache" in logs[2]
    assert "+ " not in logs[2] and "- requests" not in logs[2]  # nothing changed


def test_python_pylock_picks_a_named_lock(locks, index, tmp_path):
    app = support.write_app(tmp_path, {"pylock.toml": locks["requests"],
                                       "pylock.small.toml": locks["six"]})
    result = _build(app, tmp_path / "cache", index.url, PYTHON_PYLOCK="small")
    assert result.returncode == 0, result.log
    assert "uv pip install -r pylock.small.toml: the packages of the lock file" in result.stdout
    assert _installed(app) == {"six", "iniconfig"}
    result = _build(support.write_app(tmp_path, {"pylock.toml": locks["six"]}, "missing"),
                    tmp_path / "cache2", index.url, PYTHON_PYLOCK="prod")
    assert result.returncode == 1, result.log
    assert "(error id: pylock::missing)" in result.stderr
