"""Session fixtures: the real runtime store and package index the tests build against."""
from __future__ import annotations

import pytest

from tests import support

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


def pytest_collection_modifyitems(config, items):
    """Everything outside tests/unit runs real builds or servers: mark it slow."""
    for item in items:
        if "/tests/unit/" not in str(item.fspath):
            item.add_marker(pytest.mark.slow)
