"""Compile the ``.py`` files whose bytecode is missing or stale, in parallel.

Run by the app's interpreter (``python -I bytecode_worker.py STRIP PREPEND DIR...``),
so it imports nothing from the buildpack. A ``.pyc`` is current when it is an
unchecked-hash pyc of this interpreter whose recorded source hash is the source's: what
an earlier build compiled and a later build (an incremental install, an unchanged app)
kept. Everything else, including timestamp pycs written while packages were built
(they name the build path), is compiled again with run-time file names (``STRIP`` ->
``PREPEND``). ``compileall`` cannot do this: without ``-f`` it treats every hash-based
pyc as stale.
"""
from __future__ import annotations

import compileall
import concurrent.futures
import importlib.util
import os
import py_compile
import sys
from collections.abc import Iterator

UNCHECKED_HASH = 0b01


def is_current(source: str) -> bool:
    try:
        with open(importlib.util.cache_from_source(source), "rb") as fh:
            header = fh.read(16)
        if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
            return False
        if int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
            return False
        with open(source, "rb") as fh:
            return header[8:16] == importlib.util.source_hash(fh.read())
    except (OSError, ValueError):
        return False


def sources(roots: list[str]) -> Iterator[str]:
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            yield from (os.path.join(dirpath, n) for n in filenames if n.endswith(".py"))


def compile_one(args: tuple[str, str, str]) -> bool:
    path, strip, prepend = args
    return bool(compileall.compile_file(
        path, quiet=2, force=True, stripdir=strip, prependdir=prepend,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH))


def usable_cpus() -> int:
    """The CPUs this process may run on (a build pinned to fewer than the machine has
    gains nothing from more workers, and pays for starting them)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def main(argv: list[str]) -> int:
    strip, prepend, *roots = argv
    stale = [path for path in sources(roots) if not is_current(path)]
    workers = usable_cpus()
    if len(stale) < 64 or workers == 1:
        for path in stale:
            compile_one((path, strip, prepend))
    else:
        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            list(pool.map(compile_one, [(p, strip, prepend) for p in stale], chunksize=32))
    print(len(stale))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
