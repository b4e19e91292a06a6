"""What the runtime's installed distributions need, as pip reads the app's files.

Run by the runtime's interpreter with its pip importable (``python -I closure_worker.py
REQUEST_JSON``; ``prune.remove_unneeded``). ``REQUEST_JSON``: ``{"files": [...],
"names": [...]}``: requirements files (read by pip's own parser: includes, quoted and
abbreviated options, markers) and names of distributions that are needed. Every
distribution installed from a path, URL or VCS (a PEP 610 ``direct_url.json``) is
needed too: ``prune`` reinstalled those from the app's current files just before. From
those roots the ``Requires-Dist`` of the installed distributions are followed (markers
evaluated for this interpreter, with the extras asked for). Prints, as JSON, the names
of the installed distributions that nothing needs (pip itself is always kept).
"""
from __future__ import annotations

import json
import sys
from importlib.metadata import Distribution, distributions

from pip._internal.network.session import PipSession
from pip._internal.req.constructors import install_req_from_parsed_requirement
from pip._internal.req.req_file import parse_requirements
from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.utils import canonicalize_name


def main() -> None:
    request = json.loads(sys.argv[1])
    roots: list[tuple[str, frozenset[str]]] = [(str(canonicalize_name(n)), frozenset())
                                               for n in request["names"]]
    session = PipSession()
    for path in request["files"]:
        for parsed in parse_requirements(path, session=session):
            if parsed.constraint:
                continue
            named = install_req_from_parsed_requirement(parsed)
            if named.name and named.match_markers():
                roots.append((str(canonicalize_name(named.name)), frozenset(named.extras)))
    installed: dict[str, Distribution] = {}
    for dist in distributions():
        found = str(canonicalize_name(dist.metadata["Name"] or ""))
        if found and found not in installed:
            installed[found] = dist
            if dist.read_text("direct_url.json") is not None:
                roots.append((found, frozenset()))
    seen: set[tuple[str, frozenset[str]]] = set()
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
