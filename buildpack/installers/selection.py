"""``PYTHON_DEPENDENCY_GROUPS`` and ``PYTHON_EXTRAS``: what to install besides the main
dependencies, checked at plan time against what the project defines.

Each config var is a list of names separated by commas or spaces. A name is a PEP 508
name (letters, digits, ``-_.``, starting and ending with a letter or digit, at most
``MAX_NAME`` characters, at most ``MAX_NAMES`` of them, the value at most ``MAX_VALUE``
characters); names are compared normalised (PEP 685 for extras, PEP 735 for groups:
lower case, runs of ``-_.`` as one ``-``) and handed to the installer as the project
spells them. Where each package manager defines them:

- uv: groups ``[dependency-groups]`` (and ``dev`` for ``[tool.uv] dev-dependencies``),
  extras ``[project.optional-dependencies]``;
- Poetry: groups ``[tool.poetry.group.<name>]`` and ``[dependency-groups]``, extras
  ``[project.optional-dependencies]`` and ``[tool.poetry.extras]``;
- PDM: groups ``[dependency-groups]`` and ``[tool.pdm.dev-dependencies]``, extras
  ``[project.optional-dependencies]``;
- Pipenv: groups are the Pipfile's own categories (its tables besides ``[packages]``);
  no extras;
- ``pip install .``: groups ``[dependency-groups]``, extras
  ``[project.optional-dependencies]`` (when they are dynamic or in setup.py, pip tells
  after building the app);
- requirements.txt: groups are pyproject.toml's ``[dependency-groups]``; no extras;
- pylock.toml (PEP 751): the lock's own ``dependency-groups`` and ``extras`` lists (a
  multi-use lock, as ``pdm export -f pylock`` writes, with ``'web' in dependency_groups``
  markers); a lock made with its selection already applied (``uv export --format
  pylock.toml``, ``pip lock``) lists none, and naming one is an error that says so.

A name the project does not define is an error listing the ones it does; a config var the
manager has no use for is an error too (never silently ignored)."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from buildpack.app.app_files import AppFiles
from buildpack.base import toml_io
from buildpack.base.names import normalize
from buildpack.base.output import BuildError
from buildpack.installers.record import EXTRAS_VAR, GROUPS_VAR, Choice, Selection

MAX_VALUE = 1024
MAX_NAMES = 32
MAX_NAME = 64
_NAME_RE = re.compile(r"^(?:[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,\s]+")
# Pipfile tables that are not categories of packages.
_PIPFILE_SETTINGS = {"source", "requires", "scripts", "pipenv", "packages"}


def _invalid(var: str, problem: str) -> BuildError:
    return BuildError(
        f"{var} is not a list of names",
        f"{problem}\n\n{var} names what to install besides the main dependencies, separated\n"
        f"by commas or spaces, e.g. `heroku config:set {var}=\"web,s3\"`. A name has letters,\n"
        f"digits and - _ . (starting and ending with a letter or digit), at most {MAX_NAME}\n"
        f"characters; at most {MAX_NAMES} names.",
        error_id="dependencies::invalid-selection")


def parse(value: str | None, var: str) -> tuple[str, ...]:
    """The names of ``value`` (the config var ``var``) in their order, each once."""
    if not value or not value.strip():
        return ()
    if len(value) > MAX_VALUE:
        raise _invalid(var, f"The value is {len(value)} characters long (at most {MAX_VALUE}).")
    names = [name for name in _SEPARATORS.split(value.strip()) if name]
    if len(names) > MAX_NAMES:
        raise _invalid(var, f"It names {len(names)} (at most {MAX_NAMES}).")
    found: dict[str, str] = {}
    for name in names:
        if len(name) > MAX_NAME or not _NAME_RE.match(name):
            shown = name if len(name) <= MAX_NAME else name[:MAX_NAME] + "..."
            raise _invalid(var, f"{shown!r} is not a valid name.")
        found.setdefault(normalize(name), name)
    return tuple(found.values())


@dataclasses.dataclass(frozen=True)
class Defined:
    """What a project defines, normalised name -> its own spelling. ``extras`` None: not
    known before the package is built (``setup.py``, ``dynamic``); the installer tells."""

    groups: dict[str, str]
    extras: dict[str, str] | None
    groups_where: str
    extras_where: str
    hint: str = ""  # said after the list when a name is unknown


def _table(data: Any, *path: str) -> dict[str, Any]:
    for name in path:
        data = data.get(name) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _names(*tables: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for table in tables:
        for name in table:
            found.setdefault(normalize(name), name)
    return found


def _toml(files: AppFiles, path: Path | None, kind: str = "manifest") -> dict[str, Any]:
    if path is None:
        return {}
    return toml_io.parse(files.text(path, kind) or "", path.name)


def _file(choice: Choice, name: str) -> Path | None:
    return next((p for p in choice.files if p.name == name), None)


def defined(choice: Choice, files: AppFiles) -> Defined:
    """What the app's files define, for its package manager."""
    manager = choice.manager.name
    if manager == "pipenv":
        pipfile = _toml(files, _file(choice, "Pipfile"))
        categories = {k: v for k, v in pipfile.items()
                      if k not in _PIPFILE_SETTINGS and isinstance(v, dict)}
        return Defined(_names(categories), {}, "the Pipfile's categories", "")
    if manager == "pylock":
        return _pylock_defined(choice, files)
    pyproject = _file(choice, "pyproject.toml") or next(iter(_defining_files(choice, files)), None)
    data = _toml(files, pyproject)
    groups_table = _table(data, "dependency-groups")
    optional = _table(data, "project", "optional-dependencies")
    pep735 = "pyproject.toml [dependency-groups]"
    pep621 = "pyproject.toml [project.optional-dependencies]"
    if manager == "uv":
        legacy: dict[str, Any] = {"dev": []} if isinstance(_table(data, "tool", "uv").get("dev-dependencies"),
                                           list) else {}
        return Defined(_names(groups_table, legacy), _names(optional), pep735, pep621)
    if manager == "poetry":
        groups = _names(_table(data, "tool", "poetry", "group"), groups_table)
        groups.pop("main", None)
        return Defined(groups, _names(optional, _table(data, "tool", "poetry", "extras")),
                       "pyproject.toml [tool.poetry.group.*] and [dependency-groups]",
                       "pyproject.toml [project.optional-dependencies] and [tool.poetry.extras]")
    if manager == "pdm":
        return Defined(_names(groups_table, _table(data, "tool", "pdm", "dev-dependencies")),
                       _names(optional), "pyproject.toml [dependency-groups]", pep621)
    if choice.installs_app:
        project = _table(data, "project")
        dynamic = project.get("dynamic")
        static = bool(project) and not (isinstance(dynamic, list)
                                        and "optional-dependencies" in dynamic)
        return Defined(_names(groups_table), _names(optional) if static else None, pep735, pep621)
    return Defined(_names(groups_table), {}, pep735, "")


