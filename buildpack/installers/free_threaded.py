"""The requirements that have no wheel for a free-threaded runtime (3.13t).

A free-threaded CPython loads only extension modules built for it (the wheel ABI tag
``cp313t``): the ``cp313`` and ``abi3`` wheels most packages publish do not fit it, so
an installer compiles such a package from its source distribution (which needs a C
compiler and the library's headers, and may fail), or finds nothing to install when the
package has no source distribution. Before installing, the build names them in a
warning; when the install then fails, its error names them again.

How they are found, cheaply and without guessing: the pinned uv (already the engine of
requirements.txt, and fetched anyway) resolves the requirements once with
``uv pip compile --universal --format pylock.toml``, with the app's own index settings.
A universal lock lists, for each package of the resolution, every wheel the index has
for Python X.Y and newer, whatever its platform or ABI (a lock for this interpreter only
would leave out the wheels it cannot use, and then nothing tells a missing wheel from an
incompatible one). Most index pages are in uv's cache already: the warm-up resolved the
same file while the runtime was unpacked. Nothing is built, downloaded or installed
(``--no-build``: metadata only from wheels, else the resolution fails and the check says
so in one line; the install then goes ahead and reports for itself). A package whose
wheels include none this runtime can load (pure Python, ``py3-none-any``, or
``cpXYt`` for this machine's platform) is named, with whether it has a source
distribution to compile.

A lock-file app needs no resolution: uv.lock, pylock.toml, poetry.lock and pdm.lock
record the file names of every package's wheels and source distribution, read by
``lock_wheels`` (one pure parser per format). The check covers every package of the
lock, not only the groups, extras and platforms this build installs (the installer
decides those by evaluating markers; the warning says so). Pipfile.lock records hashes,
not file names, and Pipenv resolves against the Pipfile's own sources, which a uv
resolution here would not see faithfully: a Pipenv app is not checked, and the log says
so in one line. The wheel tags are read with ``packaging`` (``parse_wheel_filename``).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from buildpack.base import interpreter, libraries, output
from buildpack.base.children import run_quiet
from buildpack.base.output import BuildError
from buildpack.installers import lock_wheels, uv_pip
from buildpack.installers.context import InstallContext
from buildpack.installers.record import Choice
from buildpack.runtime import variants

# The platform tags of wheels this machine's glibc Linux can load (besides "any"); the
# glibc version of a manylinux tag is not compared: a wheel too new for the host fails
# to install whatever the runtime, which is not this check's finding.
_LINUX_PREFIXES = ("manylinux", "linux_")
MAX_SHOWN = 30  # names listed in the warning; the rest counted
RESOLVE_SECONDS = 300  # the resolution's deadline (its index pages are mostly cached)
# Reads the universal lock with the runtime's own tomllib (every free-threaded CPython is
# 3.13 or newer; the Python running the buildpack may be older than 3.11).
_READ_LOCK = """
import json, sys, tomllib
with open(sys.argv[1], 'rb') as fh:
    lock = tomllib.load(fh)
print(json.dumps([[p.get('name', '?'), str(p.get('version', '')),
                   [str(w.get('url') or w.get('name') or w.get('path') or '') for w in p.get('wheels', [])],
                   'sdist' in p] for p in lock.get('packages', [])]))
"""


@dataclass(frozen=True)
class Missing:
    """A requirement with no wheel for the runtime."""

    name: str
    version: str
    sdist: bool  # True: compiled from source; False: nothing to install

    def line(self) -> str:
        what = "compiled from its source distribution" if self.sdist else \
            "no source distribution either: cannot be installed"
        pin = f"{self.name}=={self.version}" if self.version else self.name
        return f"{pin} ({what})"


def wheel_fits(filename: str, abi: str, arch: str) -> bool:
    """Whether the wheel ``filename`` installs on a free-threaded runtime of ABI tag
    ``abi`` ("cp313t") on this ``arch``: one of its tags is pure Python (``py3``, abi
    ``none``, platform ``any``), or has no ABI (``py3``/``cp313``, abi ``none``) or the
    runtime's ``abi``, for a glibc Linux platform of ``arch``."""
    # packaging is on sys.path once libraries.ensure has run (check makes sure first).
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    name = filename.rsplit("/", 1)[-1].split("#", 1)[0].split("?", 1)[0]
    try:
        tags = parse_wheel_filename(name)[3]
    except InvalidWheelFilename:
        return False
    python = abi.rstrip("t")  # cp313t: cp313
    for tag in tags:
        on_platform = tag.platform == "any" or (tag.platform.startswith(_LINUX_PREFIXES)
                                                 and tag.platform.endswith(f"_{arch}"))
        no_abi = tag.abi == "none" and (tag.interpreter.startswith("py3") or tag.interpreter == python)
        if on_platform and (no_abi or tag.abi == abi):
            return True
    return False


