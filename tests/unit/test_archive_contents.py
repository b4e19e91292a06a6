"""What a runtime archive leaves out, how 3.14's build-details.json and
_sysconfig_vars_*.json are relocated, and that archives are byte-reproducible."""
from __future__ import annotations

import json
import lzma
import os
import tarfile
from pathlib import Path

import pytest

from buildpack.store_builder.runtime_archive import (
    ARCHIVE_SUFFIX,
    Interpreter,
    is_wanted,
    relocatable_build_details,
    rewrite_sysconfig,
    write_archive,
)

OLD = "/tmp/buildpack-python-build/destdir/app/.heroku/python"


@pytest.mark.parametrize("rel, wanted", [
    ("lib/python3.14/idlelib/editor.py", False),
    ("lib/python3.14/turtledemo/clock.py", False),
    ("lib/python3.14/test/test_os.py", False),
    ("lib/python3.14/tkinter/__init__.py", True),
    ("lib/python3.14/lib-dynload/_testcapi.cpython-314-x86_64-linux-gnu.so", False),
    ("lib/python3.14/lib-dynload/_testinternalcapi.cpython-314-x86_64-linux-gnu.so", False),
    ("lib/python3.14/lib-dynload/_ctypes_test.cpython-314-x86_64-linux-gnu.so", False),
    ("lib/python3.14/lib-dynload/xxlimited_35.cpython-314-x86_64-linux-gnu.so", False),
    ("lib/python3.14/lib-dynload/_ssl.cpython-314-x86_64-linux-gnu.so", True),
    ("lib/python3.14/ensurepip/_bundled/pip-25.2-py3-none-any.whl", True),
    ("lib/python3.14/build-details.json", True),
])
def test_what_a_server_never_uses_is_left_out(rel, wanted):
    assert is_wanted(rel, "3.14") is wanted


BUILD_DETAILS = {
    "schema_version": "1.0",
    "base_prefix": "/app/.heroku/python",
    "base_interpreter": "/app/.heroku/python/bin/python3.14",
    "platform": "linux-x86_64",
    "language": {"version": "3.14", "version_info": {"major": 3, "minor": 14}},
    "libpython": {"dynamic": "/app/.heroku/python/lib/libpython3.14.so.1.0",
                  "dynamic_stableabi": "/app/.heroku/python/lib/libpython3.so",
                  "link_extensions": False},
    "c_api": {"headers": "/app/.heroku/python/include/python3.14",
              "pkgconfig_path": "/app/.heroku/python/lib/pkgconfig"},
}


def test_build_details_become_relative_as_pep_739_allows():
    data = json.loads(relocatable_build_details(json.dumps(BUILD_DETAILS), "/app/.heroku/python"))
    assert data["base_prefix"] == "../.."  # from lib/python3.14/, where the file is
    assert data["base_interpreter"] == "bin/python3.14"
    assert data["libpython"] == {"dynamic": "lib/libpython3.14.so.1.0",
                                 "dynamic_stableabi": "lib/libpython3.so", "link_extensions": False}
    assert data["c_api"] == {"headers": "include/python3.14", "pkgconfig_path": "lib/pkgconfig"}
    assert data["language"] == BUILD_DETAILS["language"]
    # Wherever the runtime is unpacked, the paths resolve inside it.
    root = Path("/somewhere/python")
    base = (root / "lib/python3.14" / data["base_prefix"]).resolve()
    assert base == root and (base / data["c_api"]["headers"]) == root / "include/python3.14"


