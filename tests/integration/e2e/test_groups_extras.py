"""PYTHON_DEPENDENCY_GROUPS and PYTHON_EXTRAS in real builds (issue 24 item 1): uv, Poetry,
``pip install .[extra]`` and requirements.txt with pyproject.toml's [dependency-groups],
locked at test time with the pinned tools against the test index; what each build
installs is read from the slug's Python. The parsing and the checks are unit-tested in
tests/unit/test_selection.py.

Each app's main dependency is six; the group ``web`` adds idna, the extra ``cli`` adds
iniconfig; the group ``dev`` (certifi) is never installed."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow

UV_APP = """\
[project]
name = "sel-app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.17.0"]

[project.optional-dependencies]
CLI = ["iniconfig"]

[dependency-groups]
Web = ["idna"]
dev = ["certifi"]

[tool.uv]
package = false

[[tool.uv.index]]
name = "local"
url = "@INDEX_URL@"
default = true
"""

POETRY_APP = """\
[project]
name = "sel-app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.17.0"]

[project.optional-dependencies]
cli = ["iniconfig"]

[tool.poetry]
package-mode = false

[tool.poetry.group.web.dependencies]
idna = "*"

[tool.poetry.group.dev.dependencies]
certifi = "*"

[[tool.poetry.source]]
name = "local"
url = "@INDEX_URL@"
priority = "primary"
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
web = ["idna"]
dev = ["certifi"]

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[tool.setuptools]
py-modules = []
"""

PDM_APP = """\
[project]
name = "sel-app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.17.0"]

[project.optional-dependencies]
cli = ["iniconfig"]

[dependency-groups]
web = ["idna"]
dev = ["certifi"]

[tool.pdm]
distribution = false

[[tool.pdm.source]]
name = "pypi"
url = "@INDEX_URL@"
verify_ssl = false
"""

PIPFILE = """\
[[source]]
url = "@INDEX_URL@"
verify_ssl = false
name = "local"

[packages]
six = "==1.17.0"

[web]
idna = "*"

[dev-packages]
certifi = "*"

