"""Bringing the previous build's environment up to date, by the installers' own records.

The package manager decides what changed (``Manager.update``); these helpers cover what
some of them do not do themselves, reading only what the installers wrote into the
environment (``*.dist-info``, PEP 610 ``direct_url.json``) and, for requirements files,
pip's own parser (``closure_worker``):

- ``direct_url_names``: the distributions installed from a path, a URL or VCS. Their
  files are not pinned by any lock or requirements file (a local folder, a branch), so
  they are always installed again from the app's current files: uv is told to
  (``--reinstall-package``), pip-based managers get them uninstalled first.
- ``remove_unneeded``: after pip installed into the previous environment, uninstall what
  the requirements no longer need (pip has no ``sync``; uv's ``--exact``, ``uv sync``,
  ``poetry sync`` and ``pdm sync --only-keep`` remove such packages themselves).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from buildpack.base import output
from buildpack.base.children import run_quiet, run_streamed
from buildpack.base.names import normalize
from buildpack.base.output import BuildError
from buildpack.installers.context import InstallContext
from buildpack.installers.record import Selection

WORKER = Path(__file__).resolve().parent / "closure_worker.py"
_DIST_INFO = re.compile(r"^(?P<name>[^-]+)-[^-]+\.dist-info$")


def direct_url_names(prefix: Path) -> list[str]:
    """The distributions in ``prefix`` installed from a path, URL or VCS."""
    found = set()
    for site in prefix.glob("lib/python3*/site-packages"):
        for info in site.glob("*.dist-info"):
            match = _DIST_INFO.match(info.name)
            if match and (info / "direct_url.json").is_file():
                found.add(normalize(match.group("name")))
    return sorted(found)


def uninstall(ctx: InstallContext, names: list[str], secrets: list[str]) -> None:
    """``pip uninstall`` ``names`` from the runtime (its own pip)."""
    if not names:
        return
    code, lines = run_streamed([str(ctx.python), "-m", "pip", "uninstall", "--yes", *names],
                               ctx.env, ctx.app_dir, secrets, echo=False)
    if code != 0:
        output.indent_lines(lines)
        raise BuildError(
            "Could not remove packages from the previous build's environment",
            f"pip uninstall {' '.join(names[:5])} failed (its output is above). The build\n"
            "cache's environment may be damaged: clear the build cache (for example with\n"
            "`heroku builds:cache:purge`) and build again.",
            error_id="cache::previous-environment-broken")


def reinstall_direct(ctx: InstallContext, secrets: list[str], installs_itself: str = "") -> None:
    """Uninstall what came from a path, URL or VCS: the install brings it from the app's
    current files. ``installs_itself``: a package the installer installs again on every run
    anyway (Poetry's own project), left alone."""
    mine = normalize(installs_itself)
    names = [name for name in direct_url_names(ctx.prefix) if name != mine]
    if names:
        output.detail(f"Installed again from the app's current files: {', '.join(names)}")
    uninstall(ctx, names, secrets)


def remove_unneeded(ctx: InstallContext, secrets: list[str], files: tuple[Path, ...] = (),
                    names: tuple[str, ...] = (), selection: Selection | None = None) -> None:
    """Uninstall what the requirements or lock ``files`` (read by pip), the distributions
    ``names`` and pyproject.toml's dependency groups and the app's extras of ``selection``
    no longer need (``closure_worker``)."""
    selection = selection or Selection()
    request = json.dumps({"files": [str(p.relative_to(ctx.app_dir)) for p in files],
                          "names": list(names), "groups": list(selection.groups),
                          "extras": list(selection.extras)})
    proc = run_quiet([str(ctx.python), "-I", str(WORKER), request], env=ctx.env, cwd=ctx.app_dir)
    try:
        extra = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        extra = None
    if not isinstance(extra, list):
        output.indent_lines((proc.stderr or proc.stdout).splitlines()[-20:])
        raise BuildError(
            "Could not tell which packages are no longer needed",
            "Reading the installed packages of the previous build's environment failed\n"
            "(the output is above). Clear the build cache (for example with\n"
            "`heroku builds:cache:purge`) and build again.",
            error_id="cache::previous-environment-broken")
    if extra:
        output.detail(f"No longer needed, uninstalled: {', '.join(extra)}")
        uninstall(ctx, [str(name) for name in extra], secrets)
