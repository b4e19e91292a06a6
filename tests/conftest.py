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


def pytest_configure(config):
    # pytest-xdist hands out whole modules (--dist loadscope), by default the modules with
    # the most tests first; the order below replaces that one (``_longest_first``).
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    """Everything outside tests/unit runs real builds or servers: mark it slow. Then the
    modules go longest first (``_longest_first``)."""
    for item in items:
        if "/tests/unit/" not in str(item.fspath):
            item.add_marker(pytest.mark.slow)
    items[:] = _longest_first(items)


# A module of tests/integration/slow has few tests that each build or pack CPython for
# minutes: counted as this many builds.
_SLOW_MODULE_WEIGHT = 30


def _longest_first(items):
    """The tests, modules in the order that keeps two workers busy to the end: the longest
    first, so that the last ones to start are short (CI's wall time is the busier worker's).
    A module's length is guessed from its tests: each integration test runs real builds
    (tests/integration/slow: minutes each), a unit test takes milliseconds, so the unit
    modules go last and fill the gaps. A module's own tests keep their order."""
    counts: dict[str, int] = {}
    for item in items:
        counts[str(item.fspath)] = counts.get(str(item.fspath), 0) + 1

    def weight(item) -> int:
        path = str(item.fspath)
        if "/tests/unit/" in path:
            return 0
        if "/tests/integration/slow/" in path:
            return max(counts[path], _SLOW_MODULE_WEIGHT)
        return counts[path]

    return sorted(items, key=lambda item: -weight(item))  # stable: order kept within each
