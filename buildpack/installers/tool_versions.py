"""The uv or Poetry version an app asks for, against the buildpack's pinned one (plan time).

- ``[tool.uv] required-version`` in pyproject.toml (or ``required-version`` in uv.toml):
  uv itself refuses to run where it is not satisfied, for ``uv sync`` and ``uv pip``
  alike, so it is checked whenever uv installs (uv.lock, requirements.txt, pylock.toml);
- ``[tool.poetry] requires-poetry`` in pyproject.toml, when Poetry installs.

Both are PEP 440 specifiers (a bare version means ``==`` it; Poetry's also in its own
syntax, ``^2.0``). A pin that satisfies them
changes nothing. One that does not is an error naming both versions and the fix: the
buildpack never installs another version than the hash-pinned one of ``vendor/tools``
(one pin per tool: the pins are what make a build repeatable, and each is a whole
hash-checked dependency closure), so the app relaxes its constraint or uses a buildpack
release whose pin satisfies it. A specifier this module cannot read is a warning, and
the tool has the last word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildpack.app.app_files import AppFiles
from buildpack.base import output, toml_io
from buildpack.base.output import BuildError
from buildpack.installers.pinned_tools import Tool
from buildpack.installers.record import Choice
from buildpack.python_version.python_constraints import parse_version, satisfies

_BARE_VERSION = re.compile(r"^\s*v?\d+(?:\.\d+){0,2}\s*$")
_MAX_TEXT = 200


@dataclass(frozen=True)
class Asked:
    tool: Tool
    text: str  # the specifier as the app wrote it
    where: str  # e.g. "pyproject.toml [tool.uv] required-version"
    path: Path
    poetry: bool = False  # Poetry's constraint syntax (^, ~) besides PEP 440


def _value(data: dict[str, Any], *keys: str) -> str | None:
    value: Any = data
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def _read(files: AppFiles, name: str) -> tuple[Path, dict[str, Any]] | None:
    path = files.app_dir / name
    text = files.text(path, "manifest")
    return None if text is None else (path, toml_io.parse(text, name))


def asked(choice: Choice, files: AppFiles) -> list[Asked]:
    """What the app's files ask of the tool that installs its packages."""
    tool = choice.manager.tool
    if tool is None or tool.name not in ("uv", "poetry"):
        return []
    found = []
    pyproject = _read(files, "pyproject.toml")
    if tool.name == "uv":
        uv_toml = _read(files, "uv.toml")
        if uv_toml is not None and (text := _value(uv_toml[1], "required-version")):
            found.append(Asked(tool, text, "uv.toml required-version", uv_toml[0]))
        elif pyproject is not None and \
                (text := _value(pyproject[1], "tool", "uv", "required-version")):
            found.append(Asked(tool, text, "pyproject.toml [tool.uv] required-version",
                               pyproject[0]))
    elif pyproject is not None and (text := _value(pyproject[1], "tool", "poetry",
                                                   "requires-poetry")):
        found.append(Asked(tool, text, "pyproject.toml [tool.poetry] requires-poetry",
                           pyproject[0], poetry=True))
    return found


def check(choice: Choice, files: AppFiles) -> None:
    """Raise the error when the pinned tool does not satisfy what the app asks for."""
    for item in asked(choice, files):
        pinned = item.tool.version()
        text = item.text.strip()
        spec = f"=={text.lstrip('v')}" if _BARE_VERSION.match(text) else text
        ok = satisfies(spec, parse_version(pinned), item.poetry) if len(text) <= _MAX_TEXT \
            else None
        if ok is None:
            output.warning(
                f"{item.where} is not a version specifier the buildpack reads: {text[:80]!r}",
                f"The build goes on with {item.tool.display} {pinned}, which checks it itself.")
        elif not ok:
            raise _unsatisfied(item, pinned)


def _unsatisfied(item: Asked, pinned: str) -> BuildError:
    display, name = item.tool.display, item.tool.name
    key = item.where.rsplit(" ", 1)[-1]
    return BuildError(
        f"The app asks for {display} {item.text}; this buildpack installs {display} {pinned}",
        f"{item.where} is {item.text!r}, which {display} {pinned} does not satisfy.\n"
        f"The buildpack installs exactly the {display} pinned with its hashes in\n"
        f"vendor/tools/{name}.txt ({pinned}), never another version, so that every build\n"
        "installs the same tool.\n\n"
        f"Change {key} in {item.path.name} to admit {pinned} (e.g. \">={_minor(pinned)}\"),\n"
        f"or build with a release of this buildpack whose {display} satisfies it.",
        error_id="package-manager::tool-version-unsatisfied")


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
