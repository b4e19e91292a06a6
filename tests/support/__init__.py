"""Shared test machinery, by concern (real store, real index, real builds; no mocks):

- ``machine``: paths of this checkout, locks, free ports, this machine's CPythons;
- ``store``: the runtime store the builds install Python from;
- ``index``: the package indexes (pypiserver on loopback, a private one, static ones);
- ``lock_tools``: lock files made at test time with the pinned package managers;
- ``apps``: apps the tests build and what a build leaves in them;
- ``builds``: running bin/compile and bin/release;
- ``servers``: an app's processes, stores that count or misbehave, an NLTK mirror.

``from tests import support`` and ``support.NAME`` keep working: the public names of
every module are here too.
"""
from __future__ import annotations

from tests.support.apps import (
    config_dir,
    copy_fixture,
    files_containing,
    installed_distributions,
    move_slug,
    tree_snapshot,
    version_wheel,
    write_app,
)
from tests.support.builds import (
    BuildResult,
    Result,
    build_env,
    compile_app,
    copy_buildpack,
    raises_id,
    release_types,
)
from tests.support.index import (
    INDEX_DIR,
    INDEX_EXTRA,
    MANAGER_TOOLS,
    PIP_VERSION_PIN,
    PackageIndex,
    clean_pip_env,
    ensure_index_packages,
    ensure_tool_packages,
    start_index,
    start_private_index,
    tool_requirements,
    write_simple_index,
)
from tests.support.lock_tools import (
    INDEX_PLACEHOLDER,
    LOCK_TOOLS,
    lock_app,
    lock_env,
    lock_fixture,
    lock_tool,
    manifests,
)
from tests.support.machine import (
    BIN,
    CACHE,
    FIXTURES,
    PORT_HOLD_SECONDS,
    ROOT,
    find_prefix,
    fingerprint,
    free_port,
    locked,
    machine_cache,
    wait_for_http,
)
from tests.support.servers import (
    NLTK_MIRROR_HOST,
    CountingStoreServer,
    FaultyStoreServer,
    LoggedProcess,
    NltkMirror,
    RunningProcess,
)
from tests.support.store import (
    FREE_THREADED_MINORS,
    FROM_SOURCE_MINORS,
    KEPT_STORE_DAYS,
    STORE_DIR,
    STORE_SHAPING,
    TEST_MINORS,
    ensure_store,
    expected_default_minor,
    store_versions,
)

__all__ = [
    "BIN",
    "BuildResult",
    "CACHE",
    "CountingStoreServer",
    "FIXTURES",
    "FREE_THREADED_MINORS",
    "FROM_SOURCE_MINORS",
    "FaultyStoreServer",
    "INDEX_DIR",
    "INDEX_EXTRA",
    "INDEX_PLACEHOLDER",
    "KEPT_STORE_DAYS",
    "LOCK_TOOLS",
    "LoggedProcess",
    "MANAGER_TOOLS",
    "NLTK_MIRROR_HOST",
    "NltkMirror",
    "PIP_VERSION_PIN",
    "PORT_HOLD_SECONDS",
    "PackageIndex",
    "ROOT",
    "Result",
    "RunningProcess",
    "STORE_DIR",
    "STORE_SHAPING",
    "TEST_MINORS",
    "build_env",
    "clean_pip_env",
    "compile_app",
    "config_dir",
    "copy_buildpack",
    "copy_fixture",
    "ensure_index_packages",
    "ensure_store",
    "ensure_tool_packages",
    "expected_default_minor",
    "files_containing",
    "find_prefix",
    "fingerprint",
    "free_port",
    "installed_distributions",
    "lock_app",
    "lock_env",
    "lock_fixture",
    "lock_tool",
    "locked",
    "machine_cache",
    "manifests",
    "move_slug",
    "raises_id",
    "release_types",
    "start_index",
    "start_private_index",
    "store_versions",
    "tool_requirements",
    "tree_snapshot",
    "wait_for_http",
    "version_wheel",
    "write_app",
    "write_simple_index",
]
