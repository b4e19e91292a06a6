"""``bin/report [--sbom] BUILD_DIR CACHE_DIR [ENV_DIR]``: print the last build's report
(``cache.build_report`` writes it), or ``{}`` when there was none; with ``--sbom``, the
last successful build's CycloneDX SBOM (``app_build.sbom``), or an error when there is none.

The report is read like every other CACHE_DIR file (``base.cache_files``): a FIFO, a
link (to ``/dev/zero`` or anywhere), a folder, a file over 1 MiB or one that is not a
JSON object is not printed; ``{}`` is, with a warning on stderr saying why (the next
build replaces the file)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from buildpack.app_build import sbom
from buildpack.base import cache_files, output
from buildpack.base.output import BuildError
from buildpack.cache.build_report import MAX_REPORT_BYTES, REPORT_NAME


def _problem(data: bytes) -> str | None:
    """Why ``data`` is not a report this buildpack wrote, else None."""
    try:
        report = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    except (ValueError, RecursionError):
        return "it is not JSON"
    return None if isinstance(report, dict) else "it is not a JSON object"


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
        data = cache_files.read(path, MAX_REPORT_BYTES)
        problem = None if data is None else _problem(data)
    except cache_files.Unusable as exc:
        data, problem = None, str(exc)
    if data is None or problem is not None:
        if problem is not None:
            output.warning(f"{path} is not a build report",
                           f"It cannot be used: {problem}. This prints an empty report;\n"
                           "the next build replaces the file.")
        sys.stdout.write("{}\n")  # no build with this cache yet
        return 0
    sys.stdout.write(data.decode("utf-8"))
    return 0


def _print_sbom(path: Path) -> int:
    try:
        data = cache_files.read(path, sbom.MAX_BYTES)
    except cache_files.Unusable as exc:
        raise BuildError(f"{path} is not an SBOM this buildpack wrote",
                         f"It cannot be used: {exc}. The next successful build replaces it.",
                         error_id="report::unusable-sbom") from None
    if data is None:
        raise BuildError("No SBOM in this cache directory",
                         f"{path} does not exist: no build with this cache has succeeded since\n"
                         "the buildpack started writing SBOMs (the last build may have failed).\n"
                         "Build the app, then run bin/report --sbom again.",
                         error_id="report::no-sbom")
    sys.stdout.write(data.decode("utf-8", "replace"))
    return 0
