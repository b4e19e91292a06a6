"""The -r/-c walk: iterative, linear, bounded (issue 15, class 6)."""
from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest

from buildpack.app import requirements_files
from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import MAX_DEPTH, env_references, included_files
from buildpack.base.output import BuildError


class _CountingFiles(AppFiles):
    """The real reader, counting how often the walk asks for each file."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: collections.Counter[str] = collections.Counter()

    def text(self, path: Path, kind: str) -> str | None:
        self.reads[os.path.basename(path)] += 1
        return super().text(path, kind)


def _lattice(folder: Path, levels: int) -> None:
    """requirements.txt includes a0 and b0; every a<i>/b<i> includes both files of the next
    level and constrains with common.txt: 2**levels include paths through 2*levels files."""
    (folder / "requirements.txt").write_text("-r a0.txt\n-r b0.txt\n")
    for i in range(levels):
        below = f"-r a{i + 1}.txt\n-r b{i + 1}.txt\n" if i + 1 < levels else ""
        for side in "ab":
            (folder / f"{side}{i}.txt").write_text(f"{below}-c common.txt\nsix\n")


def test_shared_includes_are_walked_once_each(tmp_path):
    """Linear, not one visit per include path: a walk that followed each of the 4,096 paths
    would ask for a file thousands of times (and for 2**30 paths, never end)."""
    levels = 12
    _lattice(tmp_path, levels)
    files = _CountingFiles(tmp_path)
    found = included_files(files, tmp_path / "requirements.txt")  # common.txt missing: left out
    assert len(found) == 2 * levels + 1 and "common.txt" not in {p.name for p in found}
    (tmp_path / "common.txt").write_text("six<2\n")
    files = _CountingFiles(tmp_path)
    found = included_files(files, tmp_path / "requirements.txt")
    assert len(found) == 2 * levels + 2 == len({os.fspath(p) for p in found})
    assert set(files.reads.values()) == {1}, files.reads.most_common(3)


@pytest.mark.parametrize("includes, refused", [(99, False), (100, True)])
def test_more_included_files_than_the_bound_are_refused(tmp_path, monkeypatch, includes, refused):
    """MAX_FILES (10,000) lowered to 100, so the bound is crossed with 101 small files: the
    root and 99 includes are walked; one more is requirements::too-many-includes."""
    monkeypatch.setattr(requirements_files, "MAX_FILES", 100)
    (tmp_path / "requirements.txt").write_text("".join(f"-r r{i}.txt\n" for i in range(includes)))
    for i in range(includes):
        (tmp_path / f"r{i}.txt").write_text("-c requirements-common.txt\nsix\n")
    if not refused:
        assert len(included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")) == 100
        return
    with pytest.raises(BuildError) as info:
        included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")
    assert info.value.error_id == "requirements::too-many-includes"
    assert "more than 100 files" in str(info.value)


@pytest.mark.parametrize("files", [
    {"requirements.txt": "-r requirements.txt\n"},
    {"requirements.txt": "-r a.txt\n", "a.txt": "-r sub/b.txt\n", "sub/b.txt": "-c ../requirements.txt\n"},
    {"requirements.txt": "-r a.txt\n-r b.txt\n", "a.txt": "-r b.txt\n", "b.txt": "-r a.txt\n"},
])
def test_a_circular_include_is_refused_whatever_the_engine(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with pytest.raises(BuildError) as info:
        included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")
    assert info.value.error_id == "requirements::circular-include"


def test_a_file_included_twice_without_a_circle_is_fine(tmp_path):
    (tmp_path / "requirements.txt").write_text("-r a.txt\n-r b.txt\n")
    (tmp_path / "a.txt").write_text("-c common.txt\n")
    (tmp_path / "b.txt").write_text("-c common.txt\n")
    (tmp_path / "common.txt").write_text("six<2\n")
    assert len(included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")) == 4


def test_a_chain_deeper_than_pip_can_read_is_refused(tmp_path):
    for i in range(MAX_DEPTH + 50):
        (tmp_path / f"r{i}.txt").write_text(f"-r r{i + 1}.txt\n")
    with pytest.raises(BuildError) as info:
        included_files(AppFiles(tmp_path), tmp_path / "r0.txt")
    assert info.value.error_id == "requirements::includes-too-deep"
    (tmp_path / f"r{MAX_DEPTH - 1}.txt").write_text("six\n")
    assert len(included_files(AppFiles(tmp_path), tmp_path / "r0.txt")) == MAX_DEPTH


@pytest.mark.parametrize("line", ["-r ../outside.txt", "-r /etc/passwd", "-c sub/../../x.txt"])
def test_includes_outside_the_app_are_refused(tmp_path, line):
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "outside.txt").write_text("six\n")
    (app / "requirements.txt").write_text(line + "\n")
    with pytest.raises(BuildError) as info:
        included_files(AppFiles(app), app / "requirements.txt")
    assert info.value.error_id == "requirements::include-outside"


def test_env_references():
    text = "git+https://${GITHUB_TOKEN}@h/r.git\n--index-url https://${U_USER}:${P_PASSWORD}@h/\n$HOME\n${lower}\n"
    assert env_references(text) == ["GITHUB_TOKEN", "P_PASSWORD", "U_USER"]
