"""The one reader of the app's files and the no-follow writers (issue 15, class 2)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from buildpack import app_files
from buildpack.app_files import AppFiles
from buildpack.output import BuildError


def _error_id(call) -> str:
    with pytest.raises(BuildError) as info:
        call()
    return info.value.error_id


def test_reads_regular_files_and_links_inside(tmp_path):
    (tmp_path / "real.txt").write_text("flask\n")
    (tmp_path / "requirements.txt").symlink_to("real.txt")
    files = AppFiles(tmp_path)
    assert files.text(tmp_path / "requirements.txt", "requirements") == "flask\n"
    assert files.bytes(tmp_path / "missing.txt", "requirements") is None


def test_reads_each_file_once(tmp_path):
    path = tmp_path / "Procfile"
    path.write_text("web: a\n")
    files = AppFiles(tmp_path)
    assert files.text(path, "procfile") == "web: a\n"
    path.write_text("web: b\n")
    assert files.text(path, "procfile") == "web: a\n"  # the build sees one version


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero", "../outside.txt"])
def test_links_out_of_the_app_are_refused(tmp_path, target):
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "outside.txt").write_text("secret\n")
    (app / "Procfile").symlink_to(target)
    assert _error_id(lambda: AppFiles(app).bytes(app / "Procfile", "procfile")) \
        == "app-file::outside-app"


def test_path_outside_the_app_is_refused(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "other.txt").write_text("x\n")
    assert _error_id(lambda: AppFiles(app).text(app / ".." / "other.txt", "requirements")) \
        == "app-file::outside-app"


def test_fifo_is_refused_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "requirements.txt")
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(
        _error_id(lambda: AppFiles(tmp_path).bytes(tmp_path / "requirements.txt", "requirements"))),
        daemon=True)
    thread.start()
    thread.join(10)
    assert result == ["app-file::not-regular"]


def test_device_through_a_folder_link_is_refused(tmp_path):
    """/dev/null reached through a folder link: the file's real path is what counts."""
    (tmp_path / "dev").symlink_to("/dev")
    assert _error_id(lambda: AppFiles(tmp_path).bytes(tmp_path / "dev" / "null", "procfile")) \
        == "app-file::outside-app"


@pytest.mark.parametrize("kind", sorted(app_files.LIMITS))
def test_size_bound_per_kind(tmp_path, kind):
    path = tmp_path / "big"
    with open(path, "wb") as out:  # sparse: costs no disk
        out.truncate(app_files.LIMITS[kind] + 1)
    assert _error_id(lambda: AppFiles(tmp_path).bytes(path, kind)) == "app-file::too-large"
    with open(path, "wb") as out:
        out.truncate(app_files.LIMITS[kind])
    assert len(AppFiles(tmp_path).bytes(path, kind) or b"") == app_files.LIMITS[kind]


def test_not_utf8_names_the_line(tmp_path):
    (tmp_path / "r.txt").write_bytes(b"a\nb\xff\n")
    with pytest.raises(BuildError) as info:
        AppFiles(tmp_path).text(tmp_path / "r.txt", "requirements")
    assert info.value.error_id == "app-file::not-utf8" and "line 2" in info.value.summary


def test_write_text_replaces_a_link_instead_of_following_it(tmp_path):
    build, outside = tmp_path / "build", tmp_path / "victim"
    build.mkdir()
    outside.write_text("keep\n")
    (build / ".profile.d").mkdir()
    (build / ".profile.d" / "python.sh").symlink_to(outside)
    app_files.write_text(build, ".profile.d/python.sh", "new\n")
    assert outside.read_text() == "keep\n"
    assert not (build / ".profile.d/python.sh").is_symlink()
    assert (build / ".profile.d/python.sh").read_text() == "new\n"


@pytest.mark.parametrize("rel", [".heroku", ".profile.d"])
def test_writes_never_go_through_a_folder_link(tmp_path, rel):
    build, outside = tmp_path / "build", tmp_path / "victim"
    build.mkdir()
    outside.mkdir()
    (build / rel).symlink_to(outside)
    assert _error_id(lambda: app_files.write_text(build, f"{rel}/x", "x")) == "app-file::in-the-way"
    assert _error_id(lambda: app_files.make_dirs(build, f"{rel}/python")) == "app-file::in-the-way"
    assert _error_id(lambda: app_files.check_writable(build, f"{rel}/x")) == "app-file::in-the-way"
    assert list(outside.iterdir()) == []


def test_a_file_where_a_folder_belongs_is_in_the_way(tmp_path):
    (tmp_path / ".heroku").write_text("committed by mistake\n")
    assert _error_id(lambda: app_files.check_writable(tmp_path, ".heroku/python")) \
        == "app-file::in-the-way"


def test_remove_does_not_follow_links(tmp_path):
    build, outside = tmp_path / "build", tmp_path / "victim"
    (build / ".heroku/python/lib").mkdir(parents=True)
    outside.mkdir()
    (outside / "keep").write_text("x")
    (build / ".heroku/python/lib/out").symlink_to(outside)
    (build / ".heroku/python/link").symlink_to(outside)
    assert app_files.remove(build, ".heroku/python")
    assert not (build / ".heroku/python").exists() and (outside / "keep").exists()
    (build / ".heroku/app-base").symlink_to(outside / "keep")
    assert app_files.remove(build, ".heroku/app-base")
    assert (outside / "keep").exists()
    assert not app_files.remove(build, ".heroku/app-base")


def test_walk_and_rmtree_are_iterative(tmp_path, monkeypatch):
    deep = tmp_path / "top"
    path = deep
    os.makedirs(path)
    monkeypatch.chdir(path)
    for _ in range(1100):  # deeper than the recursion limit; relative paths keep names short
        os.mkdir("d")
        os.chdir("d")
    Path("leaf.txt").write_text("x")
    os.chdir(tmp_path)
    assert sum(len(f) for _, _, f in app_files.walk(deep)) == 1
    app_files.rmtree(deep)
    assert not deep.exists()
