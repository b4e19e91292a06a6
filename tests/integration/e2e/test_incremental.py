"""Incremental rebuilds with uv: start from the previous environment, apply the difference."""
from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.slow


def _build(tmp_path, name, cache, env, requirements):
    app = support.copy_fixture("flask-app", tmp_path / name)
    (app / "requirements.txt").write_text(requirements)
    result = support.compile_app(app, cache, env)
    assert result.returncode == 0, result.log
    return app, result


def test_changed_requirements_apply_only_the_difference(tmp_path, build_env):
    cache = tmp_path / "cache"
    _, first = _build(tmp_path, "one", cache, build_env, "Flask==3.1.3\nsix==1.17.0\n")
    # uv came straight from its wheel on the index (uv_fetch), not through pip.
    assert "Fetched (hash-checked) while the Python runtime was unpacked" in first.stdout
    app, result = _build(tmp_path, "two", cache, build_env, "Flask==3.1.3\nidna==3.20\n")
    assert "The previous build's environment, moved from the build cache" in result.stdout
    assert "        + idna==3.20" in result.stdout
    assert "        - six==1.17.0" in result.stdout
    assert "+ flask" not in result.stdout  # already there: not installed again
    installed = support.installed_distributions(app)
    assert "six" not in installed and installed["idna"] == "3.20"
    site = next((app / ".heroku/python/lib").glob("python3*/site-packages"))
    assert not list(site.glob("six*")) and not list(site.glob("__pycache__/six*"))
    # The new package has bytecode naming its run-time path, like the rest.
    assert list(site.glob("idna/__pycache__/*.pyc"))
    assert support.files_containing(app / ".heroku", str(tmp_path)) == []
    # One copy of each file: the slug's package files are the cache's (env_cache's damage
    # rule catches writes through them).
    assert (site / "idna/core.py").stat().st_nlink > 1
    # The same set as a build from nothing.
    fresh, _ = _build(tmp_path, "fresh", tmp_path / "fresh-cache", build_env,
                      "Flask==3.1.3\nidna==3.20\n")
    assert support.installed_distributions(fresh) == installed
    # And the updated environment is the cache's new entry.
    three, again = _build(tmp_path, "three", cache, build_env, "Flask==3.1.3\nidna==3.20\n")
    assert "The previous build's environment, moved from the build cache" in again.stdout
    assert "        + " not in again.stdout and "        - " not in again.stdout  # a no-op
    # Nothing changed, so nothing was relocated or compiled again: what was saved already
    # was, and it still names no build folder (the second's path, nor this one's).
    site = next((three / ".heroku/python/lib").glob("python3*/site-packages"))
    assert list(site.glob("idna/__pycache__/*.pyc"))
    assert support.files_containing(three / ".heroku", str(tmp_path)) == []
    assert support.installed_distributions(three) == installed


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_damaged_uv_in_the_cache_is_installed_again(tmp_path, build_env, damage):
    cache = tmp_path / "cache"
    _build(tmp_path, "one", cache, build_env, "six==1.17.0\n")
    binary = next((cache / "tools").glob("uv-*/bin/uv"))
    if damage == "missing":
        binary.unlink()
    else:
        binary.write_bytes(b"#!/bin/sh\necho pwned\n")
    app, result = _build(tmp_path, "two", cache, build_env, "six==1.17.0\nidna==3.20\n")
    assert " !     Warning: Discarding a damaged cached uv." in result.stderr
    assert "-----> Installing uv 0.13.9" in result.stdout
    assert "pwned" not in result.log
    assert "        + idna==3.20" in result.stdout
    assert b"pwned" not in next((cache / "tools").glob("uv-*/bin/uv")).read_bytes()


def test_unchanged_requirements_keep_the_installed_versions(tmp_path, runtime_store):
    """Nothing a resolution reads changed: a plain ``uv pip install`` checks the
    environment (no resolution), and an unpinned requirement keeps its version even when
    the index has a newer one, as with pip; a change to a requirements file resolves as a
    build from nothing would."""
    served = tmp_path / "served"
    support.version_wheel(served, "keepme", "1")
    index = support.start_index(served, support.ensure_index_packages())
    try:
        env = support.build_env(str(runtime_store), index.url)
        cache = tmp_path / "cache"
        one, first = _build(tmp_path, "one", cache, env, "keepme\n")
        assert "as in the last build" not in first.stdout
        record = one / ".heroku/python/.buildpack-requirements.sha256"
        assert len(record.read_text().strip()) == 64
        support.version_wheel(served, "keepme", "2")
        two, again = _build(tmp_path, "two", cache, env, "keepme\n")
        assert ("       The requirements files are as in the last build: uv checks the installed "
                "packages against them.\n") in again.stdout
        assert support.installed_distributions(two)["keepme"] == "1"
        three, changed = _build(tmp_path, "three", cache, env, "# upgraded\nkeepme\n")
        assert "as in the last build" not in changed.stdout
        assert "        + keepme==2" in changed.stdout
        assert support.installed_distributions(three)["keepme"] == "2"
    finally:
        index.stop()


def test_an_included_file_or_a_wheel_folder_that_changed_resolves_again(tmp_path, build_env):
    """The record covers the includes and the app's own wheel folders: a package an
    included file no longer names is uninstalled, a new wheel for an unpinned
    requirement is installed."""
    cache = tmp_path / "cache"

    def build(name, more, wheels):
        app = support.copy_fixture("flask-app", tmp_path / name)
        for version in wheels:
            support.version_wheel(app / "wheels", "wheelfolder", version)
        (app / "requirements.txt").write_text("--find-links ./wheels\n-r more.txt\nwheelfolder\n")
        (app / "more.txt").write_text(more)
        result = support.compile_app(app, cache, build_env)
        assert result.returncode == 0, result.log
        return support.installed_distributions(app), result

    installed, _ = build("one", "six==1.17.0\nidna==3.20\n", ["1"])
    assert installed["six"] == "1.17.0" and installed["wheelfolder"] == "1"
    installed, result = build("two", "idna==3.20\n", ["1"])
    assert "as in the last build" not in result.stdout
    assert "six" not in installed and installed["idna"] == "3.20"
    installed, result = build("three", "idna==3.20\n", ["1", "2"])
    assert "as in the last build" not in result.stdout
    assert installed["wheelfolder"] == "2"
    installed, result = build("four", "idna==3.20\n", ["1", "2"])
    assert "as in the last build" in result.stdout
    assert installed["wheelfolder"] == "2" and "six" not in installed


def test_the_pinned_pip_wheel_is_fetched_without_a_runtime(tmp_path, package_index):
    """A first build fetches pip's pinned wheel while the runtime unpacks (the client
    that fetches uv: no Python runtime, no pip download after it), hash-checked; without
    an explicit index that client does nothing, and the build downloads it with pip."""
    from buildpack.base import settings
    from buildpack.base.hashing import file_sha256
    from buildpack.installers import pip, uv_fetch

    kept = tmp_path / "tools" / "pip-wheel"
    pip.fetch_pip_wheel({"PIP_INDEX_URL": package_index.url}, kept)
    wheels = list(kept.iterdir())
    assert [w.name for w in wheels] == [f"pip-{settings.pinned_pip_version()}-py3-none-any.whl"]
    assert file_sha256(wheels[0]) in uv_fetch.pinned_hashes(settings.PIP_REQUIREMENTS)
    elsewhere = tmp_path / "none" / "pip-wheel"
    pip.fetch_pip_wheel({}, elsewhere)
    assert not elsewhere.exists() and not elsewhere.with_name("pip-wheel.fetch").exists()
