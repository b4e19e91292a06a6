"""Pack one installed CPython prefix into a clean, relocatable runtime archive.

The archive unpacks (no top-level folder) to::

    bin/python3.X, bin/python3 -> python3.X, bin/python -> python3.X
    lib/libpython3.X.so*, lib/libpython3.so
    lib/python3.X/...        the stdlib, lib-dynload, ensurepip and its pip wheel,
                             an empty site-packages; no test suites
    include/python3.X/...

Steps: copy the wanted files into a staging dir; point RUNPATHs at ``$ORIGIN`` (so
libpython is found next to the interpreter wherever it is unpacked); make the sysconfig
data compute its paths from where the interpreter runs (a build compiles C extensions
against BUILD_DIR/.heroku/python, the slug then runs from /app) and point the config
Makefile at the platform's run-time prefix; compile the bytecode with the staged
interpreter itself (which also proves that it runs from a new place); smoke test it;
write a deterministic tar.gz.

The source can be an installation in its own prefix (pyenv) or a ``make install
DESTDIR=...`` tree, whose files name the configured prefix rather than where they are.
"""
from __future__ import annotations

import json
import lzma
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from buildpack.base import atomic_write, interpreter, output, platform_info
from buildpack.base.children import run_quiet
from buildpack.base.hashing import file_sha256
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import RUNTIME_PREFIX
from buildpack.installers.pinned_tools import bundled_pip_wheel
from buildpack.runtime import variants
from buildpack.runtime.manifest import RuntimeEntry, archive_name
from buildpack.runtime.relocate import compile_all

# Bytecode is unchecked-hash, so file times carry no meaning: use one fixed time
# (2000-01-01) and archives of the same files are byte-identical.
ARCHIVE_MTIME = 946684800
# Left out of every archive (docs/runtime-store.md lists them): test suites, the IDLE
# editor and the turtle demos (desktop tools a server never runs), the source's
# bytecode (compiled afresh), static libraries and CPython's own test modules.
_SKIPPED_STDLIB_DIRS = frozenset({"__pycache__", "test", "tests", "idle_test", "idlelib",
                                  "turtledemo"})
_SKIPPED_EXTENSION_RE = re.compile(r"^(?:_test\w*|_ctypes_test|_xxtestfuzz|xxlimited\w*|xxsubtype"
                                   r"|_testcapi\w*)\.")
