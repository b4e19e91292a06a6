"""The build report: what a platform can collect about a build, as JSON.

``bin/compile`` writes it to ``CACHE_DIR/build-report.json`` when it ends, successfully or
not (a platform reads it there, or runs ``bin/report BUILD_DIR CACHE_DIR``, which prints
it, like the leader's ``bin/report``). Fields (absent when the build stopped before
knowing them):

- ``success``; ``error_id`` (see docs/errors.md) and ``error_class`` (``user``,
  ``platform`` or ``transient``: ``base.error_classes``) when it failed;
- ``python_version``; ``package_manager`` and ``package_manager_version`` (and for
  requirements.txt the ``engine``, uv or pip, whose version that is);
- ``cache``: what the cache decided (``installed_environment``: ``updated``, the previous
  build's environment brought up to date by the package manager, or ``installed``);
- ``steps``: each ``----->`` step's header and its duration in seconds;
- ``duration``: the whole build's, in seconds.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from buildpack.base import atomic_write, cache_files, error_classes, output
from buildpack.cache import layout

REPORT_NAME = layout.BUILD_REPORT
MAX_REPORT_BYTES = 1024 * 1024  # a report is a few KB
SCHEMA = 1

# The current build's facts, set by the steps that learn them.
FIELDS: dict[str, Any] = {}
CACHE: dict[str, str] = {}


def note(**fields: Any) -> None:
    FIELDS.update(fields)


def cache_decision(what: str, decision: str) -> None:
    CACHE[what] = decision


def render(started: float, error_id: str | None, now: float | None = None) -> dict[str, Any]:
    """The report of a build that started at ``started`` and failed with ``error_id``
    (``build::interrupted`` for what is not a BuildError), or succeeded (None)."""
    end = time.monotonic() if now is None else now
    starts = [start for _, start in output.STEPS] + [end]
    steps = [{"step": name, "seconds": round(starts[i + 1] - start, 3)}
             for i, (name, start) in enumerate(output.STEPS) if start >= started]
    report: dict[str, Any] = {"schema": SCHEMA, "success": error_id is None}
    if error_id is not None:
        report["error_id"] = error_id
        report["error_class"] = error_classes.error_class(error_id)
    report.update(FIELDS)
    report.update(cache=dict(CACHE), steps=steps, duration=round(end - started, 3))
    return report


def write(cache_dir: Path, started: float, error_id: str | None) -> None:
    """Write the report atomically, in place of whatever is there (a folder, a FIFO, a
    link: no build wrote that); a cache dir that cannot take it costs nothing."""
    path = cache_dir / REPORT_NAME
    try:
        cache_files.make_way(path)
        atomic_write.write_text(path,
                                json.dumps(render(started, error_id), indent=2) + "\n")
    except OSError:
        pass


