"""Issue 21, classes 2 and 3: every CACHE_DIR and layer file is read by ``base.cache_files``;
``bin/report`` prints a report or ``{}`` with a warning.

Real FIFOs, sparse files, folders, links to ``/dev/zero`` and (as root) device nodes.
Each read runs under an alarm, so a reader that blocks fails the test instead of
hanging it.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from buildpack.base import cache_files, envdir
from buildpack.cache import build_report, env_cache
from buildpack.cnb.layers import Layers
from buildpack.installers import pinned_tools
from buildpack.plan import python_choice
from tests.support import BIN


@contextlib.contextmanager
def _within(seconds: int = 5) -> Iterator[None]:
    def hung(signum: int, frame: object) -> None:
        raise AssertionError(f"blocked for more than {seconds} s")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _sparse_4gb(path: Path) -> None:
    with open(path, "wb") as out:
        out.truncate(4 << 30)


def _folder(path: Path) -> None:
    (path / "inside").mkdir(parents=True)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _link_out(path: Path) -> None:
    outside = path.parent.parent / "outside.json"
    outside.write_text('{"schema": 1, "python_minor": "3.12"}\n')
    path.symlink_to(outside)


def _device(path: Path) -> None:
    os.mknod(path, 0o600 | 0o020000, os.makedev(1, 3))  # /dev/null's numbers


def _socket(path: Path) -> None:
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


SPOILERS: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo, "sparse-4gb": _sparse_4gb, "folder": _folder, "dev-zero": _dev_zero,
    "link-out": _link_out, "socket": _socket,
    **({"device": _device} if os.geteuid() == 0 else {}),
}


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("kind", sorted(SPOILERS))
def test_read_refuses_what_is_not_a_small_regular_file(kind: str, cache: Path) -> None:
    path = cache / "file"
    SPOILERS[kind](path)
    with _within(), pytest.raises(cache_files.Unusable):
        cache_files.read(path, 4096)


def test_read_reads_regular_files_and_absent_is_none(cache: Path) -> None:
    (cache / "file").write_bytes(b"x" * 4096)
    assert cache_files.read(cache / "file", 4096) == b"x" * 4096
    with pytest.raises(cache_files.Unusable, match="more than 4,095"):
        cache_files.read(cache / "file", 4095)
    assert cache_files.read(cache / "missing", 10) is None
    assert cache_files.read(cache / "file" / "below", 10) is None


@pytest.mark.parametrize("kind", sorted(SPOILERS))
def test_sticky_record_is_ignored_with_a_warning_and_replaced(
        kind: str, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cache / python_choice.RECORD_NAME
    SPOILERS[kind](path)
    with _within():
        assert python_choice.read_record(cache) is None
    assert "Ignoring an unreadable record" in capsys.readouterr().err
    assert os.path.lexists(path)  # reading writes nothing: keep_record (the build's step) replaces it
    python_choice.write_record(cache, (3, 13))
    assert json.loads(path.read_text())["python_minor"] == "3.13"
    assert not (cache.parent / "outside.json").exists() or \
        "3.12" in (cache.parent / "outside.json").read_text()  # never written through


@pytest.mark.parametrize("kind", sorted(SPOILERS))
def test_build_report_replaces_whatever_is_in_its_place(kind: str, cache: Path) -> None:
    path = cache / build_report.REPORT_NAME
    SPOILERS[kind](path)
    with _within():
        build_report.write(cache, 0.0, None)
    assert path.is_file() and not path.is_symlink()
    assert json.loads(path.read_text())["success"] is True


@pytest.mark.parametrize("kind", sorted(SPOILERS))
def test_layer_toml_is_ignored_and_replaced(kind: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    layers = tmp_path / "layers"
    layers.mkdir()
    SPOILERS[kind](layers / "python.toml")
    with _within():
        assert Layers(layers).metadata("python") is None
    assert "Ignoring the build cache's python.toml" in capsys.readouterr().err
    assert not os.path.lexists(layers / "python.toml")


@pytest.mark.parametrize("kind", sorted(SPOILERS))
def test_cache_entry_metadata_and_tool_stamps_are_not_trusted(kind: str, cache: Path) -> None:
    SPOILERS[kind](cache / "metadata.json")
    tool = cache / "tool"
    tool.mkdir()
    SPOILERS[kind](tool / ".buildpack-files.json")
    with _within():
        assert env_cache._read_metadata(cache) is None
        assert pinned_tools._intact(tool) is False


def test_env_dir_values_are_read_bounded(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / "env"
    env.mkdir()
    (env / "GOOD").write_text("value")
    (tmp_path / "target").write_text("linked")
    (env / "LINKED").symlink_to(tmp_path / "target")  # platforms mount config vars so
    os.mkfifo(env / "FIFO")
    with open(env / "HUGE", "wb") as out:
        out.truncate(4 << 30)
    (env / "A\n-----> Build succeeded!").write_text("x")
    with _within():
        values = envdir.read_env_dir(env)
    assert values == {"GOOD": "value", "LINKED": "linked"}
    err = capsys.readouterr().err
    assert "\n-----> Build succeeded!" not in err
    assert "A\\n-----> Build succeeded!" in err
    assert "FIFO" in err and "HUGE" in err


def test_a_missing_env_dir_is_named_once(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert envdir.read_env_dir(tmp_path / "no-such-env") == {}
    err = capsys.readouterr().err
    assert err.count("does not exist") == 1 and "no-such-env" in err


# --- bin/report -------------------------------------------------------------------------

def _report(cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "report"), str(cache.parent), str(cache)],
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("kind", [*sorted(SPOILERS), "not-utf8", "not-json", "a-list"])
def test_report_prints_an_empty_report_with_a_warning(kind: str, cache: Path) -> None:
    path = cache / build_report.REPORT_NAME
    contents = {"not-utf8": b'{"a": "\xff\xfe"}', "not-json": b"{", "a-list": b"[1]"}
    if kind in contents:
        path.write_bytes(contents[kind])
    else:
        SPOILERS[kind](path)
    result = _report(cache)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "{}\n"
    assert "is not a build report" in result.stderr and "Traceback" not in result.stderr


def test_report_prints_the_last_report(cache: Path) -> None:
    assert _report(cache).stdout == "{}\n"
    assert _report(cache).stderr == ""
    build_report.write(cache, 0.0, "area::what")
    assert json.loads(_report(cache).stdout)["error_id"] == "area::what"


def _sealed_native_tool(cache: Path) -> tuple[Path, pinned_tools.Tool]:
    tool = pinned_tools.TOOLS["uv"]
    target = cache / "tool"
    (target / "bin").mkdir(parents=True)
    (target / "bin" / "uv").write_bytes(b"\x7fELF a native tool")
    pinned_tools._seal(target, tool)
    return target, tool


def test_a_native_tool_edited_in_place_is_caught_after_its_checks_were_remembered(cache: Path) -> None:
    """The sha256 of a native tool's binary is skipped once it matched for that very file
    (inode, size, mtime, change time): an edit that keeps the size and sets the mtime back
    still changes the change time, and is caught."""
    target, tool = _sealed_native_tool(cache)
    binary = target / "bin" / "uv"
    assert pinned_tools.usable(target, tool)
    assert os.path.isfile(target / pinned_tools._VERIFIED)
    assert pinned_tools.usable(target, tool)  # the remembered check
    before = binary.stat()
    binary.write_bytes(b"\x7fELF a nasty tool!")  # the same size
    os.utime(binary, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert pinned_tools._intact(target)  # size, mtime and mode alone do not see it
    assert not pinned_tools.usable(target, tool)


@pytest.mark.parametrize("kind", sorted(SPOILERS))
def test_a_native_tool_check_record_of_any_form_is_replaced(kind: str, cache: Path) -> None:
    target, tool = _sealed_native_tool(cache)
    SPOILERS[kind](target / pinned_tools._VERIFIED)
    with _within():
        usable = pinned_tools.usable(target, tool)
    # a folder there holds a file the manifest does not know: installed again
    assert usable is (kind != "folder")
    if kind != "folder":
        assert json.loads((target / pinned_tools._VERIFIED).read_text())[1] == \
            (target / "bin" / "uv").stat().st_ino