def missing_wheels(packages: list[tuple[str, str, list[str], bool]], abi: str, arch: str) -> list[Missing]:
    """The packages of a lock (name, version, wheel URLs, has an sdist) with no wheel that fits."""
    return sorted((Missing(name, version, sdist) for name, version, wheels, sdist in packages
                   if not any(wheel_fits(w, abi, arch) for w in wheels)), key=lambda m: m.name.lower())


def describe(missing: list[Missing], label: str) -> str:
    """The list of ``missing`` as a warning or an error shows it."""
    shown = "".join(f"  {m.line()}\n" for m in missing[:MAX_SHOWN])
    more = f"  ... and {len(missing) - MAX_SHOWN} more\n" if len(missing) > MAX_SHOWN else ""
    return (f"These requirements have no wheel for the free-threaded Python {label}\n"
            f"(a cp{label.replace('.', '')} or pure-Python py3-none-any wheel):\n{shown}{more}")


def _lock_of(choice: Choice) -> Path | None:
    """The file that pins the app's packages (requirements.txt, a lock), if any."""
    if choice.installs_app or not choice.files:
        return None
    if choice.manager.name == "pylock":  # pylock.toml or the pylock.<name>.toml chosen
        return choice.files[0]
    return next((p for p in choice.files if p.name == choice.manager.lockfile), None)


def _shown(path: Path, ctx: InstallContext) -> str:
    """``path`` as the log names it (a uv workspace's lock is above the app's folder)."""
    for root in (ctx.app_dir, ctx.files.root):
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.name


def _libraries(ctx: InstallContext) -> bool:
    """Whether ``packaging`` (the wheel tags) can be imported: a lock-file app has had it
    since planning; an app of requirements.txt alone may not have needed it yet."""
    return libraries.ready() or libraries.ensure(ctx.cache_dir, ctx.env.get("PIP_INDEX_URL")) \
        or libraries.download_with_pip(ctx.python, ctx.env, ctx.cache_dir) is None


def check(choice: Choice, ctx: InstallContext, secrets: list[str]) -> list[Missing]:
    """Before installing on a free-threaded runtime: name, in a warning, the requirements
    that have no wheel for it. Returns them (for the error, should the install fail)."""
    pinned = _lock_of(choice)
    if ctx.variant != variants.FREETHREADED or pinned is None:
        return []
    label = variants.tagged_minor(ctx.python_version, ctx.variant)
    shown = _shown(pinned, ctx)
    parser = lock_wheels.parser_for(pinned.name)
    if choice.manager.name != "pip" and parser is None:
        output.detail(f"Free-threaded Python {label}: {shown} records no file names (only hashes), "
                      "so which packages\nhave a wheel for it is not checked before installing; "
                      "the install reports for itself.")
        return []
    if not _libraries(ctx):
        output.detail(f"Free-threaded Python {label}: could not check which packages of {shown} "
                      "have a wheel for it\n(the buildpack's libraries could not be had; the "
                      "install reports for itself).")
        return []
    packages = _requirements(ctx, pinned, secrets) if parser is None else _locked(ctx, pinned, parser)
    if packages is None:
        why = "uv could not resolve them without building" if parser is None else \
            f"{shown} could not be read as its format"
        output.detail(f"Free-threaded Python {label}: could not check which requirements of {shown} "
                      f"have a wheel for it\n({why}; the install reports for itself).")
        return []
    abi = variants.abi_tag(ctx.python_version, ctx.variant)
    missing = missing_wheels(packages, abi, os.uname().machine)
    if not missing:
        what = "requirement" if parser is None else "package"
        output.detail(f"Free-threaded Python {label}: every {what} of {shown} has a wheel for it "
                      f"({abi} or pure Python).")
        return []
    scope = "" if parser is None else \
        (f"\nThis covers every package of {shown}: a lock holds all its groups, extras and\n"
         "platforms, and which of them this build installs is the installer's reading of\n"
         "their markers, so some of those named may not be installed at all.\n")
    output.warning(f"{len(missing)} requirement(s) have no free-threaded wheel",
                   describe(missing, label) + scope +
                   "\nThe installer compiles those from source, which needs a C compiler and the\n"
                   "libraries' headers on the build image, and they may not support running\n"
                   "without the GIL (an extension that does not declare it turns the GIL back on).\n"
                   f"Ask for {variants.minor_of(ctx.python_version)} (with the GIL) if the app "
                   "needs them as they are.")
    return missing


