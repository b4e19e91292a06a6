"""uv as the engine behind ``requirements.txt`` (``uv pip install``), pip as the choice.

The config var ``PYTHON_INSTALLER`` picks the engine: ``uv`` (the default) or ``pip``.
uv reads the same requirements files, but a few pip features it does not support
(found by testing uv 0.13 against pip 26): per-requirement ``--config-settings``, pip's
abbreviated options (``--requirem``), ``--pypi-url``, ``--no-require-hashes``,
``--all-releases`` and ``--only-final`` (uv stops with a parse error), ``--pre``,
``--prefer-binary``, ``--trusted-host`` and ``--use-feature`` lines (uv ignores them with
a warning, so the result would differ from pip's), and editable VCS requirements
(``-e git+...``: uv keeps the checkout in its cache, outside the slug). A file that uses
one of them is installed with pip, and the log says why in one line.

uv installs into the runtime's own prefix (``--python`` the runtime's interpreter, no
virtualenv), with its cache in ``CACHE_DIR/uv``, hardlinking the files out of its cache
(``UV_LINK_MODE=hardlink``): each file is stored once, shared by uv's cache, the slug
and the cached environment. A write into one of them is a write into all; how that is
caught is ``env_cache``'s damage rule. The build's pip settings (``PIP_INDEX_URL`` ...)
are translated into uv's (``uv_settings``), so a platform configured for pip configures
uv too.

Into the previous build's environment (``update``, every build that has one), uv reads
the requirements itself (includes, options and markers are never interpreted by the
buildpack for this), and what came from a path, URL or VCS is always installed again
(``--reinstall-package``, ``prune.direct_url_names``: a local folder or a branch is read
again); pip (which the slug keeps) stays, named by its hash-checked pin. Which run:

- when anything a resolution reads changed since the environment was installed
  (``resolution_record``: the requirements files
  and their includes byte for byte, uv's project settings, the app's own wheel folders;
  the cache key covers the runtime, uv and the index settings): ``uv pip install --exact
  --upgrade``, which resolves as a build from nothing would (an unpinned requirement
  gets the newest version), installs what is new or changed and uninstalls what the
  requirements no longer need;
- otherwise a plain ``uv pip install``: uv checks the installed packages against the
  requirements (tens of milliseconds, no resolution) and installs what is missing. An
  unpinned requirement keeps the installed version, as with pip and the leader, until a
  requirements file changes or the build cache is cleared.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import (
    hash_mode,
    included_files,
    lines,
    numbered_lines,
    parse_line,
)
from buildpack.base import cache_files, output, settings
from buildpack.base.children import run_beside, run_streamed
from buildpack.base.fs import rmtree
from buildpack.base.output import BuildError
from buildpack.cache import layout
from buildpack.installers import pinned_tools, prune, resolution_record, uv_fetch
from buildpack.installers.context import InstallContext
from buildpack.installers.failures import install_error
from buildpack.installers.pip import (
    describe_selection,
    fetch_pip_wheel,
    is_pylock,
    keep_pip_wheel,
    log_pylock,
    offline_sources,
    requirement_arguments,
)
from buildpack.installers.record import Choice, Selection
from buildpack.installers.tool_env import tool_env
from buildpack.installers.uv import CACHE_FOLDER
from buildpack.installers.uv import ensure_uv as ensure_uv  # the one checked binary

CONFIG_VAR = "PYTHON_INSTALLER"
ENGINES = ("uv", "pip")
DEFAULT_ENGINE = "uv"

# pip features in requirements files that uv does not support (the option's dest, as
# ``requirements_files.parse_line`` reads it), with the name shown.
_PIP_ONLY = (("config_settings", "--config-settings"), ("pre", "--pre"),
             ("prefer_binary", "--prefer-binary"), ("trusted_hosts", "--trusted-host"),
             ("features_enabled", "--use-feature"), ("all_releases", "--all-releases"),
             ("only_final", "--only-final"), ("no_require_hashes", "--no-require-hashes"))
# The options' spellings uv reads in a requirements file (uv 0.13.9, tried one by one):
# no abbreviation (pip takes ``--requirem``), no ``--pypi-url``; ``-rfile`` as ``-r file``.
_UV_SPELLINGS = frozenset((
    "-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links",
    "--no-binary", "--only-binary", "-c", "--constraint", "-r", "--requirement", "-e",
    "--editable", "--hash", "--require-hashes", "--pre", "--prefer-binary", "--trusted-host",
    "--use-feature", "--config-settings"))
_EDITABLE_VCS = re.compile(r"(?:git|hg|svn|bzr)\+")
# pip settings the build may carry, and what uv calls them.
_SPACE_LISTS = {"PIP_EXTRA_INDEX_URL": "UV_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST": "UV_INSECURE_HOST"}
_SAME = {"PIP_INDEX_URL": "UV_DEFAULT_INDEX", "PIP_DEFAULT_TIMEOUT": "UV_HTTP_TIMEOUT",
         "PIP_RETRIES": "UV_HTTP_RETRIES", "PIP_CERT": "SSL_CERT_FILE",
         "PIP_CLIENT_CERT": "SSL_CLIENT_CERT"}
_TRUE = ("1", "true", "yes", "on")
MAX_PIP_WHEEL_BYTES = 16 * 1024 * 1024  # pip's wheel is under 2 MB


@dataclass(frozen=True)
class Engine:
    """Which engine installs requirements.txt, and why (``reason`` is logged when set)."""

    name: str
    reason: str = ""


def unknown_engine(value: str) -> BuildError:
    return BuildError(
        f"Unknown {CONFIG_VAR}: {value!r}",
        f"{CONFIG_VAR} chooses what installs requirements.txt. The choices are:\n"
        "  uv   (the default) uv pip install, fast, with pip kept in the slug\n"
        "  pip  pip install -r requirements.txt, as pip documents it\n\n"
        f"Set it to one of them (e.g. `heroku config:set {CONFIG_VAR}=pip`) or unset it.",
        error_id="python-installer::unknown",
    )


def pip_only_feature(files: AppFiles, requirements: Path) -> str | None:
    """``"--pre (requirements.txt line 3)"`` for the first pip-only feature, else None."""
    for path in included_files(files, requirements):
        for number, line in numbered_lines(files.text(path, "requirements") or ""):
            parsed = parse_line(line)
            for dest, feature in _PIP_ONLY:
                if parsed.has(dest):
                    return f"{feature} ({path.name} line {number})"
            for word in parsed.words:
                spelling = word.split("=", 1)[0] if word.startswith("--") else word[:2]
                if word.startswith("-") and spelling not in _UV_SPELLINGS:
                    return f"{spelling} ({path.name} line {number})"
            if any(_EDITABLE_VCS.match(e) for e in parsed.get("editables")):
                return f"an editable VCS requirement (-e git+...) ({path.name} line {number})"
    return None


def choose_engine(value: str | None, files: AppFiles, requirements: Path) -> Engine:
    """The engine for ``requirements`` given the config var's ``value`` (plan time)."""
    name = (value or "").strip().lower() or DEFAULT_ENGINE
    if name not in ENGINES:
        raise unknown_engine(value or "")
    if name == "pip":
        return Engine("pip", f"{CONFIG_VAR}=pip: installing with pip.")
    if is_pylock(requirements):  # uv installs every pylock.toml pip does
        return Engine("uv")
    feature = pip_only_feature(files, requirements)
    if feature:
        return Engine("pip", f"{feature} is a pip feature that uv does not support: installing "
                             "with pip instead.")
    return Engine("uv")


