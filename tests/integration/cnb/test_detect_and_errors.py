"""The CNB side through bin/build, for what fails or ends fast: bad inputs, which must fail
with the same error under both APIs (detection is in tests/unit/test_cnb_detect.py)."""
from __future__ import annotations

import shutil

import pytest

from tests import support
from tests.integration.cnb.lifecycle import Lifecycle

pytestmark = pytest.mark.slow


# --- bad inputs: the same error under both APIs -----------------------------------------

def _error_block(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if line.startswith(" !     "))


@pytest.mark.parametrize("files,summary", [
    ({"runtime.txt": "python3.12\n"}, "(error id: runtime-txt::invalid-version)"),
    ({"Procfile": "web : gunicorn app:app\n"}, "(error id: procfile::space-before-colon)"),
    ({"Procfile": "<<<<<<< HEAD\nweb: python app.py\n"}, "(error id: procfile::conflict-marker)"),
])
def test_bad_input_fails_the_same_under_both_apis(tmp_path, runtime_store, files, summary):
    source = tmp_path / "source"
    source.mkdir()
    (source / "requirements.txt").write_text("")
    for name, text in files.items():
        (source / name).write_text(text)
    classic_app = tmp_path / "classic"
    shutil.copytree(source, classic_app)
    classic = support.compile_app(classic_app, tmp_path / "cache",
                                  support.build_env(str(runtime_store), None))
    lifecycle = Lifecycle(tmp_path / "cnb", {"PYTHON_RUNTIME_STORE": str(runtime_store)})
    lifecycle.source(source)
    cnb = lifecycle.build()
    assert classic.returncode == cnb.returncode == 1, (classic.log, cnb.log)
    assert f" !     {summary}" in cnb.stderr
    assert _error_block(cnb.stderr) == _error_block(classic.stderr)
    assert "Traceback" not in cnb.log
    assert not (lifecycle.layers / "launch.toml").exists()
