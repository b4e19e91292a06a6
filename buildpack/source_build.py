"""Build CPython from a source tarball, for ``bin/build-runtime-store --from-source``.

The tarball is unpacked (checked like a runtime archive) into a work dir, configured for
the platform's prefix as a shared build, made, and installed with ``DESTDIR`` into a
staging tree. That tree is then packed like any other installation
(``runtime_archive.pack``), so relocation, stripping, bytecode, the smoke test and the
manifest entry are shared.

Everything the build prints goes to ``<work dir>/build.log``; on failure its tail is
shown with the build dependencies that are usually missing, and the log is kept.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from collections.abc import Iterator, Mapping, Sequence

from buildpack import output
from buildpack.output import BuildError
from buildpack.relocate import RUNTIME_PREFIX
from buildpack.runtime_archive import Interpreter
from buildpack.safe_extract import UnsafeArchive, extract_archive

CONFIGURE_ARGS = (
    f"--prefix={RUNTIME_PREFIX}",
    "--enable-shared",
    "--with-ensurepip=no",     # the stdlib keeps ensurepip and its pip wheel; none installed
    "--disable-test-modules",  # not packed anyway (3.10+; older configures ignore it)
)
# configure copies LDFLAGS into the Makefile; make turns ``$$`` into ``$`` and the shell
# turns ``\$`` into ``$``, so the linker gets a literal $ORIGIN: bin/python finds
# libpython in ../lib wherever the runtime is unpacked.
ORIGIN_RPATH_LDFLAG = r"-Wl,-rpath,\$$ORIGIN/../lib"
OPTIMIZE_ARGS = ("--enable-optimizations", "--with-lto")
# Variables of the calling environment that would change the build itself.
_ENV_DROPPED = ("LD_LIBRARY_PATH", "LD_PRELOAD", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
_PY_VERSION_RE = re.compile(r'^#define\s+PY_VERSION\s+"([^"]+)"', re.M)
_FINAL_RE = re.compile(r"^\d+\.\d+\.\d+$")

# Debian/Ubuntu packages with the headers CPython's optional modules need.
BUILD_DEPS = ("build-essential", "pkg-config", "libssl-dev", "zlib1g-dev", "libffi-dev",
              "libsqlite3-dev", "libbz2-dev", "liblzma-dev", "libreadline-dev",
              "libncurses-dev", "uuid-dev", "libgdbm-dev", "tk-dev")
# Modules checked after the build: name -> the package whose headers it needs. Apps
# and pip need the first group; without the second the runtime is usable but poorer.
REQUIRED_MODULES = {"ssl": "libssl-dev", "zlib": "zlib1g-dev", "ctypes": "libffi-dev",
                    "sqlite3": "libsqlite3-dev", "bz2": "libbz2-dev", "lzma": "liblzma-dev"}
OPTIONAL_MODULES = {"readline": "libreadline-dev", "curses": "libncurses-dev",
                    "_uuid": "uuid-dev", "dbm.gnu": "libgdbm-dev"}
# Which modules import, and which libpython the dynamic linker really loaded.
_PROBE = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        found[name] = True
    except Exception:
        found[name] = False
try:
    with open('/proc/self/maps') as maps:
        libpython = sorted({l.split()[-1] for l in maps if '/libpython' in l})
except OSError:
    libpython = []
print(json.dumps({'modules': found, 'libpython': libpython}))
"""


# --- pure helpers -----------------------------------------------------------------

def parse_py_version(patchlevel_h: str) -> str | None:
    """``PY_VERSION`` from ``Include/patchlevel.h``, e.g. "3.11.2" or "3.13.0rc1"."""
    match = _PY_VERSION_RE.search(patchlevel_h)
    return match.group(1) if match else None


def configure_command(source_dir: Path, optimize: bool, extra_ldflags: str = "") -> list[str]:
    ldflags = f"{ORIGIN_RPATH_LDFLAG} {extra_ldflags}".strip()
    return [str(source_dir / "configure"), *CONFIGURE_ARGS,
            *(OPTIMIZE_ARGS if optimize else ()), f"LDFLAGS={ldflags}"]


