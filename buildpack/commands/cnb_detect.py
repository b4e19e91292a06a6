"""``bin/detect`` under a CNB lifecycle: the classic detection, then the build plan.

Exit 0 with the plan written when the app is a Python app (the same rules as the
classic ``bin/detect``, see ``commands.detect``), 100 when it is not; other codes are
errors. The plan provides and requires ``python``, so a later buildpack can require it.
"""
from __future__ import annotations

import os
from pathlib import Path

from buildpack.cnb.context import DetectArgs
from buildpack.commands import detect

NOT_DETECTED = 100
# The build plan, as TOML text: detect runs before the buildpack's libraries are at hand.
PLAN = '[[provides]]\nname = "python"\n\n[[requires]]\nname = "python"\n'


def main(argv: list[str]) -> int:
    args = DetectArgs.from_environment(os.environ, argv)
    if detect.main([str(Path.cwd())]) != 0:  # says on stderr what it looked for
        return NOT_DETECTED
    args.plan_path.write_text(PLAN, encoding="utf-8")
    return 0