# The compressor: xz (the standard library's lzma, so any Python 3.9+ build host
# unpacks it) gives archives about a quarter smaller than gzip (docs/runtime-store.md
# has the measurements); its header carries no timestamp.
ARCHIVE_SUFFIX = "tar.xz"
XZ_PRESET = 6
_PATH_CONTINUES = {bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-"}
# An rpath relative to the binary, as configure flags spell it in sysconfig data and
# Makefiles ($ORIGIN, $$ORIGIN, \$$ORIGIN, ${ORIGIN}, with the backslash doubled in a repr).
_ORIGIN_RPATH = r"(?:\\{1,2})?\${1,2}\{?ORIGIN\}?(?:/[^\s'\"\\]*)?"
_SMOKE_TEST = (
    "import json, platform, sys, sysconfig\n"
    "import ssl, sqlite3, ctypes, zlib, ensurepip\n"
    "print(json.dumps({'version': platform.python_version(), 'prefix': sys.prefix,\n"
    "                  'config_prefix': sysconfig.get_config_var('prefix'),\n"
    "                  'include': sysconfig.get_config_var('INCLUDEPY')}))\n"
)

# In ``_sysconfigdata_*.py`` the build prefix becomes this marker, and code appended to
# the module replaces it with the running interpreter's prefix: sysconfig (and so
# setuptools' INCLUDEPY, LIBDIR, ...) is right in BUILD_DIR during the build and in
# /app after the slug has moved. No real path contains the marker.
PREFIX_MARKER = "@BUILDPACK_PYTHON_PREFIX@"
_SYSCONFIGDATA_FOOTER = f"""
# Added by buildpack-python: this runtime is relocatable (an app is built in one
# directory and run from another), so the paths above are written relative to
# {PREFIX_MARKER!r}, which names wherever this interpreter runs.
import sys as _sys

build_time_vars = {{
    _key: _value.replace({PREFIX_MARKER!r}, _sys.base_prefix) if isinstance(_value, str) else _value
    for _key, _value in build_time_vars.items()
}}
del _sys
"""


@dataclass(frozen=True)
class Interpreter:
    """A CPython installed in its own prefix, built with --enable-shared."""

    prefix: Path  # where its files are now (real path)
    version: str  # "3.12.1"
    # The --prefix it was configured with, if that is not where it is (``make install
    # DESTDIR=...``): the path its binaries and sysconfig data name.
    configured_prefix: Path | None = None
    variant: str = variants.DEFAULT  # "freethreaded": built with --disable-gil

    @property
    def build_prefix(self) -> Path:
        """The prefix compiled into the installation, to be relocated."""
        return self.configured_prefix or self.prefix

    @property
    def xy(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def tagged_minor(self) -> str:
        """"3.13", or "3.13t" for the free-threaded build."""
        return variants.tagged_minor(self.version, self.variant)

    @property
    def name(self) -> str:
        """"python3.13" or "python3.13t": the interpreter's, stdlib's and headers' name."""
        return variants.python_name(self.version, self.variant)

    @property
    def label(self) -> str:
        """"3.13.15" or "3.13.15t", as logs and archive names say it."""
        return variants.versioned(self.version, self.variant)

    @property
    def executable(self) -> Path:
        return self.prefix / "bin" / self.name

    @property
    def stdlib(self) -> Path:
        return self.prefix / "lib" / self.name

    @property
    def soname(self) -> str:
        return variants.libpython_soname(self.version, self.variant)


# --- pure helpers -----------------------------------------------------------------

def is_wanted(rel: str, xy: str, is_dir: bool = False) -> bool:
    """Whether the prefix-relative POSIX path ``rel`` belongs in the archive (``xy``:
    "3.13", or "3.13t" for a free-threaded runtime: ``Interpreter.tagged_minor``).

    Directories are asked too: a directory that is not wanted is not descended into.
    """
    parts = rel.split("/")
    top, rest = parts[0], parts[1:]
    stdlib = f"python{xy}"
    if top == "bin":
        # Only the interpreter: other scripts have absolute shebangs; the python3
        # and python links are made afresh.
        return not rest or (rest == [stdlib] and not is_dir)
    if top == "include":
        return not rest or rest[0] == stdlib
    if top != "lib":
        return False
    if not rest:
        return True
    if len(rest) == 1 and not is_dir:
        name = rest[0]
        return name == "libpython3.so" or name.startswith(f"lib{stdlib}.so")
    if rest[0] != stdlib:
        return False  # lib/pkgconfig (names the old prefix), other Pythons' stdlibs
    inner = rest[1:]
    if not inner:
        return True
    if inner[0] == "site-packages":
        return len(inner) == 1 or inner == ["site-packages", "README.txt"]
    dirs = inner if is_dir else inner[:-1]
    if any(part in _SKIPPED_STDLIB_DIRS for part in dirs):
        return False
    name = inner[-1]
    if not is_dir and len(inner) == 2 and inner[0] == "lib-dynload" and _SKIPPED_EXTENSION_RE.match(name):
        return False
    return is_dir or not (name.startswith("libpython") and name.endswith(".a"))


def rewrite_build_paths(text: str, old_prefix: str, new_prefix: str = RUNTIME_PREFIX) -> str:
    """Point sysconfig data (or the config Makefile) at the run-time prefix.

    ``-Wl,-rpath,<old>/lib`` and ``-Wl,-rpath,$ORIGIN/...`` flags are dropped rather
    than rewritten: extensions built later must not carry an rpath (the runtime relies
    on its own RUNPATH and on LD_LIBRARY_PATH; an ``$ORIGIN`` path that suits
    bin/python means nothing in site-packages). The prefix only matches whole:
    ``/x/3.12.1`` is not replaced inside ``/x/3.12.10``.
    """
    old = re.escape(old_prefix.rstrip("/"))
    end = r"(?![\w.+-])"
    target = rf"(?:{old}/lib/?|{_ORIGIN_RPATH})"
    text = re.sub(rf"[ \t]?-Wl,-rpath[,=]{target}(?=[\s'\"\\]|$)", "", text)
    return re.sub(old + end, new_prefix.replace("\\", r"\\"), text)


def relocatable_sysconfigdata(text: str, old_prefix: str) -> str:
    """``_sysconfigdata_*.py`` whose paths follow the interpreter wherever it runs.

    The build prefix is written as ``PREFIX_MARKER`` and a footer swaps in
    ``sys.base_prefix`` when sysconfig imports the module. Idempotent.
    """
    text = rewrite_build_paths(text, old_prefix, PREFIX_MARKER)
    if _SYSCONFIGDATA_FOOTER in text:
        return text
    return text.rstrip("\n") + "\n" + _SYSCONFIGDATA_FOOTER


def relocatable_build_details(text: str, old_prefix: str) -> str:
    """PEP 739's ``build-details.json`` with relative paths (3.14+).

    The PEP allows a relative ``base_prefix`` (relative to the file's directory, here
    ``lib/python3.X``) and paths relative to ``base_prefix`` elsewhere, which is what
    ``--with-relative-paths`` builds write: the file stays right wherever the runtime
    is unpacked. Values that do not name the prefix are kept.
    """
    data = json.loads(text)
    old = old_prefix.rstrip("/")

    def relative(value: object) -> object:
        if isinstance(value, str) and (value == old or value.startswith(old + "/")):
            return os.path.relpath(value, old)
        return value

    if data.get("base_prefix") in (old, old + "/"):
        data["base_prefix"] = "../.."  # from lib/python3.X
    if "base_interpreter" in data:
        data["base_interpreter"] = relative(data["base_interpreter"])
    for section, keys in (("libpython", ("dynamic", "dynamic_stableabi", "static")),
                          ("c_api", ("headers", "pkgconfig_path"))):
        values = data.get(section)
        if isinstance(values, dict):
            for key in keys:
                if key in values:
                    values[key] = relative(values[key])
    return json.dumps(data, indent=2) + "\n"


def patch_c_strings(data: bytes, old: bytes, new: bytes, keep_suffix: bytes = b"") -> tuple[bytes, int, int]:
    """Replace ``old`` inside NUL-terminated strings of a binary, without moving anything.

    Each string containing ``old`` is rewritten in place with ``new`` and a NUL; the bytes
    after that NUL are left as they were. Linkers merge a literal into the tail of a
    longer one (libpython's ``PY_VERSION`` "3.12.1" is the tail of the compiled-in
    prefix ".../versions/3.12.1"), so tails must survive. A string that ends with
    ``keep_suffix`` is patched only if that suffix stays untouched, and one that would
    grow is left alone. Returns (data, strings patched, strings left alone).
    """
    if not old or old not in data:
        return data, 0, 0
    buf = bytearray(data)
    patched = skipped = 0
    start = 0
    while True:
        at = buf.find(old, start)
        if at < 0:
            break
        start = at + len(old)
        if bytes(buf[start:start + 1]) in _PATH_CONTINUES:
            continue  # a longer path ("/x/3.12.10" when replacing "/x/3.12.1")
        end = buf.find(b"\0", at)
        end = len(buf) if end < 0 else end
        replacement = new + bytes(buf[start:end]) + b"\0"
        limit = end - at + 1
        if keep_suffix and bytes(buf[at:end]).endswith(keep_suffix):
            limit = end - at - len(keep_suffix)
        if len(replacement) <= limit:
            buf[at:at + len(replacement)] = replacement
            patched += 1
            start = at + len(new)  # the rest of this string may name ``old`` again
        else:
            skipped += 1
    return bytes(buf), patched, skipped


def relative_runpath(file_dir: str, lib_dir: str) -> str:
    """``$ORIGIN``-relative RUNPATH from ``file_dir`` to ``lib_dir`` (both staging-relative)."""
    rel = os.path.relpath(lib_dir, file_dir)
    return "$ORIGIN" if rel == "." else f"$ORIGIN/{rel}"


def human_size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


# --- I/O --------------------------------------------------------------------------

def _child_env() -> dict[str, str]:
    """The staged interpreter's environment: nothing that could point it elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["LD_LIBRARY_PATH"] = ""  # RUNPATH alone must find libpython
    env.pop("LD_PRELOAD", None)
    return env


def copy_selected(prefix: Path, staging: Path, xy: str) -> tuple[int, int]:
    """Copy the wanted files of ``prefix`` into ``staging``; returns (files, bytes)."""
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(prefix):
        rel_dir = os.path.relpath(dirpath, prefix)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        if rel_dir:
            (staging / rel_dir).mkdir(exist_ok=True)
        keep_dirs = []
        for name in sorted(dirnames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if os.path.islink(os.path.join(dirpath, name)):
                filenames.append(name)  # a link to a directory: copied as a link
            elif is_wanted(rel, xy, is_dir=True):
                keep_dirs.append(name)
        dirnames[:] = keep_dirs
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not is_wanted(rel, xy):
                continue
            size += _copy_entry(Path(dirpath, name), staging / rel, prefix)
            files += 1
    return files, size


def _copy_entry(src: Path, dst: Path, prefix: Path) -> int:
    """Copy a file, or a symlink that stays inside ``prefix`` as a symlink."""
    if src.is_symlink():
        target = os.readlink(src)
        resolved = os.path.realpath(src)
        inside = os.path.commonpath([resolved, str(prefix)]) == str(prefix)
        if not os.path.isabs(target) and inside:
            os.symlink(target, dst)
            return 0
        if not os.path.isfile(resolved):
            return 0  # a dangling or out-of-prefix directory link: nothing to pack
    shutil.copyfile(src, dst)
    executable = os.stat(src).st_mode & 0o111
    os.chmod(dst, 0o755 if executable else 0o644)
    return dst.stat().st_size


def _is_linked_elf(path: Path) -> bool:
    """An ELF executable or shared object (not an object file like config/python.o)."""
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as fh:
        head = fh.read(18)
    if len(head) < 18 or head[:4] != b"\x7fELF":
        return False
    e_type = int.from_bytes(head[16:18], "little" if head[5] == 1 else "big")
    return e_type in (2, 3)  # ET_EXEC, ET_DYN


def _walk_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, _dirnames, filenames in os.walk(root):
        found.extend(Path(dirpath, name) for name in filenames)
    return sorted(found)


def _run_patchelf(patchelf: Path, *args: str) -> str:
    proc = run_quiet([str(patchelf), *args], timeout=120)  # process::timeout past it
    if proc.returncode != 0:
        raise BuildError(
            "patchelf failed while relocating the interpreter",
            f"patchelf {' '.join(args)}\nexited with status {proc.returncode}:\n"
            f"{proc.stderr.strip()}",
            error_id="runtime-archive::patchelf-failed",
        )
    return proc.stdout.strip()


def relocate_binaries(staging: Path, interp: Interpreter, patchelf: Path) -> tuple[int, int]:
    """Set $ORIGIN RUNPATHs and patch the compiled-in prefix; returns (runpaths, strings).

    A RUNPATH naming the build prefix or ``$ORIGIN`` is pointed at ``lib/`` from where
    the file is (a configure-wide ``-Wl,-rpath,$ORIGIN/../lib`` is right only for
    bin/python).
    """
    old = str(interp.build_prefix)
    always = {f"bin/{interp.name}", f"lib/{interp.soname}"}
    runpaths = strings = 0
    for path in _walk_files(staging):
        if not _is_linked_elf(path):
            continue
        rel = path.relative_to(staging).as_posix()
        current = _run_patchelf(patchelf, "--print-rpath", str(path))
        if rel in always or old in current or "$ORIGIN" in current:
            wanted = "$ORIGIN/../lib" if rel in always else relative_runpath(os.path.dirname(rel), "lib")
            if current != wanted:
                _run_patchelf(patchelf, "--set-rpath", wanted, str(path))
                runpaths += 1
        if old == RUNTIME_PREFIX:
            continue  # configured for the run-time prefix: its strings are right already
        data = path.read_bytes()
        if old.encode() in data:
            new_data, patched, _left = patch_c_strings(
                data, old.encode(), RUNTIME_PREFIX.encode(), keep_suffix=interp.version.encode())
            if patched:
                path.write_bytes(new_data)
                strings += patched
    return runpaths, strings


def strip_binaries(staging: Path) -> tuple[int, int]:
    """Strip debug information and local symbols from every ELF file; returns (files,
    bytes saved). Without binutils' ``strip`` the archive is only bigger."""
    strip = shutil.which("strip")
    if strip is None:
        output.warning("strip is not installed: the archive keeps its debug symbols",
                       "Install binutils (build-essential) for a smaller archive.")
        return 0, 0
    elfs = [p for p in _walk_files(staging) if _is_linked_elf(p)]
    before = sum(p.stat().st_size for p in elfs)
    for path in elfs:
        proc = subprocess.run([strip, "--strip-unneeded", "-R", ".comment", "-R", ".note", str(path)],
                              capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise BuildError(f"strip failed on {path.name}", proc.stderr.strip(),
                             error_id="runtime-archive::strip-failed")
    return len(elfs), before - sum(p.stat().st_size for p in elfs)


def rewrite_sysconfig(staging: Path, interp: Interpreter) -> list[str]:
    """Make sysconfig data and build-details.json relocatable; point the config
    Makefile, python-config.py and ``_sysconfig_vars_*.json`` at the run-time prefix
    (static files: the paths a tool reads there are the slug's at run time)."""
    stdlib = staging / "lib" / interp.name
    targets = sorted(stdlib.glob("_sysconfigdata_*.py")) + sorted(stdlib.glob("_sysconfig_vars_*.json"))
    targets += [p for p in (stdlib / "build-details.json",) if p.is_file()]
    for config_dir in sorted(stdlib.glob(f"config-{interp.xy}*")):
        targets += [p for p in (config_dir / "Makefile", config_dir / "python-config.py") if p.is_file()]
    changed = []
    old = str(interp.build_prefix)
    for path in targets:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if path.name.startswith("_sysconfigdata_"):
            new = relocatable_sysconfigdata(text, old)
        elif path.name == "build-details.json":
            new = relocatable_build_details(text, old)
        else:  # the config Makefile, python-config.py, _sysconfig_vars_*.json (3.14+)
            new = rewrite_build_paths(text, old)
        if new != text:
            path.write_text(new, encoding="utf-8", errors="surrogateescape")
            changed.append(path.relative_to(staging).as_posix())
    return changed


def compile_bytecode(staging: Path, interp: Interpreter) -> None:
    """Compile the stdlib with the staged interpreter, recording run-time file names.

    ``-B`` stops the import system writing timestamp pycs (with staging paths) for the
    modules compileall itself imports; ``-f`` recompiles whatever exists anyway.
    """
    python = staging / "bin" / interp.name
    proc = compile_all(python, [str(staging / "lib" / interp.name)], staging,
                       RUNTIME_PREFIX, _child_env(), cwd=staging)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BuildError(
            f"Could not compile the bytecode of Python {interp.version}",
            f"The staged interpreter (copied from {interp.prefix}) exited with status\n"
            f"{proc.returncode} while compiling its standard library:\n\n{tail}",
            error_id="runtime-archive::bytecode-failed",
        )


def smoke_test(staging: Path, interp: Interpreter) -> dict[str, str]:
    """Run the staged interpreter away from its old prefix; returns what it reported."""
    python = staging / "bin" / interp.name
    problem, info = "", {}
    try:
        info = interpreter.query(python, _SMOKE_TEST, env=_child_env(), cwd=staging)
    except interpreter.QueryError as exc:
        problem = str(exc)
    if not problem:
        if info["version"] != interp.version:
            problem = f"It reports version {info['version']!r}, expected {interp.version}."
        elif os.path.realpath(info["prefix"]) != os.path.realpath(staging):
            problem = f"It found its standard library in {info['prefix']}, not next to itself."
        elif os.path.realpath(info["config_prefix"] or "") != os.path.realpath(staging):
            problem = f"sysconfig says prefix={info['config_prefix']}, not where it runs."
        elif info["include"] != os.path.join(info["config_prefix"], "include", interp.name):
            problem = f"sysconfig says INCLUDEPY={info['include']}."
    if problem:
        raise BuildError(
            f"The relocated Python {interp.version} does not work",
            f"After copying {interp.prefix} and making it relocatable, the copy failed\n"
            f"its smoke test (import ssl, sqlite3, ctypes, zlib, json, ensurepip, sysconfig\n"
            f"with an empty LD_LIBRARY_PATH). {problem}\n\n"
            "Check that the interpreter itself imports those modules; it must be a CPython\n"
            "built with --enable-shared whose extension modules' libraries are installed.",
            error_id="runtime-archive::relocated-python-broken",
        )
    return info


def leftover_references(staging: Path, old_prefix: str) -> list[str]:
    """Binaries, bytecode and sysconfig files that still name the build prefix."""
    needle = old_prefix.encode()
    found = []
    for path in _walk_files(staging):
        if path.is_symlink():
            continue
        name = path.name
        if not (name.endswith(".pyc") or name.startswith("_sysconfigdata_")
                or name == "Makefile" or _is_linked_elf(path)):
            continue
        if needle in path.read_bytes():
            found.append(path.relative_to(staging).as_posix())
    return found


def _tarinfo(staging: Path, rel: str) -> tarfile.TarInfo:
    path = staging / rel
    info = tarfile.TarInfo(rel)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = ARCHIVE_MTIME
    if path.is_symlink():
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
    elif path.is_dir():
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size = path.stat().st_size
        info.mode = 0o755 if os.stat(path).st_mode & 0o111 else 0o644
    return info


def write_archive(staging: Path, dest: Path) -> tuple[str, int]:
    """Write ``staging`` as a deterministic tar.xz at ``dest`` (via a temp name):
    sorted members, fixed owner, mode and mtime, and xz has no header timestamp."""
    members = []
    for dirpath, dirnames, filenames in os.walk(staging):
        rel_dir = os.path.relpath(dirpath, staging)
        for name in dirnames + filenames:
            members.append(os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/"))
    with atomic_write.replacing(dest) as raw:
        with lzma.LZMAFile(raw, mode="wb", format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                           preset=XZ_PRESET) as xz:
            with tarfile.open(fileobj=xz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for rel in sorted(members):
                    info = _tarinfo(staging, rel)
                    if info.isreg():
                        with open(staging / rel, "rb") as fh:
                            tar.addfile(info, fh)
                    else:
                        tar.addfile(info)
    return file_sha256(dest), dest.stat().st_size


def require_bundled_pip(interp: Interpreter) -> Path:
    wheel = bundled_pip_wheel(interp.stdlib)
    if wheel is None:
        raise BuildError(
            f"Python {interp.version} in {interp.prefix} has no bundled pip",
            f"{interp.stdlib}/ensurepip/_bundled/ has no pip-*.whl. The buildpack installs\n"
            "pip from that wheel, so a runtime without it cannot be used.\n\n"
            f"Distributions strip it from their system Python (on Debian/Ubuntu, install\n"
            f"{interp.name}-venv). Better: build CPython from source, e.g.\n"
            f"  PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install {interp.version}\n"
            "(ensurepip is kept unless configured --with-ensurepip=no).",
            error_id="runtime-archive::no-bundled-pip",
        )
    return wheel


def pack(interp: Interpreter, out_dir: Path, patchelf: Path) -> RuntimeEntry:
    """Pack ``interp`` into ``out_dir``; returns the manifest entry for the archive.

    Each phase (copy, strip, relocate, bytecode, smoke test, compress) is logged with
    its elapsed time.
    """
    started = time.monotonic()
    out_dir = out_dir.absolute()  # compileall strips the staging dir as an absolute path
    stack, arch = platform_info.current_stack(), platform_info.current_arch()
    name = archive_name(interp.version, stack, arch, ARCHIVE_SUFFIX, interp.variant)
    output.step(f"Packing python-{interp.label} from {interp.prefix}")
    wheel = require_bundled_pip(interp)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-python-{interp.label}-", dir=out_dir))
    phase = time.monotonic()

    def elapsed() -> str:
        nonlocal phase
        now, begun = time.monotonic(), phase
        phase = now
        return f"{now - begun:.1f}s"

    try:
        files, size = copy_selected(interp.prefix, staging, interp.tagged_minor)
        output.detail(f"copy: {files} files ({human_size(size)}); bundled pip: {wheel.name} ({elapsed()})")
        # A free-threaded build also answers to python3.X, as its ``make install`` has it.
        for link in ("python3", "python", *([f"python{interp.xy}"] if interp.variant else [])):
            os.symlink(interp.name, staging / "bin" / link)
        stripped, saved = strip_binaries(staging)
        output.detail(f"strip: {stripped} ELF files, {human_size(saved)} of symbols removed ({elapsed()})")
        rewritten = rewrite_sysconfig(staging, interp)
        runpaths, strings = relocate_binaries(staging, interp, patchelf)
        if str(interp.build_prefix) == RUNTIME_PREFIX:
            strings_note = f"configured for {RUNTIME_PREFIX}"
        else:
            strings_note = f"{strings} compiled-in prefix string(s) now say {RUNTIME_PREFIX}"
        output.detail(f"relocate: RUNPATH of {runpaths} ELF files set to $ORIGIN, {strings_note}, "
                      f"{len(rewritten)} sysconfig file(s) rewritten ({elapsed()})")
        compile_bytecode(staging, interp)
        output.detail(f"bytecode: compiled (unchecked-hash) by the relocated interpreter ({elapsed()})")
        info = smoke_test(staging, interp)
        output.detail(f"smoke test: Python {info['version']} runs from the staging dir ({elapsed()})")
        old = str(interp.build_prefix)
        leftovers = [] if old == RUNTIME_PREFIX else leftover_references(staging, old)
        if leftovers:
            output.warning(
                f"python-{interp.label} still names its build prefix",
                f"These files contain {old}:\n"
                + "\n".join(f"  {p}" for p in leftovers[:20])
                + "\nThe archive works, but those paths are wrong at run time.",
            )
        sha256, archive_size = write_archive(staging, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    output.detail(f"pack: {name}, {human_size(archive_size)}, sha256 {sha256} ({elapsed()}; "
                  f"{time.monotonic() - started:.0f}s in all)")
    return RuntimeEntry(version=interp.version, stack=stack, arch=arch, file=name,
                        sha256=sha256, size=archive_size, variant=interp.variant)