def build_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The build's environment: the caller's, less what would redirect it.

    PYTHON* variables would change the ``./python`` the build runs; LDFLAGS is passed
    to configure instead (after the $ORIGIN rpath).
    """
    return {k: v for k, v in environ.items()
            if not k.startswith("PYTHON") and k not in _ENV_DROPPED and k != "LDFLAGS"}


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def missing_modules(found: Mapping[str, bool], wanted: Mapping[str, str]) -> dict[str, str]:
    """The modules of ``wanted`` that did not import, with their packages."""
    return {name: package for name, package in wanted.items() if not found.get(name, False)}


def foreign_libpython(loaded: Sequence[str], prefix: Path) -> list[str]:
    """The loaded libpython files that are not the build's own (a wrong RUNPATH lets the
    system's libpython3.X stand in, on hosts that have one)."""
    root = os.path.realpath(prefix)
    return [path for path in loaded if os.path.commonpath([os.path.realpath(path), root]) != root]


def log_tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:]).strip("\n")


def deps_hint() -> str:
    return ("Most often a build dependency is missing. On Debian/Ubuntu (as root):\n"
            f"  apt-get install {' '.join(BUILD_DEPS)}\n"
            "(docs/runtime-store.md says which module needs which).")


# --- I/O --------------------------------------------------------------------------

def check_tarball(path: Path) -> Path:
    """The tarball's absolute path, or a BuildError that says what to give instead."""
    if not path.is_file():
        raise BuildError(
            f"No CPython source tarball at {path}",
            "--from-source takes a CPython source release: Python-X.Y.Z.tar.xz from\n"
            "python.org, or Debian's pristine copy python3.X_X.Y.Z.orig.tar.gz, which\n"
            "`apt-get source --download-only python3.X` fetches (.ci/setup-from-source.sh).",
            error_id="source-build::no-tarball",
        )
    return path.absolute()


def unpack_source(tarball: Path, dest: Path) -> tuple[Path, str]:
    """Unpack ``tarball`` into ``dest`` (checked like a runtime archive).

    Returns the source tree (the tarball's one top-level folder) and its version.
    """
    try:
        extract_archive(tarball, dest)
    except UnsafeArchive as exc:
        raise BuildError(f"Cannot unpack {tarball.name}", f"{tarball}: {exc}.",
                         error_id="source-build::cannot-unpack") from None
    entries = list(dest.iterdir())
    source = entries[0] if len(entries) == 1 else dest
    patchlevel = source / "Include" / "patchlevel.h"
    version = parse_py_version(patchlevel.read_text(errors="replace")) if patchlevel.is_file() else None
    if version is None or not (source / "configure").is_file():
        raise BuildError(
            f"{tarball.name} is not a CPython source tarball",
            "It has no configure script and Include/patchlevel.h under one top-level\n"
            "folder. Give a CPython source release (Python-X.Y.Z.tar.xz).",
            error_id="source-build::not-cpython-source",
        )
    if not _FINAL_RE.match(version):
        raise BuildError(
            f"{tarball.name} is CPython {version}, not a final release",
            "A runtime store holds final releases (X.Y.Z) only: runtime.txt cannot\n"
            "ask for a pre-release or a development snapshot.",
            error_id="source-build::not-final-release",
        )
    return source, version


def run_logged(stage: str, cmd: Sequence[str], cwd: Path, env: Mapping[str, str],
               log_path: Path, version: str) -> float:
    """Run one build stage with its output appended to the log; returns its seconds.

    The stage runs in its own process group, so an interrupt or a failure stops the
    compilers make started too.
    """
    started = time.monotonic()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            code = proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
    if code != 0:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        kept = " (configure's config.log is kept beside it)" if stage == "configure" else ""
        raise BuildError(
            f"Building Python {version} from source failed at '{stage}'",
            f"{' '.join(cmd)}\nexited with status {code}. The end of its output:\n\n"
            f"{log_tail(text)}\n\nThe whole build log: {log_path}{kept}\n\n{deps_hint()}",
            error_id="source-build::build-failed",
        )
    return time.monotonic() - started


