"""A uv workspace member's slug: what the member needs at run time, not the whole workspace.

A member built with ``APP_BASE`` (``manager_files``) is installed from the workspace's
uv.lock with ``--no-editable``: the member and every workspace member it depends on are
copied into site-packages, so none of the members' source folders is read at run time.
After the app's build code has run (a ``post_compile`` hook may still use them), the
other members' folders are left out of the slug (``leave_out``):

- a member the app depends on: its code is in site-packages;
- a member it does not depend on: not installed, nothing of the app uses it;
- (a CI build, ``bin/test-compile``, keeps them all: its tests may use any);
- kept: a member folder that a Procfile command names a path in (``worker: ../worker/run.sh``,
  resolved from the app's folder, where processes start, and from the slug's root), and any
  member folder that holds the app's folder or lies inside it;
- kept as source, with a warning: a member the app does not depend on (so not installed)
  whose top-level module the app's code imports (``import worker``; the app's first
  ``MAX_APP_MODULES`` modules, ``MAX_MODULE_BYTES`` of each): the app may put it on
  ``sys.path`` itself, but the fix is to declare the dependency;
- the app's own folder, the workspace root's files (pyproject.toml, uv.lock, version files)
  and everything else at the root stay: the root also holds the platform's and the other
  buildpacks' files (the root Procfile, ``.profile.d``, their output), which this build
  cannot tell from the workspace's.

The members are those of uv.lock's ``[manifest] members``, at the paths of their
``editable``/``virtual``/``directory`` sources (relative to the workspace root); a path
that leaves the repository is never touched. Each folder left out is named in the log.
"""
from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from buildpack.app import app_files
from buildpack.app.app_files import AppFiles
from buildpack.base import output, toml_io
from buildpack.base.fs import walk
from buildpack.base.names import normalize
from buildpack.installers.record import Choice

MAX_APP_MODULES = 500
MAX_MODULE_BYTES = 256 * 1024
MAX_MEMBER_ENTRIES = 200  # of a member's folder (or its src/) read for its module names
_SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "venv", "site-packages"})
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)|import[ \t]+([A-Za-z_]\w*(?:[ \t]*,[ \t]*"
                     r"[A-Za-z_]\w*)*))", re.M)
# A word of a shell command that may be a path (quotes, redirections and separators split).
_WORD = re.compile(r"[^\s'\"=:;|&<>()`]+")
_ROOT_PREFIXES = ("$HOME/", "${HOME}/", "/app/")
_SOURCE_KEYS = ("editable", "virtual", "directory")


def members(files: AppFiles, root: Path) -> dict[str, Path]:
    """The workspace's members in ``root/uv.lock``: package name -> its folder, each
    inside the repository."""
    lock = toml_io.parse(files.text(root / "uv.lock", "lock") or "", "uv.lock")
    manifest = lock.get("manifest")
    names = manifest.get("members") if isinstance(manifest, dict) else None
    wanted = {normalize(n) for n in names if isinstance(n, str)} if isinstance(names, list) else set()
    found: dict[str, Path] = {}
    packages = lock.get("package")
    for package in packages if isinstance(packages, list) else ():
        name = package.get("name") if isinstance(package, dict) else None
        source = package.get("source") if isinstance(package, dict) else None
        if not isinstance(name, str) or normalize(name) not in wanted or not isinstance(source, dict):
            continue
        relative = next((source[k] for k in _SOURCE_KEYS if isinstance(source.get(k), str)), None)
        if relative is None or PurePosixPath(relative).is_absolute():
            continue
        folder = Path(os.path.normpath(root / relative))
        if app_files.is_inside(files.root, folder):
            found[normalize(name)] = folder
    return found


def _named_paths(commands: list[str], app_dir: Path, root: Path) -> list[Path]:
    """The paths the commands may name: each word, from the app's folder and from the root."""
    paths = []
    for command in commands:
        for word in _WORD.findall(command):
            if "/" not in word:
                continue
            rooted = next((word[len(p):] for p in _ROOT_PREFIXES if word.startswith(p)), None)
            bases = [root] if rooted is not None else [app_dir, root]
            paths += [Path(os.path.normpath(base / (rooted or word))) for base in bases]
    return paths


def _app_imports(files: AppFiles) -> set[str]:
    """The top-level modules the app's code imports (its first ``MAX_APP_MODULES`` modules)."""
    found: set[str] = set()
    seen = 0
    for dirpath, dirnames, filenames in walk(files.app_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _SKIPPED_FOLDERS]
        for name in filenames:
            if not name.endswith(".py"):
                continue
            if seen == MAX_APP_MODULES:
                return found
            seen += 1
            data = files.head(Path(dirpath, name), MAX_MODULE_BYTES) or b""
            for match in _IMPORT.finditer(data.decode("utf-8", "replace")):
                found.update(n.strip() for n in (match.group(1) or match.group(2)).split(","))
    return found


def _member_modules(folder: Path) -> set[str]:
    """The top-level modules a member provides: its packages and modules, or its ``src/``'s."""
    modules: set[str] = set()
    for base in (folder / "src", folder):
        try:
            entries = sorted(os.scandir(base), key=lambda e: e.name)[:MAX_MEMBER_ENTRIES]
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(entry.path, "__init__.py")):
                modules.add(entry.name)
            elif entry.name.endswith(".py") and entry.name not in ("setup.py", "conftest.py", "noxfile.py"):
                modules.add(entry.name[:-3])
    return modules


