"""Walking and removing trees of any depth without recursion and without following links
(CACHE_DIR entries, layers, scratch folders). The app's own files are read through
``app.app_files``."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def walk(top: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(top)`` without recursion (a 10,000-deep folder is fine) and without
    following links; top-down, so callers may prune ``dirnames`` in place."""
    stack = [os.fspath(top)]
    while stack:
        dirpath = stack.pop()
        try:
            entries = list(os.scandir(dirpath))
        except OSError:
            continue
        dirnames = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
        filenames = sorted(e.name for e in entries if not e.is_dir(follow_symlinks=False))
        yield dirpath, dirnames, filenames
        stack.extend(os.path.join(dirpath, name) for name in reversed(dirnames))


def rmtree(path: Path) -> None:
    """Remove the folder ``path`` and everything in it, iteratively, never following a
    link (a link inside is removed, not what it points to)."""
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    folders = []
    for dirpath, _dirnames, filenames in walk(path):
        folders.append(dirpath)
        for name in filenames:
            os.unlink(os.path.join(dirpath, name))
    for folder in reversed(folders):
        os.rmdir(folder)