def uv_settings(env: dict[str, str]) -> dict[str, str]:
    """uv's environment variables for the build's pip settings (uv's own, if set, win)."""
    found: dict[str, str] = {}
    for pip_name, uv_name in _SAME.items():
        if env.get(pip_name):
            found[uv_name] = env[pip_name]
    for pip_name, uv_name in _SPACE_LISTS.items():
        if env.get(pip_name):
            found[uv_name] = " ".join(env[pip_name].split())
    if env.get("PIP_FIND_LINKS"):
        found["UV_FIND_LINKS"] = ",".join(env["PIP_FIND_LINKS"].split())
    if "UV_INDEX_URL" in env or "UV_DEFAULT_INDEX" in env:
        found.pop("UV_DEFAULT_INDEX", None)
    return {k: v for k, v in found.items() if k not in env}


def uv_arguments(env: dict[str, str]) -> list[str]:
    """Options for the pip settings that uv takes on its command line only."""
    args = ["--no-index"] if env.get("PIP_NO_INDEX", "").lower() in _TRUE else []
    for pip_name, option in (("PIP_NO_BINARY", "--no-binary"),
                             ("PIP_ONLY_BINARY", "--only-binary")):
        for name in env.get(pip_name, "").replace(",", " ").split():
            args += [option, name]
    return args


