"""Everything the buildpack keeps in CACHE_DIR, in one table, with what heals each place.

Other buildpacks of the app may share CACHE_DIR: a name not in ``ENTRIES`` is left
alone. Each place is a folder or a file; ``env_cache.tidy`` discards, with one warning,
whatever is found at a place in the other form (a file or a link where a folder belongs,
a folder or a link where a file belongs), and inside a folder whatever is not of the form
its ``inner`` names (``uv``: its ``.lock`` a file). What
then heals the place is said in ``heals``: the next use rebuilds or downloads it.

The layers below ``cache`` (``runtime``, ``base``) name their own places; this table
takes those names from them, and the layers above take theirs from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from buildpack.base import bytecode_cache, libraries
from buildpack.runtime import install

FOLDER, FILE = "folder", "file"


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # FOLDER or FILE
    holds: str
    heals: str
    # Inside a folder: names that must be regular files when present. Anything else there
    # discards the whole folder (it is rebuilt).
    inner: tuple[str, ...] = ()


ENV = "env"
RUNTIME = install.CACHE_SUBDIR
PIP = "pip"
UV = "uv"
TOOLS = "tools"
TOOL_CONFIG = "tool-config"
XDG_CACHE = "xdg-cache"
XDG_DATA = "xdg-data"
HOME = "home"
POETRY, POETRY_DATA = "poetry", "poetry-data"
PIPENV, PIPENV_VENVS = "pipenv", "pipenv-venvs"
PDM, PDM_HOME = "pdm", "pdm-home"
LOCK = ".lock"
BUILD_REPORT = "build-report.json"
SBOM = "sbom.cdx.json"  # = app_build.sbom.CACHE_NAME (a test keeps them equal)
PYTHON_VERSION_RECORD = "python-version.json"
PIP_WHEELS = Path(TOOLS) / "pip-wheel"  # pip's pinned wheel, kept by the first install
BYTECODE = bytecode_cache.NAME

ENTRIES: tuple[Entry, ...] = (
    Entry(ENV, FOLDER, "the installed environment of the last successful build, with a "
          "manifest (env_cache)",
          "checked against its manifest at restore: a changed file discards it and uv's "
          "cache (which shares its files), and the build installs afresh"),
    Entry(RUNTIME, FOLDER, "the unpacked Python runtime of the last fresh install (python/, "
          "its files hardlinked with the environment's) with the archive's sha256 and a "
          "manifest (env_cache.provide_runtime); an archive while it downloads",
          "checked against its manifest before use: a changed file discards it and the "
          "archive is downloaded again; cleared with uv's cache (it shares the files)"),
    Entry(PIP, FOLDER, "pip's HTTP and wheel cache", "pip checks its own entries"),
    Entry(UV, FOLDER, "uv's cache; its unpacked wheels are hardlinked into the environment",
          "cleared with the environment when a shared file changed; a .lock that is not "
          "a file clears it", inner=(LOCK,)),
    Entry(TOOLS, FOLDER, "the pinned tools (uv, Pipenv, Poetry, PDM), the buildpack's "
          f"libraries ({libraries.CACHE_SUBDIR}) and pip's pinned wheel (pip-wheel)",
          "each tool is checked against its pin before use and installed again if not"),
    Entry(TOOL_CONFIG, FOLDER, "an empty configuration folder for the tools", "recreated"),
    Entry(XDG_CACHE, FOLDER, "the tools' XDG cache", "the tools rebuild it"),
    Entry(XDG_DATA, FOLDER, "the tools' XDG data", "the tools rebuild it"),
    Entry(HOME, FOLDER, "HOME of the installers", "the installers rebuild it"),
    Entry(POETRY, FOLDER, "Poetry's cache", "Poetry rebuilds it"),
    Entry(POETRY_DATA, FOLDER, "Poetry's data folder", "Poetry rebuilds it"),
    Entry(PIPENV, FOLDER, "Pipenv's cache", "Pipenv rebuilds it"),
    Entry(PIPENV_VENVS, FOLDER, "Pipenv's virtualenv home (unused: --system)", "recreated"),
    Entry(PDM, FOLDER, "PDM's cache", "PDM rebuilds it"),
    Entry(PDM_HOME, FOLDER, "PDM's home", "PDM rebuilds it"),
    Entry(LOCK, FILE, "the lock two builds on one cache take turns with", "replaced"),
    Entry(BUILD_REPORT, FILE, "the last build's report (bin/report)", "written by each build"),
    Entry(SBOM, FILE, "the last successful build's SBOM (bin/report --sbom)",
          "removed at the start of each build, written by a successful one"),
    Entry(BYTECODE, FOLDER, "the buildpack's own bytecode, per host Python "
          "(bytecode_cache)", "each file is checked against its module's source before "
          "use (a damaged or stale one: the module is compiled from source) and written "
          "anew by the next successful build"),
    Entry(PYTHON_VERSION_RECORD, FILE, "the sticky Python minor of an app without a "
          "version source", "an unreadable record is ignored with a warning and rewritten"),
)

BY_NAME = {entry.name: entry for entry in ENTRIES}
# Names older buildpack versions kept in CACHE_DIR: removed without a warning.
# base: the runtime and pip; runtimes: archives (now unpacked in RUNTIME). (An older
# "tmp" folder, the store manifest's download, now made in a private temp folder while
# planning, is left alone: another buildpack may use that name.)
RETIRED = ("base", "runtimes")
