from __future__ import annotations

import io
import tarfile

import pytest

from buildpack.runtime.safe_extract import UnsafeArchive, extract_archive


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _dev(name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    return info, None


def test_extracts_good_archive(tmp_path):
    archive = _tar(tmp_path / "a.tgz", [_file("bin/python3", b"hi"), _link("bin/python", "python3")])
    extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out/bin/python").read_bytes() == b"hi"


@pytest.mark.parametrize("members, words", [
    ([_file("/etc/evil")], "absolute"),
    ([_file("../evil")], ".."),
    ([_file("bin/../../evil")], ".."),
    ([_link("lib/x", "/etc/passwd")], "absolute"),
    ([_link("lib/x", "../../etc/passwd")], "outside"),
    ([_link("x", "../outside", tarfile.LNKTYPE)], "outside"),
    ([_dev("dev/null")], "device"),
])
def test_refuses_unsafe_members_and_writes_nothing(tmp_path, members, words):
    archive = _tar(tmp_path / "a.tgz", [_file("bin/ok")] + members)
    with pytest.raises(UnsafeArchive, match=words if words != ".." else r"\.\."):
        extract_archive(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tgz"]


def test_truncated_archive_is_reported_and_cleaned(tmp_path):
    archive = _tar(tmp_path / "a.tgz", [_file(f"f{i}", bytes(range(256)) * 400) for i in range(20)])
    archive.write_bytes(archive.read_bytes()[:2000])
    with pytest.raises(UnsafeArchive, match="corrupt or truncated"):
        extract_archive(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tgz"]


def test_huge_declared_size_is_refused(tmp_path, monkeypatch):
    import buildpack.runtime.safe_extract as safe

    monkeypatch.setattr(safe, "MAX_UNPACKED_BYTES", 10_000)
    archive = _tar(tmp_path / "a.tgz", [_file("big", b"\0" * 20_000)])
    with pytest.raises(UnsafeArchive, match="more than"):
        extract_archive(archive, tmp_path / "out")


# Issue 15, class 1: links that escape through a chain. normpath would collapse each of
# these to a path inside; the kernel follows the links and lands outside.
@pytest.mark.parametrize("members", [
    [_link("q", "."), _link("p", "q/q/q/../../..")],
    [_link("a", "b/c"), _link("b/c", "."), _link("p", "a/../..")],
    [_link("d", "lib"), _link("lib", "."), _file("d/../../evil")],
    [_link("up", ".."), _file("up/evil")],
    [_link("x", "y"), _link("y", "x"), _file("x/evil")],
    [_link("loop", "loop/a")],
    [_link("p", "s/.."), _link("s", "t"), _link("t", "u/v"), _link("u", ".."), _file("keep")],
    [_link("hq", "."), _link("h", "hq/../../etc/passwd", tarfile.LNKTYPE)],
    [_link("h", "nothing-here", tarfile.LNKTYPE)],
    [_link("s", "."), _link("h", "s", tarfile.LNKTYPE)],
    [_file("twice"), _link("twice", "..")],
])
def test_link_chains_are_resolved_like_the_kernel(tmp_path, members):
    archive = _tar(tmp_path / "a.tgz", [_file("bin/ok")] + members)
    with pytest.raises(UnsafeArchive):
        extract_archive(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tgz"]


def test_links_that_stay_inside_are_kept(tmp_path):
    archive = _tar(tmp_path / "a.tgz", [
        _file("lib/python3.13/os.py", b"os"), _link("lib/current", "python3.13"),
        _link("bin/lib", "../lib"), _link("q", "."), _link("p", "q/q/lib/../bin"),
        _file("lib/python3.13/h"), _link("lib/python3.13/h2", "lib/python3.13/h", tarfile.LNKTYPE)])
    extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out/bin/lib/current/os.py").read_bytes() == b"os"
    assert (tmp_path / "out/p").resolve() == (tmp_path / "out/bin").resolve()

