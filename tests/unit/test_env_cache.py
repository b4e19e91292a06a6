from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import included_files
from buildpack.cache import env_cache, layout

KEY = env_cache.CacheKey(1, "3.13.0", "a" * 64, "debian-12", "x86_64", "pip", "26.3", "c" * 64)


def _tree(root):
    (root / "bin").mkdir(parents=True)
    (root / "bin/python3.13").write_text("binary")
    (root / "bin/python3").symlink_to("python3.13")
    (root / "lib/site").mkdir(parents=True)
    (root / "lib/site/mod.py").write_text("x = 1\n")
    return root


def _save(cache, source):
    return env_cache.begin_save(cache, KEY, source).finish(None, settled=True)


def _cache(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    return cache


def test_save_links_and_restore_moves(tmp_path):
    src = _tree(tmp_path / "build/.heroku/python")
    cache = _cache(tmp_path)
    assert _save(cache, src)
    entry = cache / "env/python"
    # One copy of each file: the entry is the slug's files, linked.
    assert (entry / "lib/site/mod.py").stat().st_ino == (src / "lib/site/mod.py").stat().st_ino
    ino = (entry / "bin/python3.13").stat().st_ino
    target = tmp_path / "build2/.heroku/python"
    assert env_cache.restore(cache, KEY, target) == env_cache.UPDATE
    assert (target / "bin/python3.13").stat().st_ino == ino  # moved, not copied
    assert (target / "lib/site/mod.py").read_text() == "x = 1\n"
    assert os.readlink(target / "bin/python3") == "python3.13"
    # The entry left the cache for the build: a build that fails saves nothing.
    assert not os.path.lexists(cache / "env")
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("field, value, reason", [
    ("python_version", "3.12.1", "The Python version changed (3.13.0 -> 3.12.1)"),
    ("manager", "uv", "The package manager changed (pip -> uv)"),
    ("format", 2, "The buildpack's cache format changed (1 -> 2)"),
    ("settings_sha256", "e" * 64, "The installer settings (config vars such as PIP_INDEX_URL) changed"),
    ("runtime_sha256", "f" * 64, "The Python runtime archive changed"),
])
def test_key_change_discards_with_reason(tmp_path, capsys, field, value, reason):
    cache = _cache(tmp_path)
    _save(cache, _tree(tmp_path / "src"))
    assert env_cache.restore(cache, replace(KEY, **{field: value}), tmp_path / "t") == env_cache.FRESH
    out = capsys.readouterr().out
    assert "-----> Discarding cache since:" in out
    assert f"       - {reason}" in out
    assert not (tmp_path / "t").exists()
    assert not (cache / "env").exists()


def test_no_dependency_files_in_the_key():
    """The package manager decides what changed; the key holds what it cannot see."""
    assert not {"dependency_files", "dependencies_sha256"} & set(KEY.__dataclass_fields__)


@pytest.mark.parametrize("metadata", [b"{" * 100_000, b"\xff\xfe", b"[]", b'{"key": 1}', b"{not json"])
def test_unreadable_metadata_is_discarded_with_warning(tmp_path, capsys, metadata):
    cache = _cache(tmp_path)
    _save(cache, _tree(tmp_path / "src"))
    (cache / "env/metadata.json").write_bytes(metadata)
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.FRESH
    assert "Discarding an unreadable build cache" in capsys.readouterr().err
    assert not (cache / "env").exists()


@pytest.mark.parametrize("damage", [
    lambda e: (e / "bin/python3.13").chmod(0o4755),  # a later buildpack's chmod, through the link
    lambda e: (e / "lib/site/mod.py").write_text("x = 2\n"),
    lambda e: os.utime(e / "lib/site/mod.py", ns=(0, 0)),
    lambda e: (e / "bin/python3").unlink() or (e / "bin/python3").symlink_to("/bin/sh"),
    lambda e: (e / "lib/site/new.py").write_text(""),
    lambda e: (e / "lib/site/mod.py").unlink(),
    lambda e: (e / "lib/site/mod.py").unlink() or (e / "lib/site/mod.py").write_text("x = 1\n"),
])
def test_damaged_entry_is_discarded_with_uvs_cache(tmp_path, capsys, damage):
    cache = _cache(tmp_path)
    (cache / "uv/archive-v0").mkdir(parents=True)
    _save(cache, _tree(tmp_path / "src"))
    damage(cache / "env/python")
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.FRESH
    err = capsys.readouterr()
    assert "Discarding a corrupt build cache" in err.err
    assert "uv's cache, which shares those files, was cleared too" in err.out
    assert not (cache / "env").exists() and not (cache / "uv").exists()
    assert not (tmp_path / "t").exists()


def test_a_write_through_the_slug_after_the_save_is_caught_at_restore(tmp_path, capsys):
    """A later buildpack writes into .heroku/python after bin/compile saved it."""
    src = _tree(tmp_path / "build/.heroku/python")
    cache = _cache(tmp_path)
    _save(cache, src)
    with open(src / "lib/site/mod.py", "a") as fh:  # in place: the entry's file too
        fh.write("y = 2\n")
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.FRESH
    assert "Discarding a corrupt build cache" in capsys.readouterr().err


def test_the_app_build_codes_changes_are_never_saved(tmp_path, capsys):
    """A hook changed a file the installer wrote: deployed, but neither cached nor left
    in uv's cache, which may share it."""
    src = _tree(tmp_path / "build/.heroku/python")
    cache = _cache(tmp_path)
    _save(cache, src)
    (cache / "uv").mkdir()
    target = tmp_path / "build2/.heroku/python"
    assert env_cache.restore(cache, KEY, target) == env_cache.UPDATE
    saving = env_cache.begin_save(cache, KEY, target)
    before = env_cache.snapshot(target, inodes=True)
    (target / "bin/python3.13").chmod(0o777)
    assert not saving.finish(before, settled=True)
    err = capsys.readouterr().err
    assert "The installed environment is not cached" in err and "bin/python3.13" in err
    assert not (cache / "env").exists() and not (cache / "uv").exists()


def test_files_the_app_build_code_only_added_are_saved(tmp_path):
    src = _tree(tmp_path / "build/.heroku/python")
    cache = _cache(tmp_path)
    saving = env_cache.begin_save(cache, KEY, src)
    before = env_cache.snapshot(src, inodes=True)
    (src / "lib/site/__pycache__").mkdir()
    (src / "lib/site/__pycache__/mod.pyc").write_bytes(b"pyc")
    assert saving.finish(before, settled=True)
    assert (cache / "env/python/lib/site/__pycache__/mod.pyc").is_file()


def _big_tree(root):
    """600 files in 30 folders: enough that the save's thread is still linking when the
    test goes on."""
    _tree(root)
    for n in range(30):
        folder = root / f"lib/site/pkg{n}"
        folder.mkdir()
        for m in range(20):
            (folder / f"m{m}.py").write_text(f"x = {m}\n")
    return root


@pytest.mark.parametrize("change", [
    lambda e: (e / "lib/site/pkg29/m19.py").write_text("x = 0\n"),  # in place: the link's file
    lambda e: os.replace(e / "lib/site/pkg0/m1.py", e / "lib/site/pkg0/m0.py"),
    lambda e: shutil.rmtree(e / "lib/site/pkg15"),
    lambda e: shutil.rmtree(e / "lib/site/pkg15") or (e / "lib/site/pkg15").write_text(""),
    lambda e: (e / "lib/site/pkg29").chmod(0o700),
])
@pytest.mark.parametrize("linked_first", [True, False])
def test_what_the_app_build_code_changes_while_the_save_links_is_never_saved(
        tmp_path, capsys, change, linked_first):
    """The save links the environment on a thread while the app's build code runs: a
    change made before the thread reached the file, or after it linked it, is caught."""
    src = _big_tree(tmp_path / "build/.heroku/python")
    cache = _cache(tmp_path)
    (cache / "uv").mkdir()
    saving = env_cache.begin_save(cache, KEY, src)
    before = env_cache.snapshot(src, inodes=True)
    if linked_first:
        saving.work.wait()
    change(src)
    assert not saving.finish(before, settled=True)
    assert "The installed environment is not cached" in capsys.readouterr().err
    assert not (cache / "env").exists() and not (cache / "uv").exists()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


def _replace(path, text):
    new = path.with_name(path.name + ".new")
    new.write_text(text)
    os.replace(new, path)  # a new inode, as relocation's atomic writes


@pytest.mark.parametrize("change", [
    lambda e: _replace(e / "lib/site/pkg29/m19.py", "x = 'relocated'\n"),
    lambda e: (e / "lib/site/pkg3/__pycache__").mkdir() or (e / "lib/site/pkg3/__pycache__/m1.pyc").write_bytes(b"pyc"),
    lambda e: (e / "lib/site/pkg0/m1.py").unlink(),
    lambda e: shutil.rmtree(e / "lib/site/pkg15") or (e / "lib/site/pkg15").write_text("now a file"),
    lambda e: (e / "lib/site/pkg28/m2.py").unlink() or (e / "lib/site/pkg28/m2.py").mkdir(),
    lambda e: (e / "lib/site/pkg7/m3.py").write_text("in place\n"),
    lambda e: (e / "lib/site/pkg29").chmod(0o555),
    lambda e: (e / "bin/python3").unlink() or (e / "bin/python3").symlink_to("python3.13-other"),
    lambda e: shutil.rmtree(e / "lib/site/pkg4"),  # the package manager uninstalls a package
    lambda e: (e / "lib/site/new").mkdir() or (e / "lib/site/new/__init__.py").write_text("n = 1\n"),
])
@pytest.mark.parametrize("linked_first", [True, False])
def test_what_the_buildpack_changes_after_the_save_began_is_saved(tmp_path, change, linked_first):
    """The save begins before the package manager runs on the previous environment (once
    it is done, on a fresh install); the install, relocation, bytecode and NLTK data come
    after: the entry ends up exactly the final environment, whenever the thread passed the
    changed file."""
    src = _big_tree(tmp_path / "build/.heroku/python")
    cache = _cache(tmp_path)
    saving = env_cache.begin_save(cache, KEY, src)
    if linked_first:
        saving.work.wait()
    change(src)
    assert saving.finish(None, settled=False)
    entry = cache / "env/python"

    def tree(root):
        found = {}
        for path in sorted(root.rglob("*")):
            st = path.lstat()
            kind = "l" if path.is_symlink() else "d" if path.is_dir() else "f"
            found[str(path.relative_to(root))] = (kind, os.readlink(path) if kind == "l" else
                                                  st.st_ino if kind == "f" else st.st_mode)
        return found

    assert tree(entry) == tree(src)  # the same files (inodes), links and folder modes
    target = tmp_path / "build2/.heroku/python"
    assert env_cache.restore(cache, KEY, target) == env_cache.UPDATE  # its manifest holds


_COMPILER = """
import os, sys, time
root, stop = sys.argv[1], sys.argv[2]
n = 0
while not os.path.exists(stop):
    folder = f"{root}/lib/site/pkg{n % 30}/__pycache__"
    os.makedirs(folder, exist_ok=True)
    temp = f"{folder}/m{n % 20}.pyc.{n}"
    with open(temp, "wb") as fh:
        fh.write(b"pyc")
    os.replace(temp, f"{folder}/m{n % 20}.pyc")
    n += 1
"""


def test_the_save_links_while_bytecode_is_written_beside_it(tmp_path):
    """Relocation compiles bytecode (another process) while the save's thread walks: each
    pyc is written to a temp file and renamed (importlib's atomic write), so entries
    vanish between the thread's listing and its lstat or link. The save never fails on
    that, and the entry is the final tree."""
    src = _big_tree(tmp_path / "build/.heroku/python")
    cache = _cache(tmp_path)
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", _COMPILER, str(src), str(stop)])
    try:
        deadline = time.monotonic() + 30
        while not (src / "lib/site/pkg29/__pycache__").exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # the writer is at work in every folder
        for _ in range(5):
            saving = env_cache.begin_save(cache, KEY, src)
            saving.work.wait()
            if _ < 4:
                saving.abandon()
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert saving.finish(None, settled=False)
    entry = cache / "env/python"
    assert sorted(p.relative_to(entry) for p in entry.rglob("*")) \
        == sorted(p.relative_to(src) for p in src.rglob("*"))
    assert not list(entry.rglob("*.pyc.*"))


def test_an_unwatched_save_keeps_every_file_and_its_folders_modes(tmp_path):
    src = _big_tree(tmp_path / "build/.heroku/python")
    (src / "lib/site/pkg3").chmod(0o555)
    assert _save(_cache(tmp_path), src)
    entry = tmp_path / "cache/env/python"
    assert sorted(p.relative_to(entry) for p in entry.rglob("*")) \
        == sorted(p.relative_to(src) for p in src.rglob("*"))
    assert (entry / "lib/site/pkg3").stat().st_mode & 0o777 == 0o555
    assert (entry / "lib/site/pkg3/m7.py").stat().st_ino == (src / "lib/site/pkg3/m7.py").stat().st_ino


def test_an_abandoned_save_leaves_nothing(tmp_path):
    src = _big_tree(tmp_path / "build/.heroku/python")
    cache = _cache(tmp_path)
    env_cache.begin_save(cache, KEY, src).abandon()
    assert list(cache.iterdir()) == []
    assert (src / "lib/site/pkg29/m19.py").is_file()  # the build's own files stay


def test_save_replaces_previous_entry(tmp_path):
    cache = _cache(tmp_path)
    _save(cache, _tree(tmp_path / "one"))
    two = _tree(tmp_path / "two")
    (two / "lib/site/mod.py").write_text("x = 2\n")
    _save(cache, two)
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.UPDATE
    assert (tmp_path / "t/lib/site/mod.py").read_text() == "x = 2\n"
    assert not list(cache.glob(".env-*"))


def test_link_tree_copies_where_links_cannot_be_made(tmp_path, capsys, monkeypatch):
    """Another filesystem (EXDEV): the files are copied, and the log says so once."""
    src = _tree(tmp_path / "src")

    def cross_device(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    env_cache._SAID_COPYING.clear()
    env_cache.link_tree(src, tmp_path / "dest")
    assert (tmp_path / "dest/lib/site/mod.py").read_text() == "x = 1\n"
    assert (tmp_path / "dest/lib/site/mod.py").stat().st_ino != (src / "lib/site/mod.py").stat().st_ino
    assert capsys.readouterr().out.count("CACHE_DIR is on another filesystem") == 1


def test_included_files_follow_includes(tmp_path):
    (tmp_path / "reqs").mkdir()
    (tmp_path / "requirements.txt").write_text("-r reqs/base.txt\n-c constraints.txt\nflask\n")
    (tmp_path / "reqs/base.txt").write_text("--requirement=common.txt\n")
    (tmp_path / "reqs/common.txt").write_text("requests  # a comment\n--requirem \"quoted.txt\"\n")
    (tmp_path / "reqs/quoted.txt").write_text("six\n")
    (tmp_path / "constraints.txt").write_text("requests<3\n")
    names = [str(p.relative_to(tmp_path)) for p in included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")]
    assert names == ["requirements.txt", "reqs/base.txt", "reqs/common.txt", "reqs/quoted.txt",
                     "constraints.txt"]


def test_garbage_in_cache_dir_is_discarded_and_the_rest_kept(tmp_path, capsys):
    cache = tmp_path / "cache"
    (cache / "runtimes").mkdir(parents=True)  # an older buildpack's archives: retired quietly
    (cache / "runtimes" / ("a" * 64 + ".tar.gz")).write_text("archive")
    (cache / "env").write_text("a file where a folder belongs")
    (cache / "runtime").write_text("a file where a folder belongs")
    (cache / "pip").symlink_to("/etc")
    (cache / "tools").write_text("x")
    (cache / ".lock").mkdir()
    (cache / "build-report.json").mkdir()
    (cache / "base").mkdir()  # an older buildpack's entry: retired quietly
    (cache / "other-buildpack").mkdir()  # not ours: left alone
    env_cache.remove_stale_temp(cache)
    with env_cache.locked(cache):
        pass
    assert sorted(p.name for p in cache.iterdir()) == [".lock", "other-buildpack"]
    assert (cache / ".lock").is_file()
    assert "Discarded unexpected files in the build cache" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["folder", "link"])
def test_uvs_lock_that_is_not_a_file_clears_uvs_cache(tmp_path, capsys, damage):
    cache = tmp_path / "cache"
    (cache / "uv/archive-v0/x").mkdir(parents=True)
    if damage == "folder":
        (cache / "uv/.lock").mkdir()
    else:
        (cache / "uv/.lock").symlink_to(tmp_path)
    env_cache.remove_stale_temp(cache)
    assert not (cache / "uv").exists() and tmp_path.is_dir()
    assert "uv" in capsys.readouterr().err


def test_a_healthy_uv_cache_is_kept(tmp_path):
    cache = tmp_path / "cache"
    (cache / "uv/archive-v0").mkdir(parents=True)
    (cache / "uv/.lock").write_text("")
    env_cache.remove_stale_temp(cache)
    assert (cache / "uv/archive-v0").is_dir()


@pytest.mark.parametrize("entry", layout.ENTRIES, ids=lambda e: e.name)
def test_every_place_in_the_layout_is_tidied_when_of_the_wrong_form(tmp_path, entry):
    cache = tmp_path / "cache"
    cache.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (cache / entry.name).symlink_to(victim)
    env_cache.remove_stale_temp(cache)
    with env_cache.locked(cache):
        pass
    assert not (cache / entry.name).is_symlink() and victim.is_dir()
    assert entry.heals and entry.holds


def test_the_sboms_place_is_in_the_layout():
    from buildpack.app_build import sbom
    assert layout.BY_NAME[sbom.CACHE_NAME].kind == layout.FILE


def test_the_installers_cache_folders_are_in_the_layout():
    """Every folder a tool is pointed at is a place of the table (one list, no other)."""
    from buildpack.installers import pdm, pinned_tools, pipenv, poetry, uv
    for name in (uv.CACHE_FOLDER, poetry.CACHE_FOLDER, poetry.DATA_FOLDER, pipenv.CACHE_FOLDER,
                 pipenv.VENVS_FOLDER, pdm.CACHE_FOLDER, pdm.HOME_FOLDER, pinned_tools.CACHE_SUBDIR):
        assert layout.BY_NAME[name].kind == layout.FOLDER


def test_a_cache_stored_as_an_archive_still_restores(tmp_path):
    """A platform may keep CACHE_DIR as an archive: new inodes, same files and times."""
    import shutil
    cache = _cache(tmp_path)
    _save(cache, _tree(tmp_path / "src"))
    moved = tmp_path / "restored-cache"
    shutil.copytree(cache, moved, symlinks=True)
    assert env_cache.restore(moved, KEY, tmp_path / "t") == env_cache.UPDATE


# --- the unpacked runtime (provide_runtime) ----------------------------------------------

def _unpacker(calls, tree_root):
    def unpack():
        calls.append(1)
        _tree(tree_root)
    return unpack


def test_the_runtime_is_unpacked_once_then_linked_from_the_cache(tmp_path, capsys):
    cache, calls = _cache(tmp_path), []
    first = tmp_path / "one/python"
    env_cache.provide_runtime(cache, "a" * 64, first, _unpacker(calls, first))
    assert calls == [1]
    kept = cache / layout.RUNTIME / "python/lib/site/mod.py"
    assert kept.samefile(first / "lib/site/mod.py")  # one copy: links of the slug's files
    second = tmp_path / "two/python"
    second.parent.mkdir()
    env_cache.provide_runtime(cache, "a" * 64, second, _unpacker(calls, second))
    assert calls == [1]  # not unpacked again
    assert (second / "lib/site/mod.py").samefile(kept)
    assert os.readlink(second / "bin/python3") == "python3.13"
    assert "Using the Python runtime unpacked in the build cache" in capsys.readouterr().out


@pytest.mark.parametrize("damage", [  # (the slug's runtime, the cached one)
    lambda slug, kept: (slug / "lib/site/mod.py").chmod(0o777),  # through the slug's link
    lambda slug, kept: (slug / "lib/site/mod.py").write_text("y = 2\n"),
    lambda slug, kept: (kept / "lib/site/extra.py").write_text(""),
    lambda slug, kept: (kept / "bin/python3.13").unlink(),
])
def test_a_damaged_cached_runtime_is_unpacked_again(tmp_path, capsys, damage):
    cache, calls = _cache(tmp_path), []
    env_cache.provide_runtime(cache, "a" * 64, tmp_path / "one", _unpacker(calls, tmp_path / "one"))
    damage(tmp_path / "one", cache / layout.RUNTIME / "python")
    env_cache.provide_runtime(cache, "a" * 64, tmp_path / "two", _unpacker(calls, tmp_path / "two"))
    assert calls == [1, 1]
    assert "Discarding a damaged cached Python runtime" in capsys.readouterr().err
    kept = cache / layout.RUNTIME / "python/lib/site/mod.py"
    assert kept.samefile(tmp_path / "two/lib/site/mod.py")


def test_another_runtime_replaces_the_cached_one(tmp_path):
    cache, calls = _cache(tmp_path), []
    env_cache.provide_runtime(cache, "a" * 64, tmp_path / "one", _unpacker(calls, tmp_path / "one"))
    env_cache.provide_runtime(cache, "b" * 64, tmp_path / "two", _unpacker(calls, tmp_path / "two"))
    assert calls == [1, 1]
    assert sorted(p.name for p in (cache / layout.RUNTIME).iterdir()) == ["metadata.json", "python"]
    assert (cache / layout.RUNTIME / "python/lib/site/mod.py").samefile(tmp_path / "two/lib/site/mod.py")


def test_a_failed_unpack_keeps_nothing(tmp_path):
    cache = _cache(tmp_path)

    def unpack():
        raise RuntimeError("download failed")
    with pytest.raises(RuntimeError):
        env_cache.provide_runtime(cache, "a" * 64, tmp_path / "one", unpack)
    assert not (cache / layout.RUNTIME / "metadata.json").exists()


def test_damage_found_in_the_environment_clears_the_cached_runtime(tmp_path, capsys):
    cache, calls = _cache(tmp_path), []
    src = tmp_path / "build/python"
    env_cache.provide_runtime(cache, "a" * 64, src, _unpacker(calls, src))
    _save(cache, src)
    (src / "lib/site/mod.py").chmod(0o777)
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.FRESH
    assert not (cache / layout.RUNTIME).exists()
