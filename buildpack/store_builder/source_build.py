"""Build CPython from a pinned source tarball, cached on the machine.

``build(pin)`` gives an installed CPython prefix (a ``make install DESTDIR=`` tree
configured for the platform's prefix), ready for ``runtime_archive.pack``. Builds are
kept in ``~/.cache/buildpack-python/source-builds/<version>-<key>/``, where the key is a
hash of the tarball's sha256, the recipe (``cpython_recipe.py``, byte for byte), the
compiler, the stack and the architecture: a rebuild happens only when one of these
changes. A build runs in a fixed directory, one at a time (a lock), with
SOURCE_DATE_EPOCH set, so two builds of the same inputs give the same files.

Before anything is built the prerequisites (compiler, make, the headers of the
modules apps need) are checked; as root on an apt host the missing packages are
installed, otherwise the exact command is printed. Everything the build prints goes
to a log; a failed phase shows its tail and the missing prerequisite it names.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildpack.base import interpreter, output, platform_info, settings
from buildpack.base.hashing import file_sha256
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import RUNTIME_PREFIX
from buildpack.runtime import variants
from buildpack.runtime.safe_extract import UnsafeArchive, extract_archive
from buildpack.store_builder import cpython_recipe
from buildpack.store_builder.cpython_sources import Pin
from buildpack.store_builder.runtime_archive import Interpreter

_PY_VERSION_RE = re.compile(r'^#define\s+PY_VERSION\s+"([^"]+)"', re.M)
_MISSING_HEADER_RE = re.compile(r"fatal error: ([\w./+-]+\.h): No such file")
# Deadlines: a whole configure, make or make install. A PGO+LTO build compiles twice,
# runs the profiling task and links with LTO: on 2 busy cores it took ... (docs).
PHASE_TIMEOUT = {"configure": 600, "build": 3600, "install": 900}
OPTIMIZED_BUILD_TIMEOUT = 4 * 3600
PHASE_ERROR_IDS = {"configure": "source-build::configure-failed", "build": "source-build::build-failed",
                   "install": "source-build::install-failed"}

# What the build needs, as a check (a C header or a program) -> the Debian/Ubuntu
# package that provides it. Apps and pip need the first group.
REQUIRED_PREREQS = {
    "cc": "build-essential", "make": "make",
    "openssl/ssl.h": "libssl-dev", "zlib.h": "zlib1g-dev", "ffi.h": "libffi-dev",
    "sqlite3.h": "libsqlite3-dev", "bzlib.h": "libbz2-dev", "lzma.h": "liblzma-dev",
    "readline/readline.h": "libreadline-dev", "uuid/uuid.h": "uuid-dev",
}
OPTIONAL_PREREQS = {"ncurses.h": "libncurses-dev", "gdbm.h": "libgdbm-dev"}
APT_PACKAGES = ("build-essential", "pkg-config", "libssl-dev", "zlib1g-dev", "libffi-dev",
                "libsqlite3-dev", "libbz2-dev", "liblzma-dev", "libreadline-dev", "uuid-dev",
                "libncurses-dev", "libgdbm-dev")
# Modules checked after the build: name -> the package whose headers it needs.
REQUIRED_MODULES = {"ssl": "libssl-dev", "zlib": "zlib1g-dev", "ctypes": "libffi-dev",
                    "sqlite3": "libsqlite3-dev", "bz2": "libbz2-dev", "lzma": "liblzma-dev",
                    "readline": "libreadline-dev", "_uuid": "uuid-dev"}
OPTIONAL_MODULES = {"curses": "libncurses-dev", "dbm.gnu": "libgdbm-dev"}
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


@dataclass(frozen=True)
class Build:
    """A finished build in the machine cache."""

    directory: Path   # <cache>/source-builds/<version>[t]-<key>
    version: str
    cached: bool      # True: reused, not built now
    variant: str = ""  # runtime.variants: "" or "freethreaded" (--disable-gil)

    @property
    def interpreter(self) -> Interpreter:
        return Interpreter(prefix=self.directory / "prefix", version=self.version,
                           configured_prefix=Path(RUNTIME_PREFIX), variant=self.variant)

    @property
    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = json.loads((self.directory / "build.json").read_text(encoding="utf-8"))
        return info


# --- pure helpers -----------------------------------------------------------------

def parse_py_version(patchlevel_h: str) -> str | None:
    """``PY_VERSION`` from ``Include/patchlevel.h``, e.g. "3.11.2" or "3.13.0rc1"."""
    match = _PY_VERSION_RE.search(patchlevel_h)
    return match.group(1) if match else None


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


def apt_command(packages: Sequence[str]) -> str:
    return f"apt-get install -y --no-install-recommends {' '.join(packages)}"


def missing_prerequisite(log_text: str) -> str | None:
    """The package a failed build most likely lacks, from a missing header in its log."""
    for header in _MISSING_HEADER_RE.findall(log_text):
        for check, package in {**REQUIRED_PREREQS, **OPTIONAL_PREREQS}.items():
            if header == check or header.endswith("/" + check):
                return f"{package} (for {header})"
    if re.search(r"\b(cc|gcc|make): (command )?not found", log_text):
        return "build-essential (the compiler)"
    return None


def no_semantic_interposition(log_text: str) -> bool:
    """Whether every link of the shared libpython in a build log carries
    ``-fno-semantic-interposition`` (configure adds it with --enable-optimizations on GCC:
    calls inside libpython may then be inlined instead of going through the PLT)."""
    links = [line for line in log_text.splitlines() if " -shared" in line and " -o libpython" in line]
    return bool(links) and all("-fno-semantic-interposition" in line for line in links)


def build_key(tarball_sha256: str, optimize: bool, recipe: bytes, compiler: str, stack: str,
              arch: str, slot: str = "", flags: Mapping[str, str] | None = None,
              variant: str = "") -> str:
    """The cache key of a build: every input that shapes its files (``flags``: the
    hardening flags the recipe resolved on this host; ``variant``: "freethreaded" for
    --disable-gil). The default variant adds nothing, so default builds keep their keys."""
    digest = hashlib.sha256()
    parts = [tarball_sha256, str(optimize), hashlib.sha256(recipe).hexdigest(), compiler,
             stack, arch, slot, json.dumps(dict(flags or {}), sort_keys=True)]
    for part in parts + ([f"variant={variant}"] if variant else []):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def builds_root(root: Path | None = None) -> Path:
    """Where builds are kept: ``<cache>/source-builds``, or ``$BUILDPACK_SOURCE_BUILDS``
    (a machine-wide directory several users or checkouts share)."""
    if root is None and os.environ.get("BUILDPACK_SOURCE_BUILDS", "").strip():
        return Path(os.environ["BUILDPACK_SOURCE_BUILDS"].strip())
    return (root or settings.machine_cache()) / "source-builds"


# --- prerequisites ----------------------------------------------------------------

def _has(check: str) -> bool:
    if not check.endswith(".h"):
        return shutil.which(check) is not None
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return False
    proc = subprocess.run([cc, "-E", "-x", "c", "-o", os.devnull, "-"], input=f"#include <{check}>\n",
                          capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode == 0


def missing_prerequisites() -> tuple[dict[str, str], dict[str, str]]:
    """(required, optional) checks that fail, each with its package."""
    required = {c: p for c, p in REQUIRED_PREREQS.items() if not _has(c)}
    optional = {c: p for c, p in OPTIONAL_PREREQS.items() if not _has(c)}
    return required, optional


def ensure_prerequisites() -> None:
    """Check the build prerequisites; install missing ones as root with apt, else fail
    with the command that installs them."""
    started = time.monotonic()
    required, optional = missing_prerequisites()
    packages = sorted(set(required.values()) | set(optional.values()))
    if packages and os.geteuid() == 0 and shutil.which("apt-get"):
        output.detail(f"prerequisites: installing {' '.join(packages)} (as root, with apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq",
                                                  "--no-install-recommends", *APT_PACKAGES]):
            proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=1200, check=False)
            if proc.returncode != 0:
                output.warning(f"{' '.join(cmd[:2])} failed",
                               log_tail(proc.stdout + proc.stderr, 10))
                break
        required, optional = missing_prerequisites()
    if required:
        lines = "".join(f"  {check:22} from {package}\n" for check, package in required.items())
        raise BuildError(
            "Building Python from source needs packages that are not installed",
            f"Missing:\n{lines}\nOn Debian/Ubuntu, as root:\n  {apt_command(APT_PACKAGES)}\n"
            "(docs/runtime-store.md says which module needs which).",
            error_id="source-build::missing-prerequisites")
    if optional:
        output.warning("Some optional modules will not be built",
                       f"Missing {', '.join(optional)}: install {' '.join(sorted(set(optional.values())))}\n"
                       "for curses and dbm.gnu.")
    output.detail(f"prerequisites: checked ({time.monotonic() - started:.1f}s)")


def compiler_id() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return "none"
    proc = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60, check=False)
    return (proc.stdout.splitlines() or ["unknown"])[0]


# --- the build ------------------------------------------------------------------

def work_dir(optimize: bool, variant: str = "") -> Path:
    """The fixed build directory: one per kind of build, so that an hour-long PGO+LTO
    build does not hold up the quick builds tests make (each kind, one at a time)."""
    root = cpython_recipe.BUILD_ROOT
    name = root.name + ("-optimized" if optimize else "") + (f"-{variant}" if variant else "")
    return root.with_name(name)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(pin: Pin, tarball: Path, optimize: bool = False, slot: str = "",
          root: Path | None = None, work: Path | None = None,
          check_prerequisites: bool = True, variant: str = "") -> Build:
    """The cached build of ``tarball`` (verified against ``pin``), building it if needed.

    ``slot`` names an independent second build of the same inputs (the reproducibility
    test compares the two); ``work`` replaces the fixed build directory (unit tests);
    ``variant`` "freethreaded" builds with --disable-gil.
    """
    work = work or work_dir(optimize, variant)
    recipe = Path(cpython_recipe.__file__).read_bytes()
    flags = cpython_recipe.hardening_flags()
    key = build_key(pin.sha256, optimize, recipe, compiler_id(), platform_info.current_stack(),
                    platform_info.current_arch(), slot, flags, variant)
    name = f"{variants.versioned(pin.version, variant)}-{key}" + (f"-{slot}" if slot else "")
    builds = builds_root(root)
    directory = builds / name
    with _locked(builds / f".{name}.lock"):
        if (directory / "build.json").is_file():
            output.detail(f"build: reusing the cached build {directory}")
            return Build(directory, pin.version, cached=True, variant=variant)
        if check_prerequisites:
            ensure_prerequisites()
        if file_sha256(tarball) != pin.sha256:
            raise BuildError(f"{tarball.name} is not the pinned source of Python {pin.version}",
                             f"Its sha256 is not {pin.sha256} ({pin.origin}).",
                             error_id="source-build::checksum-mismatch")
        output.detail(f"verify: sha256 {pin.sha256} matches the pin ({pin.origin})")
        with _locked(work.with_name(work.name + ".lock")):
            _build_into(pin, tarball, optimize, flags, directory, default_jobs(), key, work, variant)
    return Build(directory, pin.version, cached=False, variant=variant)


def _build_into(pin: Pin, tarball: Path, optimize: bool, flags: Mapping[str, str], directory: Path,
                jobs: int, key: str, work: Path, variant: str = "") -> None:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log_path = work / "build.log"
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    ok = False
    timings: dict[str, float] = {}
    try:
        started = time.monotonic()
        source, epoch = unpack_source(tarball, work / "src", pin.version)
        timings["unpack"] = time.monotonic() - started
        env = cpython_recipe.build_env(dict(os.environ), epoch)
        configure = cpython_recipe.configure_command(source, optimize, flags,
                                                     free_threaded=variant == variants.FREETHREADED)
        output.detail(f"configure: {' '.join(configure[1:])}")
        output.detail(f"The whole build log: {log_path}")
        timings["configure"] = run_phase("configure", configure, source, env, log_path, pin.version,
                                         PHASE_TIMEOUT["configure"])
        destdir = work / "destdir"
        for phase, cmd in cpython_recipe.make_commands(jobs, destdir):
            timeout = OPTIMIZED_BUILD_TIMEOUT if optimize and phase == "build" else PHASE_TIMEOUT[phase]
            timings[phase] = run_phase(phase, cmd, source, env, log_path, pin.version, timeout)
        interposition = no_semantic_interposition(log_path.read_text(encoding="utf-8", errors="replace"))
        if optimize and interposition:
            output.detail("libpython: linked with -fno-semantic-interposition (PGO+LTO)")
        elif optimize:
            output.warning("libpython was linked without -fno-semantic-interposition",
                           "configure adds it to PGO+LTO builds with GCC; with this compiler calls\n"
                           f"inside libpython go through the PLT. The build log: {log_path}")
        prefix = destdir / RUNTIME_PREFIX.lstrip("/")
        interp = Interpreter(prefix=prefix, version=pin.version, configured_prefix=Path(RUNTIME_PREFIX),
                             variant=variant)
        check_installation(interp, log_path)
        os.rename(prefix, partial / "prefix")
        shutil.copyfile(log_path, partial / "build.log")
        info = {"version": pin.version, "tarball": pin.file, "sha256": pin.sha256, "key": key,
                "optimize": optimize, **({"variant": variant} if variant else {}), "flags": dict(flags),
                "no_semantic_interposition": interposition,
                "jobs": jobs, "source_date_epoch": epoch,
                "seconds": {k: round(v, 1) for k, v in timings.items()}}
        (partial / "build.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(directory, ignore_errors=True)
        os.rename(partial, directory)
        ok = True
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            for config_log in work.glob("src/*/config.log"):
                shutil.move(str(config_log), work / "config.log")
            for child in work.iterdir() if work.is_dir() else []:
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)


def unpack_source(tarball: Path, dest: Path, expected: str) -> tuple[Path, int]:
    """Unpack ``tarball`` (checked like a runtime archive) into ``dest``.

    Returns the source tree and the newest member time (the release's date, used as
    SOURCE_DATE_EPOCH). The tree must be CPython ``expected``.
    """
    try:
        extract_archive(tarball, dest)
        with tarfile.open(tarball, "r:*") as tar:
            epoch = max((m.mtime for m in tar.getmembers()), default=0)
    except (UnsafeArchive, tarfile.TarError, OSError) as exc:
        raise BuildError(f"Cannot unpack {tarball.name}", f"{tarball}: {exc}.",
                         error_id="source-build::bad-tarball") from None
    entries = list(dest.iterdir())
    source = entries[0] if len(entries) == 1 else dest
    patchlevel = source / "Include" / "patchlevel.h"
    version = parse_py_version(patchlevel.read_text(errors="replace")) if patchlevel.is_file() else None
    if version is None or not (source / "configure").is_file():
        raise BuildError(f"{tarball.name} is not a CPython source tarball",
                         "It has no configure script and Include/patchlevel.h under one top-level folder.",
                         error_id="source-build::bad-tarball")
    if version != expected:
        raise BuildError(f"{tarball.name} is CPython {version}, not {expected}",
                         "The tarball does not hold the release its pin names.",
                         error_id="source-build::bad-tarball")
    return source, int(epoch)


def run_phase(phase: str, cmd: Sequence[str], cwd: Path, env: Mapping[str, str],
              log_path: Path, version: str, timeout: float) -> float:
    """Run one build phase with its output appended to the log; returns its seconds.

    The phase runs in its own process group, so an interrupt, a failure or its deadline
    stops the compilers make started too.
    """
    started = time.monotonic()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except BaseException as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if not isinstance(exc, subprocess.TimeoutExpired):
                raise
            code = -1
            log.write(f"\n(stopped: {phase} took longer than {timeout}s)\n")
    seconds = time.monotonic() - started
    if code != 0:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        kept = " (configure's config.log is kept beside it)" if phase == "configure" else ""
        missing = missing_prerequisite(text)
        hint = (f"The log shows a missing prerequisite: install {missing}."
                if missing else "Check that the build prerequisites are installed:\n"
                f"  {apt_command(APT_PACKAGES)}")
        raise BuildError(
            f"Building Python {version} from source failed at '{phase}'",
            f"{' '.join(cmd)}\nexited with status {code} after {seconds:.0f}s. The end of its output:\n\n"
            f"{log_tail(text)}\n\nThe whole build log: {log_path}{kept}\n\n{hint}",
            error_id=PHASE_ERROR_IDS[phase])
    output.detail(f"{phase}: {seconds:.0f}s")
    return seconds


def check_installation(interp: Interpreter, log_path: Path) -> None:
    """Run the installed interpreter with an empty LD_LIBRARY_PATH: it must load its own
    libpython (through the $ORIGIN RUNPATH); fail if modules apps need were not built,
    warn about the optional ones."""
    version = interp.version
    names = [*REQUIRED_MODULES, *OPTIONAL_MODULES]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_LIBRARY_PATH": ""}
    probed = interpreter.require(interp.executable, _PROBE, *names, env=env,
                                 what=f"The Python {version} built from source does not run "
                                      f"(the build log: {log_path})")
    found = probed["modules"]
    foreign = foreign_libpython(probed["libpython"], interp.prefix)
    if foreign:
        raise BuildError(
            f"The Python {version} built from source loads another libpython",
            f"{interp.executable} loaded {', '.join(foreign)}, not the libpython\n"
            "next to it: its RUNPATH is not $ORIGIN/../lib.\n"
            "Check how LDFLAGS reached the link in the build log: " + str(log_path),
            error_id="source-build::foreign-libpython")
    required = missing_modules(found, REQUIRED_MODULES)
    if required:
        raise BuildError(
            f"Python {version} was built without {', '.join(required)}",
            "configure found no headers for these modules, so make skipped them:\n"
            + "".join(f"  {name:10} needs {package}\n" for name, package in required.items())
            + f"\nInstall those packages, then build again. The build log: {log_path}",
            error_id="source-build::missing-modules")
    optional = missing_modules(found, OPTIONAL_MODULES)
    if optional:
        output.warning(
            f"Python {version} was built without {', '.join(optional)}",
            "Apps that use these modules will fail to import them. To include them,\n"
            f"install {' '.join(sorted(set(optional.values())))} and build again.",
        )