def uv_tool_env(ctx: InstallContext) -> dict[str, str]:
    return tool_env(ctx, **uv_settings(ctx.env),
                    UV_CACHE_DIR=str(ctx.cache_dir / CACHE_FOLDER),
                    UV_PYTHON_DOWNLOADS="never",
                    UV_NO_MANAGED_PYTHON="1",
                    UV_NO_PROGRESS="1",
                    UV_LINK_MODE="hardlink",  # one copy of each file (env_cache: damage rule)
                    UV_BREAK_SYSTEM_PACKAGES="1")


@contextlib.contextmanager
def prefetching(ctx: InstallContext, requirements: Path | None) -> Iterator[None]:
    """While the body runs (the runtime is fetched and unpacked): fetch the pinned uv in a
    thread, then the pinned pip's wheel (``fetch_pip_wheel``), then (unless None) let uv
    resolve ``requirements`` for the runtime's Python version and this platform, without the
    interpreter (``_warm_up``).

    The build then waits for uv's fetch rather than start a second one beside it: its
    index page and its wheel each download within ``uv_fetch.DEADLINE``, and one that
    runs past it is the build's error (``pinned_tools.ensure`` raises it)."""

    unpacked = threading.Event()
    thread = threading.Thread(target=_prefetch, args=(ctx, requirements, unpacked), daemon=True)
    thread.start()
    try:
        yield
    finally:
        unpacked.set()  # the warm-up stops now, also when the body failed
    limit = 4 * (uv_fetch.DEADLINE + uv_fetch.TIMEOUT)  # uv's page and wheel, then pip's
    thread.join(timeout=limit)
    if thread.is_alive():  # stuck where no deadline reaches (name resolution)
        raise uv_fetch.limit_error(f"Fetching the pinned uv did not finish within {limit:.0f} s")


def _prefetch(ctx: InstallContext, requirements: Path | None,
              unpacked: threading.Event) -> None:
    tool = pinned_tools.TOOLS["uv"]
    pinned_tools.prefetch(ctx, tool)
    where = pinned_tools.install_dir(ctx, tool)
    if not unpacked.is_set() and pinned_tools.usable(where, tool):
        fetch_pip_wheel(ctx.env, ctx.cache_dir / layout.PIP_WHEELS)  # install_pip takes it
        if requirements is not None:
            _warm_up(ctx, where / "bin" / "uv", requirements, unpacked)


def warm_up_command(ctx: InstallContext, uv: Path, requirements: Path) -> list[str] | None:
    """``uv pip compile`` of ``requirements`` for the runtime's Python version and this
    machine's manylinux platform, run with the buildpack's own Python (never one that the
    app brings, e.g. a committed .venv); None where uv names no such platform."""

    glibc, arch = uv_fetch.host_glibc(), os.uname().machine
    if glibc is None or glibc[0] != 2 or arch not in ("x86_64", "aarch64") \
            or is_pylock(requirements):  # a lock: nothing to resolve
        return None
    target = f"{arch}-manylinux_2_{min(max(glibc[1], 17), 40)}"
    return [str(uv), "pip", "compile", "--quiet", "--no-header", "--no-build",
            "--python", sys.executable, "--python-version", ctx.python_version,
            "--python-platform", target, *uv_arguments(ctx.env),
            str(requirements.relative_to(ctx.app_dir))]


