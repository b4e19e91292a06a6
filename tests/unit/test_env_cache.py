from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import included_files, uncached_sources
from buildpack.cache import env_cache
from buildpack.installers import managers

KEY = env_cache.CacheKey(1, "3.13.0", "a" * 64, "debian-12", "x86_64", "pip", "26.3",
                         ("requirements.txt",), "b" * 64, "c" * 64)


def _tree(root):
    (root / "bin").mkdir(parents=True)
    (root / "bin/python3.13").write_text("binary")
    (root / "bin/python3").symlink_to("python3.13")
    (root / "lib/site").mkdir(parents=True)
    (root / "lib/site/mod.py").write_text("x = 1\n")
    return root


def test_save_then_restore_round_trip(tmp_path):
    src = _tree(tmp_path / "build/.heroku/python")
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, src)
    target = tmp_path / "build2/.heroku/python"
    assert env_cache.restore(cache, KEY, target) == env_cache.REUSED
    assert (target / "lib/site/mod.py").read_text() == "x = 1\n"
    assert os.readlink(target / "bin/python3") == "python3.13"
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("field, value, reason", [
    ("python_version", "3.12.1", "The Python version changed (3.13.0 -> 3.12.1)"),
    ("dependencies_sha256", "d" * 64, "requirements.txt changed"),
    ("manager", "uv", "The package manager changed (pip -> uv)"),
    ("format", 2, "The buildpack's cache format changed (1 -> 2)"),
    ("settings_sha256", "e" * 64, "The installer settings (config vars such as PIP_INDEX_URL) changed"),
    ("runtime_sha256", "f" * 64, "The Python runtime archive changed"),
])
def test_key_change_discards_with_reason(tmp_path, capsys, field, value, reason):
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, _tree(tmp_path / "src"))
    assert env_cache.restore(cache, replace(KEY, **{field: value}), tmp_path / "t") == env_cache.FRESH
    out = capsys.readouterr().out
    assert "-----> Discarding cache since:" in out
    assert f"       - {reason}" in out
    assert not (tmp_path / "t").exists()
    assert (cache / "env").exists()  # kept until a successful build replaces it


@pytest.mark.parametrize("change, updates, state", [
    ({"dependencies_sha256": "d" * 64}, True, env_cache.UPDATE),
    ({"dependencies_sha256": "d" * 64, "dependency_files": ("a.txt",)}, True, env_cache.UPDATE),
    ({"dependencies_sha256": "d" * 64}, False, env_cache.FRESH),  # the record cannot update
    ({"dependencies_sha256": "d" * 64, "stack": "debian-13"}, True, env_cache.FRESH),
])
def test_an_entry_whose_dependencies_changed_is_restored_to_update(tmp_path, capsys, change,
                                                                   updates, state):
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, _tree(tmp_path / "src"))
    assert env_cache.restore(cache, replace(KEY, **change), tmp_path / "t", updates=updates) == state
    heading = env_cache.UPDATING if state == env_cache.UPDATE else env_cache.DISCARDING
    assert f"-----> {heading}\n" in capsys.readouterr().out
    assert (tmp_path / "t/lib/site/mod.py").exists() == (state == env_cache.UPDATE)


def test_the_base_entry_for_another_key_is_not_used_and_says_nothing(tmp_path, capsys):
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, _tree(tmp_path / "src"), env_cache.BASE_DIR_NAME)
    newer = replace(KEY, python_version="3.13.1")
    assert env_cache.restore(cache, newer, tmp_path / "t", env_cache.BASE_DIR_NAME,
                             quiet=True) == env_cache.FRESH
    assert capsys.readouterr().out == ""  # and the entry stays: the same key uses it
    assert env_cache.restore(cache, KEY, tmp_path / "t", env_cache.BASE_DIR_NAME,
                             quiet=True) == env_cache.REUSED
    assert (tmp_path / "t/lib/site/mod.py").exists() and capsys.readouterr().out == ""


