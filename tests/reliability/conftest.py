"""Figures for docs/reliability.md, produced by the reliability suite itself.

Each test records what it tried with ``figures.add(category, n)``; when the whole
suite ran and passed, the report is rewritten with the counts.
"""
from __future__ import annotations

import collections
import datetime
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
CATEGORIES = {
    "inputs": "bad or hostile inputs tried",
    "faults": "faults injected (store, index, disk)",
    "kills": "builds killed (SIGTERM/SIGKILL) and rebuilt",
    "concurrent": "builds run concurrently",
    "secrets": "secret values checked absent from logs and slugs",
    "archives": "unsafe archives refused",
}


class Figures:
    def __init__(self) -> None:
        self.counts: collections.Counter = collections.Counter()
        self.failed = False
        self.ran = 0

    def add(self, category: str, n: int = 1) -> None:
        assert category in CATEGORIES, category
        self.counts[category] += n


FIGURES = Figures()


@pytest.fixture
def figures() -> Figures:
    return FIGURES


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid:
        return
    if report.when == "call":
        FIGURES.ran += 1
    if report.failed:
        FIGURES.failed = True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    here = Path(__file__).resolve().parent
    modules = {Path(str(item.fspath)).resolve() for item in session.items
               if Path(str(item.fspath)).resolve().parent == here}
    complete = modules == set(here.glob("test_*.py")) and session.testscollected == len(session.items)
    if exitstatus != 0 or FIGURES.failed or not complete:
        return  # only a complete, passing run of the suite rewrites the report
    rows = "\n".join(f"| {CATEGORIES[k]} | {FIGURES.counts[k]} |" for k in CATEGORIES)
    REPORT.write_text(REPORT_TEMPLATE.format(date=datetime.date.today().isoformat(),
                                             tests=FIGURES.ran, rows=rows))


REPORT_TEMPLATE = """# Reliability and security report

Produced by `tests/reliability/` (run by `tests/run`, so in CI on every submission);
the suite rewrites this file after a complete run in which every case passed.
Last complete run: {date}, {tests} tests, all passed.

| what | count |
|---|---:|
{rows}

Every case asserts: the exit code (non-zero where the build must fail), a clear
message (what, where, how to fix), no Python traceback in the log, the build dir left
as it was after a failure, the cache holding only complete entries, and no secret
value in any log or generated file. Tolerated inputs (documented below) must build.

## What is covered

- **Bad inputs** (`test_bad_inputs.py`): malformed `runtime.txt` and `.python-version`
  (binary junk, UTF-16, a 1 MB line, NUL bytes, wrong forms, conflicts), Procfiles (no
  colon, bad names, duplicates, CRLF, tabs, empty commands, conflict markers, 10k
  lines), requirements files (circular and missing `-r`, options pip rejects, unknown
  packages, an sdist that fails to build, hash mismatches, directories and dangling
  links), non-UTF-8 file names, links to `/etc/passwd` and outside the app, ENV_DIR
  entries with odd names, huge values and NUL bytes; plus property-based tests of the
  Procfile and version parsers.
- **Faults** (`test_faults.py`): the package index refusing connections, answering
  500, cutting bodies; the disk filling up during the install (a size-limited tmpfs);
  SIGTERM and SIGKILL at random points of a build, then a rebuild with the same cache.
  Runtime-store faults (refused, 500s, hangs, cut bodies, wrong sha256, truncated and
  malicious archives) are in `tests/e2e/test_store_faults.py`.
- **Concurrency** (`test_concurrency.py`): 8 builds of different apps at once sharing
  one runtime store, each with its own cache; two builds on one cache dir take turns
  (a lock: the second waits, then reuses the first's cache entry).
- **Secrets** (`test_secrets.py`): config vars named like secrets and credentials in
  URLs never appear in the build log, in error messages or in generated slug files.
- **Archives** (`tests/unit/test_safe_extract.py`, `test_faults.py`): members with
  absolute paths, `..`, outward links, device files and huge sizes are refused before
  anything is written.

## Tolerated inputs (documented behaviour)

- `runtime.txt` / `.python-version` with a BOM, CRLF, surrounding blank lines, comments
  (`.python-version`): read as intended.
- Procfiles with CRLF line endings, a BOM or tabs after the colon: parsed; the command is
  kept (CRLF and a BOM with a warning, since herokuish and Dokku would mis-read them).
- ENV_DIR entries that are not valid variable names, not regular files, larger than
  1 MiB or containing NUL bytes: ignored, with a warning naming them.
- `PYTHONHOME`, `PYTHONPATH`, `LD_PRELOAD` config vars: not passed to the build's tools.
- Non-UTF-8 file names and symlinks to outside files among the app's own files: left
  as they are (the buildpack does not read them); files the buildpack reads must not
  link outside the app.
"""
