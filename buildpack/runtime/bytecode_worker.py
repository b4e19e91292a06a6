"""Compile ``.py`` files into unchecked-hash pycs that name their run-time path, and tidy
the bytecode of the folders walked.

Run by the app's interpreter (``python -I -S bytecode_worker.py [--force] [--tidy] STRIP
PREPEND (DIR | @LIST)...``), so it imports nothing from the buildpack. A folder is walked
(regular files only: a FIFO named ``x.py`` is never opened); ``@LIST`` names a file that
lists one source per line. Without ``--force`` a source whose ``.pyc`` is current is left
alone: an unchecked-hash pyc of this interpreter whose recorded source hash is the
source's, what an earlier build compiled and a later build (an incremental install, an
unchanged app) kept. Everything else, including timestamp pycs written while packages
were built or installed (they name the build path), is compiled again with run-time file
names (``STRIP`` -> ``PREPEND``). ``compileall`` cannot do this: without ``-f`` it treats
every hash-based pyc as stale.

``--tidy`` (site-packages after an install) also removes, in the same walk, the bytecode
that has no source any more (an uninstall or an upgrade removed the files its RECORD
lists, and the build's pycs are not among them) with the folders left empty, and the
pycs of other optimisation levels or interpreters that are not unchecked-hash (an
installer's, naming the build path). One walk does what took three (two of them reading
every pyc) on a changed build.

The pyc is written here (PEP 552's layout: magic, flags, source hash, marshalled code)
rather than by ``py_compile``: importing ``compileall`` and ``py_compile`` takes longer than
compiling the few files a changed build adds. A source that does not compile is left
alone, as ``compileall -q`` leaves it (and a pyc of it that is not this build's is
removed): the interpreter reports it when it is imported.
"""
from __future__ import annotations

import importlib.util
import marshal
import os
import stat
import sys
from collections.abc import Iterator

UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, not checked against the source


def _header(pyc: str) -> bytes:
    """The first 16 bytes of ``pyc``; b"" unless it is a regular file (never blocks on a
    FIFO)."""
    try:
        fd = os.open(pyc, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return b""
    with open(fd, "rb") as fh:
        return fh.read(16) if stat.S_ISREG(os.fstat(fd).st_mode) else b""


def _unchecked(header: bytes) -> bool:
    return len(header) >= 8 and int.from_bytes(header[4:8], "little") == UNCHECKED_HASH


def is_current(source: str) -> bool:
    header = _header(importlib.util.cache_from_source(source))
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER or not _unchecked(header):
        return False
    try:
        with open(source, "rb") as fh:
            return header[8:16] == importlib.util.source_hash(fh.read())
    except OSError:
        return False


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def tidy_cache(folder: str, cache: str) -> bool:
    """Remove from ``cache`` (``folder``'s ``__pycache__``) the pycs whose source is gone
    and the foreign ones (another name than this interpreter's for the source, not
    unchecked-hash); whether ``cache`` is left empty."""
    try:
        with os.scandir(cache) as listing:
            entries = list(listing)
    except OSError:  # unreadable: left as it is
        return False
    kept = len(entries)
    for entry in entries:
        if not entry.name.endswith(".pyc"):
            continue
        source = os.path.join(folder, entry.name.split(".", 1)[0] + ".py")
        if not os.path.isfile(source) or (
                entry.path != importlib.util.cache_from_source(source)
                and not _unchecked(_header(entry.path))):
            _remove(entry.path)
            kept -= 1
    return kept == 0


def walk(root: str, tidy: bool, emptied: list[str]) -> Iterator[str]:
    """The ``.py`` files below ``root`` (regular files, or links to them; folders that are
    links are not entered); with ``tidy``, each ``__pycache__`` on the way is tidied
    (``tidy_cache``) and those left empty are added to ``emptied``."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    stack.append(entry.path)
                elif tidy and tidy_cache(folder, entry.path):
                    emptied.append(entry.path)
            elif entry.name.endswith(".py") and entry.is_file():
                yield entry.path


def remove_empty(folders: list[str], root: str) -> None:
    """Remove each of ``folders`` that is empty, then its parents up to ``root`` while
    they are (a package whose last file an uninstall removed)."""
    for folder in sorted(folders, reverse=True):
        while folder != root and folder.startswith(root + "/"):
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)


def sources(args: list[str], tidy: bool = False) -> Iterator[str]:
    for arg in args:
        if arg.startswith("@"):
            with open(arg[1:], encoding="utf-8", errors="surrogateescape") as listing:
                yield from (line.rstrip("\n") for line in listing if line.strip())
            continue
        root = arg.rstrip("/") or "/"
        emptied: list[str] = []
        yield from walk(root, tidy, emptied)
        remove_empty(emptied, root)


def run_time_name(path: str, strip: str, prepend: str) -> str:
    """The name the code object records: ``path`` with ``strip`` replaced by ``prepend``."""
    strip = strip.rstrip("/")
    return prepend.rstrip("/") + path[len(strip):] if path.startswith(strip + "/") else path


def compile_one(args: tuple[str, str, str]) -> bool:
    """Write ``path``'s pyc (atomically: a temporary file renamed over it, never a write
    through a link); False when it does not compile or cannot be written."""
    path, strip, prepend = args
    pyc = importlib.util.cache_from_source(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        code = compile(data, run_time_name(path, strip, prepend), "exec", dont_inherit=True)
    except Exception:  # noqa: BLE001 - compileall -q's rule: whatever fails to compile is skipped
        if not _unchecked(_header(pyc)):
            _remove(pyc)  # an installer's, naming the build path
        return False
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
    options: list[str] = []
    while argv and argv[0] in ("--force", "--tidy"):
        options, argv = [*options, argv[0]], argv[1:]
    strip, prepend, *roots = argv
    force = "--force" in options
    stale = [path for path in sources(roots, "--tidy" in options) if force or not is_current(path)]
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
