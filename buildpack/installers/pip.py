"""Install pip (pinned, hash-checked), then the app's requirements or the app itself.

``requirements.txt`` goes to pip as it is, from the app's folder, so everything pip
understands works as pip documents it: ``-r``/``-c`` includes (relative to the file
that names them), ``--hash`` and ``--require-hashes``, markers, ``name @ URL``, VCS and
local-path requirements, ``-e``, and ``--index-url``/``--extra-index-url``/
``--find-links``/``--no-index`` lines. An app that ships its own wheels and says
``--no-index`` installs without any index, and the log says so.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import included_files, lines, parse_line
from buildpack.base import cache_files, output, settings, toml_io
from buildpack.base.children import run_streamed
from buildpack.base.names import normalize
from buildpack.base.output import BuildError
from buildpack.cache import layout
from buildpack.installers import prune, uv_fetch
from buildpack.installers.context import InstallContext
from buildpack.installers.failures import explain, install_error
from buildpack.installers.pinned_tools import runtime_pip_wheel
from buildpack.installers.record import EXTRAS_VAR, Choice, Selection
from buildpack.installers.selection import lock_names

__all__ = ["describe_selection", "install_pip", "is_pylock", "log_pylock", "install_project",
           "install_requirements", "offline_sources", "requirement_arguments", "run_streamed",
           "update"]



def install_pip(python: Path, prefix: Path, env: dict[str, str], cwd: Path,
                secrets: list[str], kept: Path | None = None) -> str:
    """The pinned pip with the runtime's bundled one; from ``kept`` (the wheel an earlier
    build kept in CACHE_DIR, ``cache.layout.PIP_WHEELS``) when it is there, so no index is
    needed; else from the index, and then the wheel is kept there."""
    version = settings.pinned_pip_version()
    output.step(f"Installing pip {version}")
    wheel = runtime_pip_wheel(prefix)
    cmd = [str(python), "-E", "-s", f"{wheel}/pip", "install", "--quiet", "--no-deps",
           "--require-hashes", "--no-warn-script-location", "--no-compile",
           "-r", str(settings.PIP_REQUIREMENTS)]
    if any(settings.BUNDLED_WHEELS.glob("pip-*.whl")):  # an offline bundle: no index needed
        cmd += ["--no-index", "--find-links", str(settings.BUNDLED_WHEELS)]
    elif kept is not None and any(kept.glob("pip-*.whl")):
        code, lines = run_streamed([*cmd, "--no-index", "--find-links", str(kept)], env, cwd,
                                   secrets, echo=False)
        if code == 0:
            return version
        cache_files.clear(kept)  # a kept wheel that does not match: from the index
    code, lines = run_streamed(cmd, env, cwd, secrets, echo=False)
    if code != 0:
        output.indent_lines(lines)
        specific = explain(lines, env)
        disk = specific is not None and specific[2] == "system::disk-full"
        raise BuildError(
            f"Could not install pip {version}"
            + (f": {specific[0][0].lower()}{specific[0][1:]}" if specific else ""),
            (specific[1] + "\n\n" if specific else "")
            + ("" if disk else
               "pip could not be downloaded from the package index (its output is above).\n"
               "If the app uses a private index, check PIP_INDEX_URL and its credentials;\n"
               "the index must also serve pip."),
            error_id=specific[2] if specific else "pip::install-failed",
        )
    if kept is not None and not any(settings.BUNDLED_WHEELS.glob("pip-*.whl")):
        keep_pip_wheel(python, env, cwd, secrets, kept)
    return version


def keep_pip_wheel(python: Path, env: dict[str, str], cwd: Path, secrets: list[str],
                   kept: Path) -> None:
    """Download the pinned pip wheel into ``kept`` with the pip just installed (the
    build's index settings, hashes checked). Best effort: without it the next build
    fetches pip from the index as this one did."""
    partial = kept.with_name(kept.name + ".partial")
    cache_files.clear(partial)
    code, _ = run_streamed([str(python), "-m", "pip", "download", "--no-deps", "--quiet",
                            "--disable-pip-version-check", "--only-binary", ":all:",
                            "--require-hashes", "-r", str(settings.PIP_REQUIREMENTS),
                            "-d", str(partial)], env, cwd, secrets, echo=False)
    if code == 0 and any(partial.glob("pip-*.whl")):
        cache_files.clear(kept)
        partial.rename(kept)
    else:
        cache_files.clear(partial)


def fetch_pip_wheel(env: dict[str, str], kept: Path) -> None:
    """The pinned pip wheel into ``kept`` straight from the build's index, hash-checked,
    with the client that fetches uv (``uv_fetch``: no Python runtime needed, so a first
    build runs it while the runtime unpacks, and then installs pip from ``kept``). Best
    effort: where that client cannot, ``keep_pip_wheel`` downloads it with pip."""
    if any(kept.glob("pip-*.whl")) or any(settings.BUNDLED_WHEELS.glob("pip-*.whl")):
        return
    partial = kept.with_name(kept.name + ".fetch")
    cache_files.clear(partial)
    try:
        partial.mkdir(parents=True)
        wheel = uv_fetch.from_index("pip", settings.pinned_pip_version(),
                                    uv_fetch.pinned_hashes(settings.PIP_REQUIREMENTS), env,
                                    partial, lambda name: name.endswith("-py3-none-any.whl"))
        if wheel is not None:
            cache_files.clear(partial / "index.html")
            cache_files.clear(kept)
            partial.rename(kept)
    except (BuildError, OSError, ValueError):  # ssl.SSLError is an OSError
        pass
    finally:
        cache_files.clear(partial)


@contextlib.contextmanager
def prefetching_wheel(env: dict[str, str], kept: Path) -> Iterator[None]:
    """While the body runs (the runtime is fetched and unpacked): ``fetch_pip_wheel`` in a
    thread, so that ``install_pip`` then runs pip once, from ``kept``, rather than once to
    install pip from the index and once more to keep its wheel."""
    thread = threading.Thread(target=fetch_pip_wheel, args=(env, kept), daemon=True)
    thread.start()
    try:
        yield
    finally:
        limit = 2 * (uv_fetch.DEADLINE + uv_fetch.TIMEOUT)  # the index page, then the wheel
        thread.join(timeout=limit)
    if thread.is_alive():  # stuck where no deadline reaches (name resolution)
        raise uv_fetch.limit_error(f"Fetching the pinned pip did not finish within {limit:.0f} s")


def prune_cache(ctx: InstallContext) -> None:
    """Drop pip's HTTP cache (the files it downloaded: the installed environment's cache
    entry holds them, installed); its wheels built from source are kept."""
    for name in ("http-v2", "http"):
        cache_files.clear(ctx.cache_dir / layout.PIP / name)


def offline_sources(ctx: InstallContext, requirements: Path) -> list[str] | None:
    """The --find-links locations when the requirements (or PIP_NO_INDEX) turn the index off."""
    no_index = ctx.env.get("PIP_NO_INDEX", "").lower() in ("1", "true", "yes", "on")
    links: list[str] = []
    for path in included_files(ctx.files, requirements):
        for line in lines(ctx.files.text(path, "requirements") or ""):
            parsed = parse_line(line)
            no_index = no_index or parsed.has("no_index")
            links += parsed.get("find_links")
    return links if no_index else None


# A CI build (bin/test-compile) installs this after the app's requirements.
TEST_REQUIREMENTS = "requirements-test.txt"

_PIP_HINT = ("Check that every requirement exists on the package index with a version\n"
             "for this Python, and builds from source if it has no wheel.\n")


def is_pylock(path: Path) -> bool:
    """Whether the "requirements" are a PEP 751 lock file (``pylock.toml``,
    ``pylock.<name>.toml``) rather than a requirements file."""
    return path.name.startswith("pylock.") and path.suffix == ".toml"


def log_pylock(path: Path, command: str) -> None:
    """Name the lock file installed, when it is one."""
    if is_pylock(path):
        output.detail(f"{command} -r {path.name}: the packages of the lock file (PEP 751), each "
                      "checked\nagainst its hash (uv and pip call their support experimental).")


def group_arguments(selection: Selection) -> list[str]:
    """``--group <name>`` for each selected PEP 735 group (pyproject.toml in the app's
    folder, the installer's working directory): pip 25.1+ and ``uv pip`` both take it."""
    return [a for group in selection.groups for a in ("--group", group)]


def _pylock_defaults(files: AppFiles, lock: Path) -> list[str]:
    """The lock's ``default-groups``: what it installs when no group is named."""
    return lock_names(toml_io.parse(files.text(lock, "lock") or "", lock.name), "default-groups")


def requirement_arguments(files: AppFiles, requirements: Path, shown: Path, selection: Selection,
                          engine: str) -> list[str]:
    """``-r <file>`` and the selection: pyproject.toml's [dependency-groups] beside a
    requirements file; a pylock.toml's own groups and extras (PEP 751 markers), as each
    engine takes them: pip 26 ``-r pylock.toml[s3] --group pylock.toml:web`` (the default
    groups stay), uv ``--group web --extra s3`` (a named group replaces the lock's
    ``default-groups``, so they are named too)."""
    if not is_pylock(requirements):
        return ["-r", str(shown), *group_arguments(selection)]
    if engine == "pip":
        extras = f"[{','.join(selection.extras)}]" if selection.extras else ""
        return ["-r", f"{shown}{extras}",
                *(a for group in selection.groups for a in ("--group", f"{shown}:{group}"))]
    groups: dict[str, str] = {}
    for group in [*(_pylock_defaults(files, requirements) if selection.groups else ()),
                  *selection.groups]:
        groups.setdefault(normalize(group), group)
    return ["-r", str(shown), *(a for group in groups.values() for a in ("--group", group)),
            *(a for extra in selection.extras for a in ("--extra", extra))]


def describe_selection(files: AppFiles, requirements: Path, selection: Selection) -> str:
    """The log's line for the groups and extras installed with the requirements."""
    if not is_pylock(requirements):
        return f"With {selection.describe()} of pyproject.toml [dependency-groups]."
    defaults = _pylock_defaults(files, requirements) if selection.groups else []
    besides = f", besides its default groups ({', '.join(defaults)})" if defaults else ""
    return f"With {selection.describe()} of {requirements.name}{besides}."


def install_requirements(ctx: InstallContext, requirements: Path, secrets: list[str],
                         what: str = "dependencies", reason: str = "",
                         selection: Selection | None = None, upgrade: bool = False) -> None:
    """``pip install -r``; ``reason``: why pip rather than uv (one line in the log);
    ``selection``: pyproject.toml's dependency groups to install with it; ``upgrade``:
    into the previous environment, the requirements get the version a build from nothing
    would (``--upgrade``: the installed one is not kept because it is there)."""
    selection = selection or Selection()
    output.step(f"Installing {what} using pip ({settings.pinned_pip_version()})")
    if reason:
        output.detail(reason)
    if selection:
        output.detail(describe_selection(ctx.files, requirements, selection))
    log_pylock(requirements, "pip install")
    shown = requirements.relative_to(ctx.app_dir)
    offline = offline_sources(ctx, requirements)
    if offline is not None:
        output.detail(f"{shown} turns the package index off (--no-index): installing only from "
                      f"{', '.join(offline) or 'the --find-links locations'}.")
    cmd = [str(ctx.python), "-m", "pip", "install", "--no-compile", "--no-warn-script-location",
           *(["--upgrade"] if upgrade else []),
           *requirement_arguments(ctx.files, requirements, shown, selection, "pip")]
    code, lines = run_streamed(cmd, ctx.env, ctx.app_dir, secrets)
    if code != 0:
        raise install_error(lines, ctx.env, "pip", f"the requirements in {shown}",
                            f"pip install -r {shown}", _PIP_HINT, app_dir=ctx.app_dir, code=code)


def install(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """The record's install (``installers.managers.PIP``, pip as the engine): the app as a
    package, or its requirements file. (A CI build's requirements-test.txt follows.)"""
    if choice.installs_app:
        install_project(ctx, tuple(p for p in choice.files if p.name != TEST_REQUIREMENTS), secrets,
                        choice.selection)
    else:
        install_requirements(ctx, choice.files[0], secrets, reason=choice.engine_reason,
                             selection=choice.selection)


def update(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """The same into the previous build's environment: what came from a path, URL or VCS
    is installed again from the app's current files, pip installs what changed, and what
    the requirements or lock file, the dependency groups and the app's extras (as pip
    reads them) no longer need is uninstalled (``prune``)."""
    prune.reinstall_direct(ctx, secrets)
    if choice.installs_app:
        install_project(ctx, tuple(p for p in choice.files if p.name != TEST_REQUIREMENTS), secrets,
                        choice.selection)
    else:
        install_requirements(ctx, choice.files[0], secrets, reason=choice.engine_reason,
                             selection=choice.selection, upgrade=True)
    files = () if choice.installs_app else (choice.files[0],)
    tests = tuple(p for p in choice.files if choice.dev and p.name == TEST_REQUIREMENTS)
    prune.remove_unneeded(ctx, secrets, files + tests, selection=choice.selection)


def install_project(ctx: InstallContext, files: tuple[Path, ...], secrets: list[str],
                    selection: Selection | None = None) -> None:
    """``pip install .``: the app is a package (pyproject.toml, setup.py or setup.cfg);
    ``selection``: its extras (``.[a,b]``) and dependency groups (``--group``) too."""
    selection = selection or Selection()
    names = ", ".join(p.name for p in files)
    target = f".[{','.join(selection.extras)}]" if selection.extras else "."
    output.step(f"Installing the app and its dependencies using pip ({settings.pinned_pip_version()})")
    output.detail(f"No requirements or lock file; {names} declares the app as a package, so it\n"
                  f"is installed with `pip install {target}` (with the dependencies it declares).")
    if selection:
        output.detail(f"With {selection.describe()}.")
    cmd = [str(ctx.python), "-m", "pip", "install", "--no-compile", "--no-warn-script-location",
           target, *group_arguments(selection)]
    code, lines = run_streamed(cmd, ctx.env, ctx.app_dir, secrets)
    if code != 0:
        raise install_error(lines, ctx.env, "pip", f"the app (the package that {names} declares)",
                            f"pip install {target}", _PIP_HINT, app_dir=ctx.app_dir, code=code)
    missing = [extra for extra in selection.extras
               if any(f"does not provide the extra '{normalize(extra)}'" in line
                      for line in lines)]
    if missing:  # extras pip only learnt by building the app (setup.py, dynamic metadata)
        raise BuildError(
            f"{EXTRAS_VAR} names {'an unknown extra' if len(missing) == 1 else 'unknown extras'}:"
            f" {', '.join(missing)}",
            f"The app, built by pip, does not provide {', '.join(missing)} (pip's warning is\n"
            f"above). Correct {EXTRAS_VAR}, or declare the extra in the app's metadata\n"
            "(extras_require in setup.py, [project.optional-dependencies] in pyproject.toml).",
            error_id="dependencies::unknown-extra")
