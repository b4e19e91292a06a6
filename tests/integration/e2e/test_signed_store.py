"""bin/compile against a signed store (issue 22, item 5): the platform's public key is
checked before the manifest is read and before any archive is downloaded; an app's
config var may point at another store but cannot turn the check off."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from buildpack.runtime import signature
from tests import support

pytestmark = pytest.mark.slow


def _keypair(directory: Path, name: str) -> tuple[Path, str]:
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True,
                   capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return key, key.with_suffix(".pub").read_text().strip()


def _store_copy(runtime_store: Path, dest: Path) -> Path:
    """The test store's 3.13 runtimes, served over HTTP like a platform's store."""
    dest.mkdir()
    manifest = json.loads((runtime_store / "manifest.json").read_text())
    manifest["runtimes"] = [r for r in manifest["runtimes"] if r["version"].startswith("3.13.")]
    for entry in manifest["runtimes"]:
        shutil.copy(runtime_store / entry["file"], dest / entry["file"])
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return dest


@pytest.fixture
def signed(tmp_path, runtime_store):
    keys = tmp_path / "keys"
    keys.mkdir()
    store_key, public = _keypair(keys, "store")
    _other, other_public = _keypair(keys, "other")
    store = _store_copy(Path(runtime_store), tmp_path / "store")
    signature.sign(store / "manifest.json", store_key)
    server = support.CountingStoreServer(store)
    yield server, store, public, other_public
    server.stop()


def _build(tmp_path: Path, name: str, store_url: str, package_index, key: str,
           config: dict[str, str] | None = None) -> support.BuildResult:
    app = support.write_app(tmp_path / name, {".python-version": "3.13\n", "requirements.txt": "six==1.17.0\n"})
    env = support.build_env(store_url, package_index.url, {signature.PUBLIC_KEY_VAR: key})
    env_dir = support.config_dir(tmp_path / name / "env", **(config or {}))
    return support.compile_app(app, tmp_path / name / "cache", env, env_dir)


def test_a_signed_store_builds_and_a_wrong_key_stops_before_any_download(tmp_path, signed, package_index):
    server, _store, public, other_public = signed
    good = _build(tmp_path, "good", server.url, package_index, public)
    assert good.returncode == 0, good.log
    assert any(p.endswith(".tar.xz") for p in server.counts)
    server.counts.clear()
    bad = _build(tmp_path, "bad", server.url, package_index, other_public)
    assert bad.returncode != 0
    assert "(error id: runtime-store::signature-invalid)" in bad.log, bad.log
    assert set(server.counts) == {"/manifest.json", "/manifest.json.sig"}, server.counts
    assert not list((tmp_path / "bad" / "cache").rglob("*.tar.xz"))
    assert "Traceback" not in bad.log


def test_an_app_cannot_point_a_keyed_build_at_an_unsigned_store(tmp_path, signed, runtime_store, package_index):
    server, _store, public, _other = signed
    unsigned = support.CountingStoreServer(_store_copy(Path(runtime_store), tmp_path / "unsigned"))
    try:
        build = _build(tmp_path, "app", server.url, package_index, public,
                       {"PYTHON_RUNTIME_STORE": unsigned.url,
                        signature.PUBLIC_KEY_VAR: "ignored: config vars do not set the key"})
    finally:
        unsigned.stop()
    assert build.returncode != 0
    assert "(error id: runtime-store::signature-missing)" in build.log, build.log
    assert set(unsigned.counts) == {"/manifest.json", "/manifest.json.sig"}, unsigned.counts
    assert "Traceback" not in build.log


def test_without_a_key_a_plain_http_store_builds_with_a_notice(tmp_path, signed, package_index):
    server, _store, _public, _other = signed
    build = _build(tmp_path, "app", server.url, package_index, "")
    assert build.returncode == 0, build.log
    assert build.log.count("Notice: the runtime store is read over plain HTTP") == 1
