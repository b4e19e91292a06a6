"""Issue 24, item 10: a runtime.txt app gets one line suggesting .python-version; near-miss
version lines are an error that shows the right form."""
from __future__ import annotations

import pytest

from buildpack import installers
from buildpack.base.output import BuildError
from buildpack.plan import python_choice
from buildpack.python_version.versions import parse_python_version_file, parse_runtime_txt
from tests.unit.test_python_choice import ENTRIES, TODAY, _app


@pytest.mark.parametrize("line, right", [
    ("py3.13", "3.13"), ("cpython-3.13", "3.13"), ("3.13.x", "3.13"), ("3.13.*", "3.13"),
    ("python3.13.2", "3.13.2"), ("Python 3.12", "3.12"), ("python-3.12.1", "3.12.1"),
    ("v3.14", "3.14"), ("CPython3.11.x", "3.11"),
])
def test_python_version_near_misses_show_the_right_form(line, right):
    with pytest.raises(BuildError) as info:
        parse_python_version_file(f"{line}\n".encode())
    assert info.value.error_id == "python-version-file::invalid-version"
    assert info.value.body.endswith(f"so write:\n\n    {right}")
    assert repr(line) in info.value.body


@pytest.mark.parametrize("line, right", [
    ("3.13", "python-3.13"), ("py3.13", "python-3.13"), ("cpython-3.13.1", "python-3.13.1"),
    ("python3.12", "python-3.12"), ("python-3.13.x", "python-3.13"), ("Python-3.14", "python-3.14"),
])
def test_runtime_txt_near_misses_show_the_right_form(line, right):
    with pytest.raises(BuildError) as info:
        parse_runtime_txt(f"{line}\n".encode())
    assert info.value.error_id == "runtime-txt::invalid-version"
    assert f"Write:\n\n    {right}\n\n" in info.value.body
    assert f"put {right[len('python-'):]} into .python-version" in info.value.body


@pytest.mark.parametrize("line", ["pypy3.10", "system", "3.13-dev", "3", "3.13tt", "latest"])
def test_other_lines_are_not_near_misses(line):
    with pytest.raises(BuildError) as info:
        parse_python_version_file(f"{line}\n".encode())
    assert "write:" not in info.value.body.lower()


def test_runtime_txt_gets_one_line_suggesting_python_version(tmp_path, capsys):
    app, cache = _app(tmp_path, {"runtime.txt": "python-3.12.1\n", "requirements.txt": ""})
    choice = installers.choose(app)
    assert python_choice.choose_runtime(app, cache, choice, ENTRIES, TODAY).runtime.version == "3.12.1"
    captured = capsys.readouterr()
    tips = [line for line in captured.out.splitlines() if ".python-version" in line]
    assert tips == ["       Tip: .python-version holding 3.12 is the recommended form (other Python "
                    "tools read it too); runtime.txt keeps working."]
    assert "deprecat" not in (captured.out + captured.err).lower()


def test_python_version_apps_get_no_tip(tmp_path, capsys):
    app, cache = _app(tmp_path, {".python-version": "3.12\n", "requirements.txt": ""})
    python_choice.choose_runtime(app, cache, installers.choose(app), ENTRIES, TODAY)
    assert "Tip:" not in capsys.readouterr().out
