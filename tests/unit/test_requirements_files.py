"""The -r/-c walk: iterative, linear, bounded (issue 15, class 6)."""
from __future__ import annotations

import os

import pytest

from buildpack.app_files import AppFiles
from buildpack.output import BuildError
from buildpack.requirements_files import MAX_DEPTH, env_references, included_files


def test_thousands_of_includes_are_walked_once_each(tmp_path):
    (tmp_path / "requirements.txt").write_text("".join(f"-r r{i}.txt\n" for i in range(1000)))
    for i in range(1000):
        (tmp_path / f"r{i}.txt").write_text("-r requirements.txt\n-c common.txt\nsix\n")
    found = included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")
    (tmp_path / "common.txt").write_text("six<2\n")
    found = included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")
    assert len(found) == 1002 and len({os.fspath(p) for p in found}) == 1002


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
