"""A failing installer's own output is in the log, where the error says it is (issue 23):
real PDM, Poetry and pip runs against the test index that fail on a lock file or a
requirements file whose pinned hash of six is wrong. Each installer's lines are in the
log between its step and the error, and the error says they are above it. PDM's case
runs both its commands: ``pdm sync --prod`` (a build) and ``pdm sync --dev -G :all`` (a CI
build, the command of the CI failure that printed nothing, see test_ci_builds.py)."""
from __future__ import annotations

import re
import subprocess

import pytest

from tests import support

pytestmark = pytest.mark.slow

SIX_WHEEL_HASH = (r'(\{(?:url|file) = "[^"]*six-1\.17\.0[^"]*", hash = "sha256:)[0-9a-f]{64}')


def _spoil_six(path) -> None:
    text = path.read_text()
    spoiled = re.sub(SIX_WHEEL_HASH, r"\g<1>" + "0" * 64, text)
    assert spoiled != text, f"{path.name} names no six wheel hash"
    path.write_text(spoiled)


def _locked_app(tmp_path, fixture: str, index_url: str):
    support.ensure_tool_packages()
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    app = support.lock_fixture(fixture, tmp_path, index_url, python)
    _spoil_six(app / ("pdm.lock" if fixture == "pdm-app" else "poetry.lock"))
    return app


def _run(program: str, app, cache, env) -> support.BuildResult:
    proc = subprocess.run([str(support.BIN / program), str(app), str(cache)], env=env, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)
    return support.BuildResult(proc.returncode, proc.stdout, proc.stderr, app)


def _assert_own_output_above_the_error(built: support.BuildResult, command: str) -> None:
    assert built.returncode == 1, built.log
    out = built.stdout
    assert command in out, built.log
    said = [line for line in out[out.index(command):].splitlines()[1:] if line.strip()]
    assert said, f"nothing from the installer between its step and the error:\n{built.log}"
    assert all(line.startswith("       ") for line in said), said
    assert any(re.search(r"hash|checksum", line, re.I) for line in said), said  # Poetry: "checksums"
    assert "shown above" in built.stderr and "printed nothing" not in built.stderr, built.stderr


@pytest.mark.parametrize("program, command", [("compile", "       pdm sync --prod"),
                                              ("test-compile", "       pdm sync --dev -G :all")])
def test_pdm_failure_shows_pdms_own_error_above_the_error_block(tmp_path, package_index, build_env,
                                                                program, command):
    app = _locked_app(tmp_path, "pdm-app", package_index.url)
    _assert_own_output_above_the_error(_run(program, app, tmp_path / "cache", build_env), command)


def test_poetry_failure_shows_poetrys_own_error_above_the_error_block(tmp_path, package_index, build_env):
    app = _locked_app(tmp_path, "poetry-app", package_index.url)
    built = _run("compile", app, tmp_path / "cache", build_env)
    _assert_own_output_above_the_error(built, "       poetry sync --only main")


def test_pip_failure_shows_pips_own_error_above_the_error_block(tmp_path, build_env):
    app = support.write_app(tmp_path, {"requirements.txt": f"six==1.17.0 --hash=sha256:{'0' * 64}\n"})
    built = _run("compile", app, tmp_path / "cache", {**build_env, "PYTHON_INSTALLER": "pip"})
    _assert_own_output_above_the_error(built, "-----> Installing dependencies using pip")
