"""``bin/test-compile BUILD_DIR CACHE_DIR [ENV_DIR]``: the CI build of the leader's
test-run contract. It is ``bin/compile`` with the app's dev and test dependencies
installed too (see ``installers``); ``bin/test`` then runs the tests in BUILD_DIR.
"""
from __future__ import annotations

from buildpack.commands import compile as classic


def main(argv: list[str]) -> int:
    return classic.main(argv, dev=True)
