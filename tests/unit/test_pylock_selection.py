"""PYTHON_DEPENDENCY_GROUPS and PYTHON_EXTRAS for a pylock.toml (issue 24 items 1 and 3): a
multi-use lock (PEP 751 ``extras``, ``dependency-groups``, ``default-groups`` and markers
such as ``'web' in dependency_groups``, as PDM writes it) is checked against its own lists
and installed with each engine's arguments. The real installs are in
tests/integration/e2e/test_pylock_selection.py."""
from __future__ import annotations

from buildpack import installers
from buildpack.app.app_files import AppFiles
from buildpack.installers import managers, pip
from buildpack.installers.record import Selection
from tests.support import raises_id, write_app

MULTI_USE = """\
lock-version = "1.0"
requires-python = ">=3.11"
extras = ["S3"]
dependency-groups = ["default", "Web", "dev"]
default-groups = ["default"]
created-by = "pdm"

[[packages]]
name = "six"
version = "1.17.0"
marker = '"default" in dependency_groups'
wheels = [{ url = "http://127.0.0.1:1/six-1.17.0-py2.py3-none-any.whl", hashes = { sha256 = "00" } }]
"""


def test_a_multi_use_lock_takes_its_own_groups_and_extras(tmp_path):
    root = write_app(tmp_path, {"pylock.prod.toml": MULTI_USE})
    choice = installers.choose(root, groups="web", extras="s3", pylock="pylock.prod.toml")
    assert choice.manager is managers.PYLOCK_WITH_UV
    assert choice.selection == Selection(("Web",), ("S3",))
    lock, files = root / "pylock.prod.toml", AppFiles(root)
    shown = lock.relative_to(root)
    # uv: a named group replaces the default groups, so they are named too
    assert pip.requirement_arguments(files, lock, shown, choice.selection, "uv") == [
        "-r", "pylock.prod.toml", "--group", "default", "--group", "Web", "--extra", "S3"]
    # pip: extras on the file, groups as file:group; the default groups stay
    assert pip.requirement_arguments(files, lock, shown, choice.selection, "pip") == [
        "-r", "pylock.prod.toml[S3]", "--group", "pylock.prod.toml:Web"]
    assert pip.describe_selection(files, lock, choice.selection) == (
        "With the group Web and the extra S3 of pylock.prod.toml, besides its default groups "
        "(default).")
    only_extra = Selection((), ("S3",))
    assert pip.requirement_arguments(files, lock, shown, only_extra, "uv") == [
        "-r", "pylock.prod.toml", "--extra", "S3"]


def test_an_unknown_group_or_extra_names_the_locks_own(tmp_path):
    root = write_app(tmp_path, {"pylock.toml": MULTI_USE})
    with raises_id("dependencies::unknown-group") as info:
        installers.choose(root, groups="web,docs")
    assert info.value.summary == "PYTHON_DEPENDENCY_GROUPS names an unknown dependency group: docs"
    assert "(pylock.toml dependency-groups): Web, default, dev" in info.value.body
    with raises_id("dependencies::unknown-extra") as info:
        installers.choose(root, extras="pg")
    assert "(pylock.toml extras): S3" in info.value.body
    assert "uv export" not in info.value.body  # the hint is for a lock that lists none


def test_the_pip_engine_takes_them_too(tmp_path):
    root = write_app(tmp_path, {"pylock.toml": MULTI_USE})
    choice = installers.choose(root, groups="dev", installer="pip")
    assert choice.manager is managers.PYLOCK_PIP and choice.selection.groups == ("dev",)