def _warm_up(ctx: InstallContext, uv: Path, requirements: Path, unpacked: threading.Event) -> None:
    """Resolve the requirements while the runtime unpacks: the index pages and the
    packages' metadata that uv reads land in its cache (CACHE_DIR/uv), and the install
    resolves from there.

    Only a head start: the resolution's output is not used, it builds nothing
    (``--no-build``: no code of the app or of an sdist runs), and it is stopped the moment
    the runtime is there; a failure changes nothing, the install reports its own. Wheels
    are not downloaded ahead: that writes every wheel's files once more, beside the
    runtime's, on a disk where writing files is the cost (bench/RESULTS.md)."""
    cmd = warm_up_command(ctx, uv, requirements)
    if cmd is None:
        return
    run_beside(cmd, install_env(ctx, requirements), ctx.app_dir, unpacked)


def install_pip(ctx: InstallContext, uv: Path, secrets: list[str]) -> None:
    """The pinned pip (vendor/pip.txt, hash-checked) into the runtime, with uv.

    The pinned wheel is kept in CACHE_DIR (``cache.layout.PIP_WHEELS``) after the first
    install (``pip.keep_pip_wheel``) and installed from there: a later build needs no index for pip,
    so an app that vendors its wheels (``--no-index``) builds offline on a warm cache.
    uv's own cache for this install is removed at once (its files are hardlinked)."""
    version = settings.pinned_pip_version()
    output.step(f"Installing pip {version}")
    cmd = [str(uv), "pip", "install", "--python", str(ctx.python), "--no-deps",
           "--require-hashes", "--only-binary", ":all:", "-r", str(settings.PIP_REQUIREMENTS)]
    kept = ctx.cache_dir / layout.PIP_WHEELS
    if any(settings.BUNDLED_WHEELS.glob("pip-*.whl")):  # an offline bundle: no index needed
        local: Path | None = settings.BUNDLED_WHEELS
    else:
        local = kept if any(kept.glob("pip-*.whl")) else None
    code, lines = _with_scratch_cache(ctx, [*cmd, "--no-index", "--find-links", str(local)]
                                  if local else cmd, secrets)
    if code != 0 and local == kept:  # a kept wheel that does not match: from the index
        cache_files.clear(kept)
        code, lines = _with_scratch_cache(ctx, cmd, secrets)
        local = None
    if code != 0:
        output.indent_lines(lines)
        raise install_error(lines, ctx.env, "uv", f"pip {version} (vendor/pip.txt)",
                            "uv pip install --require-hashes -r vendor/pip.txt", code=code)
    if local is None:
        keep_pip_wheel(ctx.python, ctx.env, ctx.app_dir, secrets, kept)


def pip_wheel_folder(ctx: InstallContext) -> Path | None:
    """The folder that holds the pinned pip's wheel, hash-checked: the offline bundle's,
    or the one kept in CACHE_DIR (``fetch_pip_wheel`` fetched it while the runtime
    unpacked); None when neither has it."""
    hashes = uv_fetch.pinned_hashes(settings.PIP_REQUIREMENTS)
    for folder in (settings.BUNDLED_WHEELS, ctx.cache_dir / layout.PIP_WHEELS):
        wheels = sorted(folder.glob("pip-*.whl"))
        with contextlib.suppress(cache_files.Unusable):
            if wheels and all(cache_files.sha256(wheel, MAX_PIP_WHEEL_BYTES) in hashes
                              for wheel in wheels):
                return folder
    return None


def prefetched_uv(ctx: InstallContext) -> Path | None:
    """The pinned uv when this build's prefetch (or an earlier build) installed it, else
    None (its download failed: the caller does without)."""
    tool = pinned_tools.TOOLS["uv"]
    where = pinned_tools.install_dir(ctx, tool)
    return where / "bin" / "uv" if pinned_tools.usable(where, tool) else None


def tool_installer(ctx: InstallContext, uv: Path, secrets: list[str]) -> pinned_tools.Installer:
    """uv as ``pinned_tools``' installer of a Python tool (Pipenv, Poetry, PDM): the same
    checks as its pip install (``--require-hashes``, wheels only, from the build's index
    or the offline bundle), the bytecode compiled on every CPU."""
    def install(tool: pinned_tools.Tool, folder: Path) -> tuple[int, list[str]]:
        cmd = [str(uv), "pip", "install", "--python", str(ctx.python), "--target", str(folder),
               "--require-hashes", "--no-deps", "--only-binary", ":all:", "--compile-bytecode",
               "-r", str(tool.requirements), *pinned_tools.bundle_sources(tool)]
        return _with_scratch_cache(ctx, cmd, secrets)
    return install


