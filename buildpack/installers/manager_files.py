"""Which package manager the app's files name, decided from the files alone.

Exactly one lock (or requirements) file decides:

| file               | manager | also needs     |
|--------------------|---------|----------------|
| requirements.txt   | pip     |                |
| Pipfile.lock       | pipenv  | Pipfile        |
| poetry.lock        | poetry  | pyproject.toml |
| uv.lock            | uv      | pyproject.toml |
| pdm.lock           | pdm     | pyproject.toml |

With none of them, a ``pyproject.toml`` that declares a project (``[project]`` or
``[build-system]``), or a ``setup.py``/``setup.cfg``, is the app itself: ``pip install .``
(manager ``pip``, installing the app's own code). Several of them is an error (the
buildpack will not guess), and so is a manifest whose lock is missing: a ``Pipfile``
without ``Pipfile.lock``, a Poetry project (``[tool.poetry]``) without ``poetry.lock``.
So is a project file that declares nothing when no other file declares the
dependencies: an empty ``pyproject.toml`` or one with only tool settings, a ``setup.py``
that never calls ``setup()``, a ``setup.cfg`` without ``[metadata]``/``[options]``
(the leader refuses these too: building them would silently install nothing).

Only file names, TOML table headers and lines of the lock files are looked at, so this
works on any host Python.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from buildpack.installers.context import Choice
from buildpack.output import BuildError
from buildpack.app_files import AppFiles
from buildpack.requirements_files import included_files, uncached_sources

LOCKFILES = {
    "requirements.txt": "pip",
    "Pipfile.lock": "pipenv",
    "poetry.lock": "poetry",
    "uv.lock": "uv",
    "pdm.lock": "pdm",
}
MANIFEST = {"pipenv": "Pipfile", "poetry": "pyproject.toml", "uv": "pyproject.toml",
            "pdm": "pyproject.toml"}
LOCK_COMMAND = {"pipenv": "pipenv lock", "poetry": "poetry lock", "uv": "uv lock",
                "pdm": "pdm lock"}
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
# Lock entries whose code is copied from a local folder or file (not from an index).
_LOCAL_IN_LOCK = {
    "uv": re.compile(r"^source\s*=\s*\{\s*(?:directory|path)\s*=", re.M),
    "pdm": re.compile(r"^path\s*=", re.M),
    "poetry": re.compile(r"^type\s*=\s*\"(?:directory|file)\"", re.M),
}
_TABLE_RE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"'-]+?)\s*\]\]?\s*(?:#.*)?$", re.M)
_SETUP_CALL_RE = re.compile(r"^[^#\n]*\bsetup\s*\(", re.M)
_SETUP_CFG_RE = re.compile(r"^\s*\[(?:metadata|options)\]", re.M)



def pyproject_tables(text: str) -> set[str]:
    """The table names a TOML text declares (``project``, ``tool.poetry``, ...), with parents."""
    tables: set[str] = set()
    for match in _TABLE_RE.finditer(text):
        parts = [p.strip("\"'") for p in match.group(1).split(".")]
        tables.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return tables


def _several(found: list[str]) -> BuildError:
    listed = "\n".join(f"  - {name} ({LOCKFILES[name]})" for name in found)
    return BuildError(
        "The app has more than one package manager's lock file",
        f"These files each declare the app's dependencies:\n\n{listed}\n\n"
        "The buildpack installs with exactly one package manager and will not guess\n"
        "which one is meant. Keep the file of the manager you use and delete the others\n"
        "(for example `git rm requirements.txt` when the app uses Poetry's poetry.lock,\n"
        "or `git rm poetry.lock` when requirements.txt is the one you maintain).",
        error_id="package-manager::multiple-lock-files",
    )


def _missing_manifest(lockfile: str, manager: str) -> BuildError:
    manifest = MANIFEST[manager]
    return BuildError(
        f"{lockfile} was found without {manifest}",
        f"{lockfile} is only half of a {manager} project: {manager} installs from it\n"
        f"together with {manifest}, which is not in the app. Commit {manifest}\n"
        f"(or, if the app does not use {manager}, remove {lockfile}).",
        error_id="package-manager::lock-without-manifest",
    )


def _missing_lock(manifest: str, manager: str, lockfile: str) -> BuildError:
    return BuildError(
        f"{manifest} was found without {lockfile}",
        f"The app declares its dependencies in {manifest} for {manager}, but has no\n"
        f"{lockfile}, which pins the exact versions to install.\n\n"
        f"Run `{LOCK_COMMAND[manager]}` and commit {lockfile}.",
        error_id="package-manager::manifest-without-lock",
    )


def _pipfile_lock_has_local_code(text: str) -> bool:
    try:
        packages = json.loads(text).get("default", {})
    except (ValueError, AttributeError, RecursionError):
        return False  # reported with its own message when the lock is read
    return isinstance(packages, dict) and any(
        isinstance(spec, dict) and ("path" in spec or "file" in spec) and not spec.get("editable")
        for spec in packages.values())


def _uncached_sources(files: AppFiles, manager: str, lockfile: Path) -> list[str]:
    """What installing from ``lockfile`` takes from outside the lock: code copied from
    local folders (a conservative reading: a ``develop``/editable path entry of Poetry also
    counts), for pip also ``--find-links`` folders and VCS branches (``uncached_sources``)."""
    if manager == "pip":
        return uncached_sources(files.text(path, "requirements") or ""
                                for path in included_files(files, lockfile))
    text = (files.bytes(lockfile, "lock") or b"").decode("utf-8", "replace")
    if manager == "pipenv":
        local = _pipfile_lock_has_local_code(text)
    else:
        local = bool(_LOCAL_IN_LOCK[manager].search(text))
    return [f"a local path entry of {lockfile.name}"] if local else []


def _present(files: AppFiles, name: str, kind: str) -> Path | None:
    """``app_dir/name`` if it is there (read now, so that a link out of the app, a folder or
    a special file fails here)."""
    path = files.app_dir / name
    return path if files.bytes(path, kind) is not None else None


def find(files: AppFiles | Path) -> Choice:
    """The app's package manager and its files (manager ``none`` when nothing declares any)."""
    files = AppFiles.of(files)
    present = {name: path for name in LOCKFILES
               if (path := _present(files, name, "requirements" if name == "requirements.txt"
                                    else "lock"))}
    if len(present) > 1:
        raise _several(list(present))
    pipfile = _present(files, "Pipfile", "manifest")
    pyproject = _present(files, "pyproject.toml", "manifest")
    if present:
        (name, lockfile), = present.items()
        manager = LOCKFILES[name]
        uncached = _uncached_sources(files, manager, lockfile)
        local = bool(uncached)
        if manager == "pip":
            return Choice("pip", (lockfile,), installs_local_code=local, uncached=tuple(uncached))
        manifest = pipfile if manager == "pipenv" else pyproject
        if manifest is None:
            raise _missing_manifest(name, manager)
        return Choice(manager, (manifest, lockfile), installs_local_code=local,
                      uncached=tuple(uncached))
    if pipfile is not None:
        raise _missing_lock("Pipfile", "pipenv", "Pipfile.lock")
    tables = (pyproject_tables(files.text(pyproject, "manifest") or "")
              if pyproject is not None else set())
    if "tool.poetry" in tables:
        raise _missing_lock("pyproject.toml", "poetry", "poetry.lock")
    found = tuple(path for name in PROJECT_FILES if (path := _present(files, name, "manifest")))
    declaring = tuple(path for path in found if _declares_project(files, path, tables))
    if found and not declaring:
        raise _declares_nothing(found)
    if not declaring:
        return Choice("none")
    return Choice("pip", declaring, installs_app=True, installs_local_code=True,
                  uncached=("the app's own code (`pip install .`)",))


