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

Bytecode an installer compiled (Pipenv's pip does) names build paths: the build's
bytecode pass (``relocate.compile_bytecode``) replaces or removes it, with the bytecode
whose source an uninstall or upgrade removed, in its one walk of site-packages. The modules that
``.pth`` files import at every interpreter start (editable finders, ``_distutils_hack``)
are compiled at once, with run-time paths and without starting ``site``: otherwise the
next interpreter of the build would import them and leave bytecode naming BUILD_DIR,
which a later compile takes as up to date. Build folders that a
``pip install .`` or a build backend left in the app's source trees (``build/``,
``*.egg-info``) are removed when they were not there before the install. When an install
into the previous build's environment changed nothing (``environment_state``), none of
this runs: the environment is the previous build's, already cleaned.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

from buildpack.base import atomic_write
from buildpack.base.fs import rmtree, walk
from buildpack.base.slug_layout import APP_ROOT as RUNTIME_ROOT
from buildpack.base.slug_layout import RUNTIME_PREFIX
from buildpack.runtime.relocate import compile_all


def _roots(slug_root: Path) -> list[str]:
    roots = {str(slug_root), os.path.realpath(slug_root)}
    return sorted(roots, key=len, reverse=True)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _replace(path: Path, text: str) -> None:
    """Write ``path`` anew (a new file renamed over it, its mode kept), never into the
    file itself: an installed file may be a hardlink of uv's cache (``UV_LINK_MODE``)."""
    atomic_write.write_text(path, text, mode=path.stat().st_mode & 0o7777)


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
        _replace(path, "\n".join(lines))


def _fix_module(path: Path, site: Path, roots: list[str]) -> None:
    text = path.read_text(encoding="utf-8")
    new = text
    for root in roots:
        literal = re.compile(r"""(['"])(""" + re.escape(root) + r"""(?:/[^'"\\\n]*)?)\1""")
        new = literal.sub(
            lambda m: ("__import__('os').path.normpath(__import__('os').path.join("
                       f"__import__('os').path.dirname(__file__), {os.path.relpath(m[2], site)!r}))"),
            new)
    if new != text:
        _replace(path, new)


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
            _replace(path, json.dumps(data))


def _fix_record(path: Path, site: Path, roots: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    fixed = [[os.path.relpath(row[0], site), *row[1:]]
             if row and any(_under(row[0], root) for root in roots) else row for row in rows]
    if fixed != rows:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(fixed)
        _replace(path, out.getvalue())


def _startup_modules(site: Path) -> list[Path]:
    """The modules and packages that ``import`` lines of ``.pth`` files load."""
    found = []
    for pth in sorted(site.glob("*.pth")):
        for line in pth.read_text(encoding="utf-8", errors="replace").splitlines():
            for match in re.finditer(r"(?:^|;)\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)", line):
                for name in match.group(1).split(","):
                    top = name.strip().split(".")[0]
                    found += [p for p in (site / f"{top}.py", site / top) if p.exists()]
    return sorted(set(found))


def _precompile(python: Path, paths: list[Path], prefix: Path, env: dict[str, str]) -> None:
    if paths:
        compile_all(python, [str(p) for p in paths], prefix, RUNTIME_PREFIX, env)


def fix_build_paths(prefix: Path, slug_root: Path | None, python: Path, env: dict[str, str]) -> None:
    """Rewrite what the install wrote into ``prefix`` so that nothing names ``slug_root``
    (None: the build's paths are the launch paths, nothing to rewrite), and compile the
    startup modules. The bytecode the install wrote is the bytecode pass's."""
    roots = _roots(slug_root) if slug_root is not None else []
    needles = [root.encode() for root in roots]
    for site in sorted(prefix.glob("lib/python3*/site-packages")):
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
                _replace(path, "\n".join(_runtime_path(line, roots) for line in
                                          path.read_text(encoding="utf-8").split("\n")))
        _precompile(python, _startup_modules(site), prefix, env)


def build_leftovers(app_dir: Path) -> set[Path]:
    """What package builds create in the app's source trees: ``build/`` and ``*.egg-info``."""
    found = set()
    for dirpath, dirnames, _ in walk(app_dir):  # iterative: any depth, no link followed
        for name in list(dirnames):
            if name in (".heroku", ".git", "node_modules"):
                dirnames.remove(name)
            elif name == "build" or name.endswith(".egg-info"):
                found.add(Path(dirpath) / name)
                dirnames.remove(name)
    return found


def remove_new_leftovers(app_dir: Path, before: set[Path]) -> None:
    """Remove the ``build_leftovers`` that were not there ``before`` the install."""
    for path in sorted(build_leftovers(app_dir) - before):
        rmtree(path)


def environment_state(prefix: Path) -> list[tuple[str, int, int]]:
    """Where an install leaves its mark: each site-packages folder and ``bin`` by inode and
    mtime. Installing, upgrading, reinstalling or removing a distribution creates or
    deletes entries there (its ``.dist-info`` folder at least), which changes the folder's
    mtime; equal states before and after an install mean it changed nothing."""
    state = []
    for folder in [prefix / "bin", *sorted(prefix.glob("lib/python3*/site-packages"))]:
        try:
            st = os.lstat(folder)
        except OSError:
            continue
        state.append((str(folder), st.st_ino, st.st_mtime_ns))
    return state
