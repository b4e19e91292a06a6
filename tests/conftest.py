"""Session fixtures: the real runtime store and package index the tests build against."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Collection (importing the test modules, and the buildpack's through them) keeps their
# compiled code in .cache/pycache, also where PYTHONDONTWRITEBYTECODE is set: otherwise each
# test worker compiles and assert-rewrites every module again at every run, and collection
# takes three times as long. The tests themselves then run with the settings they had
# (``pytest_collection_finish``), as do the builds and tools they start.
_BYTECODE = (sys.pycache_prefix, sys.dont_write_bytecode)
sys.pycache_prefix = str(Path(__file__).resolve().parent.parent / ".cache" / "pycache")
sys.dont_write_bytecode = False

from tests import support  # noqa: E402 - after the settings above, so its modules are cached too

pytest_plugins = ["tests.ci_skips", "tests.integration.reliability.report"]


@pytest.fixture(scope="session")
def runtime_store():
    return support.ensure_store()


@pytest.fixture(scope="session")
def package_index():
    # With the pinned tools (uv installs requirements.txt by default), whatever test runs first.
    index = support.start_index(support.ensure_tool_packages())
    yield index
    index.stop()


@pytest.fixture
def build_env(runtime_store, package_index):
    return support.build_env(str(runtime_store), package_index.url)


def pytest_collection_finish(session):
    sys.pycache_prefix, sys.dont_write_bytecode = _BYTECODE


def pytest_collection_modifyitems(config, items):
    """Everything outside tests/unit runs real builds or servers: mark it slow."""
    for item in items:
        if "/tests/unit/" not in str(item.fspath):
            item.add_marker(pytest.mark.slow)
