"""``bin/report [--sbom] BUILD_DIR CACHE_DIR [ENV_DIR]``: print the last build's report
(``cache.build_report`` writes it), or ``{}`` when there was none; with ``--sbom``, the
last successful build's CycloneDX SBOM (``app_build.sbom``), or an error when there is none."""
from __future__ import annotations

import sys
from pathlib import Path

from buildpack.app_build import sbom
from buildpack.base.output import BuildError
from buildpack.cache.build_report import REPORT_NAME


def main(argv: list[str]) -> int:
    """``bin/report [--sbom] BUILD_DIR CACHE_DIR [ENV_DIR]``: print the last build's report."""
    want_sbom = "--sbom" in argv
    argv = [arg for arg in argv if arg != "--sbom"]
    if len(argv) < 2:
        raise BuildError("Usage: bin/report [--sbom] BUILD_DIR CACHE_DIR [ENV_DIR]",
                         error_id="usage::report-arguments")
    if want_sbom:
        return _print_sbom(Path(argv[1]) / sbom.CACHE_NAME)
    path = Path(argv[1]) / REPORT_NAME
    try:
        sys.stdout.write(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        sys.stdout.write("{}\n")  # no build with this cache yet
    return 0


def _print_sbom(path: Path) -> int:
    try:
        sys.stdout.write(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError("No SBOM in this cache directory",
                         f"{path} does not exist: no build with this cache has succeeded since\n"
                         "the buildpack started writing SBOMs (the last build may have failed).\n"
                         "Build the app, then run bin/report --sbom again.",
                         error_id="report::no-sbom") from None
    return 0
