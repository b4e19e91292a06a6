"""The one reader of the app's files and the no-follow writers (issue 15, class 2)."""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from buildpack.app import app_files
from buildpack.app.app_files import AppFiles
from buildpack.base import fs
from buildpack.base.output import BuildError


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
    """A tree deeper than the recursion limit: the limit is lowered to 250 frames (the
    test's own stack is well under 150), so 300 levels are deeper than any recursive walk
    could go, and cheap to make."""
    deep = tmp_path / "top"
    path = deep
    os.makedirs(path)
    monkeypatch.chdir(path)
    for _ in range(300):  # relative paths keep names short
        os.mkdir("d")
        os.chdir("d")
    Path("leaf.txt").write_text("x")
    os.chdir(tmp_path)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)
    try:
        assert sum(len(f) for _, _, f in fs.walk(deep)) == 1
        fs.rmtree(deep)  # pytest's own cleanup recurses, and would fail on a deep tree
    finally:
        sys.setrecursionlimit(limit)
        if deep.exists():
            fs.rmtree(deep)
    assert not deep.exists()


# --- every reader of an app file goes through AppFiles (issue 14, item 5) -------------------

def _hostile(app: Path, name: str, how: str, tmp_path: Path) -> None:
    """Make ``app/name`` a link leaving the app, a FIFO, or a file over its kind's bound."""
    path = app / name
    path.unlink(missing_ok=True)
    if how == "link":
        outside = tmp_path / "outside" / Path(name).name
        outside.parent.mkdir(exist_ok=True)
        outside.write_text("#!/bin/sh\n")  # a script that a link could smuggle in
        path.symlink_to(outside)
    elif how == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "wb") as fh:  # sparse: larger than every bound, nothing written
            fh.truncate(max(app_files.LIMITS.values()) + 1)


HOSTILE = [("link", "app-file::outside-app"), ("fifo", "app-file::not-regular"),
           ("large", "app-file::too-large")]


@pytest.mark.parametrize("how, error_id", HOSTILE)
@pytest.mark.parametrize("manager, companion, read", [("UV", "uv.lock", "pyproject.toml"),
                                                      ("PIPENV", "Pipfile", "Pipfile.lock")])
def test_python_check_reads_through_the_reader(tmp_path, how, error_id, manager, companion, read):
    from buildpack.installers import managers, python_check
    from buildpack.installers.record import Choice

    app = tmp_path / "app"
    app.mkdir()
    (app / companion).write_text("")
    _hostile(app, read, how, tmp_path)
    files = (app / read, app / companion) if manager == "UV" else (app / companion, app / read)
    choice = Choice(getattr(managers, manager), files)
    with pytest.raises(BuildError) as info:
        python_check.check(choice, AppFiles(app), "3.13.0")
    assert info.value.error_id == error_id


@pytest.mark.parametrize("how, error_id", HOSTILE)
def test_version_requests_read_pipfile_lock_through_the_reader(tmp_path, how, error_id):
    from buildpack.python_version.versions import read_requests

    app = tmp_path / "app"
    app.mkdir()
    _hostile(app, "Pipfile.lock", how, tmp_path)
    with pytest.raises(BuildError) as info:
        read_requests(AppFiles(app))
    assert info.value.error_id == error_id


def test_head_reads_only_regular_files_inside_the_app(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "runtime").write_text("3.12\n")
    assert AppFiles(app).head(app / "runtime", 2) == b"3."
    for how, _ in HOSTILE:
        _hostile(app, "runtime", how, tmp_path)
        assert AppFiles(app).head(app / "runtime", 4096) == (None if how != "large" else b"\0" * 4096)
    assert AppFiles(app).head(app / "missing", 2) is None


@pytest.mark.parametrize("how", ["link", "fifo", "large"])
def test_misspelled_version_files_are_looked_at_through_the_reader(tmp_path, how):
    """A link leaving the app or a FIFO is not looked at (nor does it hang the build); a
    large file is looked at only for its first 4 KiB, as before."""
    from buildpack.python_version.versions import misspelled_files

    app = tmp_path / "app"
    app.mkdir()
    _hostile(app, ".python_version", how, tmp_path)
    assert misspelled_files(AppFiles(app)) == []


@pytest.mark.parametrize("how", ["link", "fifo"])
def test_a_hook_is_looked_at_through_the_reader(tmp_path, how):
    from buildpack.app_build import hooks

    app = tmp_path / "app"
    (app / "bin").mkdir(parents=True)
    _hostile(app, "bin/post_compile", how, tmp_path)
    # Not read (a link out of the app is refused before it runs; a FIFO is no script).
    assert hooks._command(app / "bin" / "post_compile", app)[0] == "/bin/sh"
