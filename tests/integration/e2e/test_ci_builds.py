"""CI builds (the leader's test-run contract): bin/test-compile installs the dev and test
dependencies too, bin/test runs the app's tests and exits with their result."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow

DEV_ONLY = "iniconfig"  # the package-manager fixtures' dev-only dependency
UNITTEST = """\
import unittest


class DevDependencies(unittest.TestCase):
    def test_dev_and_main_dependencies_are_installed(self):
        import iniconfig  # noqa: F401 - dev group only
        import six
        self.assertEqual(six.__name__, "six")
"""


def run(program: str, *args: Path, env: dict[str, str], timeout: float = 900):
    return subprocess.run([str(support.BIN / program), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def env_dir(path: Path, **values: str) -> Path:
    path.mkdir()
    for name, value in values.items():
        (path / name).write_text(value)
    return path


def test_pip_app_installs_requirements_test_and_runs_pytest(tmp_path, build_env):
    app = support.copy_fixture("ci-pip-app", tmp_path)
    config = env_dir(tmp_path / "env", GREETING="hello")
    cache = tmp_path / "cache"
    # A normal build does not install the test dependencies.
    result = support.compile_app(app, cache, build_env, config)
    assert result.returncode == 0, result.log
    assert "pytest" not in support.installed_distributions(app)
    built = run("test-compile", app, cache, config, env=build_env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "-----> CI build (bin/test-compile): installing the dev and test dependencies too\n" \
        in built.stdout
    # By the record's engine, uv (the default), like requirements.txt.
    assert "-----> Installing the test dependencies using uv (0.13.9)\n" in built.stdout
    assert "        + pytest==9.2.0" in built.stdout
    assert "using pip" not in built.stdout
    assert support.installed_distributions(app)["pytest"] == "9.2.0"

    tested = run("test", app, config, env={"PATH": "/usr/bin:/bin"})
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "-----> Running the app's tests: python -m pytest\n" in tested.stdout
    assert "2 passed" in tested.stdout

    (app / "tests" / "test_app.py").write_text(
        (app / "tests" / "test_app.py").read_text() + "\n\ndef test_broken():\n    assert shout('a') == 'a'\n")
    tested = run("test", app, config, env={"PATH": "/usr/bin:/bin"})
    assert tested.returncode == 1, tested.stdout + tested.stderr
    assert "1 failed, 2 passed" in tested.stdout
    assert "-----> Tests failed (exit status 1)" in tested.stdout

    # A deadline bounds the run: past it the tests (and what they started) are stopped.
    (app / "tests" / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(120)\n")
    (config / "PYTHON_TEST_TIMEOUT").write_text("5")
    tested = run("test", app, config, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert tested.returncode == 1, tested.stdout + tested.stderr
    assert "(error id: test::timeout)" in tested.stderr


@pytest.mark.parametrize("case", ["pip-only feature", "PYTHON_INSTALLER=pip"])
def test_requirements_test_falls_back_to_pip(tmp_path, build_env, case):
    """uv's pip-only features in requirements-test.txt, or pip chosen: pip installs it."""
    app = support.copy_fixture("ci-pip-app", tmp_path / "app")
    values = {"PYTHON_INSTALLER": "pip"} if case == "PYTHON_INSTALLER=pip" else {}
    if case == "pip-only feature":
        (app / "requirements-test.txt").write_text("--prefer-binary\npytest==9.2.0\n")
    built = run("test-compile", app, tmp_path / "cache", env_dir(tmp_path / "env", **values),
                env=build_env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "-----> Installing the test dependencies using pip (26.3)\n" in built.stdout
    if case == "pip-only feature":  # requirements.txt still goes to uv; the reason in one line
        assert "-----> Installing dependencies using uv (0.13.9)\n" in built.stdout
        assert ("       --prefer-binary (requirements-test.txt line 1) is a pip feature that uv "
                "does not support: installing with pip instead.\n") in built.stdout
    else:
        assert "using uv" not in built.stdout
    assert support.installed_distributions(app)["pytest"] == "9.2.0"


def test_changed_requirements_keep_the_test_dependencies(tmp_path, build_env):
    """An incremental CI build (uv --exact drops what requirements.txt no longer names)
    still ends with the test dependencies installed."""
    cache = tmp_path / "cache"
    first = support.copy_fixture("ci-pip-app", tmp_path / "one")
    assert run("test-compile", first, cache, env=build_env).returncode == 0
    app = support.copy_fixture("ci-pip-app", tmp_path / "two")
    (app / "requirements.txt").write_text("six==1.17.0\nidna==3.20\n")
    built = run("test-compile", app, cache, env=build_env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "The previous build's environment, moved from the build cache" in built.stdout
    assert "-----> Installing the test dependencies using uv (0.13.9)\n" in built.stdout
    installed = support.installed_distributions(app)
    assert installed["pytest"] == "9.2.0" and installed["idna"] == "3.20"


def test_test_before_test_compile_is_an_error(tmp_path):
    app = support.copy_fixture("ci-pip-app", tmp_path)
    tested = run("test", app, env={"PATH": "/usr/bin:/bin"})
    assert tested.returncode == 1
    assert "(error id: test::not-built)" in tested.stderr


@pytest.fixture(scope="module")
def index(package_index):
    support.ensure_tool_packages()
    return package_index


# Issue 23: once, in CI, the PDM case failed with nothing from PDM in the log. Found by
# running two of these PDM builds at once, ten times, at load 12: in the tenth pair both
# failed. PDM installs into the Python it runs on, in parallel threads, and unearth imports
# `requests` when PDM makes a package finder: it imported the app's half-installed requests
# (pdm-app depends on it). One build got an ImportError from requests/exceptions.py; the
# other was killed by SIGBUS after two lines (a mapped file written under it: most likely
# charset-normalizer's .so, which requests imports), as near-silent as the CI failure.
# PDM now runs with -S and sees none of the app's site-packages (pinned_tools.Tool.
# without_site; tests/unit/test_pinned_tool_isolation.py fails without it).
# test_installer_output.py runs a failing `pdm sync --dev -G :all` and checks PDM's lines.
@pytest.mark.parametrize("fixture, step", [
    ("uv-app", "uv sync --locked --all-groups: the packages in uv.lock, with all groups"),
    ("poetry-app", "poetry sync --all-groups: the packages in poetry.lock, all groups"),
    ("pipenv-app", "pipenv install --deploy --system --dev: the [packages] and [dev-packages]"),
    ("pdm-app", "pdm sync --dev -G :all: the packages in pdm.lock, every group"),
])
def test_lock_managers_install_all_groups(tmp_path, index, build_env, fixture, step):
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    app = support.lock_fixture(fixture, tmp_path, index.url, python)
    (app / "test_dev.py").write_text(UNITTEST)
    built = run("test-compile", app, tmp_path / "cache", env=build_env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert f"       {step}\n" in built.stdout
    assert DEV_ONLY in support.installed_distributions(app)
    tested = run("test", app, env={"PATH": "/usr/bin:/bin"})
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "-----> Running the app's tests: python -m unittest discover\n" in tested.stdout
    assert "Ran 1 test" in tested.stderr