def lock_names(data: dict[str, Any], key: str) -> list[str]:
    """A pylock.toml's list ``key`` (``dependency-groups``, ``extras``, ``default-groups``)."""
    names = data.get(key)
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _pylock_defined(choice: Choice, files: AppFiles) -> Defined:
    lock = choice.files[0]
    data = _toml(files, lock, "lock")
    groups, extras = lock_names(data, "dependency-groups"), lock_names(data, "extras")
    hint = ""
    if not groups and not extras:
        hint = (f"\n{lock.name} lists no groups or extras: it was made with its selection already\n"
                "applied (`uv export --format pylock.toml --group web --extra s3`, `pip lock`), so\n"
                "it installs what it lists. Make it with what you need and unset the config var,\n"
                "or write a lock that keeps them (`pdm export -f pylock`).\n")
    return Defined(_names(dict.fromkeys(groups)), _names(dict.fromkeys(extras)),
                   f"{lock.name} dependency-groups", f"{lock.name} extras", hint)


def _defining_files(choice: Choice, files: AppFiles) -> tuple[Path, ...]:
    """A requirements.txt app's pyproject.toml, when there is one: its [dependency-groups]."""
    if choice.manager.name != "pip" or choice.installs_app:
        return ()
    path = files.app_dir / "pyproject.toml"
    return (path,) if files.bytes(path, "manifest") is not None else ()


def accepted(choice: Choice) -> tuple[str, ...]:
    """The config vars of the two that the choice can install (``pip install .``: both)."""
    return (GROUPS_VAR, EXTRAS_VAR) if choice.installs_app else choice.manager.selection_vars


