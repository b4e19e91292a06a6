"""Issue 24, item 8: every error id has a class (user, platform, transient), in the code and
in docs/errors.md alike; the build report carries it; a transient failure exits 75."""
from __future__ import annotations

import errno
import json
import re
import subprocess

import pytest

from buildpack.base import error_classes, output
from buildpack.base.output import BuildError
from buildpack.cache import build_report
from tests.support import BIN, ROOT, write_app
from tests.unit.test_errors import _ids_in_code

_ROW = re.compile(r"^\| `([^`]+)` \| ([a-z]*) \|", re.M)


def _doc_classes() -> dict[str, str]:
    return dict(_ROW.findall((ROOT / "docs" / "errors.md").read_text()))


def test_every_id_has_a_class_and_the_docs_say_the_same() -> None:
    documented = _doc_classes()
    missing = _ids_in_code() - set(documented)
    assert not missing, f"add these ids, with their class, to docs/errors.md: {sorted(missing)}"
    wrong = {i: (c, error_classes.error_class(i)) for i, c in documented.items()
             if c != error_classes.error_class(i)}
    assert not wrong, f"docs/errors.md's class (left) differs from error_classes (right): {wrong}"
    assert set(documented.values()) <= set(error_classes.CLASSES)


def test_the_exceptions_name_ids_that_exist() -> None:
    assert set(error_classes.BY_ID) <= _ids_in_code() | {"build::interrupted"}


@pytest.mark.parametrize("error_id, expected", [
    ("package-index::unreachable", "transient"),
    ("system::disk-full", "transient"),
    ("python-runtime::download-failed", "transient"),
    ("python-runtime::archive-not-served", "platform"),
    ("runtime-store::unreadable", "transient"),
    ("runtime-store::not-served", "platform"),
    ("runtime-store::invalid-manifest", "platform"),
    ("usage::compile-arguments", "platform"),
    ("pip::install-failed", "platform"),
    ("procfile::missing-colon", "user"),
    ("python-version::conflicts-with-project", "user"),
    ("package-index::credentials-refused", "user"),
])
def test_classes(error_id: str, expected: str) -> None:
    assert error_classes.error_class(error_id) == expected


def _raising(exc: BaseException):
    def main(argv: list[str]) -> int:
        raise exc
    return main


@pytest.mark.parametrize("exc, status", [
    (BuildError("Down", error_id="package-index::unreachable"), 75),
    (BuildError("Bad", error_id="procfile::missing-colon"), 1),
    (BuildError("Host", error_id="runtime-store::invalid-manifest"), 1),
    (OSError(errno.ENOSPC, "No space left on device"), 75),
    (OSError(errno.EACCES, "Permission denied"), 1),
])
def test_run_main_exits_75_for_transient_failures(capsys, exc: BaseException, status: int) -> None:
    assert output.run_main(_raising(exc), []) == status
    assert "(error id: " in capsys.readouterr().err


def test_the_report_carries_the_class() -> None:
    report = build_report.render(0.0, "system::disk-full", now=1.0)
    assert report["error_id"] == "system::disk-full" and report["error_class"] == "transient"
    assert "error_class" not in build_report.render(0.0, None, now=1.0)


def test_bin_compile_exits_1_when_the_store_has_no_manifest(tmp_path) -> None:
    """A real bin/compile against a store folder without manifest.json: the store is
    misconfigured, a retry does not help (the transient case, 75 after the retries of a
    store that fails, is in tests/integration/e2e/test_store_faults.py)."""
    app = write_app(tmp_path, {"requirements.txt": "", ".python-version": "3.13\n"})
    empty_store = tmp_path / "store"
    empty_store.mkdir()
    cache = tmp_path / "cache"
    proc = subprocess.run([str(BIN / "compile"), str(app), str(cache)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHON_RUNTIME_STORE": str(empty_store)},
                          timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "(error id: runtime-store::not-served)" in proc.stderr
    report = json.loads((cache / "build-report.json").read_text())
    assert report["error_class"] == "platform" and report["success"] is False
