"""The app's build hooks, ``bin/pre_compile`` and ``bin/post_compile``, and the environment
the app's own build-time code runs with (hooks, Django's collectstatic).

``pre_compile`` runs before the runtime and dependencies are installed, ``post_compile``
after them (and after collectstatic), both in the app's folder. That code sees the
app's config vars, except the ones in ``BLOCKLIST``, which would change how programs
start or which libraries they load rather than configure the app; the build's own
settings (``PATH`` with the app's Python first, ``LANG``, pip's settings) stay as they
are. As the leader does, the build's own locations are exported too:
``BUILD_DIR`` (the slug's root), ``CACHE_DIR``, ``ENV_DIR`` (empty when the platform
passed none) and ``STACK``; they win over config vars of the same names.
"""
from __future__ import annotations

import os
from pathlib import Path

from buildpack.app import app_files
from buildpack.base import output
from buildpack.base.children import run_streamed
from buildpack.base.output import BuildError

PRE_COMPILE = "pre_compile"
POST_COMPILE = "post_compile"

BLOCKLIST = frozenset({
    "PATH", "HOME", "GIT_DIR", "CPATH", "CPPATH", "LIBRARY_PATH", "LD_PRELOAD",
    "LD_LIBRARY_PATH", "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE",
    "PYTHONEXECUTABLE", "PYTHONSAFEPATH", "PYTHONNOUSERSITE",
})


def app_env(build_env: dict[str, str], config: dict[str, str], build_dir: Path,
            cache_dir: Path | None = None, env_dir: Path | None = None,
            stack: str = "") -> dict[str, str]:
    """The build's environment plus the app's config vars, minus ``BLOCKLIST``, plus the
    build's locations and ``STACK``."""
    env = dict(build_env)
    env.update({name: value for name, value in config.items() if name not in BLOCKLIST})
    env.update(BUILD_DIR=str(build_dir), CACHE_DIR=str(cache_dir or ""),
               ENV_DIR=str(env_dir or ""), STACK=stack)
    return env


def _command(path: Path, head: bytes) -> list[str]:
    """Run a script with a ``#!`` line (its first bytes: ``head``) itself (made executable,
    as the platforms do), else with sh."""
    if head != b"#!":
        return ["/bin/sh", str(path)]
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return [str(path)]


def _cannot_start(name: str, problem: str, fix: str) -> BuildError:
    return BuildError(f"The {name} hook could not be started", f"{problem}.\n\n{fix}",
                      error_id="hooks::cannot-start")


def present(name: str, app_dir: Path) -> bool:
    """Whether the app has the hook ``name`` (``run_hook`` runs it)."""
    return (app_dir / "bin" / name).is_file()


def run_hook(name: str, app_dir: Path, build_dir: Path, env: dict[str, str],
             secrets: list[str]) -> None:
    """Run ``app_dir/bin/<name>`` if the app has it; a failure fails the build, naming the hook."""
    if not present(name, app_dir):
        return
    path = app_dir / "bin" / name
    shown = path.relative_to(build_dir)
    if not app_files.is_inside(build_dir, path):
        raise BuildError(f"The {name} hook is a link outside the app",
                         f"{shown} points outside the app's directory. Commit the script itself.",
                         error_id="hooks::link-outside-app")
    output.step(f"Running the {name} hook ({shown})")
    head = app_files.AppFiles(build_dir).head(path, 2)
    if head is None:  # a file inside the app (checked above) that cannot be opened
        raise _cannot_start(name, f"The build cannot read {shown}",
                            f"Make it readable (`chmod a+r {shown}`), commit that, and push again.")
    try:
        code, _ = run_streamed(_command(path, head), env, app_dir, secrets)
    except OSError as exc:
        raise _cannot_start(
            name, f"Starting {shown} failed: {exc.strerror or exc}",
            "Check its first line: `#!/usr/bin/env bash` (or another interpreter that\n"
            "exists on the build server), saved with Unix (LF) line endings.") from None
    if code != 0:
        raise BuildError(
            f"The {name} hook failed",
            f"{shown} exited with status {code}; its output is above.\n\n"
            f"Fix the script (it runs in the app's folder, with the app's config vars),\n"
            f"or remove {shown}, and push again.",
            error_id="hooks::failed")
