"""Which package manager the app's files name, decided from the files alone.

Exactly one lock (or requirements) file decides, and it needs its manifest (both named
by the manager's record in ``installers.managers``).

With none of them, a ``pyproject.toml`` that declares a project (``[project]`` or
``[build-system]``), or a ``setup.py``/``setup.cfg``, is the app itself: ``pip install .``
(the record ``PIP``, installing the app's own code). Several of them is an error (the
buildpack will not guess), and so is a manifest whose lock is missing: a ``Pipfile``
without ``Pipfile.lock``, a Poetry project (``[tool.poetry]``) without ``poetry.lock``.
So is a project file that declares nothing when no other file declares the
dependencies: an empty ``pyproject.toml`` or one with only tool settings, a ``setup.py``
that never calls ``setup()``, a ``setup.cfg`` without ``[metadata]``/``[options]``
(the leader refuses these too: building them would silently install nothing).

Only file names, lines of the lock files and, with no lock file, the tables of
``pyproject.toml`` are looked at. Those tables are read with the TOML parser (``toml_io``:
``tomllib``, or on hosts before 3.11 ``tomli`` from the buildpack's libraries, which
``plan.make_plan`` loads before choosing). When a host before 3.11 has no copy of the
libraries yet (no offline bundle, no cached copy, no index of the build's own), a
``pyproject.toml`` is taken to declare the project until the runtime has brought them
(``confirm``, called by ``installers.install``).
"""
from __future__ import annotations

import fnmatch
import re
from pathlib import Path, PurePosixPath

from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import check_project_paths, included_files
from buildpack.base import output, toml_io
from buildpack.base.output import BuildError
from buildpack.installers.managers import (
    BY_LOCKFILE,
    NO_DEPENDENCIES,
    PIP,
    PIPENV,
    POETRY,
    PROJECT_FILES,
    UV,
    or_list,
)
from buildpack.installers.record import Choice, Manager

PYLOCK = "pylock.toml"
PYLOCK_VAR = "PYTHON_PYLOCK"  # names pylock.<name>.toml (PEP 751's named lock files)
_PYLOCK_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # PEP 751: no dot in the name
_SETUP_CALL_RE = re.compile(r"^[^#\n]*\bsetup\s*\(", re.M)
_SETUP_CFG_RE = re.compile(r"^\s*\[(?:metadata|options)\]", re.M)


def pyproject_tables(text: str) -> set[str] | None:
    """Which of the tables that decide (``project``, ``build-system``: a project to build;
    ``tool.poetry``: Poetry's own) the text of pyproject.toml declares; None when this
    host cannot parse TOML yet (see the module docstring). ``toml::invalid`` if not TOML."""
    if not toml_io.available():
        return None
    data = toml_io.parse(text, "pyproject.toml")
    tool = data.get("tool")
    found = {name for name in ("project", "build-system") if isinstance(data.get(name), dict)}
    if isinstance(tool, dict) and isinstance(tool.get("poetry"), dict):
        found.add("tool.poetry")
    return found


def _several(found: list[str]) -> BuildError:
    listed = "\n".join(f"  - {name} ({_record(name).name})" for name in found)
    return BuildError(
        "The app has more than one package manager's lock file",
        f"These files each declare the app's dependencies:\n\n{listed}\n\n"
        "The buildpack installs with exactly one package manager and will not guess\n"
        "which one is meant. Keep the file of the manager you use and delete the others\n"
        "(for example `git rm requirements.txt` when the app uses Poetry's poetry.lock,\n"
        "or `git rm poetry.lock` when requirements.txt is the one you maintain).",
        error_id="package-manager::multiple-lock-files",
    )


def _record(name: str) -> Manager:
    """The record of a lock file's name (``pylock.<name>.toml`` too)."""
    return BY_LOCKFILE[PYLOCK if name.startswith("pylock.") else name]


def _missing_manifest(manager: Manager) -> BuildError:
    lockfile, manifest, name = manager.lockfile, manager.manifest, manager.name
    return BuildError(
        f"{lockfile} was found without {manifest}",
        f"{lockfile} is only half of a {name} project: {name} installs from it\n"
        f"together with {manifest}, which is not in the app. Commit {manifest}\n"
        f"(or, if the app does not use {name}, remove {lockfile}).",
        error_id="package-manager::lock-without-manifest",
    )


def _missing_lock(manager: Manager) -> BuildError:
    manifest, lockfile = manager.manifest, manager.lockfile
    return BuildError(
        f"{manifest} was found without {lockfile}",
        f"The app declares its dependencies in {manifest} for {manager.name}, but has no\n"
        f"{lockfile}, which pins the exact versions to install.\n\n"
        f"Run `{manager.lock_command}` and commit {lockfile}.",
        error_id="package-manager::manifest-without-lock",
    )


