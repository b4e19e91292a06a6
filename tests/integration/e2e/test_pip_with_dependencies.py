"""A fresh runtime gets pip in the dependencies' own uv run when its pinned wheel is
already here (fetched while the runtime unpacked, or kept in CACHE_DIR), hash-checked;
otherwise (a damaged kept wheel, the app's own pip, a pylock.toml) pip is installed in a
run of its own first, as before."""
from __future__ import annotations

import pytest

from buildpack.base import settings
from buildpack.cache import layout
from tests import support

pytestmark = pytest.mark.slow
FOLDED = f"pip {settings.pinned_pip_version()} (vendor/pip.txt) is installed with them."


def _pip_version(app):
    return support.installed_distributions(app).get("pip")


def test_a_cold_build_installs_pip_with_the_dependencies(tmp_path, build_env):
    app = support.copy_fixture("flask-app", tmp_path / "app")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert FOLDED in result.stdout and "-----> Installing pip" not in result.stdout
    assert "        + pip==" + settings.pinned_pip_version() in result.stdout
    assert _pip_version(app) == settings.pinned_pip_version()
    assert (app / ".heroku/python/bin/pip").read_text().startswith("#!/bin/sh\n")  # relocatable


def test_a_damaged_kept_wheel_is_not_used(tmp_path, build_env):
    """The kept wheel is hash-checked before it is offered: a damaged one means pip's own
    run (which replaces it from the index), never a failed install."""
    cache = tmp_path / "cache"
    first = support.copy_fixture("flask-app", tmp_path / "first")
    assert support.compile_app(first, cache, build_env).returncode == 0
    kept = next((cache / layout.PIP_WHEELS).glob("pip-*.whl"))
    kept.write_bytes(b"not a wheel")
    (cache / layout.ENV).rename(tmp_path / "dropped-entry")  # a fresh runtime again
    app = support.copy_fixture("flask-app", tmp_path / "app")
    result = support.compile_app(app, cache, build_env)
    assert result.returncode == 0, result.log
    assert FOLDED not in result.stdout and "-----> Installing pip" in result.stdout
    assert _pip_version(app) == settings.pinned_pip_version()


def test_an_app_that_names_pip_gets_the_pinned_one_first(tmp_path, build_env):
    """Its requirement then decides pip's version, in the dependencies' run."""
    app = support.copy_fixture("flask-app", tmp_path / "app")
    (app / "requirements.txt").write_text(f"Flask==3.1.3\npip=={settings.pinned_pip_version()}\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert FOLDED not in result.stdout and "-----> Installing pip" in result.stdout
    assert _pip_version(app) == settings.pinned_pip_version()