def test_rewrite_sysconfig_covers_the_3_14_files(tmp_path):
    stdlib = tmp_path / "lib" / "python3.14"
    stdlib.mkdir(parents=True)
    (stdlib / "build-details.json").write_text(json.dumps(BUILD_DETAILS).replace("/app/.heroku/python", OLD))
    (stdlib / "_sysconfig_vars__linux_x86_64-linux-gnu.json").write_text(
        json.dumps({"prefix": OLD, "INCLUDEPY": f"{OLD}/include/python3.14", "LDSHARED": "gcc -shared"}))
    (stdlib / "_sysconfigdata__linux_x86_64-linux-gnu.py").write_text(
        f"build_time_vars = {{'prefix': '{OLD}', 'INCLUDEPY': '{OLD}/include/python3.14'}}\n")
    interp = Interpreter(prefix=tmp_path, version="3.14.10", configured_prefix=Path(OLD))
    changed = rewrite_sysconfig(tmp_path, interp)
    assert sorted(changed) == sorted(f"lib/python3.14/{name}" for name in (
        "build-details.json", "_sysconfig_vars__linux_x86_64-linux-gnu.json",
        "_sysconfigdata__linux_x86_64-linux-gnu.py"))
    details = json.loads((stdlib / "build-details.json").read_text())
    assert details["base_prefix"] == "../.." and details["c_api"]["headers"] == "include/python3.14"
    variables = json.loads((stdlib / "_sysconfig_vars__linux_x86_64-linux-gnu.json").read_text())
    assert variables == {"prefix": "/app/.heroku/python", "INCLUDEPY": "/app/.heroku/python/include/python3.14",
                         "LDSHARED": "gcc -shared"}
    for path in stdlib.iterdir():
        assert OLD not in path.read_text()


def test_archives_are_xz_and_byte_reproducible(tmp_path):
    staging = tmp_path / "staging"
    (staging / "bin").mkdir(parents=True)
    (staging / "bin" / "python3.14").write_bytes(b"\x7fELF binary")
    os.chmod(staging / "bin" / "python3.14", 0o700)
    os.symlink("python3.14", staging / "bin" / "python3")
    (staging / "lib").mkdir()
    (staging / "lib" / "b.txt").write_text("b")
    (staging / "lib" / "a.txt").write_text("a")
    first = write_archive(staging, tmp_path / f"one.{ARCHIVE_SUFFIX}")
    os.utime(staging / "lib" / "a.txt", (1, 1))  # times and creation order do not matter
    second = write_archive(staging, tmp_path / f"two.{ARCHIVE_SUFFIX}")
    assert first == second
    with lzma.open(tmp_path / f"one.{ARCHIVE_SUFFIX}") as raw:  # plain xz: stdlib lzma reads it
        with tarfile.open(fileobj=raw) as tar:
            members = tar.getmembers()
    assert [m.name for m in members] == ["bin", "bin/python3", "bin/python3.14", "lib", "lib/a.txt", "lib/b.txt"]
    assert {(m.uid, m.gid, m.uname, m.mtime) for m in members} == {(0, 0, "", 946684800)}
    assert members[2].mode == 0o755


def test_a_corrupt_xz_archive_is_refused_not_a_traceback(tmp_path):
    from buildpack.runtime.safe_extract import UnsafeArchive, extract_archive

    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "a.txt").write_text("a" * 100_000)
    archive = tmp_path / f"x.{ARCHIVE_SUFFIX}"
    write_archive(staging, archive)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive, match="corrupt or truncated"):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("suffix", ["tar.xz", "tar.gz", "tar"])
def test_archives_unpack_once_and_leave_nothing_beside_the_target(tmp_path, suffix):
    from buildpack.runtime.safe_extract import extract_archive

    archive = tmp_path / "in" / f"r.{suffix}"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:" + ("" if suffix == "tar" else suffix.split(".")[1])) as tar:
        for name in ("bin/python3.14", "lib/a.txt"):
            data = name.encode() * 1000
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, __import__("io").BytesIO(data))
    out = tmp_path / "out"
    extract_archive(archive, out / "python")
    assert sorted(p.name for p in out.iterdir()) == ["python"]  # no temp tar, no staging dir
    assert (out / "python/lib/a.txt").read_bytes() == b"lib/a.txt" * 1000