def _locked(ctx: InstallContext, lock: Path, parser: Callable[[str], list[lock_wheels.Locked]]
            ) -> list[tuple[str, str, list[str], bool]] | None:
    """The lock's packages as (name, version, wheel file names, has an sdist), or None
    when it cannot be read (the installer then says what is wrong with it)."""
    try:
        text = ctx.files.text(lock, "lock")
        return None if text is None else [(p.name, p.version, list(p.wheels), p.sdist)
                                          for p in parser(text)]
    except (ValueError, BuildError):
        return None


def _requirements(ctx: InstallContext, requirements: Path, secrets: list[str]
                  ) -> list[tuple[str, str, list[str], bool]] | None:
    """The packages of a universal resolution of ``requirements`` by uv, or None."""
    try:
        uv: Path | None = uv_pip.ensure_uv(ctx, secrets)
    except BuildError:  # PYTHON_INSTALLER=pip where uv cannot be fetched: pip reports for itself
        return None
    packages = None if uv is None else _resolve(ctx, uv, requirements, Path(_shown(requirements, ctx)))
    if not isinstance(packages, list):
        return None
    return [(str(n), str(v), list(w), bool(s)) for n, v, w, s in packages]


def _resolve(ctx: InstallContext, uv: Path, requirements: Path, shown: Path) -> object:
    """The universal lock's packages as [name, version, wheel URLs, has an sdist], or None."""
    with tempfile.TemporaryDirectory(prefix=".free-threaded-", dir=ctx.prefix.parent) as scratch:
        lock = Path(scratch) / "pylock.toml"  # uv wants this name for the format
        cmd = [str(uv), "pip", "compile", "--quiet", "--no-header", "--universal", "--no-build",
               "--format", "pylock.toml", "--python", str(ctx.python),
               "--python-version", variants.minor_of(ctx.python_version),
               *uv_pip.uv_arguments(ctx.env), "-o", str(lock), str(shown)]
        try:
            proc = run_quiet(cmd, env=uv_pip.install_env(ctx, requirements), cwd=ctx.app_dir,
                             timeout=RESOLVE_SECONDS)
        except BuildError:  # past its deadline: the check is advice, the install goes ahead
            return None
        if proc.returncode != 0:
            return None
        try:
            return interpreter.query(ctx.python, _READ_LOCK, str(lock))
        except interpreter.QueryError:
            return None


def explain_failure(err: BuildError, missing: list[Missing], ctx: InstallContext) -> BuildError:
    """The install's error, naming the requirements without a free-threaded wheel."""
    label = variants.tagged_minor(ctx.python_version, ctx.variant)
    return BuildError(err.summary,
                      f"{err.body}\n\n{describe(missing, label)}Those are the likely cause: remove "
                      f"them, or ask for Python {variants.minor_of(ctx.python_version)} "
                      "(with the GIL) instead.",
                      error_id=err.error_id)
