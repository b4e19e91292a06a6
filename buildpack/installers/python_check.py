"""The chosen Python version against what the dependency files say about Python.

- ``Pipfile.lock``: ``_meta.requires.python_full_version`` (exact) or ``python_version``
  (any patch of that X.Y);
- ``pyproject.toml`` (Poetry, uv, ``pip install .``): ``[project] requires-python``, and
  for Poetry without it ``[tool.poetry.dependencies] python``;
- whatever installs the dependencies (requirements.txt, Pipenv), the app's
  ``pyproject.toml`` when it has one: its ``[project] requires-python`` (issue 24);
- ``pylock.toml``: its ``requires-python`` (and its ``lock-version`` must be 1.x).

A contradiction is an error showing both values; a constraint this module does not
understand is a warning, and the installer has the last word.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.base import output, toml_io
from buildpack.base.output import BuildError
from buildpack.installers.record import Choice
from buildpack.python_version import pipfile_lock
from buildpack.python_version.python_constraints import parse_version, satisfies

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Declared:
    where: str  # e.g. "pyproject.toml (requires-python)"
    text: str
    spec: str  # the same as a constraint ``satisfies`` reads
    poetry: bool
    fix: str


def _from_pipfile_lock(choice: Choice, files: AppFiles) -> list[Declared]:
    lock = pipfile_lock.parse(files.text(choice.files[1], "lock") or "")
    request = pipfile_lock.python_request(lock)
    if request is None:
        return []
    key, value = request
    spec = f"=={value}" if key == "python_full_version" else f"=={value}.*"
    fix = f"or change [requires] {key} in the Pipfile and run `pipenv lock`"
    return [Declared(f"Pipfile.lock (_meta.requires.{key})", value, spec, False, fix)]


def _from_pylock(choice: Choice, files: AppFiles) -> list[Declared]:
    lock = choice.files[0]
    data = toml_io.parse(files.text(lock, "lock") or "", lock.name)
    version = data.get("lock-version")
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise BuildError(
            f"{lock.name} has a lock-version this buildpack cannot install",
            f"{lock.name} says lock-version = {version!r}; PEP 751 lock files of version 1.x\n"
            "are installed (a newer major version may change what the file means).\n\n"
            "Write the lock again with a tool that writes version 1 (`uv export --format\n"
            "pylock.toml`, `pip lock`).",
            error_id="pylock::unsupported-version")
    text = data.get("requires-python")
    if not isinstance(text, str):
        return []
    return [Declared(f"{lock.name} (requires-python)", text, text, False,
                     f"or make {lock.name} again for that Python (`uv export --format "
                     "pylock.toml`, `pip lock`)")]


def _manifest(choice: Choice) -> Path | None:
    return next((p for p in choice.files if p.name == "pyproject.toml"), None)


def _requires_python(data: dict[str, object], relock: str) -> list[Declared]:
    project = data.get("project")
    if isinstance(project, dict) and isinstance(project.get("requires-python"), str):
        text = project["requires-python"]
        return [Declared("pyproject.toml ([project] requires-python)", text, text, False,
                         f"or change requires-python in pyproject.toml{relock}")]
    return []


def _from_app_pyproject(files: AppFiles) -> list[Declared]:
    """``[project] requires-python`` of a pyproject.toml that does not list the dependencies
    (a requirements.txt or Pipenv app's): it still says which Python the app runs on."""
    path = files.app_dir / PYPROJECT
    text = files.text(path, "manifest") if files.is_file(path) else None
    return _requires_python(toml_io.parse(text, PYPROJECT), "") if text is not None else []


def _from_pyproject(choice: Choice, files: AppFiles) -> list[Declared]:
    pyproject = _manifest(choice)
    if pyproject is None:
        return []
    data = toml_io.parse(files.text(pyproject, "manifest") or "", pyproject.name)
    lock_command = choice.manager.lock_command
    relock = f" and run `{lock_command}`" if lock_command else ""
    found = _requires_python(data, relock)
    if found:
        return found
    value: object = data
    for name in choice.manager.python_table:
        value = value.get(name) if isinstance(value, dict) else None
    if choice.manager.python_table and isinstance(value, str):
        table = ".".join(choice.manager.python_table[:-1])
        return [Declared(f"pyproject.toml ([{table}] python)", value, value, True,
                         f"or change that python constraint in pyproject.toml{relock}")]
    return []


def _is_pylock(choice: Choice) -> bool:
    return choice.manager.lockfile == "pylock.toml"


def reads_files(choice: Choice, files: AppFiles) -> bool:
    """Whether checking ``choice`` parses the app's files (and so needs ``libraries``)."""
    return (choice.manager.python_in_lock or _is_pylock(choice) or _manifest(choice) is not None
            or files.is_file(files.app_dir / PYPROJECT))


def declared(choice: Choice, files: AppFiles) -> list[Declared]:
    """What the app's files (read by ``files``) say about the Python version."""
    if choice.manager.python_in_lock:
        found = _from_pipfile_lock(choice, files)
    elif _is_pylock(choice):
        found = _from_pylock(choice, files)
    else:
        found = _from_pyproject(choice, files)
    if _manifest(choice) is None:
        found += _from_app_pyproject(files)
    return found


def check(choice: Choice, files: AppFiles, python_version: str) -> None:
    """Raise BuildError if the files contradict ``python_version`` (X.Y.Z)."""
    version = parse_version(python_version)
    for item in declared(choice, files):
        verdict = satisfies(item.spec, version, poetry=item.poetry)
        if verdict is None:
            output.warning(
                f"Could not check the Python version against {item.where}",
                f"{item.where} says {item.text!r}, which the buildpack does not understand,\n"
                f"so it cannot tell whether Python {python_version} satisfies it. The\n"
                "package manager checks it during the install.",
            )
        elif not verdict:
            raise BuildError(
                f"Python {python_version} does not satisfy {item.where}",
                f"This build uses Python {python_version} (chosen as shown above), but\n"
                f"{item.where} says {item.text!r}.\n\n"
                f"Choose a Python version that satisfies it in .python-version,\n"
                f"{item.fix}.",
                error_id="python-version::conflicts-with-project",
            )
