"""A uv workspace member's slug (issue 24 item 2): after the build, the workspace's other
members are left out (their code is in site-packages, or not needed), unless a Procfile
command names a path in one; the app's folder, folders around it and the root's files stay.
The real build is tests/integration/e2e/test_uv_workspace.py."""
from __future__ import annotations

from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.installers import managers
from buildpack.installers.record import Choice
from buildpack.installers.workspace_slug import leave_out, members
from tests.support import write_app

LOCK = """\
version = 1
requires-python = ">=3.11"

[manifest]
members = ["api", "Shared_Lib", "worker", "ws-root", "tools", "outside"]

[[package]]
name = "api"
version = "0.1.0"
source = { editable = "apps/api" }

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://example.invalid/simple" }

[[package]]
name = "shared-lib"
version = "0.1.0"
source = { editable = "libs/shared" }

[[package]]
name = "worker"
version = "0.1.0"
source = { directory = "apps/worker" }

[[package]]
name = "tools"
version = "0.1.0"
source = { virtual = "tools" }

[[package]]
name = "outside"
version = "0.1.0"
source = { editable = "../elsewhere" }

[[package]]
name = "ws-root"
version = "0.1.0"
source = { virtual = "." }
"""


def workspace(tmp_path: Path) -> Path:
    files = {"pyproject.toml": "[tool.uv.workspace]\nmembers = ['apps/*', 'libs/*', 'tools']\n",
             "uv.lock": LOCK, "Procfile": "web: cd apps/api && python -m api\n",
             "apps/api/pyproject.toml": "", "apps/api/api.py": "",
             "apps/worker/pyproject.toml": "", "apps/worker/run.sh": "",
             "libs/shared/pyproject.toml": "", "tools/pyproject.toml": "", "frontend/index.html": ""}
    root = write_app(tmp_path, files, "repo")
    (tmp_path / "elsewhere").mkdir()
    dist = root / ".heroku/python/lib/python3.13/site-packages/shared_lib-0.1.0.dist-info"
    dist.mkdir(parents=True)
    return root


def choice(root: Path) -> Choice:
    return Choice(managers.UV, workspace_root=root, workspace_package="api")


def test_the_members_are_read_from_the_lock_inside_the_repository(tmp_path):
    root = workspace(tmp_path)
    assert members(AppFiles(root, root / "apps/api"), root) == {
        "api": root / "apps/api", "shared-lib": root / "libs/shared",
        "worker": root / "apps/worker", "tools": root / "tools", "ws-root": root}


def test_the_other_members_are_left_out_and_logged(tmp_path, capsys):
    root = workspace(tmp_path)
    files = AppFiles(root, root / "apps/api")
    removed = leave_out(choice(root), files, root / ".heroku/python", ["python -m api"])
    assert removed == ["apps/worker", "libs/shared", "tools"]
    assert not (root / "apps/worker").exists() and not (root / "libs").exists() \
        and not (root / "tools").exists()
    for kept in ("apps/api/api.py", "uv.lock", "pyproject.toml", "Procfile", "frontend/index.html"):
        assert (root / kept).is_file(), kept
    assert (tmp_path / "elsewhere").is_dir()
    assert capsys.readouterr().out == (
        "-----> Leaving the rest of the uv workspace out of the app\n"
        "       Left out (what the app imports from the workspace is in site-packages):\n"
        "         apps/worker/ (not a dependency of api)\n"
        "         libs/shared/ (installed into site-packages)\n"
        "         tools/ (not a dependency of api)\n")


def test_a_member_a_procfile_names_a_path_in_stays(tmp_path, capsys):
    root = workspace(tmp_path)
    files = AppFiles(root, root / "apps/api")
    removed = leave_out(choice(root), files, root / ".heroku/python",
                        ["python -m api", "bash ../worker/run.sh", "sh $HOME/tools/x.sh --flag=1"])
    assert removed == ["libs/shared"]
    assert (root / "apps/worker/run.sh").is_file() and (root / "tools").is_dir()
    assert "       Kept, a Procfile command names a path in it: apps/worker/, tools/\n" \
        in capsys.readouterr().out


def test_nothing_is_left_out_for_a_root_build_or_a_ci_build(tmp_path, capsys):
    root = workspace(tmp_path)
    files = AppFiles(root, root / "apps/api")
    assert leave_out(Choice(managers.UV), AppFiles(root), root / ".heroku/python", []) == []
    ci = Choice(managers.UV, dev=True, workspace_root=root, workspace_package="api")
    assert leave_out(ci, files, root / ".heroku/python", []) == []
    assert (root / "apps/worker").is_dir() and capsys.readouterr().out == ""


def test_a_member_the_app_imports_without_depending_on_it_stays_as_source(tmp_path, capsys):
    root = workspace(tmp_path)
    (root / "apps/worker/src/jobs").mkdir(parents=True)
    (root / "apps/worker/src/jobs/__init__.py").write_text("")
    (root / "apps/api/api.py").write_text("import os, jobs\nfrom shared_lib import x\n")
    (root / "libs/shared/shared_lib.py").write_text("")
    (root / "tools/api.py").write_text("")  # the app's own module name: not the member's
    files = AppFiles(root, root / "apps/api")
    removed = leave_out(choice(root), files, root / ".heroku/python", [])
    assert removed == ["libs/shared", "tools"]  # shared_lib is installed: its source goes
    assert (root / "apps/worker/src/jobs/__init__.py").is_file()
    out, err = capsys.readouterr()
    assert "       Kept as source, the app imports it (see the warning): apps/worker/\n" in out
    assert " !     Warning: The app imports jobs from apps/worker/, which it does not depend on" in err
    assert "not a dependency of\n !     api, so uv did not install it" in err
