"""The distribution files a lock file records for each package, read from its text.

One pure parser per format (the text comes from ``app_files.AppFiles``, bounded as a
lock; TOML through ``toml_io.loads``, bounded in depth). Each answers the packages of the
lock as ``Locked`` (name, version, the file names of its wheels, whether it has a source
distribution), for the free-threaded check (``free_threaded``), which needs no resolution
for them:

| lock         | where the files are                                                     |
|--------------|-------------------------------------------------------------------------|
| uv.lock      | ``[[package]] wheels = [{ url / filename / path }]``, ``sdist = {...}`` |
| pylock.toml  | ``[[packages]] wheels = [{ name / url / path }]``, ``sdist = {...}``    |
| poetry.lock  | ``[[package]] files = [{ file }]`` (lock 1.x: ``[metadata.files]``)     |
| pdm.lock     | ``[[package]] files = [{ file / url }]``                                 |

A package whose lock entry records no wheel and no source distribution (the project
itself, a workspace member, a folder, a git repository) is left out: it is built from
source whatever the runtime, and it is the app's own choice. ``Pipfile.lock`` records
hashes, not file names: it has no parser here (``free_threaded`` says so in the log).

Every package of the lock is answered, not only those this build installs: a lock
records all its groups, extras and platforms at once, and which of them a build installs
is the installer's evaluation of markers and group selections (uv.lock, pylock.toml)
or of ``groups`` together with markers (poetry.lock, pdm.lock); the warning says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from buildpack.base import toml_io

SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")


@dataclass(frozen=True)
class Locked:
    """A package of a lock and the distribution files it records."""

    name: str
    version: str
    wheels: tuple[str, ...]
    sdist: bool


def _tables(value: object) -> list[dict[str, Any]]:
    """The tables of an array of tables (anything else in it is skipped)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _basename(value: str) -> str:
    """The file name of a name, path or URL (its fragment and query left out)."""
    return value.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _file_of(entry: dict[str, Any], *keys: str) -> str:
    """The file name an entry gives under the first of ``keys`` it has."""
    return next((_basename(text) for key in keys if (text := _text(entry.get(key)))), "")


def _locked(name: object, version: object, files: list[str], sdist: bool) -> Locked | None:
    wheels = tuple(f for f in files if f.lower().endswith(".whl"))
    sdist = sdist or any(f.lower().endswith(SDIST_SUFFIXES) for f in files)
    if not isinstance(name, str) or not name or not (wheels or sdist):
        return None
    return Locked(name, _text(version) if not isinstance(version, (int, float)) else str(version),
                  wheels, sdist)


def _collect(entries: list[Locked | None]) -> list[Locked]:
    return [entry for entry in entries if entry is not None]


def uv_lock(text: str) -> list[Locked]:
    """The packages of a ``uv.lock``."""
    return _collect([
        _locked(p.get("name"), p.get("version"),
                [_file_of(w, "filename", "url", "path") for w in _tables(p.get("wheels"))],
                isinstance(p.get("sdist"), dict))
        for p in _tables(toml_io.loads(text).get("package"))])


def pylock(text: str) -> list[Locked]:
    """The packages of a ``pylock.toml`` (PEP 751)."""
    return _collect([
        _locked(p.get("name"), p.get("version"),
                [_file_of(w, "name", "url", "path") for w in _tables(p.get("wheels"))],
                isinstance(p.get("sdist"), dict))
        for p in _tables(toml_io.loads(text).get("packages"))])


def _files_lock(text: str) -> list[Locked]:
    """The packages of a lock of ``[[package]] files = [{file = ...}]`` (Poetry, PDM);
    Poetry's lock 1.x keeps the files apart, in ``[metadata.files]`` by package name."""
    lock = toml_io.loads(text)
    metadata = lock.get("metadata")
    by_name = metadata.get("files") if isinstance(metadata, dict) else None
    by_name = by_name if isinstance(by_name, dict) else {}
    packages = []
    for p in _tables(lock.get("package")):
        files = p["files"] if "files" in p else by_name.get(_text(p.get("name")))
        packages.append(_locked(p.get("name"), p.get("version"),
                                [_file_of(f, "file", "url") for f in _tables(files)], False))
    return _collect(packages)


poetry_lock = _files_lock
pdm_lock = _files_lock

# The parser of each lock file name (pylock.toml also as pylock.<name>.toml: ``parser_for``).
PARSERS: dict[str, Callable[[str], list[Locked]]] = {
    "uv.lock": uv_lock, "pylock.toml": pylock, "poetry.lock": poetry_lock, "pdm.lock": pdm_lock}


def parser_for(filename: str) -> Callable[[str], list[Locked]] | None:
    """The parser of the lock file ``filename``; None for a lock that records no file
    names (Pipfile.lock) or a file that is not a lock."""
    if filename.startswith("pylock.") and filename.endswith(".toml"):
        return pylock
    return PARSERS.get(filename)