def _remove_empty_parents(folder: Path, build_dir: Path) -> None:
    """``libs/`` once its only member is gone (never the root, never a folder with anything)."""
    parent = folder.parent
    while parent != build_dir and app_files.is_inside(build_dir, parent):
        try:
            os.rmdir(parent)
        except OSError:
            return
        parent = parent.parent


def _installed(prefix: Path) -> set[str]:
    """The canonical names of the distributions in the environment."""
    return {normalize(d.name.split("-", 1)[0])
            for d in prefix.glob("lib/python3*/site-packages/*.dist-info")}


def leave_out(choice: Choice, files: AppFiles, prefix: Path, commands: list[str]) -> list[str]:
    """Remove the workspace's other members from the slug (see above); the folders left out,
    relative to the repository root. Nothing for an app that is not a workspace member."""
    root = choice.workspace_root
    if root is None or choice.dev:  # a CI build's tests may use any member
        return []
    app_dir, build_dir = files.app_dir, files.root
    named = _named_paths(commands, app_dir, build_dir)
    installed = _installed(prefix)
    removed: list[tuple[str, str]] = []
    kept: list[str] = []
    imported: list[tuple[str, str]] = []
    imports: set[str] | None = None  # read once, when a member is not installed
    for name, folder in sorted(members(files, root).items(), key=lambda item: str(item[1])):
        if folder == app_dir or folder in app_dir.parents or app_dir in folder.parents:
            continue
        shown = folder.relative_to(build_dir).as_posix()
        if any(path == folder or folder in path.parents for path in named):
            kept.append(shown)
            continue
        if name not in installed:
            if imports is None:  # what the app imports, less its own modules
                imports = _app_imports(files) - _member_modules(app_dir)
            modules = sorted(_member_modules(folder) & imports)
            if modules:
                imported.append((shown, ", ".join(modules)))
                continue
        if app_files.remove(build_dir, shown):
            why = ("installed into site-packages" if name in installed
                   else f"not a dependency of {choice.workspace_package}")
            removed.append((shown, why))
            _remove_empty_parents(folder, build_dir)
    if removed or kept or imported:
        output.step("Leaving the rest of the uv workspace out of the app")
        if removed:
            output.detail("Left out (what the app imports from the workspace is in site-packages):\n"
                          + "\n".join(f"  {shown}/ ({why})" for shown, why in removed))
        if kept:
            output.detail("Kept, a Procfile command names a path in it: "
                          + ", ".join(f"{k}/" for k in kept))
        if imported:
            output.detail("Kept as source, the app imports it (see the warning): "
                          + ", ".join(f"{shown}/" for shown, _ in imported))
    for shown, modules_shown in imported:
        output.warning(
            f"The app imports {modules_shown} from {shown}/, which it does not depend on",
            f"{shown}/ is a member of the uv workspace, but not a dependency of\n"
            f"{choice.workspace_package}, so uv did not install it; its folder stays in the app as\n"
            "source. Add it to the app's [project] dependencies (with\n"
            f"`[tool.uv.sources] <name> = {{ workspace = true }}`) and run `uv lock`.")
    return [shown for shown, _ in removed]
