"""Many builds at once: one shared runtime store, separate caches, all correct."""
from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import support

pytestmark = pytest.mark.slow

VARIANTS = [
    ("flask-app", None, None),
    ("flask-app", "3.11", None),
    ("gunicorn-app", None, None),
    ("gunicorn-app", None, "Flask==3.1.3\ngunicorn==25.3.0\nsix==1.17.0\n"),
    ("flask-app", None, "Flask==3.1.3\nsix==1.17.0\n"),
    ("gunicorn-app", "3.13", None),
    ("flask-app", "3.13", "Flask==3.1.3\nblinker==1.9.0\n"),
    ("gunicorn-app", "3.11", "Flask==3.1.3\ngunicorn==25.3.0\npackaging==26.3\n"),
]


def test_eight_builds_at_once_share_one_store(tmp_path, runtime_store, package_index, figures):
    server = support.CountingStoreServer(runtime_store)
    env = support.build_env(server.url, package_index.url)

    def build(i):
        fixture, minor, requirements = VARIANTS[i]
        app = support.copy_fixture(fixture, tmp_path / f"b{i}")
        if minor:
            (app / "runtime.txt").unlink(missing_ok=True)
            (app / ".python-version").write_text(minor + "\n")
        if requirements:
            (app / "requirements.txt").write_text(requirements)
        return app, support.compile_app(app, tmp_path / f"cache-{i}", env)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(build, range(8)))
    finally:
        server.stop()
    figures.add("concurrent", 8)
    for i, (app, result) in enumerate(results):
        assert result.returncode == 0, (i, result.log[-2000:])
        fixture, minor, requirements = VARIANTS[i]
        expected = minor or ("3.11" if fixture == "gunicorn-app" else "3.13")
        out = subprocess.run([str(app / ".heroku/python/bin/python"), "-c",
                              "import flask, platform; print(platform.python_version())"],
                             capture_output=True, text=True)
        assert out.stdout.startswith(expected + "."), (i, out.stdout, out.stderr)
    # Each build (own cache) downloaded its runtime exactly once.
    downloads = sum(n for path, n in server.counts.items() if path.endswith(".tar.xz"))
    assert downloads == 8, server.counts


def test_two_builds_racing_on_one_cache(tmp_path, build_env, figures):
    cache = tmp_path / "cache"

    def build(name):
        app = support.copy_fixture("gunicorn-app", tmp_path / name)
        return support.compile_app(app, cache, build_env)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(build, ["one", "two"]))
    figures.add("concurrent", 2)
    assert all(r.returncode == 0 for r in results), [r.log[-1500:] for r in results]
    logs = "".join(r.stdout for r in results)
    assert "Another build is using this cache dir; waiting for it to finish..." in logs
    assert "moved from the build cache" in logs
    assert not [p.name for p in cache.iterdir() if p.name.startswith((".env-", ".base-"))]