def test_in_place_change_is_detected_as_corrupt(tmp_path, capsys):
    cache = tmp_path / "cache"
    cache.mkdir()
    src = _tree(tmp_path / "src")
    env_cache.save(cache, KEY, src)
    with open(cache / "env/python/lib/site/mod.py", "a") as fh:  # e.g. a hook writing in place
        fh.write("y = 2\n")
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.FRESH
    assert "Discarding a corrupt build cache" in capsys.readouterr().err


@pytest.mark.parametrize("metadata", ["{not json", "[]", json.dumps({"key": 1})])
def test_unreadable_metadata_is_discarded_with_warning(tmp_path, capsys, metadata):
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, _tree(tmp_path / "src"))
    (cache / "env/metadata.json").write_text(metadata)
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.FRESH
    assert "Discarding an unreadable build cache" in capsys.readouterr().err
    assert not (cache / "env").exists()


def test_save_replaces_previous_entry(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, _tree(tmp_path / "one"))
    two = _tree(tmp_path / "two")
    (two / "lib/site/mod.py").write_text("x = 2\n")
    newer = replace(KEY, dependencies_sha256="9" * 64)
    env_cache.save(cache, newer, two)
    assert env_cache.restore(cache, newer, tmp_path / "t") == env_cache.REUSED
    assert (tmp_path / "t/lib/site/mod.py").read_text() == "x = 2\n"


def test_included_files_follow_includes(tmp_path):
    (tmp_path / "reqs").mkdir()
    (tmp_path / "requirements.txt").write_text("-r reqs/base.txt\n-c constraints.txt\nflask\n")
    (tmp_path / "reqs/base.txt").write_text("--requirement=common.txt\n")
    (tmp_path / "reqs/common.txt").write_text("requests  # a comment\n")
    (tmp_path / "constraints.txt").write_text("requests<3\n")
    names = [str(p.relative_to(tmp_path)) for p in included_files(AppFiles(tmp_path), tmp_path / "requirements.txt")]
    assert names == ["requirements.txt", "reqs/base.txt", "reqs/common.txt", "constraints.txt"]


@pytest.mark.parametrize("line, local", [
    ("flask==3.1", False), ("-e .", True), (".", True), ("./libs/mylib", True),
    ("mylib @ file:///src/mylib", True), ("/abs/path/pkg.whl", True),
    ("requests @ https://example.test/requests.whl", False), ("--hash=sha256:00", False),
    # Not pinned by any file either (issue 15, class 4): a folder without ./, a local
    # --find-links folder, a VCS branch; a wheel file; pinned commits and index URLs are.
    ("libs/common", True), ("-e libs/common", True), ("libs/common[extra]>=1", True),
    ("-f wheels", True), ("--find-links=file:///srv/wheels", True), ("dist/x-1-py3-none-any.whl", True),
    ("x-1-py3-none-any.whl", True), ("git+https://example.test/r.git@main#egg=r", True),
    ("r @ git+https://example.test/r.git@v1.2", True),
    ("r @ git+https://example.test/r.git@" + "ab" * 20, False),
    ("--find-links https://example.test/wheels", False), ("-r more.txt", False),
    ("--index-url https://u:p@example.test/simple", False), ("x>=1; python_version<'3.14'", False),
])
def test_uncached_sources(line, local):
    assert bool(uncached_sources([line + "\n"])) is local


# Issue 15, class 5: the slug never shares a file with the cache; damage is discarded.
def test_slug_files_are_copies_so_the_slug_cannot_write_into_the_cache(tmp_path):
    src = _tree(tmp_path / "build/.heroku/python")
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, src)
    assert (src / "bin/python3.13").stat().st_ino != (cache / "env/python/bin/python3.13").stat().st_ino
    target = tmp_path / "build2/.heroku/python"
    assert env_cache.restore(cache, KEY, target) == env_cache.REUSED
    (target / "bin/python3.13").chmod(0o777)  # a hook's chmod, a later buildpack's write
    (target / "lib/site/mod.py").write_text("x = 666\n")
    again = tmp_path / "build3/.heroku/python"
    assert env_cache.restore(cache, KEY, again) == env_cache.REUSED
    assert (again / "lib/site/mod.py").read_text() == "x = 1\n"
    assert (again / "bin/python3.13").stat().st_mode & 0o777 != 0o777