def _with_scratch_cache(ctx: InstallContext, cmd: list[str], secrets: list[str]) -> tuple[int, list[str]]:
    """Run uv (pip's or a tool's install) with a cache of its own, removed after: its files
    are hardlinked into the install, and CACHE_DIR/uv is left alone."""
    scratch = Path(tempfile.mkdtemp(prefix=".uv-pip-", dir=ctx.prefix.parent))
    try:
        env = {**uv_tool_env(ctx), "UV_CACHE_DIR": str(scratch), "UV_LINK_MODE": "hardlink"}
        return run_streamed(cmd, env, ctx.app_dir, secrets, echo=False)
    finally:
        rmtree(scratch)


_PIP_LINE = re.compile(r"^\s*pip\s*(?:[=<>!~;@\[]|$)", re.IGNORECASE)


def install_env(ctx: InstallContext, requirements: Path) -> dict[str, str]:
    """uv's environment for installing (or resolving) ``requirements``: pip lets a
    requirements file's --index-url replace PIP_INDEX_URL, uv would let the variable win;
    the file decides, as with pip."""
    env = uv_tool_env(ctx)
    if "UV_DEFAULT_INDEX" not in ctx.env and names_index(ctx, requirements):
        env.pop("UV_DEFAULT_INDEX", None)
    return env


def names_index(ctx: InstallContext, requirements: Path) -> bool:
    """Whether the requirements (or a file they include) set the index (``--index-url``)."""
    return any(parse_line(line).has("index_url")
               for path in included_files(ctx.files, requirements)
               for line in lines(ctx.files.text(path, "requirements") or ""))


_PYLOCK_PIP = re.compile(r"^\s*name\s*=\s*[\"']pip[\"']", re.MULTILINE | re.IGNORECASE)


def names_pip(files: AppFiles, requirements: Path) -> bool:
    """Whether the requirements (or a file they include) name pip itself."""
    if is_pylock(requirements):
        return bool(_PYLOCK_PIP.search(files.text(requirements, "lock") or ""))
    return any(_PIP_LINE.match(line)
               for path in included_files(files, requirements)
               for line in lines(files.text(path, "requirements") or ""))


def _failed(output_lines: list[str], ctx: InstallContext, shown: Path) -> BuildError:
    err = install_error(output_lines, ctx.env, "uv", f"the requirements in {shown}",
                        f"uv pip install -r {shown}")
    generic = err.error_id == "dependencies::install-failed"
    return BuildError(
        err.summary,
        f"{err.body}\n\nTo install with pip instead (pip's behaviour and messages), set the\n"
        f"config var {CONFIG_VAR}=pip, e.g. `heroku config:set {CONFIG_VAR}=pip`.",
        error_id="python-installer::uv-install-failed" if generic else err.error_id,
    )


def _run(ctx: InstallContext, cmd: list[str], env: dict[str, str], secrets: list[str],
         shown: Path, echo: bool = True) -> list[str]:
    code, lines = run_streamed(cmd, env, ctx.app_dir, secrets, echo=echo,
                               hide=lambda line: line.startswith("Using Python "))
    if code != 0:
        if not echo:
            output.indent_lines(lines)
        raise _failed(lines, ctx, shown)
    return lines


