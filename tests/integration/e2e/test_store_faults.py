"""The runtime store misbehaving over HTTP: retried, bounded, and never half-written."""
from __future__ import annotations

import io
import json
import tarfile
import time

import pytest

from tests import support

pytestmark = pytest.mark.slow


@pytest.fixture
def small_store(runtime_store, tmp_path):
    """A copy of the test store with only its newest 3.13 runtime: the one ``3.13`` picks."""
    import shutil

    from packaging.version import Version

    store = tmp_path / "store"
    store.mkdir()
    manifest = json.loads((runtime_store / "manifest.json").read_text())
    minor = [r for r in manifest["runtimes"] if r["version"].startswith("3.13.")]
    manifest["runtimes"] = [max(minor, key=lambda r: Version(r["version"]))]
    for entry in manifest["runtimes"]:
        shutil.copy(runtime_store / entry["file"], store / entry["file"])
    (store / "manifest.json").write_text(json.dumps(manifest))
    return store, manifest["runtimes"][0]["file"]


def _app(tmp_path):
    return support.write_app(tmp_path, {"Procfile": "web: python -m http.server $PORT\n",
                                        ".python-version": "3.13\n"})


def _clean(app, cache):
    assert not (app / ".heroku").exists()
    assert not (app / ".profile.d").exists()
    leftovers = [p.name for p in (cache / "runtime").iterdir()] if (cache / "runtime").exists() else []
    assert leftovers == [], leftovers


def _build(tmp_path, store, faults, extra=None):
    """Build against ``store`` served with ``faults``; (app, cache, result, seconds, server)."""
    server = support.FaultyStoreServer(store, faults)
    try:
        app = _app(tmp_path)
        cache = tmp_path / "cache"
        env = support.build_env(server.url, None, extra)
        started = time.monotonic()
        result = support.compile_app(app, cache, env)
        return app, cache, result, time.monotonic() - started, server
    finally:
        server.stop()


def test_500s_then_success_is_retried(tmp_path, small_store):
    store, archive = small_store
    app, cache, result, _, server = _build(
        tmp_path, store, {archive: ["500", "500"], "manifest.json": ["500"]})
    assert result.returncode == 0, result.log
    assert server.counts[archive] == 3 and server.counts["manifest.json"] == 2
    assert result.stdout.count("Retrying in") == 3
    assert (app / ".heroku/python/bin/python3").exists()


def test_persistent_500_fails_after_bounded_attempts(tmp_path, small_store):
    store, archive = small_store
    app, cache, result, _, server = _build(tmp_path, store, {archive: ["500"] * 10})
    assert result.returncode == result.failure_exit == 75  # EX_TEMPFAIL: a retry may succeed
    assert "(error id: python-runtime::download-failed)" in result.stderr
    assert "retry the build later" in result.stderr
    assert server.counts[archive] == 4
    assert "HTTP 500" in result.stderr and "after 4 attempts" in result.stderr
    assert server.url + archive in result.stderr
    assert "Traceback" not in result.log
    _clean(app, cache)


def test_404_is_not_retried(tmp_path, small_store):
    store, archive = small_store
    app, cache, result, _, server = _build(tmp_path, store, {archive: ["404"]})
    # The store is misconfigured (the manifest lists a file it does not serve): the
    # platform's to fix, exit 1, no retry by the platform either.
    assert result.returncode == result.failure_exit == 1
    assert "(error id: python-runtime::archive-not-served)" in result.stderr
    assert server.counts[archive] == 1
    assert f"HTTP 404 for {server.url}{archive}" in result.stderr
    _clean(app, cache)


def test_403_on_the_manifest_is_the_platforms_at_once(tmp_path, small_store):
    store, _ = small_store
    app, cache, result, _, server = _build(tmp_path, store, {"manifest.json": ["403"]})
    assert result.returncode == result.failure_exit == 1
    assert "(error id: runtime-store::not-served)" in result.stderr
    assert server.counts["manifest.json"] == 1 and "Retrying" not in result.log
    assert f"HTTP 403 for {server.url}manifest.json" in result.stderr
    _clean(app, cache)


