"""pylock.toml (PEP 751) as a lock format of its own: detection, PYTHON_PYLOCK's named
files, the engines, its requires-python and lock-version (issue 24 item 3). The real
installs are in tests/e2e/test_pylock.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildpack import installers
from buildpack.app.app_files import AppFiles
from buildpack.installers import managers, python_check, uv_pip
from buildpack.installers.manager_files import pylock_file
from tests.support import raises_id, write_app

PYLOCK = """\
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.12"

[[packages]]
name = "six"
version = "1.17.0"
index = "http://127.0.0.1:1/simple/"
wheels = [{ url = "http://127.0.0.1:1/packages/six-1.17.0-py2.py3-none-any.whl", hashes = { sha256 = "00" } }]
"""


def app(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_app(tmp_path, files)


def test_pylock_toml_is_detected_and_installed_by_uv_by_default(tmp_path):
    root = app(tmp_path, {"pylock.toml": PYLOCK})
    choice = installers.choose(root)
    assert choice.manager is managers.PYLOCK_WITH_UV
    assert choice.files == (root / "pylock.toml",)
    assert installers.choose(root, installer="pip").manager is managers.PYLOCK_PIP
    assert installers.choose(root, installer="pip").engine_reason == \
        "PYTHON_INSTALLER=pip: installing with pip."


def test_pylock_beside_another_lock_file_is_the_one_lock_file_error(tmp_path):
    root = app(tmp_path, {"pylock.toml": PYLOCK, "requirements.txt": "six\n"})
    with raises_id("package-manager::multiple-lock-files") as info:
        installers.choose(root)
    assert "pylock.toml (pylock)" in info.value.body
    root = app(tmp_path / "named", {"pylock.prod.toml": PYLOCK, "uv.lock": "",
                                    "pyproject.toml": "[project]\nname='a'\nversion='1'\n"})
    with raises_id("package-manager::multiple-lock-files") as info:
        installers.choose(root, pylock="prod")
    assert "pylock.prod.toml (pylock)" in info.value.body


@pytest.mark.parametrize("value, name", [
    (None, "pylock.toml"), ("", "pylock.toml"), ("prod", "pylock.prod.toml"),
    ("pylock.web-2.toml", "pylock.web-2.toml"), (" a_b ", "pylock.a_b.toml"),
])
def test_python_pylock_names_the_file(value, name):
    assert pylock_file(value) == name


@pytest.mark.parametrize("value", ["a.b", "../x", "pylock..toml", "x" * 65, "a b", "pylock.toml/x"])
def test_python_pylock_refuses_what_is_not_a_name(value):
    with raises_id("pylock::invalid-name"):
        pylock_file(value)


def test_named_pylock_is_used_and_a_missing_one_lists_the_others(tmp_path):
    root = app(tmp_path, {"pylock.toml": PYLOCK, "pylock.prod.toml": PYLOCK})
    assert installers.choose(root, pylock="prod").files == (root / "pylock.prod.toml",)
    assert installers.choose(root).files == (root / "pylock.toml",)
    with raises_id("pylock::missing") as info:
        installers.choose(root, pylock="staging")
    assert "pylock.prod.toml, pylock.toml" in info.value.body


def test_requires_python_of_the_lock_is_checked(tmp_path):
    root = app(tmp_path, {"pylock.toml": PYLOCK})
    choice = installers.choose(root)
    files = AppFiles(root)
    assert python_check.reads_files(choice, files)
    [declared] = python_check.declared(choice, files)
    assert (declared.where, declared.spec) == ("pylock.toml (requires-python)", ">=3.12")
    python_check.check(choice, files, "3.13.1")
    with raises_id("python-version::conflicts-with-project") as info:
        python_check.check(choice, files, "3.11.9")
    assert "pylock.toml" in info.value.body


def test_a_lock_version_other_than_1_is_refused(tmp_path):
    root = app(tmp_path, {"pylock.toml": PYLOCK.replace('"1.0"', '"2.0"')})
    with raises_id("pylock::unsupported-version"):
        python_check.declared(installers.choose(root), AppFiles(root))
    root = app(tmp_path / "bad", {"pylock.toml": "lock-version = [\n"})
    with raises_id("toml::invalid"):
        python_check.declared(installers.choose(root), AppFiles(root))


def test_a_lock_without_groups_says_it_was_made_with_them_applied(tmp_path):
    # (A lock that lists its groups and extras: tests/unit/test_pylock_selection.py.)
    root = app(tmp_path, {"pylock.toml": PYLOCK})
    with raises_id("dependencies::unknown-group") as info:
        installers.choose(root, groups="web")
    assert "uv export --format pylock.toml --group web" in info.value.body


def test_uv_does_not_warm_up_or_scan_a_lock(tmp_path):
    root = app(tmp_path, {"pylock.toml": PYLOCK + '\n[[packages]]\nname = "pip"\nversion = "26.3"\n'})
    assert uv_pip.is_pylock(root / "pylock.toml") and not uv_pip.is_pylock(root / "a.toml")
    assert uv_pip.names_pip(AppFiles(root), root / "pylock.toml")
    assert not uv_pip.names_pip(AppFiles(root), root / "missing.toml")


def test_needs_the_toml_reader_for_a_pylock(tmp_path):
    assert installers.needs_libraries(AppFiles(app(tmp_path, {"pylock.prod.toml": PYLOCK})))
    assert not installers.needs_libraries(AppFiles(app(tmp_path / "r", {"requirements.txt": ""})))


def test_detect_finds_pylock_files(tmp_path):
    from buildpack.app.markers import found_markers, is_python_app

    (tmp_path / "pylock.prod.toml").write_text(PYLOCK)
    (tmp_path / "pylock.toml.bak").write_text("")
    assert is_python_app(tmp_path) and found_markers(tmp_path) == ["pylock.prod.toml"]
    (tmp_path / "pylock.toml").write_text(PYLOCK)
    assert found_markers(tmp_path) == ["pylock.toml", "pylock.prod.toml"]
