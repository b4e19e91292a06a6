"""What a warm uv build resolves again for (``installers.resolution_record``): a change
to anything the resolution reads, never the build's own folder."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.installers import resolution_record
from buildpack.installers.context import InstallContext


def _app(root: Path) -> Path:
    (root / "wheels").mkdir(parents=True)
    (root / "wheels" / "a-1-py3-none-any.whl").write_bytes(b"one")
    (root / "requirements.txt").write_text("--find-links wheels\n-r more.txt\nflask\n")
    (root / "more.txt").write_text("six==1.17.0\n")
    return root


def _digest(app: Path) -> str:
    prefix = app / ".heroku" / "python"
    ctx = InstallContext(app, prefix, prefix / "bin" / "python3", {}, app.parent / "cache", [],
                         "3.13.15", AppFiles(app), app)
    return resolution_record.digest(ctx, app / "requirements.txt",
                                    ["uv", "pip", "install", "--python", str(ctx.python),
                                     "-r", "requirements.txt"])


def test_another_build_folder_with_the_same_files_is_unchanged(tmp_path):
    one = _app(tmp_path / "build_1")
    two = tmp_path / "build_2"
    shutil.copytree(one, two)
    assert _digest(one) == _digest(two)


def test_each_input_of_the_resolution_changes_the_digest(tmp_path):
    app = _app(tmp_path / "app")
    before = _digest(app)
    changes = [
        lambda: (app / "more.txt").write_text("six==1.16.0\n"),              # an include
        lambda: (app / "wheels" / "a-2-py3-none-any.whl").write_bytes(b"2"),  # a new wheel
        lambda: (app / "pyproject.toml").write_text("[tool.uv.pip]\nno-binary = [':all:']\n"),
        lambda: (app / "uv.toml").write_text("[pip]\nprerelease = 'allow'\n"),
        lambda: (app / "requirements.txt").write_text("--find-links wheels\n-r more.txt\nflask\n\n"),
    ]
    seen = {before}
    for change in changes:
        change()
        now = _digest(app)
        assert now not in seen
        seen.add(now)


def test_the_record_is_read_back_and_a_bad_one_is_none(tmp_path):
    prefix = tmp_path / "python"
    prefix.mkdir()
    assert resolution_record.recorded(prefix) is None
    resolution_record.remember(prefix, "ab" * 32)
    assert resolution_record.recorded(prefix) == "ab" * 32
    resolution_record.forget(prefix)
    os.mkfifo(prefix / resolution_record.RECORD)  # not a regular file: no record, no hang
    assert resolution_record.recorded(prefix) is None
    resolution_record.remember(prefix, "cd" * 32)  # replaces what is in the way
    assert resolution_record.recorded(prefix) == "cd" * 32
