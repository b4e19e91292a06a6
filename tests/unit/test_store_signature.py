"""A signed runtime store (issue 22, item 5), with the real ssh-keygen and a real tiny
store folder (one small archive and its manifest): the builder's signature, and a build
that verifies it before it reads the manifest or downloads anything."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from buildpack.base.output import BuildError
from buildpack.runtime import signature
from buildpack.runtime.manifest import RuntimeEntry
from buildpack.runtime.store import parse_location, read_manifest
from buildpack.store_builder import builder as store_builder
from tests import support


def keypair(directory: Path, name: str) -> tuple[Path, str]:
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@test", "-f", str(key)],
                   check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return key, key.with_suffix(".pub").read_text().strip()


@pytest.fixture
def keys(tmp_path):
    return {name: keypair(tmp_path / "keys", name) for name in ("store", "other")}


@pytest.fixture
def store(tmp_path, keys):
    """A store folder as bin/build-runtime-store leaves it, signed with the store key."""
    root = tmp_path / "store"
    root.mkdir()
    archive = root / "python-3.13.15-debian-12-x86_64.tar.xz"
    archive.write_bytes(b"not really an archive, never downloaded here")
    entry = RuntimeEntry("3.13.15", "debian-12", "x86_64", archive.name,
                         hashlib.sha256(archive.read_bytes()).hexdigest(), archive.stat().st_size)
    manifest = store_builder.write_manifest(root, [entry])
    assert signature.sign(manifest, keys["store"][0]) == root / "manifest.json.sig"
    return root


def _read(store_dir: Path | str, scratch: Path, key: str | None):
    return read_manifest(parse_location(str(store_dir)), scratch, key)


def test_a_signed_store_verifies_with_its_key_given_as_text_or_as_a_pub_file(tmp_path, store, keys):
    private, public = keys["store"]
    assert [e.version for e in _read(store, tmp_path / "s", public)] == ["3.13.15"]
    assert [e.version for e in _read(store, tmp_path / "s", str(private.with_suffix(".pub")))] == ["3.13.15"]
    assert "-----BEGIN SSH SIGNATURE-----" in (store / "manifest.json.sig").read_text()
    assert list((tmp_path / "s").iterdir()) == []  # the scratch copies are gone


@pytest.mark.parametrize("case", ["missing", "wrong key", "tampered manifest", "other signature"])
def test_a_bad_signature_stops_the_build_with_its_own_id(tmp_path, store, keys, case):
    public = keys["store"][1]
    if case == "missing":
        (store / "manifest.json.sig").unlink()
    elif case == "wrong key":
        public = keys["other"][1]
    elif case == "tampered manifest":
        manifest = store / "manifest.json"
        manifest.write_text(manifest.read_text().replace("3.13.15", "3.13.16"))
    else:  # a valid signature, by another key, of the same manifest
        signature.sign(store / "manifest.json", keys["other"][0])
    with pytest.raises(BuildError) as err:
        _read(store, tmp_path / "s", public)
    wanted = "runtime-store::signature-missing" if case == "missing" else "runtime-store::signature-invalid"
    assert err.value.error_id == wanted
    assert "Nothing was downloaded" in err.value.body


def test_over_http_the_signature_is_checked_before_anything_else_is_downloaded(tmp_path, store, keys):
    server = support.CountingStoreServer(store)
    try:
        assert [e.version for e in _read(server.url, tmp_path / "s", keys["store"][1])] == ["3.13.15"]
        (store / "manifest.json.sig").unlink()
        with pytest.raises(BuildError) as err:
            _read(server.url, tmp_path / "s", keys["store"][1])
        assert err.value.error_id == "runtime-store::signature-missing"
        assert "HTTP 404" in err.value.body
        assert set(server.counts) == {"/manifest.json", "/manifest.json.sig"}
    finally:
        server.stop()


@pytest.mark.parametrize("value", ["ssh-ed25519 AAAAnotbase64", "/nonexistent/key.pub", "hello",
                                   "ssh-ed25519\nssh-rsa AAAA"])
def test_an_unusable_public_key_has_its_own_error(tmp_path, store, value):
    with pytest.raises(BuildError) as err:
        _read(store, tmp_path / "s", value)
    assert err.value.error_id == "runtime-store::public-key-invalid"
    assert signature.PUBLIC_KEY_VAR in err.value.body


def test_without_a_key_a_plain_http_store_gets_a_one_line_notice(tmp_path, store, capsys):
    server = support.CountingStoreServer(store)
    try:
        _read(server.url, tmp_path / "s", None)
    finally:
        server.stop()
    notices = [line for line in capsys.readouterr().out.splitlines() if "Notice:" in line]
    assert len(notices) == 1 and "plain HTTP" in notices[0] and signature.PUBLIC_KEY_VAR in notices[0]
    _read(store, tmp_path / "s", None)  # a folder: no notice
    assert "Notice:" not in capsys.readouterr().out


def test_the_builder_refuses_an_unusable_signing_key_before_anything_is_written(tmp_path):
    locked = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(locked)],
                   check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    for key in (tmp_path / "nope", locked):
        with pytest.raises(BuildError) as err:
            store_builder.main([str(tmp_path / "out"), "--sign", str(key), "--from-source", "3.13"])
        assert err.value.error_id == "store-builder::sign-failed"
        assert not (tmp_path / "out").exists()


def test_a_signature_made_by_the_builder_verifies_with_plain_ssh_keygen(tmp_path, store, keys):
    """What a platform's own tooling would run: the signature is an ordinary SSH one."""
    allowed = tmp_path / "allowed"
    allowed.write_text(f"store {keys['store'][1]}\n")
    proc = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "store",
                           "-n", "buildpack-python-store", "-s", str(store / "manifest.json.sig")],
                          input=(store / "manifest.json").read_bytes(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