def install(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """The install function of the record ``installers.managers.PIP_WITH_UV``."""
    install_requirements(ctx, choice.files[0], secrets, selection=choice.selection,
                         remember=True)


def update(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """The same, into the previous build's environment: only the difference is applied."""
    install_requirements(ctx, choice.files[0], secrets, incremental=True,
                         selection=choice.selection, remember=True)


def install_requirements(ctx: InstallContext, requirements: Path, secrets: list[str],
                         incremental: bool = False, what: str = "dependencies",
                         selection: Selection | None = None, remember: bool = False) -> None:
    """``uv pip install -r`` into the runtime; ``incremental``: the runtime already holds
    the previous build's packages, and whatever the requirements no longer need goes;
    ``selection``: pyproject.toml's dependency groups (a pylock.toml: its own groups and
    extras) to install with them; ``remember``: these are the app's dependencies (not a
    CI build's test requirements), and what uv resolved them from is recorded in the
    environment (``resolution_record``) for the next build."""
    selection = selection or Selection()
    version, uv = pinned_tools.TOOLS["uv"].version(), ensure_uv(ctx, secrets)
    # pip is not among the requirements, so the pinned one (hash-checked) is named too,
    # unless the app names its own.
    keep_pip = [] if names_pip(ctx.files, requirements) \
        else ["-r", str(settings.PIP_REQUIREMENTS)]
    pip_wheels = None  # when set: pip joins the dependencies' run, from this folder
    if not (ctx.prefix / "bin" / "pip").exists():
        if not incremental and keep_pip and not is_pylock(requirements) \
                and "UV_FIND_LINKS" not in uv_tool_env(ctx):
            pip_wheels = pip_wheel_folder(ctx)
        if pip_wheels is None:
            install_pip(ctx, uv, secrets)
    shown = requirements.relative_to(ctx.app_dir)
    output.step(f"Installing {what} using uv ({version})")
    if selection:
        output.detail(describe_selection(ctx.files, requirements, selection))
    log_pylock(requirements, "uv pip install")
    env = install_env(ctx, requirements)
    offline = offline_sources(ctx, requirements)
    if offline is not None:
        output.detail(f"{shown} turns the package index off (--no-index): installing only from "
                      f"{', '.join(offline) or 'the --find-links locations'}.")
    base = [str(uv), "pip", "install", "--python", str(ctx.python), *uv_arguments(ctx.env)]
    if hash_mode(ctx.files.text(path, "requirements") or ""
                 for path in included_files(ctx.files, requirements)):
        # pip checks every line once one has a --hash; uv only when told to.
        output.detail(f"{shown} pins hashes: every requirement must have one (as with pip).")
        base.append("--require-hashes")
    if is_pylock(requirements):  # uv's support is a preview feature: said in our line above
        base += ["--preview-features", "pylock"]
    wanted = requirement_arguments(ctx.files, requirements, shown, selection, "uv")
    recorded = remember and not is_pylock(requirements)  # a lock is not resolved
    inputs = resolution_record.digest(ctx, requirements, [*base, *wanted]) if recorded else ""
    unchanged = recorded and incremental and resolution_record.recorded(ctx.prefix) == inputs
    if recorded:
        resolution_record.forget(ctx.prefix)  # an install stopped half-way claims nothing
    again = [f"--reinstall-package={name}" for name in prune.direct_url_names(ctx.prefix)] \
        if incremental else []
    if pip_wheels is not None:
        # A fresh runtime: pip joins this run, from its wheel already here (a run of its
        # own costs a uv start and an interpreter query); --find-links adds a source, the
        # app's index settings stay.
        output.detail(f"pip {settings.pinned_pip_version()} (vendor/pip.txt) is installed with them.")
        _run(ctx, [*base, *wanted, *keep_pip, "--find-links", str(pip_wheels)], env, secrets, shown)
    elif not incremental:
        _run(ctx, [*base, *wanted], env, secrets, shown)
    elif is_pylock(requirements):
        # uv takes no other requirement beside a pylock.toml, so --exact also uninstalls
        # pip (unless the lock has it): the pinned one is installed again after it.
        _run(ctx, [*base, "--exact", *again, *wanted], env, secrets, shown)
        if not (ctx.prefix / "bin" / "pip").exists():
            install_pip(ctx, uv, secrets)
    elif unchanged:
        output.detail("The requirements files are as in the last build: uv checks the "
                      "installed packages against them.")
        _run(ctx, [*base, *again, *wanted, *keep_pip], env, secrets, shown)
    else:
        # One run: --exact also uninstalls what the requirements no longer need,
        # --upgrade resolves as a build from nothing would.
        _run(ctx, [*base, "--exact", "--upgrade", *again, *wanted, *keep_pip],
             env, secrets, shown)
    if recorded:
        resolution_record.remember(ctx.prefix, inputs)
