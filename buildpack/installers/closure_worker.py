"""What the runtime's installed distributions need, as pip reads the app's files.

Run by the runtime's interpreter with its pip importable (``python -I closure_worker.py
REQUEST_JSON``; ``prune.remove_unneeded``). ``REQUEST_JSON``: ``{"files": [...],
"names": [...], "groups": [...], "extras": [...]}``:

- ``files``: requirements files, read by pip's own parser (includes, quoted and
  abbreviated options, markers), or PEP 751 lock files (``pylock.toml``), whose packages
  pip selects as ``pip install -r`` does (markers, the default groups);
- ``names``: distributions that are needed;
- ``groups``: dependency groups of the app's pyproject.toml (``pip install --group``),
  resolved by pip's own reader; of the lock, when a file is a pylock.toml;
- ``extras``: the extras of every distribution installed from a path, URL or VCS (the
  app itself, ``pip install .[extras]``); of the lock, when a file is a pylock.toml.

Every distribution installed from a path, URL or VCS (a PEP 610 ``direct_url.json``) is
needed too: ``prune`` reinstalled those from the app's current files just before. From
those roots the ``Requires-Dist`` of the installed distributions are followed (markers
evaluated for this interpreter, with the extras asked for). Prints, as JSON, the names
of the installed distributions that nothing needs (pip itself is always kept).
"""
from __future__ import annotations

import json
import sys
from importlib.metadata import Distribution, distributions
from typing import TYPE_CHECKING

from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.utils import canonicalize_name

if TYPE_CHECKING:  # imported where used: see _pip_roots
    from pip._internal.network.session import PipSession

Root = tuple[str, frozenset[str]]


def _from_requirement(line: str) -> list[Root]:
    """The root a requirement string names, when its marker holds here."""
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return []
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return []
    return [(str(canonicalize_name(req.name)), frozenset(req.extras))]


def _from_file(path: str, session: PipSession, groups: list[str], extras: list[str]) -> list[Root]:
    """The roots a requirements file or a pylock.toml names, as pip reads it (a lock with
    its default groups, ``groups`` and ``extras``: ``-r pylock.toml[x] --group
    pylock.toml:g``)."""
    from pip._internal.req.constructors import install_req_from_parsed_requirement
    from pip._internal.req.req_file import parse_requirements
    from pip._internal.utils.pylock import is_valid_pylock_filename, select_from_pylock_path_or_url

    if is_valid_pylock_filename(path, allow_urls=False):
        return [(str(canonicalize_name(package.name)), frozenset())
                for package, _ in select_from_pylock_path_or_url(
                    path, session, None, extras=set(extras), dependency_groups=groups,
                    include_default_groups=True)]
    roots = []
    for parsed in parse_requirements(path, session=session):
        if parsed.constraint:
            continue
        named = install_req_from_parsed_requirement(parsed)
        if named.name and named.match_markers():
            roots.append((str(canonicalize_name(named.name)), frozenset(named.extras)))
    return roots


def _pip_roots(files: list[str], groups: list[str], extras: list[str]) -> tuple[list[Root], list[str]]:
    """The roots ``files`` and pyproject.toml's ``groups`` name, read by pip's own code, and
    the extras of the direct installs (none when a file is a pylock.toml: the selection was
    the lock's). pip's internals are imported here, not at the top: they take about a second
    to import, and a request with names only (Pipenv's) needs none of them."""
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_dependency_group import parse_dependency_groups
    from pip._internal.utils.pylock import is_valid_pylock_filename

    session = PipSession()
    roots: list[Root] = []
    for path in files:
        roots += _from_file(path, session, groups, extras)
    if any(is_valid_pylock_filename(path, allow_urls=False) for path in files):
        groups, extras = [], []
    for line in parse_dependency_groups([("pyproject.toml", g) for g in groups]) if groups else []:
        roots += _from_requirement(line)
    return roots, extras


def main() -> None:
    request = json.loads(sys.argv[1])
    roots: list[Root] = [(str(canonicalize_name(n)), frozenset()) for n in request["names"]]
    direct: list[str] = request.get("extras", [])
    if request["files"] or request.get("groups"):
        named, direct = _pip_roots(request["files"], request.get("groups", []), direct)
        roots += named
    direct_extras = frozenset(direct)
    installed: dict[str, Distribution] = {}
    for dist in distributions():
        found = str(canonicalize_name(dist.metadata["Name"] or ""))
        if found and found not in installed:
            installed[found] = dist
            if dist.read_text("direct_url.json") is not None:
                roots.append((found, direct_extras))
    seen: set[Root] = set()
    needed: set[str] = {"pip"}
    while roots:
        name, extras = roots.pop()
        if (name, extras) in seen or name not in installed:
            continue
        seen.add((name, extras))
        needed.add(name)
        for line in installed[name].requires or []:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is None or any(req.marker.evaluate({"extra": extra})
                                         for extra in (*extras, "")):
                roots.append((str(canonicalize_name(req.name)), frozenset(req.extras)))
    print(json.dumps(sorted(set(installed) - needed)))


if __name__ == "__main__":
    main()
