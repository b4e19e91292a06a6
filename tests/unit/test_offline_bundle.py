"""bin/build-offline-bundle: the store archive it runs pip from is extracted like a build's."""
from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from buildpack.base import platform_info
from buildpack.base.output import BuildError
from buildpack.runtime.manifest import MANIFEST_NAME, RuntimeEntry, render_manifest
from buildpack.tools import offline_bundle


def _store(tmp_path, add_members) -> RuntimeEntry:
    """A store whose one archive (matching its manifest's sha256) holds ``add_members``."""
    archive = tmp_path / "store" / "python-3.13.9-test.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        python = tarfile.TarInfo("bin/python3")
        python.size, python.mode = 10, 0o755
        tar.addfile(python, io.BytesIO(b"#!/bin/sh\n"))
        add_members(tar)
    data = archive.read_bytes()
    entry = RuntimeEntry("3.13.9", platform_info.current_stack(), platform_info.current_arch(),
                         archive.name, hashlib.sha256(data).hexdigest(), len(data))
    (archive.parent / MANIFEST_NAME).write_text(render_manifest([entry]), encoding="utf-8")
    return entry


def _link(name: str, target: str):
    def add(tar):
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, target
        tar.addfile(info)
    return add


def _file(name: str):
    def add(tar):
        info = tarfile.TarInfo(name)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    return add


@pytest.mark.parametrize("add_members", [
    _link("lib/up", "../../../../../../etc"),
    _link("lib/passwd", "/etc/passwd"),
    _file("lib/../../escaped"),
], ids=["link-outward", "link-absolute", "dotdot-member"])
def test_unsafe_store_archive_is_refused_before_extraction(tmp_path, add_members):
    _store(tmp_path, add_members)
    with pytest.raises(BuildError) as caught:
        offline_bundle.main([str(tmp_path / "out.tar.gz"), "--store", str(tmp_path / "store"),
                             "--python", "3.13"])
    assert caught.value.error_id == "offline-bundle::unsafe-archive"
    assert not (tmp_path / "out.tar.gz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # nothing written beside
