"""Figures for docs/reliability.md, produced by the reliability suite itself.

Each test records what it tried with ``figures.add(category, n)``; when the whole
suite ran and passed, the report is rewritten with the counts.

Under pytest-xdist (tests/run runs two workers) the tests of this folder run in
several processes: each worker sends its counts and what it collected to the controller
(``workeroutput``), and only the controller, which also sees every test's report,
merges them and writes the report. A run without xdist writes it itself. The controller
collects nothing, so it never loads a conftest.py of this folder: this is a plugin that
tests/conftest.py loads (``pytest_plugins``) in every process.
"""
from __future__ import annotations

import collections
import datetime
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPORT = HERE.parents[2] / "docs" / "reliability.md"
CATEGORIES = {
    "inputs": "bad or hostile inputs tried",
    "faults": "faults injected (store, index, disk)",
    "kills": "builds killed (SIGTERM/SIGKILL) and rebuilt",
    "concurrent": "builds run concurrently",
    "secrets": "secret values checked absent from logs and slugs",
    "archives": "unsafe archives refused",
    # issue 15, by class
    "archive-links": "1. archives whose links escape through a chain, refused",
    "app-links": "2. links and special files in the app (reads and writes)",
    "credentials": "3. credential leaks tried (encodings, redirects, odd URLs)",
    "stale-cache": "4. changes a stale environment cache would have hidden",
    "cache-damage": "5. damaged or garbage caches, and slugs writing into the cache",
    "limits": "6. oversized inputs, deep nesting and hangs",
    "errors": "7. causes that used to get a misleading error",
    "crosstalk": "8. concurrent builds sharing a buildpack dir (export file)",
    "config-refs": "9. ${VAR} references in requirements files",
    # issue 21 (round three), by class; classes 3, 6, 7 and 10 are unit-tested
    "r3-numbers": "r3.1 numbers from outside: long, non-ASCII, inf (builds)",
    "r3-cache-files": "r3.2 FIFOs, sparse files, folders, links in CACHE_DIR (builds)",
    "r3-nesting": "r3.4 deeply nested TOML (builds)",
    "r3-requirements": "r3.5 requirements pip and uv read differently (builds)",
    "r3-disk": "r3.8 a full CACHE_DIR or TMPDIR (builds)",
    "r3-config-names": "r3.9-10 forged config var names, odd values, a missing ENV_DIR (builds)",
    "sentinels": "builds run between sentinel files (no write outside BUILD_DIR, CACHE_DIR, temp)",
}


class Figures:
    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.failed = False
        self.ran = 0
        self.expected: list[int] = []  # reliability tests collected, one entry per collecting process
        self.complete: list[bool] = []  # whether that process collected the whole folder

    def add(self, category: str, n: int = 1) -> None:
        assert category in CATEGORIES, category
        self.counts[category] += n


FIGURES = Figures()


@pytest.fixture
def figures() -> Figures:
    return FIGURES


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Runs where the test ran, and again on the xdist controller for every forwarded report."""
    if not report.nodeid.startswith("tests/integration/reliability/"):
        return
    if report.when == "call":
        FIGURES.ran += 1
    if report.failed:
        FIGURES.failed = True


def _collected(session: pytest.Session) -> tuple[int, bool]:
    mine = [item for item in session.items if Path(str(item.path)).resolve().parent == HERE]
    modules = {Path(str(item.path)).resolve() for item in mine}
    complete = modules == set(HERE.glob("test_*.py")) and session.testscollected == len(session.items)
    return len(mine), complete


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist controller: take a finished worker's counts (it sent them in ``workeroutput``)."""
    sent = getattr(node, "workeroutput", {}).get("reliability")
    if error is not None or sent is None:
        FIGURES.complete.append(False)
        return
    FIGURES.counts.update(sent["counts"])
    FIGURES.expected.append(sent["expected"])
    FIGURES.complete.append(sent["complete"])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller merges and writes
        expected, complete = _collected(session)
        workeroutput["reliability"] = {"counts": dict(FIGURES.counts), "expected": expected,
                                       "complete": complete}
        return
    if not session.config.pluginmanager.has_plugin("dsession"):  # no xdist: this process collected
        expected, complete = _collected(session)
        FIGURES.expected.append(expected)
        FIGURES.complete.append(complete)
    if exitstatus != 0 or FIGURES.failed or not FIGURES.complete or not all(FIGURES.complete):
        return  # only a complete, passing run of the suite rewrites the report
    if len(set(FIGURES.expected)) != 1 or FIGURES.ran != FIGURES.expected[0]:
        return  # e.g. --collect-only, or a worker lost: not every test ran
    write_report(FIGURES)


