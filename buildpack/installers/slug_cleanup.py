"""What installers leave behind that the slug must not carry.

The slug is built in BUILD_DIR and runs from another path (``/app``), so nothing
installed may point into BUILD_DIR. Installers write such references for local and
editable installs, all at the top of site-packages:

- ``.pth`` path lines (editable installs by setuptools, hatchling, Poetry, uv, pip's
  ``-e``): made relative, which Python resolves against the site-packages directory;
- finder modules (setuptools' ``__editable___*_finder.py`` and the like): string
  literals naming BUILD_DIR become paths computed from the module's own location;
- ``*.dist-info/direct_url.json`` (PEP 610) and ``*.egg-link`` only record where a
  package came from: BUILD_DIR becomes the run-time root ``/app``;
- ``*.dist-info/RECORD`` with absolute paths (Poetry writes them): made relative to
  site-packages, as the wheel spec has them.

Bytecode an installer compiled (Pipenv's pip does) names build paths; it is removed, and
the build compiles site-packages afterwards with run-time paths. Build folders that a
``pip install .`` or a build backend left in the app's own folder (``build/``,
``*.egg-info``) are removed when they were not there before the install.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from pathlib import Path

from buildpack.relocate import RUNTIME_PREFIX

RUNTIME_ROOT = str(Path(RUNTIME_PREFIX).parent.parent)  # /app


def _roots(slug_root: Path) -> list[str]:
    roots = {str(slug_root), os.path.realpath(slug_root)}
    return sorted(roots, key=len, reverse=True)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _fix_pth(path: Path, site: Path, roots: list[str]) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    changed = False
    for i, line in enumerate(lines):
        entry = line.strip()
        if entry.startswith(("import ", "import\t", "#")):
            continue
        if any(_under(entry, root) for root in roots):
            lines[i] = os.path.relpath(entry, site)
            changed = True
    if changed:
        path.write_text("\n".join(lines), encoding="utf-8")


def _fix_module(path: Path, site: Path, roots: list[str]) -> None:
    text = path.read_text(encoding="utf-8")
    new = text
    for root in roots:
        literal = re.compile(r"""(['"])(%s(?:/[^'"\\\n]*)?)\1""" % re.escape(root))
        new = literal.sub(
            lambda m: ("__import__('os').path.normpath(__import__('os').path.join("
                       f"__import__('os').path.dirname(__file__), {os.path.relpath(m[2], site)!r}))"),
            new)
    if new != text:
        path.write_text(new, encoding="utf-8")


def _runtime_path(text: str, roots: list[str]) -> str:
    for root in roots:
        if _under(text, root):
            return RUNTIME_ROOT + text[len(root):]
    return text


def _fix_direct_url(path: Path, roots: list[str]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    url = data.get("url", "") if isinstance(data, dict) else ""
    if url.startswith("file://"):
        new = "file://" + _runtime_path(url[len("file://"):], roots)
        if new != url:
            data["url"] = new
            path.write_text(json.dumps(data), encoding="utf-8")


def _fix_record(path: Path, site: Path, roots: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    fixed = [[os.path.relpath(row[0], site), *row[1:]]
             if row and any(_under(row[0], root) for root in roots) else row for row in rows]
    if fixed != rows:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(fixed)
        path.write_text(out.getvalue(), encoding="utf-8")


def fix_build_paths(prefix: Path, slug_root: Path) -> None:
    """Rewrite what the install wrote into ``prefix`` so that nothing names ``slug_root``."""
    roots = _roots(slug_root)
    needles = [root.encode() for root in roots]
    for site in sorted(prefix.glob("lib/python3*/site-packages")):
        for cache in sorted(site.rglob("__pycache__")):
            shutil.rmtree(cache)
        for path in sorted(site.iterdir()):
            if path.name.endswith(".dist-info") and path.is_dir():
                if (path / "direct_url.json").is_file():
                    _fix_direct_url(path / "direct_url.json", roots)
                if (path / "RECORD").is_file():
                    _fix_record(path / "RECORD", site, roots)
                continue
            if not path.is_file() or path.suffix not in (".pth", ".py", ".egg-link"):
                continue
            if not any(needle in path.read_bytes() for needle in needles):
                continue
            if path.suffix == ".pth":
                _fix_pth(path, site, roots)
            elif path.suffix == ".py":
                _fix_module(path, site, roots)
            else:
                path.write_text("\n".join(_runtime_path(line, roots) for line in
                                          path.read_text(encoding="utf-8").split("\n")),
                                encoding="utf-8")


def build_leftovers(app_dir: Path) -> set[Path]:
    """What a package build may create in the app (``build/``, ``*.egg-info``, also in src/)."""
    found = set()
    for folder in (app_dir, app_dir / "src"):
        if folder.is_dir() and not folder.is_symlink():
            found.update(p for p in folder.iterdir()
                         if (p.name == "build" and folder == app_dir) or p.name.endswith(".egg-info"))
    return found


def remove_new_leftovers(app_dir: Path, before: set[Path]) -> None:
    """Remove the ``build_leftovers`` that were not there ``before`` the install."""
    for path in sorted(build_leftovers(app_dir) - before):
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