@pytest.mark.parametrize("damage", [
    lambda e: (e / "bin/python3.13").chmod(0o4755),
    lambda e: (e / "lib/site/mod.py").write_text("x = 2\n"),
    lambda e: os.utime(e / "lib/site/mod.py", ns=(0, 0)),
    lambda e: (e / "bin/python3").unlink() or (e / "bin/python3").symlink_to("/bin/sh"),
    lambda e: (e / "lib/site/new.py").write_text(""),
    lambda e: (e / "lib/site/mod.py").unlink(),
])
def test_damaged_entry_is_discarded_with_a_warning(tmp_path, capsys, damage):
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, _tree(tmp_path / "src"))
    damage(cache / "env/python")
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.FRESH
    assert "Discarding a corrupt build cache" in capsys.readouterr().err
    assert not (cache / "env").exists()


@pytest.mark.parametrize("metadata", [b"{" * 100_000, b"\xff\xfe", b"[]", b'{"key": 1}'])
def test_unreadable_metadata_is_discarded(tmp_path, capsys, metadata):
    cache = tmp_path / "cache"
    cache.mkdir()
    env_cache.save(cache, KEY, _tree(tmp_path / "src"))
    (cache / "env/metadata.json").write_bytes(metadata)
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.FRESH
    assert "Discarding an unreadable build cache" in capsys.readouterr().err


def test_garbage_in_cache_dir_is_discarded_and_the_rest_kept(tmp_path, capsys):
    cache = tmp_path / "cache"
    (cache / "runtimes").mkdir(parents=True)
    (cache / "env").write_text("a file where a folder belongs")
    (cache / "pip").symlink_to("/etc")
    (cache / "tools").write_text("x")
    (cache / "runtimes" / ("a" * 64 + ".tar.gz")).mkdir()  # a folder where a file belongs
    (cache / ".lock").mkdir()
    (cache / "other-buildpack").mkdir()  # not ours: left alone
    env_cache.remove_stale_temp(cache, managers.CACHE_FOLDERS)
    with env_cache.locked(cache):
        pass
    assert sorted(p.name for p in cache.iterdir()) == [".lock", "other-buildpack", "runtimes"]
    assert list((cache / "runtimes").iterdir()) == []
    assert (cache / ".lock").is_file()
    assert "Discarded unexpected files in the build cache" in capsys.readouterr().err


