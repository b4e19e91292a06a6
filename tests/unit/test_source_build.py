"""Fast tests of building CPython from source: the commands, the environment, the
checks of the tarball and of the result, and how a failed build is reported."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from buildpack import source_build, store_builder
from buildpack.source_build import (ORIGIN_RPATH_LDFLAG, REQUIRED_MODULES, build_env,
                                    configure_command, foreign_libpython, missing_modules,
                                    parse_py_version, unpack_source)
from tests.support import raises_id

PATCHLEVEL = """\
#define PY_RELEASE_SERIAL       0

/* Version as a string */
#define PY_VERSION              "{version}"
/*--end constants--*/
"""


def make_tarball(path: Path, files: dict[str, str], top: str = "Python-3.12.1") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            info.mode = 0o755 if name == "configure" else 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def fake_source(tmp_path: Path, version: str = "3.12.1", configure: str = "#!/bin/sh\nexit 0\n") -> Path:
    return make_tarball(tmp_path / f"Python-{version}.tar.gz", {
        "configure": configure,
        "Include/patchlevel.h": PATCHLEVEL.format(version=version),
    }, top=f"Python-{version}")


# --- pure helpers -----------------------------------------------------------------

@pytest.mark.parametrize("version", ["3.11.2", "3.13.0rc1", "3.12.0a7+"])
def test_parse_py_version(version):
    assert parse_py_version(PATCHLEVEL.format(version=version)) == version
    assert parse_py_version("#define PY_MAJOR_VERSION 3\n") is None


def test_configure_command_is_shared_relocatable_and_for_app():
    cmd = configure_command(Path("/w/src/Python-3.11.2"), optimize=False)
    assert cmd[0] == "/w/src/Python-3.11.2/configure"
    assert {"--prefix=/app/.heroku/python", "--enable-shared", "--with-ensurepip=no"} <= set(cmd)
    assert "--enable-optimizations" not in cmd and "--with-lto" not in cmd
    # As configure copies it into the Makefile: make reads $$ as $, the shell \$ as $.
    assert cmd[-1] == r"LDFLAGS=-Wl,-rpath,\$$ORIGIN/../lib"
    assert ORIGIN_RPATH_LDFLAG == r"-Wl,-rpath,\$$ORIGIN/../lib"


def test_configure_command_optimize_and_extra_ldflags():
    cmd = configure_command(Path("/src"), optimize=True, extra_ldflags="-L/opt/ssl/lib")
    assert "--enable-optimizations" in cmd and "--with-lto" in cmd
    assert cmd[-1] == r"LDFLAGS=-Wl,-rpath,\$$ORIGIN/../lib -L/opt/ssl/lib"


def test_build_env_drops_what_would_redirect_the_build():
    env = build_env({"PATH": "/usr/bin", "HOME": "/root", "CC": "gcc", "PYTHONPATH": "/x",
                     "PYTHONHOME": "/y", "LDFLAGS": "-L/z", "MAKEFLAGS": "-j8", "LD_PRELOAD": "a.so",
                     "LD_LIBRARY_PATH": "/lib"})
    assert env == {"PATH": "/usr/bin", "HOME": "/root", "CC": "gcc"}


def test_missing_modules_and_foreign_libpython(tmp_path):
    found = {"ssl": True, "zlib": True, "ctypes": False, "sqlite3": True, "bz2": True}
    assert missing_modules(found, REQUIRED_MODULES) == {"ctypes": "libffi-dev", "lzma": "liblzma-dev"}
    prefix = tmp_path / "destdir/app/.heroku/python"
    (prefix / "lib").mkdir(parents=True)
    own = str(prefix / "lib/libpython3.11.so.1.0")
    system = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
    assert foreign_libpython([own], prefix) == []
    assert foreign_libpython([own, system], prefix) == [system]


# --- the tarball ------------------------------------------------------------------

def test_unpack_source_finds_the_tree_and_version(tmp_path):
    source, version = unpack_source(fake_source(tmp_path, "3.11.2"), tmp_path / "src")
    assert (version, source) == ("3.11.2", tmp_path / "src" / "Python-3.11.2")
    assert os.access(source / "configure", os.X_OK)


def test_unpack_source_rejects_prereleases_and_other_tarballs(tmp_path):
    with raises_id("source-build::not-final-release"):
        unpack_source(fake_source(tmp_path, "3.13.0rc1"), tmp_path / "a")
    other = make_tarball(tmp_path / "other.tar.gz", {"README": "hello"}, top="thing-1.0")
    with raises_id("source-build::not-cpython-source"):
        unpack_source(other, tmp_path / "b")
    evil = make_tarball(tmp_path / "evil.tar.gz", {"../../escape": "x"}, top="")
    with raises_id("source-build::cannot-unpack"):
        unpack_source(evil, tmp_path / "c")
    assert not (tmp_path / "escape").exists()


def test_check_tarball_says_where_to_get_one(tmp_path):
    with raises_id("source-build::no-tarball") as err:
        source_build.check_tarball(tmp_path / "missing.tar.xz")
    assert "apt-get source --download-only" in err.value.body


# --- a failed build ---------------------------------------------------------------

def test_failed_configure_shows_the_log_tail_and_the_build_deps(tmp_path):
    configure = ("#!/bin/sh\necho checking for gcc... no\necho 'details' > config.log\n"
                 "echo 'configure: error: no acceptable C compiler found in $PATH' >&2\nexit 77\n")
    tarball = fake_source(tmp_path, "3.12.1", configure)
    work_root = tmp_path / "work"
    work_root.mkdir()
    with raises_id("source-build::build-failed") as err:
        with source_build.built_from_source(tarball, work_root=work_root):
            pytest.fail("the build cannot succeed")
    assert err.value.summary == "Building Python 3.12.1 from source failed at 'configure'"
    body = err.value.body
    assert "exited with status 77" in body
    assert "configure: error: no acceptable C compiler found in $PATH" in body
    assert "apt-get install build-essential" in body and "libssl-dev" in body
    [work] = work_root.iterdir()
    assert sorted(p.name for p in work.iterdir()) == ["build.log", "config.log"]  # no sources
    assert (work / "config.log").read_text() == "details\n"
    assert str(work / "build.log") in body


# --- the command line -------------------------------------------------------------

def test_optimize_needs_from_source(capsys):
    assert store_builder.main(["out", "--optimize"]) == 2
    assert "--optimize only applies to --from-source" in capsys.readouterr().err


def test_from_source_with_a_missing_tarball_is_an_error_before_anything_runs(tmp_path):
    with raises_id("source-build::no-tarball"):
        store_builder.main([str(tmp_path / "store"), "--from-source", str(tmp_path / "nope.tgz")])
    assert not (tmp_path / "store").exists()
