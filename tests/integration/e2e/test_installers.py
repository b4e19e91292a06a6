"""Each package manager end to end: lock at test time, build, move, start, GET.

The fixtures (fixtures/{uv,poetry,pipenv,pyproject}-app) hold only the manifest and the
app; their locks are made once per module by the pinned tools against the test index.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tomllib

from tests import support

pytestmark = pytest.mark.slow

APPS = {
    # fixture: (log line of the install step, the lock file)
    "uv-app": ("-----> Installing dependencies using uv (0.13.9)", "uv.lock"),
    "poetry-app": ("-----> Installing dependencies using Poetry (2.5.1)", "poetry.lock"),
    "pipenv-app": ("-----> Installing dependencies using Pipenv (2026.10.3)", "Pipfile.lock"),
    "pdm-app": ("-----> Installing dependencies using PDM (2.29.4)", "pdm.lock"),
    "pyproject-app": ("-----> Installing the app and its dependencies using pip (26.3)", None),
}
# What the fixtures ask for at run time (main dependencies and what they pull in), and
# their dev-only dependency, which must never be installed.
RUNTIME_CLOSURE = {"requests", "six", "certifi", "charset-normalizer", "idna", "urllib3"}
DEV_ONLY = "iniconfig"
# Directories that would be a tool's download cache, had one been written into the slug.
CACHE_MARKERS = ("CACHEDIR.TAG", "http-v2", "pypoetry", ".cache", "uv-cache", "pipenv")


@pytest.fixture(scope="module")
def index(package_index):
    support.ensure_tool_packages()
    return package_index


@pytest.fixture(scope="module")
def locked(index, tmp_path_factory):
    """fixture name -> a locked copy of it, made on first use (tests copy it further)."""
    made: dict[str, Path] = {}
    python = support.find_prefix("3.13") / "bin" / "python3.13"

    def get(name: str) -> Path:
        if name not in made:
            dest = tmp_path_factory.mktemp(name)
            if APPS[name][1] is None:
                made[name] = support.copy_fixture(name, dest)
            else:
                made[name] = support.lock_fixture(name, dest, index.url, python)
        return made[name]

    return get


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


def expected_from_lock(app: Path, lock: str | None) -> set[str]:
    """The canonical names the lock installs without dev dependencies (+ the app itself)."""
    def canon(name: str) -> str:
        return name.lower().replace("_", "-").replace(".", "-")

    if lock == "Pipfile.lock":
        return {canon(n) for n in json.loads((app / lock).read_text())["default"]}
    if lock == "poetry.lock":
        packages = tomllib.loads((app / lock).read_text())["package"]
        return {canon(p["name"]) for p in packages if "main" in p["groups"]} | {"poetry-app"}
    if lock == "pdm.lock":
        packages = tomllib.loads((app / lock).read_text())["package"]
        return {canon(p["name"]) for p in packages if "default" in p.get("groups", [])}
    if lock == "uv.lock":
        packages = {p["name"]: p for p in tomllib.loads((app / lock).read_text())["package"]}
        todo, seen = ["uv-app"], set()
        while todo:  # the root's dependencies, not its dev-dependencies
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(d["name"] for d in packages[name].get("dependencies", []))
        return {canon(n) for n in seen}
    return RUNTIME_CLOSURE | {"pyproject-app"}


@pytest.mark.parametrize("name", list(APPS))
def test_manager_app_builds_moves_starts_and_matches_its_lock(name, locked, index, runtime_store, tmp_path):
    step, lock = APPS[name]
    build_root = tmp_path / "tmp-build"
    app = _copy(locked(name), build_root / name)
    cache = tmp_path / "cache"
    result = support.compile_app(app, cache, support.build_env(str(runtime_store), index.url))
    assert result.returncode == 0, result.log
    assert step in result.stdout
    assert "Traceback" not in result.log
    expected = expected_from_lock(app, lock)

    slug = tmp_path / "mounted" / "app"
    slug.parent.mkdir()
    shutil.move(str(app), slug)
    shutil.rmtree(build_root)

    port = support.free_port()
    command = (slug / "Procfile").read_text().split(":", 1)[1].strip()
    proc = support.RunningProcess(slug, command, port)
    try:
        body = json.loads(support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc))
    finally:
        proc.stop()
    installed = support.installed_distributions(slug)
    assert body == {"app": name, "requests": installed["requests"], "six": "1.17.0"}
    assert set(installed) - {"pip"} == expected
    assert RUNTIME_CLOSURE <= expected and DEV_ONLY not in installed
    assert support.files_containing(slug, str(build_root)) == []
    assert [p for p in slug.rglob("*") if p.name in CACHE_MARKERS] == []
    if lock is not None:  # the tool itself stayed in the cache
        tool = name.split("-")[0]
        assert list((cache / "tools").glob(f"{tool}-*")), list(cache.iterdir())
        assert tool not in installed
    # A fresh runtime: uv (fetched while it unpacked) installed pip, and the Python tools;
    # it stays in the cache only for the apps it installs (uv pip, uv.lock).
    assert _installer(slug / ".heroku/python/lib/python3.13/site-packages", "pip") \
        == ("pip" if name == "pyproject-app" else "uv")
    if name in ("pipenv-app", "poetry-app", "pdm-app"):
        tool_dir = next((cache / "tools").glob(f"{name.split('-')[0]}-*"))
        assert _installer(tool_dir, name.split("-")[0]) == "uv"
    assert bool(list((cache / "tools").glob("uv-*"))) == (name == "uv-app")


def _installer(site: Path, name: str) -> str:
    """What installed ``name`` there (its dist-info's INSTALLER file, PEP 376)."""
    return next(site.glob(f"{name}-*.dist-info")).joinpath("INSTALLER").read_text().strip()


def test_tool_is_reused_from_the_cache(locked, index, runtime_store, tmp_path):
    cache = tmp_path / "cache"
    logs = []
    for attempt, timeout in (("one", None), ("two", "30")):
        app = _copy(locked("poetry-app"), tmp_path / attempt)
        extra = {"POETRY_REQUESTS_TIMEOUT": timeout} if timeout else None
        result = support.compile_app(app, cache, support.build_env(str(runtime_store),
                                                                   index.url, extra))
        assert result.returncode == 0, result.log
        logs.append(result.stdout)
    assert "-----> Installing Poetry 2.5.1" in logs[0]
    # A changed installer setting rebuilds the environment, with the cached Poetry.
    assert "-----> Using cached Poetry 2.5.1" in logs[1]
    assert "Installing dependencies using Poetry (2.5.1)" in logs[1]


@pytest.mark.parametrize("name, edit, error_id, command", [
    ("uv-app", ("pyproject.toml", '"six==1.17.0"]', '"six==1.17.0", "idna"]'),
     "uv::lock-out-of-date", "uv lock"),
    ("poetry-app", ("pyproject.toml", '"six==1.17.0"]', '"six==1.17.0", "idna"]'),
     "poetry::lock-out-of-date", "poetry lock"),
    ("pipenv-app", ("Pipfile", 'six = "==1.17.0"', 'six = "==1.17.0"\nidna = "*"'),
     "pipenv::lock-out-of-date", "pipenv lock"),
    ("pdm-app", ("pyproject.toml", '"six==1.17.0"]', '"six==1.17.0", "idna"]'),
     "pdm::lock-out-of-date", "pdm lock"),
])
def test_stale_lock_fails_saying_how_to_regenerate(name, edit, error_id, command, locked, index,
                                                   runtime_store, tmp_path):
    app = _copy(locked(name), tmp_path / name)
    manifest, old, new = edit
    text = (app / manifest).read_text()
    assert old in text
    (app / manifest).write_text(text.replace(old, new))
    before = support.tree_snapshot(app)
    result = support.compile_app(app, tmp_path / "cache",
                                 support.build_env(str(runtime_store), index.url))
    assert result.returncode == 1, result.log
    assert f"(error id: {error_id})" in result.stderr
    assert f"Run `{command}` and commit" in result.stderr
    assert "Traceback" not in result.log
    assert support.tree_snapshot(app) == before


def test_invalid_poetry_project_fails_with_poetrys_reason(locked, index, runtime_store, tmp_path):
    """``poetry sync`` refuses an invalid pyproject.toml itself (no ``poetry check`` first):
    its reason is shown, under the check-failed id."""
    app = _copy(locked("poetry-app"), tmp_path / "poetry-app")
    text = (app / "pyproject.toml").read_text()
    (app / "pyproject.toml").write_text(text.replace('version = "0.1.0"', "version = 12", 1))
    result = support.compile_app(app, tmp_path / "cache",
                                 support.build_env(str(runtime_store), index.url))
    assert result.returncode == 1, result.log
    assert "(error id: poetry::check-failed)" in result.stderr
    assert "project.version must be string" in result.log
    assert "Traceback" not in result.log


def test_without_uv_on_the_index_pip_installs_itself_and_the_tool(locked, index, runtime_store,
                                                                  tmp_path):
    """A fresh runtime of a Pipenv app whose index does not serve uv: pip installs itself
    and Pipenv (from its wheel fetched meanwhile), and the build goes on as with uv."""
    packages = tmp_path / "packages"
    packages.mkdir()
    for path in index.packages.iterdir():
        if not path.name.startswith("uv-"):
            (packages / path.name).symlink_to(path)
    assert list(index.packages.glob("uv-*.whl")) and not list(packages.glob("uv-*"))
    without_uv = support.start_index(packages)
    try:
        app = _copy(locked("pipenv-app"), tmp_path / "app")
        cache = tmp_path / "cache"
        result = support.compile_app(app, cache, support.build_env(str(runtime_store),
                                                                   without_uv.url))
    finally:
        without_uv.stop()
    assert result.returncode == 0, result.log
    assert "-----> Installing Pipenv 2026.10.3" in result.stdout
    assert _installer(app / ".heroku/python/lib/python3.13/site-packages", "pip") == "pip"
    assert _installer(next((cache / "tools").glob("pipenv-*")), "pipenv") == "pip"
    assert list((cache / "tools" / "pip-wheel").glob("pip-*.whl"))  # kept for later builds
    assert not list((cache / "tools").glob("uv-*"))


def test_pipenv_prunes_only_when_something_can_be_unneeded(locked, index, runtime_store,
                                                            tmp_path):
    """A warm build whose Pipfile.lock is as before, where Pipenv changes nothing: the prune
    (which reads the environment with pip's code in the runtime) is skipped, and says so.
    A lock without six: the prune runs and uninstalls it."""
    cache = tmp_path / "cache"
    env = support.build_env(str(runtime_store), index.url)
    first = _copy(locked("pipenv-app"), tmp_path / "one")
    assert support.compile_app(first, cache, env).returncode == 0
    second = _copy(locked("pipenv-app"), tmp_path / "two")
    result = support.compile_app(second, cache, env)
    assert result.returncode == 0, result.log
    assert "Pipfile.lock is as in the last build and Pipenv changed nothing" in result.stdout
    assert "six" in support.installed_distributions(second)
    third = _copy(locked("pipenv-app"), tmp_path / "three")
    pipfile = third / "Pipfile"
    pipfile.write_text(pipfile.read_text().replace('six = "==1.17.0"\n', ""))
    support.lock_app(third, support.find_prefix("3.13") / "bin" / "python3.13")
    result = support.compile_app(third, cache, env)
    assert result.returncode == 0, result.log
    assert "as in the last build" not in result.stdout
    assert "No longer needed, uninstalled: six" in result.stdout
    assert "six" not in support.installed_distributions(third)