def _declares_project(files: AppFiles, path: Path, pyproject_tables: set[str]) -> bool:
    """Whether a project file declares a package (or, for pyproject.toml, how to build one)."""
    if path.name == "pyproject.toml":
        return bool(pyproject_tables & {"project", "build-system"})
    text = (files.bytes(path, "manifest") or b"").decode("utf-8", "replace")
    pattern = _SETUP_CALL_RE if path.name == "setup.py" else _SETUP_CFG_RE
    return bool(pattern.search(text))


def _declares_nothing(found: tuple[Path, ...]) -> BuildError:
    names = " and ".join(p.name for p in found)
    missing = {
        "pyproject.toml": "pyproject.toml has no [project] table (name, version, dependencies)\n"
                          "    and no [build-system]: it is empty or holds only tool settings",
        "setup.py": "setup.py never calls setup(...), so it declares no package",
        "setup.cfg": "setup.cfg has no [metadata] or [options] section",
    }
    listed = "\n".join(f"  - {missing[p.name]}" for p in found)
    return BuildError(
        f"{names} declare{'s' if len(found) == 1 else ''} no dependencies",
        f"The app has no requirements.txt, Pipfile.lock, poetry.lock, uv.lock or pdm.lock, so\n"
        f"the buildpack would install the app as a package from {names}, but:\n{listed}\n\n"
        "Building it would install nothing. Declare the dependencies, either in a\n"
        "requirements.txt (one package per line, e.g. `gunicorn==23.0.0`), or in\n"
        "pyproject.toml:\n\n"
        "    [project]\n"
        "    name = \"myapp\"\n"
        "    version = \"1.0\"\n"
        "    dependencies = [\"gunicorn\"]\n\n"
        "(or with the lock file of Pipenv, Poetry, uv or PDM).",
        error_id="dependencies::no-project-metadata")
