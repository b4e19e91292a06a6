"""Compile ``.py`` files into unchecked-hash pycs that name their run-time path.

Run by the app's interpreter (``python -I -S bytecode_worker.py [--force] STRIP PREPEND
(DIR | @LIST)...``), so it imports nothing from the buildpack. A folder is walked; ``@LIST``
names a file that lists one source per line. Without ``--force`` a source whose ``.pyc``
is current is left alone: an unchecked-hash pyc of this interpreter whose recorded source
hash is the source's, what an earlier build compiled and a later build (an incremental
install, an unchanged app) kept. Everything else, including timestamp pycs written while
packages were built (they name the build path), is compiled again with run-time file names
(``STRIP`` -> ``PREPEND``). ``compileall`` cannot do this: without ``-f`` it treats every
hash-based pyc as stale.

The pyc is written here (PEP 552's layout: magic, flags, source hash, marshalled code)
rather than by ``py_compile``: importing ``compileall`` and ``py_compile`` takes longer than
compiling the few files a changed build adds. A source that does not compile is left
alone, as ``compileall -q`` leaves it: the interpreter reports it when it is imported.
"""
from __future__ import annotations

import importlib.util
import marshal
import os
import sys
from collections.abc import Iterator

UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, not checked against the source


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


def sources(args: list[str]) -> Iterator[str]:
    for arg in args:
        if arg.startswith("@"):
            with open(arg[1:], encoding="utf-8", errors="surrogateescape") as listing:
                yield from (line.rstrip("\n") for line in listing if line.strip())
            continue
        for dirpath, dirnames, filenames in os.walk(arg):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            yield from (os.path.join(dirpath, n) for n in filenames if n.endswith(".py"))


def run_time_name(path: str, strip: str, prepend: str) -> str:
    """The name the code object records: ``path`` with ``strip`` replaced by ``prepend``."""
    strip = strip.rstrip("/")
    return prepend.rstrip("/") + path[len(strip):] if path.startswith(strip + "/") else path


def compile_one(args: tuple[str, str, str]) -> bool:
    """Write ``path``'s pyc (atomically: a temporary file renamed over it, never a write
    through a link); False when it does not compile or cannot be written."""
    path, strip, prepend = args
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        code = compile(data, run_time_name(path, strip, prepend), "exec", dont_inherit=True)
    except Exception:  # noqa: BLE001 - compileall -q's rule: whatever fails to compile is skipped
        return False
    pyc = importlib.util.cache_from_source(path)
    body = b"".join((importlib.util.MAGIC_NUMBER, UNCHECKED_HASH.to_bytes(4, "little"),
                     importlib.util.source_hash(data), marshal.dumps(code)))
    tmp = f"{pyc}.{os.getpid()}.tmp"
    try:
        mode = (os.stat(path).st_mode | 0o200) & 0o666  # py_compile's: the source's, writable
        os.makedirs(os.path.dirname(pyc), exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with open(fd, "wb") as out:
            out.write(body)
        os.replace(tmp, pyc)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True


def usable_cpus() -> int:
    """The CPUs this process may run on (a build pinned to fewer than the machine has
    gains nothing from more workers, and pays for starting them)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def main(argv: list[str]) -> int:
    force = argv[:1] == ["--force"]
    strip, prepend, *roots = argv[1:] if force else argv
    stale = [path for path in sources(roots) if force or not is_current(path)]
    workers = usable_cpus()
    if len(stale) < 64 or workers == 1:
        for path in stale:
            compile_one((path, strip, prepend))
    else:
        import concurrent.futures  # not at import: most builds compile a few files

        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            list(pool.map(compile_one, [(p, strip, prepend) for p in stale], chunksize=32))
    print(len(stale))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
