"""An APP_BASE folder that is a member of a uv workspace (issue 24 item 2): found from the
workspace root's [tool.uv.workspace], installed from the root's uv.lock with
`uv sync --package <member> --no-editable`, the root's version files used. The real build
is in tests/integration/e2e/test_uv_workspace.py."""
from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from buildpack import installers
from buildpack.app.app_files import AppFiles
from buildpack.installers import managers, uv
from buildpack.plan import python_choice
from buildpack.python_version.python_lifecycle import Lifecycle
from buildpack.runtime.manifest import RuntimeEntry
from tests.support import raises_id, write_app

ROOT = """\
[project]
name = "ws-root"
version = "0.1.0"
requires-python = ">=3.11"

[tool.uv.workspace]
members = ["apps/*", "libs/*"]
exclude = ["apps/legacy"]
"""


def member(name: str, deps: str = '"shared"') -> str:
    return (f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
            f"dependencies = [{deps}]\n\n[tool.uv.sources]\nshared = {{ workspace = true }}\n")


def workspace(tmp_path: Path, lock: bool = True, **extra: str) -> Path:
    files = {"pyproject.toml": ROOT, "apps/api/pyproject.toml": member("API_app"),
             "apps/worker/pyproject.toml": member("worker"),
             "apps/legacy/pyproject.toml": member("legacy"),
             "libs/shared/pyproject.toml": member("shared", '"idna"'), **extra}
    if lock:
        files["uv.lock"] = "version = 1\n"
    return write_app(tmp_path, files, "repo")


def choose(root: Path, base: str) -> installers.Choice:
    return installers.choose(AppFiles(root, root / base))


def test_a_member_is_installed_from_the_workspace_lock(tmp_path):
    root = workspace(tmp_path)
    choice = choose(root, "apps/api")
    assert choice.manager is managers.UV
    assert choice.files == (root / "apps/api/pyproject.toml", root / "pyproject.toml",
                            root / "uv.lock")
    assert (choice.workspace_root, choice.workspace_package) == (root, "API_app")
    assert uv.arguments(choice) == ["sync", "--locked", "--no-default-groups", "--package",
                                    "API_app", "--no-editable"]


def test_nested_member_and_the_nearest_workspace(tmp_path):
    root = workspace(tmp_path)
    assert choose(root, "libs/shared").workspace_package == "shared"


@pytest.mark.parametrize("base", ["apps/legacy", "tools"])
def test_an_excluded_or_unlisted_folder_is_not_a_member(tmp_path, base):
    root = workspace(tmp_path, **{"tools/pyproject.toml": member("tools")})
    choice = choose(root, base)
    assert choice.workspace_root is None and choice.installs_app  # pip install . as before


def test_a_workspace_without_its_lock_says_where_to_lock(tmp_path):
    root = workspace(tmp_path, lock=False)
    with raises_id("package-manager::manifest-without-lock") as info:
        choose(root, "apps/api")
    assert "Run `uv lock` in the workspace root" in info.value.body


def test_a_member_without_a_name_is_refused(tmp_path):
    root = workspace(tmp_path, **{"apps/api/pyproject.toml": "[project]\nversion = '1'\n"})
    with raises_id("dependencies::no-project-metadata"):
        choose(root, "apps/api")


def test_the_members_own_lock_wins(tmp_path):
    root = workspace(tmp_path, **{"apps/api/uv.lock": "version = 1\n"})
    choice = choose(root, "apps/api")
    assert choice.workspace_root is None
    assert choice.files == (root / "apps/api/pyproject.toml", root / "apps/api/uv.lock")


def test_the_repository_root_app_is_not_a_member_of_itself(tmp_path):
    root = workspace(tmp_path)
    choice = installers.choose(AppFiles(root))
    assert choice.workspace_root is None and choice.files[-1] == root / "uv.lock"


def _entry(version: str) -> RuntimeEntry:
    return RuntimeEntry(version=version, stack="heroku-24", arch="amd64", file=f"p-{version}",
                        sha256="0" * 64, size=1)


def test_the_workspace_roots_python_version_decides_when_the_member_has_none(tmp_path, capsys):
    root = workspace(tmp_path, **{".python-version": "3.12\n"})
    choice = choose(root, "apps/api")
    entries = [_entry("3.12.9"), _entry("3.13.5")]
    runtime = python_choice.choose_runtime(AppFiles(root, root / "apps/api"), tmp_path / "cache",
                                           choice, entries, datetime.date(2026, 12, 6),
                                           Lifecycle.from_vendor()).runtime
    assert runtime.version == "3.12.9"
    assert "specified in .python-version (the uv workspace root's)" in capsys.readouterr().out
    (root / "apps/api/.python-version").write_text("3.13\n")
    runtime = python_choice.choose_runtime(AppFiles(root, root / "apps/api"), tmp_path / "cache",
                                           choice, entries, datetime.date(2026, 12, 6),
                                           Lifecycle.from_vendor()).runtime
    assert runtime.version == "3.13.5"