def _check_includes(files: AppFiles, manager: Manager, lockfile: Path) -> None:
    """requirements.txt's -r/-c includes stay inside the app, end, and are few
    (``included_files`` raises otherwise): pip and uv read the rest themselves."""
    if manager.manifest is None:
        included_files(files, lockfile)


def _present(files: AppFiles, name: str, kind: str) -> Path | None:
    """``app_dir/name`` if it is there (read now, so that a link out of the app, a folder or
    a special file fails here)."""
    path = files.app_dir / name
    return path if files.bytes(path, kind) is not None else None


def pylock_file(value: str | None) -> str:
    """The pylock file to install: ``pylock.toml``, or ``pylock.<name>.toml`` for
    ``PYTHON_PYLOCK=<name>`` (the name alone, or the file's whole name)."""
    name = (value or "").strip()
    if not name:
        return PYLOCK
    match = re.fullmatch(r"pylock\.(.*)\.toml", name)
    name = match.group(1) if match else name
    if not _PYLOCK_NAME_RE.match(name):
        raise BuildError(
            f"{PYLOCK_VAR} is not a lock file's name",
            f"{PYLOCK_VAR}={value!r}: it names the lock file pylock.<name>.toml (PEP 751) to\n"
            "install, by its <name>: letters, digits, - and _ (no dot), at most 64 characters,\n"
            f"e.g. `heroku config:set {PYLOCK_VAR}=prod` for pylock.prod.toml.",
            error_id="pylock::invalid-name")
    return f"pylock.{name}.toml"


def _missing_named_pylock(files: AppFiles, wanted: str) -> BuildError:
    others = sorted(p.name for p in files.app_dir.glob("pylock*.toml"))[:20]
    return BuildError(
        f"{PYLOCK_VAR} names {wanted}, which the app does not have",
        f"The app's lock files of this kind: {', '.join(others) or '(none)'}.\n\n"
        f"Commit {wanted} (e.g. `uv export --format pylock.toml -o {wanted}`, or\n"
        f"`pip lock -o {wanted}`), or correct {PYLOCK_VAR}.",
        error_id="pylock::missing")


def find(files: AppFiles | Path, pylock: str = PYLOCK) -> Choice:
    """The app's package manager and its files (manager ``none`` when nothing declares any);
    ``pylock``: the pylock file that counts (``pylock_file``)."""
    files = AppFiles.of(files)
    names = {(pylock if name == PYLOCK else name): name for name in BY_LOCKFILE}
    present = {name: path for name in names
               if (path := _present(files, name, "requirements" if name == "requirements.txt"
                                    else "lock"))}
    if pylock != PYLOCK and pylock not in present:
        raise _missing_named_pylock(files, pylock)
    if len(present) > 1:
        raise _several(list(present))
    pipfile = _present(files, "Pipfile", "manifest")
    pyproject = _present(files, "pyproject.toml", "manifest")
    if present:
        (name, lockfile), = present.items()
        manager = _record(name)
        _check_includes(files, manager, lockfile)
        if manager.manifest is None:
            return Choice(manager, (lockfile,))
        manifest = _present(files, manager.manifest, "manifest")
        if manifest is None:
            raise _missing_manifest(manager)
        return Choice(manager, (manifest, lockfile))
    if pipfile is not None:
        raise _missing_lock(PIPENV)
    member = _workspace_member(files, pyproject) if pyproject is not None else None
    if member is not None:
        return member
    tables = (pyproject_tables(files.text(pyproject, "manifest") or "")
              if pyproject is not None else set())
    if tables is None:
        output.detail("(pyproject.toml is read once the runtime is installed: the buildpack's\n"
                      "libraries come with it on this build.)")
        tables = {"project"}  # provisional: ``confirm`` checks it
    if "tool.poetry" in tables:
        raise _missing_lock(POETRY)
    found = tuple(path for name in PROJECT_FILES if (path := _present(files, name, "manifest")))
    declaring = tuple(path for path in found if _declares_project(files, path, tables))
    if found and not declaring:
        raise _declares_nothing(found)
    if not declaring:
        return Choice(NO_DEPENDENCIES)
    if pyproject in declaring and toml_io.available():
        text = files.text(pyproject, "manifest") or ""
        check_project_paths(files, pyproject, text, toml_io.parse(text, "pyproject.toml"))
    return Choice(PIP, declaring, installs_app=True)


