"""The one way to query an interpreter: isolated, bounded, one error id."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from buildpack.base import interpreter
from tests.support import raises_id

PYTHON = Path(sys.executable)


def test_the_answer_is_the_last_json_line_and_the_app_folder_cannot_answer(tmp_path):
    (tmp_path / "json.py").write_text("raise SystemExit('the app folder was imported')\n")
    code = "import json, sys; print('noise'); print(json.dumps([sys.argv[1:], sys.flags.isolated]))"
    assert interpreter.query(PYTHON, code, "a", "b", cwd=tmp_path) == [["a", "b"], 1]
    assert interpreter.query(PYTHON, interpreter.STDLIB).endswith(f"python{sys.version_info[0]}."
                                                                  f"{sys.version_info[1]}")


@pytest.mark.parametrize("code,reason", [
    ("raise KeyError('x')", "KeyError: 'x'"),
    ("print('no json')", "printed something unexpected"),
])
def test_no_answer_is_a_query_error(code, reason):
    with pytest.raises(interpreter.QueryError) as err:
        interpreter.query(PYTHON, code)
    assert reason in err.value.reason
    with raises_id("interpreter::query-failed") as failed:
        interpreter.require(PYTHON, code, what="The Python runtime does not start")
    assert reason in failed.value.body


def test_a_missing_interpreter_is_a_query_error(tmp_path):
    with pytest.raises(interpreter.QueryError, match="does not start"):
        interpreter.query(tmp_path / "python3", "print(1)")


def test_the_reason_is_the_first_line_of_a_usage_error(tmp_path):
    shim = tmp_path / "python3.9"  # what a pyenv shim says for a version it does not have
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.9: command not found' >&2\n"
                    "echo '' >&2\necho 'Note: See pyenv help global' >&2\nexit 127\n")
    shim.chmod(0o755)
    with pytest.raises(interpreter.QueryError) as err:
        interpreter.query(shim, "print(1)")
    assert err.value.reason == "pyenv: python3.9: command not found"
