"""Dispatch ``bin/<command>`` to the module that implements it."""
from __future__ import annotations

import importlib
import os
import sys

from buildpack.base.output import run_main
from buildpack.cnb import context as cnb_context

COMMANDS = {
    "detect": "buildpack.commands.detect",
    "compile": "buildpack.commands.compile",
    "test-compile": "buildpack.commands.test_compile",  # CI builds: compile with dev dependencies
    "test": "buildpack.commands.test",
    "release": "buildpack.commands.release",
    "build": "buildpack.cnb.build",  # Cloud Native Buildpacks only
    "build-runtime-store": "buildpack.store_builder.builder",
    "local-deploy": "buildpack.tools.local_deploy",
    "build-offline-bundle": "buildpack.tools.offline_bundle",
    "report": "buildpack.commands.report",
}
# Under a CNB lifecycle (see buildpack.cnb.context), the programs both APIs share.
CNB_COMMANDS = {"detect": "buildpack.commands.cnb_detect"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(f"usage: _run.py {{{','.join(COMMANDS)}}} ARGS...\n")
        return 2
    name = argv[0]
    if name in CNB_COMMANDS and cnb_context.requested(os.environ):
        module = importlib.import_module(CNB_COMMANDS[name])
    else:
        module = importlib.import_module(COMMANDS[name])
    return run_main(module.main, argv[1:])
