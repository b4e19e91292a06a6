"""Issue 20: the package manager decides what changed, so no form of requirements that the
buildpack's own reading missed deploys old code; the cache heals from damage.

Real builds (bin/compile) against the local index. Each app is built, changed, and built
again into a fresh BUILD_DIR with the same CACHE_DIR, as a platform does."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow


def _project(folder: Path, name: str, version: str) -> None:
    """A local package; only its module says ``version`` (pyproject.toml never changes, so
    a cache keyed on it, as uv's built-wheel cache is by default, would serve old code)."""
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "__init__.py").write_text(f"VERSION = {version!r}\n")
    pyproject = folder / "pyproject.toml"
    if not pyproject.exists():
        pyproject.write_text(
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{name}"\nversion = "1.0"\n')


def _build(source: Path, tmp_path: Path, cache: Path, env: dict[str, str], name: str):
    """Build a copy of ``source`` (a fresh BUILD_DIR, as on a platform)."""
    app = tmp_path / name
    shutil.copytree(source, app, symlinks=True)
    result = support.compile_app(app, cache, env)
    assert result.returncode == 0, result.log[-4000:]
    return app, result


def _version(app: Path, module: str) -> str:
    out = subprocess.run([str(app / ".heroku/python/bin/python3"), "-c",
                          f"import {module}; print({module}.VERSION)"],
                         capture_output=True, text=True, cwd=app, timeout=60)
    return out.stdout.strip() or out.stderr


STALE = {
    # name: (engine, files of the first build, the change, module and version expected after)
    "relative-direct-reference": (
        "uv", lambda a: (_project(a / "libx", "stalelibx", "1"),
                         (a / "requirements.txt").write_text("stalelibx @ ./libx\n")),
        lambda a: _project(a / "libx", "stalelibx", "2"), ("stalelibx", "2")),
    "quoted-include": (
        "uv", lambda a: (support.version_wheel(a / "wheels", "stalequoted", "1"), support.version_wheel(a / "wheels", "stalequoted", "2"),
                         (a / "requirements.txt").write_text('--find-links wheels\n-r "more.txt"\n'),
                         (a / "more.txt").write_text("stalequoted==1\n")),
        lambda a: (a / "more.txt").write_text("stalequoted==2\n"), ("stalequoted", "2")),
    "pip-abbreviated-requirement": (
        "pip", lambda a: (support.version_wheel(a / "wheels", "staleabbrev", "1"), support.version_wheel(a / "wheels", "staleabbrev", "2"),
                          (a / "requirements.txt").write_text("--find-links wheels\n--requirem more.txt\n"),
                          (a / "more.txt").write_text("staleabbrev==1\n")),
        lambda a: (a / "more.txt").write_text("staleabbrev==2\n"), ("staleabbrev", "2")),
    "pip-abbreviated-find-links": (
        "pip", lambda a: (support.version_wheel(a / "wheels", "stalefind", "1"),
                          (a / "requirements.txt").write_text("--find-l wheels\nstalefind\n")),
        lambda a: support.version_wheel(a / "wheels", "stalefind", "2"), ("stalefind", "2")),
}


@pytest.mark.parametrize("name", sorted(STALE))
def test_the_new_code_is_deployed(name, tmp_path, build_env):
    engine, first, change, (module, version) = STALE[name]
    env = {**build_env, "PYTHON_INSTALLER": engine}
    source = tmp_path / "source"
    source.mkdir()
    first(source)
    cache = tmp_path / "cache"
    one, _ = _build(source, tmp_path, cache, env, "one")
    assert _version(one, module) == "1"
    change(source)
    two, result = _build(source, tmp_path, cache, env, "two")
    assert "The previous build's environment, moved from the build cache" in result.stdout
    assert "Unchanged since the last build" not in result.log
    assert _version(two, module) == version, result.log[-3000:]


def test_packages_no_longer_required_are_removed_with_pip(tmp_path, build_env):
    env = {**build_env, "PYTHON_INSTALLER": "pip"}
    source = support.write_app(tmp_path, {"requirements.txt": "six==1.17.0\nidna==3.20\n"}, "source")
    cache = tmp_path / "cache"
    _build(source, tmp_path, cache, env, "one")
    (source / "requirements.txt").write_text("idna==3.20\n")
    two, result = _build(source, tmp_path, cache, env, "two")
    assert "No longer needed, uninstalled: six" in result.stdout
    installed = support.installed_distributions(two)
    assert "six" not in installed and installed["idna"] == "3.20"


def _site(app: Path) -> Path:
    return next((app / ".heroku/python/lib").glob("python3*/site-packages"))


def test_a_hook_writing_into_a_cached_package_file_is_never_deployed_again(tmp_path, build_env):
    """With links, the slug's files are the cache's and uv's cache's: a post_compile hook
    that appends to an installed module changes this build's slug only."""
    source = support.write_app(tmp_path, {"requirements.txt": "six==1.17.0\n"}, "source")
    cache = tmp_path / "cache"
    _build(source, tmp_path, cache, build_env, "one")
    hook = source / "bin/post_compile"
    hook.parent.mkdir()
    hook.write_text('#!/bin/sh\nfor f in "$BUILD_DIR"/.heroku/python/lib/python3*/site-packages/six.py; do\n'
                    '  echo "DAMAGED = True" >> "$f"\ndone\n')
    hook.chmod(0o755)
    two, result = _build(source, tmp_path, cache, build_env, "two")
    assert "DAMAGED = True" in (_site(two) / "six.py").read_text()  # what the hook asked for
    assert "The installed environment is not cached" in result.stderr
    assert "six.py" in result.stderr
    hook.unlink()
    three, result = _build(source, tmp_path, cache, build_env, "three")
    assert "DAMAGED" not in (_site(three) / "six.py").read_text()
    four, result = _build(source, tmp_path, cache, build_env, "four")
    assert "The previous build's environment, moved from the build cache" in result.stdout
    assert "DAMAGED" not in (_site(four) / "six.py").read_text()


def test_a_write_through_the_slug_after_the_build_is_caught(tmp_path, build_env):
    """A later buildpack writes into .heroku/python after bin/compile saved it."""
    source = support.write_app(tmp_path, {"requirements.txt": "six==1.17.0\n"}, "source")
    cache = tmp_path / "cache"
    one, _ = _build(source, tmp_path, cache, build_env, "one")
    with open(_site(one) / "six.py", "a") as fh:
        fh.write("DAMAGED = True\n")
    two, result = _build(source, tmp_path, cache, build_env, "two")
    assert " !     Warning: Discarding a corrupt build cache." in result.stderr
    assert "DAMAGED" not in (_site(two) / "six.py").read_text()


@pytest.mark.parametrize("damage", ["folder", "file-in-the-way"])
def test_a_damaged_uv_cache_heals(tmp_path, build_env, damage):
    source = support.write_app(tmp_path, {"requirements.txt": "six==1.17.0\n"}, "source")
    cache = tmp_path / "cache"
    _build(source, tmp_path, cache, build_env, "one")
    if damage == "folder":  # CACHE_DIR/uv/.lock a folder: uv failed on every build
        lock = cache / "uv/.lock"
        if lock.exists():
            lock.unlink()
        (lock / "inside").mkdir(parents=True)
    else:
        shutil.rmtree(cache / "uv")
        (cache / "uv").write_text("not a folder")
    (source / "requirements.txt").write_text("six==1.17.0\nidna==3.20\n")
    two, result = _build(source, tmp_path, cache, build_env, "two")
    assert "Discarded unexpected files in the build cache" in result.stderr
    assert support.installed_distributions(two)["idna"] == "3.20"
    assert (cache / "uv").is_dir() and not (cache / "uv/.lock").is_dir()


def test_one_copy_of_each_file(tmp_path, build_env):
    """The cached environment is the slug's files (hardlinks), the cached runtime shares
    the runtime's files with both, and uv's cache keeps no copy of the wheels it
    downloaded (pruned after the save: the entry holds them installed)."""
    source = support.copy_fixture("flask-app", tmp_path / "src")
    cache = tmp_path / "cache"
    one, _ = _build(source, tmp_path, cache, build_env, "one")
    flask = next(_site(one).glob("flask/app.py"))
    entry = next((cache / "env/python/lib").glob("python3*/site-packages/flask/app.py"))
    assert flask.stat().st_ino == entry.stat().st_ino
    assert not [p for p in (cache / "uv").rglob("app.py") if p.is_file()]
    stdlib = next((one / ".heroku/python/lib").glob("python3*/os.py"))
    for kept in ("env", "runtime"):
        assert next((cache / kept / "python/lib").glob("python3*/os.py")).samefile(stdlib)
    assert not (cache / "base").exists() and not (cache / "runtimes").exists()
