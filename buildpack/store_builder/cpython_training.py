"""What the profile run of an optimised (PGO+LTO) build can exercise: its own file.

Kept apart from ``cpython_recipe`` on purpose: the machine-level build cache
(``source_build.build_key``) keys an optimised build by both files and a quick build by
the recipe alone, so a change here rebuilds only the optimised builds (60-90 min each on
a 2-CPU machine), never the quick ones the test stores and CI use.
"""
from __future__ import annotations

# configure's last word wins: this undoes the recipe's --disable-test-modules for
# optimised builds only. The profile run (``-m test --pgo``) needs _testcapi and the
# other test modules: without them it skipped 339 of its tests and all of test_bytes.
# The packer leaves the test modules out of every archive (``runtime_archive``), so the
# runtime's files are the same; only the profile the compiler optimises for changes.
CONFIGURE_ARGS = ("--enable-test-modules",)