def test_hanging_store_times_out_within_bound(tmp_path, small_store):
    store, archive = small_store
    app, cache, result, elapsed, server = _build(
        tmp_path, store, {"manifest.json": ["hang"] * 10}, {"PYTHON_RUNTIME_STORE_TIMEOUT": "1"})
    assert result.returncode == result.failure_exit == 75
    assert "(error id: runtime-store::unreadable)" in result.stderr
    assert "timed out" in result.stderr and "after 4 attempts" in result.stderr
    # 4 attempts x 1 s timeout + 1 + 2 + 4 s of backoff, plus process start-up.
    assert elapsed < 25, elapsed
    _clean(app, cache)


def test_body_cut_mid_way_is_retried(tmp_path, small_store):
    store, archive = small_store
    app, cache, result, _, server = _build(tmp_path, store, {archive: ["cut"]})
    assert result.returncode == 0, result.log
    assert server.counts[archive] == 2
    assert "the connection closed after" in result.stdout


def test_body_always_cut_fails_cleanly(tmp_path, small_store):
    store, archive = small_store
    app, cache, result, _, server = _build(tmp_path, store, {archive: ["cut"] * 4})
    assert result.returncode == result.failure_exit
    assert "Could not download Python" in result.stderr
    _clean(app, cache)


def test_wrong_sha256_over_http(tmp_path, small_store):
    store, archive = small_store
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["runtimes"][0]["sha256"] = "0" * 64
    (store / "manifest.json").write_text(json.dumps(manifest))
    app, cache, result, _, server = _build(tmp_path, store, {})
    assert result.returncode == result.failure_exit
    assert "failed verification" in result.stderr and "sha256" in result.stderr
    _clean(app, cache)


def _evil_archive(kind: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        good = tarfile.TarInfo("bin/python3")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"#!"))
        if kind == "dotdot":
            info = tarfile.TarInfo("../../escaped")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        elif kind == "absolute":
            info = tarfile.TarInfo("/tmp/escaped-absolute")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        else:
            info = tarfile.TarInfo("lib/passwd")
            info.type = tarfile.SYMTYPE
            info.linkname = "../../../../etc/passwd"
            tar.addfile(info)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "outward-link"])
def test_malicious_archive_is_refused(tmp_path, kind):
    import hashlib

    store = tmp_path / "evil-store"
    store.mkdir()
    data = _evil_archive(kind)
    name = "python-3.13.9-evil.tar.gz"
    (store / name).write_bytes(data)
    from buildpack.base import platform_info

    (store / "manifest.json").write_text(json.dumps({"schema": 1, "runtimes": [{
        "version": "3.13.9", "stack": platform_info.current_stack(), "arch": platform_info.current_arch(),
        "file": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}]}))
    app, cache, result, _, server = _build(tmp_path, store, {})
    assert result.returncode == result.failure_exit
    assert "cannot be extracted safely" in result.stderr
    assert "Traceback" not in result.log
    _clean(app, cache)
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()


def test_slow_trickle_runs_past_the_download_deadline(tmp_path, small_store):
    store, archive = small_store
    # 0.1 s between bytes never trips the 0.3 s read timeout, but a whole download may
    # take only 20 read timeouts (6 s): each attempt is cut off, then the build fails.
    app, cache, result, elapsed, server = _build(
        tmp_path, store, {archive: ["trickle"] * 4}, {"PYTHON_RUNTIME_STORE_TIMEOUT": "0.3"})
    assert result.returncode == result.failure_exit
    assert "too slow and ran past its time limit" in result.stderr
    assert "after 4 attempts" in result.stderr
    assert server.counts[archive] == 4
    assert elapsed < 60, elapsed
    _clean(app, cache)
