"""Fast tests of building CPython from source: the recipe, the cache key, the checks of
the tarball and of the result, and how a failed build is reported."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from buildpack.base.output import BuildError
from buildpack.store_builder import builder as store_builder
from buildpack.store_builder import cpython_recipe, source_build
from buildpack.store_builder.cpython_sources import Pin
from buildpack.store_builder.source_build import (
    REQUIRED_MODULES,
    build_key,
    foreign_libpython,
    missing_modules,
    missing_prerequisite,
    parse_py_version,
    unpack_source,
)

PATCHLEVEL = """\
#define PY_RELEASE_SERIAL       0

/* Version as a string */
#define PY_VERSION              "{version}"
/*--end constants--*/
"""


def make_tarball(path: Path, files: dict[str, str], top: str = "Python-3.12.1", mtime: int = 0) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            info.mtime = mtime
            info.mode = 0o755 if name == "configure" else 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def fake_source(tmp_path: Path, version: str = "3.12.1", configure: str = "#!/bin/sh\nexit 0\n") -> Path:
    return make_tarball(tmp_path / f"Python-{version}.tar.gz", {
        "configure": configure,
        "Include/patchlevel.h": PATCHLEVEL.format(version=version),
    }, top=f"Python-{version}", mtime=1700000000)


def pin_for(tarball: Path, version: str) -> Pin:
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    return Pin(".".join(version.split(".")[:2]), version, f"Python-{version}.tgz", digest,
               tarball.stat().st_size, "a test", None)


# --- pure helpers -----------------------------------------------------------------

@pytest.mark.parametrize("version", ["3.11.2", "3.13.0rc1", "3.12.0a7+"])
def test_parse_py_version(version):
    assert parse_py_version(PATCHLEVEL.format(version=version)) == version
    assert parse_py_version("#define PY_MAJOR_VERSION 3\n") is None


def test_configure_command_is_shared_relocatable_hardened_and_for_app():
    flags = cpython_recipe.HARDENING_FALLBACK
    cmd = cpython_recipe.configure_command(Path("/w/src/Python-3.11.2"), optimize=False, flags=flags)
    assert cmd[0] == "/w/src/Python-3.11.2/configure"
    assert {"--prefix=/app/.heroku/python", "--enable-shared", "--with-ensurepip=no",
            "--enable-loadable-sqlite-extensions"} <= set(cmd)
    assert "--enable-optimizations" not in cmd and "--with-lto" not in cmd and "--disable-gil" not in cmd
    assert "CFLAGS=-fstack-protector-strong -Wformat -Werror=format-security" in cmd
    assert "CPPFLAGS=-D_FORTIFY_SOURCE=2" in cmd
    # As configure copies it into the Makefile: make reads $$ as $, the shell \$ as $.
    assert cmd[-1] == r"LDFLAGS=-Wl,-z,relro -Wl,-z,now -Wl,-rpath,\$$ORIGIN/../lib"
    optimized = cpython_recipe.configure_command(Path("/src"), optimize=True, flags=flags)
    assert "--enable-optimizations" in optimized and "--with-lto" in optimized
    free_threaded = cpython_recipe.configure_command(Path("/src"), optimize=False, flags=flags,
                                                     free_threaded=True)
    assert "--disable-gil" in free_threaded


def test_hardening_keeps_only_the_hardening_of_dpkg_buildflags():
    debian = "-g -O2 -ffile-prefix-map=/tmp=. -fstack-protector-strong -Wformat -Werror=format-security"
    assert cpython_recipe.hardening_only(debian) == "-fstack-protector-strong -Wformat -Werror=format-security"
    assert cpython_recipe.hardening_only("-Wdate-time -D_FORTIFY_SOURCE=2") == "-D_FORTIFY_SOURCE=2"


def test_hardening_flags_on_this_host_are_full_relro_fortified_and_stack_protected():
    """The real dpkg-buildflags where the host has it (Debian here), else the written-down
    set: either way the same hardening."""
    flags = cpython_recipe.hardening_flags({"PATH": os.environ["PATH"], "DEB_CFLAGS_APPEND": "-O0"})
    assert "-fstack-protector-strong" in flags["CFLAGS"].split()
    assert "-D_FORTIFY_SOURCE=2" in flags["CPPFLAGS"].split()
    assert {"-Wl,-z,relro", "-Wl,-z,now"} <= set(flags["LDFLAGS"].split())
    assert "-O0" not in flags["CFLAGS"]


def test_build_env_drops_what_would_change_the_build_and_fixes_the_date():
    env = cpython_recipe.build_env({"PATH": "/usr/bin", "HOME": "/root", "CC": "clang", "PYTHONPATH": "/x",
                                    "PYTHONHOME": "/y", "LDFLAGS": "-L/z", "MAKEFLAGS": "-j8",
                                    "LD_PRELOAD": "a.so", "LD_LIBRARY_PATH": "/lib", "LC_CTYPE": "de_DE",
                                    "TZ": "Europe/Berlin"}, 1700000000)
    assert env == {"PATH": "/usr/bin", "HOME": "/root", "SOURCE_DATE_EPOCH": "1700000000",
                   "LC_ALL": "C", "TZ": "UTC"}


def test_the_build_key_changes_with_every_input():
    base = dict(tarball_sha256="a" * 64, optimize=False, recipe=b"recipe", compiler="gcc 12",
                stack="debian-12", arch="x86_64", slot="", flags={"CFLAGS": "-fstack-protector-strong"})
    key = build_key(**base)
    assert build_key(**base) == key and len(key) == 16
    for name, other in (("tarball_sha256", "b" * 64), ("optimize", True), ("recipe", b"recipe2"),
                        ("compiler", "gcc 13"), ("stack", "debian-13"), ("arch", "aarch64"), ("slot", "b"),
                        ("flags", {"CFLAGS": ""})):
        assert build_key(**{**base, name: other}) != key, name


def test_missing_modules_and_foreign_libpython(tmp_path):
    found = {"ssl": True, "zlib": True, "ctypes": False, "sqlite3": True, "bz2": True,
             "readline": True, "_uuid": True}
    assert missing_modules(found, REQUIRED_MODULES) == {"ctypes": "libffi-dev", "lzma": "liblzma-dev"}
    prefix = tmp_path / "destdir/app/.heroku/python"
    (prefix / "lib").mkdir(parents=True)
    own = str(prefix / "lib/libpython3.11.so.1.0")
    system = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
    assert foreign_libpython([own], prefix) == []
    assert foreign_libpython([own, system], prefix) == [system]


@pytest.mark.parametrize("log, package", [
    ("./Modules/_ssl.c:1:10: fatal error: openssl/ssl.h: No such file or directory", "libssl-dev"),
    ("x.c:3:10: fatal error: ffi.h: No such file or directory", "libffi-dev"),
    ("/bin/sh: 1: gcc: not found", "build-essential"),
    ("checking for gcc... gcc\nall fine", None),
])
def test_missing_prerequisite_is_read_from_the_log(log, package):
    found = missing_prerequisite(log)
    assert (found.split()[0] if found else None) == package


# --- the tarball ------------------------------------------------------------------

def test_unpack_source_finds_the_tree_version_and_release_date(tmp_path):
    source, epoch = unpack_source(fake_source(tmp_path, "3.11.2"), tmp_path / "src", "3.11.2")
    assert (epoch, source) == (1700000000, tmp_path / "src" / "Python-3.11.2")
    assert os.access(source / "configure", os.X_OK)


def test_unpack_source_rejects_other_versions_and_other_tarballs(tmp_path):
    with pytest.raises(BuildError, match="is CPython 3.13.0rc1, not 3.13.0") as err:
        unpack_source(fake_source(tmp_path, "3.13.0rc1"), tmp_path / "a", "3.13.0")
    assert err.value.error_id == "source-build::bad-tarball"
    other = make_tarball(tmp_path / "other.tar.gz", {"README": "hello"}, top="thing-1.0")
    with pytest.raises(BuildError, match="not a CPython source tarball"):
        unpack_source(other, tmp_path / "b", "3.12.1")
    evil = make_tarball(tmp_path / "evil.tar.gz", {"../../escape": "x"}, top="")
    with pytest.raises(BuildError, match="Cannot unpack"):
        unpack_source(evil, tmp_path / "c", "3.12.1")
    assert not (tmp_path / "escape").exists()


# --- a failed build ---------------------------------------------------------------

def test_failed_configure_shows_the_log_tail_and_the_missing_prerequisite(tmp_path):
    configure = ("#!/bin/sh\necho checking for gcc... no\necho 'details' > config.log\n"
                 "echo 'conftest.c:1:10: fatal error: zlib.h: No such file or directory' >&2\nexit 77\n")
    tarball = fake_source(tmp_path, "3.12.1", configure)
    work, cache = tmp_path / "work", tmp_path / "cache"
    with pytest.raises(BuildError) as err:
        source_build.build(pin_for(tarball, "3.12.1"), tarball, root=cache, work=work,
                           check_prerequisites=False)
    assert err.value.summary == "Building Python 3.12.1 from source failed at 'configure'"
    assert err.value.error_id == "source-build::configure-failed"
    body = err.value.body
    assert "exited with status 77" in body
    assert "fatal error: zlib.h: No such file or directory" in body
    assert "install zlib1g-dev (for zlib.h)" in body
    assert sorted(p.name for p in work.iterdir()) == ["build.log", "config.log"]  # no sources
    assert (work / "config.log").read_text() == "details\n"
    assert str(work / "build.log") in body
    # Nothing half-built is left in the machine cache.
    assert [p.name for p in (cache / "source-builds").iterdir() if not p.name.endswith(".lock")] == []


def test_a_tarball_that_is_not_the_pinned_one_is_not_built(tmp_path):
    tarball = fake_source(tmp_path, "3.12.1")
    pin = pin_for(tarball, "3.12.1")
    tarball.write_bytes(tarball.read_bytes() + b"\0")
    with pytest.raises(BuildError) as err:
        source_build.build(pin, tarball, root=tmp_path / "cache", work=tmp_path / "work",
                           check_prerequisites=False)
    assert err.value.error_id == "source-build::checksum-mismatch"
    assert not (tmp_path / "work").exists()


# --- the command line -------------------------------------------------------------

def test_the_libpython_link_of_an_optimized_build_is_checked_for_no_semantic_interposition():
    # As the PGO+LTO build of 3.13.15 on this machine logged it (shortened).
    link = ("gcc -shared -Wl,-z,relro -Wl,-z,now -Wl,-rpath,\\$ORIGIN/../lib  -fno-semantic-interposition "
            "-flto -fuse-linker-plugin -ffat-lto-objects -flto-partition=none -g -fprofile-use "
            "-Wl,-hlibpython3.13.so.1.0 -o libpython3.13.so.1.0 Modules/getbuildinfo.o")
    assert source_build.no_semantic_interposition(f"gcc -c x.c\n{link}\nar rcs libpython3.13.a\n")
    quick = link.replace("-fno-semantic-interposition ", "")
    assert not source_build.no_semantic_interposition(f"{link}\n{quick}\n")
    assert not source_build.no_semantic_interposition("gcc -c x.c\n")  # no libpython link at all


def test_quick_needs_from_source(capsys):
    assert store_builder.main(["out", "--quick"]) == 2
    assert "--quick only applies to --from-source" in capsys.readouterr().err


def test_an_optimized_build_has_its_own_directory():
    assert source_build.work_dir(optimize=False) == cpython_recipe.BUILD_ROOT
    assert source_build.work_dir(optimize=True) == Path("/tmp/buildpack-python-build-optimized")


def test_from_source_with_a_missing_tarball_is_an_error_before_anything_runs(tmp_path):
    with pytest.raises(BuildError, match="No CPython source tarball") as err:
        store_builder.main([str(tmp_path / "store"), "--from-source", str(tmp_path / "nope.tgz")])
    assert err.value.error_id == "source-build::no-tarball"
    assert not (tmp_path / "store").exists()


def test_from_source_with_an_unpinned_tarball_leaves_nothing_in_the_store(tmp_path):
    tarball = fake_source(tmp_path, "3.13.15")
    with pytest.raises(BuildError) as err:
        store_builder.main([str(tmp_path / "store"), "--from-source", str(tarball)])
    assert err.value.error_id == "source-build::checksum-mismatch"
    assert not (tmp_path / "store").exists()


def _run_bin(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(__file__).resolve().parents[2] / "bin" / "build-runtime-store"), *args],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("minor, error_id", [("2.7", "source-build::python2"),
                                              ("3.10", "source-build::unknown-minor"),
                                              ("3.99", "source-build::unknown-minor")])
def test_unbuildable_minors_on_the_command_line(tmp_path, minor, error_id):
    proc = _run_bin([str(tmp_path / "store"), "--from-source", minor])
    assert proc.returncode == 1
    assert f"(error id: {error_id})" in proc.stderr
    assert "Pinned minors that can be built: " in proc.stderr and "3.13" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "store").exists()


def test_a_malformed_pin_file_on_the_command_line(tmp_path):
    pins = tmp_path / "pins.json"
    pins.write_text('{"schema": 1, "minors": {"3.14": {"version": "3.14"}}}')
    proc = _run_bin([str(tmp_path / "store"), "--from-source", "3.14"], {"BUILDPACK_CPYTHON_PINS": str(pins)})
    assert proc.returncode == 1
    assert "(error id: source-pins::malformed)" in proc.stderr
    assert "minors['3.14'].version '3.14' is not a 3.14.Z release" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_prerequisites_without_apt_print_the_command(tmp_path):
    """No compiler and no apt-get on PATH (a real lookup, nothing mocked): the check
    names what is missing and prints the exact install command."""
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "from buildpack.store_builder import source_build; from buildpack.base import output\n"
            "try:\n    source_build.ensure_prerequisites()\n"
            "except output.BuildError as exc:\n    output.error(exc); sys.exit(1)\n")
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parents[2])],
                          env={"PATH": str(empty), "HOME": str(tmp_path)}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "(error id: source-build::missing-prerequisites)" in proc.stderr
    assert "cc                     from build-essential" in proc.stderr
    assert "openssl/ssl.h          from libssl-dev" in proc.stderr
    assert ("apt-get install -y --no-install-recommends build-essential pkg-config libssl-dev "
            "zlib1g-dev libffi-dev libsqlite3-dev libbz2-dev liblzma-dev libreadline-dev uuid-dev") in proc.stderr