[requires]
python_version = "3.13"
"""

REQUIREMENTS_PYPROJECT = """\
[dependency-groups]
web = ["idna"]
dev = ["certifi"]
"""


@pytest.fixture(scope="module")
def index(package_index, runtime_store):
    support.ensure_tool_packages()
    return package_index


def _locked(tmp_path: Path, tool: str, manifest: str, index_url: str) -> Path:
    name = "Pipfile" if tool == "pipenv" else "pyproject.toml"
    app = support.write_app(tmp_path, {name: manifest.replace(support.INDEX_PLACEHOLDER,
                                                              index_url)})
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    cmd = {"uv": [str(support.lock_tool("uv")), "lock", "--python", str(python)],
           "poetry": [str(support.lock_tool("poetry")), "lock", "--no-interaction"],
           "pdm": [str(support.lock_tool("pdm")), "lock", "-G", ":all"],  # extras too
           "pipenv": [str(support.lock_tool("pipenv")), "lock", "--python", str(python)]}[tool]
    scratch = tmp_path / ".lock-scratch"
    proc = subprocess.run(cmd, cwd=app, env=support.lock_env(scratch, {"PDM_PYTHON": str(python)}),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shutil.rmtree(scratch, ignore_errors=True)
    return app


def _build(app: Path, cache: Path, index_url: str, **config: str) -> support.BuildResult:
    env = support.build_env(str(support.STORE_DIR), index_url, config)
    result = support.compile_app(app, cache, env)
    assert "Traceback" not in result.log
    return result


def _installed(app: Path) -> set[str]:
    return set(support.installed_distributions(app)) - {"pip"}


@pytest.mark.parametrize("tool, pyproject, shown", [
    ("uv", UV_APP,
     "uv sync --locked --no-default-groups --group Web --extra CLI: the packages in uv.lock, "
     "without the dev groups, with the group Web and the extra CLI"),
    ("poetry", POETRY_APP,
     "poetry sync --only main,web --extras cli: the packages in poetry.lock, the main group, "
     "with the group web and the extra cli"),
    ("pdm", PDM_APP,
     "pdm sync -G web -G cli: the packages in pdm.lock, the default group, with the group web "
     "and the extra cli"),
])
def test_lock_file_managers_install_the_named_group_and_extra(tool, pyproject, shown, index,
                                                               tmp_path):
    app = _locked(tmp_path, tool, pyproject, index.url)
    plain = shutil.copytree(app, tmp_path / "plain")
    result = _build(plain, tmp_path / "cache-plain", index.url)
    assert result.returncode == 0, result.log
    assert _installed(plain) == {"six"}

    # Named in another spelling: compared normalised, handed over as the project spells it.
    result = _build(app, tmp_path / "cache", index.url,
                    PYTHON_DEPENDENCY_GROUPS="WEB", PYTHON_EXTRAS="cli")
    assert result.returncode == 0, result.log
    assert shown in result.stdout
    assert _installed(app) == {"six", "idna", "iniconfig"}  # never the dev group's certifi


def test_pipenv_installs_a_named_category(index, tmp_path):
    app = _locked(tmp_path, "pipenv", PIPFILE, index.url)
    result = _build(app, tmp_path / "cache", index.url, PYTHON_DEPENDENCY_GROUPS="web")
    assert result.returncode == 0, result.log
    assert ("pipenv install --deploy --system --categories packages web: the [packages] of "
            "Pipfile.lock, no dev-packages, with the group web") in result.stdout
    assert _installed(app) == {"six", "idna"}


def test_pip_installs_the_app_with_its_extra_and_group(index, tmp_path):
    app = support.write_app(tmp_path, {"pyproject.toml": PIP_APP})
    result = _build(app, tmp_path / "cache", index.url,
                    PYTHON_DEPENDENCY_GROUPS="web", PYTHON_EXTRAS="cli")
    assert result.returncode == 0, result.log
    assert "is installed with `pip install .[cli]`" in result.stdout
    assert "With the group web and the extra cli." in result.stdout
    assert _installed(app) == {"sel-app", "six", "idna", "iniconfig"}


def test_pip_reports_an_extra_a_setup_py_app_does_not_provide(index, tmp_path):
    app = support.write_app(tmp_path, {
        "setup.py": "from setuptools import setup\n"
                    "setup(name='sel-app', version='0.1', py_modules=[],\n"
                    "      install_requires=['six==1.17.0'], extras_require={'cli': ['iniconfig']})\n"})
    result = _build(app, tmp_path / "cache", index.url, PYTHON_EXTRAS="cli")
    assert result.returncode == 0, result.log
    assert _installed(app) == {"sel-app", "six", "iniconfig"}
    again = support.write_app(tmp_path, {"setup.py": (app / "setup.py").read_text()}, "again")
    result = _build(again, tmp_path / "cache", index.url, PYTHON_EXTRAS="cli,s3")
    assert result.returncode == 1, result.log
    assert "(error id: dependencies::unknown-extra)" in result.stderr
    assert "does not provide s3" in result.stderr


def test_requirements_txt_groups_update_the_cached_environment(index, tmp_path):
    files = {"requirements.txt": "six==1.17.0\n", "pyproject.toml": REQUIREMENTS_PYPROJECT}
    cache = tmp_path / "cache"
    logs = []
    for attempt, groups in (("one", ""), ("two", "web"), ("three", "web")):
        app = support.write_app(tmp_path, files, attempt)
        result = _build(app, cache, index.url, PYTHON_DEPENDENCY_GROUPS=groups)
        assert result.returncode == 0, result.log
        logs.append(result.stdout)
        assert _installed(app) == ({"six", "idna"} if groups else {"six"})
    # The previous environment comes back each time and uv applies the selection.
    assert "The previous build's environment, moved from the build cache" in logs[1]
    assert "With the group web of pyproject.toml [dependency-groups]." in logs[1]
    assert "+ idna==" in logs[1]
    assert "The previous build's environment, moved from the build cache" in logs[2]
    assert "+ " not in logs[2] and "- six" not in logs[2]  # nothing changed


def test_pip_engine_installs_requirements_with_a_group(index, tmp_path):
    app = support.write_app(tmp_path, {"requirements.txt": "six==1.17.0\n",
                                       "pyproject.toml": REQUIREMENTS_PYPROJECT})
    result = _build(app, tmp_path / "cache", index.url, PYTHON_INSTALLER="pip",
                    PYTHON_DEPENDENCY_GROUPS="web")
    assert result.returncode == 0, result.log
    assert "Installing dependencies using pip" in result.stdout
    assert _installed(app) == {"six", "idna"}


@pytest.mark.parametrize("config, error_id, listed", [
    ({"PYTHON_DEPENDENCY_GROUPS": "web,worker"}, "dependencies::unknown-group", "Web, dev"),
    ({"PYTHON_EXTRAS": "s3"}, "dependencies::unknown-extra", "CLI"),
    ({"PYTHON_EXTRAS": "cli;rm -rf"}, "dependencies::invalid-selection", "is not a valid name"),
])
def test_a_bad_selection_fails_at_plan_time_and_lists_what_exists(config, error_id, listed,
                                                                  index, tmp_path):
    app = support.write_app(tmp_path, {"pyproject.toml": UV_APP.replace(
        support.INDEX_PLACEHOLDER, index.url), "uv.lock": "version = 1\n"})
    before = support.tree_snapshot(app)
    result = _build(app, tmp_path / "cache", index.url, **config)
    assert result.returncode == 1, result.log
    assert f"(error id: {error_id})" in result.stderr
    assert listed in result.stderr
    assert "Installing" not in result.stdout  # nothing was written
    assert support.tree_snapshot(app) == before