def check_installation(interp: Interpreter, log_path: Path) -> None:
    """Run the installed interpreter with an empty LD_LIBRARY_PATH: it must load its own
    libpython (through the $ORIGIN RUNPATH); fail if modules apps need were not built,
    warn about the optional ones."""
    version = interp.version
    names = [*REQUIRED_MODULES, *OPTIONAL_MODULES]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_LIBRARY_PATH": ""}
    proc = subprocess.run([str(interp.executable), "-E", "-s", "-B", "-c", _PROBE, *names],
                          env=env, capture_output=True, text=True, check=False)
    try:
        probed = json.loads(proc.stdout.strip().splitlines()[-1])
        found = probed["modules"]
    except (ValueError, IndexError, KeyError, TypeError):
        raise BuildError(
            f"The Python {version} built from source does not run",
            f"{interp.executable} exited with status {proc.returncode}:\n"
            f"{proc.stderr.strip()}\n\nThe build log: {log_path}",
            error_id="source-build::does-not-run",
        ) from None
    foreign = foreign_libpython(probed["libpython"], interp.prefix)
    if foreign:
        raise BuildError(
            f"The Python {version} built from source loads another libpython",
            f"{interp.executable} loaded {', '.join(foreign)}, not the libpython\n"
            "next to it: its RUNPATH is not $ORIGIN/../lib.\n"
            "Check how LDFLAGS reached the link in the build log: " + str(log_path),
            error_id="source-build::foreign-libpython",
        )
    required = missing_modules(found, REQUIRED_MODULES)
    if required:
        raise BuildError(
            f"Python {version} was built without {', '.join(required)}",
            "configure found no headers for these modules, so make skipped them:\n"
            + "".join(f"  {name:10} needs {package}\n" for name, package in required.items())
            + f"\nInstall those packages, then build again. The build log: {log_path}",
            error_id="source-build::missing-modules",
        )
    optional = missing_modules(found, OPTIONAL_MODULES)
    if optional:
        output.warning(
            f"Python {version} was built without {', '.join(optional)}",
            "Apps that use these modules will fail to import them. To include them,\n"
            f"install {' '.join(sorted(set(optional.values())))} and build again.",
        )


@contextlib.contextmanager
def built_from_source(tarball: Path, optimize: bool = False, jobs: int | None = None,
                      work_root: Path | None = None) -> Iterator[Interpreter]:
    """Build ``tarball`` and yield the installed interpreter (in a DESTDIR tree).

    The work dir is removed afterwards; after a failure only build.log (and configure's
    config.log) are kept.
    """
    if shutil.which("make") is None:
        raise BuildError("Building Python from source needs make", deps_hint(),
                         error_id="source-build::make-missing")
    jobs = jobs or default_jobs()
    work = Path(tempfile.mkdtemp(prefix="build-python-", dir=work_root))
    log_path = work / "build.log"
    ok = False
    try:
        output.step(f"Building Python from source: {tarball.name}")
        source, version = unpack_source(tarball, work / "src")
        env = build_env(os.environ)
        configure = configure_command(source, optimize, os.environ.get("LDFLAGS", ""))
        output.detail(f"Python {version}: {' '.join(configure[1:])}")
        output.detail(f"Build log: {log_path}")
        seconds = run_logged("configure", configure, source, env, log_path, version)
        output.detail(f"configure: {seconds:.0f}s")
        seconds = run_logged("make", ["make", f"-j{jobs}"], source, env, log_path, version)
        output.detail(f"make -j{jobs}: {seconds:.0f}s")
        destdir = work / "destdir"
        seconds = run_logged("make install", ["make", "install", f"DESTDIR={destdir}"],
                             source, env, log_path, version)
        output.detail(f"make install: {seconds:.0f}s")
        shutil.rmtree(source.parent)  # the sources and objects: hundreds of MB
        prefix = (destdir / RUNTIME_PREFIX.lstrip("/")).resolve()
        interp = Interpreter(prefix=prefix, version=version, configured_prefix=Path(RUNTIME_PREFIX))
        check_installation(interp, log_path)
        ok = True
        yield interp
    finally:
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            for config_log in work.glob("src/*/config.log"):
                shutil.move(str(config_log), work / "config.log")
            for child in work.iterdir() if work.is_dir() else []:
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
            if not log_path.exists():
                shutil.rmtree(work, ignore_errors=True)
