"""The -r/-c walk: iterative, linear, bounded (issue 15, class 6)."""
from __future__ import annotations

import os

import pytest

from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import MAX_DEPTH, env_references, included_files
from buildpack.base.output import BuildError


def test_thousands_of_includes_are_walked_once_each(tmp_path):
    (tmp_path / "requirements.txt").write_text("".join(f"-r r{i}.txt\n" for i in range(1000)))
    for i in range(1000):
        (tmp_path / f"r{i}.txt").write_text("-r shared.txt\n-c common.txt\nsix\n")
    (tmp_path / "shared.txt").write_text("-c common.txt\n")
    found = included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")
    (tmp_path / "common.txt").write_text("six<2\n")
    found = included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")
    assert len(found) == 1003 and len({os.fspath(p) for p in found}) == 1003


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
