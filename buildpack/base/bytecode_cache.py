"""The buildpack's own bytecode, kept in CACHE_DIR (``buildpack-bytecode``).

``bin/*`` run the host's Python with ``-B``, and the buildpack's folder holds no bytecode
(writing there is writing outside BUILD_DIR and CACHE_DIR), so every run compiled the
buildpack's modules from source: about 50 ms of every build, a fifth of a warm build of
a small app.

``bin/_run.py`` calls ``use`` for ``compile`` and ``test-compile`` before it imports the
rest of the buildpack: the buildpack's own modules (and only those: the standard
library keeps its own bytecode) are then loaded from the bytecode kept in CACHE_DIR when
it is there and of the module's current source (a checked-hash pyc: the source's hash
is in its header), else compiled from source as before. After a successful build,
``refresh`` writes the bytecode of each module that was compiled from source, so a new
buildpack version or host Python costs one build.

A damaged file (truncated, edited, a link or a FIFO in its place) is never run: it does
not load, the module is compiled from source, and the next successful build writes it
anew. CACHE_DIR is the app's, written by the code its own build runs (hooks,
setup.py), which can as well change anything this build does: the checks are for
damage, not for a forger.

Imports nothing of the buildpack: it is imported before the modules it loads.
"""
from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import marshal
import os
import stat
import sys
import types
import zipimport
from pathlib import Path
from typing import Any

NAME = "buildpack-bytecode"  # in CACHE_DIR (cache.layout lists it)
PACKAGE = "buildpack"
# The top-level modules of the libraries' wheels (vendor/libraries.txt; a test keeps them
# in step with it).
LIBRARIES = ("packaging", "tomli", "tomli_w")
_MAX_PYC_BYTES = 8 << 20
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | os.O_NOFOLLOW
_CHECKED_HASH = 0b11  # PEP 552: hash-based, checked against the source

# The modules this run compiled from source, which ``refresh`` writes:
# the bytecode's place -> (the kept folder, the pyc's bytes).
_COMPILED: dict[Path, tuple[Path, bytes]] = {}


def folder(cache_dir: Path) -> Path:
    """Where the bytecode for this Python is kept."""
    tag = sys.implementation.cache_tag or "none"
    return cache_dir / NAME / (tag + (f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""))


def use(cache_dir: str) -> None:
    """Load the buildpack's modules from the bytecode kept in ``cache_dir``."""
    if not cache_dir:
        return  # no CACHE_DIR: the build stops at its usage error
    try:
        root = folder(Path(os.path.abspath(cache_dir)))
    except (TypeError, ValueError, OSError):
        return
    sys.meta_path.insert(0, _Finder(root))


class _Finder:
    """A meta path finder (``importlib.abc.MetaPathFinder``) for the buildpack's modules
    and its libraries' (``base/libraries``: wheels on ``sys.path``, read by zipimport)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Any = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in (PACKAGE, *LIBRARIES):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.origin is None:
            return spec
        relative = fullname.replace(".", "/") + ("/__init__" if spec.submodule_search_locations
                                                 is not None else "")
        pyc = self.root / f"{relative}.pyc"
        loader: object = spec.loader
        if type(loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _Loader(fullname, loader.path, self.root, pyc)
        elif isinstance(loader, zipimport.zipimporter):
            # a loader by its protocol (create_module, exec_module), not importlib.abc's class
            spec.loader = _ZipLoader(loader, spec.origin, self.root, pyc)  # type: ignore[assignment]
        return spec


class _Loader(importlib.machinery.SourceFileLoader):
    """Loads the kept bytecode when it is of the current source, else compiles as usual."""

    def __init__(self, fullname: str, path: str, root: Path, pyc: Path) -> None:
        super().__init__(fullname, path)
        self.root = root
        self.pyc = pyc

    def get_code(self, fullname: str) -> types.CodeType:
        return _code(self.root, self.pyc, self.get_data(self.path), self.path)


class _ZipLoader:
    """zipimport's loader of one library module, but the code from the kept bytecode."""

    def __init__(self, inner: zipimport.zipimporter, origin: str, root: Path, pyc: Path) -> None:
        self.inner = inner
        self.origin = origin
        self.root = root
        self.pyc = pyc

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        exec(_code(self.root, self.pyc, self.inner.get_data(self.origin), self.origin),
             module.__dict__)

    def __getattr__(self, name: str) -> Any:  # is_package, get_source, get_resource_reader
        return getattr(self.inner, name)


def _code(root: Path, pyc: Path, source: bytes, origin: str) -> types.CodeType:
    """The code of ``source``: from ``pyc`` when it holds the code of this very source
    (its hash in the header), else compiled and kept for ``refresh``."""
    source_hash = importlib.util.source_hash(source)
    data = _read(pyc)
    if data is not None and len(data) > 16 and data[:4] == importlib.util.MAGIC_NUMBER \
            and int.from_bytes(data[4:8], "little") == _CHECKED_HASH and data[8:16] == source_hash:
        try:
            code = marshal.loads(memoryview(data)[16:])
            if isinstance(code, types.CodeType):
                return code
        except (ValueError, EOFError, TypeError):
            pass  # damaged: compiled from source, and written anew
    code = compile(source, origin, "exec", dont_inherit=True)
    # PEP 552's header: magic, flags (checked hash), the source's hash
    _COMPILED[pyc] = (root, importlib.util.MAGIC_NUMBER + _CHECKED_HASH.to_bytes(4, "little")
                      + source_hash + marshal.dumps(code))
    return code


def _read(path: Path) -> bytes | None:
    """A regular file of at most ``_MAX_PYC_BYTES``, never through a link or a FIFO (the
    checks of ``cache_files.read``, which loads through this module)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_PYC_BYTES:
            return None
        data = os.read(fd, _MAX_PYC_BYTES + 1)
        return data if len(data) == st.st_size else None
    except OSError:
        return None
    finally:
        os.close(fd)


def refresh() -> None:
    """Write the bytecode of the modules this run compiled from source (best effort:
    each file is written whole or not at all)."""
    from buildpack.base import atomic_write, cache_files  # here: loaded through this module's finder

    for pyc, (root, data) in sorted(_COMPILED.items()):
        with contextlib.suppress(OSError):
            if not _folders(root.parent.parent, pyc):
                continue
            cache_files.make_way(pyc)  # a link, a FIFO or a folder in its place goes
            atomic_write.write_bytes(pyc, data)
    _COMPILED.clear()


def _folders(cache_dir: Path, pyc: Path) -> bool:
    """Make the folders from ``cache_dir`` down to ``pyc``; False when one is a link (the
    bytecode would be written elsewhere)."""
    here = cache_dir
    for part in pyc.relative_to(cache_dir).parts[:-1]:
        here = here / part
        if os.path.islink(here):
            return False
        if not here.is_dir():
            here.mkdir()
    return True
