"""Planning writes nothing (docs/architecture.md): ``read_inputs`` and ``make_plan`` leave
BUILD_DIR and CACHE_DIR as they were; the Python version record is the plan's, and the
build's first step (``python_choice.keep_record``) writes or forgets it."""
from __future__ import annotations

import hashlib
import platform
from pathlib import Path

import pytest

from buildpack.plan import python_choice
from buildpack.plan.plan import make_plan, prepare, read_inputs
from buildpack.runtime.manifest import RuntimeEntry
from buildpack.store_builder import builder as store_builder
from tests.support import tree_snapshot, write_app

PROJECT = '[project]\nname = "app"\nversion = "0.1.0"\ndependencies = ["six"]\n'


def _store(root: Path) -> Path:
    """A store folder whose manifest lists 3.13.15 for this machine (never downloaded)."""
    root.mkdir()
    archive = root / "python-3.13.15.tar.xz"
    archive.write_bytes(b"not read while planning")
    entry = RuntimeEntry("3.13.15", "heroku-24", platform.machine(), archive.name,
                         hashlib.sha256(archive.read_bytes()).hexdigest(), archive.stat().st_size)
    store_builder.write_manifest(root, [entry])
    return root


@pytest.mark.parametrize("files, record", [
    ({"requirements.txt": "six\n"}, (3, 13)),  # no version named: the minor is recorded
    ({"pyproject.toml": PROJECT, "uv.lock": "version = 1\n"}, (3, 13)),
    ({"requirements.txt": "six\n", ".python-version": "3.13\n"}, None),  # named: forgotten
])
def test_planning_leaves_the_build_and_cache_dirs_as_they_were(tmp_path: Path, files: dict[str, str],
                                                               record: tuple[int, int] | None) -> None:
    app = write_app(tmp_path, files)
    cache = tmp_path / "cache"
    cache.mkdir()
    if record is None:  # a record of earlier builds, which the old planning removed
        (cache / python_choice.RECORD_NAME).write_text('{"schema": 1, "python_minor": "3.13"}')
    environ = {"STACK": "heroku-24", "PYTHON_RUNTIME_STORE": str(_store(tmp_path / "store"))}
    before = tree_snapshot(app), tree_snapshot(cache)

    inputs = read_inputs(app, cache, None, environ)
    prepare(inputs)  # the libraries are loaded already in the unit tests: nothing to fetch
    plan = make_plan(inputs)

    assert (tree_snapshot(app), tree_snapshot(cache)) == before
    assert plan.runtime.version == "3.13.15" and plan.python_record == record
    python_choice.keep_record(cache, plan.python_record)
    assert python_choice.read_record(cache) == record
