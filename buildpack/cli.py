"""Dispatch ``bin/<command>`` to the module that implements it."""
from __future__ import annotations

import importlib
import sys

from buildpack.output import run_main

COMMANDS = {
    "detect": "buildpack.detect",
    "compile": "buildpack.compile",
    "release": "buildpack.release",
    "build-runtime-store": "buildpack.store_builder",
    "local-deploy": "buildpack.local_deploy",
    "build-offline-bundle": "buildpack.offline_bundle",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(f"usage: _run.py {{{','.join(COMMANDS)}}} ARGS...\n")
        return 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return run_main(module.main, argv[1:])