def _not_supported(choice: Choice, var: str) -> BuildError:
    what = "dependency groups" if var == GROUPS_VAR else "extras"
    if choice.manager.name == "none":
        why = "The app has no dependency files, so there is nothing to choose from."
    elif choice.manager.name == "pip":
        why = ("requirements.txt lists packages, not extras. (Dependency groups come from\n"
               "pyproject.toml's [dependency-groups]; extras from an app installed with\n"
               "`pip install .`.)")
    else:
        why = f"{choice.manager.display} has no {what} of the app to install."
    return BuildError(
        f"{var} is set, but the app's package manager has no {what}",
        f"{why}\n\nUnset it (`heroku config:unset {var}`), or name the dependencies in a form\n"
        "the package manager installs.",
        error_id="dependencies::selection-not-supported")


def _unknown(var: str, unknown: list[str], known: dict[str, str], where: str,
             hint: str = "") -> BuildError:
    group = var == GROUPS_VAR
    kind = "dependency group" if group else "extra"
    listed = ", ".join(sorted(known.values())) if known else "(none)"
    return BuildError(
        f"{var} names {'an unknown' if len(unknown) == 1 else 'unknown'} {kind}"
        f"{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
        f"The app defines these {kind}s ({where}): {listed}\n{hint}\n"
        f"Correct {var} (names are compared ignoring case and - _ .), or define the\n"
        f"{kind} in the app{' and lock again' if group else ''}.",
        error_id="dependencies::unknown-group" if group else "dependencies::unknown-extra")


def _resolve(var: str, names: tuple[str, ...], known: dict[str, str] | None,
             where: str, hint: str = "") -> tuple[str, ...]:
    if known is None:
        return names
    unknown = [name for name in names if normalize(name) not in known]
    if unknown:
        raise _unknown(var, unknown, known, where, hint)
    return tuple(known[normalize(name)] for name in names)


def select(choice: Choice, files: AppFiles, groups_value: str | None,
           extras_value: str | None) -> Choice:
    """``choice`` with the groups and extras the config vars name, checked against what the
    app defines (read now when this host can read TOML; else unchecked, and ``confirm``
    checks them once the runtime has brought the libraries)."""
    groups, extras = parse(groups_value, GROUPS_VAR), parse(extras_value, EXTRAS_VAR)
    for var, names in ((GROUPS_VAR, groups), (EXTRAS_VAR, extras)):
        if names and var not in accepted(choice):
            raise _not_supported(choice, var)
    if not groups and not extras:
        return choice
    selection = Selection(groups, extras, _defining_files(choice, files), checked=False)
    if toml_io.available():
        selection = _checked(choice, files, selection)
    return dataclasses.replace(choice, selection=selection)


def _checked(choice: Choice, files: AppFiles, selection: Selection) -> Selection:
    found = defined(choice, files)
    checked = Selection(_resolve(GROUPS_VAR, selection.groups, found.groups, found.groups_where,
                                 found.hint),
                        _resolve(EXTRAS_VAR, selection.extras, found.extras, found.extras_where,
                                 found.hint),
                        selection.files)
    if choice.manager.name == "pdm":
        _check_pdm_lock(choice, files, checked)
    return checked


def _check_pdm_lock(choice: Choice, files: AppFiles, selection: Selection) -> None:
    """PDM locks the default and dev groups unless told otherwise (``pdm lock -G``), and
    refuses to install a group its lock lacks: say so now, with the command."""
    lock = _file(choice, "pdm.lock")
    locked = _table(_toml(files, lock, "lock"), "metadata").get("groups")
    if not isinstance(locked, list):
        return  # an older lock format: PDM decides
    have = {normalize(g) for g in locked if isinstance(g, str)}
    missing = [n for n in (*selection.groups, *selection.extras) if normalize(n) not in have]
    if missing:
        raise BuildError(
            f"pdm.lock does not include {', '.join(missing)}",
            f"The app defines {', '.join(missing)} in pyproject.toml, but pdm.lock was made\n"
            f"without {'it' if len(missing) == 1 else 'them'} (locked groups: "
            f"{', '.join(str(g) for g in locked)}), so PDM cannot install\n"
            f"{'it' if len(missing) == 1 else 'them'}.\n\n"
            f"Run `pdm lock {' '.join(f'-G {n}' for n in missing)}` (or `pdm lock -G :all`) and "
            "commit pdm.lock.",
            error_id="dependencies::selection-not-locked")


def confirm(choice: Choice, files: AppFiles) -> Choice:
    """The check ``select`` could not make at plan time (no TOML parser on the host yet)."""
    if not choice.selection or choice.selection.checked:
        return choice
    return dataclasses.replace(choice, selection=_checked(choice, files, choice.selection))
