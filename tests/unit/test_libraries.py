"""The buildpack's own libraries: fetched from a real (loopback) simple index, hash-checked,
bounded, cached, and importable straight from the wheel file."""
from __future__ import annotations

import hashlib
import http.server
import io
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildpack.base import http_client, libraries, settings


def _wheel(module: str) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as whl:
        whl.writestr(f"{module}/__init__.py", "ANSWER = 42\n")
    return data.getvalue()


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path, bytes]]:
    """A simple index serving one fake pure wheel, pinned in a fake vendor/libraries.txt."""
    module = f"arch_fake_{tmp_path.name.replace('-', '_')}"
    data = _wheel(module)
    name = module.replace("_", "-")
    filename = f"{module}-1.0-py3-none-any.whl"
    root = tmp_path / "index"
    (root / "simple" / name).mkdir(parents=True)
    (root / "files").mkdir()
    (root / "files" / filename).write_bytes(data)
    (root / "simple" / name / "index.html").write_text(
        f'<html><body><a href="../../files/{filename}#sha256=x">{filename}</a></body></html>')
    pins = tmp_path / "libraries.txt"
    pins.write_text(f"{name}==1.0 --hash=sha256:{hashlib.sha256(data).hexdigest()}\n")
    monkeypatch.setattr(libraries, "PINS", pins)
    monkeypatch.setattr(settings, "BUNDLED_WHEELS", tmp_path / "no-bundle")
    monkeypatch.setattr(libraries, "_ready", False)
    monkeypatch.setattr(sys, "path", list(sys.path))

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple/", tmp_path / "cache", data
    server.shutdown()


def test_downloads_checks_caches_and_imports(index: tuple[str, Path, bytes]) -> None:
    url, cache, data = index
    assert not libraries.ensure(cache, None)  # no copy and no index: not yet
    assert libraries.ensure(cache, url) and libraries.ready()
    [wheel] = (cache / libraries.CACHE_SUBDIR).glob("*.whl")
    assert wheel.read_bytes() == data
    module = __import__(wheel.name.split("-")[0])
    assert module.ANSWER == 42 and module.__file__.startswith(str(wheel))
    assert libraries.ensure(cache, None)  # the cached copy is enough now


def test_a_cached_copy_that_does_not_match_is_fetched_again(index: tuple[str, Path, bytes]) -> None:
    url, cache, data = index
    libraries.ensure(cache, url)
    [wheel] = (cache / libraries.CACHE_SUBDIR).glob("*.whl")
    wheel.write_bytes(b"tampered")
    assert not libraries.ensure(cache, None)
    assert libraries.ensure(cache, url) and wheel.read_bytes() == data


def test_a_file_that_does_not_match_its_hash_is_refused(index: tuple[str, Path, bytes],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    url, cache, _ = index
    name = libraries.pinned()[0].name
    libraries.PINS.write_text(f"{name}==1.0 --hash=sha256:{hashlib.sha256(b'other').hexdigest()}\n")
    assert not libraries.ensure(cache, url) and not libraries.ready()
    assert "does not match its pinned hash" in capsys.readouterr().out
    assert not list((cache / libraries.CACHE_SUBDIR).glob("*.whl"))


def test_an_unreachable_index_is_said_with_the_url_masked(index: tuple[str, Path, bytes],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, cache, _ = index
    assert not libraries.ensure(cache, "http://user:s3cret@127.0.0.1:9/simple/")
    out = capsys.readouterr().out
    assert "s3cret" not in out and "user:****@" in out


def test_a_page_over_the_size_bound_is_refused(index: tuple[str, Path, bytes], monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    url, cache, _ = index
    monkeypatch.setattr(libraries, "MAX_BYTES", 50)
    assert not libraries.ensure(cache, url)
    assert "too large" in capsys.readouterr().out


def test_the_pins_are_pure_wheels_of_the_three_libraries() -> None:
    names = {wheel.name for wheel in libraries.pinned()}
    assert names == {"packaging", "tomli", "tomli-w"}
    assert all(w.filename.endswith("-py3-none-any.whl") for w in libraries.pinned())


def test_index_files_names_each_linked_file_once_and_never_a_path() -> None:
    """The one reader of simple-API pages (libraries and uv_fetch write to these names)."""
    page = (b'<a href="../../files/uv-0.9.0-py3-none-any.whl#sha256=ab">x</a>'
            b'<a href="https://other.test/p/tomli_w-1.2.0-py3-none-any.whl">y</a>'
            b'<a href="evil%2F..%2F..%2Fbashrc">z</a><a href="..">up</a><a>no href</a>')
    assert http_client.index_files(page, "http://index.test/simple/uv/") == {
        "uv-0.9.0-py3-none-any.whl": "http://index.test/files/uv-0.9.0-py3-none-any.whl",
        "tomli_w-1.2.0-py3-none-any.whl": "https://other.test/p/tomli_w-1.2.0-py3-none-any.whl"}
