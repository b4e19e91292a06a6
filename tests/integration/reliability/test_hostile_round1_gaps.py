"""Issue 21: the first-round cases (issue 15's named examples) that no build tested, and
local code outside the app (class 5), as real builds between round two's sentinel files.

docs/reliability.md ("The first round, case by case") lists every named example of
issue 15 with the test that covers it; the cases here are the ones that were covered by
unit tests only, or not at all.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.reliability.test_hostile import (
    Case,
    World,
    _cfg,
    _check,
    _steps,
    _w,
    build,
    snapshot,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def index(package_index):
    return package_index.url


def _outside_project(world: World) -> None:
    """A package outside the app, where a path requirement could reach it."""
    folder = world.root / "outside"
    (folder / "outsidepkg").mkdir(parents=True)
    (folder / "outsidepkg/__init__.py").write_text("X = 1\n")
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "outsidepkg"\nversion = "1"\n')


def _requirements(line: str) -> object:
    return lambda w: (_outside_project(w), w.write(
        "requirements.txt", "six==1.17.0\n" + line.format(outside=w.root / "outside") + "\n"))


def _pyproject(world: World) -> None:
    _outside_project(world)
    (world.app / "requirements.txt").unlink()
    world.write("pyproject.toml",
                '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
                '[project]\nname = "app"\nversion = "1"\n'
                f'dependencies = ["outsidepkg @ file://{world.root / "outside"}"]\n')


CASES: dict[str, Case] = {
    # class 5: local code outside the app, refused at plan time like -r ../outside.txt
    "name-at-relative-path": Case("r3-requirements", _requirements("outsidepkg @ ../outside"),
                                  "requirements::path-outside",
                                  expect=("requirements.txt line 2 names local code outside",)),
    "name-at-file-url": Case("r3-requirements", _requirements("outsidepkg @ file://{outside}"),
                             "requirements::path-outside"),
    "file-url-relative": Case("r3-requirements", _requirements("file:../outside"),
                              "requirements::path-outside"),
    "editable-outside": Case("r3-requirements", _requirements("-e ../outside"),
                             "requirements::path-outside"),
    "pyproject-dependency-outside": Case("r3-requirements", _pyproject,
                                         "dependencies::path-outside",
                                         expect=("pyproject.toml line 8 names local code",)),
    "find-links-outside": Case("r3-requirements", _requirements("--find-links ../outside"),
                               "requirements::path-outside",
                               expect=("requirements.txt line 2 names packages (--find-links) outside",)),
    # a marker pip cannot evaluate (pip 26.3: a traceback; uv installs): refused at plan time
    "marker-pip-cannot-evaluate": Case(
        "r3-requirements", _w("requirements.txt", "six ; 'x' != ''\n"), "requirements::invalid-marker",
        expect=("requirements.txt line 1 has a marker pip cannot evaluate",), never=("Traceback",)),
    "marker-pip-cannot-evaluate-pip": Case(
        "r3-requirements", _steps(_cfg("PYTHON_INSTALLER", "pip"), _w("requirements.txt", "six ; 'x' != ''\n")),
        "requirements::invalid-marker", never=("Traceback",)),
    # first round, class 3: an index password with "/" or a port typo, in requirements.txt
    "requirements-index-password-slash": Case(
        "credentials", _w("requirements.txt", "--index-url https://u:rq/pa55@idx.invalid/simple/\nsix\n"),
        "url::invalid", never=("rq/pa55", "pa55@idx"),
        expect=("requirements.txt line 1 (--index-url) is not a valid URL",)),
    "requirements-index-password-slash-pip": Case(
        "credentials", _steps(_cfg("PYTHON_INSTALLER", "pip"), _w(
            "requirements.txt", "six\n--extra-index-url https://u:rq/pa55@idx.invalid/simple/\n")),
        "url::invalid", never=("rq/pa55", "pa55@idx")),
    "requirements-vcs-password-slash": Case(
        "credentials", _w("requirements.txt", "x @ git+https://u:vc/pa55@idx.invalid/x.git@main\n"),
        "url::invalid", never=("vc/pa55", "pa55@idx")),
    "requirements-index-port-typo": Case(
        "credentials", _w("requirements.txt", "-i http://u:rqpa55word@127.0.0.1:443O/simple/\nsix\n"),
        "url::invalid", never=("rqpa55word",)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_round1_gap(name, tmp_path, runtime_store, index, figures):
    case = CASES[name]
    world = World(tmp_path)
    case.spoil(world)
    before = world.outside()
    app_before = snapshot(world.app)
    _check(case, world, str(runtime_store), index, figures, before, app_before)


def _import(app: Path, module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(app / ".heroku/python/bin/python3"), "-c",
                           f"import {module}; print(open({module}.__file__).read()[-200:])"],
                          capture_output=True, text=True, timeout=60, cwd=app)


def test_config_vars_in_requirements_with_pip(tmp_path, runtime_store, index, figures):
    """First round, class 9 with the pip engine: ${VAR} from ENV_DIR reaches pip, masked."""
    world = World(tmp_path / "world")
    world.config("PYTHON_INSTALLER", "pip")
    world.config("INDEX_USER", "deployer")
    world.config("INDEX_PASSWORD", "req-pa55w0rd-88")
    authed = index.replace("http://", "http://${INDEX_USER}:${INDEX_PASSWORD}@")
    world.write("requirements.txt", f"--index-url {authed}\nsix==1.17.0\n")
    before = world.outside()
    result = build(world, str(runtime_store), None)
    figures.add("config-refs")
    figures.add("sentinels")
    assert result.returncode == 0, result.log[-3000:]
    assert "Installing dependencies using pip" in result.log or "pip install" in result.log
    assert _import(world.app, "six").returncode == 0
    assert "req-pa55w0rd-88" not in result.log and "%24%7B" not in result.log
    assert world.outside() == before


def test_a_later_buildpack_writing_into_the_slug(tmp_path, runtime_store, index, figures):
    """First round, class 5: a later buildpack (after compile, so no snapshot of ours
    sees it) appends to an installed file in the slug. The next build from the same
    cache must install the file as it was, not the changed copy."""
    world = World(tmp_path / "world")
    world.write("requirements.txt", "six==1.17.0\n")
    one = build(world, str(runtime_store), index)
    assert one.returncode == 0, one.log[-3000:]
    six = next((world.app / ".heroku/python/lib").glob("python3*/site-packages/six.py"))
    with open(six, "a") as out:  # the later buildpack
        out.write("\nraise SystemExit('poisoned by a later buildpack')\n")
    for round_ in ("fresh", "again"):
        app = tmp_path / round_
        shutil.copytree(world.app, app, ignore=shutil.ignore_patterns(".heroku", ".profile.d"))
        before = world.outside()
        result = build(world, str(runtime_store), index, app=app)
        figures.add("cache-damage")
        figures.add("sentinels")
        assert result.returncode == 0, result.log[-3000:]
        assert "Traceback" not in result.log
        check = _import(app, "six")
        assert check.returncode == 0 and "poisoned" not in check.stdout, check.stdout + check.stderr
        assert world.outside() == before


def test_a_damaged_cached_tool_binary(tmp_path, runtime_store, index, figures):
    """First round, class 5: the cached uv binary damaged (same size, other bytes): the
    build discards it with a warning, installs it again and succeeds."""
    world = World(tmp_path / "world")
    world.write("requirements.txt", "six==1.17.0\n")
    one = build(world, str(runtime_store), index)
    assert one.returncode == 0, one.log[-3000:]
    binary = next((world.cache / "tools").glob("uv-*/bin/uv"))
    size = binary.stat().st_size
    binary.write_bytes(b"#!/bin/sh\nexit 0\n".ljust(size, b"\0"))
    app = tmp_path / "again"
    shutil.copytree(world.app, app, ignore=shutil.ignore_patterns(".heroku", ".profile.d"))
    world.write("requirements.txt", "six==1.17.0\nidna==3.21\n")
    shutil.copy(world.app / "requirements.txt", app / "requirements.txt")
    before = world.outside()
    two = build(world, str(runtime_store), index, app=app)
    figures.add("cache-damage")
    figures.add("sentinels")
    assert two.returncode == 0, two.log[-3000:]
    assert "Traceback" not in two.log
    assert "Discarding a damaged cached uv" in two.log, two.log[-3000:]
    assert _import(app, "idna").returncode == 0
    assert world.outside() == before