def _inodes(root):
    return {p.stat().st_ino for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def test_save_shares_unchanged_files_with_the_entry_it_replaces_never_with_the_slug(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    src = _tree(tmp_path / "build/.heroku/python")
    env_cache.save(cache, KEY, src)
    target = tmp_path / "build2/.heroku/python"
    assert env_cache.restore(cache, KEY, target) == env_cache.REUSED
    old_ino = (cache / "env/python/bin/python3.13").stat().st_ino
    (target / "lib/site/new.py").write_text("y = 2\n")  # what an incremental install adds
    mod = target / "lib/site/mod.py"
    record = mod.stat()
    mod.write_text("x = 9\n")  # same size: only the bytes tell it apart
    os.utime(mod, ns=(record.st_atime_ns, record.st_mtime_ns))
    env_cache.save(cache, replace(KEY, dependencies_sha256="d" * 64), target)
    entry = cache / "env/python"
    assert (entry / "bin/python3.13").stat().st_ino == old_ino  # shared, not copied
    assert (entry / "lib/site/mod.py").read_text() == "x = 9\n"
    assert (entry / "lib/site/new.py").read_text() == "y = 2\n"
    assert not _inodes(target) & _inodes(cache)
    assert env_cache.restore(cache, replace(KEY, dependencies_sha256="d" * 64), tmp_path / "t") == env_cache.REUSED


def test_the_environment_shares_the_runtime_with_the_base_entry(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    src = _tree(tmp_path / "build/.heroku/python")
    env_cache.save(cache, KEY, src, env_cache.BASE_DIR_NAME)
    (src / "lib/site/dep.py").write_text("z = 3\n")
    env_cache.save(cache, KEY, src)
    base, env = cache / "base/python", cache / "env/python"
    assert (env / "lib/site/mod.py").stat().st_ino == (base / "lib/site/mod.py").stat().st_ino
    assert not _inodes(src) & _inodes(cache)
    assert env_cache.restore(cache, KEY, tmp_path / "t") == env_cache.REUSED
    assert env_cache.restore(cache, KEY, tmp_path / "u", env_cache.BASE_DIR_NAME) == env_cache.REUSED


def test_a_file_that_is_not_what_the_manifest_says_stops_the_copy(tmp_path):
    src = _tree(tmp_path / "src")
    files = env_cache.snapshot(src)
    (src / "lib/site/mod.py").write_text("x = 100\n")
    with pytest.raises(env_cache.Changed):
        env_cache.copy_tree(src, tmp_path / "dest", files)


def test_an_entry_saved_from_an_earlier_manifest_is_that_state_or_nothing(tmp_path):
    """``save(files=...)``: what ``build.saving_base`` relies on while uv installs into
    the same prefix. A file added since is not stored; one changed since stops the save,
    and the good entry already there stays."""
    cache = tmp_path / "cache"
    cache.mkdir()
    src = _tree(tmp_path / "build/.heroku/python")
    before = env_cache.snapshot(src)
    (src / "lib/site/added.py").write_text("a = 1\n")
    env_cache.save(cache, KEY, src, env_cache.BASE_DIR_NAME, before)
    assert not (cache / "base/python/lib/site/added.py").exists()
    assert env_cache.restore(cache, KEY, tmp_path / "t", env_cache.BASE_DIR_NAME)
    (src / "lib/site/mod.py").write_text("x = 100\n")
    with pytest.raises(env_cache.Changed):
        env_cache.save(cache, replace(KEY, python_version="3.13.1"), src,
                       env_cache.BASE_DIR_NAME, before)
    assert json.loads((cache / "base/metadata.json").read_text())["key"]["python_version"] \
        == KEY.python_version
    assert not list(cache.glob(".base-new-*"))


def _many_files(root, count=200):
    """A tree large enough that ``copy_tree`` copies on several threads."""
    _tree(root)
    for i in range(count):
        folder = root / "lib/site" / f"pkg{i % 7}"
        folder.mkdir(exist_ok=True)
        (folder / f"m{i}.py").write_text(f"v = {i}\n")
        (folder / f"m{i}.py").chmod(0o640 if i % 3 else 0o755)
    return root


def test_copying_on_several_threads_keeps_every_file_and_its_record(tmp_path):
    src = _many_files(tmp_path / "src")
    files = env_cache.snapshot(src)
    env_cache.copy_tree(src, tmp_path / "dest", files)
    assert env_cache.snapshot(tmp_path / "dest") == files
    assert (tmp_path / "dest/lib/site/pkg3/m10.py").read_text() == "v = 10\n"


def test_a_changed_file_stops_a_copy_on_several_threads(tmp_path):
    src = _many_files(tmp_path / "src")
    files = env_cache.snapshot(src)
    (src / "lib/site/pkg5/m117.py").write_text("v = 'changed'\n")
    with pytest.raises(env_cache.Changed):
        env_cache.copy_tree(src, tmp_path / "dest", files)


@pytest.mark.parametrize("manager", managers.MANAGERS, ids=lambda m: f"{m.name}-{m.engine}")
def test_a_link_at_a_package_managers_cache_folder_is_discarded(tmp_path, manager):
    """The folders each record says its tool keeps in CACHE_DIR (PDM's too) are tidied."""
    cache = tmp_path / "cache"
    cache.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    for name in manager.cache_folders:
        (cache / name).symlink_to(victim)
    env_cache.remove_stale_temp(cache, managers.CACHE_FOLDERS)
    assert list(cache.iterdir()) == [] and victim.is_dir()
    assert set(manager.cache_folders) <= set(managers.CACHE_FOLDERS)
    assert manager.cache_folders or manager.tool is None  # pip alone: its folder is env_cache's