def write_report(figures: Figures) -> None:
    rows = "\n".join(f"| {CATEGORIES[k]} | {figures.counts[k]} |" for k in CATEGORIES)
    REPORT.write_text(REPORT_TEMPLATE.format(date=datetime.date.today().isoformat(),
                                             tests=figures.ran, rows=rows))


REPORT_TEMPLATE = """# Reliability and security report

Produced by `tests/integration/reliability/` (run by `tests/run`, so in CI on every submission);
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
  entries with odd names, huge values and NUL bytes; property-based tests of the Procfile
  and version parsers are in `tests/unit/test_parser_properties.py`.
- **Faults** (`test_faults.py`): the package index refusing connections, answering
  500, cutting bodies; the disk filling up during the install (a size-limited tmpfs);
  SIGTERM and SIGKILL at random points of a build, then a rebuild with the same cache.
  Runtime-store faults (refused, 500s, hangs, cut bodies, wrong sha256, truncated and
  malicious archives) are in `tests/integration/e2e/test_store_faults.py`.
- **Concurrency** (`test_concurrency.py`): 8 builds of different apps at once sharing
  one runtime store, each with its own cache; two builds on one cache dir take turns
  (a lock: the second waits, then reuses the first's cache entry).
- **Secrets** (`test_secrets.py`): config vars named like secrets and credentials in
  URLs never appear in the build log, in error messages or in generated slug files.
- **Archives** (`tests/unit/test_safe_extract.py`, `test_archives.py`): members with
  absolute paths, `..`, outward links, device files and huge sizes are refused before
  anything is written.

- **Hostile inputs, round two** (`test_hostile.py`, issue 15), by class; every build
  runs between sentinel files (the case's folder holds the app, the cache, the config
  vars, a HOME and a `victim` folder that hostile links point at; everything but the
  app and the cache must be byte-for-byte unchanged afterwards):
  1. *archive link chains* (`test_archives.py`, `chain-*`; unit cases in
     `tests/unit/test_safe_extract.py`): links are resolved member by member as the
     kernel does (`q -> .`, `p -> q/q/q/../../..`), loops, hard links through chains,
     duplicate names; `tarfile`'s `data` filter runs on top where the host has it.
  2. *links and special files in the app*: `.heroku`, `.heroku/python`, `.profile.d`,
     `.profile.d/python.sh`, `.heroku/app-base` as links (writes never follow a link:
     a folder link is an error, a file link is replaced); Procfile, `-r` includes,
     `runtime.txt`, `pyproject.toml`, `manage.py` as links to `/etc/passwd`,
     `/dev/zero` or a folder outside, or as FIFOs (one reader, `app_files`, refuses
     them without blocking); app sources and `__pycache__` linked outside (never
     compiled, never written through).
  3. *credentials*: multi-line, JSON-escaped and URL-encoded values echoed by a hook,
     tokens under names without a secret-looking word, `DATABASE_URL` passwords with
     `@` and `/`, `--find-links` URLs, store URLs with `/` or `@` in the password or a
     typo in the port; redirects to another origin from the store and from the index
     probe (`test_credentials_stay_home`: the other origin never sees a credential).
  4. *stale cache* (`test_stale_cache_never_deploys_old_code`): a local path without
     `./`, a `--find-links` folder that gains a wheel, a wheel file rebuilt under the
     same name, a `git+…@branch` that gets a commit, an editable path: each rebuild
     deploys the new code: the package manager runs against the previous environment
     and whatever came from a path, URL or VCS is installed again.
  5. *cache integrity*: a file where a folder belongs and the reverse, links, a folder
     as `.lock` and as `uv/.lock`, deep JSON metadata, a changed file mode in an entry;
     hooks that `chmod` or append to the installed runtime
     (`test_cache_is_never_written_through_the_slug`: that environment is never cached).
  6. *limits and hangs*: a 1 GB sparse and a 50 MB blank requirements file, a 1 GB
     Procfile, 2,000 `-r` files, a 1,500-deep `-r` chain, an 1,100-deep folder, deep JSON
     in `Pipfile.lock` and the manifest, a manifest linked to `/dev/zero`, a hook that
     leaves a background process holding the output pipe, a runtime whose `python`
     never exits (`BUILDPACK_STEP_TIMEOUT`).
  7. *misleading errors*: a committed `.heroku` file, control characters in ENV_DIR
     names, a manifest version with a trailing newline, a full disk (`test_faults.py`:
     `system::disk-full`, not "the package index").
  8. *crosstalk* (`test_concurrent_builds_get_their_own_python_from_export`): two apps
     built at once from one buildpack dir; each next buildpack finds its own Python.
  9. *`${{VAR}}` in requirements*: credentials from allowlisted config vars (names ending
     in `_TOKEN`, `_PAT`, `_USERNAME`, `_USER`, `_PASSWORD`), expanded by pip, masked;
     unset and not-allowlisted names get a warning.

- **Hostile inputs, round three** (`test_hostile_round3.py`, issue 21), builds between the
  same sentinel files, plus unit tests where no build is needed:
  1. *numbers* (one parser, `base.numbers`; `tests/unit/test_bounded_numbers.py`, with
     property tests): 5,000-digit minors, `²`, Arabic-Indic digits, `inf`, `1e999` in
     `.python-version`, `runtime.txt`, Pipfile.lock, `requires-python`, the store manifest,
     `PYTHON_RUNTIME_STORE_TIMEOUT`, `BUILDPACK_STEP_TIMEOUT`, `PYTHON_TEST_TIMEOUT`,
     `Content-Length` and CNB layer metadata: the input's own error id, or its default.
  2. *CACHE_DIR and layer files* (one reader, `base.cache_files`;
     `tests/unit/test_cache_reader.py`): a FIFO, a 4 GB sparse file, a folder, a socket,
     a device, links to `/dev/zero` and outside, at the sticky record, the build report,
     cache metadata, tool stamps and layer TOML: ignored with a warning and replaced.
  3. *`bin/report`* on each of those and on non-UTF-8, non-JSON or non-object reports:
     `{{}}` with a warning.
  4. *nesting*: 8 KB of nested arrays or inline tables in `pyproject.toml` (project,
     Poetry, beside requirements.txt): `toml::invalid`, checked before parsing.
  5. *pip and uv*: `-r "../x"`, `-c '../x'`, `--requirem`, `--find-l`, `name @ ./libx`
     (requirements lines split by `shlex` and pip's own `optparse` rules); hash mode (one
     `--hash` line): uv gets `--require-hashes`, and fails on an unhashed line as pip does.
  6. *the programs' arguments* (`tests/unit/test_program_arguments.py`): `--port 70000`,
     `--python 3.x|latest|3..13`, `--from-source 3.<5000 digits>`, `PYTHON_TEST_TIMEOUT=²`:
     usage line and id before any work.
  7. *children* (`tests/unit/test_child_deadlines.py`): a `python` that never exits and
     holds the pipe through a child of its own is ended at the deadline; a source scan
     finds no `subprocess` call without a deadline.
  8. *a full disk* (tmpfs mounts): CACHE_DIR full while uv is installed, TMPDIR full
     while pip downloads: `system::disk-full` naming the folder, nothing half-written in
     the cache; uv downloads into CACHE_DIR/uv, so a full TMPDIR does not stop it.
  9. *config var names*: newlines, carriage returns and escape sequences in names are
     shown escaped (no forged log line); a 4 GB sparse or FIFO value is skipped unread.
  10. a missing ENV_DIR: one warning naming it.

## What the buildpack does not defend against

- **Anyone who can write to the build host** (the buildpack's own files, the runtime
  store, the Python that runs the buildpack, `/tmp` of the build) or who controls the
  platform that invokes it (BUILD_DIR, CACHE_DIR, ENV_DIR, its environment).
- **The app's own code at build time.** Hooks (`bin/pre_compile`, `bin/post_compile`),
  `collectstatic`, `setup.py` and build backends run with the build user's rights: they
  can read and write whatever that user can. The buildpack ends their process group and
  bounds their time, and what they change in the installed environment is never cached
  (`env_cache`'s damage rule), but isolation is the platform's job (a container per
  build, an unprivileged user).
- **A cache damaged on purpose with file times reset.** Cache entries are checked by
  type, size, modification time, mode and inode, not by content hash (see
  `buildpack/cache/env_cache.py`); whoever can write CACHE_DIR (or, after the build, the
  slug's hardlinked files) and reset mtimes can change what is restored, for that app only.
- **Secrets the log shows in a form not derived from the value**: masking covers each
  value (and each line of it), its JSON and URL encodings and URL userinfo; a tool that
  prints a secret base64-encoded, reversed or split across lines is not caught. Values
  shorter than 4 characters are never masked.
- **A package index or runtime store that is itself hostile**: archives are checked
  against the manifest's sha256 and extracted safely, and packages against the hashes
  the app pins, but an index that serves malicious code for unpinned requirements is
  trusted, as pip trusts it.

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
