"""Unsafe runtime archives, served by a store with a matching sha256, are refused
before anything is written."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from buildpack.base import platform_info
from buildpack.runtime.safe_extract import MAX_UNPACKED_BYTES
from tests import support

pytestmark = pytest.mark.slow  # real builds (bin/compile against the test store)


class Zeros(io.RawIOBase):
    """A stream of n zero bytes (for a zip-bomb-style member)."""

    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _member(tar, name, kind="file", target="", size=1):
    info = tarfile.TarInfo(name)
    if kind == "file":
        info.size = size
        tar.addfile(info, Zeros(size) if size > 1 else io.BytesIO(b"x"))
        return
    info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                 "chardev": tarfile.CHRTYPE, "blockdev": tarfile.BLKTYPE,
                 "fifo": tarfile.FIFOTYPE}[kind]
    info.linkname = target
    tar.addfile(info)


CASES = {
    "absolute-path": (lambda t: _member(t, "/tmp/evil-absolute"), "absolute path"),
    "dotdot": (lambda t: _member(t, "lib/../../evil"), ".."),
    "symlink-absolute": (lambda t: _member(t, "lib/passwd", "symlink", "/etc/passwd"), "absolute path"),
    "symlink-outward": (lambda t: _member(t, "lib/up", "symlink", "../../../etc"), "outside"),
    "hardlink-outward": (lambda t: _member(t, "lib/h", "hardlink", "../outside"), "outside"),
    "char-device": (lambda t: _member(t, "dev/null", "chardev"), "device file"),
    "block-device": (lambda t: _member(t, "dev/sda", "blockdev"), "device file"),
    "fifo": (lambda t: _member(t, "run/pipe", "fifo"), "FIFO"),
    "zip-bomb": (lambda t: _member(t, "lib/huge", size=MAX_UNPACKED_BYTES + 1), "unpacks to more than"),
    # Issue 15, class 1: links that escape through a chain (normpath collapses q/.. before
    # the kernel follows q); each is refused before anything is written.
    "chain-dot-link": (lambda t: (_member(t, "q", "symlink", "."),
                                  _member(t, "p", "symlink", "q/q/q/../../..")), "outside"),
    "chain-two-links": (lambda t: (_member(t, "a", "symlink", "b/c"), _member(t, "b/c", "symlink", "."),
                                   _member(t, "p", "symlink", "a/../..")), "outside"),
    "chain-member-through-link": (lambda t: (_member(t, "up", "symlink", "lib/.."),
                                             _member(t, "lib", "symlink", ".."),
                                             _member(t, "up/evil")), "outside"),
    "chain-hardlink": (lambda t: (_member(t, "hq", "symlink", "."),
                                  _member(t, "h", "hardlink", "hq/../../etc/passwd")), "outside"),
    "chain-loop": (lambda t: (_member(t, "x", "symlink", "y"), _member(t, "y", "symlink", "x"),
                              _member(t, "x/evil")), "loop"),
    "chain-duplicate-name": (lambda t: (_member(t, "lib/ok"), _member(t, "lib/ok", "symlink", "..")),
                             "twice"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_unsafe_archive_refused_before_writing(case, tmp_path, figures):
    add, words = CASES[case]
    store = tmp_path / "store"
    store.mkdir()
    archive = store / "python-3.13.9-evil.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        _member(tar, "bin/python3")
        add(tar)
    data = archive.read_bytes()
    (store / "manifest.json").write_text(json.dumps({"schema": 1, "runtimes": [{
        "version": "3.13.9", "stack": platform_info.current_stack(),
        "arch": platform_info.current_arch(), "file": archive.name,
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}]}))
    app = tmp_path / "app"
    app.mkdir()
    (app / "Procfile").write_text("web: python -m http.server $PORT\n")
    (app / ".python-version").write_text("3.13.9\n")
    cache = tmp_path / "cache"
    result = support.compile_app(app, cache, support.build_env(str(store), None))
    figures.add("archive-links" if case.startswith("chain-") else "archives")
    assert result.returncode == 1
    assert "cannot be extracted safely" in result.stderr and words in result.stderr
    assert "Traceback" not in result.log
    assert sorted(p.name for p in app.iterdir()) == [".python-version", "Procfile"]
    assert list((cache / "runtime").iterdir()) == []  # the unusable archive is not kept