def _is_member(relative: PurePosixPath, patterns: object) -> bool:
    """Whether ``relative`` (the member's folder from the workspace root) matches one of
    the glob ``patterns`` (``apps/*``), segment by segment as uv does."""
    if not isinstance(patterns, list):
        return False
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        parts = [p for p in PurePosixPath(pattern).parts if p != "."]
        if len(parts) == len(relative.parts) and all(
                fnmatch.fnmatchcase(name, part) for name, part in zip(relative.parts, parts)):
            return True
    return False


def _workspace_member(files: AppFiles, pyproject: Path) -> Choice | None:
    """The uv workspace the app (an ``APP_BASE`` folder without a lock file of its own) is
    a member of: the nearest folder above it, up to the repository root, whose
    pyproject.toml has ``[tool.uv.workspace]`` with ``members`` matching the app's folder
    (and no ``exclude`` matching it). None when there is none (or TOML cannot be read yet)."""
    if files.app_dir == files.root or not toml_io.available():
        return None
    folder = files.app_dir.parent
    while True:
        candidate = folder / "pyproject.toml"
        text = files.text(candidate, "manifest") if files.is_file(candidate) else None
        data = toml_io.parse(text, str(candidate.relative_to(files.root))) if text else {}
        tool = data.get("tool")
        uv_table = tool.get("uv") if isinstance(tool, dict) else None
        workspace = uv_table.get("workspace") if isinstance(uv_table, dict) else None
        if isinstance(workspace, dict):
            relative = PurePosixPath(files.app_dir.relative_to(folder).as_posix())
            if not _is_member(relative, workspace.get("members")) \
                    or _is_member(relative, workspace.get("exclude")):
                return None
            return _member_choice(files, pyproject, folder, candidate)
        if folder == files.root:
            return None
        folder = folder.parent


def _member_choice(files: AppFiles, pyproject: Path, root: Path, root_pyproject: Path) -> Choice:
    lock = root / "uv.lock"
    shown = root.relative_to(files.root).as_posix()
    where = "the repository root" if shown == "." else shown
    if files.bytes(lock, "lock") is None:
        raise BuildError(
            f"The uv workspace at {where} has no uv.lock",
            f"The app ({files.app_dir.relative_to(files.root).as_posix()}) is a member of the uv "
            f"workspace whose\npyproject.toml is at {where}, but the workspace has no uv.lock, "
            "which pins the\nexact versions to install.\n\n"
            "Run `uv lock` in the workspace root and commit uv.lock.",
            error_id="package-manager::manifest-without-lock")
    project = toml_io.parse(files.text(pyproject, "manifest") or "", "pyproject.toml").get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise BuildError(
            "The uv workspace member has no [project] name",
            f"The app's pyproject.toml is a member of the uv workspace at {where}, which\n"
            "installs it by its package name (`uv sync --package <name>`), but it has no\n"
            "[project] name. Add one (and run `uv lock` in the workspace root).",
            error_id="dependencies::no-project-metadata")
    return Choice(UV, (pyproject, root_pyproject, lock),
                  workspace_root=root, workspace_package=name.strip())


def confirm(choice: Choice, files: AppFiles) -> None:
    """Once the libraries are loaded: raise the error ``find`` would have raised for a
    choice made without reading pyproject.toml's tables (a Poetry project without
    poetry.lock, a pyproject.toml that declares nothing)."""
    if choice.installs_app and any(p.name == "pyproject.toml" for p in choice.files):
        find(files)


def _declares_project(files: AppFiles, path: Path, tables: set[str]) -> bool:
    """Whether a project file declares a package (or, for pyproject.toml, how to build one)."""
    if path.name == "pyproject.toml":
        return bool(tables & {"project", "build-system"})
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
    tools = or_list([m.display for m in BY_LOCKFILE.values() if m.manifest])
    return BuildError(
        f"{names} declare{'s' if len(found) == 1 else ''} no dependencies",
        f"The app has no {or_list(list(BY_LOCKFILE))}, so\n"
        f"the buildpack would install the app as a package from {names}, but:\n{listed}\n\n"
        "Building it would install nothing. Declare the dependencies, either in a\n"
        "requirements.txt (one package per line, e.g. `gunicorn==23.0.0`), or in\n"
        "pyproject.toml:\n\n"
        "    [project]\n"
        "    name = \"myapp\"\n"
        "    version = \"1.0\"\n"
        "    dependencies = [\"gunicorn\"]\n\n"
        f"(or with the lock file of {tools}).",
        error_id="dependencies::no-project-metadata")
