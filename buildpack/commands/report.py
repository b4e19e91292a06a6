"""``bin/report BUILD_DIR CACHE_DIR [ENV_DIR]``: print the last build's report
(``cache.build_report`` writes it), or ``{}`` when there was none."""
from __future__ import annotations

import sys
from pathlib import Path

from buildpack.base.output import BuildError
from buildpack.cache.build_report import REPORT_NAME


def main(argv: list[str]) -> int:
    """``bin/report BUILD_DIR CACHE_DIR [ENV_DIR]``: print the last build's report."""
    if len(argv) < 2:
        raise BuildError("Usage: bin/report BUILD_DIR CACHE_DIR [ENV_DIR]",
                         error_id="usage::report-arguments")
    path = Path(argv[1]) / REPORT_NAME
    try:
        sys.stdout.write(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        sys.stdout.write("{}\n")  # no build with this cache yet
    return 0
