"""The test store's from-source runtime is built as the recipe says (issue 22, item 2):
full RELRO with immediate binding, stack protector and fortified libc calls in the
interpreter, loadable SQLite extensions, and the flags recorded in sysconfig. Read off
the unpacked archive with readelf, and by running it."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from buildpack.runtime.safe_extract import extract_archive
from buildpack.store_builder import cpython_sources
from tests import support

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runtime(runtime_store, tmp_path_factory) -> Path:
    version = cpython_sources.load_pins()[support.FROM_SOURCE_MINORS[0]].version
    manifest = json.loads((Path(runtime_store) / "manifest.json").read_text())
    entry = next(r for r in manifest["runtimes"] if r["version"] == version)
    dest = tmp_path_factory.mktemp("runtime")
    extract_archive(Path(runtime_store) / entry["file"], dest)
    return dest


def _readelf(*args: str) -> str:
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=True, timeout=120).stdout


def test_libpython_has_full_relro_and_immediate_binding(runtime):
    minor = support.FROM_SOURCE_MINORS[0]
    for elf in (runtime / f"lib/libpython{minor}.so.1.0", runtime / f"bin/python{minor}",
                next((runtime / f"lib/python{minor}/lib-dynload").glob("_ssl.*.so"))):
        assert "GNU_RELRO" in _readelf("-l", str(elf)), elf
        assert "BIND_NOW" in _readelf("-d", str(elf)), elf


def test_libpython_uses_the_stack_protector_and_fortified_calls(runtime):
    symbols = _readelf("--dyn-syms", str(runtime / f"lib/libpython{support.FROM_SOURCE_MINORS[0]}.so.1.0"))
    assert "__stack_chk_fail" in symbols
    assert any(f"__{name}_chk" in symbols for name in ("memcpy", "snprintf", "memmove", "strcpy"))


def test_sqlite_extensions_can_be_loaded_and_extensions_are_built_hardened(runtime):
    python = runtime / "bin" / f"python{support.FROM_SOURCE_MINORS[0]}"
    code = ("import sqlite3, sysconfig, json; c = sqlite3.connect(':memory:'); c.enable_load_extension(True); "
            "print(json.dumps({k: sysconfig.get_config_var(k) for k in ('CFLAGS', 'CPPFLAGS', 'LDFLAGS', "
            "'CONFIG_ARGS')}))")
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    assert "--enable-loadable-sqlite-extensions" in config["CONFIG_ARGS"]
    assert "-fstack-protector-strong" in config["CFLAGS"]
    assert "-D_FORTIFY_SOURCE=2" in config["CPPFLAGS"]
    assert "-Wl,-z,relro" in config["LDFLAGS"] and "-Wl,-z,now" in config["LDFLAGS"]
    assert "ORIGIN" not in config["LDFLAGS"]  # the packer drops the build's rpath for extensions
