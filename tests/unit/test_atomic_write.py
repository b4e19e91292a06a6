"""The one atomic write: the old file or the new one, never part of one, no temp file left."""
from __future__ import annotations

import pytest

from buildpack.base import atomic_write


def test_write_replaces_the_file_with_its_mode(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    atomic_write.write_text(path, "new\n", durable=True)
    assert path.read_text() == "new\n" and path.stat().st_mode & 0o777 == 0o644
    atomic_write.write_bytes(path, b"#!/bin/sh\n", mode=0o755)
    assert path.read_bytes() == b"#!/bin/sh\n" and path.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write.replacing(path) as out:
        out.write(b"half")
        assert len(atomic_write.leftovers(path)) == 1  # the temp file, beside the file
        raise RuntimeError("killed midway")
    assert path.read_text() == "old"
    assert atomic_write.leftovers(path) == [] and [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
